//! The application's four questions of `support_tickets` (`src/schemas/db/support_queries.rs`)
//! against the real database, asked as the roles that ask them: a physician inside their
//! provider scope, the support team across providers, on tokio-postgres and on sqlx. Each
//! returns exactly the tickets it should, in its order; a physician's never include another
//! provider's ticket.

mod common;

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use common::{block_on, TestDb};
use schema_core::pg::Db;
use schema_core::query::Select;
use schema_core::{NamedQuery, PgEnum};
use shared::schemas::db::{provider_transaction, schema};
use shared::schemas::{
    agent_workload, physician_queries, provider_recent_tickets, provider_tickets_with_status,
    support_team_queries, triage_queue, SelectSupportTicket, SupportTicket, TicketPriority,
    TicketStatus, PHYSICIAN_ROLE, PROVIDER_SETTING, TRIAGE_ORDER,
};
use uuid::Uuid;

use TicketPriority::{High, Low, Medium, Urgent};
use TicketStatus::{InProgress, Open, Resolved};

/// A ticket of the test data: its subject, provider (0 is A, 1 is B), status, priority,
/// assignee, and when it was raised, in minutes after the start of 2026.
type Spec = (
    &'static str,
    usize,
    TicketStatus,
    TicketPriority,
    Option<&'static str>,
    i64,
);

/// Thirteen tickets of two providers; `a5` and `a6` were raised in the same instant, so only
/// the key orders them.
const TICKETS: &[Spec] = &[
    ("a1", 0, Open, Low, None, 1),
    ("a2", 0, Open, Urgent, Some("agent 7"), 2),
    ("a3", 0, InProgress, High, Some("agent 7"), 3),
    ("a4", 0, Open, Medium, None, 4),
    ("a5", 0, Open, High, None, 5),
    ("a6", 0, Open, Urgent, None, 5),
    ("a7", 0, Resolved, Medium, Some("agent 7"), 6),
    ("a8", 0, Open, Low, None, 7),
    ("b1", 1, Open, Urgent, None, 1),
    ("b2", 1, Open, High, None, 4),
    ("b3", 1, InProgress, Low, Some("agent 7"), 8),
    ("b4", 1, Open, Low, Some("agent 9"), 9),
    ("b5", 1, InProgress, Medium, Some("agent 9"), 3),
];

/// A ticket as written: its spec and the key the server gave it.
struct Written {
    spec: Spec,
    ticket_id: Uuid,
    created_at: DateTime<Utc>,
}

/// The database with [`TICKETS`] written by the owner, its two providers, and login URLs of
/// a physician and a support agent.
struct Clinic {
    db: TestDb,
    providers: Vec<Uuid>,
    written: Vec<Written>,
    physician_url: String,
    support_url: String,
}

fn clinic() -> Clinic {
    let mut db = TestDb::with_schema();
    let (providers, _) = db.add_providers_with_tickets(2, 0);
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let mut written = Vec::new();
    for &spec in TICKETS {
        let (subject, provider, status, priority, assignee, minute) = spec;
        let created_at = start + Duration::minutes(minute);
        let ticket_id: Uuid = db
            .client()
            .query_one(
                "INSERT INTO support_tickets \
                 (provider_id, subject, description, status, priority, assigned_to, created_at) \
                 VALUES ($1, $2, 'private details', $3, $4, $5, $6) RETURNING ticket_id",
                &[
                    &providers[provider],
                    &subject,
                    &status.as_str(),
                    &priority.as_str(),
                    &assignee,
                    &created_at,
                ],
            )
            .expect("insert a ticket")
            .get(0);
        written.push(Written {
            spec,
            ticket_id,
            created_at,
        });
    }
    let (physician_url, support_url) = db.application_logins();
    Clinic {
        db,
        providers,
        written,
        physician_url,
        support_url,
    }
}

impl Clinic {
    /// The subjects of the written tickets `keep` holds for, in the order `key` gives (the
    /// key's last part is the ticket's id, as the queries break ties).
    fn expected<K: Ord>(
        &self,
        keep: impl Fn(&Spec) -> bool,
        key: impl Fn(&Written) -> K,
    ) -> Vec<&'static str> {
        let mut rows: Vec<&Written> = self.written.iter().filter(|w| keep(&w.spec)).collect();
        rows.sort_by_key(|w| key(w));
        rows.iter().map(|w| w.spec.0).collect()
    }
}

