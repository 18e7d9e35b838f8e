//! Typed queries over a table's columns: filters, order, pages, projections, and writes by
//! filter.
//!
//! The column handles `#[derive(PgTable)]` gives (`SupportTicket::status`, a [`ColumnRef`])
//! carry the table's type and the field's Rust type, so a filter compares a column only with a
//! value of its type, and a query of one table takes only that table's columns. What they build
//! is plain data ([`Expr`], [`OrderTerm`]), rendered in one place (`query::render`) to one SQL text
//! per query shape, every value a bound parameter: the drivers prepare each shape once per
//! connection, and [`Select::to_sql`] gives the text and its parameters to any other client.
//!
//! ```
//! use schema_core::query::Select;
//! use schema_core::{PgEnum, PgTable};
//!
//! #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
//! #[pg(rename_all = "UPPERCASE")]
//! pub enum State { Open, Done }
//!
//! #[derive(PgTable)]
//! #[pg(table = "tasks")]
//! pub struct Task {
//!     #[pg(primary_key)]
//!     pub task_id: i64,
//!     pub owner: uuid::Uuid,
//!     pub state: State,
//!     pub title: String,
//!     pub due: Option<chrono::NaiveDate>,
//! }
//!
//! let owner = uuid::Uuid::nil();
//! let query = Select::<Task>::new()
//!     .filter(Task::owner.eq(owner).and(Task::state.in_list([State::Open])))
//!     .filter(Task::title.starts_with("50%").or(Task::due.is_null()))
//!     .order_by(Task::due.desc().nulls_last())
//!     .limit(20);
//! let sql = query.to_sql().unwrap();
//! assert_eq!(
//!     sql.sql,
//!     r#"SELECT "task_id", "owner", "state", "title", "due" FROM "tasks" WHERE "owner" = $1 AND "state" = ANY($2) AND ("title" LIKE $3 OR "due" IS NULL) ORDER BY "due" DESC NULLS LAST, "task_id" DESC LIMIT $4"#
//! );
//! assert_eq!(sql.params.len(), 4);
//! ```

pub(crate) mod render;

use std::fmt;
use std::marker::PhantomData;

use crate::tenant::TenantPin;
use crate::{ColumnRef, PgType, Table, TableDef, Validate};

pub use crate::{NullsOrder, SortOrder};
pub use render::QuerySql;

/// A value a query binds as a parameter: any `Clone + Send + Sync` value that the enabled
/// drivers can bind (tokio-postgres's `ToSql` with the `postgres` feature, sqlx's `Encode` and
/// `Type` with `sqlx`). Every column type schema-core knows is one, and so is a `Vec` of one.
pub trait QueryValue: ToPgParam + ToSqlxParam + Send + Sync + 'static {
    /// An owned copy of the value.
    fn clone_value(&self) -> Value;
}

impl<V> QueryValue for V
where
    V: ToPgParam + ToSqlxParam + Clone + Send + Sync + 'static,
{
    fn clone_value(&self) -> Value {
        Value(Box::new(self.clone()))
    }
}

/// The value as a tokio-postgres parameter (feature `postgres`; without it, every type is one).
#[cfg(feature = "postgres")]
pub trait ToPgParam {
    /// The value, bound as it is.
    fn as_pg(&self) -> crate::pg::Param<'_>;
}

#[cfg(feature = "postgres")]
impl<V: tokio_postgres::types::ToSql + Sync> ToPgParam for V {
    fn as_pg(&self) -> crate::pg::Param<'_> {
        self
    }
}

/// The value as a tokio-postgres parameter (feature `postgres`; without it, every type is one).
#[cfg(not(feature = "postgres"))]
pub trait ToPgParam {}

#[cfg(not(feature = "postgres"))]
impl<V> ToPgParam for V {}

/// The value as a sqlx parameter (feature `sqlx`; without it, every type is one).
#[cfg(feature = "sqlx")]
pub trait ToSqlxParam {
    /// The value, bound as it is.
    fn as_sqlx(&self) -> crate::sqlx::Param<'_>;
}

#[cfg(feature = "sqlx")]
impl<V: crate::sqlx::BindValue> ToSqlxParam for V {
    fn as_sqlx(&self) -> crate::sqlx::Param<'_> {
        self
    }
}

/// The value as a sqlx parameter (feature `sqlx`; without it, every type is one).
#[cfg(not(feature = "sqlx"))]
pub trait ToSqlxParam {}

#[cfg(not(feature = "sqlx"))]
impl<V> ToSqlxParam for V {}

/// A bound value of a query. Its `Debug` never shows the value, which may be a sensitive
/// column's.
pub struct Value(Box<dyn QueryValue>);

impl Value {
    /// Wraps a value.
    pub fn new<V: QueryValue>(value: V) -> Self {
        Value(Box::new(value))
    }

    /// The value, to bind.
    pub fn get(&self) -> &dyn QueryValue {
        &*self.0
    }
}

