//! Checks of row values against the column rules the database enforces, before anything is sent:
//! varchar lengths (in characters, as PostgreSQL counts them), ranges, enumerated values, and
//! text PostgreSQL cannot store.

use std::fmt;

use crate::def::{ColumnDef, TableDef};
use crate::types::SqlType;

/// A row whose values can be checked against its table's rules: the generated `InsertX` and
/// `UpdateX` types.
pub trait Validate {
    /// Every rule the row breaks, all at once; `Ok` when it breaks none.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// The rules a row breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// The table the row is for.
    pub table: &'static str,
    /// Every broken rule, in column order.
    pub violations: Vec<Violation>,
}

/// One broken rule of one column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The column.
    pub column: &'static str,
    /// The rule.
    pub rule: Rule,
}

/// A column rule a value breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Text longer than `varchar(max_chars)`.
    TooLong {
        /// The column's length limit, in characters.
        max_chars: u32,
        /// The value's length, in characters.
        chars: usize,
    },
    /// An integer outside the column's range.
    OutOfRange {
        /// The smallest allowed value.
        min: Option<i64>,
        /// The largest allowed value.
        max: Option<i64>,
        /// The value; `None` for a `sensitive` column, whose values never appear in an error.
        value: Option<i64>,
    },
    /// Text that is not one of the column's values.
    NotAllowed {
        /// The value; `None` for a `sensitive` column, whose values never appear in an error.
        value: Option<String>,
        /// The allowed values.
        allowed: &'static [&'static str],
    },
    /// Text holding a NUL character, which PostgreSQL text and jsonb cannot store.
    NulCharacter,
    /// A date or timestamp before the first PostgreSQL stores (4714-11-24 BC).
    DateOutOfRange {
        /// The value, as text; `None` for a `sensitive` column, whose values never appear in
        /// an error.
        value: Option<String>,
    },
    /// Text longer than `char(max_chars)`.
    TooLongForChar {
        /// The column's length, in characters.
        max_chars: u32,
        /// The value's length, in characters.
        chars: usize,
    },
    /// A decimal with more digits before the point than `numeric(precision,scale)` holds
    /// (`precision - scale`): PostgreSQL would refuse it.
    NumericOverflow {
        /// The column's precision: the most significant digits.
        precision: u16,
        /// The column's scale: the digits after the point (negative: the low digits before
        /// it that are always zero).
        scale: i16,
        /// The value, as text; `None` for a `sensitive` column, whose values never appear in
        /// an error.
        value: Option<String>,
    },
    /// A decimal with more digits after the point than `numeric(precision,scale)` keeps, or
    /// with a negative scale one that is not a multiple of `10^-scale`: PostgreSQL would round
    /// it, so what is read back would differ.
    NumericScale {
        /// The column's scale: the digits after the point (negative: the low digits before
        /// it that must be zero).
        scale: i16,
        /// The value, as text; `None` for a `sensitive` column, whose values never appear in
        /// an error.
        value: Option<String>,
    },
}

impl Rule {
    /// Leaves the value out, for a `sensitive` column.
    fn hide_value(&mut self) {
        match self {
            Rule::OutOfRange { value, .. } => *value = None,
            Rule::NotAllowed { value, .. }
            | Rule::DateOutOfRange { value }
            | Rule::NumericOverflow { value, .. }
            | Rule::NumericScale { value, .. } => *value = None,
            Rule::TooLong { .. } | Rule::NulCharacter | Rule::TooLongForChar { .. } => {}
        }
    }
}

/// A rule's value as its message shows it: the value, or that a `sensitive` column's is not
/// shown.
struct Shown<'a, T>(&'a Option<T>);

impl<T: fmt::Display> fmt::Display for Shown<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) => value.fmt(f),
            None => f.write_str("a value not shown (the column is sensitive)"),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::TooLong { max_chars, chars } => write!(
                f,
                "is {chars} characters long, more than varchar({max_chars}) holds"
            ),
            Rule::OutOfRange { min, max, value } => {
                write!(f, "is {}, outside ", Shown(value))?;
                match (min, max) {
                    (Some(min), Some(max)) => write!(f, "{min}..={max}"),
                    (Some(min), None) => write!(f, "{min}.."),
                    (None, Some(max)) => write!(f, "..={max}"),
                    (None, None) => write!(f, ".."),
                }
            }
            Rule::NotAllowed { value, allowed } => {
                match value {
                    Some(value) => write!(f, "is {value:?}, ")?,
                    None => write!(f, "is {}, ", Shown(value))?,
                }
                write!(f, "not one of {}", allowed.join(", "))
            }
            Rule::NulCharacter => {
                f.write_str("contains a NUL character, which PostgreSQL cannot store")
            }
            Rule::TooLongForChar { max_chars, chars } => write!(
                f,
                "is {chars} characters long, more than char({max_chars}) holds"
            ),
            Rule::NumericOverflow {
                precision,
                scale,
                value,
            } => write!(
                f,
                "is {}, with more than {} digits before the point that numeric({precision},{scale}) holds",
                Shown(value),
                i32::from(*precision) - i32::from(*scale)
            ),
            Rule::NumericScale { scale, value } if *scale < 0 => write!(
                f,
                "is {}, not a multiple of 1{} as the column keeps it",
                Shown(value),
                "0".repeat(usize::from(scale.unsigned_abs()))
            ),
            Rule::NumericScale { scale, value } => write!(
                f,
                "is {}, with more than the {scale} digits after the point the column keeps",
                Shown(value)
            ),
            Rule::DateOutOfRange { value } => write!(
                f,
                "is {}, before the first date PostgreSQL stores (4714-11-24 BC)",
                Shown(value)
            ),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid row for `{}`: ", self.table)?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "`{}` {}", v.column, v.rule)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

