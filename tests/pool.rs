//! Typed reads and writes and the provider scope over a real pool of 4 connections (deadpool and
//! bb8, through `schema_core::pg::pool::DbManager`): many concurrent scoped requests, unscoped
//! ones in between, never a row of another provider; prepared statements kept per physical
//! connection across checkouts; a leaked transaction never reaches the next checkout.

mod common;

use std::sync::Arc;

use common::TestDb;
use schema_core::pg::pool::DbManager;
use schema_core::pg::Db;
use shared::schemas::db::{provider_transaction, SupportTicket, PHYSICIAN_ROLE};
use uuid::Uuid;

const PROVIDERS: usize = 5;
const PER_PROVIDER: usize = 4;
const CONNECTIONS: u32 = 4;
const REQUESTS: usize = 200;

struct Clinic {
    db: TestDb,
    providers: Vec<Uuid>,
    physician_url: String,
}

fn clinic() -> Clinic {
    let mut db = TestDb::with_schema();
    let (providers, _) = db.add_providers_with_tickets(PROVIDERS, PER_PROVIDER);
    let physician = db.names().role_name(PHYSICIAN_ROLE).to_string();
    let physician_url = db.login_role("doctor", &physician);
    Clinic {
        db,
        providers,
        physician_url,
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

/// One request on a checked-out `Db`: unscoped (sees nothing) or scoped to one provider (sees
/// exactly that provider's tickets).
async fn request(db: &mut Db, names: &schema_core::Names, providers: &[Uuid], request: usize) {
    if matches!(request % 7, 0) {
        let seen = db.select_all::<SupportTicket>().await.unwrap();
        assert!(
            seen.is_empty(),
            "an unscoped request saw {} rows",
            seen.len()
        );
        return;
    }
    let provider = providers[(request * 3) % providers.len()];
    let tx = provider_transaction(db, names, provider).await.unwrap();
    let seen = tx.select_all::<SupportTicket>().await.unwrap();
    assert_eq!(seen.len(), PER_PROVIDER);
    assert!(
        seen.iter().all(|t| t.provider_id == provider),
        "request {request} for {provider} saw another provider's ticket"
    );
    if matches!(request % 3, 0) {
        // Leaked: the next checkout of this connection must not inherit its scope.
        std::mem::forget(tx);
    } else if matches!(request % 2, 0) {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
}

/// The prepared statements of the session `db` is on.
async fn prepared(db: &Db) -> i64 {
    db.client()
        .query_one("SELECT count(*) FROM pg_prepared_statements", &[])
        .await
        .unwrap()
        .get(0)
}

#[test]
fn deadpool_serves_concurrent_scoped_requests_without_a_leak_and_keeps_its_statements() {
    let c = clinic();
    let names = Arc::new(c.db.names().clone());
    let providers = Arc::new(c.providers.clone());
    run(async {
        let manager = DbManager::new(&c.physician_url).unwrap();
        let pool = deadpool::managed::Pool::<DbManager>::builder(manager)
            .max_size(CONNECTIONS as usize)
            .build()
            .unwrap();
        let mut requests = Vec::new();
        for n in 0..REQUESTS {
            let (pool, names, providers) = (pool.clone(), names.clone(), providers.clone());
            requests.push(tokio::spawn(async move {
                let mut db = pool.get().await.unwrap();
                request(&mut db, &names, &providers, n).await;
            }));
        }
        for r in requests {
            r.await.unwrap();
        }
        assert_eq!(pool.status().size, CONNECTIONS as usize);
        // A second wave of requests prepares nothing: every connection kept the statements
        // it prepared in the first, across all its checkouts.
        let before: chrono::DateTime<chrono::Utc> = {
            let db = pool.get().await.unwrap();
            db.client()
                .query_one("SELECT clock_timestamp()", &[])
                .await
                .unwrap()
                .get(0)
        };
        let mut requests = Vec::new();
        for n in 0..REQUESTS {
            let (pool, names, providers) = (pool.clone(), names.clone(), providers.clone());
            requests.push(tokio::spawn(async move {
                let mut db = pool.get().await.unwrap();
                request(&mut db, &names, &providers, n).await;
                let row = db
                    .client()
                    .query_one(
                        "SELECT count(*) FILTER (WHERE prepare_time > $1), \
                                count(*) FILTER (WHERE prepare_time <= $1) \
                         FROM pg_prepared_statements",
                        &[&before],
                    )
                    .await
                    .unwrap();
                let (fresh, kept): (i64, i64) = (row.get(0), row.get(1));
                // This check's own statement is the one prepared after `before`; the typed
                // reads' statements are the ones prepared before it, still there.
                assert!(
                    fresh <= 1,
                    "{fresh} statements prepared again on a connection"
                );
                assert!(kept >= 1, "no statement kept across checkouts");
            }));
        }
        for r in requests {
            r.await.unwrap();
        }
        let db = pool.get().await.unwrap();
        let count = prepared(&db).await;
        assert!(
            (1..=3).contains(&count),
            "{count} statements prepared on one connection"
        );
    });
}

#[test]
fn bb8_serves_concurrent_scoped_requests_without_a_leak_and_keeps_its_statements() {
    let c = clinic();
    let names = Arc::new(c.db.names().clone());
    let providers = Arc::new(c.providers.clone());
    run(async {
        let manager = DbManager::new(&c.physician_url).unwrap();
        let pool = bb8::Pool::builder()
            .max_size(CONNECTIONS)
            .build(manager)
            .await
            .unwrap();
        let mut requests = Vec::new();
        for n in 0..REQUESTS {
            let (pool, names, providers) = (pool.clone(), names.clone(), providers.clone());
            requests.push(tokio::spawn(async move {
                let mut db = pool.get().await.unwrap();
                request(&mut db, &names, &providers, n).await;
            }));
        }
        for r in requests {
            r.await.unwrap();
        }
        let db = pool.get().await.unwrap();
        let count = prepared(&db).await;
        assert!(
            (1..=3).contains(&count),
            "{count} statements prepared on one connection"
        );
    });
}
