//! Every typed write and read of `schema_core::pg` on the application's `support_tickets`
//! table, against a real PostgreSQL server: defaults, batches that land whole or not at all,
//! validation before anything is sent, patches, deletes, typed constraint and decode errors,
//! and statements prepared once per shape.
//!
//! Each test applies the application's DDL to its own throwaway database (see
//! `common::TestDb`) and adds a provider for the tickets to reference.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use schema_core::pg::tokio_postgres::GenericClient;
use schema_core::pg::{ConstraintKind, Db, DecodeProblem, PgError};
use schema_core::{PgTable, Rule, Table, Violation};
use shared::schemas::db::{
    InsertProvider, InsertSupportTicket, SelectSupportTicket, SupportTicket, TicketCategory,
    TicketPriority, TicketStatus, UpdateSupportTicket,
};
use uuid::Uuid;

use common::{block_on, TestDb};

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Adds a provider and returns its key.
async fn add_provider(db: &Db, n: u32) -> Uuid {
    let provider = InsertProvider::new(
        format!("{n:010}"),
        "Ada".into(),
        "Lovelace".into(),
        format!("provider{n}@example.com"),
    );
    db.insert(&provider).await.unwrap().provider_id
}

/// A ticket with only the required columns set.
fn ticket(provider: Uuid, i: usize) -> InsertSupportTicket {
    InsertSupportTicket::new(provider, format!("subject {i}"), format!("description {i}"))
}

async fn count<C: GenericClient>(client: &C) -> i64 {
    client
        .query_one("SELECT count(*) FROM support_tickets", &[])
        .await
        .unwrap()
        .get(0)
}

/// The server's clock, for comparing with the timestamps it writes.
async fn server_now(db: &Db) -> DateTime<Utc> {
    db.client()
        .query_one("SELECT clock_timestamp()", &[])
        .await
        .unwrap()
        .get(0)
}

/// `now()` differs between statements only by the time that passes between them.
fn let_the_clock_move() {
    std::thread::sleep(Duration::from_millis(5));
}

/// The database's defaults for the columns a ticket leaves out.
fn assert_defaults(row: &SelectSupportTicket, after: DateTime<Utc>, before: DateTime<Utc>) {
    assert_ne!(row.ticket_id, Uuid::nil(), "ticket_id is generated");
    assert_eq!(row.priority, TicketPriority::Medium);
    assert_eq!(row.status, TicketStatus::Open);
    assert!(
        after <= row.created_at && row.created_at <= before,
        "created_at {} is not between {after} and {before}",
        row.created_at
    );
    assert_eq!(
        row.updated_at, row.created_at,
        "updated_at starts as created_at"
    );
}

#[derive(Clone, Copy, Debug)]
enum Batch {
    InsertMany,
    CopyIn,
}

const BATCHES: [Batch; 2] = [Batch::InsertMany, Batch::CopyIn];

impl Batch {
    async fn write(self, db: &mut Db, rows: &[InsertSupportTicket]) -> Result<u64, PgError> {
        match self {
            Batch::InsertMany => db.insert_many(rows).await,
            Batch::CopyIn => db.copy_in(rows).await,
        }
    }
}

/// Asserts that `error` is the foreign key violation of `support_tickets.provider_id`.
fn assert_provider_fkey(error: &PgError) {
    let Some(violation) = error.constraint() else {
        panic!("expected a constraint violation, got {error:?}");
    };
    assert_eq!(violation.kind, ConstraintKind::ForeignKey, "{error}");
    assert_eq!(
        violation.constraint.as_deref(),
        Some("support_tickets_provider_id_fkey")
    );
    assert_eq!(violation.table.as_deref(), Some("support_tickets"));
    assert!(
        error
            .to_string()
            .contains("support_tickets_provider_id_fkey"),
        "{error}"
    );
}

/// The three rules a ticket can break at once: too long a subject in two-byte characters, a NUL
/// in the description, a rating outside 1..=5.
fn invalid_ticket(provider: Uuid) -> InsertSupportTicket {
    InsertSupportTicket {
        subject: "é".repeat(201),
        description: "before\0after".into(),
        satisfaction_rating: Some(9),
        ..ticket(provider, 0)
    }
}

fn invalid_ticket_violations() -> Vec<Violation> {
    vec![
        Violation {
            column: "subject",
            rule: Rule::TooLong {
                max_chars: 200,
                chars: 201,
            },
        },
        Violation {
            column: "description",
            rule: Rule::NulCharacter,
        },
        Violation {
            column: "satisfaction_rating",
            rule: Rule::OutOfRange {
                min: Some(1),
                max: Some(5),
                value: Some(9),
            },
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// insert

#[test]
fn insert_applies_the_defaults_and_returns_the_stored_row() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let after = server_now(&db).await;
        let stored = db.insert(&ticket(provider, 1)).await.unwrap();
        let before = server_now(&db).await;

        assert_defaults(&stored, after, before);
        assert_eq!(stored.provider_id, provider);
        assert_eq!(stored.subject, "subject 1");
        assert_eq!(stored.description, "description 1");
        let nulls = (
            &stored.context_url,
            &stored.context_metadata,
            &stored.category,
            &stored.assigned_to,
            &stored.resolution_notes,
            &stored.resolved_at,
            &stored.satisfaction_rating,
            &stored.satisfaction_comment,
            &stored.screenshot_path,
        );
        assert_eq!(
            nulls,
            (&None, &None, &None, &None, &None, &None, &None, &None, &None)
        );
        let fresh = db.get::<SupportTicket>(&stored.ticket_id).await.unwrap();
        assert_eq!(fresh, Some(stored));
    });
}

