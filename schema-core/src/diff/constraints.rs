//! Differences of keys, foreign keys and checks: added, dropped, renamed with their table or
//! columns, added again `NOT VALID`, validated.

use super::*;

/// The primary key, unique constraints, foreign keys and checks of `new` that differ from
/// `old`'s.
pub(super) fn diff(old: &TableModel, new: &TableModel, follows_rename: bool, out: &mut SchemaDiff) {
    let t = || new.name.clone();
    // Keys and constraints: a definition that stays under a new name is a rename when the
    // table or its columns were renamed (the name follows them); otherwise drop and add.
    if old.primary_key != new.primary_key {
        match (&old.primary_key, &new.primary_key) {
            (Some(a), Some(b)) if a.columns == b.columns && follows_rename => {
                out.changes.push(Change::RenameConstraint {
                    table: t(),
                    from: a.name.clone(),
                    to: b.name.clone(),
                })
            }
            _ => out.changes.push(Change::PrimaryKey {
                table: t(),
                from: old.primary_key.clone(),
                to: new.primary_key.clone(),
            }),
        }
    }
    let renamed = |a: &str, b: &str| Change::RenameConstraint {
        table: t(),
        from: a.into(),
        to: b.into(),
    };
    pair_up(
        &old.unique,
        &new.unique,
        |k| &k.name,
        |a, b| a.columns == b.columns && a.nulls_not_distinct == b.nulls_not_distinct,
        |_| None,
        follows_rename,
        |change| match change {
            Paired::Added(key) => Change::AddUnique { table: t(), key },
            Paired::Dropped(key) => Change::DropUnique { table: t(), key },
            Paired::Renamed(a, b) => renamed(&a.name, &b.name),
        },
        out,
    );
    pair_up(
        &old.foreign_keys,
        &new.foreign_keys,
        |k| &k.name,
        |a, b| {
            ForeignKeyModel {
                name: String::new(),
                ..a.clone()
            } == ForeignKeyModel {
                name: String::new(),
                ..b.clone()
            }
        },
        |_| None,
        follows_rename,
        |change| match change {
            Paired::Added(foreign_key) => Change::AddForeignKey {
                table: t(),
                foreign_key,
            },
            Paired::Dropped(foreign_key) => Change::DropForeignKey {
                table: t(),
                foreign_key,
            },
            Paired::Renamed(a, b) => renamed(&a.name, &b.name),
        },
        out,
    );
    pair_up(
        &old.checks,
        &new.checks,
        |c| &c.name,
        |a, b| a.expression == b.expression && a.no_inherit == b.no_inherit,
        |c| c.renamed_from.as_deref(),
        follows_rename,
        |change| match change {
            Paired::Added(check) => Change::AddCheck { table: t(), check },
            Paired::Dropped(check) => Change::DropCheck { table: t(), check },
            Paired::Renamed(a, b) => renamed(&a.name, &b.name),
        },
        out,
    );
}

