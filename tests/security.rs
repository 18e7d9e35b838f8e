//! The seed's security requirements against the real database, as a physician's and a support
//! agent's login roles (not the table's owner): provider scoping by row-level security, failing
//! closed, and never leaking across requests that share pooled connections.

mod common;

use std::sync::Arc;

use common::{shown, TestDb, PHI_MARKER};
use schema_core::pg::{ConstraintKind, Db, PgError, RequestScope, ScopeProblem};
use shared::schemas::db::provider_transaction;
use shared::schemas::{
    InsertSupportTicket, SupportTicket, TicketStatus, UpdateSupportTicket, PHYSICIAN_ROLE,
    PROVIDER_SETTING, SUPPORT_TEAM_ROLE,
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
    let (physician_url, support_url) = db.application_logins();
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

// ---------------------------------------------------------------------------------------------
// Logins that hold more than the scope's role, or bypass row-level security.

/// A login that is a member of `roles` (their names in this database), with further
/// `CREATE ROLE` options (`NOINHERIT`, `BYPASSRLS`); returns its URL.
fn login_holding(db: &mut TestDb, label: &str, roles: &[&str], options: &str) -> String {
    let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
    db.login_role_with(label, &format!("{options} IN ROLE {}", roles.join(", ")))
}

#[test]
fn a_login_in_physician_and_support_team_is_scoped_to_its_provider_alone() {
    let mut c = clinic(2, 1);
    let (a, b) = (c.providers[0], c.providers[1]);
    let a_ticket = c.tickets.iter().find(|(p, _)| *p == a).unwrap().1;
    let b_ticket = c.tickets.iter().find(|(p, _)| *p == b).unwrap().1;
    let names = c.db.names().clone();
    let physician = names.role_name(PHYSICIAN_ROLE).to_string();
    let support = names.role_name(SUPPORT_TEAM_ROLE).to_string();
    let both = login_holding(&mut c.db, "both", &[&physician, &support], "");
    let both_noinherit = login_holding(&mut c.db, "both_ni", &[&physician, &support], "NOINHERIT");
    let before = owner_view(&mut c.db, b_ticket);
    run(async {
        for url in [&both, &both_noinherit] {
            let mut db = Db::connect(url).await.unwrap();
            let tx = provider_transaction(&mut db, &names, a).await.unwrap();
            let seen = tx.select_all::<SupportTicket>().await.unwrap();
            assert_eq!(
                seen.iter().map(|t| t.ticket_id).collect::<Vec<_>>(),
                [a_ticket],
                "{url}"
            );
            assert_eq!(tx.get::<SupportTicket>(&b_ticket).await.unwrap(), None);
            let patch = UpdateSupportTicket {
                subject: Some("taken over".into()),
                ..Default::default()
            };
            assert!(
                tx.update(&b_ticket, &patch).await.unwrap().is_none(),
                "{url}"
            );
            tx.commit().await.unwrap();
        }
        // Outside a scope, the login that inherits its roles works the whole queue, as the
        // support team; the one that does not holds nothing of its own.
        let db = Db::connect(&both).await.unwrap();
        assert_eq!(db.select_all::<SupportTicket>().await.unwrap().len(), 2);
        let db = Db::connect(&both_noinherit).await.unwrap();
        let error = db.select_all::<SupportTicket>().await.unwrap_err();
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Denied),
            "{error}"
        );
    });
    assert_eq!(owner_view(&mut c.db, b_ticket), before);
}

/// The scope a login is refused, and why.
fn refusal(error: PgError) -> (String, ScopeProblem) {
    match error {
        PgError::InvalidScope { role, problem } => (role, problem),
        other => panic!("expected a refused scope, got {other:?}"),
    }
}