#[test]
fn insert_writes_explicit_values_instead_of_the_defaults() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let row = InsertSupportTicket {
            ticket_id: Some(Uuid::from_u128(42)),
            context_url: Some("https://app.example/claims/7".into()),
            context_metadata: Some(serde_json::json!({"claim_id": 7, "errors": ["CO-16"]})),
            category: Some(TicketCategory::FeatureRequest),
            priority: Some(TicketPriority::Urgent),
            status: Some(TicketStatus::WaitingOnCustomer),
            assigned_to: Some("bob".into()),
            resolution_notes: Some("notes".into()),
            resolved_at: Some(at),
            satisfaction_rating: Some(5),
            satisfaction_comment: Some("thanks".into()),
            screenshot_path: Some("s3://bucket/shot.png".into()),
            created_at: Some(at),
            updated_at: Some(at),
            ..ticket(provider, 1)
        };
        let stored = db.insert(&row).await.unwrap();
        let expected = SelectSupportTicket {
            ticket_id: Uuid::from_u128(42),
            provider_id: provider,
            subject: row.subject.clone(),
            description: row.description.clone(),
            context_url: row.context_url.clone(),
            context_metadata: row.context_metadata.clone(),
            category: row.category,
            priority: TicketPriority::Urgent,
            status: TicketStatus::WaitingOnCustomer,
            assigned_to: row.assigned_to.clone(),
            resolution_notes: row.resolution_notes.clone(),
            resolved_at: Some(at),
            satisfaction_rating: Some(5),
            satisfaction_comment: row.satisfaction_comment.clone(),
            screenshot_path: row.screenshot_path.clone(),
            created_at: at,
            updated_at: at,
        };
        assert_eq!(stored, expected);
        assert_eq!(
            db.get::<SupportTicket>(&expected.ticket_id).await.unwrap(),
            Some(expected)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// insert_many and copy_in

#[test]
fn batches_apply_the_defaults_and_land_every_row() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        for (n, batch) in BATCHES.into_iter().enumerate() {
            let rows: Vec<_> = (0..50).map(|i| ticket(provider, 100 * n + i)).collect();
            let after = server_now(&db).await;
            assert_eq!(batch.write(&mut db, &rows).await.unwrap(), 50, "{batch:?}");
            let before = server_now(&db).await;

            let stored: HashMap<String, SelectSupportTicket> = db
                .select_all::<SupportTicket>()
                .await
                .unwrap()
                .into_iter()
                .map(|row| (row.subject.clone(), row))
                .collect();
            assert_eq!(stored.len(), 50 * (n + 1));
            for row in &rows {
                let read = &stored[&row.subject];
                assert_defaults(read, after, before);
                assert_eq!(
                    (&read.provider_id, &read.description),
                    (&provider, &row.description)
                );
                let fresh = db.get::<SupportTicket>(&read.ticket_id).await.unwrap();
                assert_eq!(fresh.as_ref(), Some(read));
            }
        }
        // An empty batch writes nothing and is no error.
        assert_eq!(db.insert_many::<InsertSupportTicket>(&[]).await.unwrap(), 0);
        assert_eq!(db.copy_in::<InsertSupportTicket>(&[]).await.unwrap(), 0);
        assert_eq!(count(db.client()).await, 100);
    });
}

/// A row the database refuses (a provider that does not exist: validation cannot know) makes
/// the whole batch fail with a typed foreign key error, and nothing of it stays, even when the
/// row is in the last of several statements (`insert_many` sends 1,000 rows per `INSERT`;
/// `copy_in` one `COPY` per run of rows setting the same columns).
#[test]
fn a_batch_with_a_row_the_database_refuses_leaves_nothing() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        db.insert_many(&[ticket(provider, 0), ticket(provider, 1)])
            .await
            .unwrap();
        let stranger = Uuid::from_u128(0xdead);
        for batch in BATCHES {
            for bad_index in [0, 1_234, 2_499] {
                let rows: Vec<_> = (0..2_500)
                    .map(|i| InsertSupportTicket {
                        provider_id: if i == bad_index { stranger } else { provider },
                        // Two shapes, so that copy_in sends two COPYs.
                        priority: (i >= 1_500).then_some(TicketPriority::High),
                        ..ticket(provider, i)
                    })
                    .collect();
                let before = count(db.client()).await;
                let error = batch.write(&mut db, &rows).await.unwrap_err();
                assert_provider_fkey(&error);
                assert_eq!(
                    count(db.client()).await,
                    before,
                    "{batch:?} with the bad row at {bad_index} left rows behind"
                );
            }
            // The connection is still usable, with its cached statements.
            let rows: Vec<_> = (0..3).map(|i| ticket(provider, i)).collect();
            assert_eq!(batch.write(&mut db, &rows).await.unwrap(), 3);
        }
        assert_eq!(count(db.client()).await, 2 + 3 + 3);
    });
}

