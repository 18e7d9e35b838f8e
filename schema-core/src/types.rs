//! The mapping from Rust types to PostgreSQL column types.
//!
//! `#[derive(PgTable)]` never looks at a field's type name: it asks `<T as PgType>` for the SQL
//! type and nullability, so type aliases, paths and user-defined types all work. The marker
//! traits [`TextColumn`] and [`IntegerColumn`] say which fields an attribute may narrow.

use std::fmt;

use crate::def::ColumnDef;
use crate::validate::{self, Rule};

/// A PostgreSQL column type, as written in `CREATE TABLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// `boolean`
    Boolean,
    /// `smallint` (16-bit integer)
    SmallInt,
    /// `integer` (32-bit integer)
    Integer,
    /// `bigint` (64-bit integer)
    BigInt,
    /// `real` (32-bit float)
    Real,
    /// `double precision` (64-bit float)
    DoublePrecision,
    /// `text`
    Text,
    /// `varchar(n)`: text of at most `n` characters.
    Varchar(u32),
    /// `uuid`
    Uuid,
    /// `jsonb`
    Jsonb,
    /// `timestamptz` (timestamp with time zone)
    Timestamptz,
    /// `timestamp` (timestamp without time zone)
    Timestamp,
    /// `date`
    Date,
    /// `time` (time of day without time zone)
    Time,
    /// `bytea`
    Bytea,
    /// A type written out by the user (`#[pg(sql_type = "character varying(320)")]`), rendered as given.
    Custom(&'static str),
    /// `numeric` (`None`: any precision) or `numeric(precision,scale)`: a decimal number of at
    /// most `precision` significant digits, `scale` of them after the point. A negative scale
    /// (PostgreSQL 15 and later) rounds to tens, hundreds, ...: `numeric(2,-3)` holds
    /// multiples of 1000 below 100 000.
    Numeric(Option<(u16, i16)>),
    /// `char(n)`: text of at most `n` characters, stored padded with spaces to `n`.
    Char(u32),
    /// `timestamp(p)`: a timestamp without time zone keeping `p` (0 to 6) fractional digits
    /// of seconds; plain [`SqlType::Timestamp`] keeps 6.
    TimestampPrecision(u8),
    /// `timestamptz(p)`: a timestamp with time zone keeping `p` (0 to 6) fractional digits of
    /// seconds; plain [`SqlType::Timestamptz`] keeps 6.
    TimestamptzPrecision(u8),
    /// `time(p)`: a time of day keeping `p` (0 to 6) fractional digits of seconds.
    TimePrecision(u8),
    /// `interval`: months, days and microseconds, kept apart as PostgreSQL keeps them.
    Interval,
    /// `inet`: an IPv4 or IPv6 host address.
    Inet,
    /// `cidr`: an IPv4 or IPv6 network (no bits set after the prefix).
    Cidr,
    /// `element[]`: an array of the element type (`integer[]`, `varchar(20)[]`).
    Array(&'static SqlType),
    /// `citext`: text compared without regard to case, from the `citext` extension
    /// (`#[pg(citext)]` on a `String`; the schema declares it with
    /// [`Schema::extension`](crate::Schema::extension)).
    Citext,
    /// A native enum type (`CREATE TYPE name AS ENUM (...)`), by the model's name: `#[derive(PgEnum)]`
    /// with `#[pg(native)]`. The name is qualified with the PostgreSQL schema the type is in,
    /// where it has one (`#[pg(native, schema = "ledger")]`: `ledger.entry_kind`), as a table's
    /// is; rendered quoted, as `"ticket_status"` or `"ledger"."entry_kind"`.
    Enum(&'static str),
}

impl SqlType {
    /// The extension that provides the type (`citext`), or `None` for a built-in type.
    pub const fn extension(self) -> Option<&'static str> {
        match self.element() {
            SqlType::Citext => Some("citext"),
            _ => None,
        }
    }

    /// The type of an array's elements; any other type is its own element.
    pub const fn element(self) -> SqlType {
        match self {
            SqlType::Array(element) => *element,
            other => other,
        }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("boolean"),
            SqlType::SmallInt => f.write_str("smallint"),
            SqlType::Integer => f.write_str("integer"),
            SqlType::BigInt => f.write_str("bigint"),
            SqlType::Real => f.write_str("real"),
            SqlType::DoublePrecision => f.write_str("double precision"),
            SqlType::Text => f.write_str("text"),
            SqlType::Varchar(n) => write!(f, "varchar({n})"),
            SqlType::Uuid => f.write_str("uuid"),
            SqlType::Jsonb => f.write_str("jsonb"),
            SqlType::Timestamptz => f.write_str("timestamptz"),
            SqlType::Timestamp => f.write_str("timestamp"),
            SqlType::Date => f.write_str("date"),
            SqlType::Time => f.write_str("time"),
            SqlType::Bytea => f.write_str("bytea"),
            SqlType::Custom(sql) => f.write_str(sql),
            SqlType::Numeric(None) => f.write_str("numeric"),
            SqlType::Numeric(Some((precision, scale))) => {
                write!(f, "numeric({precision},{scale})")
            }
            SqlType::Char(n) => write!(f, "char({n})"),
            SqlType::TimestampPrecision(p) => write!(f, "timestamp({p})"),
            SqlType::TimestamptzPrecision(p) => write!(f, "timestamptz({p})"),
            SqlType::TimePrecision(p) => write!(f, "time({p})"),
            SqlType::Interval => f.write_str("interval"),
            SqlType::Inet => f.write_str("inet"),
            SqlType::Cidr => f.write_str("cidr"),
            SqlType::Citext => f.write_str("citext"),
            SqlType::Array(element) => write!(f, "{element}[]"),
            SqlType::Enum(name) => f.write_str(&crate::sql::quote_qualified(name)),
        }
    }
}

