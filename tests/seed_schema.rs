//! The `support_tickets` table, as PostgreSQL sees it, against its specification
//! `D13-002-support-tickets.md` (the SEED).
//!
//! Each test applies the dumped DDL to its own throwaway database (see `common::TestDb`) and
//! compares what the server reports (catalog rows, `format_type`, `pg_get_indexdef`, error
//! codes) with values written out by hand from the seed, never with the metadata that
//! `#[derive(PgTable)]` generates: a difference between the DDL and the seed fails a test.
//! The column and table comments are compared with the doc comments of `SupportTicket` in
//! `src/schemas/db/support.rs`, which the DDL turns into `COMMENT ON`.
//!
//! Needs a PostgreSQL server (13 or newer): `DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, and `psql` on the `PATH`.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use chrono::{DateTime, Utc};
use common::TestDb;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Row};
use schema_core::PgEnum;
use shared::schemas::db::{
    InsertSupportTicket, SelectSupportTicket, TicketCategory, TicketPriority, TicketStatus,
};
use uuid::Uuid;

/// From the seed's Notes column: the values each enumerated column takes.
const SEED_CATEGORIES: [&str; 4] = ["BILLING", "TECHNICAL", "ACCOUNT", "FEATURE_REQUEST"];
const SEED_PRIORITIES: [&str; 4] = ["LOW", "MEDIUM", "HIGH", "URGENT"];
const SEED_STATUSES: [&str; 5] = [
    "OPEN",
    "IN_PROGRESS",
    "WAITING_ON_CUSTOMER",
    "RESOLVED",
    "CLOSED",
];

#[test]
fn dumped_ddl_applies_with_psql_on_error_stop() {
    let mut db = TestDb::new();
    let ddl = db.ddl();

    let mut psql = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.url()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run `psql`: install the PostgreSQL client (it must be on the PATH)");
    psql.stdin
        .take()
        .expect("psql's stdin is piped")
        .write_all(ddl.as_bytes())
        .expect("feed the DDL to psql");
    let output = psql.wait_with_output().expect("wait for psql");
    assert!(
        output.status.success(),
        "psql -v ON_ERROR_STOP=1 refused the dumped DDL ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    // And the script did create the tables.
    let tables: Vec<String> = db
        .client()
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .expect("list tables")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(tables, ["providers", "support_tickets"]);
}

#[test]
fn every_column_matches_the_seed() {
    let mut db = TestDb::new();
    db.apply_schema();

    let actual: Vec<(i16, String, String, bool, Option<String>)> = db
        .client()
        .query(
            "SELECT a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attribute a \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = 'public.support_tickets'::regclass \
               AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[],
        )
        .expect("read support_tickets' columns")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        .collect();

    // The seed's table, in its order: (position, name, type, NOT NULL, default).
    let expected: Vec<(i16, String, String, bool, Option<String>)> = [
        (1, "ticket_id", "uuid", true, Some("gen_random_uuid()")),
        (2, "provider_id", "uuid", true, None),
        (3, "subject", "character varying(200)", true, None),
        (4, "description", "text", true, None),
        (5, "context_url", "character varying(500)", false, None),
        (6, "context_metadata", "jsonb", false, None),
        (7, "category", "character varying(50)", false, None),
        (
            8,
            "priority",
            "character varying(10)",
            true,
            Some("'MEDIUM'::character varying"),
        ),
        (
            9,
            "status",
            "character varying(20)",
            true,
            Some("'OPEN'::character varying"),
        ),
        (10, "assigned_to", "character varying(100)", false, None),
        (11, "resolution_notes", "text", false, None),
        (12, "resolved_at", "timestamp with time zone", false, None),
        (13, "satisfaction_rating", "integer", false, None),
        (14, "satisfaction_comment", "text", false, None),
        (15, "screenshot_path", "character varying(255)", false, None),
        (
            16,
            "created_at",
            "timestamp with time zone",
            true,
            Some("now()"),
        ),
        (
            17,
            "updated_at",
            "timestamp with time zone",
            true,
            Some("now()"),
        ),
    ]
    .into_iter()
    .map(|(position, name, ty, not_null, default)| {
        (
            position,
            name.to_string(),
            ty.to_string(),
            not_null,
            default.map(str::to_string),
        )
    })
    .collect();

    assert_eq!(actual, expected);
}

#[test]
fn primary_key_is_ticket_id_and_provider_id_references_providers() {
    let mut db = TestDb::new();
    db.apply_schema();

    /// A row of pg_constraint, names resolved.
    #[derive(Debug, PartialEq)]
    struct Key {
        contype: String,
        columns: Vec<String>,
        references_table: Option<String>,
        references_columns: Vec<String>,
        on_update: String,
        on_delete: String,
    }
    // Every constraint but the checks.
    let actual: Vec<Key> = db
        .client()
        .query(
            "SELECT c.contype::text, \
                    ARRAY(SELECT a.attname::text \
                          FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
                          ORDER BY k.ord), \
                    NULLIF(c.confrelid, 0)::regclass::text, \
                    ARRAY(SELECT a.attname::text \
                          FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum \
                          ORDER BY k.ord), \
                    c.confupdtype::text, c.confdeltype::text \
             FROM pg_constraint c \
             WHERE c.conrelid = 'public.support_tickets'::regclass AND c.contype <> 'c' \
             ORDER BY c.contype DESC",
            &[],
        )
        .expect("read support_tickets' constraints")
        .iter()
        .map(|row| Key {
            contype: row.get(0),
            columns: row.get(1),
            references_table: row.get(2),
            references_columns: row.get(3),
            on_update: row.get(4),
            on_delete: row.get(5),
        })
        .collect();

    let expected = vec![
        // ticket_id: PK. (pg_constraint leaves a non-foreign key's actions blank.)
        Key {
            contype: "p".into(),
            columns: vec!["ticket_id".into()],
            references_table: None,
            references_columns: vec![],
            on_update: " ".into(),
            on_delete: " ".into(),
        },
        // provider_id: FK to providers, `.references(() => providers.provider_id)` without
        // actions, so NO ACTION ('a') on update and on delete.
        Key {
            contype: "f".into(),
            columns: vec!["provider_id".into()],
            references_table: Some("providers".into()),
            references_columns: vec!["provider_id".into()],
            on_update: "a".into(),
            on_delete: "a".into(),
        },
    ];
    assert_eq!(actual, expected);
}

