//! The seed's security requirements against the real database, as a physician's and a support
//! agent's login roles (not the table's owner): provider scoping by row-level security, failing
//! closed, and never leaking across requests that share pooled connections.

mod common;

use std::sync::Arc;

use common::TestDb;
use schema_core::pg::{ConstraintKind, Db, PgError};
use shared::schemas::db::provider_transaction;
use shared::schemas::{
    InsertSupportTicket, SupportTicket, TicketStatus, UpdateSupportTicket, PHYSICIAN_ROLE,
    SUPPORT_TEAM_ROLE,
};
use tokio::sync::Mutex;
use uuid::Uuid;

/// A throwaway database with the schema, `providers` providers holding `per_provider` tickets
/// each (written by the owner), and login URLs for a physician and a support agent.
struct Clinic {
    db: TestDb,
    providers: Vec<Uuid>,
    tickets: Vec<(Uuid, Uuid)>,
    physician_url: String,
    support_url: String,
}

fn clinic(providers: usize, per_provider: usize) -> Clinic {
    let mut db = TestDb::with_schema();
    let (ids, tickets) = db.add_providers_with_tickets(providers, per_provider);
    let physician = db.names().role_name(PHYSICIAN_ROLE).to_string();
    let support = db.names().role_name(SUPPORT_TEAM_ROLE).to_string();
    let physician_url = db.login_role("doctor", &physician);
    let support_url = db.login_role("agent", &support);
    Clinic {
        db,
        providers: ids,
        tickets,
        physician_url,
        support_url,
    }
}

fn run<F: std::future::Future<Output = ()>>(future: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future);
}

/// A ticket as the owner sees it: (provider, subject, status).
fn owner_view(db: &mut TestDb, ticket: Uuid) -> (Uuid, String, String) {
    let row = db
        .client()
        .query_one(
            "SELECT provider_id, subject, status FROM support_tickets WHERE ticket_id = $1",
            &[&ticket],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[test]
fn a_physician_reads_only_their_own_tickets() {
    let c = clinic(2, 3);
    let (a, b) = (c.providers[0], c.providers[1]);
    let b_ticket = c.tickets.iter().find(|(p, _)| *p == b).unwrap().1;
    let names = c.db.names().clone();
    run(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        let seen = tx.select_all::<SupportTicket>().await.unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|t| t.provider_id == a));
        assert_eq!(tx.get::<SupportTicket>(&b_ticket).await.unwrap(), None);
        tx.commit().await.unwrap();
    });
}

#[test]
fn a_physician_cannot_change_or_delete_another_physicians_tickets() {
    let mut c = clinic(2, 1);
    let (a, b) = (c.providers[0], c.providers[1]);
    let a_ticket = c.tickets.iter().find(|(p, _)| *p == a).unwrap().1;
    let b_ticket = c.tickets.iter().find(|(p, _)| *p == b).unwrap().1;
    let before = owner_view(&mut c.db, b_ticket);
    let names = c.db.names().clone();
    run(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        let patch = UpdateSupportTicket {
            subject: Some("taken over".into()),
            ..Default::default()
        };
        assert!(tx.update(&b_ticket, &patch).await.unwrap().is_none());
        assert!(!tx.delete::<SupportTicket>(&b_ticket).await.unwrap());
        tx.commit().await.unwrap();

        // Moving one's own ticket to another provider is refused: `UpdateSupportTicket` has no
        // `provider_id`, and the column is granted to no role.
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        let error = PgError::from(
            tx.client()
                .execute(
                    "UPDATE support_tickets SET provider_id = $1 WHERE ticket_id = $2",
                    &[&b, &a_ticket],
                )
                .await
                .unwrap_err(),
        );
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Denied),
            "{error}"
        );
    });
    assert_eq!(owner_view(&mut c.db, b_ticket), before);
    assert_eq!(owner_view(&mut c.db, a_ticket).0, a);
}