/// A Rust type that can be stored in a PostgreSQL column.
///
/// Implemented for the common column types and for `Option<T>` (which makes the column
/// nullable); `#[derive(PgEnum)]` implements it for text enums. Implement it for your own types
/// to use them as fields of a `#[derive(PgTable)]` struct.
///
/// ```
/// use schema_core::{PgType, SqlType};
///
/// /// A money amount in cents, stored as `bigint`.
/// pub struct Cents(pub i64);
///
/// impl PgType for Cents {
///     const SQL_TYPE: SqlType = SqlType::BigInt;
///     type Base = Cents;
/// }
/// assert_eq!(<Option<Cents> as PgType>::NULLABLE, true);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a PostgreSQL column",
    label = "this field's type has no `PgType`",
    note = "implement `schema_core::PgType` for it, or derive `PgEnum` for a fieldless enum stored as text"
)]
pub trait PgType {
    /// The column type this Rust type is stored as.
    const SQL_TYPE: SqlType;
    /// Whether the column accepts NULL (`true` only for `Option<T>`).
    const NULLABLE: bool = false;
    /// The only values the column may hold, for text enums; the DDL gets a
    /// `CHECK (column IN (...))` from them (for an array of a text enum, a check that every
    /// element is one of them).
    const ALLOWED_VALUES: Option<&'static [&'static str]> = None;
    /// Values stored under another text before, for text enums: `(old, new)` pairs of stored
    /// text, where `new` is one of [`PgType::ALLOWED_VALUES`]. The DDL does not change; a
    /// schema diff reads them from [`ColumnDef::renamed_values`].
    const RENAMED_VALUES: &'static [(&'static str, &'static str)] = &[];
    /// The type with any `Option` removed: two columns can be joined by a foreign key when
    /// their `Base` types are the same.
    type Base;
    /// Whether the type keeps the numbers of a JSON value only as `f64`, `i64` or `u64`
    /// (`serde_json::Value`): reads then refuse a number it would round rather than round it.
    const ROUNDS_JSON_NUMBERS: bool = false;
    /// Whether the type holds only the dates and times chrono holds (chrono's `DateTime<Utc>`,
    /// `NaiveDateTime` and `NaiveDate`): reads through sqlx (feature `sqlx`) then refuse a
    /// `timestamp`, `timestamptz` or `date` value beyond them (`infinity`, `-infinity`, a year
    /// past chrono's) as a decode error, where sqlx's own decoders would panic.
    const CHRONO_RANGE: bool = false;

    /// Adds to `out` every rule of `column` this value breaks (see
    /// [`Validate`](crate::Validate)); the default checks nothing.
    fn check_value(&self, column: &ColumnDef, out: &mut Vec<Rule>) {
        let _ = (column, out);
    }
}

