//! Database tables, one module per domain, and the whole schema in creation order.

pub mod providers;
pub mod support;

pub use providers::{InsertProvider, Provider, SelectProvider, UpdateProvider};
pub use support::{
    InsertSupportTicket, SelectSupportTicket, SupportTicket, TicketCategory, TicketPriority,
    TicketStatus, UpdateSupportTicket,
};

use schema_core::Schema;

/// Every table of the application, in the order they are declared; rendering orders them by
/// their foreign keys.
pub fn schema() -> Schema {
    Schema::new().table::<Provider>().table::<SupportTicket>()
}
