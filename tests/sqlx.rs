//! schema-core over sqlx (feature `sqlx`) against a real PostgreSQL server: inserts of one and
//! many rows read back through `sqlx::query_as` into the generated `SelectX`, text enums bound
//! and read as their text, values that do not fit their field read as typed decode errors (never
//! a panic), and the provider-scoped transaction over a `sqlx::PgPool`, as a physician's login
//! role that is not the table's owner: one provider's rows only, and nothing carried from one
//! request to the next over pooled connections.
//!
//! Each test works in its own throwaway database (see `common::TestDb`).

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::{shown, TestDb, PHI_MARKER};
use schema_core::sqlx::{
    decode_error, insert, insert_many, scoped_transaction, ConstraintKind, DecodeProblem,
    RequestScope, ScopeProblem, SettingProblem, SqlxError,
};
use schema_core::{PgEnum, Rule};
use serde_json::json;
use shared::schemas::db::{
    InsertProvider, InsertSupportTicket, SelectProvider, SelectSupportTicket, SupportTicket,
    TicketCategory, TicketPriority, TicketStatus, PHYSICIAN_ROLE, PROVIDER_SETTING,
    SUPPORT_TEAM_ROLE,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// Every column, as `SELECT *` would give them, in a stable order.
const ALL_TICKETS: &str = "SELECT * FROM support_tickets ORDER BY subject";

fn run<F: std::future::Future<Output = ()>>(future: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future);
}

async fn pool(url: &str, connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(connections)
        .connect(url)
        .await
        .unwrap()
}

/// Adds a provider through sqlx and returns it as stored.
async fn add_provider(pool: &PgPool, n: u32) -> SelectProvider {
    let provider = InsertProvider::new(
        format!("{n:010}"),
        "Ada".into(),
        "Lovelace".into(),
        format!("provider{n}@example.com"),
    );
    insert(pool, &provider).await.unwrap()
}

/// A ticket with only the required columns set.
fn ticket(provider: Uuid, i: usize) -> InsertSupportTicket {
    InsertSupportTicket::new(
        provider,
        format!("subject {i:05}"),
        format!("description {i}"),
    )
}

async fn count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM support_tickets")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A row as written, compared with the row read back: the columns an `InsertX` sets.
fn written(t: &InsertSupportTicket) -> impl PartialEq + std::fmt::Debug {
    (
        (t.provider_id, t.subject.clone(), t.description.clone()),
        (
            t.context_url.clone(),
            t.context_metadata.clone(),
            t.category,
        ),
        (
            t.priority.unwrap_or(TicketPriority::Medium),
            t.status.unwrap_or(TicketStatus::Open),
        ),
        (
            t.assigned_to.clone(),
            t.resolution_notes.clone(),
            t.resolved_at,
        ),
        (
            t.satisfaction_rating,
            t.satisfaction_comment.clone(),
            t.screenshot_path.clone(),
        ),
    )
}