impl<T: PgType> PgType for Option<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    const NULLABLE: bool = true;
    const ALLOWED_VALUES: Option<&'static [&'static str]> = T::ALLOWED_VALUES;
    const RENAMED_VALUES: &'static [(&'static str, &'static str)] = T::RENAMED_VALUES;
    type Base = T::Base;
    const ROUNDS_JSON_NUMBERS: bool = T::ROUNDS_JSON_NUMBERS;
    const CHRONO_RANGE: bool = T::CHRONO_RANGE;

    fn check_value(&self, column: &ColumnDef, out: &mut Vec<Rule>) {
        if let Some(value) = self {
            value.check_value(column, out);
        }
    }
}

macro_rules! pg_types {
    ($($ty:ty => $sql:expr),* $(,)?) => {
        $(impl PgType for $ty {
            const SQL_TYPE: SqlType = $sql;
            type Base = $ty;
        })*
    };
}

pg_types! {
    bool => SqlType::Boolean,
    f32 => SqlType::Real,
    f64 => SqlType::DoublePrecision,
    uuid::Uuid => SqlType::Uuid,
    chrono::NaiveTime => SqlType::Time,
    Vec<u8> => SqlType::Bytea,
}

macro_rules! pg_integers {
    ($($ty:ty => $sql:expr),*) => {
        $(impl PgType for $ty {
            const SQL_TYPE: SqlType = $sql;
            type Base = $ty;

            fn check_value(&self, column: &ColumnDef, out: &mut Vec<Rule>) {
                validate::check_integer(i64::from(*self), column, out);
            }
        })*
    };
}

pg_integers!(i16 => SqlType::SmallInt, i32 => SqlType::Integer, i64 => SqlType::BigInt);

impl PgType for chrono::DateTime<chrono::Utc> {
    const SQL_TYPE: SqlType = SqlType::Timestamptz;
    type Base = chrono::DateTime<chrono::Utc>;
    const CHRONO_RANGE: bool = true;

    fn check_value(&self, _column: &ColumnDef, out: &mut Vec<Rule>) {
        validate::check_datetime(self.naive_utc(), out);
    }
}

impl PgType for chrono::NaiveDateTime {
    const SQL_TYPE: SqlType = SqlType::Timestamp;
    type Base = chrono::NaiveDateTime;
    const CHRONO_RANGE: bool = true;

    fn check_value(&self, _column: &ColumnDef, out: &mut Vec<Rule>) {
        validate::check_datetime(*self, out);
    }
}

impl PgType for chrono::NaiveDate {
    const SQL_TYPE: SqlType = SqlType::Date;
    type Base = chrono::NaiveDate;
    const CHRONO_RANGE: bool = true;

    fn check_value(&self, _column: &ColumnDef, out: &mut Vec<Rule>) {
        validate::check_datetime(self.and_time(chrono::NaiveTime::MIN), out);
    }
}

impl PgType for String {
    const SQL_TYPE: SqlType = SqlType::Text;
    type Base = String;

    fn check_value(&self, column: &ColumnDef, out: &mut Vec<Rule>) {
        validate::check_text(self, column, out);
    }
}

impl PgType for serde_json::Value {
    const SQL_TYPE: SqlType = SqlType::Jsonb;
    type Base = serde_json::Value;
    const ROUNDS_JSON_NUMBERS: bool = true;

    fn check_value(&self, _column: &ColumnDef, out: &mut Vec<Rule>) {
        validate::check_json(self, out);
    }
}

#[cfg(feature = "decimal")]
impl PgType for rust_decimal::Decimal {
    const SQL_TYPE: SqlType = SqlType::Numeric(None);
    type Base = rust_decimal::Decimal;

    fn check_value(&self, column: &ColumnDef, out: &mut Vec<Rule>) {
        validate::check_decimal(*self, column, out);
    }
}

