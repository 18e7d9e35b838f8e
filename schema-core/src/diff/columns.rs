//! Differences of columns: added, dropped, altered, computed anew, their stored values renamed,
//! and what looks like an undeclared rename.

use super::*;

/// The columns of `new` that the database must compute anew: generated otherwise than in `old`.
pub(super) fn recomputed<'a>(old: &TableModel, new: &'a TableModel) -> Vec<&'a str> {
    new.columns
        .iter()
        .filter(|c| {
            old.column(&c.name)
                .is_some_and(|current| c.generated.is_some() && current.generated != c.generated)
        })
        .map(|c| c.name.as_str())
        .collect()
}

/// The columns of `new` added, altered, computed anew or dropped from `old`, and the stored
/// values to rename.
pub(super) fn diff(old: &TableModel, new: &TableModel, recomputed: &[&str], out: &mut SchemaDiff) {
    let t = || new.name.clone();
    for column in &new.columns {
        match old.column(&column.name) {
            None => out.changes.push(Change::AddColumn {
                table: t(),
                column: column.clone(),
            }),
            Some(current) if recomputed.contains(&column.name.as_str()) => {
                out.changes.push(Change::RecomputeColumn {
                    table: t(),
                    from: current.clone(),
                    to: column.clone(),
                })
            }
            Some(current) => {
                let same = current.sql_type == column.sql_type
                    && current.collation == column.collation
                    && current.nullable == column.nullable
                    && current.default == column.default
                    && current.comment == column.comment
                    && current.identity == column.identity
                    && current.generated == column.generated;
                if !same {
                    out.changes.push(Change::AlterColumn {
                        table: t(),
                        from: current.clone(),
                        to: column.clone(),
                    });
                }
            }
        }
    }
    for column in &old.columns {
        if new.column(&column.name).is_none() {
            out.changes.push(Change::DropColumn {
                table: t(),
                column: column.clone(),
            });
        }
    }
    out.suggestions.extend(column_suggestions(old, new));
    for column in &new.columns {
        let renames = value_renames(old, new, column);
        if !renames.is_empty() {
            out.changes.push(Change::RenameValues {
                table: t(),
                column: column.name.clone(),
                renames,
            });
        }
    }
}

/// `table` without the indexes and constraints that name one of `columns`: what dropping
/// those columns drops with them.
pub(super) fn without_dependents(table: &TableModel, columns: &[&str]) -> TableModel {
    let names = |list: &[String]| list.iter().any(|c| columns.contains(&c.as_str()));
    let sql = |text: &str| columns.iter().any(|c| mentions(text, c));
    let mut table = table.clone();
    table.indexes.retain(|i| {
        !i.keys.iter().any(|k| {
            if k.expression {
                sql(&k.column)
            } else {
                columns.contains(&k.column.as_str())
            }
        }) && !names(&i.include)
            && !i.predicate.as_deref().is_some_and(sql)
    });
    table.unique.retain(|k| !names(&k.columns));
    table.foreign_keys.retain(|k| !names(&k.columns));
    table.checks.retain(|c| !sql(&c.expression));
    if table
        .primary_key
        .as_ref()
        .is_some_and(|k| names(&k.columns))
    {
        table.primary_key = None;
    }
    table
}

pub(super) fn column_suggestions(old: &TableModel, new: &TableModel) -> Vec<String> {
    let dropped = old.columns.iter().filter(|c| new.column(&c.name).is_none());
    let mut out = Vec::new();
    for gone in dropped {
        for added in new.columns.iter().filter(|c| old.column(&c.name).is_none()) {
            if gone.sql_type == added.sql_type && gone.nullable == added.nullable {
                out.push(format!(
                    "column `{}` of table `{}` is dropped and `{}` added with the same type: if \
                     it was renamed, declare `renamed_from = \"{}\"` on its field to keep its \
                     values",
                    gone.name, new.name, added.name, gone.name
                ));
            }
        }
    }
    out
}

/// The enum values of `column` to rewrite: the declared `(old, new)` renames whose old text a
/// check of the old table still allows and no check of the new one does.
pub(super) fn value_renames(
    old: &TableModel,
    new: &TableModel,
    column: &ColumnModel,
) -> Vec<(String, String)> {
    let allowed = |t: &TableModel, value: &str| {
        let name = crate::sql::quote_ident(&column.name);
        let bare = format!("({}", column.name);
        t.checks.iter().any(|c| {
            crate::sql::quoted_values(&c.expression)
                .iter()
                .any(|v| v == value)
                && (c.expression.contains(&name) || c.expression.contains(&bare))
        })
    };
    column
        .renamed_values
        .iter()
        .filter(|(from, _)| allowed(old, from) && !allowed(new, from))
        .cloned()
        .collect()
}

/// The readable line of `change`, one of this kind of object's.
pub(super) fn describe(change: &Change, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match change {
        Change::AddColumn { table, column } => write!(
            f,
            "column `{table}.{}`: missing ({})",
            column.name, column.sql_type
        ),
        Change::DropColumn { table, column } => {
            write!(f, "column `{table}.{}`: no longer declared", column.name)
        }
        Change::RenameColumn { table, from, to } => {
            write!(f, "column `{table}.{from}`: renamed to `{to}`")
        }
        Change::AlterColumn { table, from, to } => {
            let mut parts = Vec::new();
            if from.sql_type != to.sql_type {
                parts.push(format!(
                    "type: code says {}, database has {}",
                    to.sql_type, from.sql_type
                ));
            }
            if from.nullable != to.nullable {
                let n = |b: bool| if b { "NULL" } else { "NOT NULL" };
                parts.push(format!(
                    "nullability: code says {}, database has {}",
                    n(to.nullable),
                    n(from.nullable)
                ));
            }
            if from.default != to.default {
                parts.push(format!(
                    "default: code says {}, database has {}",
                    opt(&to.default),
                    opt(&from.default)
                ));
            }
            if from.comment != to.comment {
                parts.push(format!(
                    "comment: code says {}, database has {}",
                    opt(&to.comment),
                    opt(&from.comment)
                ));
            }
            if from.identity != to.identity {
                let identity = |i: &Option<crate::model::IdentityModel>| match i {
                    None => "(none)".to_string(),
                    Some(i) => format!(
                        "{} {}",
                        if i.always { "ALWAYS" } else { "BY DEFAULT" },
                        i.options(&to.sql_type).join(" ")
                    )
                    .trim_end()
                    .to_string(),
                };
                parts.push(format!(
                    "identity: code says {}, database has {}",
                    identity(&to.identity),
                    identity(&from.identity)
                ));
            }
            if from.generated != to.generated {
                parts.push(format!(
                    "generated: code says {}, database has {}",
                    opt(&to.generated),
                    opt(&from.generated)
                ));
            }
            write!(f, "column `{table}.{}`: {}", to.name, parts.join("; "))
        }
        Change::RecomputeColumn { table, from, to } => write!(
            f,
            "column `{table}.{}`: generated: code says {}, database has {}",
            to.name,
            opt(&to.generated),
            opt(&from.generated)
        ),
        Change::RenameValues {
            table,
            column,
            renames,
        } => {
            let list: Vec<String> = renames.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
            write!(
                f,
                "column `{table}.{column}`: stored values renamed: {}",
                list.join(", ")
            )
        }
        _ => Ok(()),
    }
}
