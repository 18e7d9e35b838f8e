//! Steps for native enum types: created, extended, labels renamed, replaced by a type without
//! some labels (every column converted through its text), dropped.

use super::*;

/// The steps of `change`, one of this kind of object's.
pub(super) fn plan(change: &Change, diff: &SchemaDiff, to: &SchemaModel, add: &mut Steps) {
    use Phase::*;
    match change {
        Change::CreateEnum(e) => add.push(Types, Statement::CreateEnum(e.clone())),
        Change::DropEnum(e) => add.push(
            DropTypes,
            Statement::DropEnum {
                name: e.name.clone(),
            },
        ),
        Change::AddEnumValue {
            name,
            value,
            after,
            before,
        } => add.push(
            Types,
            Statement::AddEnumValue {
                name: name.clone(),
                value: value.clone(),
                after: after.clone(),
                before: before.clone(),
            },
        ),
        Change::RenameEnumValue { name, from, to } => add.push(
            Types,
            Statement::RenameEnumValue {
                name: name.clone(),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        Change::ReplaceEnum {
            from,
            to: new,
            removed,
            columns,
        } => {
            let checks = checks_on_columns(columns, diff, to);
            replace_enum(from, new, removed, columns, &checks, add)
        }
        _ => {}
    }
}

/// The checks of `to` on the tables of `columns` that name one of those columns and that the
/// diff leaves as they are, with their tables: a check the diff changes is dropped and added
/// by the diff's own steps.
pub(super) fn checks_on_columns(
    columns: &[(String, String, Option<String>, bool)],
    diff: &SchemaDiff,
    to: &SchemaModel,
) -> Vec<(String, CheckModel)> {
    let changed = |table: &str, name: &str| {
        diff.changes.iter().any(|change| match change {
            Change::AddCheck { table: t, check } | Change::DropCheck { table: t, check } => {
                t == table && check.name == name
            }
            _ => false,
        })
    };
    let mut checks: Vec<(String, CheckModel)> = Vec::new();
    for (table, column, _, _) in columns {
        let Some(model) = to.table(table) else {
            continue;
        };
        for check in &model.checks {
            let listed = checks
                .iter()
                .any(|(t, c)| t == table && c.name == check.name);
            if !listed
                && !changed(table, &check.name)
                && crate::diff::mentions(&check.expression, column)
            {
                checks.push((table.clone(), check.clone()));
            }
        }
    }
    checks
}

/// A native enum type replaced by one without some of its labels (or in another order): the
/// old type renamed aside, the new one created under the name, every column using it converted
/// through its text (its default set aside meanwhile, and the `checks` on it: PostgreSQL
/// would read them again comparing the new type with the old one), the old type dropped. Rows
/// holding a removed label make the conversion fail, so each conversion is destructive.
pub(super) fn replace_enum(
    from: &EnumModel,
    to: &EnumModel,
    removed: &[String],
    columns: &[(String, String, Option<String>, bool)],
    checks: &[(String, CheckModel)],
    add: &mut Steps,
) {
    for (table, check) in checks {
        add.push(Phase::Columns, drop_constraint(table, &check.name));
    }
    // Set aside in its own PostgreSQL schema: `ALTER TYPE ... RENAME TO` keeps the schema.
    let (schema, bare) = split_qualified(&from.name);
    let aside = qualify(schema, &constraint_name(bare, [], "replaced"));
    add.push(
        Phase::Columns,
        Statement::RenameEnum {
            from: from.name.clone(),
            to: aside.clone(),
        },
    );
    add.push(Phase::Columns, Statement::CreateEnum(to.clone()));
    for (table, column, default, array) in columns {
        let set_default = |default: Option<String>| Statement::SetDefault {
            table: table.clone(),
            column: column.clone(),
            default,
        };
        // Whatever default it has now goes first (it may name a removed label, and a default
        // the code removes is dropped only after this conversion); the code's comes back after.
        add.push(Phase::Columns, set_default(None));
        let brackets = if *array { "[]" } else { "" };
        add.push(
            Phase::Columns,
            Statement::AlterColumnTypeUsing {
                table: table.clone(),
                column: column.clone(),
                from_type: format!("{}{brackets}", quote_qualified(&aside)),
                sql_type: format!("{}{brackets}", to.column_type()),
                using: format!(
                    "{}::text{brackets}::{}{brackets}",
                    quote_ident(column),
                    to.column_type()
                ),
                lost_values: removed.to_vec(),
            },
        );
        if default.is_some() {
            add.push(Phase::Columns, set_default(default.clone()));
        }
    }
    add.push(Phase::Columns, Statement::DropEnum { name: aside });
    for (table, check) in checks {
        add_check(table, check, add);
    }
}