/// Inside a transaction a batch runs in a savepoint: when it fails, it rolls back itself only,
/// and the transaction goes on.
#[test]
fn a_failed_batch_in_a_transaction_rolls_back_only_itself() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let stranger = Uuid::from_u128(0xdead);
        let good: Vec<_> = (0..10).map(|i| ticket(provider, i)).collect();
        let bad: Vec<_> = (0..10)
            .map(|i| InsertSupportTicket {
                provider_id: if i == 5 { stranger } else { provider },
                ..ticket(provider, 100 + i)
            })
            .collect();

        let mut transaction = db.transaction().await.unwrap();
        assert_eq!(transaction.insert_many(&good).await.unwrap(), 10);
        assert_provider_fkey(&transaction.insert_many(&bad).await.unwrap_err());
        assert_eq!(count(transaction.client()).await, 10);
        assert_eq!(transaction.copy_in(&good).await.unwrap(), 10);
        assert_provider_fkey(&transaction.copy_in(&bad).await.unwrap_err());
        assert_eq!(count(transaction.client()).await, 20);
        // A nested transaction is a savepoint too.
        let mut nested = transaction.transaction().await.unwrap();
        assert_eq!(nested.insert_many(&good[..3]).await.unwrap(), 3);
        assert_provider_fkey(&nested.copy_in(&bad).await.unwrap_err());
        nested.commit().await.unwrap();
        let single = transaction.insert(&ticket(provider, 999)).await.unwrap();
        assert_eq!(count(transaction.client()).await, 24);
        transaction.commit().await.unwrap();

        assert_eq!(count(db.client()).await, 24);
        assert!(db
            .get::<SupportTicket>(&single.ticket_id)
            .await
            .unwrap()
            .is_some());

        // A transaction dropped without commit rolls back its batches.
        let mut transaction = db.transaction().await.unwrap();
        transaction.insert_many(&good).await.unwrap();
        transaction.copy_in(&good).await.unwrap();
        drop(transaction);
        assert_eq!(count(db.client()).await, 24);
    });
}

