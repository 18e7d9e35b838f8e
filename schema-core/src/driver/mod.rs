//! What the two drivers share (tokio-postgres in `pg`, sqlx in `sqlx`, each behind its
//! feature), so that every rule is written once: the text
//! of every statement ([`statements`]), which columns an insert names, how a batch is cut into
//! statements, what a scope's setting may be, which SQLSTATE makes which [`ConstraintKind`], and
//! what a read reports when a value does not fit its field ([`DecodeError`]).

mod decode;
mod scope;
#[cfg(feature = "encrypt")]
pub(crate) mod sealed_update;
mod server_error;
// Parts of it only the tokio-postgres side uses (COPY, updates, reads by key).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) mod statements;

pub(crate) use decode::{inexact_number, row_key};
pub use decode::{DecodeError, DecodeProblem, UnknownValue};
pub(crate) use scope::{set_scope, InvalidScope, RoleStanding};
pub use scope::{RequestScope, ScopeProblem};
pub(crate) use server_error::ServerFields;
pub use server_error::{ConstraintViolation, ServerError};
pub(crate) use statements::ColumnSet;

use crate::{TableDef, Validate, ValidationError};

/// PostgreSQL takes at most this many parameters in one statement.
pub(crate) const MAX_PARAMETERS: usize = 65_535;
/// Rows per multi-row `INSERT`: large enough that a round trip carries a lot, small enough
/// that the server plans the statement quickly.
pub(crate) const MAX_ROWS_PER_INSERT: usize = 1_000;

/// Which columns a row leaves out when it holds NULL for them: nullable columns without a
/// default, whose default is NULL (not a generated column, which the database computes and
/// no row names). Rows name them anyway (bound to NULL) where the session may
/// insert into every column, so that rows with NULLs in different places share one statement;
/// where a role may insert only some columns (`grant(insert(...))`), naming a column it may
/// not write would be refused, so rows leave them out.
///
/// The sqlx side binds typed NULLs, which only the row knows how to make: its generated
/// `push_values` applies the same rule (an `Option` field without a default) when asked to.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn nullable_without_default(table: &TableDef) -> Vec<bool> {
    table
        .columns
        .iter()
        .map(|c| c.nullable && c.default.is_none() && c.generation.is_none())
        .collect()
}

/// Whether a role's inserts into the table may be narrowed to columns by a grant: then a row
/// names only the columns it sets, unless the session is known to hold the table-wide
/// privilege ([`statements::HAS_TABLE_INSERT`]). A single-row insert does not ask (it would
/// cost a round trip) and leaves its NULLs out.
pub(crate) fn inserts_narrowed(table: &TableDef) -> bool {
    table.column_grants.iter().any(|g| g.insert.is_some())
}

/// Consecutive rows of a batch that bind the same columns: rows `first..end`, binding `set`.
pub(crate) struct Run {
    pub(crate) first: usize,
    pub(crate) end: usize,
    pub(crate) set: ColumnSet,
}

/// The runs of `rows`, whose values `push` gives (one `Option` per column of the table, `None`
/// where the column is left out); each row is validated on the way, while it is in cache, so a
/// batch with an invalid row sends nothing: the error is the first invalid row's position and
/// what it breaks.
pub(crate) fn runs<'a, R: Validate, V>(
    rows: &'a [R],
    buffer: &mut Vec<Option<V>>,
    mut push: impl FnMut(&'a R, &mut Vec<Option<V>>),
) -> Result<Vec<Run>, (usize, ValidationError)> {
    let mut runs: Vec<Run> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        row.validate().map_err(|error| (index, error))?;
        buffer.clear();
        push(row, buffer);
        match runs.last_mut() {
            Some(run) if run.set.matches(buffer) => run.end = index + 1,
            _ => runs.push(Run {
                first: index,
                end: index + 1,
                set: ColumnSet::from_present(buffer),
            }),
        }
    }
    Ok(runs)
}

/// The multi-row `INSERT`s of a run, as `(start, count)`: chunks under the parameter limit and
/// [`MAX_ROWS_PER_INSERT`], and for what is left of a run the largest power of two that fits,
/// so that a shape prepares at most a dozen statements, whatever the batch sizes.
pub(crate) fn chunks(run: &Run) -> impl Iterator<Item = (usize, usize)> {
    let per_row = run.set.count().max(1);
    let chunk = (MAX_PARAMETERS / per_row).clamp(1, MAX_ROWS_PER_INSERT);
    let (mut start, end) = (run.first, run.end);
    std::iter::from_fn(move || {
        if start >= end {
            return None;
        }
        let left = end - start;
        let count = if left >= chunk {
            chunk
        } else {
            1 << left.ilog2()
        };
        let this = (start, count);
        start += count;
        Some(this)
    })
}

