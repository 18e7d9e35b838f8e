//! What a read reports when a value does not fit its field, for both drivers: [`DecodeError`]
//! naming the table, the column, the row's key and both types, and the scan of JSON text for
//! numbers `serde_json::Value` would round.

use std::error::Error;
use std::fmt;

use crate::{ColumnDef, PgEnum, TableDef};

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

impl DecodeProblem {
    /// The value of column `column` was refused by its decoder, for `source`. A `sensitive`
    /// column's value never appears in an error: its unknown enum text is left out, and any
    /// other reason but a NULL (which shows no value) is replaced by one that shows none.
    pub(crate) fn refused(column: &ColumnDef, sql_type: String, source: BoxError) -> Self {
        let source = if !column.sensitive {
            source
        } else {
            match source.downcast::<UnknownValue>() {
                Ok(mut unknown) => {
                    unknown.value = None;
                    unknown
                }
                Err(source) if shows_no_value(source.as_ref()) => source,
                Err(_) => "the value was refused (not shown: the column is sensitive)".into(),
            }
        };
        DecodeProblem::Invalid { sql_type, source }
    }
}

/// Whether a decoder's error is one that never shows the value: a NULL where none is taken.
fn shows_no_value(error: &(dyn Error + Send + Sync + 'static)) -> bool {
    #[cfg(feature = "postgres")]
    if error.is::<tokio_postgres::types::WasNull>() {
        return true;
    }
    #[cfg(feature = "sqlx")]
    if error.is::<::sqlx::error::UnexpectedNullError>() {
        return true;
    }
    let _ = error;
    false
}

impl Error for DecodeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.problem {
            DecodeProblem::Invalid { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// The row's primary key as text, each key column rendered by `text` (a uuid, an integer, or
/// text quoted; `NULL` when null), a key of several columns as `(a, b)`; `None` when `text`
/// cannot render one of them (not in the row, another type). A `sensitive` key column shows as
/// `<redacted>`. Used on the error path only.
pub(crate) fn row_key(
    table: &TableDef,
    mut text: impl FnMut(&str) -> Option<String>,
) -> Option<String> {
    let mut parts = Vec::with_capacity(table.primary_key.len());
    for name in table.primary_key {
        if table.column(name).is_some_and(|c| c.sensitive) {
            // A sensitive value never appears in an error.
            parts.push("<redacted>".to_string());
            continue;
        }
        parts.push(text(name)?);
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(format!("({})", parts.join(", "))),
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

/// Text refused by a text enum.
#[derive(Debug)]
pub struct UnknownValue {
    /// `None` for a `sensitive` column's value, which never appears in an error.
    value: Option<String>,
    expected: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{value:?} is not one of ")?,
            None => f.write_str("the text (not shown: the column is sensitive) is not one of ")?,
        }
        f.write_str(&self.expected.join(", "))
    }
}

impl Error for UnknownValue {}

impl UnknownValue {
    /// `text`, which no variant of `E` is stored as.
    pub(crate) fn new<E: PgEnum>(text: &str) -> Self {
        UnknownValue {
            value: Some(text.to_string()),
            expected: E::VALUES,
        }
    }
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