/// 5,000 rows in two shapes (more than one statement's worth for `insert_many`), then 300
/// rows whose shapes change every few rows (rows with and without `priority` and `status`):
/// every row lands with its own values or the defaults.
#[test]
fn large_batches_with_mixed_defaults_land_correctly() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let other = add_provider(&db, 2).await;
        // The last 300 rows change shape every few rows.
        let priority = |i: usize| match (i, i % 3, i % 7) {
            (0..=2_599, _, _) => None,
            (2_600..=4_999, _, _) => Some(TicketPriority::High),
            (_, 0, _) => Some(TicketPriority::Urgent),
            (_, _, 0) => Some(TicketPriority::Low),
            _ => None,
        };
        let status = |i: usize| match (i, i % 5) {
            (5_000.., 0) => Some(TicketStatus::InProgress),
            _ => None,
        };
        let rows: Vec<_> = (0..5_300)
            .map(|i| InsertSupportTicket {
                priority: priority(i),
                status: status(i),
                assigned_to: (i % 2 == 1).then(|| format!("agent {i}")),
                provider_id: if i % 11 == 1 { other } else { provider },
                ..ticket(provider, i)
            })
            .collect();
        for batch in BATCHES {
            db.client()
                .batch_execute("DELETE FROM support_tickets")
                .await
                .unwrap();
            assert_eq!(batch.write(&mut db, &rows).await.unwrap(), 5_300);

            let stored = db.select_all::<SupportTicket>().await.unwrap();
            assert_eq!(stored.len(), 5_300, "{batch:?}");
            let keys: HashSet<Uuid> = stored.iter().map(|row| row.ticket_id).collect();
            assert_eq!(keys.len(), 5_300, "every row has its own generated key");
            let by_subject: HashMap<&str, &SelectSupportTicket> = stored
                .iter()
                .map(|row| (row.subject.as_str(), row))
                .collect();
            for (i, row) in rows.iter().enumerate() {
                let read = by_subject[row.subject.as_str()];
                let expected = (
                    priority(i).unwrap_or(TicketPriority::Medium),
                    status(i).unwrap_or(TicketStatus::Open),
                    &row.assigned_to,
                    &row.provider_id,
                    &row.description,
                );
                let actual = (
                    read.priority,
                    read.status,
                    &read.assigned_to,
                    &read.provider_id,
                    &read.description,
                );
                assert_eq!(actual, expected, "row {i} after {batch:?}");
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Validation

#[test]
fn validation_refuses_every_broken_rule_before_sending_anything() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        db.insert(&ticket(provider, 0)).await.unwrap();

        match db.insert(&invalid_ticket(provider)).await {
            Err(PgError::Validation(error)) => {
                assert_eq!(error.table, "support_tickets");
                assert_eq!(error.violations, invalid_ticket_violations());
                let text = error.to_string();
                for column in ["subject", "description", "satisfaction_rating"] {
                    assert!(text.contains(column), "{text}");
                }
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(count(db.client()).await, 1);

        for batch in BATCHES {
            let mut rows: Vec<_> = (1..6).map(|i| ticket(provider, i)).collect();
            rows.insert(3, invalid_ticket(provider));
            // A second invalid row later on: the first one is reported.
            rows.push(InsertSupportTicket {
                satisfaction_rating: Some(0),
                ..ticket(provider, 9)
            });
            match batch.write(&mut db, &rows).await {
                Err(PgError::InvalidRow { index, error }) => {
                    assert_eq!(index, 3, "{batch:?}");
                    assert_eq!(error.violations, invalid_ticket_violations());
                }
                other => panic!("{batch:?}: expected an invalid row, got {other:?}"),
            }
            let error = batch
                .write(&mut db, &rows[4..])
                .await
                .expect_err("the last row is invalid");
            assert!(
                matches!(error, PgError::InvalidRow { index: 2, .. }),
                "{error:?}"
            );
            assert!(error.to_string().contains("row 2"), "{error}");
            assert_eq!(count(db.client()).await, 1, "{batch:?} sent rows");
        }
    });
}

/// `varchar(200)` holds 200 characters, whatever their size in bytes: 200 'é' (400 bytes) are
/// accepted by the validation and by the database, on every write path.
#[test]
fn varchar_limits_count_characters_not_bytes() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let full = |i: usize| InsertSupportTicket {
            subject: "é".repeat(200),
            context_url: Some("𝄞".repeat(500)),
            assigned_to: Some(format!("{i:03}{}", "€".repeat(97))),
            ..ticket(provider, i)
        };
        let stored = db.insert(&full(0)).await.unwrap();
        assert_eq!(stored.subject, "é".repeat(200));
        assert_eq!(db.insert_many(&[full(1), full(2)]).await.unwrap(), 2);
        assert_eq!(db.copy_in(&[full(3), full(4)]).await.unwrap(), 2);

        let lengths = db
            .client()
            .query(
                "SELECT char_length(subject), octet_length(subject), char_length(context_url), \
                 char_length(assigned_to) FROM support_tickets",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(lengths.len(), 5);
        for row in lengths {
            let lengths: (i32, i32, i32, i32) = (row.get(0), row.get(1), row.get(2), row.get(3));
            assert_eq!(lengths, (200, 400, 500, 100));
        }
        for row in db.select_all::<SupportTicket>().await.unwrap() {
            assert_eq!(row.subject, "é".repeat(200));
            assert_eq!(row.context_url, Some("𝄞".repeat(500)));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// update

#[test]
fn update_sets_only_the_patched_columns_and_refreshes_updated_at() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let original = db
            .insert(&InsertSupportTicket {
                category: Some(TicketCategory::Billing),
                assigned_to: Some("alice".into()),
                resolution_notes: Some("first notes".into()),
                screenshot_path: Some("shot.png".into()),
                ..ticket(provider, 1)
            })
            .await
            .unwrap();
        let untouched = db.insert(&ticket(provider, 2)).await.unwrap();

        let_the_clock_move();
        let patch = UpdateSupportTicket {
            subject: Some("new subject".into()),
            status: Some(TicketStatus::Resolved),
            // Some(None): set to NULL.
            assigned_to: Some(None),
            // Some(Some(..)): set a value.
            satisfaction_rating: Some(Some(5)),
            category: Some(Some(TicketCategory::Technical)),
            // None (resolution_notes, description, ...): leave as is.
            ..UpdateSupportTicket::default()
        };
        let patched = db
            .update(&original.ticket_id, &patch)
            .await
            .unwrap()
            .expect("the row exists");
        let expected = SelectSupportTicket {
            subject: "new subject".into(),
            status: TicketStatus::Resolved,
            assigned_to: None,
            satisfaction_rating: Some(5),
            category: Some(TicketCategory::Technical),
            updated_at: patched.updated_at,
            ..original.clone()
        };
        assert_eq!(patched, expected);
        assert_eq!(patched.resolution_notes.as_deref(), Some("first notes"));
        assert!(patched.updated_at > original.updated_at);
        assert_eq!(patched.created_at, original.created_at);
        assert_eq!(
            db.get::<SupportTicket>(&original.ticket_id).await.unwrap(),
            Some(patched.clone())
        );

        // An empty patch changes nothing but updated_at.
        let_the_clock_move();
        let touched = db
            .update(&original.ticket_id, &UpdateSupportTicket::default())
            .await
            .unwrap()
            .expect("the row exists");
        assert!(touched.updated_at > patched.updated_at);
        assert_eq!(
            touched,
            SelectSupportTicket {
                updated_at: touched.updated_at,
                ..patched.clone()
            }
        );

        // A nullable column set back from NULL to a value, and another one changed.
        let_the_clock_move();
        let again = db
            .update(
                &original.ticket_id,
                &UpdateSupportTicket {
                    assigned_to: Some(Some("carol".into())),
                    resolution_notes: Some(Some("second notes".into())),
                    ..UpdateSupportTicket::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.assigned_to.as_deref(), Some("carol"));
        assert_eq!(again.resolution_notes.as_deref(), Some("second notes"));
        assert_eq!(again.screenshot_path.as_deref(), Some("shot.png"));
        assert!(again.updated_at > touched.updated_at);

        // The other row was not touched.
        assert_eq!(
            db.get::<SupportTicket>(&untouched.ticket_id).await.unwrap(),
            Some(untouched)
        );
    });
}

#[test]
fn update_of_a_missing_key_returns_none() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        db.insert(&ticket(provider, 1)).await.unwrap();
        let missing = Uuid::from_u128(404);
        let patch = UpdateSupportTicket {
            status: Some(TicketStatus::Closed),
            ..UpdateSupportTicket::default()
        };
        assert_eq!(db.update(&missing, &patch).await.unwrap(), None);
        assert_eq!(
            db.update(&missing, &UpdateSupportTicket::default())
                .await
                .unwrap(),
            None
        );
        assert_eq!(count(db.client()).await, 1);
    });
}

