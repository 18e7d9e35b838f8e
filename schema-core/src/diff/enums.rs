//! Differences of native enum types: created, dropped, labels renamed, added, or removed by
//! replacing the type.

use super::*;

/// The native enum types to create, and the labels to rename, add, or remove by replacing the
/// type.
pub(super) fn diff_enums(from: &SchemaModel, to: &SchemaModel, out: &mut SchemaDiff) {
    for new in &to.enums {
        let Some(old) = from.enum_type(&new.name) else {
            out.changes.push(Change::CreateEnum(new.clone()));
            continue;
        };
        let mut current = old.values.clone();
        for (was, now) in &new.renamed_values {
            if let Some(position) = current.iter().position(|v| v == was) {
                if !current.contains(now) {
                    current[position] = now.clone();
                    out.changes.push(Change::RenameEnumValue {
                        name: new.name.clone(),
                        from: was.clone(),
                        to: now.clone(),
                    });
                }
            }
        }
        let removed: Vec<String> = current
            .iter()
            .filter(|v| !new.values.contains(v))
            .cloned()
            .collect();
        let kept_order = |values: &[String]| -> Vec<String> {
            values
                .iter()
                .filter(|v| current.contains(v) && new.values.contains(v))
                .cloned()
                .collect()
        };
        if !removed.is_empty() || kept_order(&current) != kept_order(&new.values) {
            out.changes.push(Change::ReplaceEnum {
                from: EnumModel {
                    values: current,
                    ..old.clone()
                },
                to: new.clone(),
                removed,
                columns: enum_columns(from, to, new),
            });
            continue;
        }
        for (position, value) in new.values.iter().enumerate() {
            if current.contains(value) {
                continue;
            }
            out.changes.push(Change::AddEnumValue {
                name: new.name.clone(),
                value: value.clone(),
                after: position.checked_sub(1).map(|p| new.values[p].clone()),
                before: (position == 0)
                    .then(|| new.values.get(1).cloned())
                    .flatten(),
            });
        }
    }
}

/// The columns of `to` that hold `e` (or an array of it) and held it in `from` already (under
/// the names they had before, if renamed), with their defaults as `to` has them and whether
/// they are arrays.
pub(super) fn enum_columns(
    from: &SchemaModel,
    to: &SchemaModel,
    e: &EnumModel,
) -> Vec<(String, String, Option<String>, bool)> {
    let scalar = e.column_type();
    let array = format!("{scalar}[]");
    let mut columns = Vec::new();
    for table in &to.tables {
        let Some(old_table) = from.table(&table.name).or_else(|| {
            table
                .renamed_from
                .as_deref()
                .and_then(|name| from.table(name))
        }) else {
            continue;
        };
        for column in table.columns.iter() {
            let sql_type = &column.sql_type;
            if *sql_type != scalar && *sql_type != array {
                continue;
            }
            let old = old_table.column(&column.name).or_else(|| {
                column
                    .renamed_from
                    .as_deref()
                    .and_then(|name| old_table.column(name))
            });
            if old.is_some_and(|c| c.sql_type == *sql_type) {
                columns.push((
                    table.name.clone(),
                    column.name.clone(),
                    column.default.clone(),
                    *sql_type == array,
                ));
            }
        }
    }
    columns
}

/// The readable line of `change`, one of this kind of object's.
pub(super) fn describe(change: &Change, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match change {
        Change::CreateEnum(e) => write!(
            f,
            "enum type `{}`: missing ({})",
            e.name,
            e.values.join(", ")
        ),
        Change::DropEnum(e) => write!(f, "enum type `{}`: no longer declared", e.name),
        Change::AddEnumValue { name, value, .. } => {
            write!(f, "enum type `{name}`: value {value:?} missing")
        }
        Change::RenameEnumValue { name, from, to } => {
            write!(f, "enum type `{name}`: value {from:?} renamed to {to:?}")
        }
        Change::ReplaceEnum { from, to, .. } => write!(
            f,
            "enum type `{}`: values ({}) become ({})",
            to.name,
            from.values.join(", "),
            to.values.join(", ")
        ),
        _ => Ok(()),
    }
}
