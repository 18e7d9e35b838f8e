//! Differences of indexes: added, dropped (and built again when their definition changed),
//! renamed.

use super::*;

/// The indexes of `new` that differ from `old`'s.
pub(super) fn diff(old: &TableModel, new: &TableModel, follows_rename: bool, out: &mut SchemaDiff) {
    let t = || new.name.clone();
    pair_up(
        &old.indexes,
        &new.indexes,
        |i| &i.name,
        same_definition,
        |i| i.renamed_from.as_deref(),
        follows_rename,
        |change| match change {
            Paired::Added(index) => Change::AddIndex { table: t(), index },
            Paired::Dropped(index) => Change::DropIndex { table: t(), index },
            Paired::Renamed(a, b) => Change::RenameIndex {
                table: t(),
                from: a.name,
                to: b.name,
            },
        },
        out,
    );
}

/// Whether two indexes are built alike, whatever their names.
fn same_definition(a: &IndexModel, b: &IndexModel) -> bool {
    a.unique == b.unique
        && a.method == b.method
        && a.keys == b.keys
        && a.include == b.include
        && a.predicate == b.predicate
}

/// The partitions' parts of their partitioned tables' indexes whose names differ from the
/// target's: a part that has another name, or that the plan builds (with its partition or
/// its index) under a name other than the one PostgreSQL would choose (`{partition}_{columns}
/// _idx`).
pub(super) fn parts(
    matched: &[(Option<&TableModel>, &TableModel)],
    to: &SchemaModel,
    out: &mut SchemaDiff,
) {
    let mut named = Vec::new();
    for (old, new) in matched {
        let Some(of) = &new.partition_of else {
            continue;
        };
        for part in &new.index_parts {
            let rebuilt = out.changes.iter().any(|c| {
                matches!(c, Change::DropIndex { table, index }
                    if *table == of.parent && index.name == part.index)
            });
            // The part it has, else the index of its own the plan attaches as the part, else
            // the one PostgreSQL builds.
            let whole = to
                .table(&of.parent)
                .and_then(|t| t.indexes.iter().find(|i| i.name == part.index));
            let old_name = old
                .filter(|_| !rebuilt)
                .and_then(|o| {
                    o.index_parts
                        .iter()
                        .find(|p| p.index == part.index)
                        .map(|p| p.name.clone())
                        .or_else(|| {
                            let whole = whole?;
                            o.indexes
                                .iter()
                                .find(|i| same_definition(i, whole))
                                .map(|i| i.name.clone())
                        })
                })
                .or_else(|| {
                    crate::render::default_part_name(to, &new.name, &of.parent, &part.index)
                });
            if old_name.as_deref() != Some(part.name.as_str()) {
                named.push(Change::NamePart {
                    table: new.name.clone(),
                    index: part.index.clone(),
                    name: part.name.clone(),
                });
            }
        }
    }
    out.changes.extend(named);
}

/// The readable line of `change`, one of this kind of object's.
pub(super) fn describe(change: &Change, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match change {
        Change::AddIndex { table, index } => {
            write!(f, "index `{}` on `{table}`: missing", index.name)
        }
        Change::DropIndex { table, index } => write!(
            f,
            "index `{}` on `{table}`: not declared as it is",
            index.name
        ),
        Change::RenameIndex { table, from, to } => {
            write!(f, "index `{from}` on `{table}`: renamed to `{to}`")
        }
        Change::NamePart { table, index, name } => write!(
            f,
            "index `{index}`: its part on `{table}` is not named `{name}`"
        ),
        _ => Ok(()),
    }
}
