//! Typed reads and writes and the provider scope over a real pool of 4 connections (deadpool and
//! bb8, through `schema_core::pg::pool::DbManager`): many concurrent scoped requests, unscoped
//! ones in between, never a row of another provider; prepared statements kept per physical
//! connection across checkouts; a leaked transaction never reaches the next checkout.

mod common;

use std::sync::Arc;

use common::TestDb;
use schema_core::pg::pool::DbManager;
use schema_core::pg::Db;
use shared::schemas::db::{
    provider_transaction, SupportTicket, PHYSICIAN_ROLE, PROVIDER_SETTING, SUPPORT_TEAM_ROLE,
};
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

/// A `SET ROLE` and a `SET` of the provider run in a scoped transaction, session-level, which
/// outlive its commit: the pool's next checkout of that connection holds neither.
async fn outlived_by_the_next_checkout(db: &mut Db, names: &schema_core::Names, provider: Uuid) {
    let support = names.role_name(SUPPORT_TEAM_ROLE);
    let setting = names.setting_name(PROVIDER_SETTING);
    let tx = provider_transaction(db, names, provider).await.unwrap();
    tx.client()
        .batch_execute(&format!(
            "SET ROLE \"{support}\"; SET \"{}\".\"{}\" = '{provider}'",
            setting.split('.').next().unwrap(),
            setting.split('.').nth(1).unwrap(),
        ))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// What the next checkout acts as: the current user is the login, the provider is not set,
/// and an unscoped read of a `NOINHERIT` login is refused.
async fn acts_as_the_login(db: &Db, login: &str, names: &schema_core::Names) {
    let row = db
        .client()
        .query_one(
            "SELECT current_user::text, COALESCE(current_setting($1, true), '')",
            &[&names.setting_name(PROVIDER_SETTING)],
        )
        .await
        .unwrap();
    let (user, provider): (String, String) = (row.get(0), row.get(1));
    assert_eq!(user, login);
    assert_eq!(provider, "");
    let error = db.select_all::<SupportTicket>().await.unwrap_err();
    assert_eq!(
        error.constraint().map(|v| v.kind),
        Some(schema_core::pg::ConstraintKind::Denied),
        "{error}"
    );
}

#[test]
fn a_role_or_setting_set_for_the_session_in_a_scope_does_not_reach_the_next_checkout() {
    let mut c = clinic();
    let names = c.db.names().clone();
    let roles = [
        names.role_name(PHYSICIAN_ROLE).to_string(),
        names.role_name(SUPPORT_TEAM_ROLE).to_string(),
    ];
    let url = c.db.login_role_with(
        "app",
        &format!("NOINHERIT IN ROLE \"{}\", \"{}\"", roles[0], roles[1]),
    );
    let login = c.db.role_name("app");
    let provider = c.providers[0];
    run(async {
        let deadpool = deadpool::managed::Pool::<DbManager>::builder(DbManager::new(&url).unwrap())
            .max_size(1)
            .build()
            .unwrap();
        outlived_by_the_next_checkout(&mut deadpool.get().await.unwrap(), &names, provider).await;
        acts_as_the_login(&deadpool.get().await.unwrap(), &login, &names).await;
        let bb8 = bb8::Pool::builder()
            .max_size(1)
            .build(DbManager::new(&url).unwrap())
            .await
            .unwrap();
        outlived_by_the_next_checkout(&mut bb8.get().await.unwrap(), &names, provider).await;
        acts_as_the_login(&bb8.get().await.unwrap(), &login, &names).await;
    });
}
