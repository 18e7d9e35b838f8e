//! Decoding row values, and text enums as SQL text.
//!
//! A value another SQL client wrote may not fit the Rust type: a timestamp of `infinity`, a
//! jsonb number that `serde_json::Value` cannot hold exactly. Such a value is a
//! [`DecodeError`] naming the table, the column and the row's primary key, never a panic and
//! never a silently changed value.

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
    /// The row's primary key, as text (a key of several columns as `(a, b)`), when the row
    /// holds the key's columns and their types are ones rendered here (uuid, integers, text).
    pub key: Option<String>,
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
    /// A number in a `json` / `jsonb` value that the Rust type cannot hold exactly (beyond
    /// `f64`, `i64` and `u64`, or with more digits than they keep): refused rather than
    /// rounded.
    InexactNumber {
        /// The column's SQL type.
        sql_type: String,
        /// The number, as the database holds it; `None` for a `sensitive` column, whose
        /// values never appear in an error.
        number: Option<String>,
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
        if let Some(key) = &self.key {
            write!(f, "row with key {key}: ")?;
        }
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
            DecodeProblem::InexactNumber {
                sql_type,
                number: Some(number),
            } => write!(
                f,
                "column `{table}.{column}` of type {sql_type} holds the number {}, which \
                 `{rust}` cannot hold exactly",
                abbreviated(number)
            ),
            DecodeProblem::InexactNumber {
                sql_type,
                number: None,
            } => write!(
                f,
                "column `{table}.{column}` of type {sql_type} holds a number which `{rust}` \
                 cannot hold exactly (not shown: the column is sensitive)"
            ),
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
        Some(c) => DecodeProblem::Invalid {
            sql_type: c.type_().to_string(),
            source: error
                .into_source()
                .unwrap_or_else(|| "the value was refused".into()),
        },
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
    let mut parts = Vec::with_capacity(table.primary_key.len());
    for name in table.primary_key {
        if table.column(name).is_some_and(|c| c.sensitive) {
            // A sensitive value never appears in an error.
            parts.push("<redacted>".to_string());
            continue;
        }
        let index = row.columns().iter().position(|c| c.name() == *name)?;
        parts.push(key_text(row, index)?);
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(format!("({})", parts.join(", "))),
    }
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

/// The first number token of the JSON text `json` (outside strings) that would not come back
/// from `serde_json::Value` as the same decimal value.
pub(crate) fn inexact_number(bytes: &[u8]) -> Option<&str> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Skip the string, escapes included.
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                // Only ASCII bytes make a token, so it is UTF-8.
                let token = std::str::from_utf8(&bytes[start..i]).ok()?;
                if !exact_in_serde_json(token) {
                    return Some(token);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether the JSON number `token` reads into `serde_json::Value` as the same decimal value.
fn exact_in_serde_json(token: &str) -> bool {
    let digits = token.strip_prefix('-').unwrap_or(token);
    if digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Fits an i64 whatever its sign.
        return true;
    }
    if exactly_rounded(digits) {
        return true;
    }
    match serde_json::from_str::<serde_json::Value>(token) {
        Ok(serde_json::Value::Number(number)) => {
            let read = number.to_string();
            matches!((decimal(token), decimal(&read)), (Some(a), Some(b)) if a == b)
        }
        _ => false,
    }
}

/// Whether the unsigned decimal `number` is at most 15 digits times a power of ten within
/// ±22: `f64` holds both exactly, so the one multiplication or division that reads it is
/// correctly rounded, and 15 digits always come back from the nearest `f64` as written. Most
/// numbers take this path, without parsing twice.
fn exactly_rounded(number: &str) -> bool {
    let Some((whole, fraction, exponent)) = decimal_parts(number) else {
        return false;
    };
    whole.len() + fraction.len() <= 15
        && exponent
            .checked_sub(fraction.len() as i64)
            .is_some_and(|scale| scale.abs() <= 22)
}

/// An unsigned decimal number split as (digits before the point, digits after it, exponent of
/// ten); `None` when it is not a plain decimal number.
fn decimal_parts(unsigned: &str) -> Option<(&str, &str, i64)> {
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => {
            let exponent = &unsigned[at + 1..];
            let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
            (&unsigned[..at], exponent.parse::<i64>().ok()?)
        }
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() || !(whole.bytes().chain(fraction.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((whole, fraction, exponent))
}

/// A decimal number's value as (negative, significant digits, exponent of ten), zero as
/// `(false, "", 0)`; `None` when it is not a plain decimal number.
fn decimal(number: &str) -> Option<(bool, String, i64)> {
    let (negative, unsigned) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let (whole, fraction, exponent) = decimal_parts(unsigned)?;
    let all: String = whole.chars().chain(fraction.chars()).collect();
    let significant = all.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    if trimmed.is_empty() {
        return Some((false, String::new(), 0));
    }
    let trailing = (significant.len() - trimmed.len()) as i64;
    let exponent = exponent
        .checked_sub(fraction.len() as i64)?
        .checked_add(trailing)?;
    Some((negative, trimmed.to_string(), exponent))
}

/// A long number shortened for messages: its start, its end and its length.
fn abbreviated(number: &str) -> String {
    if number.len() <= 64 || !number.is_ascii() {
        return number.to_string();
    }
    format!(
        "{}...{} ({} characters)",
        &number[..24],
        &number[number.len() - 8..],
        number.len()
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_serde_json_holds_exactly_pass() {
        for json in [
            "1.10",
            "0.1",
            "1e2",
            "-0",
            "-0.0",
            "0.000",
            "2.5e-7",
            "1E+300",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "123456789012345678",
            "0.30000000000000004",
            r#"{"a": [1, -2.50, 3e0], "s": "123456789012345678901234567890 \" 1e400"}"#,
        ] {
            assert_eq!(inexact_number(json.as_bytes()), None, "{json}");
        }
    }

    #[test]
    fn numbers_serde_json_would_change_are_found() {
        for (json, number) in [
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("1e400", "1e400"),
            ("-1e400", "-1e400"),
            ("1.0000000000000000000001", "1.0000000000000000000001"),
            ("18446744073709551616", "18446744073709551616"),
            ("-9223372036854775809", "-9223372036854775809"),
            ("1e-400", "1e-400"),
            (
                r#"{"s": "x\"", "n": [1, 2, 0.1000000000000000000001]}"#,
                "0.1000000000000000000001",
            ),
        ] {
            assert_eq!(inexact_number(json.as_bytes()), Some(number), "{json}");
        }
    }

    #[test]
    fn numbers_taking_the_short_path_read_back_exactly() {
        // A spread of mantissas and exponents: whatever the short path accepts, reading the
        // number into serde_json and writing it back gives the same value.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut accepted = 0;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = (seed % 15 + 1) as u32;
            let mantissa = ((seed >> 8) % 10_u64.pow(digits)).to_string();
            let whole = 1 + (seed >> 20) as usize % mantissa.len();
            let exponent = ((seed >> 40) % 61) as i32 - 30;
            let token = if whole == mantissa.len() {
                format!("{mantissa}e{exponent}")
            } else {
                format!("{}.{}e{exponent}", &mantissa[..whole], &mantissa[whole..])
            };
            if exactly_rounded(&token) {
                accepted += 1;
                let read = serde_json::from_str::<serde_json::Value>(&token)
                    .unwrap()
                    .to_string();
                assert_eq!(decimal(&token), decimal(&read), "{token} read as {read}");
            }
        }
        assert!(accepted > 5_000, "{accepted}");
    }

    #[test]
    fn an_inexact_number_is_shown_unless_the_column_is_sensitive() {
        let error = |number: Option<&str>| {
            DecodeError {
                table: "readings",
                column: "payload",
                key: Some("7".into()),
                rust_type: "serde_json::Value",
                problem: DecodeProblem::InexactNumber {
                    sql_type: "jsonb".into(),
                    number: number.map(str::to_string),
                },
            }
            .to_string()
        };
        assert_eq!(
            error(Some("1e400")),
            "row with key 7: column `readings.payload` of type jsonb holds the number 1e400, \
             which `serde_json::Value` cannot hold exactly"
        );
        let long = "1".repeat(100);
        assert!(error(Some(&long)).contains(&format!(
            "{}...{} (100 characters)",
            &long[..24],
            &long[..8]
        )));
        assert_eq!(
            error(None),
            "row with key 7: column `readings.payload` of type jsonb holds a number which \
             `serde_json::Value` cannot hold exactly (not shown: the column is sensitive)"
        );
    }

    #[test]
    fn decimals_are_normalized() {
        assert_eq!(decimal("1.10"), Some((false, "11".into(), -1)));
        assert_eq!(decimal("110"), Some((false, "11".into(), 1)));
        assert_eq!(decimal("-0.00"), Some((false, String::new(), 0)));
        assert_eq!(decimal("1.5e-7"), decimal("0.00000015"));
        assert_eq!(decimal("1e99999999999999999999"), None);
    }
}