impl Clone for Value {
    fn clone(&self) -> Self {
        self.0.clone_value()
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<value>")
    }
}

/// A value that may be compared with a column whose values are `V`: `V` itself, and `&str`
/// for a text column.
#[diagnostic::on_unimplemented(
    message = "this column holds `{V}` values, not `{Self}`",
    label = "expected a `{V}` here",
    note = "pass a `{V}`: the column's own Rust type without `Option` (an enum column takes the enum, a text column a `String` or `&str`, a uuid column a `Uuid`)"
)]
pub trait ValueFor<V> {
    /// The value as the column's type.
    fn into_value(self) -> V;
}

impl<V> ValueFor<V> for V {
    fn into_value(self) -> V {
        self
    }
}

impl ValueFor<String> for &str {
    fn into_value(self) -> String {
        self.to_string()
    }
}

impl ValueFor<String> for &String {
    fn into_value(self) -> String {
        self.clone()
    }
}

/// A column type that `like`, `ilike` and `starts_with` apply to: text.
#[diagnostic::on_unimplemented(
    message = "`like`, `ilike` and `starts_with` need a text column, but this column holds `{Self}`",
    label = "not a text column",
    note = "compare the column with `eq`, `in_list`, `lt`/`gt` or `between` instead"
)]
pub trait TextValue {}

impl TextValue for String {}

/// A column that may hold NULL: `is_null` and `is_not_null` apply to it.
#[diagnostic::on_unimplemented(
    message = "`is_null` and `is_not_null` need a nullable column, but this column's type `{Self}` is NOT NULL",
    label = "never NULL",
    note = "a NOT NULL column is never NULL: remove the filter, or declare the field as `Option<{Self}>` if it may be empty"
)]
pub trait NullableValue {}

impl<T> NullableValue for Option<T> {}

/// A column type that `contains` (`@>`) applies to: an array (every element of the value is
/// in the column's array) or `jsonb` (the value is contained in the column's document).
#[diagnostic::on_unimplemented(
    message = "`contains` needs an array or jsonb column, but this column holds `{Self}`",
    label = "not an array or jsonb column",
    note = "compare the column with `eq` or `in_list` instead"
)]
pub trait ContainsValue {}

impl<T> ContainsValue for Vec<T> {}
impl ContainsValue for serde_json::Value {}

/// A column type that `overlaps` (`&&`) applies to: an array.
#[diagnostic::on_unimplemented(
    message = "`overlaps` needs an array column, but this column holds `{Self}`",
    label = "not an array column",
    note = "for one value among several, use `in_list`"
)]
pub trait ArrayValue {}

impl<T> ArrayValue for Vec<T> {}

/// A filter over rows of the table `T`: a tree of conditions, combined with
/// [`and`](Filter::and), [`or`](Filter::or) and [`not`](Filter::not).
pub struct Filter<T> {
    expr: Expr,
    table: PhantomData<fn() -> T>,
}

impl<T> Filter<T> {
    fn new(expr: Expr) -> Self {
        Filter {
            expr,
            table: PhantomData,
        }
    }

    /// The condition tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Both this filter and `other`.
    pub fn and<F: IntoFilter<T>>(self, other: F) -> Self {
        Filter::new(self.expr.and(other.into_filter().expr))
    }

    /// This filter or `other`.
    pub fn or<F: IntoFilter<T>>(self, other: F) -> Self {
        let other = other.into_filter().expr;
        Filter::new(match self.expr {
            Expr::Or(mut terms) => {
                terms.push(other);
                Expr::Or(terms)
            }
            one => Expr::Or(vec![one, other]),
        })
    }

    /// The negation of this filter (`NOT (...)`); as in SQL, a row for which the filter is
    /// unknown (NULL) passes neither.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Filter::new(Expr::Not(Box::new(self.expr)))
    }
}

impl<T> Clone for Filter<T> {
    fn clone(&self) -> Self {
        Filter::new(self.expr.clone())
    }
}

impl<T> fmt::Debug for Filter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

/// A filter over rows of the table `T`; implemented only for [`Filter<T>`], so that a filter
/// on another table's columns does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a filter over rows of `{T}`",
    label = "a filter on another table's columns, or not a filter",
    note = "build the filter from `{T}`'s own columns (`{T}::column.eq(...)`); a query reads one table"
)]
pub trait IntoFilter<T> {
    /// The filter.
    fn into_filter(self) -> Filter<T>;
}

impl<T> IntoFilter<T> for Filter<T> {
    fn into_filter(self) -> Filter<T> {
        self
    }
}

/// A comparison operator between a column and one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `IS DISTINCT FROM`: like `<>`, but NULL is a value (a NULL column is distinct from
    /// any value).
    IsDistinctFrom,
    /// `LIKE`
    Like,
    /// `ILIKE`: `LIKE` ignoring case.
    ILike,
    /// `@>`: the column contains the value (arrays, jsonb).
    Contains,
    /// `&&`: the arrays share an element.
    Overlaps,
}