#[test]
fn exactly_the_four_seed_indexes_besides_the_primary_key() {
    let mut db = TestDb::new();
    db.apply_schema();

    struct Index {
        primary: bool,
        unique: bool,
        method: String,
        partial_or_expression: bool,
        columns: Vec<String>,
        definition: String,
    }
    let indexes: Vec<Index> = db
        .client()
        .query(
            "SELECT i.indisprimary, i.indisunique, am.amname::text, \
                    i.indpred IS NOT NULL OR i.indexprs IS NOT NULL, \
                    ARRAY(SELECT a.attname::text \
                          || CASE WHEN i.indoption[k] & 1 = 1 THEN ' DESC' ELSE '' END \
                          || CASE WHEN i.indoption[k] & 3 = 2 THEN ' NULLS FIRST' \
                                  WHEN i.indoption[k] & 3 = 1 THEN ' NULLS LAST' \
                                  ELSE '' END \
                          || CASE WHEN i.indoption[k] & ~3 <> 0 \
                                  THEN ' indoption=' || i.indoption[k] ELSE '' END \
                          FROM generate_series(0, i.indnkeyatts - 1) AS k \
                          LEFT JOIN pg_attribute a \
                            ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k] \
                          ORDER BY k), \
                    pg_get_indexdef(i.indexrelid) \
             FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_am am ON am.oid = c.relam \
             WHERE i.indrelid = 'public.support_tickets'::regclass",
            &[],
        )
        .expect("read support_tickets' indexes")
        .iter()
        .map(|row| Index {
            primary: row.get(0),
            unique: row.get(1),
            method: row.get(2),
            partial_or_expression: row.get(3),
            columns: row.get(4),
            definition: row.get(5),
        })
        .collect();

    let (primary, secondary): (Vec<&Index>, Vec<&Index>) =
        indexes.iter().partition(|index| index.primary);
    assert_eq!(
        primary
            .iter()
            .map(|i| i.columns.clone())
            .collect::<Vec<_>>(),
        [["ticket_id"]],
        "the primary key's index"
    );

    // The seed's four indexes, each column with its direction: DESC only on created_at, and
    // NULLS left at the default for the direction (an explicit NULLS would show here).
    let mut expected: Vec<Vec<&str>> = vec![
        vec!["provider_id", "status"],
        vec!["provider_id", "created_at DESC"],
        vec!["status", "priority"],
        vec!["assigned_to", "status"],
    ];
    let mut actual: Vec<Vec<&str>> = secondary
        .iter()
        .map(|i| i.columns.iter().map(String::as_str).collect())
        .collect();
    expected.sort();
    actual.sort();
    assert_eq!(actual, expected, "the indexes besides the primary key");

    for index in secondary {
        let definition = &index.definition;
        assert!(
            !index.unique,
            "the seed asks for no unique index: {definition}"
        );
        assert_eq!(index.method, "btree", "{definition}");
        assert!(!index.partial_or_expression, "{definition}");
        assert!(
            !definition.contains("NULLS"),
            "no explicit NULLS order: {definition}"
        );
        assert_eq!(
            definition.contains(" DESC"),
            definition.contains("created_at"),
            "DESC only on created_at: {definition}"
        );
    }
}

