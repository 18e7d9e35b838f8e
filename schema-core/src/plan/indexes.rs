//! Steps for indexes: built and dropped `CONCURRENTLY` (in one plain statement on a partitioned
//! table, which takes nothing else), renamed.

use super::*;
use crate::model::IndexModel;

/// The steps of `change`, one of this kind of object's.
pub(super) fn plan(change: &Change, diff: &SchemaDiff, to: &SchemaModel, add: &mut Steps) {
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
        // A partition's index the plan attaches to its partitioned table's stays.
        Change::DropIndex { table, index } if whole_taking(diff, to, table, index).is_some() => {}
        // An index is in its table's PostgreSQL schema.
        Change::DropIndex { table, index } => add.push(
            DropConstraints,
            Statement::DropIndex {
                schema: split_qualified(table).0.map(Into::into),
                name: index.name.clone(),
                concurrently: !is_partitioned(to, table),
                cascade: keys_on_parts(diff, to, table, index),
            },
        ),
        // Once the parts are built and attached.
        Change::NamePart { table, index, name } => {
            let parent = to
                .table(table)
                .and_then(|t| t.partition_of.as_ref())
                .map_or(table.as_str(), |of| of.parent.as_str());
            add.push(
                Finish,
                Statement::NamePart {
                    schema: split_qualified(parent).0.map(Into::into),
                    index: index.clone(),
                    table: table.clone(),
                    name: name.clone(),
                },
            )
        }
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

/// The partitions' keys, as (partition, key), that the diff drops and that are built on parts
/// of the partitioned table `table`'s unique index `index`, which it drops too: PostgreSQL
/// drops such an index only with them (`CASCADE`), and they go with it.
fn keys_on_parts(
    diff: &SchemaDiff,
    to: &SchemaModel,
    table: &str,
    index: &IndexModel,
) -> Vec<(String, String)> {
    diff.changes
        .iter()
        .filter_map(|c| match c {
            Change::PrimaryKey {
                table: partition,
                from: Some(key),
                ..
            }
            | Change::DropUnique {
                table: partition,
                key,
            } => Some((partition, key)),
            _ => None,
        })
        .filter(|(partition, key)| {
            index_taking_key(diff, to, partition, key)
                .is_some_and(|(t, i)| t == table && i == index)
        })
        .map(|(partition, key)| (partition.clone(), key.name.clone()))
        .collect()
}

/// The unique index of its partitioned table that the diff drops and on whose part the key
/// `key` of `partition`, which the diff drops too, may be built (the same columns in the same
/// order, nothing else): the drop of that index takes the key with it.
pub(super) fn index_taking_key<'a>(
    diff: &'a SchemaDiff,
    to: &SchemaModel,
    partition: &str,
    key: &KeyModel,
) -> Option<(&'a str, &'a IndexModel)> {
    let parent = to.table(partition)?.partition_of.as_ref()?.parent.as_str();
    diff.changes.iter().find_map(|c| match c {
        Change::DropIndex { table, index }
            if table == parent
                && index.unique
                && index.method == "btree"
                && index.predicate.is_none()
                && index.include.is_empty()
                && index
                    .keys
                    .iter()
                    .map(|k| (!k.expression).then_some(k.column.as_str()))
                    .eq(key.columns.iter().map(|c| Some(c.as_str()))) =>
        {
            Some((table.as_str(), index))
        }
        _ => None,
    })
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

/// A key or an index of a partitioned table: what a partition's index may be a part of.
pub(super) enum Whole<'a> {
    /// A primary key (`true`) or unique constraint.
    Key(&'a KeyModel, bool),
    /// An index.
    Index(&'a IndexModel),
}

/// The key or index `name` of the partitioned table `table` in the target.
pub(super) fn whole_of<'a>(to: &'a SchemaModel, table: &str, name: &str) -> Option<Whole<'a>> {
    let t = to.table(table).filter(|t| t.partition_by.is_some())?;
    if let Some(key) = t.primary_key.as_ref().filter(|k| k.name == name) {
        return Some(Whole::Key(key, true));
    }
    if let Some(key) = t.unique.iter().find(|k| k.name == name) {
        return Some(Whole::Key(key, false));
    }
    t.indexes.iter().find(|i| i.name == name).map(Whole::Index)
}