fn read(t: &SelectSupportTicket) -> InsertSupportTicket {
    InsertSupportTicket {
        context_url: t.context_url.clone(),
        context_metadata: t.context_metadata.clone(),
        category: t.category,
        priority: Some(t.priority),
        status: Some(t.status),
        assigned_to: t.assigned_to.clone(),
        resolution_notes: t.resolution_notes.clone(),
        resolved_at: t.resolved_at,
        satisfaction_rating: t.satisfaction_rating,
        satisfaction_comment: t.satisfaction_comment.clone(),
        screenshot_path: t.screenshot_path.clone(),
        ..InsertSupportTicket::new(t.provider_id, t.subject.clone(), t.description.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Writes and reads.

#[test]
fn one_row_is_inserted_and_read_back_with_its_defaults() {
    let db = TestDb::with_schema();
    run(async {
        let pool = pool(db.url(), 2).await;
        let provider = add_provider(&pool, 1).await;
        // A table without grants: the row's NULLs are bound, typed.
        assert_eq!(provider.practice_name, None);
        assert!(provider.is_active, "the database's default");

        let before: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
            .fetch_one(&pool)
            .await
            .unwrap();
        let stored = insert(&pool, &ticket(provider.provider_id, 1))
            .await
            .unwrap();
        assert_ne!(stored.ticket_id, Uuid::nil(), "ticket_id is generated");
        assert_eq!(stored.priority, TicketPriority::Medium);
        assert_eq!(stored.status, TicketStatus::Open);
        assert!(stored.created_at >= before);
        assert_eq!(stored.updated_at, stored.created_at);
        assert_eq!(
            (
                stored.context_url.as_deref(),
                stored.category,
                stored.resolved_at
            ),
            (None, None, None)
        );

        let all: Vec<SelectSupportTicket> =
            sqlx::query_as(ALL_TICKETS).fetch_all(&pool).await.unwrap();
        assert_eq!(all, std::slice::from_ref(&stored));
        let by_key: SelectSupportTicket =
            sqlx::query_as("SELECT * FROM support_tickets WHERE ticket_id = $1")
                .bind(stored.ticket_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(by_key, stored);
        pool.close().await;
    });
}

#[test]
fn explicit_values_and_nulls_round_trip() {
    let db = TestDb::with_schema();
    run(async {
        let pool = pool(db.url(), 2).await;
        let provider = add_provider(&pool, 1).await.provider_id;
        let resolved_at: DateTime<Utc> = "2026-01-02T03:04:05.123456Z".parse().unwrap();
        let full = InsertSupportTicket {
            context_url: Some("https://app.example.com/claims/7".into()),
            context_metadata: Some(json!({"claim_id": 7, "codes": ["CO-16"], "ratio": 0.1})),
            category: Some(TicketCategory::FeatureRequest),
            priority: Some(TicketPriority::Urgent),
            status: Some(TicketStatus::WaitingOnCustomer),
            assigned_to: Some("agent.smith".into()),
            resolution_notes: Some("Ünïcödé ✓".into()),
            resolved_at: Some(resolved_at),
            satisfaction_rating: Some(5),
            satisfaction_comment: Some("".into()),
            screenshot_path: Some("s3://bucket/7.png".into()),
            ..ticket(provider, 1)
        };
        let stored = insert(&pool, &full).await.unwrap();
        assert_eq!(written(&read(&stored)), written(&full));

        // The nullable columns left NULL read back as `None`, whichever path wrote them.
        let bare = ticket(provider, 2);
        let stored_bare = insert(&pool, &bare).await.unwrap();
        assert_eq!(written(&read(&stored_bare)), written(&bare));
        let nulls: Vec<(Option<String>, Option<i32>, Option<serde_json::Value>)> = sqlx::query_as(
            "SELECT context_url, satisfaction_rating, context_metadata FROM support_tickets \
                 WHERE ticket_id = $1",
        )
        .bind(stored_bare.ticket_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(nulls, [(None, None, None)]);

        // A NULL written by hand into a nullable column reads as `None` too.
        sqlx::query(
            "UPDATE support_tickets SET context_url = NULL, category = NULL WHERE ticket_id = $1",
        )
        .bind(stored.ticket_id)
        .execute(&pool)
        .await
        .unwrap();
        let again: SelectSupportTicket =
            sqlx::query_as("SELECT * FROM support_tickets WHERE ticket_id = $1")
                .bind(stored.ticket_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((again.context_url, again.category), (None, None));
        pool.close().await;
    });
}

#[test]
fn many_rows_land_in_multi_row_inserts_and_read_back_as_written() {
    let db = TestDb::with_schema();
    run(async {
        let pool = pool(db.url(), 2).await;
        let provider = add_provider(&pool, 1).await.provider_id;
        // 2,500 rows with NULLs and defaults in varying places: several runs of one shape and
        // chunks of 1,000 with power-of-two tails.
        let rows: Vec<InsertSupportTicket> = (0..2_500)
            .map(|i| InsertSupportTicket {
                context_url: (i % 3 == 0).then(|| format!("https://app.example.com/{i}")),
                context_metadata: (i % 5 == 0)
                    .then(|| json!({"n": i, "big": 9007199254740993_i64})),
                category: (i % 7 == 0).then_some(TicketCategory::Billing),
                priority: (i < 1_200).then_some(TicketPriority::High),
                satisfaction_rating: (i % 2 == 0).then_some((i % 5) as i32 + 1),
                ..ticket(provider, i)
            })
            .collect();
        assert_eq!(insert_many(&pool, &rows).await.unwrap(), 2_500);
        assert_eq!(
            insert_many(&pool, &[] as &[InsertSupportTicket])
                .await
                .unwrap(),
            0
        );

        let back: Vec<SelectSupportTicket> =
            sqlx::query_as(ALL_TICKETS).fetch_all(&pool).await.unwrap();
        assert_eq!(back.len(), rows.len());
        for (row, stored) in rows.iter().zip(&back) {
            assert_eq!(written(&read(stored)), written(row));
        }
        // The tokio-postgres side reads the very same rows.
        let db = schema_core::pg::Db::connect(db.url()).await.unwrap();
        let mut by_pg = db.select_all::<SupportTicket>().await.unwrap();
        by_pg.sort_by(|a, b| a.subject.cmp(&b.subject));
        assert_eq!(by_pg, back);
        pool.close().await;
    });
}

#[test]
fn invalid_rows_are_refused_before_anything_is_sent() {
    let db = TestDb::with_schema();
    run(async {
        let pool = pool(db.url(), 2).await;
        let provider = add_provider(&pool, 1).await.provider_id;
        let invalid = InsertSupportTicket {
            subject: "x".repeat(201),
            satisfaction_rating: Some(6),
            ..ticket(provider, 0)
        };
        match insert(&pool, &invalid).await.unwrap_err() {
            SqlxError::Validation(error) => {
                let rules: Vec<_> = error.violations.iter().map(|v| &v.rule).collect();
                assert!(
                    matches!(rules[..], [Rule::TooLong { .. }, Rule::OutOfRange { .. }]),
                    "{error}"
                );
            }
            other => panic!("{other}"),
        }
        let mut batch: Vec<_> = (0..10).map(|i| ticket(provider, i)).collect();
        batch[3] = invalid;
        match insert_many(&pool, &batch).await.unwrap_err() {
            SqlxError::InvalidRow { index, .. } => assert_eq!(index, 3),
            other => panic!("{other}"),
        }
        assert_eq!(count(&pool).await, 0, "nothing of the batch was written");

        // A rule only the database knows: the provider must exist.
        let error = insert(&pool, &ticket(Uuid::new_v4(), 0)).await.unwrap_err();
        let violation = error.constraint().expect("a constraint violation");
        assert_eq!(violation.kind, ConstraintKind::ForeignKey, "{error}");
        assert_eq!(
            violation.constraint.as_deref(),
            Some("support_tickets_provider_id_fkey")
        );
        // A batch the database refuses lands not at all.
        let batch = [ticket(provider, 1), ticket(Uuid::new_v4(), 2)];
        let error = insert_many(&pool, &batch).await.unwrap_err();
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::ForeignKey)
        );
        assert_eq!(count(&pool).await, 0);
        pool.close().await;
    });
}

// ---------------------------------------------------------------------------------------------
// Text enums and values that do not fit.

#[test]
fn text_enums_bind_and_read_as_their_text() {
    let db = TestDb::with_schema();
    run(async {
        let pool = pool(db.url(), 2).await;
        let provider = add_provider(&pool, 1).await.provider_id;
        for (i, priority) in [TicketPriority::Low, TicketPriority::Urgent]
            .into_iter()
            .enumerate()
        {
            insert(
                &pool,
                &InsertSupportTicket {
                    priority: Some(priority),
                    category: Some(TicketCategory::FeatureRequest),
                    ..ticket(provider, i)
                },
            )
            .await
            .unwrap();
        }
        // Bound as text against a varchar column.
        let urgent: Vec<SelectSupportTicket> =
            sqlx::query_as("SELECT * FROM support_tickets WHERE priority = $1")
                .bind(TicketPriority::Urgent)
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(urgent.len(), 1);
        assert_eq!(urgent[0].priority, TicketPriority::Urgent);
        assert_eq!(urgent[0].category, Some(TicketCategory::FeatureRequest));
        // Stored as the text itself.
        let texts: Vec<String> =
            sqlx::query_scalar("SELECT priority FROM support_tickets ORDER BY subject")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(texts, ["LOW", "URGENT"]);
        // Read from varchar, text, bpchar and an untyped literal; NULL as `None`.
        for sql in [
            "SELECT 'IN_PROGRESS'::varchar(20)",
            "SELECT 'IN_PROGRESS'::text",
            "SELECT 'IN_PROGRESS'::char(11)",
            "SELECT 'IN_PROGRESS'",
        ] {
            let status: TicketStatus = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            assert_eq!(status, TicketStatus::InProgress, "{sql}");
        }
        let none: Option<TicketStatus> = sqlx::query_scalar("SELECT NULL::text")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(none, None);
        // Every variant goes through the database and back.
        for &text in TicketStatus::VALUES {
            let status = TicketStatus::from_text(text).unwrap();
            let back: TicketStatus = sqlx::query_scalar("SELECT $1::varchar(20)")
                .bind(status)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(back, status);
        }
        pool.close().await;
    });
}

#[test]
fn an_unknown_enum_text_is_a_decode_error_naming_it() {
    let db = TestDb::with_schema();
    run(async {
        let pool = pool(db.url(), 2).await;
        let provider = add_provider(&pool, 1).await.provider_id;
        let stored = insert(&pool, &ticket(provider, 1)).await.unwrap();
        // Another client wrote a value this code does not know (a newer release, say).
        sqlx::raw_sql(
            "ALTER TABLE support_tickets DROP CONSTRAINT support_tickets_priority_check; \
             UPDATE support_tickets SET priority = 'BLOCKER'",
        )
        .execute(&pool)
        .await
        .unwrap();

        let error = sqlx::query_as::<_, SelectSupportTicket>(ALL_TICKETS)
            .fetch_all(&pool)
            .await
            .unwrap_err();
        let decode = decode_error(&error).unwrap_or_else(|| panic!("{error}"));
        assert_eq!(
            (decode.table, decode.column),
            ("support_tickets", "priority")
        );
        assert_eq!(decode.key, Some(stored.ticket_id.to_string()));
        assert!(
            matches!(decode.problem, DecodeProblem::Invalid { .. }),
            "{decode}"
        );
        let message = error.to_string();
        for part in ["priority", "\"BLOCKER\"", "LOW, MEDIUM, HIGH, URGENT"] {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }
        // The enum alone, too.
        let error = sqlx::query_scalar::<_, TicketPriority>("SELECT priority FROM support_tickets")
            .fetch_one(&pool)
            .await
            .unwrap_err();
        assert!(matches!(error, sqlx::Error::ColumnDecode { .. }), "{error}");
        assert!(
            error.to_string().contains("\"BLOCKER\" is not one of"),
            "{error}"
        );
        pool.close().await;
    });
}

/// `SELECT *` of the tickets with the expression `with` in place of column `column`.
fn select_with(column: &str, with: &str) -> String {
    let columns: Vec<String> = <SupportTicket as schema_core::Table>::TABLE
        .columns
        .iter()
        .map(|c| {
            if c.name == column {
                format!("{with} AS {column}")
            } else {
                c.name.to_string()
            }
        })
        .collect();
    format!("SELECT {} FROM support_tickets", columns.join(", "))
}

#[test]
fn values_that_do_not_fit_are_typed_errors_never_panics() {
    let db = TestDb::with_schema();
    run(async {
        let pool = pool(db.url(), 2).await;
        let provider = add_provider(&pool, 1).await.provider_id;
        let stored = insert(&pool, &ticket(provider, 1)).await.unwrap();
        let fetch = |sql: String| {
            let pool = pool.clone();
            async move {
                sqlx::query_as::<_, SelectSupportTicket>(&sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap_err()
            }
        };

        // A column the result lacks: sqlx's own error.
        let error = fetch("SELECT ticket_id, subject FROM support_tickets".into()).await;
        assert!(
            matches!(&error, sqlx::Error::ColumnNotFound(c) if c == "provider_id"),
            "{error}"
        );

        // A column of another SQL type.
        let error = fetch(select_with("satisfaction_rating", "1.5::float8")).await;
        let decode = decode_error(&error).unwrap_or_else(|| panic!("{error}"));
        assert_eq!(decode.column, "satisfaction_rating");
        assert!(
            matches!(&decode.problem, DecodeProblem::WrongType { sql_type } if sql_type == "FLOAT8"),
            "{decode}"
        );

        // NULL in a NOT NULL field.
        let error = fetch(select_with("subject", "NULL::varchar")).await;
        let decode = decode_error(&error).unwrap_or_else(|| panic!("{error}"));
        assert_eq!(decode.column, "subject");
        assert!(
            matches!(decode.problem, DecodeProblem::Invalid { .. }),
            "{decode}"
        );
        assert_eq!(decode.key, Some(stored.ticket_id.to_string()));

        // A jsonb number serde_json would round, in a sensitive column: refused, and not shown.
        let error = fetch(select_with("context_metadata", r#"'{"n": 1e400}'::jsonb"#)).await;
        let decode = decode_error(&error).unwrap_or_else(|| panic!("{error}"));
        assert!(
            matches!(
                &decode.problem,
                DecodeProblem::InexactNumber { number: None, .. }
            ),
            "{decode}"
        );
        assert!(!error.to_string().contains("1e400"), "{error}");
        // ...while exact ones read as they are.
        let read: SelectSupportTicket = sqlx::query_as(&select_with(
            "context_metadata",
            r#"'{"n": 1.10, "i": 9223372036854775807}'::jsonb"#,
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            read.context_metadata.unwrap().to_string(),
            r#"{"i":9223372036854775807,"n":1.10}"#.replace("1.10", "1.1")
        );

        // Timestamps chrono cannot hold, on which sqlx's own decoder panics.
        for (column, value) in [
            ("created_at", "'infinity'::timestamptz"),
            ("updated_at", "'-infinity'::timestamptz"),
            ("resolved_at", "'294000-01-01 00:00Z'::timestamptz"),
        ] {
            let error = fetch(select_with(column, value)).await;
            let decode = decode_error(&error).unwrap_or_else(|| panic!("{error}"));
            assert_eq!(decode.column, column);
            assert!(
                matches!(&decode.problem, DecodeProblem::Invalid { sql_type, .. } if sql_type == "TIMESTAMPTZ"),
                "{decode}"
            );
            assert!(
                error.to_string().contains("beyond the dates chrono holds"),
                "{error}"
            );
        }
        // ...while the last microsecond chrono holds reads.
        let read: SelectSupportTicket = sqlx::query_as(&select_with(
            "resolved_at",
            "'262142-12-31 23:59:59.999999Z'::timestamptz",
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            read.resolved_at.map(|t| t.to_rfc3339()),
            Some("+262142-12-31T23:59:59.999999+00:00".to_string())
        );

        // Through the write helpers, the same errors come back typed.
        let error = SqlxError::from(fetch(select_with("subject", "NULL::varchar")).await);
        assert_eq!(error.decode().map(|d| d.column), Some("subject"));
        pool.close().await;
    });
}

/// A table of this test's own, for the column types the application's tables lack.
#[derive(schema_core::PgTable)]
#[pg(table = "visits")]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: i64,
    pub day: chrono::NaiveDate,
    pub at: Option<chrono::NaiveDateTime>,
    pub payload: serde_json::Value,
}

#[test]
fn dates_and_json_beyond_the_rust_types_are_refused_by_column_and_key() {
    let db = TestDb::new();
    run(async {
        let pool = pool(db.url(), 1).await;
        let ddl = schema_core::Schema::new()
            .table::<Visit>()
            .to_ddl()
            .unwrap();
        sqlx::raw_sql(&ddl).execute(&pool).await.unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        let stored = insert(&pool, &InsertVisit::new(7, day, json!({"n": 1})))
            .await
            .unwrap();
        assert_eq!((stored.day, stored.at), (day, None));
        let at = day.and_hms_micro_opt(23, 59, 59, 999_999).unwrap();
        let visit = InsertVisit {
            at: Some(at),
            ..InsertVisit::new(8, day, json!([0.5]))
        };
        let stored = insert(&pool, &visit).await.unwrap();
        assert_eq!(stored.at, Some(at));

        let fetch = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                let error = sqlx::query_as::<_, SelectVisit>(sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap_err();
                let decode = decode_error(&error).unwrap_or_else(|| panic!("{error}"));
                (decode.column, decode.key.clone(), error.to_string())
            }
        };
        for sql in [
            "SELECT visit_id, 'infinity'::date AS day, at, payload FROM visits WHERE visit_id = 7",
            "SELECT visit_id, '5000000-01-01'::date AS day, at, payload FROM visits WHERE visit_id = 7",
        ] {
            let (column, key, message) = fetch(sql).await;
            assert_eq!((column, key.as_deref()), ("day", Some("7")), "{message}");
        }
        let (column, key, message) = fetch(
            "SELECT visit_id, day, '-infinity'::timestamp AS at, payload FROM visits \
             WHERE visit_id = 8",
        )
        .await;
        assert_eq!((column, key.as_deref()), ("at", Some("8")), "{message}");
        // Not sensitive: the number is shown.
        let (column, _, message) = fetch(
            r#"SELECT visit_id, day, at, '{"a": [1, 123456789012345678901234567890]}'::json AS payload FROM visits WHERE visit_id = 7"#,
        )
        .await;
        assert_eq!(column, "payload");
        assert!(
            message.contains("123456789012345678901234567890"),
            "{message}"
        );
        pool.close().await;
    });
}

// ---------------------------------------------------------------------------------------------
// The provider scope.

/// A throwaway database with `providers` providers holding `per_provider` tickets each, and a
/// physician's login URL.
struct Clinic {
    db: TestDb,
    providers: Vec<Uuid>,
    tickets: Vec<(Uuid, Uuid)>,
    physician_url: String,
    /// The physician role and the provider setting, as this database names them.
    role: String,
    setting: String,
}

fn clinic(providers: usize, per_provider: usize) -> Clinic {
    let mut db = TestDb::with_schema();
    let (ids, tickets) = db.add_providers_with_tickets(providers, per_provider);
    let role = db.names().role_name(PHYSICIAN_ROLE).to_string();
    let setting = db.names().setting_name(PROVIDER_SETTING).to_string();
    let physician_url = db.login_role("doctor", &role);
    Clinic {
        db,
        providers: ids,
        tickets,
        physician_url,
        role,
        setting,
    }
}

impl Clinic {
    /// A physician's scope, to the provider `value`.
    fn scope<'a>(&'a self, value: &'a str) -> RequestScope<'a> {
        RequestScope {
            role: &self.role,
            setting: &self.setting,
            value,
        }
    }
}

#[test]
fn a_physicians_scoped_transaction_sees_and_writes_only_their_own_tickets() {
    let c = clinic(2, 3);
    let (a, b) = (c.providers[0], c.providers[1]);
    let b_ticket = c.tickets.iter().find(|(p, _)| *p == b).unwrap().1;
    run(async {
        let pool = pool(&c.physician_url, 2).await;
        let mut tx = scoped_transaction(&pool, c.scope(&a.to_string()))
            .await
            .unwrap();
        let seen: Vec<SelectSupportTicket> = sqlx::query_as(ALL_TICKETS)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|t| t.provider_id == a));
        let theirs: Option<SelectSupportTicket> =
            sqlx::query_as("SELECT * FROM support_tickets WHERE ticket_id = $1")
                .bind(b_ticket)
                .fetch_optional(&mut *tx)
                .await
                .unwrap();
        assert_eq!(theirs, None);

        // The physician may insert only some columns: the row's NULLs are left out.
        let own = insert(&mut *tx, &ticket(a, 10)).await.unwrap();
        assert_eq!((own.provider_id, own.status), (a, TicketStatus::Open));
        // Many rows, in a savepoint of the scoped transaction.
        let batch: Vec<_> = (11..14).map(|i| ticket(a, i)).collect();
        assert_eq!(insert_many(&mut tx, &batch).await.unwrap(), 3);
        tx.commit().await.unwrap();

        // Another provider's rows are refused, alone or in a batch (which lands not at all).
        let mut tx = scoped_transaction(&pool, c.scope(&a.to_string()))
            .await
            .unwrap();
        let error = insert_many(&mut tx, &[ticket(a, 20), ticket(b, 21)])
            .await
            .unwrap_err();
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Denied),
            "{error}"
        );
        // The failed batch rolled back its savepoint only.
        let error = insert(&mut *tx, &ticket(b, 22)).await.unwrap_err();
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Denied),
            "{error}"
        );
        tx.rollback().await.unwrap();

        // With no scope, nothing is seen, nothing written.
        let none: Vec<SelectSupportTicket> =
            sqlx::query_as(ALL_TICKETS).fetch_all(&pool).await.unwrap();
        assert!(none.is_empty());
        let error = insert(&pool, &ticket(a, 30)).await.unwrap_err();
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Denied)
        );

        let mut tx = scoped_transaction(&pool, c.scope(&a.to_string()))
            .await
            .unwrap();
        let mine: i64 = sqlx::query_scalar("SELECT count(*) FROM support_tickets")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(mine, 3 + 4, "the committed rows only");
        tx.commit().await.unwrap();
        pool.close().await;
    });
}

