//! Steps for columns: added (with the sequence of a `nextval('...')` default), dropped,
//! computed anew, renamed, their values rewritten, and altered (type, with `USING` where the
//! field says how or refused where PostgreSQL cannot convert; collation, default, identity,
//! expression, NOT NULL through a validated check, comment).

use super::*;

/// The steps of `change`, one of this kind of object's.
pub(super) fn plan(change: &Change, diff: &SchemaDiff, to: &SchemaModel, add: &mut Steps) {
    use Phase::*;
    match change {
        Change::RenameColumn { table, from, to } => add.push(
            Renames,
            Statement::RenameColumn {
                table: table.clone(),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        Change::AddColumn { table, column } => {
            create_sequence(table, column, Columns, add);
            add.push(
                Columns,
                Statement::AddColumn {
                    table: table.clone(),
                    column: column.clone(),
                },
            );
            if column.comment.is_some() {
                add.push(
                    Finish,
                    Statement::Comment {
                        table: table.clone(),
                        column: Some(column.name.clone()),
                        text: column.comment.clone(),
                    },
                );
            }
        }
        Change::DropColumn { table, column } => add.push(
            DropObjects,
            Statement::DropColumn {
                table: table.clone(),
                column: column.name.clone(),
            },
        ),
        Change::RecomputeColumn {
            table,
            from,
            to: changed,
        } => {
            add.push(
                DropObjects,
                Statement::DropColumn {
                    table: table.clone(),
                    column: from.name.clone(),
                },
            );
            // A generated column's values are computed again from the row: none is lost.
            if from.generated.is_some() {
                if let Some((_, step)) = add.0.last_mut() {
                    step.destructive = None;
                    step.hazards.retain(|h| *h != Hazard::DeletesData);
                }
            }
            let written = target_table(to, table).and_then(|t| t.column(&changed.name));
            add.push(
                Columns,
                Statement::AddColumn {
                    table: table.clone(),
                    column: written.unwrap_or(changed).clone(),
                },
            );
        }
        Change::AlterColumn {
            table,
            from,
            to: changed,
        } => {
            // What changed is read from the diff; the values written come from the code.
            let unique_keys = target_table(to, table).map(unique_keys).unwrap_or_default();
            let written = target_table(to, table).and_then(|t| t.column(&changed.name));
            if is_partition(to, table) {
                // Only its default, NOT NULL and comment are its own.
                let own = ColumnModel {
                    default: changed.default.clone(),
                    comment: changed.comment.clone(),
                    nullable: changed.nullable,
                    ..from.clone()
                };
                let written = ColumnModel {
                    default: written.unwrap_or(changed).default.clone(),
                    comment: written.unwrap_or(changed).comment.clone(),
                    nullable: changed.nullable,
                    ..from.clone()
                };
                alter_column(table, from, &own, &written, &[], add);
                return;
            }
            let written = written.unwrap_or(changed);
            if from.sql_type != changed.sql_type {
                recreate_policies_on(table, &changed.name, diff, to, add);
            }
            if from.default != written.default {
                create_sequence(table, written, Columns, add);
                drop_sequence(from, to, add);
            }
            if from.sql_type != changed.sql_type
                && (to.enum_of_column(&written.sql_type).is_some()
                    || from.sql_type.starts_with('"'))
            {
                switch_enum_column(table, from, written, add);
                let from = ColumnModel {
                    sql_type: changed.sql_type.clone(),
                    default: changed.default.clone(),
                    ..from.clone()
                };
                alter_column(table, &from, changed, written, &unique_keys, add)
            } else {
                alter_column(table, from, changed, written, &unique_keys, add)
            }
        }
        Change::RenameValues {
            table,
            column,
            renames,
        } => {
            // A table that forces row-level security hides its rows from its owner too: lift
            // it for the rewrite, in the same transaction, so every row is rewritten.
            let forced = target_table(to, table).is_some_and(|t| t.force_row_level_security);
            let force = |force| Statement::ForceRowLevelSecurity {
                table: table.clone(),
                force,
            };
            if forced {
                add.push(Columns, force(false));
            }
            let array = target_table(to, table)
                .and_then(|t| t.column(column))
                .is_some_and(|c| c.sql_type.ends_with("[]"));
            for (from, to) in renames {
                add.push(
                    Columns,
                    Statement::RewriteValue {
                        table: table.clone(),
                        column: column.clone(),
                        array,
                        from: from.clone(),
                        to: to.clone(),
                    },
                );
            }
            if forced {
                add.push(Columns, force(true));
            }
        }
        _ => {}
    }
}

/// A column converted to or from a native enum type (text to enum, enum to text, one enum type
/// to another) through its text, its default set aside for the change and put back.
pub(super) fn switch_enum_column(
    table: &str,
    from: &ColumnModel,
    to: &ColumnModel,
    add: &mut Steps,
) {
    let set_default = |default: Option<String>| Statement::SetDefault {
        table: table.into(),
        column: to.name.clone(),
        default,
    };
    if from.default.is_some() {
        add.push(Phase::Columns, set_default(None));
    }
    // An array goes through `text[]`, element by element.
    let text = if to.sql_type.ends_with("[]") {
        "text[]"
    } else {
        "text"
    };
    let using = if to.sql_type.starts_with('"') {
        format!("{}::{text}::{}", quote_ident(&to.name), to.sql_type)
    } else {
        format!("{}::{text}", quote_ident(&to.name))
    };
    add.push(
        Phase::Columns,
        Statement::AlterColumnTypeUsing {
            table: table.into(),
            column: to.name.clone(),
            from_type: from.sql_type.clone(),
            sql_type: to.sql_type.clone(),
            using,
            lost_values: Vec::new(),
        },
    );
    if to.default.is_some() {
        add.push(Phase::Columns, set_default(to.default.clone()));
    }
}

pub(super) fn alter_column(
    table: &str,
    from: &ColumnModel,
    to: &ColumnModel,
    written: &ColumnModel,
    unique_keys: &[Vec<String>],
    add: &mut Steps,
) {
    let column = || to.name.clone();
    let t = || table.to_string();
    if from.default != to.default && from.default.is_some() && from.sql_type != to.sql_type {
        // The old default may not cast to the new type.
        add.push(
            Phase::Columns,
            Statement::SetDefault {
                table: t(),
                column: column(),
                default: None,
            },
        );
    }
    if from.sql_type != to.sql_type {
        if let Some(using) = &written.using {
            add.push(
                Phase::Columns,
                Statement::AlterColumnTypeUsing {
                    table: t(),
                    column: column(),
                    from_type: from.sql_type.clone(),
                    sql_type: written.sql_type.clone(),
                    using: using.clone(),
                    lost_values: Vec::new(),
                },
            );
        } else {
            if !converts_by_itself(&from.sql_type, &written.sql_type) {
                add.1.push(Blocked::NoConversion {
                    table: t(),
                    column: column(),
                    from_type: from.sql_type.clone(),
                    to_type: written.sql_type.clone(),
                });
            }
            add.push(
                Phase::Columns,
                Statement::AlterColumnType {
                    table: t(),
                    column: column(),
                    from_type: from.sql_type.clone(),
                    sql_type: written.sql_type.clone(),
                },
            );
        }
        // Values that differ only in case become equal: a unique key on them fails the change.
        let to_citext = canonical_type(&written.sql_type) == "citext"
            && canonical_type(&from.sql_type) != "citext";
        if to_citext && unique_on(unique_keys, &to.name) {
            if let Some((_, step)) = add.0.last_mut() {
                step.hazards.push(Hazard::FailsIfValuesCollide);
            }
        }
    }
    if from.collation != to.collation {
        add.push(
            Phase::Columns,
            Statement::SetCollation {
                table: t(),
                column: column(),
                sql_type: written.sql_type.clone(),
                collation: to.collation.clone(),
            },
        );
    }
    if from.default != to.default && (to.default.is_some() || from.sql_type == to.sql_type) {
        add.push(
            Phase::Columns,
            Statement::SetDefault {
                table: t(),
                column: column(),
                default: written.default.clone(),
            },
        );
    }
    // ADD GENERATED ... AS IDENTITY needs the column NOT NULL first: no check to lean on.
    let identity_needs_not_null = from.nullable && from.identity.is_none() && to.identity.is_some();
    if identity_needs_not_null {
        add.push(
            Phase::Columns,
            Statement::SetNotNull {
                table: t(),
                column: column(),
                not_null: true,
            },
        );
    }
    if from.identity != to.identity {
        add.push(
            Phase::Columns,
            Statement::AlterIdentity {
                table: t(),
                column: column(),
                sql_type: written.sql_type.clone(),
                from: from.identity.clone(),
                to: written.identity.clone(),
            },
        );
    }
    if from.generated.is_some() && to.generated.is_none() {
        add.push(
            Phase::Columns,
            Statement::DropExpression {
                table: t(),
                column: column(),
            },
        );
    }
    if from.nullable && !to.nullable && !identity_needs_not_null {
        // Through a check validated without blocking writes: SET NOT NULL then uses it
        // instead of scanning under its exclusive lock.
        let check = CheckModel {
            name: constraint_name(
                split_qualified(table).1,
                [to.name.as_str()],
                "not_null_check",
            )
            .into_owned(),
            renamed_from: None,
            expression: format!("{} IS NOT NULL", quote_ident(&to.name)),
            no_inherit: false,
        };
        add_check(table, &check, add);
        add.push(
            Phase::NotNull,
            Statement::SetNotNull {
                table: t(),
                column: column(),
                not_null: true,
            },
        );
        add.push(Phase::NotNull, drop_constraint(table, &check.name));
    } else if !from.nullable && to.nullable {
        add.push(
            Phase::Columns,
            Statement::SetNotNull {
                table: t(),
                column: column(),
                not_null: false,
            },
        );
    }
    if from.comment != to.comment {
        add.push(
            Phase::Finish,
            Statement::Comment {
                table: t(),
                column: Some(column()),
                text: written.comment.clone(),
            },
        );
    }
}

/// The sequence a new column's `nextval('...')` default draws from (a `serial` column's),
/// created before the column (if it is not there already) and owned by it after.
pub(super) fn create_sequence(table: &str, column: &ColumnModel, phase: Phase, add: &mut Steps) {
    let Some(name) = column
        .default
        .as_deref()
        .and_then(Statement::sequence_of_default)
    else {
        return;
    };
    add.push(
        phase,
        Statement::CreateSequence {
            name: name.clone(),
            sql_type: crate::render::sequence_type(&canonical_type(&column.sql_type)),
        },
    );
    if crate::render::same_schema(&name, table) {
        add.push(
            Phase::Finish,
            Statement::SequenceOwnedBy {
                name,
                table: table.into(),
                column: column.name.clone(),
            },
        );
    }
}

/// The sequence a column's former `nextval('...')` default drew from (a `serial` column's),
/// dropped once the default is changed, when no column of `to` draws from it: the plan creates
/// the sequences defaults draw from, and drops them with their last default.
fn drop_sequence(from: &ColumnModel, to: &SchemaModel, add: &mut Steps) {
    let sequence_of = |c: &ColumnModel| {
        c.default
            .as_deref()
            .and_then(Statement::sequence_of_default)
    };
    let Some(name) = sequence_of(from) else {
        return;
    };
    let drawn = to
        .tables
        .iter()
        .flat_map(|t| &t.columns)
        .any(|c| sequence_of(c).is_some_and(|s| s == name));
    if !drawn {
        add.push(Phase::Finish, Statement::DropSequence { name });
    }
}

/// The column sets of a table's primary key, unique constraints and unique indexes on columns.
pub(super) fn unique_keys(table: &crate::model::TableModel) -> Vec<Vec<String>> {
    let mut keys: Vec<Vec<String>> = table
        .primary_key
        .iter()
        .chain(&table.unique)
        .map(|k| k.columns.clone())
        .collect();
    keys.extend(
        table
            .indexes
            .iter()
            .filter(|i| i.unique && i.keys.iter().all(|k| !k.expression))
            .map(|i| i.keys.iter().map(|k| k.column.clone()).collect()),
    );
    keys
}

/// Whether one of `keys` holds `column`.
pub(super) fn unique_on(keys: &[Vec<String>], column: &str) -> bool {
    keys.iter().any(|k| k.iter().any(|c| c == column))
}

/// Whether PostgreSQL converts a column's values from `from` to `to` without `USING`: an
/// assignment cast between built-in types it knows (any type to text; numbers among
/// themselves; dates and times where `pg_cast` has one; `json` and `jsonb`; `inet` and `cidr`).
/// A type it does not know (an enum, a domain, an extension's) is left to the server.
pub(super) fn converts_by_itself(from: &str, to: &str) -> bool {
    let base = |t: &str| {
        let t = canonical_type(t);
        let (element, array) = match t.strip_suffix("[]") {
            Some(element) => (element.to_string(), true),
            None => (t, false),
        };
        let name = element
            .split('(')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        (name, array)
    };
    let family = |t: &str| match t {
        "text" | "varchar" | "character" | "char" | "bpchar" | "citext" | "name" => Some("string"),
        "smallint" | "integer" | "bigint" | "real" | "double precision" | "numeric" | "decimal" => {
            Some("number")
        }
        "boolean" => Some("boolean"),
        "date"
        | "timestamp"
        | "timestamptz"
        | "time"
        | "timetz"
        | "time with time zone"
        | "interval" => Some("time"),
        "json" | "jsonb" => Some("json"),
        "uuid" => Some("uuid"),
        "bytea" => Some("bytea"),
        "inet" | "cidr" => Some("inet"),
        _ => None,
    };
    let ((from, from_array), (to, to_array)) = (base(from), base(to));
    let (Some(from_family), Some(to_family)) = (family(&from), family(&to)) else {
        return true;
    };
    if from_array != to_array {
        return false;
    }
    if from == to || to_family == "string" {
        return true;
    }
    if from_family != to_family {
        return false;
    }
    if from_family != "time" {
        return true;
    }
    let to = if to == "time with time zone" {
        "timetz"
    } else {
        to.as_str()
    };
    let from = if from == "time with time zone" {
        "timetz"
    } else {
        from.as_str()
    };
    matches!(
        (from, to),
        ("date", "timestamp" | "timestamptz")
            | ("timestamp", "date" | "time" | "timestamptz")
            | ("timestamptz", "date" | "time" | "timestamp" | "timetz")
            | ("time", "interval" | "timetz")
            | ("interval", "time")
            | ("timetz", "time")
    )
}

/// The columns of `table` the diff drops or changes the type of (or computes anew).
pub(super) fn columns_going(diff: &SchemaDiff, table: &str) -> Vec<String> {
    diff.changes
        .iter()
        .filter_map(|change| match change {
            Change::DropColumn { table: t, column } if t == table => Some(column.name.clone()),
            Change::RecomputeColumn { table: t, from, .. } if t == table => Some(from.name.clone()),
            Change::AlterColumn { table: t, from, to } if t == table => {
                (from.sql_type != to.sql_type).then(|| from.name.clone())
            }
            _ => None,
        })
        .collect()
}