#[test]
fn validation_refuses_a_broken_patch_and_leaves_the_row() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let original = db.insert(&ticket(provider, 1)).await.unwrap();
        let patch = UpdateSupportTicket {
            assigned_to: Some(Some("x".repeat(101))),
            satisfaction_rating: Some(Some(0)),
            resolution_notes: Some(Some("nul \0 here".into())),
            status: Some(TicketStatus::Closed),
            ..UpdateSupportTicket::default()
        };
        match db.update(&original.ticket_id, &patch).await {
            Err(PgError::Validation(error)) => {
                assert_eq!(error.table, "support_tickets");
                assert_eq!(
                    error.violations,
                    [
                        Violation {
                            column: "assigned_to",
                            rule: Rule::TooLong {
                                max_chars: 100,
                                chars: 101
                            },
                        },
                        Violation {
                            column: "resolution_notes",
                            rule: Rule::NulCharacter,
                        },
                        Violation {
                            column: "satisfaction_rating",
                            rule: Rule::OutOfRange {
                                min: Some(1),
                                max: Some(5),
                                value: Some(0)
                            },
                        },
                    ]
                );
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(
            db.get::<SupportTicket>(&original.ticket_id).await.unwrap(),
            Some(original.clone())
        );
        // 100 characters are fine.
        let patch = UpdateSupportTicket {
            assigned_to: Some(Some("é".repeat(100))),
            ..UpdateSupportTicket::default()
        };
        let patched = db
            .update(&original.ticket_id, &patch)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(patched.assigned_to, Some("é".repeat(100)));
    });
}

// ---------------------------------------------------------------------------------------------
// delete

#[test]
fn delete_removes_the_row_once() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let doomed = db.insert(&ticket(provider, 1)).await.unwrap();
        let kept = db.insert(&ticket(provider, 2)).await.unwrap();
        assert!(db.delete::<SupportTicket>(&doomed.ticket_id).await.unwrap());
        assert!(!db.delete::<SupportTicket>(&doomed.ticket_id).await.unwrap());
        assert_eq!(
            db.get::<SupportTicket>(&doomed.ticket_id).await.unwrap(),
            None
        );
        assert_eq!(
            db.select_all::<SupportTicket>().await.unwrap(),
            vec![kept.clone()]
        );
        assert!(!db
            .delete::<SupportTicket>(&Uuid::from_u128(404))
            .await
            .unwrap());
    });
}

// ---------------------------------------------------------------------------------------------
// Errors the database raises

/// A key given explicitly twice passes validation, and the database's refusal comes back
/// typed, from every write path; a refused batch leaves nothing.
#[test]
fn a_duplicate_primary_key_comes_back_as_a_unique_violation() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let key = Uuid::from_u128(7);
        let with_key = |i: usize| InsertSupportTicket {
            ticket_id: Some(key),
            ..ticket(provider, i)
        };
        db.insert(&with_key(1)).await.unwrap();

        let assert_unique = |error: PgError| {
            let Some(violation) = error.constraint() else {
                panic!("expected a constraint violation, got {error:?}");
            };
            assert_eq!(violation.kind, ConstraintKind::Unique, "{error}");
            assert_eq!(
                violation.constraint.as_deref(),
                Some("support_tickets_pkey")
            );
            assert_eq!(violation.table.as_deref(), Some("support_tickets"));
        };
        assert_unique(db.insert(&with_key(2)).await.unwrap_err());
        for batch in BATCHES {
            // Against the stored row, and twice within the batch.
            let against_stored = [ticket(provider, 3), with_key(4)];
            assert_unique(batch.write(&mut db, &against_stored).await.unwrap_err());
            let other = Uuid::from_u128(8);
            let within = [
                InsertSupportTicket {
                    ticket_id: Some(other),
                    ..ticket(provider, 5)
                },
                ticket(provider, 6),
                InsertSupportTicket {
                    ticket_id: Some(other),
                    ..ticket(provider, 7)
                },
            ];
            assert_unique(batch.write(&mut db, &within).await.unwrap_err());
        }
        assert_eq!(count(db.client()).await, 1);
        let stored = db.get::<SupportTicket>(&key).await.unwrap().unwrap();
        assert_eq!(stored.subject, "subject 1");
    });
}

// ---------------------------------------------------------------------------------------------
// Decode errors

/// `SELECT` of every column of `support_tickets`, with `replace` swapped for `with` (or left
/// out when `with` is `None`).
fn select_with(replace: &str, with: Option<&str>) -> String {
    let columns: Vec<String> = SupportTicket::TABLE
        .columns
        .iter()
        .filter_map(|column| {
            if column.name == replace {
                with.map(str::to_string)
            } else {
                Some(format!("\"{}\"", column.name))
            }
        })
        .collect();
    format!("SELECT {} FROM support_tickets", columns.join(", "))
}

fn decode_error<T: std::fmt::Debug>(result: Result<T, PgError>) -> schema_core::pg::DecodeError {
    match result {
        Err(PgError::Decode(error)) => error,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{text:?} does not mention {part:?}");
    }
}

