//! Rust values as SQL literals, for column defaults written as Rust values
//! (`#[pg(default = TicketPriority::Medium)]`).

use std::fmt;

/// A constant value that the DDL writes as a literal.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlLiteral {
    /// `NULL`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer, written as digits.
    Int(i64),
    /// A float; NaN and the infinities are written as the quoted words PostgreSQL accepts.
    Float(f64),
    /// Text, written as a quoted and escaped string literal.
    Text(String),
    /// Bytes, written as a `bytea` hex literal.
    Bytes(Vec<u8>),
    /// A decimal number, written as its digits (`19.95`, `-0.5`): a `rust_decimal::Decimal`.
    Numeric(String),
    /// An array (a `Vec<T>`), written as the text of an array value (`'{}'`,
    /// `'{"URGENT","BILLING"}'`, `'{1,NULL}'`), which the column's type reads.
    Array(Vec<SqlLiteral>),
}

impl SqlLiteral {
    /// Whether the literal holds text with a NUL character, which PostgreSQL cannot store.
    pub fn has_nul(&self) -> bool {
        match self {
            SqlLiteral::Text(text) => text.contains('\0'),
            SqlLiteral::Array(items) => items.iter().any(SqlLiteral::has_nul),
            _ => false,
        }
    }

    /// The literal as an element of an array value's text: quoted where it is text (`"a b"`,
    /// with `"` and `\` escaped), `NULL` unquoted.
    fn write_element(&self, out: &mut String) {
        let quoted = |text: &str, out: &mut String| {
            out.push('"');
            for c in text.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        };
        match self {
            SqlLiteral::Null => out.push_str("NULL"),
            SqlLiteral::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            SqlLiteral::Int(i) => out.push_str(&i.to_string()),
            SqlLiteral::Float(x) if x.is_nan() => out.push_str("NaN"),
            SqlLiteral::Float(x) if x.is_infinite() => {
                out.push_str(if *x > 0.0 { "Infinity" } else { "-Infinity" })
            }
            SqlLiteral::Float(x) => out.push_str(&format!("{x:?}")),
            SqlLiteral::Numeric(digits) => out.push_str(digits),
            SqlLiteral::Text(text) => quoted(text, out),
            SqlLiteral::Bytes(bytes) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                quoted(&format!("\\x{hex}"), out)
            }
            SqlLiteral::Array(items) => {
                out.push('{');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_element(out);
                }
                out.push('}');
            }
        }
    }
}

impl fmt::Display for SqlLiteral {
    /// Writes the literal as SQL. Text holding a NUL character cannot be stored by PostgreSQL;
    /// the DDL renderer refuses it before it gets here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlLiteral::Null => f.write_str("NULL"),
            SqlLiteral::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            SqlLiteral::Int(i) => write!(f, "{i}"),
            SqlLiteral::Float(x) if x.is_nan() => f.write_str("'NaN'"),
            SqlLiteral::Float(x) if x.is_infinite() => f.write_str(if *x > 0.0 {
                "'Infinity'"
            } else {
                "'-Infinity'"
            }),
            SqlLiteral::Float(x) => write!(f, "{x:?}"),
            SqlLiteral::Text(s) => f.write_str(&crate::sql::quote_literal(s)),
            SqlLiteral::Bytes(bytes) => {
                f.write_str("'\\x")?;
                for b in bytes {
                    write!(f, "{b:02x}")?;
                }
                f.write_str("'")
            }
            SqlLiteral::Numeric(digits) => f.write_str(digits),
            SqlLiteral::Array(_) => {
                let mut text = String::new();
                self.write_element(&mut text);
                f.write_str(&crate::sql::quote_literal(&text))
            }
        }
    }
}

/// A Rust value that can be written as a SQL literal.
///
/// `#[derive(PgEnum)]` implements it for text enums (the variant's text).
pub trait ToSqlLiteral {
    /// The value as a literal.
    fn to_sql_literal(&self) -> SqlLiteral;
}

