//! Rust enums stored as text or as native enum types: the trait `#[derive(PgEnum)]`
//! implements.

/// A fieldless Rust enum stored as one of a fixed set of texts.
///
/// Derive it with `#[derive(PgEnum)]`; a column of such a type is stored as `text` (or
/// `varchar(N)` with `#[pg(varchar = N)]`) and gets `CHECK (column IN (...))` from
/// [`PgEnum::VALUES`]. With `#[pg(native)]` (or `#[pg(native = "name")]`) the column is of a
/// PostgreSQL enum type instead, created by `CREATE TYPE ... AS ENUM` and named by
/// [`PgEnum::NATIVE_TYPE`]; `#[pg(native, schema = "ledger")]` puts the type in a PostgreSQL
/// schema, as `schema = "..."` does a table.
///
/// ```
/// use schema_core::PgEnum;
///
/// #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
/// #[pg(rename_all = "SCREAMING_SNAKE_CASE")]
/// pub enum TicketStatus { Open, InProgress, Closed }
///
/// assert_eq!(TicketStatus::VALUES, ["OPEN", "IN_PROGRESS", "CLOSED"]);
/// assert_eq!(TicketStatus::InProgress.as_str(), "IN_PROGRESS");
/// assert_eq!(TicketStatus::from_text("CLOSED"), Some(TicketStatus::Closed));
/// assert_eq!(TicketStatus::from_text("closed"), None);
/// ```
pub trait PgEnum: Sized + 'static {
    /// The text of every variant, in declaration order.
    const VALUES: &'static [&'static str];

    /// The native enum type's name, for an enum declared `#[pg(native)]` (its column is of
    /// that type, created by `CREATE TYPE ... AS ENUM`), qualified with its PostgreSQL schema
    /// where it is declared in one (`ledger.entry_kind`); `None` for a text enum.
    const NATIVE_TYPE: Option<&'static str> = None;

    /// The text this variant is stored as.
    fn as_str(&self) -> &'static str;

    /// The variant stored as `text`, if there is one (exact, case-sensitive match).
    fn from_text(text: &str) -> Option<Self>;
}