#[test]
fn checks_allow_exactly_the_seed_values() {
    let mut db = TestDb::new();
    db.apply_schema();

    let checks: Vec<(String, Vec<String>, String)> = db
        .client()
        .query(
            "SELECT c.conname::text, \
                    ARRAY(SELECT a.attname::text \
                          FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
                          ORDER BY k.ord), \
                    pg_get_constraintdef(c.oid) \
             FROM pg_constraint c \
             WHERE c.conrelid = 'public.support_tickets'::regclass AND c.contype = 'c' \
             ORDER BY c.conname",
            &[],
        )
        .expect("read support_tickets' checks")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();

    let names_and_columns: Vec<(&str, Vec<&str>)> = checks
        .iter()
        .map(|(name, columns, _)| (name.as_str(), columns.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        names_and_columns,
        [
            ("support_tickets_category_check", vec!["category"]),
            ("support_tickets_priority_check", vec!["priority"]),
            (
                "support_tickets_satisfaction_rating_check",
                vec!["satisfaction_rating"]
            ),
            ("support_tickets_status_check", vec!["status"]),
        ]
    );

    // Each enumerated check names exactly the seed's values.
    let definition = |column: &str| -> &str {
        &checks
            .iter()
            .find(|(_, columns, _)| columns == &[column])
            .expect("checked above")
            .2
    };
    for (column, seed_values) in [
        ("category", &SEED_CATEGORIES[..]),
        ("priority", &SEED_PRIORITIES[..]),
        ("status", &SEED_STATUSES[..]),
    ] {
        let mut allowed = quoted_literals(definition(column));
        let mut seed: Vec<String> = seed_values.iter().map(|v| v.to_string()).collect();
        allowed.sort();
        seed.sort();
        assert_eq!(allowed, seed, "{column}: {}", definition(column));
    }
    assert_eq!(
        definition("satisfaction_rating"),
        "CHECK (((satisfaction_rating >= 1) AND (satisfaction_rating <= 5)))"
    );

    // And the database takes every seed value, and each reads back as the Rust enum.
    let provider_id = insert_provider(db.client());
    let mut accepted = 0;
    for (column, values) in [
        ("category", &SEED_CATEGORIES[..]),
        ("priority", &SEED_PRIORITIES[..]),
        ("status", &SEED_STATUSES[..]),
    ] {
        for &value in values {
            let mut columns = insert_columns(&new_ticket(provider_id));
            set(&mut columns, column, Some(Box::new(value)));
            let row = insert_ticket(db.client(), &columns)
                .unwrap_or_else(|error| panic!("{column} = {value:?} refused: {error}"));
            let ticket = select_ticket(&row);
            let read_back = match column {
                "category" => ticket.category.map(|c| c.as_str()),
                "priority" => Some(ticket.priority.as_str()),
                _ => Some(ticket.status.as_str()),
            };
            assert_eq!(read_back, Some(value));
            accepted += 1;
        }
    }
    assert_eq!(accepted, 13);
    for rating in [None, Some(1), Some(5)] {
        let mut ticket = new_ticket(provider_id);
        ticket.satisfaction_rating = rating;
        let row = insert_ticket(db.client(), &insert_columns(&ticket))
            .unwrap_or_else(|error| panic!("satisfaction_rating = {rating:?} refused: {error}"));
        assert_eq!(select_ticket(&row).satisfaction_rating, rating);
    }
    let mut ticket = new_ticket(provider_id);
    ticket.satisfaction_rating = Some(0);
    let error = insert_ticket(db.client(), &insert_columns(&ticket)).expect_err("rating 0");
    assert_eq!(error.code(), Some(&SqlState::CHECK_VIOLATION), "{error}");
}