impl Whole<'_> {
    fn name(&self) -> &str {
        match self {
            Whole::Key(key, _) => &key.name,
            Whole::Index(index) => &index.name,
        }
    }
}

/// Whether a partition's `index` has the definition of a part of `whole`.
fn is_part_of(index: &IndexModel, whole: &Whole<'_>) -> bool {
    match whole {
        Whole::Key(key, _) => {
            index.unique
                && index.method == "btree"
                && index.predicate.is_none()
                && index.include.is_empty()
                && index.keys.len() == key.columns.len()
                && index.keys.iter().zip(&key.columns).all(|(k, c)| {
                    k.column == *c
                        && !k.expression
                        && !k.descending
                        && !k.nulls_first
                        && k.opclass.is_none()
                })
        }
        Whole::Index(whole) => {
            index.unique == whole.unique
                && index.method == whole.method
                && index.keys == whole.keys
                && index.include == whole.include
                && index.predicate == whole.predicate
        }
    }
}

/// The key or index of its partitioned table that a partition's `index` is to be attached to:
/// one the table has no part of on every partition (the diff validates it), of the same
/// definition as `index`, which the diff drops from the partition (a part is not the
/// partition's own).
pub(super) fn whole_taking<'a>(
    diff: &SchemaDiff,
    to: &'a SchemaModel,
    partition: &str,
    index: &IndexModel,
) -> Option<(&'a str, Whole<'a>)> {
    let parent = to.table(partition)?.partition_of.as_ref()?.parent.as_str();
    diff.changes
        .iter()
        .find_map(|c| match c {
            Change::ValidateConstraint { table, name } if table == parent => {
                whole_of(to, parent, name).filter(|w| is_part_of(index, w))
            }
            _ => None,
        })
        .map(|whole| (parent, whole))
}

/// The steps that complete the partitioned table's key or index `name`: each partition's
/// index the diff drops that has its definition becomes its part (a key's part backing the
/// partition's key of the same kind first). An index no partition offers a part of is built
/// again, on every partition (the runner drops the invalid one first).
pub(super) fn attach_parts(
    table: &str,
    name: &str,
    diff: &SchemaDiff,
    to: &SchemaModel,
    add: &mut Steps,
) {
    let parts: Vec<(&String, &IndexModel, Whole<'_>)> = diff
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::DropIndex {
                table: partition,
                index,
            } => whole_taking(diff, to, partition, index)
                .filter(|(parent, whole)| *parent == table && whole.name() == name)
                .map(|(_, whole)| (partition, index, whole)),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        if let Some(Whole::Index(index)) = whole_of(to, table, name) {
            add.push(
                Phase::Indexes,
                Statement::CreateIndex {
                    table: table.into(),
                    index: index.clone(),
                    concurrently: false,
                },
            );
            blocks_writes_while_building(add);
        }
        return;
    }
    for (partition, index, whole) in parts {
        if let Whole::Key(key, primary) = whole {
            let key = KeyModel::new(index.name.clone(), key.columns.clone());
            add.push(
                Phase::Indexes,
                Statement::AddConstraint {
                    table: partition.clone(),
                    constraint: key_constraint(key, primary, true),
                    not_valid: false,
                },
            );
        }
        add.push(
            Phase::Indexes,
            Statement::AttachIndex {
                schema: split_qualified(table).0.map(Into::into),
                name: name.into(),
                part_schema: split_qualified(partition).0.map(Into::into),
                part: index.name.clone(),
            },
        );
    }
}