#[test]
fn a_scope_ends_with_its_transaction_even_when_dropped() {
    let c = clinic(2, 2);
    let a = c.providers[0];
    let setting = c.setting.clone();
    run(async {
        // One connection: every request below runs on it, in turn.
        let pool = pool(&c.physician_url, 1).await;
        let scope = |pool: &PgPool| {
            let (pool, setting) = (pool.clone(), setting.clone());
            async move {
                sqlx::query_scalar::<_, Option<String>>(&format!(
                    "SELECT current_setting('{setting}', true)"
                ))
                .fetch_one(&pool)
                .await
                .unwrap()
                .filter(|s| !s.is_empty())
            }
        };
        for end in ["commit", "rollback", "drop"] {
            let mut tx = scoped_transaction(&pool, c.scope(&a.to_string()))
                .await
                .unwrap();
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM support_tickets")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(n, 2, "{end}");
            match end {
                "commit" => tx.commit().await.unwrap(),
                "rollback" => tx.rollback().await.unwrap(),
                _ => drop(tx),
            }
            assert_eq!(scope(&pool).await, None, "after {end}");
            assert_eq!(count(&pool).await, 0, "after {end}");
        }

        // A setting the server could be fooled by is refused before a connection is taken.
        for (name, value, problem) in [
            ("provider_id", "x", SettingProblem::Name),
            ("app.provider_id; RESET ALL", "x", SettingProblem::Name),
            ("app.provider_id", "a\0b", SettingProblem::NulInValue),
        ] {
            let scope = RequestScope {
                setting: name,
                value,
                ..c.scope("")
            };
            match scoped_transaction(&pool, scope).await.unwrap_err() {
                SqlxError::InvalidSetting { problem: p, .. } => assert_eq!(p, problem),
                other => panic!("{other}"),
            }
        }
        // A value is a literal, never SQL.
        let tx = scoped_transaction(&pool, c.scope("x'; RESET ALL; --"))
            .await
            .unwrap();
        drop(tx);
        pool.close().await;
    });
}