#[test]
fn comments_are_the_struct_doc_comments() {
    let mut db = TestDb::new();
    db.apply_schema();

    let table: Option<String> = db
        .client()
        .query_one(
            "SELECT obj_description('public.support_tickets'::regclass, 'pg_class')",
            &[],
        )
        .expect("read the table comment")
        .get(0);
    assert_eq!(
        table.as_deref(),
        Some("A physician's request for help, raised from the page where they clicked Help.")
    );

    let actual: Vec<(String, Option<String>)> = db
        .client()
        .query(
            "SELECT a.attname::text, col_description(a.attrelid, a.attnum) \
             FROM pg_attribute a \
             WHERE a.attrelid = 'public.support_tickets'::regclass \
               AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[],
        )
        .expect("read the column comments")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    // The doc comments of `SupportTicket`'s fields in src/schemas/db/support.rs, and for the
    // `sensitive` and `internal` ones, what that means.
    let expected: Vec<(String, Option<String>)> = [
        ("ticket_id", "Unique identifier of the ticket."),
        (
            "provider_id",
            "The physician who raised the ticket; they see only their own tickets.",
        ),
        (
            "subject",
            "Auto-generated from context or physician-entered.",
        ),
        (
            "description",
            "Physician's description of the issue; may contain PHI.\n\n\
             Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.",
        ),
        ("context_url", "Page URL where Help was clicked."),
        (
            "context_metadata",
            "Auto-captured context: claim_id, batch_id, error codes, browser info. PHI-adjacent.\n\n\
             Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.",
        ),
        ("category", "Assigned by the support team."),
        ("priority", "How urgent the ticket is."),
        ("status", "Where the ticket stands."),
        ("assigned_to", "Support team member handling the ticket."),
        ("resolution_notes", "How the issue was resolved."),
        ("resolved_at", "When the ticket was resolved."),
        ("satisfaction_rating", "1-5 star rating from the physician."),
        ("satisfaction_comment", "Optional comment with the rating."),
        (
            "screenshot_path",
            "Path to the uploaded screenshot in encrypted storage; never exposed in API responses.\n\n\
             Internal: never serialized nor read from deserialized input.",
        ),
        ("created_at", "When the ticket was raised."),
        ("updated_at", "When the ticket last changed."),
    ]
    .into_iter()
    .map(|(column, comment)| (column.to_string(), Some(comment.to_string())))
    .collect();
    assert_eq!(actual, expected);
}