impl CompareOp {
    /// The operator as SQL.
    pub fn as_sql(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::IsDistinctFrom => "IS DISTINCT FROM",
            CompareOp::Like => "LIKE",
            CompareOp::ILike => "ILIKE",
            CompareOp::Contains => "@>",
            CompareOp::Overlaps => "&&",
        }
    }
}

/// A condition tree over one table's columns, by name: what the queries render to SQL.
#[derive(Clone, Debug)]
pub enum Expr {
    /// `column <op> value`.
    Compare {
        /// The column's name.
        column: &'static str,
        /// The operator.
        op: CompareOp,
        /// The value.
        value: Value,
    },
    /// `column BETWEEN low AND high` (both ends included).
    Between {
        /// The column's name.
        column: &'static str,
        /// The lowest value.
        low: Value,
        /// The highest value.
        high: Value,
    },
    /// `column = ANY(values)`: the values bound as one array, so the text does not depend on
    /// how many there are.
    InList {
        /// The column's name.
        column: &'static str,
        /// The values, as one array.
        values: Value,
    },
    /// `column IS NULL`, or `IS NOT NULL` when `negated`.
    IsNull {
        /// The column's name.
        column: &'static str,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// Every condition holds (`AND`).
    And(Vec<Expr>),
    /// Some condition holds (`OR`).
    Or(Vec<Expr>),
    /// `NOT (condition)`.
    Not(Box<Expr>),
}

impl Expr {
    pub(crate) fn and(self, other: Expr) -> Expr {
        match (self, other) {
            (Expr::And(mut left), Expr::And(right)) => {
                left.extend(right);
                Expr::And(left)
            }
            (Expr::And(mut terms), other) => {
                terms.push(other);
                Expr::And(terms)
            }
            (one, other) => Expr::And(vec![one, other]),
        }
    }
}

impl<T, R: PgType> ColumnRef<T, R> {
    fn compare(self, op: CompareOp, value: Value) -> Filter<T> {
        Filter::new(Expr::Compare {
            column: self.column,
            op,
            value,
        })
    }

    fn compare_with<A: ValueFor<R::Base>>(self, op: CompareOp, value: A) -> Filter<T>
    where
        R::Base: QueryValue,
    {
        self.compare(op, Value::new(value.into_value()))
    }

    /// `column = value`.
    pub fn eq<A: ValueFor<R::Base>>(self, value: A) -> Filter<T>
    where
        R::Base: QueryValue,
    {
        self.compare_with(CompareOp::Eq, value)
    }

    /// `column <> value` (a NULL column passes neither this nor `eq`; see
    /// [`is_distinct_from`](Self::is_distinct_from)).
    pub fn ne<A: ValueFor<R::Base>>(self, value: A) -> Filter<T>
    where
        R::Base: QueryValue,
    {
        self.compare_with(CompareOp::Ne, value)
    }

    /// `column < value`.
    pub fn lt<A: ValueFor<R::Base>>(self, value: A) -> Filter<T>
    where
        R::Base: QueryValue,
    {
        self.compare_with(CompareOp::Lt, value)
    }

    /// `column <= value`.
    pub fn le<A: ValueFor<R::Base>>(self, value: A) -> Filter<T>
    where
        R::Base: QueryValue,
    {
        self.compare_with(CompareOp::Le, value)
    }

    /// `column > value`.
    pub fn gt<A: ValueFor<R::Base>>(self, value: A) -> Filter<T>
    where
        R::Base: QueryValue,
    {
        self.compare_with(CompareOp::Gt, value)
    }

    /// `column >= value`.
    pub fn ge<A: ValueFor<R::Base>>(self, value: A) -> Filter<T>
    where
        R::Base: QueryValue,
    {
        self.compare_with(CompareOp::Ge, value)
    }

    /// `column IS DISTINCT FROM value`: true for a NULL column.
    pub fn is_distinct_from<A: ValueFor<R::Base>>(self, value: A) -> Filter<T>
    where
        R::Base: QueryValue,
    {
        self.compare_with(CompareOp::IsDistinctFrom, value)
    }

    /// `column BETWEEN low AND high`, both ends included.
    pub fn between<A: ValueFor<R::Base>, B: ValueFor<R::Base>>(self, low: A, high: B) -> Filter<T>
    where
        R::Base: QueryValue,
    {
        Filter::new(Expr::Between {
            column: self.column,
            low: Value::new(low.into_value()),
            high: Value::new(high.into_value()),
        })
    }

    /// `column = ANY($n)`: the column holds one of `values`, bound as one array parameter
    /// (an empty list matches no row).
    pub fn in_list<A, I>(self, values: I) -> Filter<T>
    where
        I: IntoIterator<Item = A>,
        A: ValueFor<R::Base>,
        Vec<R::Base>: QueryValue,
    {
        let values: Vec<R::Base> = values.into_iter().map(ValueFor::into_value).collect();
        Filter::new(Expr::InList {
            column: self.column,
            values: Value::new(values),
        })
    }

