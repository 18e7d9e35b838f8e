//! Steps for indexes: built and dropped `CONCURRENTLY` (in one plain statement on a partitioned
//! table, which takes nothing else), renamed.

use super::*;

/// The steps of `change`, one of this kind of object's.
pub(super) fn plan(change: &Change, _diff: &SchemaDiff, to: &SchemaModel, add: &mut Steps) {
    use Phase::*;
    match change {
        // PostgreSQL builds and drops an index of a partitioned table only in one plain
        // statement (on every partition), writes waiting meanwhile.
        Change::AddIndex { table, index } => {
            let partitioned = is_partitioned(to, table);
            add.push(
                index_phase(to, table),
                Statement::CreateIndex {
                    table: table.clone(),
                    index: index.clone(),
                    concurrently: !partitioned,
                },
            );
            if partitioned {
                blocks_writes_while_building(add);
            }
        }
        // An index is in its table's PostgreSQL schema.
        Change::DropIndex { table, index } => add.push(
            DropConstraints,
            Statement::DropIndex {
                schema: split_qualified(table).0.map(Into::into),
                name: index.name.clone(),
                concurrently: !is_partitioned(to, table),
            },
        ),
        Change::RenameIndex { table, from, to } => add.push(
            Renames,
            Statement::RenameIndex {
                schema: split_qualified(table).0.map(Into::into),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        _ => {}
    }
}

/// The phase a table's keys and indexes are built in: a partition's before any other table's
/// (see [`Phase::PartitionIndexes`]).
pub(super) fn index_phase(to: &SchemaModel, table: &str) -> Phase {
    if is_partition(to, table) {
        Phase::PartitionIndexes
    } else {
        Phase::Indexes
    }
}

/// The last step builds an index in one statement: it takes time and I/O in proportion to the
/// table, and writes wait for it.
pub(super) fn blocks_writes_while_building(add: &mut Steps) {
    if let Some((_, step)) = add.0.last_mut() {
        step.hazards
            .extend([Hazard::BuildsIndex, Hazard::BlocksWrites]);
        step.statement_timeout = None;
    }
}
