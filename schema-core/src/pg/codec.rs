//! Decoding row values, and text enums as SQL text.
//!
//! A value another SQL client wrote may not fit the Rust type: a timestamp of `infinity`, a
//! jsonb number that `serde_json::Value` cannot hold exactly. Such a value is a
//! [`DecodeError`] naming the table, the column and the row's primary key, never a panic and
//! never a silently changed value.

use std::error::Error;

use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, WrongType};
use tokio_postgres::Row;

use crate::driver::{inexact_number, DecodeError, DecodeProblem, UnknownValue};
use crate::{PgEnum, TableDef};

type BoxError = Box<dyn Error + Sync + Send>;

/// Reads column `column` of `table`, found at `index` of `row`, as a `T`.
///
/// With `rounds_json_numbers` (the field type's
/// [`PgType::ROUNDS_JSON_NUMBERS`](crate::PgType::ROUNDS_JSON_NUMBERS): `serde_json::Value` or an
/// `Option` of it, which keep JSON numbers only as `f64`, `i64` or `u64`), a `json` or `jsonb`
/// value is first scanned for numbers: one that would not come back as the same decimal value
/// (beyond the range of `f64`, or with more digits than `f64`, `i64` or `u64` keep, such as
/// `1e400` or a 30-digit integer) is a [`DecodeProblem::InexactNumber`], not a rounded value.
/// `1.10`, `0.1` and `1e2` read as they are.
///
/// An error names the row's primary key when the row holds the key's columns.
#[inline]
pub fn decode<'a, T: FromSql<'a>>(
    row: &'a Row,
    index: usize,
    table: &'static TableDef,
    column: usize,
    rounds_json_numbers: bool,
) -> Result<T, DecodeError> {
    if rounds_json_numbers {
        if let Some(number) = inexact_json_number(row, index) {
            return Err(inexact_number_error::<T>(row, index, table, column, number));
        }
    }
    match row.try_get(index) {
        Ok(value) => Ok(value),
        Err(error) => Err(decode_error::<T>(row, index, table, column, error)),
    }
}

/// Opens the envelope of encrypted column `column` of `table` at `index` of the row, bound to
/// the row's tenant and key, with the keys of [`crypto::with_keys`](crate::crypto::with_keys)
/// (the `Db` that read the row): a value that does not open is a [`DecodeError`] whose source
/// is the [`CryptoError`](crate::crypto::CryptoError).
#[cfg(feature = "encrypt")]
pub fn decode_encrypted<F: crate::crypto::EncryptedField>(
    row: &Row,
    index: usize,
    table: &'static TableDef,
    column: usize,
    tenant: &[u8],
    key: &[u8],
) -> Result<F, DecodeError> {
    let stored: Option<&[u8]> = decode(row, index, table, column, false)?;
    crate::crypto::open_field(table, column, tenant, key, stored).map_err(|error| {
        error_at::<F>(
            row,
            table,
            column,
            DecodeProblem::Invalid {
                sql_type: "bytea".into(),
                source: Box::new(error),
            },
        )
    })
}

/// The first number of a `json` or `jsonb` value at `index` that `serde_json::Value` would not
/// read back as the same decimal value.
fn inexact_json_number(row: &Row, index: usize) -> Option<&str> {
    let ty = row.columns().get(index)?.type_();
    if *ty != Type::JSONB && *ty != Type::JSON {
        return None;
    }
    match row.try_get::<_, Option<RawJson>>(index) {
        Ok(Some(RawJson(text))) => inexact_number(text),
        _ => None,
    }
}

#[cold]
fn inexact_number_error<T>(
    row: &Row,
    index: usize,
    table: &'static TableDef,
    column: usize,
    number: &str,
) -> DecodeError {
    let sql_type = row
        .columns()
        .get(index)
        .map_or_else(String::new, |c| c.type_().to_string());
    let number = (!table.columns[column].sensitive).then(|| number.to_string());
    error_at::<T>(
        row,
        table,
        column,
        DecodeProblem::InexactNumber { sql_type, number },
    )
}

#[cold]
fn decode_error<'a, T: FromSql<'a>>(
    row: &Row,
    index: usize,
    table: &'static TableDef,
    column: usize,
    error: tokio_postgres::Error,
) -> DecodeError {
    let problem = match row.columns().get(index) {
        None => DecodeProblem::Missing,
        Some(c) if !T::accepts(c.type_()) => DecodeProblem::WrongType {
            sql_type: c.type_().to_string(),
        },
        Some(c) => DecodeProblem::refused(
            &table.columns[column],
            c.type_().to_string(),
            error
                .into_source()
                .unwrap_or_else(|| "the value was refused".into()),
        ),
    };
    error_at::<T>(row, table, column, problem)
}