/// What is wrong with a scoped transaction's setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingProblem {
    /// The name is not `prefix.name`: two or more parts separated by dots, each of ASCII
    /// letters, digits and `_`, not starting with a digit, at most 63 bytes (see
    /// [`setting_name_problem`](crate::sql::setting_name_problem)).
    Name,
    /// The value holds a NUL character, which no PostgreSQL text can.
    NulInValue,
}

impl SettingProblem {
    /// The message of an error about `setting`.
    pub(crate) fn describe(self, setting: &str) -> String {
        match self {
            SettingProblem::Name => format!(
                "setting name {setting:?} is not `prefix.name` (parts of ASCII letters, digits \
                 and `_`, separated by dots, none starting with a digit, none over 63 bytes)"
            ),
            SettingProblem::NulInValue => {
                format!("the value for setting `{setting}` holds a NUL character")
            }
        }
    }
}

/// The kinds of rule the database enforces on a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    /// A `CHECK` constraint (SQLSTATE 23514).
    Check,
    /// A `UNIQUE` or primary key constraint (23505).
    Unique,
    /// A foreign key (23503).
    ForeignKey,
    /// `NOT NULL` (23502).
    NotNull,
    /// Text longer than its `varchar(n)` (22001).
    TooLong,
    /// A number or date outside its type (22003, 22008).
    OutOfRange,
    /// Text the database cannot store, such as a NUL character (22021, 22P05, 22P02).
    InvalidText,
    /// The role may not do this, including a row refused by a row-level security policy
    /// (42501).
    Denied,
    /// An update tried to change a column declared `immutable`, which no `UPDATE` may change
    /// after insert, whatever the role (23000, raised by the table's `{table}_immutable_columns`
    /// trigger naming the column and the constraint `{table}_{column}_immutable`; another
    /// 23000 stays an error of the driver's, unclassified).
    Immutable,
}

impl ConstraintKind {
    /// The kind of rule a server error with SQLSTATE `code` reports, from the table, column and
    /// constraint it names; `None` for an error that is not a row's broken rule.
    pub(crate) fn of(
        code: &str,
        table: Option<&str>,
        column: Option<&str>,
        constraint: Option<&str>,
    ) -> Option<Self> {
        Some(match code {
            "23514" => ConstraintKind::Check,
            "23505" => ConstraintKind::Unique,
            "23503" => ConstraintKind::ForeignKey,
            "23502" => ConstraintKind::NotNull,
            "22001" => ConstraintKind::TooLong,
            "22003" | "22008" => ConstraintKind::OutOfRange,
            "42501" => ConstraintKind::Denied,
            // The refusal of an `immutable` column's trigger names the table, the column and
            // the constraint `{table}_{column}_immutable`. Any other 23000 (a trigger of one's
            // own, an extension) is left as it is.
            "23000" => match (table, column, constraint) {
                (Some(table), Some(column), Some(constraint))
                    if crate::def::immutable_constraint_name(table, column) == constraint =>
                {
                    ConstraintKind::Immutable
                }
                _ => return None,
            },
            "22021" | "22P05" | "22P02" => ConstraintKind::InvalidText,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(first: usize, end: usize, columns: usize) -> Run {
        Run {
            first,
            end,
            set: ColumnSet::from_present(&vec![Some(()); columns]),
        }
    }

    #[test]
    fn batches_are_cut_under_the_limits_with_power_of_two_tails() {
        let cut: Vec<_> = chunks(&run(0, 2_500, 14)).collect();
        assert_eq!(
            cut,
            [
                (0, 1_000),
                (1_000, 1_000),
                (2_000, 256),
                (2_256, 128),
                (2_384, 64),
                (2_448, 32)
            ]
            .into_iter()
            .chain([(2_480, 16), (2_496, 4)])
            .collect::<Vec<_>>()
        );
        // 100 columns: at most 655 rows a statement.
        assert_eq!(chunks(&run(5, 1_315, 100)).next(), Some((5, 655)));
        assert_eq!(chunks(&run(3, 3, 1)).count(), 0);
    }

    #[test]
    fn sqlstates_make_constraint_kinds() {
        assert_eq!(
            ConstraintKind::of("23505", None, None, None),
            Some(ConstraintKind::Unique)
        );
        assert_eq!(
            ConstraintKind::of("42501", None, None, None),
            Some(ConstraintKind::Denied)
        );
        assert_eq!(
            ConstraintKind::of("23000", Some("t"), Some("c"), None),
            None
        );
        assert_eq!(ConstraintKind::of("40001", None, None, None), None);
    }
}
