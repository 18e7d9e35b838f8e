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
        |a, b| {
            a.unique == b.unique
                && a.method == b.method
                && a.keys == b.keys
                && a.include == b.include
                && a.predicate == b.predicate
        },
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
        _ => Ok(()),
    }
}