    /// `column IS NULL`; only for a nullable column.
    pub fn is_null(self) -> Filter<T>
    where
        R: NullableValue,
    {
        Filter::new(Expr::IsNull {
            column: self.column,
            negated: false,
        })
    }

    /// `column IS NOT NULL`; only for a nullable column.
    pub fn is_not_null(self) -> Filter<T>
    where
        R: NullableValue,
    {
        Filter::new(Expr::IsNull {
            column: self.column,
            negated: true,
        })
    }

    /// `column LIKE pattern`; `%` and `_` in the pattern are wildcards, `\` escapes them.
    pub fn like(self, pattern: &str) -> Filter<T>
    where
        R::Base: TextValue,
    {
        self.compare(CompareOp::Like, Value::new(pattern.to_string()))
    }

    /// `column ILIKE pattern`: [`like`](Self::like) ignoring case.
    pub fn ilike(self, pattern: &str) -> Filter<T>
    where
        R::Base: TextValue,
    {
        self.compare(CompareOp::ILike, Value::new(pattern.to_string()))
    }

    /// `column LIKE 'prefix%'`, with `%`, `_` and `\` of the prefix escaped: the column's text
    /// starts with `prefix`, taken literally.
    pub fn starts_with(self, prefix: &str) -> Filter<T>
    where
        R::Base: TextValue,
    {
        self.compare(CompareOp::Like, Value::new(like_prefix(prefix)))
    }

    /// `column @> value`: for an array column, every element of `value` is in the column's
    /// array; for a jsonb column, the column's document contains `value`.
    pub fn contains<A: ValueFor<R::Base>>(self, value: A) -> Filter<T>
    where
        R::Base: ContainsValue + QueryValue,
    {
        self.compare_with(CompareOp::Contains, value)
    }

    /// `column && value`: the column's array and `value` share an element.
    pub fn overlaps<A: ValueFor<R::Base>>(self, value: A) -> Filter<T>
    where
        R::Base: ArrayValue + QueryValue,
    {
        self.compare_with(CompareOp::Overlaps, value)
    }
}

impl<T, R: PgType> ColumnRef<T, R> {
    /// Ascending order by this column (PostgreSQL's default: NULLs last).
    pub fn asc(self) -> OrderTerm<T> {
        OrderTerm::new(self.column, SortOrder::Asc)
    }

    /// Descending order by this column (PostgreSQL's default: NULLs first).
    pub fn desc(self) -> OrderTerm<T> {
        OrderTerm::new(self.column, SortOrder::Desc)
    }
}

/// The type of an encrypted column's reference (`X::field`), in place of the field's type:
/// it has no [`PgType`], so comparisons, `like` and ordering on the column do not compile
/// (the database holds only ciphertext, which orders and compares as nothing meaningful).
pub struct Encrypted<T>(std::marker::PhantomData<fn() -> T>);

/// A `LIKE` pattern matching text that starts with `prefix`, taken literally: `\`, `%` and
/// `_` escaped with `\`, `LIKE`'s default escape character.
pub fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// One key of a query's order: a column, its direction, and where NULLs go when asked.
pub struct OrderTerm<T> {
    /// The column's name.
    pub column: &'static str,
    /// `ASC` or `DESC`.
    pub order: SortOrder,
    /// `NULLS FIRST` / `NULLS LAST`; `None` keeps PostgreSQL's default for the direction.
    pub nulls: Option<NullsOrder>,
    table: PhantomData<fn() -> T>,
}

impl<T> OrderTerm<T> {
    fn new(column: &'static str, order: SortOrder) -> Self {
        OrderTerm {
            column,
            order,
            nulls: None,
            table: PhantomData,
        }
    }

    /// `NULLS FIRST`.
    pub fn nulls_first(mut self) -> Self {
        self.nulls = Some(NullsOrder::First);
        self
    }

    /// `NULLS LAST`.
    pub fn nulls_last(mut self) -> Self {
        self.nulls = Some(NullsOrder::Last);
        self
    }
}

impl<T> Clone for OrderTerm<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for OrderTerm<T> {}

impl<T> fmt::Debug for OrderTerm<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.column, self.order)?;
        if let Some(nulls) = self.nulls {
            write!(f, " nulls {nulls:?}")?;
        }
        Ok(())
    }
}

/// An order key of rows of `T`; implemented only for [`OrderTerm<T>`], so that ordering by
/// another table's column does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an order over rows of `{T}`",
    label = "an order by another table's column, or not an order",
    note = "order by `{T}`'s own columns: `{T}::column.asc()` or `.desc()`"
)]
pub trait IntoOrder<T> {
    /// The order key.
    fn into_order(self) -> OrderTerm<T>;
}

impl<T> IntoOrder<T> for OrderTerm<T> {
    fn into_order(self) -> OrderTerm<T> {
        self
    }
}

/// The values of a row read from the table (the generated `SelectX`), one per column in
/// column order: what [`Select::after`] continues from.
pub trait RowValues {
    /// The table the row is of.
    type Table: Table;