#[test]
fn concurrent_scoped_requests_over_a_pool_never_see_another_providers_tickets() {
    const PROVIDERS: usize = 5;
    const PER_PROVIDER: usize = 4;
    const CONNECTIONS: u32 = 4;
    const REQUESTS: usize = 200;
    let c = clinic(PROVIDERS, PER_PROVIDER);
    let scope = Arc::new((c.role.clone(), c.setting.clone()));
    let providers = Arc::new(c.providers.clone());
    run(async {
        let pool = pool(&c.physician_url, CONNECTIONS).await;
        let mut requests = Vec::new();
        for request in 0..REQUESTS {
            let (pool, scope, providers) = (pool.clone(), scope.clone(), providers.clone());
            requests.push(tokio::spawn(async move {
                if request % 7 == 0 {
                    // A request without a scope, on whichever connection the pool gives it.
                    let seen: Vec<SelectSupportTicket> =
                        sqlx::query_as(ALL_TICKETS).fetch_all(&pool).await.unwrap();
                    assert!(
                        seen.is_empty(),
                        "an unscoped request saw {} rows",
                        seen.len()
                    );
                    // ...and writes nothing.
                    let row = ticket(providers[0], request);
                    for error in [
                        insert(&pool, &row).await.unwrap_err(),
                        insert_many(&pool, std::slice::from_ref(&row))
                            .await
                            .unwrap_err(),
                    ] {
                        assert_eq!(
                            error.constraint().map(|v| v.kind),
                            Some(ConstraintKind::Denied),
                            "{error}"
                        );
                    }
                    return;
                }
                let provider = providers[(request * 3) % providers.len()];
                let value = provider.to_string();
                let (role, setting) = &*scope;
                let scope = RequestScope {
                    role,
                    setting,
                    value: &value,
                };
                let mut tx = scoped_transaction(&pool, scope).await.unwrap();
                let seen: Vec<SelectSupportTicket> = sqlx::query_as(ALL_TICKETS)
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                assert_eq!(seen.len(), PER_PROVIDER);
                assert!(
                    seen.iter().all(|t| t.provider_id == provider),
                    "request {request} for {provider} saw another provider's ticket"
                );
                match request % 3 {
                    0 => tx.commit().await.unwrap(),
                    1 => {
                        // Writes of the provider's own, seen inside the scope, then undone.
                        insert(&mut *tx, &ticket(provider, request)).await.unwrap();
                        let more = [ticket(provider, request + 1), ticket(provider, request + 2)];
                        assert_eq!(insert_many(&mut tx, &more).await.unwrap(), 2);
                        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM support_tickets")
                            .fetch_one(&mut *tx)
                            .await
                            .unwrap();
                        assert_eq!(n, PER_PROVIDER as i64 + 3);
                        tx.rollback().await.unwrap();
                    }
                    // Dropped: sqlx rolls it back before the connection serves anyone else.
                    _ => drop(tx),
                }
            }));
        }
        for request in requests {
            request.await.unwrap();
        }
        pool.close().await;
    });
}