#[test]
fn a_physician_cannot_create_a_ticket_for_another_provider() {
    let mut c = clinic(2, 0);
    let (a, b) = (c.providers[0], c.providers[1]);
    let names = c.db.names().clone();
    run(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        let theirs = InsertSupportTicket::new(b, "on their behalf".into(), "d".into());
        let error = tx.insert(&theirs).await.unwrap_err();
        assert!(
            matches!(&error, PgError::Constraint(v) if v.kind == ConstraintKind::Denied),
            "{error}"
        );
        tx.rollback().await.unwrap();

        let mut tx = provider_transaction(&mut db, &names, a).await.unwrap();
        let batch = [
            InsertSupportTicket::new(a, "mine".into(), "d".into()),
            InsertSupportTicket::new(b, "theirs".into(), "d".into()),
        ];
        // A batch holding one row for another provider goes in whole or not at all: not.
        for error in [
            tx.copy_in(&batch).await.unwrap_err(),
            tx.insert_many(&batch).await.unwrap_err(),
        ] {
            assert!(
                matches!(&error, PgError::Constraint(v) if v.kind == ConstraintKind::Denied),
                "{error}"
            );
        }
        let own = tx
            .insert(&InsertSupportTicket::new(a, "mine".into(), "d".into()))
            .await
            .unwrap();
        assert_eq!(own.provider_id, a);
        tx.commit().await.unwrap();
    });
    let count: i64 =
        c.db.client()
            .query_one("SELECT count(*) FROM support_tickets", &[])
            .unwrap()
            .get(0);
    assert_eq!(count, 1, "only the physician's own ticket was created");
}

#[test]
fn without_a_scope_a_physician_sees_nothing_and_writes_nothing() {
    let c = clinic(2, 2);
    let a = c.providers[0];
    run(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        assert!(db.select_all::<SupportTicket>().await.unwrap().is_empty());
        let error = db
            .insert(&InsertSupportTicket::new(a, "s".into(), "d".into()))
            .await
            .unwrap_err();
        assert!(matches!(&error, PgError::Constraint(v) if v.kind == ConstraintKind::Denied));
        // A scope ends with its transaction: the next one starts with none.
        let names = c.db.names().clone();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        assert_eq!(tx.select_all::<SupportTicket>().await.unwrap().len(), 2);
        tx.commit().await.unwrap();
        assert!(db.select_all::<SupportTicket>().await.unwrap().is_empty());
    });
}