    /// A copy of every column's value, in column order.
    fn column_values(&self) -> Vec<Value>;
}

/// The changes of a patch (the generated `UpdateX`), one entry per column in column order:
/// `Some` to set the column, `None` to leave it.
pub trait PatchValues: Validate + Sync {
    /// The table the patch applies to.
    type Table: Table;

    /// The changes, in column order. An encrypted column (and its blind index) the patch sets
    /// gives a placeholder that refuses to be sent: the driver binds
    /// `seal_patch`'s value for each row in its place (feature `encrypt`).
    fn push_patch<'a>(&'a self, out: &mut Vec<Option<&'a dyn QueryValue>>);

    /// For every encrypted column, then every blind index column, in column order: `Some` with
    /// the value sealed for the row whose tenant and key encode as `tenant` and `row_key`
    /// (`None` inside: NULL) where the patch sets it, `None` where it leaves it. Empty for a
    /// table without encrypted columns (feature `encrypt`).
    #[cfg(feature = "encrypt")]
    #[allow(clippy::type_complexity)]
    fn seal_patch(
        &self,
        _tenant: &[u8],
        _row_key: &[u8],
        _keys: &crate::crypto::Keys,
    ) -> Result<Vec<Option<Option<Vec<u8>>>>, crate::crypto::CryptoError> {
        Ok(Vec::new())
    }
}

/// Why a query cannot be rendered; nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryError {
    /// An update or a delete without a filter: it would change every row. Say so with
    /// `all_rows()` if that is meant.
    Unfiltered {
        /// The table.
        table: &'static str,
    },
    /// A page continues after a row ([`Select::after`]) but the query has no order.
    AfterWithoutOrder {
        /// The table.
        table: &'static str,
    },
    /// A page continues after a row, ordered by a nullable column: a row comparison with NULL
    /// is unknown, so rows holding NULL there would be skipped.
    NullableKeysetColumn {
        /// The table.
        table: &'static str,
        /// The nullable column of the order.
        column: &'static str,
    },
    /// A page continues after a row, but the table has no primary key to break ties.
    NoPrimaryKey {
        /// The table.
        table: &'static str,
    },
    /// An update whose patch sets nothing, on a table without `update_sql` columns.
    EmptyPatch {
        /// The table.
        table: &'static str,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Unfiltered { table } => write!(
                f,
                "an update or delete of `{table}` without a filter would change every row; \
                 give a filter, or call `all_rows()` to mean it"
            ),
            QueryError::AfterWithoutOrder { table } => write!(
                f,
                "a page of `{table}` continues after a row but the query has no order; \
                 order it (`order_by`) so that `after` has a place to continue from"
            ),
            QueryError::NullableKeysetColumn { table, column } => write!(
                f,
                "a page of `{table}` continues after a row, but its order's column `{column}` \
                 is nullable and rows holding NULL there would be skipped; order by NOT NULL \
                 columns, or page with `offset`"
            ),
            QueryError::NoPrimaryKey { table } => write!(
                f,
                "a page of `{table}` continues after a row, but the table has no primary key \
                 to break ties between rows; page with `offset`"
            ),
            QueryError::EmptyPatch { table } => {
                write!(f, "the patch for `{table}` sets no column")
            }
        }
    }
}

impl std::error::Error for QueryError {}

/// A read of rows of `T`: filter, order, page. Build it, then run it with a driver
/// (`Db::fetch_all`, `schema_core::sqlx::fetch_all`, ...) or take its SQL with
/// [`to_sql`](Select::to_sql).
pub struct Select<T> {
    pub(crate) filter: Option<Expr>,
    pub(crate) order: Vec<OrderTerm<T>>,
    pub(crate) after: Option<Vec<Value>>,
    pub(crate) limit: Option<i64>,
    pub(crate) offset: Option<i64>,
}

impl<T: Table> Default for Select<T> {
    fn default() -> Self {
        Select::new()
    }
}

impl<T: Table> Select<T> {
    /// Every row of the table, in no particular order.
    pub fn new() -> Self {
        Select {
            filter: None,
            order: Vec::new(),
            after: None,
            limit: None,
            offset: None,
        }
    }

    /// Only the rows `filter` holds for; a second call adds its filter with `AND`.
    pub fn filter<F: IntoFilter<T>>(mut self, filter: F) -> Self {
        let expr = filter.into_filter().expr;
        self.filter = Some(match self.filter.take() {
            Some(before) => before.and(expr),
            None => expr,
        });
        self
    }

    /// Orders the rows by `term`, after the order given before. The table's primary key
    /// follows the last term, in its direction, so that the order is total and a page
    /// continues exactly where the previous one stopped ([`after`](Self::after)).
    pub fn order_by<O: IntoOrder<T>>(mut self, term: O) -> Self {
        self.order.push(term.into_order());
        self
    }