impl ValidationError {
    /// Collects the violations of a row, column by column; generated code calls it.
    pub fn collect(table: &'static TableDef) -> ViolationSink {
        ViolationSink {
            table,
            violations: Vec::new(),
        }
    }
}

/// Gathers the violations of one row.
pub struct ViolationSink {
    table: &'static TableDef,
    violations: Vec<Violation>,
}

impl ViolationSink {
    /// Checks the value of the column at `index` of the table.
    pub fn check<T: crate::PgType + ?Sized>(&mut self, index: usize, value: &T) -> &mut Self {
        let column = &self.table.columns[index];
        let mut rules = Vec::new();
        value.check_value(column, &mut rules);
        if column.sensitive {
            rules.iter_mut().for_each(Rule::hide_value);
        }
        self.violations
            .extend(rules.into_iter().map(|rule| Violation {
                column: column.name,
                rule,
            }));
        self
    }

    /// The result: `Ok` when no column broke a rule.
    pub fn finish(&mut self) -> Result<(), ValidationError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                table: self.table.name,
                violations: std::mem::take(&mut self.violations),
            })
        }
    }
}

/// The rules of a text column: no NUL, the varchar length, the allowed values.
pub(crate) fn check_text(text: &str, column: &ColumnDef, out: &mut Vec<Rule>) {
    if text.contains('\0') {
        out.push(Rule::NulCharacter);
    }
    if let SqlType::Varchar(max_chars) = column.sql_type.element() {
        // PostgreSQL counts characters, which for UTF-8 text are Unicode scalar values.
        let chars = text.chars().count();
        if chars > max_chars as usize {
            out.push(Rule::TooLong { max_chars, chars });
        }
    }
    if let SqlType::Char(max_chars) = column.sql_type.element() {
        let chars = text.chars().count();
        if chars > max_chars as usize {
            out.push(Rule::TooLongForChar { max_chars, chars });
        }
    }
    if let Some(allowed) = column.allowed_values {
        if !allowed.contains(&text) {
            out.push(Rule::NotAllowed {
                value: Some(text.to_string()),
                allowed,
            });
        }
    }
}

/// The range rule of an integer column.
pub(crate) fn check_integer(value: i64, column: &ColumnDef, out: &mut Vec<Rule>) {
    if let Some(range) = column.range {
        let below = range.min.is_some_and(|min| value < min);
        let above = range.max.is_some_and(|max| value > max);
        if below || above {
            out.push(Rule::OutOfRange {
                min: range.min,
                max: range.max,
                value: Some(value),
            });
        }
    }
}

/// jsonb cannot hold a NUL character in any string or key.
pub(crate) fn check_json(value: &serde_json::Value, out: &mut Vec<Rule>) {
    fn has_nul(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(has_nul),
            serde_json::Value::Object(map) => {
                map.iter().any(|(k, v)| k.contains('\0') || has_nul(v))
            }
            _ => false,
        }
    }
    if has_nul(value) {
        out.push(Rule::NulCharacter);
    }
}

/// PostgreSQL's dates and timestamps start at 4714-11-24 BC; chrono's reach further back.
/// (Their end, 294276 AD for timestamps, is beyond chrono's.)
pub(crate) fn check_datetime(value: chrono::NaiveDateTime, out: &mut Vec<Rule>) {
    const FIRST: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(-4713, 11, 24) {
        Some(date) => date,
        None => panic!("4714-11-24 BC is a date chrono holds"),
    };
    if value.date() < FIRST {
        out.push(Rule::DateOutOfRange {
            value: Some(value.to_string()),
        });
    }
}

/// The precision and scale of a `numeric(precision,scale)` column: at most `precision - scale`
/// digits before the point (more is PostgreSQL's overflow error), at most `scale` after it
/// (more would be rounded); with a negative scale, none after it and the last `-scale` before
/// it zero (else it would be rounded).
#[cfg(feature = "decimal")]
pub(crate) fn check_decimal(value: rust_decimal::Decimal, column: &ColumnDef, out: &mut Vec<Rule>) {
    let SqlType::Numeric(Some((precision, scale))) = column.sql_type.element() else {
        return;
    };
    let fraction_digits = value.normalize().scale();
    let rounded = if scale >= 0 {
        fraction_digits > u32::from(scale.unsigned_abs())
    } else {
        fraction_digits > 0 || !multiple_of_power_of_ten(value, scale.unsigned_abs())
    };
    if rounded {
        out.push(Rule::NumericScale {
            scale,
            value: Some(value.to_string()),
        });
    }
    let whole = value.trunc().abs().normalize();
    let whole_digits = if whole.is_zero() {
        0
    } else {
        whole.to_string().len()
    };
    if whole_digits as i64 > i64::from(precision) - i64::from(scale) {
        out.push(Rule::NumericOverflow {
            precision,
            scale,
            value: Some(value.to_string()),
        });
    }
}

/// Whether the whole number `value` is a multiple of `10^exponent`.
#[cfg(feature = "decimal")]
fn multiple_of_power_of_ten(value: rust_decimal::Decimal, exponent: u16) -> bool {
    // A Decimal holds less than 10^29: only zero is a multiple of a larger power.
    match 10_i128.checked_pow(u32::from(exponent)) {
        Some(power) if exponent <= 28 => {
            (value % rust_decimal::Decimal::from_i128_with_scale(power, 0)).is_zero()
        }
        _ => value.is_zero(),
    }
}