#[test]
fn the_support_team_sees_the_whole_triage_queue() {
    let c = clinic(3, 2);
    run(async {
        let db = Db::connect(&c.support_url).await.unwrap();
        let queue = db.select_all::<SupportTicket>().await.unwrap();
        assert_eq!(queue.len(), 6);
        let worked = db
            .update(
                &c.tickets[0].1,
                &UpdateSupportTicket {
                    assigned_to: Some(Some("agent.smith".into())),
                    status: Some(TicketStatus::InProgress),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(worked.assigned_to.as_deref(), Some("agent.smith"));
        // The team works tickets; it does not delete them.
        let error = db
            .delete::<SupportTicket>(&c.tickets[1].1)
            .await
            .unwrap_err();
        assert!(matches!(&error, PgError::Constraint(v) if v.kind == ConstraintKind::Denied));
    });
}

#[test]
fn concurrent_scoped_requests_over_a_shared_pool_never_see_another_providers_rows() {
    const PROVIDERS: usize = 5;
    const PER_PROVIDER: usize = 4;
    const CONNECTIONS: usize = 4;
    const REQUESTS: usize = 200;
    let c = clinic(PROVIDERS, PER_PROVIDER);
    let names = Arc::new(c.db.names().clone());
    let providers = Arc::new(c.providers.clone());
    run(async {
        let mut pool = Vec::new();
        for _ in 0..CONNECTIONS {
            pool.push(Arc::new(Mutex::new(
                Db::connect(&c.physician_url).await.unwrap(),
            )));
        }
        let mut requests = Vec::new();
        for request in 0..REQUESTS {
            // Requests take whichever connection their number gives: each connection serves
            // many providers in turn, as a pool's would.
            let connection = pool[request % CONNECTIONS].clone();
            let (names, providers) = (names.clone(), providers.clone());
            requests.push(tokio::spawn(async move {
                let mut db = connection.lock().await;
                if request % 7 == 0 {
                    // A request without a scope, right after scoped ones on this connection.
                    let seen = db.select_all::<SupportTicket>().await.unwrap();
                    assert!(
                        seen.is_empty(),
                        "an unscoped request saw {} rows",
                        seen.len()
                    );
                    return;
                }
                let provider = providers[(request * 3) % providers.len()];
                let tx = provider_transaction(&mut db, &names, provider)
                    .await
                    .unwrap();
                let seen = tx.select_all::<SupportTicket>().await.unwrap();
                assert_eq!(seen.len(), PER_PROVIDER);
                assert!(
                    seen.iter().all(|t| t.provider_id == provider),
                    "request {request} for {provider} saw another provider's ticket"
                );
                if request % 2 == 0 {
                    tx.commit().await.unwrap();
                } else {
                    tx.rollback().await.unwrap();
                }
            }));
        }
        for request in requests {
            request.await.unwrap();
        }
    });
}

/// Runs `sql` (with the ticket id as `$1`) on `client` and returns the typed error it fails with.
async fn refused<C: schema_core::pg::tokio_postgres::GenericClient>(
    client: &C,
    sql: &str,
    ticket: Uuid,
) -> PgError {
    match client.execute(sql, &[&ticket]).await {
        Ok(rows) => panic!("`{sql}` was allowed ({rows} rows)"),
        Err(error) => PgError::from(error),
    }
}

#[test]
fn the_support_team_cannot_move_a_ticket_and_its_phi_to_another_provider() {
    let mut c = clinic(2, 1);
    let (a, b) = (c.providers[0], c.providers[1]);
    let a_ticket = c.tickets[0].1;
    let names = c.db.names().clone();
    let owner_url = c.db.url().to_string();
    run(async {
        let agent = Db::connect(&c.support_url).await.unwrap();
        let error = refused(
            agent.client(),
            &format!("UPDATE support_tickets SET provider_id = '{b}' WHERE ticket_id = $1"),
            a_ticket,
        )
        .await;
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Denied),
            "{error}"
        );

        // Not even the owner (here a superuser, whom no privilege stops) can: the trigger names
        // the column.
        let owner = Db::connect(&owner_url).await.unwrap();
        let error = refused(
            owner.client(),
            &format!("UPDATE support_tickets SET provider_id = '{b}' WHERE ticket_id = $1"),
            a_ticket,
        )
        .await;
        let violation = error.constraint().expect("a constraint violation");
        assert_eq!(violation.kind, ConstraintKind::Immutable, "{error}");
        assert_eq!(violation.column.as_deref(), Some("provider_id"));
        assert_eq!(
            violation.constraint.as_deref(),
            Some("support_tickets_provider_id_immutable")
        );
        let error = refused(
            owner.client(),
            "UPDATE support_tickets SET created_at = created_at - interval '1 day' WHERE ticket_id = $1",
            a_ticket,
        )
        .await;
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Immutable),
            "{error}"
        );
        // Another 23000, raised by code of one's own, is not taken for the trigger's.
        let other = PgError::from(
            owner
                .client()
                .batch_execute(
                    "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', \
                     MESSAGE = 'mine', COLUMN = 'provider_id', TABLE = 'support_tickets'; END $$",
                )
                .await
                .unwrap_err(),
        );
        assert!(matches!(other, PgError::Database(_)), "{other:?}");
        // An update that leaves the immutable columns as they are goes through.
        owner
            .client()
            .execute(
                "UPDATE support_tickets SET provider_id = provider_id, subject = 'renamed' WHERE ticket_id = $1",
                &[&a_ticket],
            )
            .await
            .unwrap();

        // The physician scoped to B still sees none of A's tickets.
        let mut doctor = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut doctor, &names, b).await.unwrap();
        let seen = tx.select_all::<SupportTicket>().await.unwrap();
        assert!(seen.iter().all(|t| t.provider_id == b));
        assert!(seen.iter().all(|t| t.ticket_id != a_ticket));
        tx.rollback().await.unwrap();
    });
    assert_eq!(owner_view(&mut c.db, a_ticket).0, a);
}