    /// At most `rows` rows (`LIMIT`, bound as a parameter).
    pub fn limit(mut self, rows: i64) -> Self {
        self.limit = Some(rows);
        self
    }

    /// Skips the first `rows` rows (`OFFSET`, bound as a parameter). The server still reads
    /// them: for deep pages, [`after`](Self::after) costs the same on every page.
    pub fn offset(mut self, rows: i64) -> Self {
        self.offset = Some(rows);
        self
    }

    /// Continues after `row`, the last row of the previous page: one row comparison over the
    /// order's columns and the primary key (`("created_at", "ticket_id") < ($2, $3)` for a
    /// descending order), which an index on those columns serves at the same cost on every
    /// page. With more than one key, a bound on the first key alone comes first
    /// (`"created_at" <= $2 AND ...`, implied by the comparison): an index holding that key
    /// but not the rest reads from the bound on. When the order's directions differ, the
    /// comparison is written out as `(a > $1 OR (a = $1 AND b < $2) OR ...)`, which means the
    /// same. The order's columns must be NOT NULL ([`QueryError::NullableKeysetColumn`]).
    pub fn after<S: RowValues<Table = T>>(mut self, row: &S) -> Self {
        self.after = Some(row.column_values());
        self
    }

    /// Chosen columns only, decoded into a tuple of their Rust types:
    /// `.columns((Task::title, Task::due))` reads `(String, Option<NaiveDate>)` rows.
    pub fn columns<C: Columns<T>>(self, columns: C) -> Projection<T, C> {
        Projection {
            select: self,
            columns,
        }
    }

    /// The statement: `SELECT` every column, and its parameters.
    pub fn to_sql(&self) -> Result<QuerySql<'_>, QueryError> {
        render::select(T::TABLE, self, T::TABLE.columns.iter().map(|c| c.name))
    }

    /// The query for one optional row: its own limit when that is 0 or 1, else `LIMIT 1`, so
    /// the server sends no row that would be thrown away (what the drivers' `fetch_optional`
    /// sends).
    #[cfg(any(feature = "postgres", feature = "sqlx", test))]
    pub(crate) fn first_row(&self) -> std::borrow::Cow<'_, Select<T>> {
        match self.limit {
            Some(rows) if rows <= 1 => std::borrow::Cow::Borrowed(self),
            _ => std::borrow::Cow::Owned(self.clone().limit(1)),
        }
    }

    /// `SELECT count(*)` of the rows the filter (and a page's `after`) keeps; order, limit and
    /// offset do not apply.
    pub fn count_sql(&self) -> Result<QuerySql<'_>, QueryError> {
        render::count(T::TABLE, self)
    }

    /// `SELECT EXISTS (...)` of the rows the filter (and a page's `after`) keeps.
    pub fn exists_sql(&self) -> Result<QuerySql<'_>, QueryError> {
        render::exists(T::TABLE, self)
    }
}

impl<T> Clone for Select<T> {
    fn clone(&self) -> Self {
        Select {
            filter: self.filter.clone(),
            order: self.order.clone(),
            after: self.after.clone(),
            limit: self.limit,
            offset: self.offset,
        }
    }
}

impl<T, C: Clone> Clone for Projection<T, C> {
    fn clone(&self) -> Self {
        Projection {
            select: self.select.clone(),
            columns: self.columns.clone(),
        }
    }
}

impl<T> Clone for Delete<T> {
    fn clone(&self) -> Self {
        Delete {
            filter: self.filter.clone(),
            all_rows: self.all_rows,
            table: PhantomData,
        }
    }
}

impl<U: PatchValues> Clone for Update<'_, U> {
    fn clone(&self) -> Self {
        Update {
            patch: self.patch,
            filter: self.filter.clone(),
            all_rows: self.all_rows,
        }
    }
}

impl<T> fmt::Debug for Select<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("filter", &self.filter)
            .field("order", &self.order)
            .field("after", &self.after.as_ref().map(|_| "<row>"))
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .finish()
    }
}

/// Columns of `T` chosen for a [`Projection`]: a tuple of one to six column handles.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tuple of columns of `{T}`",
    label = "expected a tuple of `{T}`'s columns",
    note = "write the columns as a tuple of `{T}`'s handles: `({T}::a,)`, `({T}::a, {T}::b)`"
)]
pub trait Columns<T> {
    /// The Rust types of the columns, as a tuple.
    type Output;

    /// The columns' positions in the table.
    fn indexes(&self) -> Vec<usize>;
}

macro_rules! columns_tuple {
    ($($r:ident $i:tt),+) => {
        impl<T, $($r),+> Columns<T> for ($(ColumnRef<T, $r>,)+) {
            type Output = ($($r,)+);

            fn indexes(&self) -> Vec<usize> {
                vec![$(self.$i.index),+]
            }
        }
    };
}

columns_tuple!(A 0);
columns_tuple!(A 0, B 1);
columns_tuple!(A 0, B 1, C 2);
columns_tuple!(A 0, B 1, C 2, D 3);
columns_tuple!(A 0, B 1, C 2, D 3, E 4);
columns_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A read of chosen columns of `T`'s rows, decoded into [`Columns::Output`].
pub struct Projection<T, C> {
    select: Select<T>,
    columns: C,
}