impl PgType for std::net::IpAddr {
    const SQL_TYPE: SqlType = SqlType::Inet;
    type Base = std::net::IpAddr;
}

impl PgType for crate::values::Cidr {
    const SQL_TYPE: SqlType = SqlType::Cidr;
    type Base = crate::values::Cidr;
}

impl PgType for crate::values::Interval {
    const SQL_TYPE: SqlType = SqlType::Interval;
    type Base = crate::values::Interval;
}

/// A type whose values can be the elements of an array column: a `Vec<T>` field is stored as
/// `T[]`, with the column rules of `T` (a varchar length, a numeric precision) applied to each
/// element. `Vec<Option<T>>` holds NULL elements; reading a NULL element into a `Vec<T>` is a
/// decode error. `#[derive(PgEnum)]` implements it for its enums: an array of a text enum is
/// `text[]` with a check that every element is one of the enum's values, an array of a native
/// enum is an array of its type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the element of an array column",
    label = "`Vec<{Self}>` has no SQL array type",
    note = "array columns hold one level of scalars: `Vec<i32>`, `Vec<String>`, `Vec<Option<Uuid>>`, ..."
)]
pub trait ArrayElement: PgType {}

macro_rules! array_elements {
    ($($ty:ty),* $(,)?) => {
        $(impl ArrayElement for $ty {})*
    };
}

array_elements!(
    bool,
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    uuid::Uuid,
    serde_json::Value,
    chrono::DateTime<chrono::Utc>,
    chrono::NaiveDateTime,
    chrono::NaiveDate,
    chrono::NaiveTime,
    Vec<u8>,
    std::net::IpAddr,
    crate::values::Cidr,
    crate::values::Interval,
);

#[cfg(feature = "decimal")]
impl ArrayElement for rust_decimal::Decimal {}

impl<T: ArrayElement> ArrayElement for Option<T> {}

impl<T: ArrayElement> PgType for Vec<T> {
    const SQL_TYPE: SqlType = SqlType::Array(&T::SQL_TYPE);
    // An array of a text enum: every element is one of its values.
    const ALLOWED_VALUES: Option<&'static [&'static str]> = T::ALLOWED_VALUES;
    const RENAMED_VALUES: &'static [(&'static str, &'static str)] = T::RENAMED_VALUES;
    type Base = Vec<T>;

    fn check_value(&self, column: &ColumnDef, out: &mut Vec<Rule>) {
        for element in self {
            element.check_value(column, out);
        }
    }
}

/// A field whose column stores text, so `#[pg(varchar = N)]`, `#[pg(char = N)]` or
/// `#[pg(citext)]` may narrow it.
#[diagnostic::on_unimplemented(
    message = "`varchar`, `char` and `citext` need a field stored as text, but `{Self}` is not",
    label = "not allowed on this field",
    note = "`varchar = N`, `char = N` and `citext` narrow a `String` or text-enum field, or a `Vec` of one; remove it or change the field's type"
)]
pub trait TextColumn: PgType {}

impl TextColumn for String {}
impl<T: TextColumn> TextColumn for Option<T> {}
impl<T: TextColumn + ArrayElement> TextColumn for Vec<T> {}

/// A field whose column stores a decimal number, so `#[pg(numeric(precision = P, scale = S))]`
/// may narrow it.
#[diagnostic::on_unimplemented(
    message = "`numeric` needs a decimal field, but `{Self}` is not",
    label = "`numeric` is not allowed on this field",
    note = "`numeric(precision = P, scale = S)` narrows a `rust_decimal::Decimal` field (schema-core's `decimal` feature); remove it or change the field's type"
)]
pub trait NumericColumn: PgType {}

#[cfg(feature = "decimal")]
impl NumericColumn for rust_decimal::Decimal {}
impl<T: NumericColumn> NumericColumn for Option<T> {}
impl<T: NumericColumn + ArrayElement> NumericColumn for Vec<T> {}