#[test]
fn a_scope_is_refused_to_a_superuser_and_a_bypassrls_login_and_for_a_role_not_held() {
    let mut c = clinic(2, 1);
    let a = c.providers[0];
    let names = c.db.names().clone();
    let physician = names.role_name(PHYSICIAN_ROLE).to_string();
    let support = names.role_name(SUPPORT_TEAM_ROLE).to_string();
    let bypass = login_holding(&mut c.db, "bypass", &[&physician], "BYPASSRLS");
    let exempt = c.db.role_name("exempt");
    c.db.drop_role_later(&exempt);
    let doctor = c.db.role_name("doctor");
    c.db.client()
        .batch_execute(&format!(
            "CREATE ROLE \"{exempt}\" BYPASSRLS; GRANT \"{exempt}\" TO \"{doctor}\""
        ))
        .unwrap();
    // The throwaway database's own URL: its owner, the server's superuser.
    let superuser = c.db.url().to_string();
    run(async {
        for (url, superuser) in [(&superuser, true), (&bypass, false)] {
            let mut db = Db::connect(url).await.unwrap();
            let error = provider_transaction(&mut db, &names, a)
                .await
                .err()
                .unwrap();
            let message = error.to_string();
            let (role, problem) = refusal(error);
            assert_eq!(role, physician);
            assert!(
                matches!(
                    problem,
                    ScopeProblem::LoginBypassesRowSecurity { superuser: s, .. } if s == superuser
                ),
                "{problem:?}"
            );
            assert!(
                message.contains("no row-level security policy holds"),
                "{message}"
            );
            // Nothing was left open: the connection goes on.
            db.transaction().await.unwrap().commit().await.unwrap();
        }
        let mut doctor = Db::connect(&c.physician_url).await.unwrap();
        let provider = a.to_string();
        let setting = names.setting_name(PROVIDER_SETTING);
        let scope = |role| RequestScope {
            role,
            setting,
            value: &provider,
        };
        for (role, expected) in [
            (
                exempt.as_str(),
                "RoleBypassesRowSecurity { superuser: false }",
            ),
            ("no_such_role", "UnknownRole"),
            (support.as_str(), "NotMember"),
            ("", "RoleName(\"is empty\")"),
        ] {
            let error = doctor.scoped_transaction(scope(role)).await.err().unwrap();
            let message = error.to_string();
            let (refused, problem) = refusal(error);
            assert_eq!(refused, role);
            assert!(format!("{problem:?}").starts_with(expected), "{problem:?}");
            assert!(message.contains(role), "{message}");
        }
        // Refused scopes leave nothing behind: unscoped, the physician sees nothing.
        assert!(doctor
            .select_all::<SupportTicket>()
            .await
            .unwrap()
            .is_empty());
        let tx = provider_transaction(&mut doctor, &names, a).await.unwrap();
        assert_eq!(tx.select_all::<SupportTicket>().await.unwrap().len(), 1);
    });
}

// ---------------------------------------------------------------------------------------------
// Errors of refused rows.

/// The database one release ahead of the code: `context_url` NOT NULL, descriptions unique
/// and under 100 characters.
const AHEAD_OF_THE_CODE: &str = "UPDATE support_tickets SET context_url = 'https://app.test/'; \
     ALTER TABLE support_tickets ALTER COLUMN context_url SET NOT NULL; \
     CREATE UNIQUE INDEX support_tickets_description_key ON support_tickets (description); \
     ALTER TABLE support_tickets ADD CONSTRAINT support_tickets_description_short \
         CHECK (length(description) < 100)";