#[test]
fn the_scoped_pool_reads_rows_by_name_in_any_column_order() {
    let c = clinic(1, 2);
    let a = c.providers[0];
    run(async {
        let pool = pool(&c.physician_url, 1).await;
        let mut tx = scoped_transaction(&pool, c.scope(&a.to_string()))
            .await
            .unwrap();
        let columns: Vec<&str> = <SupportTicket as schema_core::Table>::TABLE
            .columns
            .iter()
            .rev()
            .map(|c| c.name)
            .collect();
        let reversed: Vec<SelectSupportTicket> = sqlx::query_as(&format!(
            "SELECT {}, 1 AS extra FROM support_tickets ORDER BY subject",
            columns.join(", ")
        ))
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        let plain: Vec<SelectSupportTicket> = sqlx::query_as(ALL_TICKETS)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(reversed, plain);
        assert_eq!(plain.len(), 2);
        let row = sqlx::query("SELECT subject FROM support_tickets ORDER BY subject")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(row.get::<String, _>("subject"), "ticket 0 of provider 0");
        tx.commit().await.unwrap();
        pool.close().await;
    });
}

#[test]
fn a_login_in_physician_and_support_team_is_scoped_to_its_provider_alone() {
    let mut c = clinic(2, 1);
    let (a, b) = (c.providers[0], c.providers[1]);
    let b_ticket = c.tickets.iter().find(|(p, _)| *p == b).unwrap().1;
    let support = c.db.names().role_name(SUPPORT_TEAM_ROLE).to_string();
    let both =
        c.db.login_role_with("both", &format!("IN ROLE \"{}\", \"{support}\"", c.role));
    run(async {
        let pool = pool(&both, 1).await;
        let mut tx = scoped_transaction(&pool, c.scope(&a.to_string()))
            .await
            .unwrap();
        let seen: Vec<SelectSupportTicket> = sqlx::query_as(ALL_TICKETS)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].provider_id, a);
        let changed =
            sqlx::query("UPDATE support_tickets SET subject = 'taken over' WHERE ticket_id = $1")
                .bind(b_ticket)
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
        assert_eq!(changed, 0);
        tx.commit().await.unwrap();
        // Unscoped, the login works the whole queue, as the support team.
        assert_eq!(count(&pool).await, 2);
        pool.close().await;
    });
}