/// A field whose column stores a timestamp or a time of day, so `#[pg(precision = P)]` may set
/// how many fractional digits of seconds it keeps.
#[diagnostic::on_unimplemented(
    message = "`precision` needs a timestamp or time field, but `{Self}` is not",
    label = "`precision` is not allowed on this field",
    note = "`precision = P` sets the fractional digits of a `DateTime<Utc>`, `NaiveDateTime` or `NaiveTime` field; remove it or change the field's type"
)]
pub trait TimestampColumn: PgType {}

impl TimestampColumn for chrono::DateTime<chrono::Utc> {}
impl TimestampColumn for chrono::NaiveDateTime {}
impl TimestampColumn for chrono::NaiveTime {}
impl<T: TimestampColumn> TimestampColumn for Option<T> {}
impl<T: TimestampColumn + ArrayElement> TimestampColumn for Vec<T> {}

/// The type of a field whose declared type `base` (its `PgType`) an attribute narrows to
/// `narrowed`: an array field keeps being an array, of the narrowed element.
pub(crate) const fn narrow(base: SqlType, narrowed: &'static SqlType) -> SqlType {
    match base {
        SqlType::Array(_) => SqlType::Array(narrowed),
        _ => *narrowed,
    }
}

/// The type of a timestamp or time field of declared type `base` keeping `choices`' precision:
/// `choices` holds the `timestamp(p)`, `timestamptz(p)` and `time(p)` types, in that order.
pub(crate) const fn with_precision(base: SqlType, choices: &'static [SqlType; 3]) -> SqlType {
    let chosen = match base.element() {
        SqlType::Timestamp | SqlType::TimestampPrecision(_) => &choices[0],
        SqlType::Timestamptz | SqlType::TimestamptzPrecision(_) => &choices[1],
        _ => &choices[2],
    };
    narrow(base, chosen)
}

/// A field whose column stores an integer, so `#[pg(range = a..=b)]` may constrain it.
#[diagnostic::on_unimplemented(
    message = "`range` needs an integer field, but `{Self}` is not",
    label = "`range` is not allowed on this field",
    note = "`range = a..=b` checks an `i16`, `i32` or `i64` field; remove it or change the field's type"
)]
pub trait IntegerColumn: PgType {
    /// The smallest value the column holds.
    const MIN: i64;
    /// The largest value the column holds.
    const MAX: i64;
}

impl IntegerColumn for i16 {
    const MIN: i64 = i16::MIN as i64;
    const MAX: i64 = i16::MAX as i64;
}

impl IntegerColumn for i32 {
    const MIN: i64 = i32::MIN as i64;
    const MAX: i64 = i32::MAX as i64;
}

impl IntegerColumn for i64 {
    const MIN: i64 = i64::MIN;
    const MAX: i64 = i64::MAX;
}

impl<T: IntegerColumn> IntegerColumn for Option<T> {
    const MIN: i64 = T::MIN;
    const MAX: i64 = T::MAX;
}

/// A field an identity may number: `i16`, `i32` or `i64`, not an `Option` (an identity column
/// is never NULL).
#[diagnostic::on_unimplemented(
    message = "`identity` numbers an `i16`, `i32` or `i64` field, but this one is `{Self}`",
    label = "`identity` is not allowed on this field",
    note = "an identity column is a smallint, integer or bigint that is never NULL: change the field's type, or remove `identity`"
)]
pub trait IdentityColumn: IntegerColumn {}

impl IdentityColumn for i16 {}
impl IdentityColumn for i32 {}
impl IdentityColumn for i64 {}

/// A Rust value that can be the default of a column of type `T`: a `T` itself, or a string
/// literal for a `String` column.
#[diagnostic::on_unimplemented(
    message = "`default` needs a value of the field's type `{T}`, found `{Self}`",
    label = "not a `{T}`",
    note = "write a value of the field's type, or use `default_sql = \"...\"` for a SQL expression"
)]
pub trait DefaultFor<T> {
    /// The value as a `T`.
    fn into_default(self) -> T;
}

impl<T> DefaultFor<T> for T {
    fn into_default(self) -> T {
        self
    }
}

impl DefaultFor<String> for &str {
    fn into_default(self) -> String {
        self.to_owned()
    }
}

