//! Rust enums stored as text: the trait `#[derive(PgEnum)]` implements.

/// A fieldless Rust enum stored as one of a fixed set of texts.
///
/// Derive it with `#[derive(PgEnum)]`; a column of such a type is stored as `text` (or
/// `varchar(N)` with `#[pg(varchar = N)]`) and gets `CHECK (column IN (...))` from
/// [`PgEnum::VALUES`].
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

    /// The text this variant is stored as.
    fn as_str(&self) -> &'static str;

    /// The variant stored as `text`, if there is one (exact, case-sensitive match).
    fn from_text(text: &str) -> Option<Self>;
}