#[test]
fn decode_errors_name_the_table_the_column_and_the_types() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        db.insert(&ticket(provider, 1)).await.unwrap();

        // A column of the wrong SQL type.
        let sql = select_with("priority", Some("1 AS priority"));
        let error = decode_error(db.query_as::<SelectSupportTicket>(&sql, &[]).await);
        assert_eq!((error.table, error.column), ("support_tickets", "priority"));
        assert!(
            matches!(&error.problem, DecodeProblem::WrongType { sql_type } if sql_type == "int4"),
            "{error:?}"
        );
        assert_mentions(
            &PgError::Decode(error).to_string(),
            &["support_tickets", "priority", "int4", "TicketPriority"],
        );

        // A column missing from the row.
        let sql = select_with("description", None);
        let error = decode_error(db.query_as::<SelectSupportTicket>(&sql, &[]).await);
        assert_eq!(
            (error.table, error.column),
            ("support_tickets", "description")
        );
        assert!(matches!(error.problem, DecodeProblem::Missing), "{error:?}");
        assert_mentions(&error.to_string(), &["support_tickets", "description"]);

        // NULL in a NOT NULL field.
        let sql = select_with("subject", Some("NULL::text AS subject"));
        let error = decode_error(db.query_as::<SelectSupportTicket>(&sql, &[]).await);
        assert_eq!((error.table, error.column), ("support_tickets", "subject"));
        assert!(
            matches!(&error.problem, DecodeProblem::Invalid { sql_type, .. } if sql_type == "text"),
            "{error:?}"
        );
        assert_mentions(
            &error.to_string(),
            &["support_tickets", "subject", "String"],
        );

        // A timestamp chrono cannot hold: an error, not a panic.
        let sql = select_with("created_at", Some("'infinity'::timestamptz AS created_at"));
        let error = decode_error(db.query_as::<SelectSupportTicket>(&sql, &[]).await);
        assert_eq!(error.column, "created_at");
        assert_mentions(
            &error.to_string(),
            &["support_tickets", "created_at", "timestamptz", "DateTime"],
        );

        // The right columns in another order decode fine.
        let mut columns: Vec<_> = SupportTicket::TABLE
            .columns
            .iter()
            .map(|c| c.name)
            .collect();
        columns.reverse();
        let sql = format!("SELECT {} FROM support_tickets", columns.join(", "));
        let rows = db.query_as::<SelectSupportTicket>(&sql, &[]).await.unwrap();
        assert_eq!(rows, db.select_all::<SupportTicket>().await.unwrap());
    });
}

/// A column left out of a query is reported with the Rust type the field wanted, as the other
/// decode errors are.
#[test]
fn a_missing_column_error_names_the_rust_type() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        db.insert(&ticket(provider, 1)).await.unwrap();
        let sql = select_with("description", None);
        let error = decode_error(db.query_as::<SelectSupportTicket>(&sql, &[]).await);
        assert!(error.rust_type.contains("String"), "{error:?}");
        assert_mentions(&error.to_string(), &["description", "String"]);
    });
}