/// The constraints to add again `NOT VALID`, and those left `NOT VALID` to validate.
pub(super) fn diff_validity(old: &TableModel, new: &TableModel, out: &mut SchemaDiff) {
    let t = || new.name.clone();
    // A constraint the target holds NOT VALID that is valid here is added again so: a
    // validated constraint cannot be made NOT VALID in place.
    for name in &new.not_valid {
        if old.not_valid.contains(name) {
            continue;
        }
        let planned = |name: &str| {
            out.changes.iter().any(|c| match c {
                Change::AddForeignKey { table, foreign_key } => {
                    *table == new.name && foreign_key.name == name
                }
                Change::AddCheck { table, check } => *table == new.name && check.name == name,
                _ => false,
            })
        };
        if planned(name) {
            continue;
        }
        if let (Some(a), Some(b)) = (
            old.foreign_keys.iter().find(|k| k.name == *name),
            new.foreign_keys.iter().find(|k| k.name == *name),
        ) {
            out.changes.push(Change::DropForeignKey {
                table: t(),
                foreign_key: a.clone(),
            });
            out.changes.push(Change::AddForeignKey {
                table: t(),
                foreign_key: b.clone(),
            });
        } else if let (Some(a), Some(b)) = (
            old.checks.iter().find(|c| c.name == *name),
            new.checks.iter().find(|c| c.name == *name),
        ) {
            out.changes.push(Change::DropCheck {
                table: t(),
                check: a.clone(),
            });
            out.changes.push(Change::AddCheck {
                table: t(),
                check: b.clone(),
            });
        }
    }
    // A constraint left NOT VALID is validated, unless it is dropped or added again anyway;
    // so is a partitioned table's key or index some partition has no part of.
    for name in &old.not_valid {
        let kept = new.foreign_keys.iter().any(|k| k.name == *name)
            || new.checks.iter().any(|c| c.name == *name)
            || new
                .primary_key
                .iter()
                .chain(&new.unique)
                .any(|k| k.name == *name)
            || new.indexes.iter().any(|i| i.name == *name);
        let replaced = out.changes.iter().any(|c| match c {
            Change::AddForeignKey { table, foreign_key } => {
                *table == new.name && foreign_key.name == *name
            }
            Change::AddCheck { table, check } => *table == new.name && check.name == *name,
            Change::RenameConstraint { table, from, .. } => *table == new.name && from == name,
            Change::PrimaryKey {
                table,
                to: Some(key),
                ..
            }
            | Change::AddUnique { table, key } => *table == new.name && key.name == *name,
            Change::AddIndex { table, index } | Change::DropIndex { table, index } => {
                *table == new.name && index.name == *name
            }
            _ => false,
        });
        if kept && !replaced && !new.not_valid.contains(name) {
            out.changes.push(Change::ValidateConstraint {
                table: t(),
                name: name.clone(),
            });
        }
    }
}

/// The readable line of `change`, one of this kind of object's.
pub(super) fn describe(change: &Change, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match change {
        Change::PrimaryKey { table, from, to } => {
            let k = |k: &Option<KeyModel>| {
                k.as_ref().map_or("(none)".into(), |k| {
                    format!("{} ({})", k.name, k.columns.join(", "))
                })
            };
            write!(
                f,
                "primary key of `{table}`: code says {}, database has {}",
                k(to),
                k(from)
            )
        }
        Change::AddUnique { table, key } => write!(
            f,
            "unique constraint `{}` on `{table}`: missing ({}){}",
            key.name,
            key.columns.join(", "),
            if key.nulls_not_distinct {
                " NULLS NOT DISTINCT"
            } else {
                ""
            }
        ),
        Change::DropUnique { table, key } => write!(
            f,
            "unique constraint `{}` on `{table}`: not declared ({}){}",
            key.name,
            key.columns.join(", "),
            if key.nulls_not_distinct {
                " NULLS NOT DISTINCT"
            } else {
                ""
            }
        ),
        Change::AddForeignKey { table, foreign_key } => write!(
            f,
            "foreign key `{}` on `{table}`: missing",
            foreign_key.name
        ),
        Change::DropForeignKey { table, foreign_key } => write!(
            f,
            "foreign key `{}` on `{table}`: not declared",
            foreign_key.name
        ),
        Change::AddCheck { table, check } => write!(
            f,
            "check `{}` on `{table}`: code says {}",
            check.name, check.expression
        ),
        Change::DropCheck { table, check } => write!(
            f,
            "check `{}` on `{table}`: database has {}",
            check.name, check.expression
        ),
        Change::RenameConstraint { table, from, to } => {
            write!(f, "constraint `{from}` on `{table}`: renamed to `{to}`")
        }
        Change::ValidateConstraint { table, name } => write!(
            f,
            "constraint `{name}` on `{table}`: NOT VALID in the database (its rows are not \
             checked); validate it"
        ),
        _ => Ok(()),
    }
}
