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

/// The setting a physician's transaction carries their `provider_id` in; see
/// [`provider_transaction`](crate::schemas::db::provider_transaction).
pub const PROVIDER_SETTING: &str = "app.provider_id";

/// The role physicians' sessions use: they see, change and create only their own tickets.
pub const PHYSICIAN_ROLE: &str = "physician";

/// The role of the support team: it sees the whole triage queue and works the tickets.
pub const SUPPORT_TEAM_ROLE: &str = "support_team";

/// A physician's request for help, raised from the page where they clicked Help.
#[derive(PgTable)]
#[pg(
    table = "support_tickets",
    index(provider_id, status),
    index(provider_id, created_at(desc)),
    index(status, priority),
    index(assigned_to, status),
    // The physician's tenant-isolation policy, `support_tickets_physician_own`, is generated
    // from the tenant column and the schema's tenant setting and role (see `schema()`).
    row_level_security,
    policy(
        name = "support_tickets_support_team_read",
        to = "support_team",
        command = "select",
        using = "true"
    ),
    policy(
        name = "support_tickets_support_team_work",
        to = "support_team",
        command = "update",
        using = "true",
        with_check = "true"
    ),
    // Who may write what: a physician raises a ticket with what they wrote and what the page
    // captured, then edits what they wrote and rates the answer; the support team triages and
    // resolves. Nobody moves a ticket to another provider or backdates it.
    grant(
        to = "physician",
        insert(
            provider_id,
            subject,
            description,
            context_url,
            context_metadata,
            priority,
            screenshot_path
        ),
        update(subject, description, satisfaction_rating, satisfaction_comment)
    ),
    grant(
        to = "support_team",
        update(category, priority, status, assigned_to, resolution_notes, resolved_at)
    )
)]
pub struct SupportTicket {
    /// Unique identifier of the ticket.
    #[pg(primary_key, default_sql = "gen_random_uuid()")]
    pub ticket_id: Uuid,
    /// The physician who raised the ticket; they see only their own tickets.
    #[pg(tenant = Provider, references = Provider::provider_id, immutable)]
    pub provider_id: Uuid,
    /// Auto-generated from context or physician-entered.
    #[pg(varchar = 200)]
    pub subject: String,
    /// Physician's description of the issue; may contain PHI.
    #[pg(sensitive)]
    pub description: String,
    /// Page URL where Help was clicked.
    #[pg(varchar = 500)]
    pub context_url: Option<String>,
    /// Auto-captured context: claim_id, batch_id, error codes, browser info. PHI-adjacent.
    #[pg(sensitive)]
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
    #[pg(varchar = 255, internal)]
    pub screenshot_path: Option<String>,
    /// When the ticket was raised.
    #[pg(default_sql = "now()", immutable)]
    pub created_at: DateTime<Utc>,
    /// When the ticket last changed.
    #[pg(default_sql = "now()", update_sql = "now()")]
    pub updated_at: DateTime<Utc>,
}
