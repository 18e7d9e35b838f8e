//! The generated types serve the synchronous `postgres` crate too: its `Row` is
//! tokio-postgres's, so text enums bind and decode, and `SelectX` decodes by column name.

mod common;

use common::TestDb;
use schema_core::pg::FromRow;
use shared::schemas::{SelectSupportTicket, TicketPriority, TicketStatus};
use uuid::Uuid;

#[test]
fn the_synchronous_client_binds_enums_and_decodes_select_rows() {
    let mut db = TestDb::new();
    db.apply_schema();
    let client = db.client();
    let provider: Uuid = client
        .query_one(
            "INSERT INTO providers (npi, first_name, last_name, email) \
             VALUES ('1234567890', 'Ada', 'Byron', 'ada@clinic.test') RETURNING provider_id",
            &[],
        )
        .unwrap()
        .get(0);
    client
        .execute(
            "INSERT INTO support_tickets (provider_id, subject, description, priority) \
             VALUES ($1, 'Export broken', 'The CSV export stops at row 100', $2)",
            &[&provider, &TicketPriority::Urgent],
        )
        .unwrap();
    // Columns in another order than the table's, and one extra: found by name.
    let rows = client
        .query(
            "SELECT 1 AS extra, status, priority, t.* FROM support_tickets t WHERE priority = $1",
            &[&TicketPriority::Urgent],
        )
        .unwrap();
    let tickets = SelectSupportTicket::from_rows(&rows).unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].priority, TicketPriority::Urgent);
    assert_eq!(tickets[0].status, TicketStatus::Open);
    assert_eq!(tickets[0].provider_id, provider);
    let status: TicketStatus = rows[0].get("status");
    assert_eq!(status, TicketStatus::Open);
}