impl<T: Table, C: Columns<T>> Projection<T, C> {
    /// The read it narrows.
    pub fn select(&self) -> &Select<T> {
        &self.select
    }

    /// The chosen columns' positions in the table.
    pub fn indexes(&self) -> Vec<usize> {
        self.columns.indexes()
    }

    /// The statement and its parameters.
    pub fn to_sql(&self) -> Result<QuerySql<'_>, QueryError> {
        let names: Vec<&str> = self
            .columns
            .indexes()
            .into_iter()
            .map(|i| T::TABLE.columns[i].name)
            .collect();
        render::select(T::TABLE, &self.select, names)
    }
}

/// A delete of the rows of `T` a filter holds for, returning them. Without a filter it is
/// refused ([`QueryError::Unfiltered`]) unless [`all_rows`](Delete::all_rows) says so.
pub struct Delete<T> {
    pub(crate) filter: Option<Expr>,
    pub(crate) all_rows: bool,
    table: PhantomData<fn() -> T>,
}

impl<T: Table> Default for Delete<T> {
    fn default() -> Self {
        Delete::new()
    }
}

impl<T: Table> Delete<T> {
    /// A delete with no filter yet.
    pub fn new() -> Self {
        Delete {
            filter: None,
            all_rows: false,
            table: PhantomData,
        }
    }

    /// Only the rows `filter` holds for; a second call adds its filter with `AND`.
    pub fn filter<F: IntoFilter<T>>(mut self, filter: F) -> Self {
        self.filter = Some(and_filter(self.filter.take(), filter.into_filter().expr));
        self
    }

    /// Every row the filter holds for, or every row of the table without one: said
    /// explicitly, since a delete without a filter is otherwise refused.
    pub fn all_rows(mut self) -> Self {
        self.all_rows = true;
        self
    }

    /// `DELETE FROM t WHERE ... RETURNING every column`, and its parameters.
    pub fn to_sql(&self) -> Result<QuerySql<'_>, QueryError> {
        render::delete(T::TABLE, self.filter.as_ref(), self.all_rows)
    }
}

/// An update of the rows of `T` a filter holds for with an `UpdateX` patch, returning them as
/// changed. Without a filter it is refused ([`QueryError::Unfiltered`]) unless
/// [`all_rows`](Update::all_rows) says so. The patch has fields only for the columns some role
/// may change (not the key, `immutable` or `update_sql` columns, and under column grants only
/// granted ones), and the database's grants and triggers still hold for the session's role.
pub struct Update<'p, U: PatchValues> {
    pub(crate) patch: &'p U,
    pub(crate) filter: Option<Expr>,
    pub(crate) all_rows: bool,
}

impl<'p, U: PatchValues> Update<'p, U> {
    /// An update applying `patch`, with no filter yet.
    pub fn new(patch: &'p U) -> Self {
        Update {
            patch,
            filter: None,
            all_rows: false,
        }
    }

    /// Only the rows `filter` holds for; a second call adds its filter with `AND`.
    pub fn filter<F: IntoFilter<U::Table>>(mut self, filter: F) -> Self {
        self.filter = Some(and_filter(self.filter.take(), filter.into_filter().expr));
        self
    }

    /// Every row the filter holds for, or every row of the table without one: said
    /// explicitly, since an update without a filter is otherwise refused.
    pub fn all_rows(mut self) -> Self {
        self.all_rows = true;
        self
    }

    /// The patch.
    pub fn patch(&self) -> &'p U {
        self.patch
    }

    /// `UPDATE t SET ... WHERE ... RETURNING every column`, and its parameters: the patch's
    /// values first, then the filter's.
    pub fn to_sql(&self) -> Result<QuerySql<'_>, QueryError> {
        let mut changes = Vec::new();
        self.patch.push_patch(&mut changes);
        render::update(
            <U::Table as Table>::TABLE,
            changes,
            self.filter.as_ref(),
            self.all_rows,
        )
    }
}

/// The tenant's equality first, then the query's own filter: `"provider_id" = $1 AND ...`, for
/// a table of the pin's tenant root (the root itself or a tenant table); other tables as they
/// are.
fn pinned(table: &TableDef, filter: Option<Expr>, pin: &TenantPin) -> Option<Expr> {
    let Some(tenant) = pin.filter_for(table) else {
        return filter;
    };
    Some(match filter {
        Some(filter) => tenant.and(filter),
        None => tenant,
    })
}

impl<T: Table> Select<T> {
    /// The read, carrying its tenant's equality itself (`"provider_id" = $1 AND ...`, first)
    /// when `T` is a tenant table or the tenant root of `pin`: the leading column of the
    /// table's tenant indexes is matched by the query, not only by a policy's qual, which
    /// Citus cannot route on. A `Db` tenant transaction does it for every typed query.
    pub fn in_tenant(mut self, pin: &TenantPin) -> Self {
        self.filter = pinned(T::TABLE, self.filter.take(), pin);
        self
    }
}