/// A column type whose default may be written as a bare number (`default = 7`, `default = 0.5`):
/// the number literal is read as [`NumberDefault::Number`], so a number on a column of another
/// type is one error at the value, naming the column's type.
#[diagnostic::on_unimplemented(
    message = "`default` needs a value of the field's type `{Self}`, found a number",
    label = "a number, not a `{Self}`",
    note = "write a value of the field's type, or use `default_sql = \"...\"` for a SQL expression"
)]
pub trait NumberDefault {
    /// The Rust number type the literal is.
    type Number;
    /// The literal as the column's value.
    fn from_number(number: Self::Number) -> Self;
}

macro_rules! number_defaults {
    ($($ty:ty),*) => {
        $(impl NumberDefault for $ty {
            type Number = $ty;
            fn from_number(number: $ty) -> $ty {
                number
            }
        })*
    };
}

number_defaults!(i16, i32, i64, f32, f64);

/// A decimal column's default may be a whole number (`default = 0`); write a fraction as a
/// value, exactly: `default = Decimal::new(1995, 2)` (19.95).
#[cfg(feature = "decimal")]
impl NumberDefault for rust_decimal::Decimal {
    type Number = i64;
    fn from_number(number: i64) -> rust_decimal::Decimal {
        rust_decimal::Decimal::from(number)
    }
}

/// Holds when a column of type `Self` may reference a column of type `T` by a foreign key.
///
/// Both sides are compared by [`PgType::Base`], so an `Option<Uuid>` column may reference a
/// `Uuid` key.
#[diagnostic::on_unimplemented(
    message = "a foreign key from a `{Self}` column cannot reference a `{T}` column",
    label = "the referenced column holds `{T}`",
    note = "a foreign key column must have the same type as the column it references (nullable or not)"
)]
pub trait ReferenceCompatible<T> {}

impl<T> ReferenceCompatible<T> for T {}

/// Kinds of values a SQL type holds, for telling whether a type written with
/// `#[pg(sql_type = "...")]` can hold what the field's Rust type stores.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Text,
    Integer,
    Float,
    Boolean,
    Uuid,
    Json,
    Timestamptz,
    Timestamp,
    Date,
    Time,
    Bytea,
    /// A type this list does not know (`numeric`, arrays, domains, extensions): not judged.
    Other,
}

const fn family_of(sql_type: SqlType) -> Family {
    match sql_type {
        SqlType::Boolean => Family::Boolean,
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => Family::Integer,
        SqlType::Real | SqlType::DoublePrecision => Family::Float,
        SqlType::Text | SqlType::Varchar(_) => Family::Text,
        SqlType::Uuid => Family::Uuid,
        SqlType::Jsonb => Family::Json,
        SqlType::Timestamptz => Family::Timestamptz,
        SqlType::Timestamp => Family::Timestamp,
        SqlType::Date => Family::Date,
        SqlType::Time => Family::Time,
        SqlType::Bytea => Family::Bytea,
        SqlType::Custom(written) => family_of_name(written),
        SqlType::Char(_) | SqlType::Citext => Family::Text,
        SqlType::TimestampPrecision(_) => Family::Timestamp,
        SqlType::TimestamptzPrecision(_) => Family::Timestamptz,
        SqlType::TimePrecision(_) => Family::Time,
        SqlType::Numeric(_)
        | SqlType::Interval
        | SqlType::Inet
        | SqlType::Cidr
        | SqlType::Array(_) => Family::Other,
        SqlType::Enum(_) => Family::Other,
    }
}