#[test]
fn each_role_changes_only_the_columns_granted_to_it() {
    let mut c = clinic(1, 1);
    let a = c.providers[0];
    let ticket = c.tickets[0].1;
    let names = c.db.names().clone();
    run(async {
        let mut doctor = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut doctor, &names, a).await.unwrap();
        // What a physician edits: what they wrote, and the rating.
        let edited = tx
            .update(
                &ticket,
                &UpdateSupportTicket {
                    subject: Some("Claim 42 rejected".into()),
                    description: Some("More details".into()),
                    satisfaction_rating: Some(Some(5)),
                    satisfaction_comment: Some(Some("Quick".into())),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(edited.subject, "Claim 42 rejected");
        assert_eq!(edited.satisfaction_rating, Some(5));
        tx.commit().await.unwrap();

        // Triage through the typed API: a typed refusal, not a panic.
        let tx = provider_transaction(&mut doctor, &names, a).await.unwrap();
        let error = tx
            .update(
                &ticket,
                &UpdateSupportTicket {
                    status: Some(TicketStatus::Closed),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Denied),
            "{error}"
        );
        tx.rollback().await.unwrap();
        for sql in [
            "UPDATE support_tickets SET status = 'CLOSED' WHERE ticket_id = $1",
            "UPDATE support_tickets SET assigned_to = 'me' WHERE ticket_id = $1",
            "UPDATE support_tickets SET category = 'BILLING' WHERE ticket_id = $1",
            "UPDATE support_tickets SET created_at = now() WHERE ticket_id = $1",
            "UPDATE support_tickets SET screenshot_path = '/etc/passwd' WHERE ticket_id = $1",
        ] {
            let tx = provider_transaction(&mut doctor, &names, a).await.unwrap();
            let error = refused(tx.client(), sql, ticket).await;
            assert_eq!(
                error.constraint().map(|v| v.kind),
                Some(ConstraintKind::Denied),
                "{sql}: {error}"
            );
            tx.rollback().await.unwrap();
        }

        // The support team triages and resolves, and does not rewrite the physician's words.
        let agent = Db::connect(&c.support_url).await.unwrap();
        let resolved = agent
            .update(
                &ticket,
                &UpdateSupportTicket {
                    category: Some(Some(shared::schemas::TicketCategory::Billing)),
                    status: Some(TicketStatus::Resolved),
                    resolution_notes: Some(Some("Resubmitted".into())),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resolved.status, TicketStatus::Resolved);
        for sql in [
            "UPDATE support_tickets SET description = 'rewritten' WHERE ticket_id = $1",
            "UPDATE support_tickets SET satisfaction_rating = 5 WHERE ticket_id = $1",
            "UPDATE support_tickets SET screenshot_path = 'x' WHERE ticket_id = $1",
        ] {
            let error = refused(agent.client(), sql, ticket).await;
            assert_eq!(
                error.constraint().map(|v| v.kind),
                Some(ConstraintKind::Denied),
                "{sql}: {error}"
            );
        }
    });
    let row = c
        .db
        .client()
        .query_one(
            "SELECT description, status, screenshot_path FROM support_tickets WHERE ticket_id = $1",
            &[&ticket],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "More details");
    assert_eq!(row.get::<_, String>(1), "RESOLVED");
    assert_eq!(row.get::<_, Option<String>>(2), None);
}

#[test]
fn a_physician_raises_a_ticket_but_cannot_backdate_triage_or_resolve_it_on_insert() {
    let mut c = clinic(1, 0);
    let a = c.providers[0];
    let names = c.db.names().clone();
    run(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        let raised = tx
            .insert(&InsertSupportTicket {
                context_url: Some("https://app.test/claims/42".into()),
                context_metadata: Some(serde_json::json!({"claim_id": "42"})),
                priority: Some(shared::schemas::TicketPriority::High),
                screenshot_path: Some("tickets/42.png".into()),
                ..InsertSupportTicket::new(a, "Claim 42".into(), "Rejected twice".into())
            })
            .await
            .unwrap();
        assert_eq!(raised.status, TicketStatus::Open);
        tx.commit().await.unwrap();

        let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
        let forged = [
            InsertSupportTicket {
                created_at: Some(yesterday),
                ..InsertSupportTicket::new(a, "s".into(), "d".into())
            },
            InsertSupportTicket {
                status: Some(TicketStatus::Resolved),
                ..InsertSupportTicket::new(a, "s".into(), "d".into())
            },
            InsertSupportTicket {
                assigned_to: Some("me".into()),
                ..InsertSupportTicket::new(a, "s".into(), "d".into())
            },
            InsertSupportTicket {
                satisfaction_rating: Some(5),
                ..InsertSupportTicket::new(a, "s".into(), "d".into())
            },
        ];
        for row in &forged {
            let tx = provider_transaction(&mut db, &names, a).await.unwrap();
            let error = tx.insert(row).await.unwrap_err();
            assert_eq!(
                error.constraint().map(|v| v.kind),
                Some(ConstraintKind::Denied),
                "{row:?}: {error}"
            );
            tx.rollback().await.unwrap();
        }

        // Batches whose rows leave different columns NULL name only what each row sets.
        let batch = [
            InsertSupportTicket {
                context_url: Some("https://app.test/a".into()),
                ..InsertSupportTicket::new(a, "with a page".into(), "d".into())
            },
            InsertSupportTicket {
                screenshot_path: Some("tickets/b.png".into()),
                ..InsertSupportTicket::new(a, "with a screenshot".into(), "d".into())
            },
        ];
        let mut tx = provider_transaction(&mut db, &names, a).await.unwrap();
        assert_eq!(tx.insert_many(&batch).await.unwrap(), 2);
        assert_eq!(tx.copy_in(&batch).await.unwrap(), 2);
        tx.commit().await.unwrap();
    });
    let count: i64 =
        c.db.client()
            .query_one("SELECT count(*) FROM support_tickets", &[])
            .unwrap()
            .get(0);
    assert_eq!(count, 5);
}