/// Text the enum does not know (stored once the CHECK constraint is gone) is a decode error
/// naming the value and the values the enum knows, from every read.
#[test]
fn unknown_enum_text_is_a_decode_error_listing_the_allowed_values() {
    let mut test_db = TestDb::with_schema();
    test_db
        .client()
        .batch_execute("ALTER TABLE support_tickets DROP CONSTRAINT support_tickets_priority_check")
        .unwrap();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let key = Uuid::from_u128(1);
        db.client()
            .execute(
                "INSERT INTO support_tickets (ticket_id, provider_id, subject, description, \
                 priority) VALUES ($1, $2, 's', 'd', 'SOMETIMES')",
                &[&key, &provider],
            )
            .await
            .unwrap();

        let errors = [
            decode_error(db.get::<SupportTicket>(&key).await),
            decode_error(db.select_all::<SupportTicket>().await),
            decode_error(
                db.query_as::<SelectSupportTicket>("SELECT * FROM support_tickets", &[])
                    .await,
            ),
        ];
        for error in errors {
            assert_eq!((error.table, error.column), ("support_tickets", "priority"));
            assert!(
                matches!(&error.problem, DecodeProblem::Invalid { sql_type, .. } if sql_type == "varchar"),
                "{error:?}"
            );
            assert_mentions(
                &error.to_string(),
                &[
                    "support_tickets",
                    "priority",
                    "TicketPriority",
                    "\"SOMETIMES\"",
                    "LOW, MEDIUM, HIGH, URGENT",
                ],
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Prepared statements

/// The statements prepared on `db`'s connection whose text matches `pattern` (SQL `LIKE`).
async fn prepared(db: &Db, pattern: &str) -> Vec<String> {
    db.client()
        .query(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE $1 \
             ORDER BY statement",
            &[&pattern],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[test]
fn statements_are_prepared_once_per_shape() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        let inserts = "INSERT INTO \"support_tickets\"%RETURNING%";

        let mut keys = Vec::new();
        for i in 0..20 {
            keys.push(db.insert(&ticket(provider, i)).await.unwrap().ticket_id);
        }
        assert_eq!(prepared(&db, inserts).await.len(), 1);

        // Another shape: one more statement, whatever the number of rows.
        for i in 0..20 {
            let row = InsertSupportTicket {
                priority: Some(TicketPriority::High),
                ..ticket(provider, 100 + i)
            };
            db.insert(&row).await.unwrap();
        }
        assert_eq!(prepared(&db, inserts).await.len(), 2);

        for key in &keys {
            db.get::<SupportTicket>(key).await.unwrap().unwrap();
            let patch = UpdateSupportTicket {
                status: Some(TicketStatus::Closed),
                ..UpdateSupportTicket::default()
            };
            db.update(key, &patch).await.unwrap().unwrap();
        }
        assert_eq!(
            prepared(&db, "SELECT % FROM \"support_tickets\" WHERE %")
                .await
                .len(),
            1
        );
        assert_eq!(prepared(&db, "UPDATE \"support_tickets\" %").await.len(), 1);

        for i in 0..10 {
            let rows: Vec<_> = (0..3)
                .map(|j| ticket(provider, 1_000 + 3 * i + j))
                .collect();
            db.insert_many(&rows).await.unwrap();
            db.copy_in(&rows).await.unwrap();
        }
        // The two single-row shapes above, and for the batches of three, a 2-row and a 1-row
        // statement (batches go in full chunks, then power-of-two pieces, so a shape never
        // prepares more than a dozen statements), prepared once for all ten batches.
        let all_inserts = prepared(&db, "INSERT INTO \"support_tickets\"%").await;
        assert_eq!(all_inserts.len(), 4, "{all_inserts:#?}");
        for key in &keys[..10] {
            assert!(db.delete::<SupportTicket>(key).await.unwrap());
        }
        assert_eq!(prepared(&db, "DELETE FROM%").await.len(), 1);
        // copy_in learns the column types once per shape.
        assert_eq!(
            prepared(
                &db,
                "SELECT \"provider_id\", %\"screenshot_path\" FROM \"support_tickets\""
            )
            .await
            .len(),
            1
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Rows that leave every column to its default

/// A table whose every column has a default: an insert row may set none of them.
#[derive(PgTable)]
#[pg(table = "counters")]
pub struct Counter {
    #[pg(primary_key, default_sql = "gen_random_uuid()")]
    pub counter_id: Uuid,
    #[pg(default = 0)]
    pub value: i32,
}

fn create_counters(test_db: &mut TestDb) {
    let ddl = schema_core::Schema::new()
        .table::<Counter>()
        .to_ddl()
        .unwrap();
    test_db.client().batch_execute(&ddl).unwrap();
}

#[test]
fn insert_and_insert_many_accept_rows_that_set_no_column() {
    let mut test_db = TestDb::new();
    create_counters(&mut test_db);
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let stored = db.insert(&InsertCounter::new()).await.unwrap();
        assert_eq!(stored.value, 0);
        let rows = vec![
            InsertCounter::new(),
            InsertCounter::new(),
            InsertCounter {
                value: Some(5),
                ..InsertCounter::new()
            },
        ];
        assert_eq!(db.insert_many(&rows).await.unwrap(), 3);
        let mut values: Vec<i32> = db
            .select_all::<Counter>()
            .await
            .unwrap()
            .iter()
            .map(|c| c.value)
            .collect();
        values.sort();
        assert_eq!(values, [0, 0, 0, 5]);
    });
}

#[test]
fn copy_in_accepts_rows_that_set_no_column() {
    let mut test_db = TestDb::new();
    create_counters(&mut test_db);
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let rows = vec![InsertCounter::new(), InsertCounter::new()];
        assert_eq!(db.copy_in(&rows).await.unwrap(), 2);
        assert_eq!(db.select_all::<Counter>().await.unwrap().len(), 2);
    });
}

/// Without an `update_sql` column an empty patch changes nothing: `update` returns the row as it
/// is, or `None` for a missing key.
#[test]
fn an_empty_patch_without_refreshed_columns_returns_the_row_unchanged() {
    let mut test_db = TestDb::new();
    create_counters(&mut test_db);
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let stored = db.insert(&InsertCounter::new()).await.unwrap();
        let empty = UpdateCounter::default();
        assert_eq!(
            db.update(&stored.counter_id, &empty).await.unwrap(),
            Some(stored.clone())
        );
        assert_eq!(
            db.update(&Uuid::from_u128(404), &empty).await.unwrap(),
            None
        );
        let patch = UpdateCounter { value: Some(3) };
        let patched = db
            .update(&stored.counter_id, &patch)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(patched.value, 3);
    });
}

// ---------------------------------------------------------------------------------------------
// A key of several columns

#[derive(PgTable)]
#[pg(table = "memberships", primary_key(team, member))]
pub struct Membership {
    pub team: i32,
    #[pg(varchar = 20)]
    pub member: String,
    pub role: Option<String>,
    #[pg(default_sql = "now()", update_sql = "now()")]
    pub updated_at: DateTime<Utc>,
}