/// The family of a type as written in SQL; case, spacing and modifiers such as `(200)` do not
/// matter. Arrays and unknown names are [`Family::Other`].
const fn family_of_name(written: &str) -> Family {
    const NAMES: &[(&str, Family)] = &[
        ("text", Family::Text),
        ("varchar", Family::Text),
        ("character varying", Family::Text),
        ("char", Family::Text),
        ("character", Family::Text),
        ("bpchar", Family::Text),
        ("citext", Family::Text),
        ("name", Family::Text),
        ("smallint", Family::Integer),
        ("integer", Family::Integer),
        ("int", Family::Integer),
        ("int2", Family::Integer),
        ("int4", Family::Integer),
        ("int8", Family::Integer),
        ("bigint", Family::Integer),
        ("smallserial", Family::Integer),
        ("serial", Family::Integer),
        ("bigserial", Family::Integer),
        ("real", Family::Float),
        ("float4", Family::Float),
        ("float8", Family::Float),
        ("float", Family::Float),
        ("double precision", Family::Float),
        ("boolean", Family::Boolean),
        ("bool", Family::Boolean),
        ("uuid", Family::Uuid),
        ("json", Family::Json),
        ("jsonb", Family::Json),
        ("timestamptz", Family::Timestamptz),
        ("timestamp with time zone", Family::Timestamptz),
        ("timestamp", Family::Timestamp),
        ("timestamp without time zone", Family::Timestamp),
        ("date", Family::Date),
        ("time", Family::Time),
        ("time without time zone", Family::Time),
        ("bytea", Family::Bytea),
    ];
    let mut i = 0;
    while i < NAMES.len() {
        if same_type_name(written.as_bytes(), NAMES[i].0.as_bytes()) {
            return NAMES[i].1;
        }
        i += 1;
    }
    Family::Other
}

/// Whether `written` spells `name`, ignoring ASCII case, runs of whitespace and parenthesised
/// modifiers (`timestamp(3) with time zone` spells `timestamp with time zone`).
const fn same_type_name(written: &[u8], name: &[u8]) -> bool {
    let (mut w, mut n) = (0, 0);
    let mut pending_space = false;
    while w < written.len() {
        let byte = written[w];
        if byte == b'(' {
            while w < written.len() && written[w] != b')' {
                w += 1;
            }
            w += 1;
            continue;
        }
        if byte.is_ascii_whitespace() {
            pending_space = n > 0;
            w += 1;
            continue;
        }
        if pending_space {
            if n >= name.len() || name[n] != b' ' {
                return false;
            }
            n += 1;
            pending_space = false;
        }
        if n >= name.len() || byte.to_ascii_lowercase() != name[n] {
            return false;
        }
        w += 1;
        n += 1;
    }
    n == name.len()
}

/// Whether a type written in SQL (`character varying(320)`, `citext`, `text[]`) is a text type
/// or an array of one.
pub(crate) fn is_text_type(written: &str) -> bool {
    let written = written.trim();
    let element = written.strip_suffix("[]").unwrap_or(written);
    matches!(family_of_name(element), Family::Text)
}

/// Whether a column written as `written` can hold what a field of SQL type `stored` holds; types
/// this crate does not know are not judged.
pub(crate) const fn sql_type_fits(stored: SqlType, written: &str) -> bool {
    let (a, b) = (family_of(stored), family_of_name(written));
    matches!(a, Family::Other) || matches!(b, Family::Other) || a as u8 == b as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_makes_a_column_nullable_and_keeps_its_type() {
        assert_eq!(<Option<i32> as PgType>::SQL_TYPE, SqlType::Integer);
        let nullable = [<Option<i32> as PgType>::NULLABLE, <i32 as PgType>::NULLABLE];
        assert_eq!(nullable, [true, false]);
    }

    #[test]
    fn sql_types_render_as_postgres_spells_them() {
        let rendered: Vec<String> = [
            SqlType::Varchar(200),
            SqlType::DoublePrecision,
            SqlType::Timestamptz,
            SqlType::Custom("numeric(10, 2)"),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            rendered,
            [
                "varchar(200)",
                "double precision",
                "timestamptz",
                "numeric(10, 2)"
            ]
        );
    }

    #[test]
    fn written_types_are_judged_by_family() {
        assert!(sql_type_fits(SqlType::Text, "citext"));
        assert!(sql_type_fits(SqlType::Text, "CHARACTER VARYING(20)"));
        assert!(sql_type_fits(
            SqlType::Timestamptz,
            "timestamp(3)  with time zone"
        ));
        assert!(sql_type_fits(SqlType::Integer, "numeric(10, 2)"));
        assert!(sql_type_fits(SqlType::Text, "text[]"));
        assert!(!sql_type_fits(SqlType::Text, "integer"));
        assert!(!sql_type_fits(SqlType::Timestamptz, "timestamp"));
        assert!(!sql_type_fits(SqlType::Jsonb, "uuid"));
    }
}