impl<T: Table, C: Columns<T>> Projection<T, C> {
    /// The read, carrying its tenant's equality itself (see [`Select::in_tenant`]).
    pub fn in_tenant(mut self, pin: &TenantPin) -> Self {
        self.select = self.select.in_tenant(pin);
        self
    }
}

impl<T: Table> Delete<T> {
    /// The delete, carrying its tenant's equality itself (see [`Select::in_tenant`]). A delete
    /// with neither a filter nor `all_rows()` stays refused.
    pub fn in_tenant(mut self, pin: &TenantPin) -> Self {
        if self.filter.is_some() || self.all_rows {
            self.filter = pinned(T::TABLE, self.filter.take(), pin);
        }
        self
    }
}

impl<U: PatchValues> Update<'_, U> {
    /// Whether the patch sets an encrypted column (or its blind index): such an update seals
    /// each row's value for that row ([`lock_keys_sql`](Self::lock_keys_sql), then
    /// [`sealed_sql`](Self::sealed_sql)) instead of sending [`to_sql`](Self::to_sql).
    pub fn seals(&self) -> bool {
        let mut changes = Vec::new();
        self.patch.push_patch(&mut changes);
        <U::Table as Table>::TABLE
            .columns
            .iter()
            .zip(&changes)
            .any(|(c, change)| c.encryption.is_some() && change.is_some())
    }

    /// `SELECT` the key columns (then each as text) of the rows the filter keeps, `FOR UPDATE`:
    /// the first statement of an update that [`seals`](Self::seals).
    pub fn lock_keys_sql(&self) -> Result<QuerySql<'_>, QueryError> {
        render::lock_keys(
            <U::Table as Table>::TABLE,
            self.filter.as_ref(),
            self.all_rows,
        )
    }

    /// `UPDATE t SET ... FROM unnest(...)`: the second statement of an update that
    /// [`seals`](Self::seals). Its parameters are the patch's plain values and the filter's;
    /// the driver binds after them a `text[]` per key column and a `bytea[]` per sealed column
    /// the patch sets.
    pub fn sealed_sql(&self) -> Result<QuerySql<'_>, QueryError> {
        let mut changes = Vec::new();
        self.patch.push_patch(&mut changes);
        render::update_by_keys(
            <U::Table as Table>::TABLE,
            changes,
            self.filter.as_ref(),
            self.all_rows,
        )
    }
}

impl<U: PatchValues> Update<'_, U> {
    /// The update, carrying its tenant's equality itself (see [`Select::in_tenant`]). An
    /// update with neither a filter nor `all_rows()` stays refused.
    pub fn in_tenant(mut self, pin: &TenantPin) -> Self {
        if self.filter.is_some() || self.all_rows {
            self.filter = pinned(<U::Table as Table>::TABLE, self.filter.take(), pin);
        }
        self
    }
}

/// A query a tenant transaction sends carrying its tenant's equality: the one `in_tenant` of
/// each kind of query, for code that handles them alike (tokio-postgres' `Db` and
/// `DbTransaction`, pinned to a tenant or not).
#[cfg(feature = "postgres")]
pub(crate) trait InTenant: Clone {
    /// The query with its tenant's equality.
    fn with_tenant(self, pin: &TenantPin) -> Self;
}

#[cfg(feature = "postgres")]
impl<T: Table> InTenant for Select<T> {
    fn with_tenant(self, pin: &TenantPin) -> Self {
        self.in_tenant(pin)
    }
}

#[cfg(feature = "postgres")]
impl<T: Table, C: Columns<T> + Clone> InTenant for Projection<T, C> {
    fn with_tenant(self, pin: &TenantPin) -> Self {
        self.in_tenant(pin)
    }
}

#[cfg(feature = "postgres")]
impl<T: Table> InTenant for Delete<T> {
    fn with_tenant(self, pin: &TenantPin) -> Self {
        self.in_tenant(pin)
    }
}

#[cfg(feature = "postgres")]
impl<U: PatchValues> InTenant for Update<'_, U> {
    fn with_tenant(self, pin: &TenantPin) -> Self {
        self.in_tenant(pin)
    }
}

/// `query` as it is sent: with its tenant's equality when `pin` is set, as it is otherwise.
#[cfg(feature = "postgres")]
pub(crate) fn for_tenant<'q, Q: InTenant>(
    query: &'q Q,
    pin: Option<&TenantPin>,
) -> std::borrow::Cow<'q, Q> {
    match pin {
        Some(pin) => std::borrow::Cow::Owned(query.clone().with_tenant(pin)),
        None => std::borrow::Cow::Borrowed(query),
    }
}

fn and_filter(before: Option<Expr>, expr: Expr) -> Expr {
    match before {
        Some(before) => before.and(expr),
        None => expr,
    }
}
