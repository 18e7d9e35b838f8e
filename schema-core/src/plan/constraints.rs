//! Steps for keys, foreign keys and checks: added online (a key through a concurrent index,
//! foreign keys and checks `NOT VALID` then validated; on a partitioned table as PostgreSQL
//! accepts there), dropped, renamed, validated; and the foreign keys set aside while a key they
//! reference is replaced.

use super::*;

/// The steps of `change`, one of this kind of object's.
pub(super) fn plan(change: &Change, diff: &SchemaDiff, to: &SchemaModel, add: &mut Steps) {
    use Phase::*;
    match change {
        Change::PrimaryKey {
            table,
            from,
            to: new,
        } => {
            // A partition's key built on a part of an index the plan drops goes with it.
            if let Some(key) = from
                .as_ref()
                .filter(|k| index_taking_key(diff, to, table, k).is_none())
            {
                add.push(DropConstraints, drop_constraint(table, &key.name));
            }
            if let Some(key) = new {
                add_key(table, key, true, to, add);
            }
        }
        Change::AddUnique { table, key } => add_key(table, key, false, to, add),
        Change::DropUnique { table, key } if index_taking_key(diff, to, table, key).is_some() => {}
        Change::DropUnique { table, key } => {
            add.push(DropConstraints, drop_constraint(table, &key.name))
        }
        // After the keys (phase `Indexes`): the key a foreign key references may be one this
        // plan adds.
        // PostgreSQL adds a foreign key to a partitioned table validated, in one step.
        Change::AddForeignKey { table, foreign_key } if is_partitioned(to, table) => add.push(
            ForeignKeys,
            Statement::AddConstraint {
                table: table.clone(),
                constraint: Constraint::ForeignKey(foreign_key.clone()),
                not_valid: false,
            },
        ),
        Change::AddForeignKey { table, foreign_key } => {
            add.push(
                ForeignKeys,
                Statement::AddConstraint {
                    table: table.clone(),
                    constraint: Constraint::ForeignKey(foreign_key.clone()),
                    not_valid: true,
                },
            );
            if left_not_valid(to, table, &foreign_key.name) {
                return;
            }
            add.push(
                ValidateForeignKeys,
                Statement::ValidateConstraint {
                    table: table.clone(),
                    name: foreign_key.name.clone(),
                },
            );
        }
        // Before the keys are dropped: a key a foreign key references cannot go while it does.
        Change::DropForeignKey { table, foreign_key } => {
            add.push(Unhook, drop_constraint(table, &foreign_key.name))
        }
        Change::AddCheck { table, check } if left_not_valid(to, table, &check.name) => add.push(
            AddConstraints,
            Statement::AddConstraint {
                table: table.clone(),
                constraint: Constraint::Check(check.clone()),
                not_valid: true,
            },
        ),
        Change::AddCheck { table, check } => {
            let removed = removed_values(diff, table, check);
            add_check(table, check, add);
            if !removed.is_empty() {
                mark_destructive(table, check, removed, add);
            }
        }
        Change::DropCheck { table, check } => {
            add.push(DropConstraints, drop_constraint(table, &check.name))
        }
        Change::RenameConstraint { table, from, to } => add.push(
            Renames,
            Statement::RenameConstraint {
                table: table.clone(),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        // A partitioned table's key or index some partition has no part of: parts attached.
        Change::ValidateConstraint { table, name } if whole_of(to, table, name).is_some() => {
            attach_parts(table, name, diff, to, add)
        }
        Change::ValidateConstraint { table, name } => add.push(
            Validate,
            Statement::ValidateConstraint {
                table: table.clone(),
                name: name.clone(),
            },
        ),
        _ => {}
    }
}

/// The quoted values a replaced check allowed that the new one does not, other than values
/// renamed (and rewritten) by the same diff: rows still holding them fail validation.
pub(super) fn removed_values(diff: &SchemaDiff, table: &str, check: &CheckModel) -> Vec<String> {
    let Some(old) = diff.changes.iter().find_map(|c| match c {
        Change::DropCheck {
            table: t,
            check: old,
        } if t == table && old.name == check.name => Some(old),
        _ => None,
    }) else {
        return Vec::new();
    };
    let renamed: Vec<&str> = diff
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::RenameValues {
                table: t, renames, ..
            } if t == table => Some(renames),
            _ => None,
        })
        .flatten()
        .map(|(from, _)| from.as_str())
        .collect();
    let new = quoted_values(&check.expression);
    quoted_values(&old.expression)
        .into_iter()
        .filter(|v| !new.contains(v) && !renamed.contains(&v.as_str()))
        .collect()
}

/// Makes the validation of a check that removes values a destructive step.
pub(super) fn mark_destructive(
    table: &str,
    check: &CheckModel,
    removed: Vec<String>,
    add: &mut Steps,
) {
    if let Some((_, step)) = add.0.iter_mut().rev().find(|(_, s)| {
        matches!(&s.statement, Statement::ValidateConstraint { table: t, name } if t == table && *name == check.name)
    }) {
        step.hazards.push(Hazard::DeletesData);
        step.destructive = Some(Destructive {
            object: format!("{table}.{}", check_column(check).unwrap_or_default()),
            reason: format!(
                "removes the allowed values {}: rows still holding them fail the validation",
                removed.join(", ")
            ),
        });
    }
}