#[test]
fn a_scope_is_refused_to_a_superuser_and_a_bypassrls_login() {
    let mut c = clinic(1, 1);
    let a = c.providers[0].to_string();
    let bypass =
        c.db.login_role_with("bypass", &format!("BYPASSRLS IN ROLE \"{}\"", c.role));
    let superuser = c.db.url().to_string();
    run(async {
        for (url, superuser) in [(&superuser, true), (&bypass, false)] {
            let pool = pool(url, 1).await;
            match scoped_transaction(&pool, c.scope(&a)).await.unwrap_err() {
                SqlxError::InvalidScope {
                    role,
                    problem: ScopeProblem::LoginBypassesRowSecurity { superuser: s, .. },
                } => assert_eq!((role.as_str(), s), (c.role.as_str(), superuser)),
                other => panic!("{other:?}"),
            }
            // Nothing was set: the next request on the connection has no scope.
            let left: String = sqlx::query_scalar(&format!(
                "SELECT coalesce(current_setting('{}', true), '')",
                c.setting
            ))
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(left, "");
            pool.close().await;
        }
        let pool = pool(&c.physician_url, 1).await;
        let scope = RequestScope {
            role: "no_such_role",
            ..c.scope(&a)
        };
        assert!(matches!(
            scoped_transaction(&pool, scope).await.unwrap_err(),
            SqlxError::InvalidScope {
                problem: ScopeProblem::UnknownRole,
                ..
            }
        ));
        pool.close().await;
    });
}