fn subjects(rows: &[SelectSupportTicket]) -> Vec<&str> {
    rows.iter().map(|t| t.subject.as_str()).collect()
}

#[test]
fn a_physicians_tickets_with_a_status_are_theirs_newest_first() {
    let c = clinic();
    let a = c.providers[0];
    let expected = c.expected(
        |s| s.1 == 0 && s.2 == Open,
        |w| std::cmp::Reverse((w.created_at, w.ticket_id)),
    );
    assert_eq!(expected.len(), 6);
    let names = c.db.names().clone();
    block_on(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        let open = tx
            .fetch_all(&provider_tickets_with_status(a, Open))
            .await
            .unwrap();
        assert_eq!(subjects(&open), expected);
        assert!(open.iter().all(|t| t.provider_id == a && t.status == Open));
        tx.commit().await.unwrap();
    });
}

#[test]
fn a_physician_pages_through_their_recent_tickets_each_once_across_a_tie() {
    let c = clinic();
    let a = c.providers[0];
    let mut expected = c.expected(
        |s| s.1 == 0,
        |w| std::cmp::Reverse((w.created_at, w.ticket_id)),
    );
    assert_eq!(expected.len(), 8);
    let names = c.db.names().clone();
    block_on(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        // Pages of three: the first page ends between a5 and a6, raised in the same instant.
        let mut seen: Vec<SelectSupportTicket> = Vec::new();
        let mut pages = 0;
        loop {
            let query = provider_recent_tickets(a, 3, seen.last());
            let page = tx.fetch_all(&query).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 3);
            pages += 1;
            seen.extend(page);
        }
        assert_eq!(pages, 3);
        assert_eq!(subjects(&seen), expected);
        let ids: HashSet<Uuid> = seen.iter().map(|t| t.ticket_id).collect();
        assert_eq!(ids.len(), seen.len(), "a ticket came twice");
        let recent = tx
            .fetch_all(&provider_recent_tickets(a, 3, None))
            .await
            .unwrap();
        expected.truncate(3);
        assert_eq!(subjects(&recent), expected);
        assert_eq!(recent[0].subject, "a8");
        tx.commit().await.unwrap();
    });
}

#[test]
fn a_physician_never_gets_another_providers_ticket_from_any_of_the_four_queries() {
    let c = clinic();
    let (a, b) = (c.providers[0], c.providers[1]);
    let names = c.db.names().clone();
    block_on(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        // Asking for provider B by name inside A's scope: the policy leaves nothing.
        for status in [Open, InProgress] {
            let theirs = tx
                .fetch_all(&provider_tickets_with_status(b, status))
                .await
                .unwrap();
            assert_eq!(subjects(&theirs), Vec::<&str>::new());
        }
        let theirs = tx
            .fetch_all(&provider_recent_tickets(b, 100, None))
            .await
            .unwrap();
        assert_eq!(subjects(&theirs), Vec::<&str>::new());
        // The support team's queries, which name no provider, show A's tickets alone.
        let urgent = tx
            .fetch_all(&triage_queue(Open, Urgent, 100))
            .await
            .unwrap();
        assert_eq!(subjects(&urgent), ["a2", "a6"]);
        let workload = tx
            .fetch_all(&agent_workload("agent 7", InProgress))
            .await
            .unwrap();
        assert_eq!(subjects(&workload), ["a3"]);
        tx.commit().await.unwrap();
    });
}

/// Where the support team puts `priority`: URGENT first.
fn urgency(priority: TicketPriority) -> usize {
    TRIAGE_ORDER.iter().position(|&p| p == priority).unwrap()
}

