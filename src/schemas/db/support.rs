//! D13 — support system: tickets physicians raise from the page where they clicked Help.

use chrono::{DateTime, Utc};
use schema_core::{PgEnum, PgTable};
use uuid::Uuid;

use super::providers::Provider;

/// What a ticket is about; assigned by the support team.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketCategory {
    /// Claims, payments, invoices.
    Billing,
    /// Errors and things that do not work.
    Technical,
    /// Sign-in, users, settings.
    Account,
    /// Something the platform does not do yet.
    FeatureRequest,
}

/// How urgent a ticket is.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketPriority {
    /// Can wait.
    Low,
    /// The default.
    Medium,
    /// Blocks part of the physician's work.
    High,
    /// Blocks billing altogether.
    Urgent,
}

/// Where a ticket stands.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    /// Raised, not yet picked up.
    Open,
    /// A support team member is working on it.
    InProgress,
    /// Waiting for the physician's answer.
    WaitingOnCustomer,
    /// Solved; the physician may rate it.
    Resolved,
    /// Done.
    Closed,
}

/// A physician's request for help, raised from the page where they clicked Help.
#[derive(PgTable)]
#[pg(
    table = "support_tickets",
    index(provider_id, status),
    index(provider_id, created_at(desc)),
    index(status, priority),
    index(assigned_to, status)
)]
pub struct SupportTicket {
    /// Unique identifier of the ticket.
    #[pg(primary_key, default_sql = "gen_random_uuid()")]
    pub ticket_id: Uuid,
    /// The physician who raised the ticket; they see only their own tickets.
    #[pg(references = Provider::provider_id)]
    pub provider_id: Uuid,
    /// Auto-generated from context or physician-entered.
    #[pg(varchar = 200)]
    pub subject: String,
    /// Physician's description of the issue; may contain PHI.
    pub description: String,
    /// Page URL where Help was clicked.
    #[pg(varchar = 500)]
    pub context_url: Option<String>,
    /// Auto-captured context: claim_id, batch_id, error codes, browser info. PHI-adjacent.
    pub context_metadata: Option<serde_json::Value>,
    /// Assigned by the support team.
    #[pg(varchar = 50)]
    pub category: Option<TicketCategory>,
    /// How urgent the ticket is.
    #[pg(varchar = 10, default = TicketPriority::Medium)]
    pub priority: TicketPriority,
    /// Where the ticket stands.
    #[pg(varchar = 20, default = TicketStatus::Open)]
    pub status: TicketStatus,
    /// Support team member handling the ticket.
    #[pg(varchar = 100)]
    pub assigned_to: Option<String>,
    /// How the issue was resolved.
    pub resolution_notes: Option<String>,
    /// When the ticket was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// 1-5 star rating from the physician.
    #[pg(range = 1..=5)]
    pub satisfaction_rating: Option<i32>,
    /// Optional comment with the rating.
    pub satisfaction_comment: Option<String>,
    /// Path to the uploaded screenshot in encrypted storage; never exposed in API responses.
    #[pg(varchar = 255)]
    pub screenshot_path: Option<String>,
    /// When the ticket was raised.
    #[pg(default_sql = "now()")]
    pub created_at: DateTime<Utc>,
    /// When the ticket last changed.
    #[pg(default_sql = "now()", update_sql = "now()")]
    pub updated_at: DateTime<Utc>,
}