#[test]
fn a_refused_rows_sensitive_values_reach_no_error_on_any_write_path() {
    let mut c = clinic(1, 1);
    let a = c.providers[0];
    let a_ticket = c.tickets[0].1;
    let names = c.db.names().clone();
    c.db.client().batch_execute(AHEAD_OF_THE_CODE).unwrap();
    // The server does quote the row: tokio-postgres's own error carries the marker.
    let raw = c
        .db
        .client()
        .execute(
            "INSERT INTO support_tickets (provider_id, subject, description) VALUES ($1, 's', $2)",
            &[&a, &PHI_MARKER],
        )
        .unwrap_err();
    assert!(format!("{raw:?}").contains(PHI_MARKER));

    let without_url =
        || InsertSupportTicket::new(a, "s".into(), format!("{PHI_MARKER} of a patient"));
    let with_url = |n: usize| InsertSupportTicket {
        context_url: Some("https://app.test/".into()),
        ..InsertSupportTicket::new(a, "s".into(), format!("{PHI_MARKER} {n}"))
    };
    let too_long = UpdateSupportTicket {
        description: Some(format!("{PHI_MARKER}{}", "x".repeat(100))),
        ..Default::default()
    };
    let owner_url = c.db.url().to_string();
    let mut refused: Vec<(&str, PgError)> = Vec::new();
    run(async {
        // As the owner: COPY runs as COPY (no policy applies to a superuser).
        let mut owner = Db::connect(&owner_url).await.unwrap();
        owner.insert(&with_url(0)).await.unwrap();
        refused.push(("insert", owner.insert(&without_url()).await.unwrap_err()));
        refused.push((
            "insert_many",
            owner.insert_many(&[without_url()]).await.unwrap_err(),
        ));
        refused.push((
            "copy_in",
            owner.copy_in(&[without_url()]).await.unwrap_err(),
        ));
        refused.push((
            "insert, unique",
            owner.insert(&with_url(0)).await.unwrap_err(),
        ));
        let twice = [with_url(1), with_url(1)];
        refused.push((
            "insert_many, unique",
            owner.insert_many(&twice).await.unwrap_err(),
        ));
        refused.push(("copy_in, unique", owner.copy_in(&twice).await.unwrap_err()));
        refused.push((
            "update",
            owner.update(&a_ticket, &too_long).await.unwrap_err(),
        ));
        let mut tx = owner.transaction().await.unwrap();
        refused.push((
            "transaction's insert_many",
            tx.insert_many(&[without_url()]).await.unwrap_err(),
        ));
        refused.push((
            "transaction's copy_in",
            tx.copy_in(&twice).await.unwrap_err(),
        ));
        refused.push((
            "transaction's insert",
            tx.insert(&without_url()).await.unwrap_err(),
        ));
        drop(tx);
        // As a physician, in their scope: COPY goes by INSERT under the policies.
        let mut doctor = Db::connect(&c.physician_url).await.unwrap();
        let scoped = [
            ("scoped insert", 0),
            ("scoped insert_many", 1),
            ("scoped copy_in", 2),
            ("scoped update", 3),
        ];
        for (path, n) in scoped {
            let mut tx = provider_transaction(&mut doctor, &names, a).await.unwrap();
            let error = match n {
                0 => tx.insert(&without_url()).await.unwrap_err(),
                1 => tx.insert_many(&[without_url()]).await.unwrap_err(),
                2 => tx.copy_in(&[without_url()]).await.unwrap_err(),
                _ => tx.update(&a_ticket, &too_long).await.unwrap_err(),
            };
            refused.push((path, error));
        }
    });
    for (path, error) in &refused {
        let text = shown(error);
        assert!(!text.contains(PHI_MARKER), "{path}: {text}");
        let violation = error
            .constraint()
            .unwrap_or_else(|| panic!("{path}: {error:?}"));
        // What the rule is and where stays known.
        let (kind, named, detail) = match violation.kind {
            ConstraintKind::NotNull => (
                "not null",
                violation.column.as_deref() == Some("context_url"),
                "Failing row contains (<values left out>).",
            ),
            ConstraintKind::Unique => (
                "unique",
                violation.constraint.as_deref() == Some("support_tickets_description_key"),
                "Key (description)=(<values left out>) already exists.",
            ),
            ConstraintKind::Check => (
                "check",
                violation.constraint.as_deref() == Some("support_tickets_description_short"),
                "Failing row contains (<values left out>).",
            ),
            other => panic!("{path}: {other:?}"),
        };
        assert!(named, "{path}: {kind}: {error:?}");
        assert_eq!(
            violation.table.as_deref(),
            Some("support_tickets"),
            "{path}"
        );
        // Where row-level security applies, the server sends no row at all.
        if path.starts_with("scoped") {
            assert_eq!(violation.source.detail, None, "{path}");
        } else {
            assert_eq!(violation.source.detail.as_deref(), Some(detail), "{path}");
            assert!(text.contains(detail), "{path}: {text}");
        }
    }
    assert_eq!(refused.len(), 14);
}

// ---------------------------------------------------------------------------------------------
// Errors of a sensitive column's values, before anything is sent and as they are read back.

/// A lab result's outcome; the database one release ahead holds a value this code lacks.
#[derive(schema_core::PgEnum, Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    Negative,
    Positive,
}

/// A table whose every checked or decoded column is `sensitive`.
#[derive(schema_core::PgTable)]
#[pg(table = "lab_results")]
pub struct LabResult {
    #[pg(primary_key)]
    pub result_id: i64,
    #[pg(sensitive, range = 0..=500)]
    pub glucose: i32,
    #[pg(sensitive, numeric(precision = 5, scale = 2))]
    pub level: schema_core::rust_decimal::Decimal,
    #[pg(sensitive)]
    pub taken_on: chrono::NaiveDate,
    #[pg(sensitive)]
    pub outcome: Outcome,
}

