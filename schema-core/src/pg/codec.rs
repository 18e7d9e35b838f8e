//! Decoding row values, and text enums as SQL text.

use std::error::Error;
use std::fmt;

use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, WrongType};
use tokio_postgres::Row;

use crate::{PgEnum, TableDef};

type BoxError = Box<dyn Error + Sync + Send>;

/// A column value that could not be read into its Rust field.
#[derive(Debug)]
pub struct DecodeError {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// The Rust type asked for.
    pub rust_type: &'static str,
    /// What went wrong.
    pub problem: DecodeProblem,
}

/// What went wrong reading a column.
#[derive(Debug)]
pub enum DecodeProblem {
    /// The row has no column of that name.
    Missing,
    /// The column's SQL type cannot be read as the Rust type.
    WrongType {
        /// The column's SQL type.
        sql_type: String,
    },
    /// The statement's result does not hold the table's columns in the table's order: the
    /// column expected at `position` is not there (a statement prepared from another row
    /// type's metadata, say), so no row of it is decoded by position.
    NotTheTablesColumns {
        /// The position in the result (from 0).
        position: usize,
        /// The result column found there, if any.
        found: Option<String>,
    },
    /// The value itself was refused (NULL for a non-`Option` field, unknown enum text, ...).
    Invalid {
        /// The column's SQL type.
        sql_type: String,
        /// Why.
        source: BoxError,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (table, column, rust) = (self.table, self.column, self.rust_type);
        match &self.problem {
            DecodeProblem::Missing => write!(
                f,
                "column `{table}.{column}` is not in the row, so its `{rust}` cannot be read"
            ),
            DecodeProblem::WrongType { sql_type } => write!(
                f,
                "column `{table}.{column}` of type {sql_type} cannot be read as `{rust}`"
            ),
            DecodeProblem::NotTheTablesColumns { position, found } => match found {
                Some(found) => write!(
                    f,
                    "column `{table}.{column}` was expected at position {position} of the \
                     statement's result, which holds `{found}` there"
                ),
                None => write!(
                    f,
                    "column `{table}.{column}` was expected at position {position} of the \
                     statement's result, which ends before it"
                ),
            },
            DecodeProblem::Invalid { sql_type, source } => write!(
                f,
                "column `{table}.{column}` of type {sql_type} cannot be read as `{rust}`: {source}"
            ),
        }
    }
}

impl Error for DecodeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.problem {
            DecodeProblem::Invalid { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// Reads column `column` of `table`, found at `index` of `row`, as a `T`.
pub fn decode<'a, T: FromSql<'a>>(
    row: &'a Row,
    index: usize,
    table: &'static TableDef,
    column: usize,
) -> Result<T, DecodeError> {
    row.try_get(index).map_err(|error| {
        let problem = match row.columns().get(index) {
            None => DecodeProblem::Missing,
            Some(c) if !T::accepts(c.type_()) => DecodeProblem::WrongType {
                sql_type: c.type_().to_string(),
            },
            Some(c) => DecodeProblem::Invalid {
                sql_type: c.type_().to_string(),
                source: error
                    .into_source()
                    .unwrap_or_else(|| "the value was refused".into()),
            },
        };
        DecodeError {
            table: table.name,
            column: table.columns[column].name,
            rust_type: std::any::type_name::<T>(),
            problem,
        }
    })
}

/// Where each column of `table` is in `row`, found by name.
pub(crate) fn column_indexes(
    table: &'static TableDef,
    row: &Row,
) -> Result<Vec<usize>, DecodeError> {
    statement_indexes(table, row.columns())
}

/// Where each column of `table` is among `columns`, found by name.
pub(crate) fn statement_indexes(
    table: &'static TableDef,
    columns: &[tokio_postgres::Column],
) -> Result<Vec<usize>, DecodeError> {
    table
        .columns
        .iter()
        .map(|column| {
            columns
                .iter()
                .position(|c| c.name() == column.name)
                .ok_or(DecodeError {
                    table: table.name,
                    column: column.name,
                    rust_type: column.rust_type,
                    problem: DecodeProblem::Missing,
                })
        })
        .collect()
}

/// Checks that `columns`, a statement's result, are exactly `table`'s columns in order, as the
/// typed reads decode them by position.
pub(crate) fn check_result_columns(
    table: &'static TableDef,
    columns: &[tokio_postgres::Column],
) -> Result<(), DecodeError> {
    let expected = table.columns.iter().map(Some).chain(std::iter::once(None));
    for (position, column) in expected.enumerate() {
        let found = columns.get(position).map(|c| c.name());
        match (column, found) {
            (Some(column), Some(found)) if found == column.name => {}
            (None, None) => return Ok(()),
            (column, found) => {
                // A result longer than the table's columns is named by the table's last one.
                let named = column.or(table.columns.last());
                return Err(DecodeError {
                    table: table.name,
                    column: named.map_or("", |c| c.name),
                    rust_type: named.map_or("", |c| c.rust_type),
                    problem: DecodeProblem::NotTheTablesColumns {
                        position,
                        found: found.map(str::to_string),
                    },
                });
            }
        }
    }
    Ok(())
}

/// Text refused by a text enum.
#[derive(Debug)]
pub struct UnknownValue {
    value: String,
    expected: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not one of {}",
            self.value,
            self.expected.join(", ")
        )
    }
}

impl Error for UnknownValue {}

/// Whether a text enum can be read from or written to a column of type `ty`.
pub fn enum_accepts(ty: &Type) -> bool {
    <&str as ToSql>::accepts(ty)
}

/// Writes a text enum as its text.
pub fn enum_to_sql<E: PgEnum>(
    value: &E,
    ty: &Type,
    out: &mut bytes::BytesMut,
) -> Result<IsNull, BoxError> {
    <&str as ToSql>::to_sql(&value.as_str(), ty, out)
}

/// Writes a text enum as its text, checking the column's type first.
pub fn enum_to_sql_checked<E: PgEnum>(
    value: &E,
    ty: &Type,
    out: &mut bytes::BytesMut,
) -> Result<IsNull, BoxError> {
    if !enum_accepts(ty) {
        return Err(Box::new(WrongType::new::<E>(ty.clone())));
    }
    enum_to_sql(value, ty, out)
}

/// Reads a text enum from its text; unknown text is an error listing the expected values.
pub fn enum_from_sql<E: PgEnum>(ty: &Type, raw: &[u8]) -> Result<E, BoxError> {
    let text = <&str as FromSql>::from_sql(ty, raw)?;
    E::from_text(text).ok_or_else(|| {
        Box::new(UnknownValue {
            value: text.to_string(),
            expected: E::VALUES,
        }) as BoxError
    })
}