#[test]
fn a_refused_rows_sensitive_values_reach_no_error() {
    let mut c = clinic(1, 0);
    let a = c.providers[0];
    c.db.client()
        .batch_execute(
            "ALTER TABLE support_tickets ALTER COLUMN context_url SET NOT NULL; \
             CREATE UNIQUE INDEX support_tickets_description_key ON support_tickets (description)",
        )
        .unwrap();
    let without_url =
        || InsertSupportTicket::new(a, "s".into(), format!("{PHI_MARKER} of a patient"));
    let with_url = || InsertSupportTicket {
        context_url: Some("https://app.test/".into()),
        ..InsertSupportTicket::new(a, "s".into(), PHI_MARKER.into())
    };
    let owner_url = c.db.url().to_string();
    run(async {
        let owner = pool(&owner_url, 1).await;
        // The server does quote the row: sqlx's own error carries the marker.
        let raw = sqlx::query(
            "INSERT INTO support_tickets (provider_id, subject, description) VALUES ($1, 's', $2)",
        )
        .bind(a)
        .bind(PHI_MARKER)
        .execute(&owner)
        .await
        .unwrap_err();
        assert!(format!("{raw:?}").contains(PHI_MARKER));

        insert(&owner, &with_url()).await.unwrap();
        let mut refused = vec![
            ("insert", insert(&owner, &without_url()).await.unwrap_err()),
            (
                "insert_many",
                insert_many(&owner, &[without_url()]).await.unwrap_err(),
            ),
            (
                "insert, unique",
                insert(&owner, &with_url()).await.unwrap_err(),
            ),
            (
                "insert_many, unique",
                insert_many(&owner, &[with_url()]).await.unwrap_err(),
            ),
        ];
        let doctor = pool(&c.physician_url, 1).await;
        let value = a.to_string();
        let mut tx = scoped_transaction(&doctor, c.scope(&value)).await.unwrap();
        refused.push((
            "scoped insert_many",
            insert_many(&mut tx, &[without_url()]).await.unwrap_err(),
        ));
        refused.push((
            "scoped insert",
            insert(&mut *tx, &without_url()).await.unwrap_err(),
        ));
        drop(tx);
        for (path, error) in &refused {
            let text = shown(error);
            assert!(!text.contains(PHI_MARKER), "{path}: {text}");
            let violation = error
                .constraint()
                .unwrap_or_else(|| panic!("{path}: {error:?}"));
            match violation.kind {
                ConstraintKind::NotNull => {
                    assert_eq!(violation.column.as_deref(), Some("context_url"), "{path}")
                }
                ConstraintKind::Unique => assert_eq!(
                    violation.source.detail.as_deref(),
                    Some("Key (description)=(<values left out>) already exists."),
                    "{path}"
                ),
                other => panic!("{path}: {other:?}"),
            }
        }
        owner.close().await;
        doctor.close().await;
    });
}
