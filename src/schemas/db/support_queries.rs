//! The four questions the support domain asks of `support_tickets`, as typed queries: one for
//! each index the table declares, each filtering with an equality on that index's leading
//! column itself (never leaving it to a row-level security policy to supply).

use schema_core::query::{QueryError, Select};
use schema_core::NamedQuery;
use uuid::Uuid;

use super::support::{SelectSupportTicket, SupportTicket, TicketPriority, TicketStatus};

/// The priorities in the order the support team works them: most urgent first. The triage
/// queue is read one priority at a time in this order ([`triage_queue`] says why).
pub const TRIAGE_ORDER: [TicketPriority; 4] = [
    TicketPriority::Urgent,
    TicketPriority::High,
    TicketPriority::Medium,
    TicketPriority::Low,
];

/// A physician's tickets with `status`, newest first: the physician's ticket list filtered by
/// status. For the index `(provider_id, status)`, whose whole key the query matches with its
/// own equalities (`provider_id = $1`, although under the physician's scope the row-level
/// security policy restricts it too): the index finds exactly these rows, and the server sorts
/// them by age (the index holds no `created_at`). The whole list, not a page: with a `LIMIT`,
/// the server may rather read all of the provider's tickets newest first through
/// `(provider_id, created_at DESC)` and throw away those of other statuses; paging this list
/// in index order needs `index(provider_id, status, created_at(desc), ticket_id(desc))`, which
/// the seed does not declare.
pub fn provider_tickets_with_status(
    provider_id: Uuid,
    status: TicketStatus,
) -> Select<SupportTicket> {
    Select::<SupportTicket>::new()
        .filter(SupportTicket::provider_id.eq(provider_id))
        .filter(SupportTicket::status.eq(status))
        .order_by(SupportTicket::created_at.desc())
}

/// A physician's tickets, newest first, `page_size` to a page; `after` is the last row of the
/// previous page (`None` for the first), and the next page continues right after it
/// (`"created_at" <= $2 AND ("created_at", "ticket_id") < ($2, $3)`), so paging through gives every ticket once, each
/// page read from where the last one ended. For the index `(provider_id, created_at DESC)`,
/// whose order is the query's but for the key that breaks ties between tickets raised in the
/// same instant (the server sorts only those).
pub fn provider_recent_tickets(
    provider_id: Uuid,
    page_size: i64,
    after: Option<&SelectSupportTicket>,
) -> Select<SupportTicket> {
    let query = Select::<SupportTicket>::new()
        .filter(SupportTicket::provider_id.eq(provider_id))
        .order_by(SupportTicket::created_at.desc())
        .limit(page_size);
    match after {
        Some(last) => query.after(last),
        None => query,
    }
}

/// The support team's triage queue at one priority: the tickets with `status` and `priority`,
/// oldest first (the one waiting longest comes first), at most `limit`. Read it once per
/// priority of [`TRIAGE_ORDER`], URGENT to LOW, for the whole queue.
///
/// Why one priority at a time rather than `ORDER BY priority`: `priority` is a text column
/// (its values checked, not a PostgreSQL enum type), and text sorts alphabetically, HIGH, LOW,
/// MEDIUM, URGENT: urgent tickets last, low ones before medium. Ranking the values in SQL (a
/// `CASE`) would sort every ticket with the status, since no index holds that rank. With both
/// `status` and `priority` matched by equalities, the index `(status, priority)` finds exactly
/// the rows of each step; the server sorts those by age (the index holds no `created_at`).
pub fn triage_queue(
    status: TicketStatus,
    priority: TicketPriority,
    limit: i64,
) -> Select<SupportTicket> {
    Select::<SupportTicket>::new()
        .filter(SupportTicket::status.eq(status))
        .filter(SupportTicket::priority.eq(priority))
        .order_by(SupportTicket::created_at.asc())
        .limit(limit)
}

/// The tickets assigned to support team member `agent` with `status`, oldest first. For the
/// index `(assigned_to, status)`.
pub fn agent_workload(agent: &str, status: TicketStatus) -> Select<SupportTicket> {
    Select::<SupportTicket>::new()
        .filter(SupportTicket::assigned_to.eq(agent))
        .filter(SupportTicket::status.eq(status))
        .order_by(SupportTicket::created_at.asc())
}

/// A physician's queries, named as the application registers them for the plan check
/// (`tickets_with_status`, `recent_tickets` and `recent_tickets_next_page`), each rendered
/// with placeholder values (a nil provider, `OPEN`, pages of 20): a statement's text does not
/// depend on its values, so these are the shapes the physician asks. A page continuing
/// `after` a row adds its row comparison to the first page's shape: a shape of its own.
pub fn physician_queries() -> Result<Vec<NamedQuery>, QueryError> {
    let provider = Uuid::nil();
    let last = placeholder_ticket(provider);
    named([
        (
            "tickets_with_status",
            provider_tickets_with_status(provider, TicketStatus::Open),
        ),
        (
            "recent_tickets",
            provider_recent_tickets(provider, 20, None),
        ),
        (
            "recent_tickets_next_page",
            provider_recent_tickets(provider, 20, Some(&last)),
        ),
    ])
}

/// A row to continue after when rendering a next page's shape; only its shape matters.
fn placeholder_ticket(provider_id: Uuid) -> SelectSupportTicket {
    SelectSupportTicket {
        ticket_id: Uuid::nil(),
        provider_id,
        subject: String::new(),
        description: String::new(),
        context_url: None,
        context_metadata: None,
        category: None,
        priority: TicketPriority::Medium,
        status: TicketStatus::Open,
        assigned_to: None,
        resolution_notes: None,
        resolved_at: None,
        satisfaction_rating: None,
        satisfaction_comment: None,
        screenshot_path: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
        updated_at: chrono::DateTime::UNIX_EPOCH,
    }
}

/// The support team's two queries, named as the application registers them for the plan
/// check (`triage_queue`, `agent_workload`), rendered with placeholder values (`OPEN`,
/// `URGENT`, agent `agent`, pages of 20), as [`physician_queries`] are.
pub fn support_team_queries() -> Result<Vec<NamedQuery>, QueryError> {
    named([
        (
            "triage_queue",
            triage_queue(TicketStatus::Open, TicketPriority::Urgent, 20),
        ),
        (
            "agent_workload",
            agent_workload("agent", TicketStatus::InProgress),
        ),
    ])
}

/// Each query's statement text under its name.
fn named<const N: usize>(
    queries: [(&'static str, Select<SupportTicket>); N],
) -> Result<Vec<NamedQuery>, QueryError> {
    queries
        .iter()
        .map(|(name, query)| Ok(NamedQuery::new(*name, query.to_sql()?.sql)))
        .collect()
}