#[test]
fn the_triage_queue_read_in_triage_order_puts_urgent_tickets_first_oldest_first() {
    let c = clinic();
    let expected = c.expected(
        |s| s.2 == Open,
        |w| (urgency(w.spec.3), w.created_at, w.ticket_id),
    );
    assert_eq!(
        expected,
        ["b1", "a2", "a6", "b2", "a5", "a4", "a1", "a8", "b4"]
    );
    block_on(async {
        let db = Db::connect(&c.support_url).await.unwrap();
        let mut queue = Vec::new();
        for priority in TRIAGE_ORDER {
            queue.extend(
                db.fetch_all(&triage_queue(Open, priority, 100))
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(subjects(&queue), expected);
        // The limit: the two that have waited longest of the urgent ones.
        let first = db.fetch_all(&triage_queue(Open, Urgent, 2)).await.unwrap();
        assert_eq!(subjects(&first), ["b1", "a2"]);
        // Why the queue is read one priority at a time: the column's own order is the text's,
        // which puts HIGH first and URGENT last.
        let by_column = db
            .fetch_all(
                &Select::<SupportTicket>::new()
                    .filter(SupportTicket::status.eq(Open))
                    .order_by(SupportTicket::priority.asc()),
            )
            .await
            .unwrap();
        let priorities: Vec<TicketPriority> = by_column.iter().map(|t| t.priority).collect();
        assert_eq!(priorities.first(), Some(&High));
        assert_eq!(priorities.last(), Some(&Urgent));
    });
}

#[test]
fn an_agents_workload_is_their_tickets_with_the_status_across_providers_oldest_first() {
    let c = clinic();
    block_on(async {
        let db = Db::connect(&c.support_url).await.unwrap();
        let in_progress = db
            .fetch_all(&agent_workload("agent 7", InProgress))
            .await
            .unwrap();
        assert_eq!(subjects(&in_progress), ["a3", "b3"]);
        let open = db
            .fetch_all(&agent_workload("agent 9", Open))
            .await
            .unwrap();
        assert_eq!(subjects(&open), ["b4"]);
        let resolved = db
            .fetch_all(&agent_workload("agent 7", Resolved))
            .await
            .unwrap();
        assert_eq!(subjects(&resolved), ["a7"]);
        let nobody = db
            .fetch_all(&agent_workload("agent 8", InProgress))
            .await
            .unwrap();
        assert_eq!(subjects(&nobody), Vec::<&str>::new());
    });
}

#[test]
fn the_queries_for_the_plan_check_are_the_four_and_a_next_page_each_led_by_an_equality_on_its_index(
) {
    let physician = physician_queries().unwrap();
    let support_team = support_team_queries().unwrap();
    let named = |queries: &[NamedQuery]| -> Vec<(String, String)> {
        queries
            .iter()
            .map(|q| (q.name.to_string(), q.sql.to_string()))
            .collect()
    };
    let columns = r#"SELECT "ticket_id", "provider_id", "subject", "description", "context_url", "context_metadata", "category", "priority", "status", "assigned_to", "resolution_notes", "resolved_at", "satisfaction_rating", "satisfaction_comment", "screenshot_path", "created_at", "updated_at" FROM "support_tickets""#;
    assert_eq!(
        named(&physician),
        [
            (
                "tickets_with_status".to_string(),
                format!(
                    r#"{columns} WHERE "provider_id" = $1 AND "status" = $2 ORDER BY "created_at" DESC, "ticket_id" DESC"#
                )
            ),
            (
                "recent_tickets".to_string(),
                format!(
                    r#"{columns} WHERE "provider_id" = $1 ORDER BY "created_at" DESC, "ticket_id" DESC LIMIT $2"#
                )
            ),
            (
                "recent_tickets_next_page".to_string(),
                format!(
                    r#"{columns} WHERE "provider_id" = $1 AND "created_at" <= $2 AND ("created_at", "ticket_id") < ($2, $3) ORDER BY "created_at" DESC, "ticket_id" DESC LIMIT $4"#
                )
            ),
        ]
    );
    assert_eq!(
        named(&support_team),
        [
            (
                "triage_queue".to_string(),
                format!(
                    r#"{columns} WHERE "status" = $1 AND "priority" = $2 ORDER BY "created_at", "ticket_id" LIMIT $3"#
                )
            ),
            (
                "agent_workload".to_string(),
                format!(
                    r#"{columns} WHERE "assigned_to" = $1 AND "status" = $2 ORDER BY "created_at", "ticket_id""#
                )
            ),
        ]
    );
    // The names are those the application's schema registers its four questions under.
    let registered: Vec<String> = schema()
        .registered_queries()
        .iter()
        .map(|r| r.query.name.to_string())
        .collect();
    let ours: Vec<String> = named(&physician)
        .into_iter()
        .chain(named(&support_team))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(registered, ours);

    // Each text prepares as the role that asks it; a physician's, in a scope of their own.
    let c = clinic();
    let names = c.db.names().clone();
    block_on(async {
        let mut doctor = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut doctor, &names, Uuid::nil())
            .await
            .unwrap();
        for query in &physician {
            tx.client().prepare(&query.sql).await.unwrap();
        }
        tx.commit().await.unwrap();
        let agent = Db::connect(&c.support_url).await.unwrap();
        for query in &support_team {
            agent.client().prepare(&query.sql).await.unwrap();
        }
    });
}

/// `text` with every run of whitespace made one space.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_readme_shows_the_four_functions_and_the_triage_order_as_the_module_writes_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let module = std::fs::read_to_string(root.join("src/schemas/db/support_queries.rs")).unwrap();
    let opening = "```rust\n// src/schemas/db/support_queries.rs, without its doc comments.\n";
    let start = readme.find(opening).expect("README.md shows the module") + opening.len();
    let block = &readme[start..start + readme[start..].find("\n```").unwrap()];

    // Each item of the block: from its `pub` line to the line that closes it.
    let mut items = Vec::new();
    let mut lines = block.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("pub ") {
            continue;
        }
        let mut item = vec![line];
        for inner in lines.by_ref() {
            item.push(inner);
            if inner == "}" || inner == "];" {
                break;
            }
        }
        items.push(item.join("\n"));
    }
    let shown: Vec<&str> = items
        .iter()
        .map(|item| item.split(['(', ':']).next().unwrap())
        .collect();
    assert_eq!(
        shown,
        [
            "pub const TRIAGE_ORDER",
            "pub fn provider_tickets_with_status",
            "pub fn provider_recent_tickets",
            "pub fn triage_queue",
            "pub fn agent_workload"
        ]
    );
    let module = words(&module);
    for item in &items {
        assert!(
            module.contains(&words(item)),
            "README.md shows this otherwise than src/schemas/db/support_queries.rs:\n{item}"
        );
    }
}

