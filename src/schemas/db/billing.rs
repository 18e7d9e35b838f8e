//! Billing: the invoices providers issue and their lines, in the PostgreSQL schema `billing`.
//! A physician sees only their own invoices and lines; the billing team writes them.

use chrono::{DateTime, NaiveDate, Utc};
use schema_core::rust_decimal::Decimal;
use schema_core::{PgEnum, PgTable};
use uuid::Uuid;

use super::providers::Provider;

/// The role of the billing team: it issues invoices and writes their lines.
pub const BILLING_TEAM_ROLE: &str = "billing_team";

/// Where an invoice stands: the native enum type `invoice_status`.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[pg(native = "invoice_status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvoiceStatus {
    /// Being written; not sent yet.
    Draft,
    /// Sent to the payer, not paid yet.
    Issued,
    /// Paid in full.
    Paid,
    /// Cancelled; kept for the record.
    Void,
}

/// An invoice a provider issues, numbered by the provider.
#[derive(PgTable)]
#[pg(
    schema = "billing",
    table = "invoices",
    unique(provider_id, invoice_number),
    // What `invoice_lines` references, so that a line's provider is its invoice's.
    unique(invoice_id, provider_id),
    // The open receivables of a provider, by due date: issued and not paid.
    index(
        provider_id,
        due_on,
        name = "invoices_unpaid_idx",
        where = "{status} = 'ISSUED'"
    ),
    row_level_security,
    policy(
        name = "invoices_physician_own",
        to = "physician",
        command = "select",
        using = "{provider_id} = {setting:app.provider_id}::uuid"
    ),
    policy(
        name = "invoices_billing_team_all",
        to = "billing_team",
        using = "true",
        with_check = "true"
    )
)]
pub struct Invoice {
    /// Unique identifier of the invoice.
    #[pg(primary_key, default_sql = "gen_random_uuid()")]
    pub invoice_id: Uuid,
    /// The provider who bills; they see only their own invoices.
    #[pg(tenant = Provider, references = Provider::provider_id, on_delete = "restrict", immutable)]
    pub provider_id: Uuid,
    /// The provider's own number for the invoice, unique per provider.
    #[pg(varchar = 30)]
    pub invoice_number: String,
    /// Where the invoice stands.
    #[pg(default = InvoiceStatus::Draft)]
    pub status: InvoiceStatus,
    /// The patient's account number at the practice; PHI.
    #[pg(varchar = 50, sensitive)]
    pub patient_account: String,
    /// When it was sent.
    pub issued_on: Option<NaiveDate>,
    /// When payment is due.
    pub due_on: Option<NaiveDate>,
    /// When the invoice was created.
    #[pg(default_sql = "now()", immutable)]
    pub created_at: DateTime<Utc>,
}

/// One billed service of an invoice.
#[derive(PgTable)]
#[pg(
    schema = "billing",
    table = "invoice_lines",
    primary_key(invoice_id, line_number),
    foreign_key(
        columns(invoice_id, provider_id),
        references(Invoice::invoice_id, Invoice::provider_id),
        on_delete = "cascade"
    ),
    // Which lines bill a given code.
    index(service_codes, using = "gin"),
    row_level_security,
    policy(
        name = "invoice_lines_physician_own",
        to = "physician",
        command = "select",
        using = "{provider_id} = {setting:app.provider_id}::uuid"
    ),
    policy(
        name = "invoice_lines_billing_team_all",
        to = "billing_team",
        using = "true",
        with_check = "true"
    )
)]
pub struct InvoiceLine {
    /// The invoice.
    pub invoice_id: Uuid,
    /// The invoice's provider (the foreign key keeps it so): a physician's scope applies to
    /// lines without a join.
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    /// The line's number, given by the database.
    #[pg(identity(always))]
    pub line_number: i64,
    /// What was done.
    #[pg(varchar = 200)]
    pub description: String,
    /// The procedure codes (CPT/HCPCS) billed, five characters each.
    #[pg(varchar = 5)]
    pub service_codes: Vec<String>,
    /// How many units.
    #[pg(numeric(precision = 10, scale = 2))]
    pub quantity: Decimal,
    /// The price of one unit.
    #[pg(numeric(precision = 12, scale = 2))]
    pub unit_price: Decimal,
    /// `quantity × unit_price`, computed by the database.
    #[pg(
        numeric(precision = 14, scale = 2),
        generated = "{quantity} * {unit_price}"
    )]
    pub line_total: Decimal,
}