#[test]
fn a_sensitive_columns_values_reach_no_validation_or_decode_error_of_either_driver() {
    use schema_core::rust_decimal::Decimal;
    // Values that stand out in any text: the glucose, the level and the date each once.
    let glucose = 987_654;
    let level = Decimal::new(4_321_987, 3);
    let taken_on = chrono::NaiveDate::from_ymd_opt(-5123, 4, 5).unwrap();
    let shown_values = [
        glucose.to_string(),
        level.to_string(),
        taken_on.to_string(),
        "5123".to_string(),
        PHI_MARKER.to_string(),
    ];
    let row = |result_id| InsertLabResult {
        result_id,
        glucose,
        level,
        taken_on,
        outcome: Outcome::Positive,
    };
    let mut db = TestDb::with(&schema_core::Schema::new().table::<LabResult>());
    // One row the code cannot read: an outcome added by a later release.
    db.client()
        .batch_execute(&format!(
            "ALTER TABLE lab_results DROP CONSTRAINT lab_results_outcome_check; \
             INSERT INTO lab_results VALUES (1, 90, 4.5, '2026-01-02', '{PHI_MARKER}')"
        ))
        .unwrap();
    let url = db.url().to_string();
    let mut errors: Vec<(&str, Box<dyn std::error::Error>)> = Vec::new();
    run(async {
        let mut pg = Db::connect(&url).await.unwrap();
        errors.push(("insert", Box::new(pg.insert(&row(2)).await.unwrap_err())));
        errors.push((
            "insert_many",
            Box::new(pg.insert_many(&[row(2)]).await.unwrap_err()),
        ));
        errors.push((
            "copy_in",
            Box::new(pg.copy_in(&[row(2)]).await.unwrap_err()),
        ));
        let patch = UpdateLabResult {
            glucose: Some(glucose),
            level: Some(level),
            taken_on: Some(taken_on),
            ..Default::default()
        };
        errors.push(("update", Box::new(pg.update(&1, &patch).await.unwrap_err())));
        errors.push((
            "select_all",
            Box::new(pg.select_all::<LabResult>().await.unwrap_err()),
        ));
        errors.push(("get", Box::new(pg.get::<LabResult>(&1).await.unwrap_err())));
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        errors.push((
            "sqlx insert",
            Box::new(schema_core::sqlx::insert(&pool, &row(2)).await.unwrap_err()),
        ));
        errors.push((
            "sqlx insert_many",
            Box::new(
                schema_core::sqlx::insert_many(&pool, &[row(2)])
                    .await
                    .unwrap_err(),
            ),
        ));
        let read = sqlx::query_as::<_, SelectLabResult>("SELECT * FROM lab_results")
            .fetch_all(&pool)
            .await
            .unwrap_err();
        errors.push(("sqlx query_as", Box::new(read)));
        pool.close().await;
    });
    for (path, error) in &errors {
        let text = format!("{}{error:#?}", shown(error.as_ref()));
        for value in &shown_values {
            assert!(!text.contains(value.as_str()), "{path}: {value} in {text}");
        }
        // What is wrong, and where, stays known.
        assert!(text.contains("lab_results"), "{path}: {text}");
    }
    assert_eq!(errors.len(), 9);
}

#[test]
fn a_partition_keys_values_reach_no_error() {
    let mut db = TestDb::new();
    db.client()
        .batch_execute(
            "CREATE TABLE notes (patient text, body text) PARTITION BY LIST (patient); \
             CREATE TABLE notes_known PARTITION OF notes FOR VALUES IN ('known')",
        )
        .unwrap();
    // The server quotes the partition key of the row it has no partition for.
    let raw = db
        .client()
        .execute("INSERT INTO notes VALUES ($1, 'x')", &[&PHI_MARKER])
        .unwrap_err();
    assert!(format!("{raw:?}").contains(PHI_MARKER));
    let error = PgError::from(raw);
    let text = format!("{}{error:#?}", shown(&error));
    assert!(!text.contains(PHI_MARKER), "{text}");
    let violation = error.constraint().unwrap();
    assert_eq!(violation.kind, ConstraintKind::Check);
    assert_eq!(
        violation.source.detail.as_deref(),
        Some("Partition key of the failing row contains (patient) = (<values left out>).")
    );
}

#[test]
fn a_role_named_with_quotes_and_held_through_a_chain_of_grants_scopes_its_login() {
    let mut db = TestDb::new();
    let odd = format!("Dr. \"{}\"; Physician", db.role_name("x"));
    db.drop_role_later(&odd);
    let names = db.names().clone().role(PHYSICIAN_ROLE, &odd);
    let ddl = shared::schemas::db::schema()
        .with_names(names.clone())
        .to_ddl()
        .unwrap();
    db.client().batch_execute(&ddl).unwrap();
    let (providers, tickets) = db.add_providers_with_tickets(2, 1);
    // The login holds the role only through another, which does not inherit it.
    let link = db.role_name("link");
    db.drop_role_later(&link);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE \"{link}\" NOINHERIT IN ROLE \"{}\"",
            odd.replace('"', "\"\"")
        ))
        .unwrap();
    let url = db.login_role("chained", &link);
    run(async {
        let mut login = Db::connect(&url).await.unwrap();
        for (provider, ticket) in &tickets {
            let tx = provider_transaction(&mut login, &names, *provider)
                .await
                .unwrap();
            let seen = tx.select_all::<SupportTicket>().await.unwrap();
            assert_eq!(
                seen.iter().map(|t| t.ticket_id).collect::<Vec<_>>(),
                [*ticket]
            );
            let user: String = tx
                .client()
                .query_one("SELECT current_user::text", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(user, odd);
            tx.rollback().await.unwrap();
        }
        // Unscoped, the login holds nothing.
        assert!(login.select_all::<SupportTicket>().await.is_err());
    });
    assert_eq!(providers.len(), 2);
}