impl<T: ToSqlLiteral> ToSqlLiteral for Option<T> {
    fn to_sql_literal(&self) -> SqlLiteral {
        self.as_ref().map_or(SqlLiteral::Null, T::to_sql_literal)
    }
}

macro_rules! literal_via {
    ($variant:ident: $($ty:ty),*) => {
        $(impl ToSqlLiteral for $ty {
            fn to_sql_literal(&self) -> SqlLiteral {
                SqlLiteral::$variant((*self).into())
            }
        })*
    };
}

literal_via!(Bool: bool);
literal_via!(Int: i16, i32, i64);
literal_via!(Float: f32, f64);

macro_rules! literal_as_text {
    ($($ty:ty),*) => {
        $(impl ToSqlLiteral for $ty {
            fn to_sql_literal(&self) -> SqlLiteral {
                SqlLiteral::Text(self.to_string())
            }
        })*
    };
}

literal_as_text!(
    String,
    uuid::Uuid,
    serde_json::Value,
    chrono::NaiveDate,
    chrono::NaiveTime
);

impl ToSqlLiteral for chrono::DateTime<chrono::Utc> {
    fn to_sql_literal(&self) -> SqlLiteral {
        SqlLiteral::Text(self.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

impl ToSqlLiteral for chrono::NaiveDateTime {
    fn to_sql_literal(&self) -> SqlLiteral {
        SqlLiteral::Text(self.format("%Y-%m-%d %H:%M:%S%.f").to_string())
    }
}

impl ToSqlLiteral for Vec<u8> {
    fn to_sql_literal(&self) -> SqlLiteral {
        SqlLiteral::Bytes(self.clone())
    }
}

/// An array column's default (`default = vec![]`): the text of an array value.
impl<T: ToSqlLiteral + crate::ArrayElement> ToSqlLiteral for Vec<T> {
    fn to_sql_literal(&self) -> SqlLiteral {
        SqlLiteral::Array(self.iter().map(T::to_sql_literal).collect())
    }
}

#[cfg(feature = "decimal")]
impl ToSqlLiteral for rust_decimal::Decimal {
    fn to_sql_literal(&self) -> SqlLiteral {
        SqlLiteral::Numeric(self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(v: impl ToSqlLiteral) -> String {
        v.to_sql_literal().to_string()
    }

    #[test]
    fn literals_render_as_sql() {
        assert_eq!(sql(42_i32), "42");
        assert_eq!(sql(-7_i64), "-7");
        assert_eq!(sql(true), "true");
        assert_eq!(sql(1.5_f64), "1.5");
        assert_eq!(sql(f64::NAN), "'NaN'");
        assert_eq!(sql(f32::NEG_INFINITY), "'-Infinity'");
        assert_eq!(sql(String::from("it's")), "'it''s'");
        assert_eq!(sql(vec![0_u8, 0xab]), "'\\x00ab'");
        assert_eq!(sql(None::<i32>), "NULL");
        assert_eq!(sql(serde_json::json!({"a": [1]})), r#"'{"a":[1]}'"#);
    }

    #[test]
    fn arrays_render_as_the_text_of_an_array_value() {
        assert_eq!(sql(Vec::<i32>::new()), "'{}'");
        assert_eq!(sql(vec![Some(1_i64), None]), "'{1,NULL}'");
        assert_eq!(
            sql(vec![String::from("a b"), "it's \"q\" \\".into()]),
            r#"E'{"a b","it''s \\"q\\" \\\\"}'"#
        );
        assert_eq!(sql(vec![f64::NAN, 0.5]), "'{NaN,0.5}'");
    }

    #[test]
    fn timestamps_keep_microseconds() {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap();
        assert_eq!(sql(t), "'2023-11-14T22:13:20.123456Z'");
        assert_eq!(sql(t.naive_utc()), "'2023-11-14 22:13:20.123456'");
    }
}
