//! Database tables, one module per domain, and the whole schema in creation order.

pub mod billing;
pub mod providers;
pub mod support;
pub mod support_queries;

pub use billing::{
    InsertInvoice, InsertInvoiceLine, Invoice, InvoiceLine, InvoiceStatus, SelectInvoice,
    SelectInvoiceLine, UpdateInvoice, UpdateInvoiceLine, BILLING_TEAM_ROLE,
};
pub use providers::{InsertProvider, Provider, SelectProvider, UpdateProvider};
pub use support::{
    InsertSupportTicket, SelectSupportTicket, SupportTicket, TicketCategory, TicketPriority,
    TicketStatus, UpdateSupportTicket, PHYSICIAN_ROLE, PROVIDER_SETTING, SUPPORT_TEAM_ROLE,
};
pub use support_queries::{
    agent_workload, physician_queries, provider_recent_tickets, provider_tickets_with_status,
    support_team_queries, triage_queue, TRIAGE_ORDER,
};

use schema_core::pg::{Db, DbTransaction, PgError};
use schema_core::{Names, QueryRole, Schema, TenantScope};
use uuid::Uuid;

/// Why rendering the application's query shapes cannot fail: each orders by NOT NULL columns
/// of a table with a primary key, the only conditions a typed select's rendering checks.
const SHAPES_RENDER: &str =
    "the support queries order by NOT NULL columns of a table with a primary key";

/// Every table of the application, in the order they are declared (rendering orders them by
/// their foreign keys), and the queries it asks of them, registered for the plan check as the
/// role that asks each one. The tenant (`provider_id`) is declared once: the setting a
/// physician's scope carries it in and the role scoped by it.
pub fn schema() -> Schema {
    Schema::new()
        .tenant_setting(PROVIDER_SETTING)
        .tenant_role(PHYSICIAN_ROLE)
        .table::<Provider>()
        .table::<SupportTicket>()
        .table::<Invoice>()
        .table::<InvoiceLine>()
        .queries(
            // Any provider: a generic plan does not depend on the scope's value.
            QueryRole::new(PHYSICIAN_ROLE)
                .setting(PROVIDER_SETTING, "00000000-0000-0000-0000-000000000000"),
            physician_queries().expect(SHAPES_RENDER),
        )
        .queries(
            QueryRole::new(SUPPORT_TEAM_ROLE),
            support_team_queries().expect(SHAPES_RENDER),
        )
}

/// The physician's tenant scope: acting as the physician role, with the provider's id in the
/// tenant setting, both as `names` has them.
pub fn physician_scope(names: &Names) -> TenantScope<Provider> {
    schema()
        .with_names(names.clone())
        .tenant_scope::<Provider>(PHYSICIAN_ROLE)
        .expect("the schema declares the physician as a tenant role")
}

/// Opens a transaction scoped to one physician: it acts as the physician role alone (whatever
/// else the login holds), and inside it `support_tickets` shows, changes and accepts only that
/// provider's tickets, and `billing.invoices` and `billing.invoice_lines` show only theirs. The
/// scope is local to the transaction, so a pooled connection never carries it into another
/// request; its typed queries of those tables carry `provider_id = $n` themselves. A login
/// that is a superuser or has `BYPASSRLS`, or is not granted the physician role, is refused
/// ([`PgError::InvalidScope`]).
pub async fn provider_transaction<'a>(
    db: &'a mut Db,
    names: &Names,
    provider_id: Uuid,
) -> Result<DbTransaction<'a>, PgError> {
    db.tenant(&physician_scope(names), provider_id).await
}