#[test]
fn the_four_queries_run_unchanged_on_sqlx_in_a_physicians_scope_and_as_the_support_team() {
    use schema_core::sqlx::{self as sx, RequestScope};
    let c = clinic();
    let (a, b) = (c.providers[0], c.providers[1]);
    let pages_expected = c.expected(
        |s| s.1 == 0,
        |w| std::cmp::Reverse((w.created_at, w.ticket_id)),
    );
    let open_expected = c.expected(
        |s| s.1 == 0 && s.2 == Open,
        |w| std::cmp::Reverse((w.created_at, w.ticket_id)),
    );
    let queue_expected = c.expected(
        |s| s.2 == Open,
        |w| (urgency(w.spec.3), w.created_at, w.ticket_id),
    );
    let names = c.db.names().clone();
    block_on(async {
        let doctor = sqlx::PgPool::connect(&c.physician_url).await.unwrap();
        let provider = a.to_string();
        let scope = RequestScope {
            role: names.role_name(PHYSICIAN_ROLE),
            setting: names.setting_name(PROVIDER_SETTING),
            value: &provider,
        };
        let mut tx = sx::scoped_transaction(&doctor, scope).await.unwrap();
        let mut seen: Vec<SelectSupportTicket> = Vec::new();
        loop {
            let query = provider_recent_tickets(a, 3, seen.last());
            let page = sx::fetch_all(&mut *tx, &query).await.unwrap();
            if page.is_empty() {
                break;
            }
            seen.extend(page);
        }
        assert_eq!(subjects(&seen), pages_expected);
        let open = sx::fetch_all(&mut *tx, &provider_tickets_with_status(a, Open))
            .await
            .unwrap();
        assert_eq!(subjects(&open), open_expected);
        let recent = sx::fetch_all(&mut *tx, &provider_recent_tickets(a, 1, None))
            .await
            .unwrap();
        assert_eq!(subjects(&recent), ["a8"]);
        let theirs = sx::fetch_all(&mut *tx, &provider_recent_tickets(b, 100, None))
            .await
            .unwrap();
        assert_eq!(subjects(&theirs), Vec::<&str>::new());
        tx.commit().await.unwrap();

        let support = sqlx::PgPool::connect(&c.support_url).await.unwrap();
        let mut queue = Vec::new();
        for priority in TRIAGE_ORDER {
            queue.extend(
                sx::fetch_all(&support, &triage_queue(Open, priority, 100))
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(subjects(&queue), queue_expected);
        let workload = sx::fetch_all(&support, &agent_workload("agent 7", InProgress))
            .await
            .unwrap();
        assert_eq!(subjects(&workload), ["a3", "b3"]);
    });
}