#[test]
fn insert_fills_the_seed_defaults_and_the_database_refuses_bad_rows() {
    let mut db = TestDb::new();
    db.apply_schema();
    let provider_id = insert_provider(db.client());

    let before: DateTime<Utc> = db.client().query_one("SELECT now()", &[]).unwrap().get(0);
    let insert = InsertSupportTicket::new(
        provider_id,
        "Claim rejected with code E42".to_string(),
        "The batch I submitted this morning came back rejected.".to_string(),
    );
    let row = insert_ticket(db.client(), &insert_columns(&insert)).expect("insert a ticket");
    let after: DateTime<Utc> = db.client().query_one("SELECT now()", &[]).unwrap().get(0);
    let ticket = select_ticket(&row);

    // The defaults of the seed: gen_random_uuid(), 'MEDIUM', 'OPEN', now(), now().
    assert!(!ticket.ticket_id.is_nil());
    assert_eq!(
        ticket.ticket_id.get_version_num(),
        4,
        "gen_random_uuid() gives a v4 UUID"
    );
    assert_eq!(ticket.priority, TicketPriority::Medium);
    assert_eq!(ticket.status, TicketStatus::Open);
    for (column, at) in [
        ("created_at", ticket.created_at),
        ("updated_at", ticket.updated_at),
    ] {
        assert!(
            before <= at && at <= after,
            "{column} = {at}, not now() ({before}..{after})"
        );
    }
    assert_eq!(
        ticket.created_at, ticket.updated_at,
        "both now() of the same transaction"
    );
    // Everything else is what was given, and NULL where nothing was.
    let expected = SelectSupportTicket {
        ticket_id: ticket.ticket_id,
        provider_id,
        subject: "Claim rejected with code E42".to_string(),
        description: "The batch I submitted this morning came back rejected.".to_string(),
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
        created_at: ticket.created_at,
        updated_at: ticket.updated_at,
    };
    assert_eq!(ticket, expected);

    // A full row round-trips too.
    let resolved_at: DateTime<Utc> = "2024-05-01T12:30:00Z".parse().unwrap();
    let full = InsertSupportTicket {
        ticket_id: Some(Uuid::new_v4()),
        context_url: Some("https://app.example/claims/42".to_string()),
        context_metadata: Some(serde_json::json!({"claim_id": "42", "error_codes": ["E42"]})),
        category: Some(TicketCategory::FeatureRequest),
        priority: Some(TicketPriority::Urgent),
        status: Some(TicketStatus::WaitingOnCustomer),
        assigned_to: Some("agent.smith".to_string()),
        resolution_notes: Some("Resubmitted.".to_string()),
        resolved_at: Some(resolved_at),
        satisfaction_rating: Some(5),
        satisfaction_comment: Some("Quick!".to_string()),
        screenshot_path: Some("screenshots/42.png".to_string()),
        created_at: Some(resolved_at),
        updated_at: Some(resolved_at),
        ..InsertSupportTicket::new(provider_id, "x".repeat(200), "Details.".to_string())
    };
    let row = insert_ticket(db.client(), &insert_columns(&full)).expect("insert a full ticket");
    assert_eq!(
        select_ticket(&row),
        SelectSupportTicket {
            ticket_id: full.ticket_id.unwrap(),
            provider_id,
            subject: full.subject.clone(),
            description: full.description.clone(),
            context_url: full.context_url.clone(),
            context_metadata: full.context_metadata.clone(),
            category: full.category,
            priority: TicketPriority::Urgent,
            status: TicketStatus::WaitingOnCustomer,
            assigned_to: full.assigned_to.clone(),
            resolution_notes: full.resolution_notes.clone(),
            resolved_at: Some(resolved_at),
            satisfaction_rating: Some(5),
            satisfaction_comment: full.satisfaction_comment.clone(),
            screenshot_path: full.screenshot_path.clone(),
            created_at: resolved_at,
            updated_at: resolved_at,
        }
    );

    // What the database refuses, each on an otherwise valid ticket.
    let mut ticket = new_ticket(provider_id);
    ticket.satisfaction_rating = Some(6);
    let error = insert_ticket(db.client(), &insert_columns(&ticket)).expect_err("rating 6");
    assert_eq!(error.code(), Some(&SqlState::CHECK_VIOLATION), "{error}");
    assert_eq!(
        error.as_db_error().and_then(|e| e.constraint()),
        Some("support_tickets_satisfaction_rating_check")
    );

    let mut columns = insert_columns(&new_ticket(provider_id));
    set(&mut columns, "priority", Some(Box::new("SOMETIMES")));
    let error = insert_ticket(db.client(), &columns).expect_err("priority 'SOMETIMES'");
    assert_eq!(error.code(), Some(&SqlState::CHECK_VIOLATION), "{error}");
    assert_eq!(
        error.as_db_error().and_then(|e| e.constraint()),
        Some("support_tickets_priority_check")
    );

    let mut ticket = new_ticket(provider_id);
    ticket.subject = "x".repeat(201);
    let error = insert_ticket(db.client(), &insert_columns(&ticket)).expect_err("201 chars");
    assert_eq!(
        error.code(),
        Some(&SqlState::STRING_DATA_RIGHT_TRUNCATION),
        "{error}"
    );

    let mut ticket = new_ticket(provider_id);
    ticket.provider_id = Uuid::new_v4();
    let error = insert_ticket(db.client(), &insert_columns(&ticket)).expect_err("no provider");
    assert_eq!(
        error.code(),
        Some(&SqlState::FOREIGN_KEY_VIOLATION),
        "{error}"
    );

    let mut columns = insert_columns(&new_ticket(provider_id));
    set(&mut columns, "description", Some(Box::new(None::<String>)));
    let error = insert_ticket(db.client(), &columns).expect_err("NULL description");
    assert_eq!(error.code(), Some(&SqlState::NOT_NULL_VIOLATION), "{error}");
    assert_eq!(
        error.as_db_error().and_then(|e| e.column()),
        Some("description")
    );

    // Only the two good tickets are there.
    let count: i64 = db
        .client()
        .query_one("SELECT count(*) FROM support_tickets", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
}

/// A value bound to an INSERT's parameter.
type Param = Box<dyn ToSql + Sync>;

/// A column of an INSERT and what goes in it: a bound value, or `None` for `DEFAULT`.
type Column = (&'static str, Option<Param>);

fn bind<T: ToSql + Sync + 'static>(value: Option<T>) -> Option<Param> {
    value.map(|value| Box::new(value) as Param)
}

/// `ticket`'s fields bound by hand, `DEFAULT` where a field is `None`.
fn insert_columns(ticket: &InsertSupportTicket) -> Vec<Column> {
    // Destructured whole, so a new field fails to compile here instead of going unbound.
    let InsertSupportTicket {
        ticket_id,
        provider_id,
        subject,
        description,
        context_url,
        context_metadata,
        category,
        priority,
        status,
        assigned_to,
        resolution_notes,
        resolved_at,
        satisfaction_rating,
        satisfaction_comment,
        screenshot_path,
        created_at,
        updated_at,
    } = ticket.clone();
    vec![
        ("ticket_id", bind(ticket_id)),
        ("provider_id", bind(Some(provider_id))),
        ("subject", bind(Some(subject))),
        ("description", bind(Some(description))),
        ("context_url", bind(context_url)),
        ("context_metadata", bind(context_metadata)),
        ("category", bind(category.map(|c| c.as_str()))),
        ("priority", bind(priority.map(|p| p.as_str()))),
        ("status", bind(status.map(|s| s.as_str()))),
        ("assigned_to", bind(assigned_to)),
        ("resolution_notes", bind(resolution_notes)),
        ("resolved_at", bind(resolved_at)),
        ("satisfaction_rating", bind(satisfaction_rating)),
        ("satisfaction_comment", bind(satisfaction_comment)),
        ("screenshot_path", bind(screenshot_path)),
        ("created_at", bind(created_at)),
        ("updated_at", bind(updated_at)),
    ]
}

/// Replaces what goes into `column`, for values the Insert type cannot hold.
fn set(columns: &mut [Column], column: &str, value: Option<Param>) {
    let slot = columns
        .iter_mut()
        .find(|(name, _)| *name == column)
        .expect("a known column");
    slot.1 = value;
}

/// `INSERT INTO support_tickets (...) VALUES ($1, DEFAULT, ...) RETURNING *`.
fn insert_ticket(client: &mut Client, columns: &[Column]) -> Result<Row, postgres::Error> {
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
    let mut values = Vec::new();
    for (_, value) in columns {
        match value {
            Some(value) => {
                params.push(value.as_ref());
                values.push(format!("${}", params.len()));
            }
            None => values.push("DEFAULT".to_string()),
        }
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let sql = format!(
        "INSERT INTO support_tickets ({}) VALUES ({}) RETURNING *",
        names.join(", "),
        values.join(", ")
    );
    client.query_one(&sql, &params)
}

/// A row of `support_tickets` read by hand into the Select type.
fn select_ticket(row: &Row) -> SelectSupportTicket {
    SelectSupportTicket {
        ticket_id: row.get("ticket_id"),
        provider_id: row.get("provider_id"),
        subject: row.get("subject"),
        description: row.get("description"),
        context_url: row.get("context_url"),
        context_metadata: row.get("context_metadata"),
        category: row.get::<_, Option<&str>>("category").map(enum_from_text),
        priority: enum_from_text(row.get("priority")),
        status: enum_from_text(row.get("status")),
        assigned_to: row.get("assigned_to"),
        resolution_notes: row.get("resolution_notes"),
        resolved_at: row.get("resolved_at"),
        satisfaction_rating: row.get("satisfaction_rating"),
        satisfaction_comment: row.get("satisfaction_comment"),
        screenshot_path: row.get("screenshot_path"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

fn enum_from_text<E: PgEnum>(text: &str) -> E {
    E::from_text(text).unwrap_or_else(|| {
        panic!(
            "{text:?} read back is not a value of {}",
            std::any::type_name::<E>()
        )
    })
}

/// A ticket with only the required fields, for `provider_id`.
fn new_ticket(provider_id: Uuid) -> InsertSupportTicket {
    InsertSupportTicket::new(
        provider_id,
        "Subject".to_string(),
        "Description".to_string(),
    )
}

/// Inserts a provider (the FK target) and returns its `provider_id`.
fn insert_provider(client: &mut Client) -> Uuid {
    client
        .query_one(
            "INSERT INTO providers (npi, first_name, last_name, email) \
             VALUES ('1234567890', 'Ada', 'Lovelace', 'ada@example.org') \
             RETURNING provider_id",
            &[],
        )
        .expect("insert a provider")
        .get(0)
}

/// The texts between single quotes in an SQL expression (`''` is a quote inside one).
fn quoted_literals(sql: &str) -> Vec<String> {
    let mut literals = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                } else {
                    break;
                }
            } else {
                literal.push(c);
            }
        }
        literals.push(literal);
    }
    literals
}