/// A decoding error of column `column` of `table`, in `row`, read as a `T`.
fn error_at<T>(
    row: &Row,
    table: &'static TableDef,
    column: usize,
    problem: DecodeProblem,
) -> DecodeError {
    DecodeError {
        table: table.name,
        column: table.columns[column].name,
        key: row_key(row, table),
        rust_type: std::any::type_name::<T>(),
        problem,
    }
}

/// The row's primary key as text, found by column name: each key column rendered as a uuid,
/// an integer or text (quoted), `NULL` when null; a key of several columns as `(a, b)`.
/// `None` when a key column is not in the row or has another type. Used on the error path
/// only.
pub(crate) fn row_key(row: &Row, table: &TableDef) -> Option<String> {
    crate::driver::row_key(table, |name| {
        let index = row.columns().iter().position(|c| c.name() == name)?;
        key_text(row, index)
    })
}

fn key_text(row: &Row, index: usize) -> Option<String> {
    fn text<'a, T: FromSql<'a>>(
        row: &'a Row,
        index: usize,
        show: impl Fn(T) -> String,
    ) -> Option<String> {
        match row.try_get::<_, Option<T>>(index) {
            Ok(Some(value)) => Some(show(value)),
            Ok(None) => Some("NULL".to_string()),
            Err(_) => None,
        }
    }
    let ty = row.columns().get(index)?.type_();
    if <uuid::Uuid as FromSql>::accepts(ty) {
        text(row, index, |v: uuid::Uuid| v.to_string())
    } else if <i64 as FromSql>::accepts(ty) {
        text(row, index, |v: i64| v.to_string())
    } else if <i32 as FromSql>::accepts(ty) {
        text(row, index, |v: i32| v.to_string())
    } else if <i16 as FromSql>::accepts(ty) {
        text(row, index, |v: i16| v.to_string())
    } else if <&str as FromSql>::accepts(ty) {
        text(row, index, |v: &str| format!("{v:?}"))
    } else {
        None
    }
}

/// The text of a `json` or `jsonb` value, as the server sent it.
struct RawJson<'a>(&'a [u8]);

impl<'a> FromSql<'a> for RawJson<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let text = if *ty == Type::JSONB {
            // Binary jsonb: a version byte (1), then the JSON text.
            match raw.split_first() {
                Some((1, text)) => text,
                _ => return Err("unsupported jsonb encoding version".into()),
            }
        } else {
            raw
        };
        // The text is read by `FromSql` for the field's type, which checks it is UTF-8; the
        // scan for numbers reads bytes.
        Ok(RawJson(text))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::JSONB
    }
}

/// Where each column of `table` is in `row`, found by name.
pub(crate) fn column_indexes(
    table: &'static TableDef,
    row: &Row,
) -> Result<Vec<usize>, DecodeError> {
    statement_indexes(table, row.columns()).map_err(|mut error| {
        error.key = row_key(row, table);
        error
    })
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
                    key: None,
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
                    key: None,
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

/// Whether a text enum can be read from or written to a column of type `ty`.
pub fn enum_accepts(ty: &Type) -> bool {
    <&str as ToSql>::accepts(ty)
}

/// Whether the enum `E` can be read from or written to a column of type `ty`: text, or for a
/// native enum its own type (in its own PostgreSQL schema, where it is declared in one).
pub fn enum_accepts_type<E: PgEnum>(ty: &Type) -> bool {
    let native = E::NATIVE_TYPE.is_some_and(|name| {
        let (schema, bare) = crate::sql::split_qualified(name);
        matches!(ty.kind(), tokio_postgres::types::Kind::Enum(_))
            && ty.name() == bare
            && schema.is_none_or(|schema| ty.schema() == schema)
    });
    native || enum_accepts(ty)
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
    if !enum_accepts_type::<E>(ty) {
        return Err(Box::new(WrongType::new::<E>(ty.clone())));
    }
    enum_to_sql(value, ty, out)
}

/// Reads a text enum from its text; unknown text is an error listing the expected values.
pub fn enum_from_sql<E: PgEnum>(ty: &Type, raw: &[u8]) -> Result<E, BoxError> {
    let text = <&str as FromSql>::from_sql(ty, raw)?;
    E::from_text(text).ok_or_else(|| Box::new(UnknownValue::new::<E>(text)) as BoxError)
}
