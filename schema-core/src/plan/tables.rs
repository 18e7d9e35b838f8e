//! Steps for tables as wholes: created (a partition after its table, foreign keys to what the
//! plan adds later deferred), dropped (with the foreign keys to other dropped tables first),
//! renamed or moved to another PostgreSQL schema, commented, guarded, with their row-level
//! security and replica identity; and the extensions and PostgreSQL schemas they need.

use super::*;

/// The steps of `change`, one of this kind of object's.
pub(super) fn plan(change: &Change, diff: &SchemaDiff, to: &SchemaModel, add: &mut Steps) {
    use Phase::*;
    match change {
        Change::CreateExtension(name) => add.push(
            Extensions,
            Statement::CreateExtension { name: name.clone() },
        ),
        Change::DropExtension(name) => add.push(
            DropExtensions,
            Statement::DropExtension { name: name.clone() },
        ),
        Change::CreateNamespace(name) => add.push(
            Namespaces,
            Statement::CreateNamespace { name: name.clone() },
        ),
        Change::DropNamespace(name) => add.push(
            DropNamespaces,
            Statement::DropNamespace { name: name.clone() },
        ),
        Change::CreateTable(table) => {
            // A foreign key to a key or column this plan adds, or to a table it creates later,
            // is added once they exist.
            let (deferred, inline): (Vec<_>, Vec<_>) = table
                .foreign_keys
                .iter()
                .cloned()
                .partition(|fk| references_what_comes_later(&table.name, fk, diff));
            let created = crate::model::TableModel {
                foreign_keys: inline,
                ..(**table).clone()
            };
            let parent = created
                .partition_of
                .as_ref()
                .and_then(|of| to.table(&of.parent));
            let statements = parent
                .and_then(|parent| attach_partition_statements(&created, parent))
                .unwrap_or_else(|| create_table_statements(&created));
            for statement in statements {
                add.push(CreateTables, statement);
            }
            for foreign_key in deferred {
                add.push(
                    ForeignKeys,
                    Statement::AddConstraint {
                        table: table.name.clone(),
                        constraint: Constraint::ForeignKey(foreign_key),
                        not_valid: false,
                    },
                );
            }
        }
        Change::DropTable(table) => {
            // Its foreign keys to other tables dropped with it go first: whichever is dropped
            // first, the other's key would still point at it.
            for fk in &table.foreign_keys {
                let other_dropped = fk.references_table != table.name
                    && diff.changes.iter().any(
                        |c| matches!(c, Change::DropTable(t) if t.name == fk.references_table),
                    );
                if other_dropped {
                    add.push(Unhook, drop_constraint(&table.name, &fk.name));
                }
            }
            // A partition goes with its partitioned table.
            let parent_dropped = table.partition_of.as_ref().is_some_and(|of| {
                diff.changes
                    .iter()
                    .any(|c| matches!(c, Change::DropTable(t) if t.name == of.parent))
            });
            if parent_dropped {
                return;
            }
            add.push(
                DropObjects,
                Statement::DropTable {
                    table: table.name.clone(),
                },
            );
            // The table's trigger goes with it; its guard's function does not.
            if let Some(guard) = &table.immutable {
                add.push(
                    DropObjects,
                    Statement::DropFunction {
                        name: guard.name.clone(),
                    },
                );
            }
        }
        Change::RenameTable { from, to } => {
            // A table declared in another PostgreSQL schema than before moves there first
            // (`SET SCHEMA` keeps its rows, indexes, constraints and privileges).
            let ((from_schema, from_bare), (to_schema, to_bare)) =
                (split_qualified(from), split_qualified(to));
            let mut current = from.clone();
            if let Some(schema) = to_schema.filter(|s| Some(*s) != from_schema) {
                add.push(
                    RenameTables,
                    Statement::SetSchema {
                        table: from.clone(),
                        schema: schema.into(),
                    },
                );
                current = qualify(Some(schema), from_bare);
            }
            if from_bare != to_bare {
                add.push(
                    RenameTables,
                    Statement::RenameTable {
                        from: current,
                        to: to.clone(),
                    },
                );
            }
        }
        Change::TableComment { table, to, .. } => add.push(
            Finish,
            Statement::Comment {
                table: table.clone(),
                column: None,
                text: to.clone(),
            },
        ),
        Change::Guard { table, from, to } => {
            let same_name = matches!((from, to), (Some(a), Some(b)) if a.name == b.name);
            if let Some(old) = from {
                // The trigger goes (it may be missing or disabled); the function is replaced
                // in place when it keeps its name.
                add.push(
                    Unhook,
                    Statement::DropTrigger {
                        table: table.clone(),
                        name: old.name.clone(),
                    },
                );
                if !same_name {
                    add.push(
                        Unhook,
                        Statement::DropFunction {
                            name: old.name.clone(),
                        },
                    );
                }
            }
            if let Some(new) = to {
                let mut guard = new.clone();
                guard.trigger_enabled = true;
                for statement in guard_statements(table, &guard, same_name) {
                    add.push(Finish, statement);
                }
            }
        }
        Change::RowLevelSecurity { table, from, to } => {
            if from.0 != to.0 {
                add.push(
                    Finish,
                    Statement::RowLevelSecurity {
                        table: table.clone(),
                        enable: to.0,
                    },
                );
            }
            if from.1 != to.1 {
                add.push(
                    Finish,
                    Statement::ForceRowLevelSecurity {
                        table: table.clone(),
                        force: to.1,
                    },
                );
            }
        }
        // After the indexes: the identity may be one of them.
        Change::ReplicaIdentity { table, to, .. } => add.push(
            Finish,
            Statement::ReplicaIdentity {
                table: table.clone(),
                identity: to.clone(),
            },
        ),
        _ => {}
    }
}

/// Whether a new table's foreign key must wait until the end of the plan's table changes: it
/// references a table whose keys or columns the plan changes, or a table the plan creates
/// after this one.
pub(super) fn references_what_comes_later(
    table: &str,
    fk: &crate::model::ForeignKeyModel,
    diff: &SchemaDiff,
) -> bool {
    let target = fk.references_table.as_str();
    if target == table {
        return false;
    }
    let mut seen_self = false;
    diff.changes.iter().any(|change| match change {
        Change::CreateTable(t) if t.name == table => {
            seen_self = true;
            false
        }
        Change::CreateTable(t) => t.name == target && seen_self,
        Change::PrimaryKey { table: t, .. }
        | Change::AddUnique { table: t, .. }
        | Change::AddColumn { table: t, .. }
        | Change::AddIndex { table: t, .. } => t == target,
        _ => false,
    })
}

/// Whether `table` is a partitioned table in the target.
pub(super) fn is_partitioned(to: &SchemaModel, table: &str) -> bool {
    to.table(table).is_some_and(|t| t.partition_by.is_some())
}

/// Whether `table` is a partition of another in the target.
pub(super) fn is_partition(to: &SchemaModel, table: &str) -> bool {
    to.table(table).is_some_and(|t| t.partition_of.is_some())
}