/// The column an enum check is on: the first quoted identifier of its expression, or the
/// first bare word in parentheses as the server prints it.
pub(super) fn check_column(check: &CheckModel) -> Option<String> {
    let e = check.expression.trim_start_matches('(');
    if let Some(rest) = e.strip_prefix('"') {
        return rest.split('"').next().map(String::from);
    }
    e.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .map(String::from)
}

pub(super) fn drop_constraint(table: &str, name: &str) -> Statement {
    Statement::DropConstraint {
        table: table.into(),
        name: name.into(),
    }
}

/// A key on a table that has rows: its unique index built concurrently first, then the
/// constraint made from it in an instant. On a partitioned table, which has neither, the
/// constraint builds its index itself, writes waiting meanwhile.
pub(super) fn add_key(
    table: &str,
    key: &KeyModel,
    primary: bool,
    to: &SchemaModel,
    add: &mut Steps,
) {
    let phase = index_phase(to, table);
    if is_partitioned(to, table) {
        let key = key.clone();
        add.push(
            phase,
            Statement::AddConstraint {
                table: table.into(),
                constraint: key_constraint(key, primary, false),
                not_valid: false,
            },
        );
        blocks_writes_while_building(add);
        return;
    }
    add.push(
        phase,
        Statement::CreateKeyIndex {
            table: table.into(),
            key: key.clone(),
        },
    );
    let key = key.clone();
    add.push(
        phase,
        Statement::AddConstraint {
            table: table.into(),
            constraint: key_constraint(key, primary, true),
            not_valid: false,
        },
    );
}

/// A primary key (`primary`) or unique constraint, on its columns or on an index of its name
/// built before (`using_index`).
pub(super) fn key_constraint(key: KeyModel, primary: bool, using_index: bool) -> Constraint {
    if primary {
        Constraint::PrimaryKey { key, using_index }
    } else {
        Constraint::Unique { key, using_index }
    }
}

pub(super) fn add_check(table: &str, check: &CheckModel, add: &mut Steps) {
    add.push(
        Phase::AddConstraints,
        Statement::AddConstraint {
            table: table.into(),
            constraint: Constraint::Check(check.clone()),
            not_valid: true,
        },
    );
    add.push(
        Phase::Validate,
        Statement::ValidateConstraint {
            table: table.into(),
            name: check.name.clone(),
        },
    );
}

/// Whether the target holds the constraint `NOT VALID` (a model read from a database can): it
/// is added so, and not validated.
pub(super) fn left_not_valid(to: &SchemaModel, table: &str, name: &str) -> bool {
    to.table(table)
        .is_some_and(|t| t.not_valid.iter().any(|n| n == name))
}

/// Foreign keys the diff keeps that reference a key it drops (a primary key replaced, a unique
/// constraint or index dropped): PostgreSQL refuses to drop the key while they point at it, so
/// each is dropped first and added again once the new key is there.
pub(super) fn repoint_foreign_keys(diff: &SchemaDiff, to: &SchemaModel, add: &mut Steps) {
    let sorted = |columns: &[String]| {
        let mut columns = columns.to_vec();
        columns.sort();
        columns
    };
    let dropped: Vec<(&str, Vec<String>)> = diff
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::PrimaryKey {
                table,
                from: Some(key),
                ..
            }
            | Change::DropUnique { table, key } => Some((table.as_str(), sorted(&key.columns))),
            Change::DropIndex { table, index }
                if index.unique && index.keys.iter().all(|k| !k.expression) =>
            {
                let columns: Vec<String> = index.keys.iter().map(|k| k.column.clone()).collect();
                Some((table.as_str(), sorted(&columns)))
            }
            _ => None,
        })
        .collect();
    if dropped.is_empty() {
        return;
    }
    for table in &to.tables {
        for fk in &table.foreign_keys {
            let points_at_dropped = dropped.iter().any(|(t, columns)| {
                *t == fk.references_table && *columns == sorted(&fk.references_columns)
            });
            let planned = diff.changes.iter().any(|c| match c {
                Change::AddForeignKey {
                    table: t,
                    foreign_key,
                }
                | Change::DropForeignKey {
                    table: t,
                    foreign_key,
                } => *t == table.name && foreign_key.name == fk.name,
                Change::CreateTable(t) => t.name == table.name,
                _ => false,
            });
            if points_at_dropped && !planned {
                let partitioned = table.partition_by.is_some();
                add.push(Phase::Unhook, drop_constraint(&table.name, &fk.name));
                add.push(
                    Phase::ForeignKeys,
                    Statement::AddConstraint {
                        table: table.name.clone(),
                        constraint: Constraint::ForeignKey(fk.clone()),
                        not_valid: !partitioned,
                    },
                );
                if partitioned {
                    continue;
                }
                add.push(
                    Phase::ValidateForeignKeys,
                    Statement::ValidateConstraint {
                        table: table.name.clone(),
                        name: fk.name.clone(),
                    },
                );
            }
        }
    }
}