#[test]
fn rows_with_a_key_of_several_columns_are_read_updated_and_deleted_by_it() {
    let mut test_db = TestDb::new();
    let ddl = schema_core::Schema::new()
        .table::<Membership>()
        .to_ddl()
        .unwrap();
    test_db.client().batch_execute(&ddl).unwrap();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let rows: Vec<_> = [(1, "ann"), (1, "bob"), (2, "ann")]
            .into_iter()
            .map(|(team, member)| InsertMembership::new(team, member.into()))
            .collect();
        assert_eq!(db.insert_many(&rows).await.unwrap(), 3);
        let key = (1, "bob".to_string());
        let bob = db.get::<Membership>(&key).await.unwrap().unwrap();
        assert_eq!(
            (bob.team, bob.member.as_str(), bob.role.as_deref()),
            (1, "bob", None)
        );

        let_the_clock_move();
        let patch = UpdateMembership {
            role: Some(Some("owner".into())),
        };
        let patched = db.update(&key, &patch).await.unwrap().unwrap();
        assert_eq!(patched.role.as_deref(), Some("owner"));
        assert!(patched.updated_at > bob.updated_at);
        // Only that row changed.
        for other in [(1, "ann".to_string()), (2, "ann".to_string())] {
            let row = db.get::<Membership>(&other).await.unwrap().unwrap();
            assert_eq!(row.role, None);
        }
        assert!(db.delete::<Membership>(&key).await.unwrap());
        assert!(!db.delete::<Membership>(&key).await.unwrap());
        assert_eq!(db.get::<Membership>(&key).await.unwrap(), None);
        assert_eq!(db.select_all::<Membership>().await.unwrap().len(), 2);
    });
}

/// Every typed read and write can run in a spawned tokio task: their futures are `Send`. (A
/// future that is not fails to compile here; nothing runs.)
#[test]
fn typed_reads_and_writes_can_be_spawned() {
    fn spawnable<F: std::future::Future + Send + 'static>(future: F) -> F {
        future
    }
    let _never_polled = spawnable(async {
        let mut db = Db::connect("postgres://unused").await?;
        let rows = vec![ticket(Uuid::nil(), 0)];
        db.insert(&rows[0]).await?;
        db.insert_many(&rows).await?;
        db.copy_in(&rows).await?;
        db.select_all::<SupportTicket>().await?;
        let key = Uuid::nil();
        db.get::<SupportTicket>(&key).await?;
        db.update(&key, &UpdateSupportTicket::default()).await?;
        db.delete::<SupportTicket>(&key).await?;
        db.query_as::<SelectSupportTicket>("SELECT 1", &[]).await?;
        let mut tx = db.transaction().await?;
        tx.insert_many(&rows).await?;
        tx.commit().await?;
        Ok::<(), PgError>(())
    });
}

#[test]
fn batch_rows_with_nulls_in_different_places_share_one_statement() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 1).await;
        // Eight rows, each with its NULLs in other columns.
        let rows: Vec<InsertSupportTicket> = (0..8)
            .map(|i| InsertSupportTicket {
                context_url: (i & 1 == 1).then(|| format!("https://app.test/{i}")),
                assigned_to: (i & 2 == 2).then(|| "alice".to_string()),
                satisfaction_rating: (i & 4 == 4).then_some(4),
                ..ticket(provider, i)
            })
            .collect();
        assert_eq!(db.insert_many(&rows).await.unwrap(), 8);
        let batches = prepared(&db, "INSERT INTO \"support_tickets\"%").await;
        assert_eq!(batches.len(), 1, "{batches:#?}");
        assert_eq!(db.copy_in(&rows).await.unwrap(), 8);
        let stored = db.select_all::<SupportTicket>().await.unwrap();
        for row in &rows {
            let same: Vec<_> = stored.iter().filter(|s| s.subject == row.subject).collect();
            assert_eq!(same.len(), 2);
            for s in same {
                assert_eq!(s.context_url, row.context_url);
                assert_eq!(s.assigned_to, row.assigned_to);
                assert_eq!(s.satisfaction_rating, row.satisfaction_rating);
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Streaming reads.

#[test]
fn streamed_reads_yield_every_row_as_select_all_does_and_go_on_after_a_bad_row() {
    use futures_util::TryStreamExt as _;
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let provider = add_provider(&db, 7).await;
        let rows: Vec<_> = (0..1500).map(|i| ticket(provider, i)).collect();
        db.copy_in(&rows).await.unwrap();

        let mut all = db.select_all::<SupportTicket>().await.unwrap();
        let mut streamed: Vec<SelectSupportTicket> = db
            .stream_all::<SupportTicket>()
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        all.sort_by_key(|t| t.ticket_id);
        streamed.sort_by_key(|t| t.ticket_id);
        assert_eq!(streamed.len(), 1500);
        assert_eq!(streamed, all);

        let some: Vec<SelectSupportTicket> = db
            .query_stream(
                "SELECT * FROM support_tickets WHERE subject LIKE $1",
                &[&"subject 1%"],
            )
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(some.len(), 1 + 10 + 100 + 500);

        // Inside a transaction too; a value the row type cannot hold is one Err item.
        db.client()
            .batch_execute(
                "ALTER TABLE support_tickets DROP CONSTRAINT support_tickets_priority_check; \
                 UPDATE support_tickets SET priority = 'SOMEDAY' WHERE subject = 'subject 3'",
            )
            .await
            .unwrap();
        let transaction = db.transaction().await.unwrap();
        let results: Vec<Result<SelectSupportTicket, PgError>> = futures_util::StreamExt::collect(
            transaction.stream_all::<SupportTicket>().await.unwrap(),
        )
        .await;
        assert_eq!(results.len(), 1500);
        let bad: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(bad.len(), 1);
        assert!(matches!(bad[0], PgError::Decode(_)), "{:?}", bad[0]);
        transaction.rollback().await.unwrap();
    });
}
