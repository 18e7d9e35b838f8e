//! The typed reads and writes of `schema_core::pg` where the easy path would go wrong, against a
//! real PostgreSQL server: two row types on one table, the transaction-local scope of a
//! physician's requests, a transaction guard that is leaked, `COPY` refused or failing, and
//! values written by other SQL clients that the Rust types cannot hold.
//!
//! Each test works in its own throwaway database (see `common::TestDb`).

mod common;

use schema_core::pg::tokio_postgres::error::SqlState;
use schema_core::pg::{
    ConstraintKind, Db, DecodeError, DecodeProblem, PgError, RequestScope, SettingProblem,
};
use schema_core::PgTable;
use shared::schemas::db::{
    provider_transaction, InsertProvider, InsertSupportTicket, Provider, SelectSupportTicket,
    SupportTicket, UpdateProvider, PHYSICIAN_ROLE,
};
use uuid::Uuid;

use common::{block_on, TestDb};

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A connection to `test_db` that has loaded three tickets of one provider with `copy_in`, so
/// that the statements COPY uses are prepared and cached; and that provider.
async fn copied_three(test_db: &TestDb) -> (Db, Uuid) {
    let mut db = Db::connect(test_db.url()).await.unwrap();
    let owner = db.insert(&provider(1)).await.unwrap().provider_id;
    assert_eq!(db.copy_in(&tickets(owner, 0, 3)).await.unwrap(), 3);
    (db, owner)
}

/// A provider with every required column set.
fn provider(n: u32) -> InsertProvider {
    InsertProvider::new(
        format!("{n:010}"),
        format!("First{n}"),
        format!("Last{n}"),
        format!("provider{n}@example.com"),
    )
}

// ---------------------------------------------------------------------------------------------
// Two row types on one table

/// A narrower view of `providers`: three of its columns, in another order than the table's.
#[derive(PgTable)]
#[pg(table = "providers")]
pub struct ProviderName {
    #[pg(primary_key, default_sql = "gen_random_uuid()")]
    pub provider_id: Uuid,
    #[pg(varchar = 100)]
    pub last_name: String,
    #[pg(varchar = 100)]
    pub first_name: String,
}

#[test]
fn two_row_types_on_one_table_each_read_and_write_their_own_columns() {
    let mut test_db = TestDb::with_schema();
    // The narrow type leaves `npi` and `email` out: give them defaults so it can insert.
    test_db
        .client()
        .batch_execute(
            "CREATE SEQUENCE npi_seq START 5000000000; \
             ALTER TABLE providers ALTER COLUMN npi SET DEFAULT nextval('npi_seq')::text; \
             ALTER TABLE providers ALTER COLUMN email \
                 SET DEFAULT 'generated-' || gen_random_uuid() || '@example.com'",
        )
        .unwrap();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        for round in 0..3_u32 {
            // The full type first, then the narrow one, on the same connection.
            let full = db.insert(&provider(round)).await.unwrap();
            assert_eq!(full.npi, format!("{round:010}"));
            assert_eq!(full.last_name, format!("Last{round}"));

            let narrow = db
                .insert(&InsertProviderName::new(
                    format!("Narrow{round}"),
                    format!("Nora{round}"),
                ))
                .await
                .unwrap();
            assert_eq!(narrow.last_name, format!("Narrow{round}"));
            assert_eq!(narrow.first_name, format!("Nora{round}"));

            // Each type reads its own columns of both rows.
            let as_name = db
                .get::<ProviderName>(&full.provider_id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (as_name.last_name.as_str(), as_name.first_name.as_str()),
                (full.last_name.as_str(), full.first_name.as_str())
            );
            let as_provider = db
                .get::<Provider>(&narrow.provider_id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(as_provider.last_name, format!("Narrow{round}"));
            assert_eq!(as_provider.first_name, format!("Nora{round}"));
            assert!(as_provider.npi.starts_with('5'), "{as_provider:?}");

            // Updates write the column they name, whichever type ran first.
            let renamed = db
                .update(
                    &full.provider_id,
                    &UpdateProviderName {
                        last_name: Some(format!("Renamed{round}")),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .unwrap();
            assert_eq!(renamed.last_name, format!("Renamed{round}"));
            let npi = format!("{:010}", 9_000_000 + round);
            let patched = db
                .update(
                    &narrow.provider_id,
                    &UpdateProvider {
                        npi: Some(npi.clone()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .unwrap();
            assert_eq!(patched.npi, npi);
            assert_eq!(patched.last_name, format!("Narrow{round}"));

            let stored = db
                .get::<Provider>(&full.provider_id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.npi, format!("{round:010}"));
            assert_eq!(stored.last_name, format!("Renamed{round}"));

            let names = db.select_all::<ProviderName>().await.unwrap();
            let providers = db.select_all::<Provider>().await.unwrap();
            assert_eq!(names.len(), providers.len());
            for p in &providers {
                let n = names
                    .iter()
                    .find(|n| n.provider_id == p.provider_id)
                    .unwrap();
                assert_eq!((&n.last_name, &n.first_name), (&p.last_name, &p.first_name));
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Scoped transactions

/// The setting's value in `db`'s session, `None` when unset or empty.
async fn setting_now(db: &Db, setting: &str) -> Option<String> {
    let value: Option<String> = db
        .client()
        .query_one("SELECT current_setting($1, true)", &[&setting])
        .await
        .unwrap()
        .get(0);
    value.filter(|v| !v.is_empty())
}

/// Whether `db`'s session is inside a transaction block: `SAVEPOINT` is refused outside one
/// (and the savepoint is released again inside one).
async fn in_transaction(db: &Db) -> bool {
    match db.client().batch_execute("SAVEPOINT probe").await {
        Ok(()) => {
            db.client().batch_execute("RELEASE probe").await.unwrap();
            true
        }
        Err(error) => {
            assert_eq!(
                error.code(),
                Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION),
                "{error}"
            );
            false
        }
    }
}

/// A scope acting as `role`, with `setting` set to `value`.
fn scope<'a>(role: &'a str, setting: &'a str, value: &'a str) -> RequestScope<'a> {
    RequestScope {
        role,
        setting,
        value,
    }
}

#[test]
fn a_scoped_setting_holds_its_value_exactly_and_only_inside_its_transaction() {
    let mut test_db = TestDb::new();
    let (role, login_url) = test_db.role_with_login("scoped");
    block_on(async {
        let mut db = Db::connect(&login_url).await.unwrap();
        let observer = Db::connect(test_db.url()).await.unwrap();
        let pid: i32 = db
            .client()
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        let value = r"it's a \ backslash, ''quotes'' and E'\x41'";
        for commit in [true, false] {
            let tx = db
                .scoped_transaction(scope(&role, "app.scope_test", value))
                .await
                .unwrap();
            // The scope was set by a `SET LOCAL` statement (which Citus forwards to its
            // workers), as the server's view of the session's last statement shows.
            let last: String = observer
                .client()
                .query_one("SELECT query FROM pg_stat_activity WHERE pid = $1", &[&pid])
                .await
                .unwrap()
                .get(0);
            assert!(last.starts_with("SET LOCAL "), "{last}");
            let read: String = tx
                .client()
                .query_one("SELECT current_setting('app.scope_test')", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(read, value);
            if commit {
                tx.commit().await.unwrap();
            } else {
                tx.rollback().await.unwrap();
            }
            assert_eq!(setting_now(&db, "app.scope_test").await, None);
        }
        // Dropped without commit or rollback: gone as well.
        let tx = db
            .scoped_transaction(scope(&role, "app.scope_test", "x"))
            .await
            .unwrap();
        drop(tx);
        assert_eq!(setting_now(&db, "app.scope_test").await, None);
        // Names are case-insensitive, as PostgreSQL's own are.
        let tx = db
            .scoped_transaction(scope(&role, "App.Scope_Test", "y"))
            .await
            .unwrap();
        let read: String = tx
            .client()
            .query_one("SELECT current_setting('app.scope_test')", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(read, "y");
        tx.rollback().await.unwrap();
    });
}

#[test]
fn a_bad_setting_name_or_a_nul_in_the_value_is_refused_before_anything_is_sent() {
    let mut test_db = TestDb::new();
    let (role, login_url) = test_db.role_with_login("scoped");
    block_on(async {
        let mut db = Db::connect(&login_url).await.unwrap();
        for name in [
            "",
            "provider_id",
            "app.",
            ".provider_id",
            "app..provider_id",
            "app.provider id",
            "app.provider_id; RESET ALL",
            "app.provider_id = 'x'; --",
            "app.\"provider_id\"",
            "app.provider-id",
            "app.1st",
            "2app.x",
            "app.prövider",
        ] {
            let error = db.scoped_transaction(scope(&role, name, "v")).await.err();
            assert!(
                matches!(
                    &error,
                    Some(PgError::InvalidSetting { setting, problem: SettingProblem::Name })
                        if setting == name
                ),
                "{name:?}: {error:?}"
            );
            let message = error.unwrap().to_string();
            assert!(message.contains("prefix.name"), "{message}");
        }
        let error = db
            .scoped_transaction(scope(&role, "app.provider_id", "before\0after"))
            .await
            .err();
        assert!(
            matches!(
                &error,
                Some(PgError::InvalidSetting { setting, problem: SettingProblem::NulInValue })
                    if setting == "app.provider_id"
            ),
            "{error:?}"
        );
        // Nothing was left open: the connection goes on as before.
        assert_eq!(setting_now(&db, "app.provider_id").await, None);
        let tx = db
            .scoped_transaction(scope(&role, "app_1.provider_id_2", "ok"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!in_transaction(&db).await, "no transaction is open");
    });
}

// ---------------------------------------------------------------------------------------------
// Leaked transaction guards

/// A throwaway database with the schema, two providers holding `per_provider` tickets each
/// (written by the owner), and a physician's login URL.
struct Clinic {
    db: TestDb,
    providers: Vec<Uuid>,
    physician_url: String,
}

fn clinic(per_provider: usize) -> Clinic {
    let mut db = TestDb::with_schema();
    let (providers, _) = db.add_providers_with_tickets(2, per_provider);
    let physician = db.names().role_name(PHYSICIAN_ROLE).to_string();
    let physician_url = db.login_role("doctor", &physician);
    Clinic {
        db,
        providers,
        physician_url,
    }
}

#[test]
fn a_forgotten_scoped_transaction_does_not_leak_its_scope_into_the_next_request() {
    let c = clinic(2);
    let (a, b) = (c.providers[0], c.providers[1]);
    let names = c.db.names().clone();
    block_on(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        assert_eq!(tx.select_all::<SupportTicket>().await.unwrap().len(), 2);
        std::mem::forget(tx);

        // The next request has no scope: it sees nothing.
        let seen = db.select_all::<SupportTicket>().await.unwrap();
        assert!(seen.is_empty(), "an unscoped read saw {} rows", seen.len());
        assert!(
            !in_transaction(&db).await,
            "the leaked transaction was ended"
        );

        // Forgotten again, then a scoped request for another provider sees only that
        // provider's rows.
        std::mem::forget(provider_transaction(&mut db, &names, a).await.unwrap());
        let tx = provider_transaction(&mut db, &names, b).await.unwrap();
        let seen = tx.select_all::<SupportTicket>().await.unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|t| t.provider_id == b));
        tx.commit().await.unwrap();

        // Every typed call ends a leaked transaction first: a get, a write, a plain
        // transaction.
        std::mem::forget(provider_transaction(&mut db, &names, a).await.unwrap());
        assert!(db
            .get::<SupportTicket>(&Uuid::new_v4())
            .await
            .unwrap()
            .is_none());
        assert!(!in_transaction(&db).await);
        std::mem::forget(provider_transaction(&mut db, &names, a).await.unwrap());
        let error = db
            .insert(&InsertSupportTicket::new(a, "s".into(), "d".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, PgError::Constraint(v) if v.kind == ConstraintKind::Denied),
            "{error}"
        );
        std::mem::forget(provider_transaction(&mut db, &names, a).await.unwrap());
        let tx = db.transaction().await.unwrap();
        assert!(tx.select_all::<SupportTicket>().await.unwrap().is_empty());
        tx.rollback().await.unwrap();
        assert!(!in_transaction(&db).await);
    });
}

#[test]
fn a_forgotten_savepoint_leaves_its_transaction_open_and_usable() {
    let c = clinic(1);
    let a = c.providers[0];
    let names = c.db.names().clone();
    block_on(async {
        let mut db = Db::connect(&c.physician_url).await.unwrap();
        let mut tx = provider_transaction(&mut db, &names, a).await.unwrap();
        std::mem::forget(tx.transaction().await.unwrap());
        // The outer transaction is still the caller's: its scope holds.
        assert_eq!(tx.select_all::<SupportTicket>().await.unwrap().len(), 1);
        tx.commit().await.unwrap();
        assert!(db.select_all::<SupportTicket>().await.unwrap().is_empty());
        assert!(!in_transaction(&db).await);
    });
}

// ---------------------------------------------------------------------------------------------
// COPY refused or failing

/// A ticket with only the required columns set.
fn ticket(provider: Uuid, i: usize) -> InsertSupportTicket {
    InsertSupportTicket::new(provider, format!("subject {i}"), format!("description {i}"))
}

fn tickets(provider: Uuid, from: usize, count: usize) -> Vec<InsertSupportTicket> {
    (from..from + count).map(|i| ticket(provider, i)).collect()
}

/// The connection still works after a refused or failed `COPY`: an ordinary read and an insert
/// on the same `Db` succeed (on `providers`, which every test leaves as it is).
async fn assert_db_works(db: &Db, n: u32) {
    let before = db.select_all::<Provider>().await.unwrap().len();
    let added = db.insert(&provider(n)).await.unwrap();
    assert_eq!(
        db.get::<Provider>(&added.provider_id).await.unwrap(),
        Some(added)
    );
    assert_eq!(db.select_all::<Provider>().await.unwrap().len(), before + 1);
    assert!(!in_transaction(db).await);
}

/// The number of tickets, as the server counts them.
async fn ticket_count(db: &Db) -> i64 {
    db.client()
        .query_one("SELECT count(*) FROM support_tickets", &[])
        .await
        .unwrap()
        .get(0)
}

fn assert_code(error: &PgError, code: &SqlState) {
    let server = match error {
        PgError::Database(e) => Some(e.code.as_str()),
        PgError::Constraint(v) => Some(v.source.code.as_str()),
        _ => None,
    };
    assert_eq!(server, Some(code.code()), "{error}");
}

#[test]
fn copy_in_a_read_only_transaction_is_refused_and_the_connection_goes_on() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let owner = db.insert(&provider(1)).await.unwrap().provider_id;
        // The statements COPY uses are prepared and cached by a successful load first.
        assert_eq!(db.copy_in(&tickets(owner, 0, 3)).await.unwrap(), 3);

        // A transaction declared read-only.
        let mut tx = db.transaction().await.unwrap();
        tx.client()
            .batch_execute("SET TRANSACTION READ ONLY")
            .await
            .unwrap();
        let error = tx.copy_in(&tickets(owner, 10, 3)).await.unwrap_err();
        assert_code(&error, &SqlState::READ_ONLY_SQL_TRANSACTION);
        // The batch ran in a savepoint: the transaction itself goes on.
        assert_eq!(tx.select_all::<SupportTicket>().await.unwrap().len(), 3);
        tx.rollback().await.unwrap();
        assert_db_works(&db, 2).await;

        // Every transaction of the session read-only.
        db.client()
            .batch_execute("SET default_transaction_read_only = on")
            .await
            .unwrap();
        let error = db.copy_in(&tickets(owner, 20, 3)).await.unwrap_err();
        assert_code(&error, &SqlState::READ_ONLY_SQL_TRANSACTION);
        assert_eq!(db.select_all::<SupportTicket>().await.unwrap().len(), 3);
        db.client()
            .batch_execute("SET default_transaction_read_only = off")
            .await
            .unwrap();
        assert_db_works(&db, 3).await;
        assert_eq!(db.copy_in(&tickets(owner, 30, 3)).await.unwrap(), 3);
        assert_eq!(ticket_count(&db).await, 6);
    });
}

#[test]
fn copy_in_under_a_lock_timeout_fails_as_an_ordinary_statement() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let mut locker = Db::connect(test_db.url()).await.unwrap();
        let owner = db.insert(&provider(1)).await.unwrap().provider_id;
        assert_eq!(db.copy_in(&tickets(owner, 0, 3)).await.unwrap(), 3);

        // Another session holds a lock that conflicts with COPY FROM's ROW EXCLUSIVE.
        let hold = locker.transaction().await.unwrap();
        hold.client()
            .batch_execute("LOCK TABLE support_tickets IN SHARE MODE")
            .await
            .unwrap();
        db.client()
            .batch_execute("SET lock_timeout = '20ms'")
            .await
            .unwrap();
        for _ in 0..2 {
            let error = db.copy_in(&tickets(owner, 10, 3)).await.unwrap_err();
            assert_code(&error, &SqlState::LOCK_NOT_AVAILABLE);
            assert_db_works_without_tickets(&db).await;
        }
        hold.rollback().await.unwrap();
        db.client()
            .batch_execute("RESET lock_timeout")
            .await
            .unwrap();
        assert_db_works(&db, 2).await;
        assert_eq!(db.copy_in(&tickets(owner, 20, 3)).await.unwrap(), 3);
        assert_eq!(ticket_count(&db).await, 6);
    });
}

/// [`assert_db_works`] while another session blocks writes to `support_tickets` only.
async fn assert_db_works_without_tickets(db: &Db) {
    let n = 100 + db.select_all::<Provider>().await.unwrap().len() as u32;
    assert_db_works(db, n).await;
}

#[test]
fn copy_in_to_a_dropped_table_fails_as_an_ordinary_statement() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let (mut db, owner) = copied_three(&test_db).await;
        db.client()
            .batch_execute("DROP TABLE support_tickets")
            .await
            .unwrap();
        let error = db.copy_in(&tickets(owner, 10, 3)).await.unwrap_err();
        assert_code(&error, &SqlState::UNDEFINED_TABLE);
        assert_db_works(&db, 2).await;
    });
}

#[test]
fn copy_in_after_a_column_was_dropped_fails_as_an_ordinary_statement() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let (mut db, owner) = copied_three(&test_db).await;
        db.client()
            .batch_execute("ALTER TABLE support_tickets DROP COLUMN description")
            .await
            .unwrap();
        let error = db.copy_in(&tickets(owner, 10, 3)).await.unwrap_err();
        assert_code(&error, &SqlState::UNDEFINED_COLUMN);
        assert!(error.to_string().contains("description"), "{error}");
        assert_db_works(&db, 2).await;
        assert_eq!(ticket_count(&db).await, 3);
    });
}

#[test]
fn copy_in_of_a_value_its_column_does_not_take_is_refused_and_the_connection_goes_on() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let (mut db, owner) = copied_three(&test_db).await;
        db.client()
            .batch_execute(
                "ALTER TABLE support_tickets ALTER COLUMN subject TYPE integer \
                 USING length(subject)",
            )
            .await
            .unwrap();
        let error = db.copy_in(&tickets(owner, 10, 3)).await.unwrap_err();
        match &error {
            PgError::Encode { index, column, .. } => {
                assert_eq!((*index, *column), (0, "subject"), "{error}");
            }
            other => panic!("expected an encoding error, got {other:?}"),
        }
        assert!(error.to_string().contains("`subject`"), "{error}");
        assert_db_works(&db, 2).await;
        assert_eq!(ticket_count(&db).await, 3);
    });
}

#[test]
fn copy_in_of_a_row_refused_mid_stream_leaves_nothing_and_the_connection_goes_on() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let (mut db, owner) = copied_three(&test_db).await;
        db.client()
            .batch_execute(
                "ALTER TABLE support_tickets ADD CONSTRAINT no_forbidden_subject \
                 CHECK (subject <> 'forbidden')",
            )
            .await
            .unwrap();

        // A check constraint, on the 500th row of 1000.
        let mut rows = tickets(owner, 10, 1_000);
        rows[500].subject = "forbidden".into();
        let error = db.copy_in(&rows).await.unwrap_err();
        let violation = error.constraint().expect("a constraint violation");
        assert_eq!(violation.kind, ConstraintKind::Check, "{error}");
        assert_eq!(
            violation.constraint.as_deref(),
            Some("no_forbidden_subject")
        );
        assert_db_works(&db, 2).await;
        assert_eq!(ticket_count(&db).await, 3);

        // A duplicate key within the batch, in a transaction: only the batch is undone.
        let mut rows = tickets(owner, 2_000, 1_000);
        let key = Uuid::new_v4();
        rows[10].ticket_id = Some(key);
        rows[900].ticket_id = Some(key);
        let mut tx = db.transaction().await.unwrap();
        let error = tx.copy_in(&rows).await.unwrap_err();
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Unique),
            "{error}"
        );
        assert_eq!(tx.copy_in(&tickets(owner, 3_000, 2)).await.unwrap(), 2);
        tx.commit().await.unwrap();
        assert_db_works(&db, 3).await;
        assert_eq!(ticket_count(&db).await, 5);
    });
}

#[test]
fn copy_in_to_a_generated_column_fails_as_an_ordinary_statement() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let (mut db, owner) = copied_three(&test_db).await;
        db.client()
            .batch_execute(
                "ALTER TABLE support_tickets DROP COLUMN context_url; \
                 ALTER TABLE support_tickets ADD COLUMN context_url varchar(500) \
                     GENERATED ALWAYS AS ('/tickets/' || subject) STORED",
            )
            .await
            .unwrap();
        // The insert rows write the column (NULL where they leave it out): refused, as an
        // ordinary statement.
        let mut rows = tickets(owner, 20, 3);
        rows[1].context_url = Some("/elsewhere".into());
        let error = db.copy_in(&rows).await.unwrap_err();
        assert_code(&error, &SqlState::GENERATED_ALWAYS);
        assert_db_works(&db, 2).await;
        assert_eq!(ticket_count(&db).await, 3);
    });
}

// ---------------------------------------------------------------------------------------------
// Values other clients write

/// Adds a ticket by plain SQL, with `created_at` and `context_metadata` as SQL literals.
async fn raw_ticket(db: &Db, key: Uuid, owner: Uuid, created_at: &str, metadata: &str) {
    db.client()
        .execute(
            &format!(
                "INSERT INTO support_tickets \
                 (ticket_id, provider_id, subject, description, created_at, context_metadata) \
                 VALUES ($1, $2, 's', 'd', {created_at}, {metadata})"
            ),
            &[&key, &owner],
        )
        .await
        .unwrap();
}

#[test]
fn values_the_row_type_cannot_hold_are_errors_naming_the_row_and_the_others_still_read() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let owner = db.insert(&provider(1)).await.unwrap().provider_id;
        let (exact, plain) = (Uuid::from_u128(1), Uuid::from_u128(2));
        raw_ticket(
            &db,
            exact,
            owner,
            "now()",
            r#"'{"price": 1.10, "tenth": 0.1, "hundred": 1e2, "small": 2.5e-7,
                 "max": 9223372036854775807, "min": -9223372036854775808,
                 "umax": 18446744073709551615,
                 "text": "1e400 and 123456789012345678901234567890 in a string"}'"#,
        )
        .await;
        raw_ticket(&db, plain, owner, "now()", "NULL").await;
        // Each bad row with the column it breaks and the number it holds, if any.
        let bad = [
            (
                Uuid::from_u128(10),
                "created_at",
                "'infinity'",
                "NULL",
                None,
            ),
            (
                Uuid::from_u128(11),
                "created_at",
                "'-infinity'",
                "NULL",
                None,
            ),
            (
                Uuid::from_u128(12),
                "context_metadata",
                "now()",
                r#"'{"n": 1e400}'"#,
                Some("100000000000000000000000...00000000 (401 characters)"),
            ),
            (
                Uuid::from_u128(13),
                "context_metadata",
                "now()",
                r#"'{"a": [1, {"n": 123456789012345678901234567890}]}'"#,
                Some("123456789012345678901234567890"),
            ),
            (
                Uuid::from_u128(14),
                "context_metadata",
                "now()",
                r#"'{"n": 1.0000000000000000000001}'"#,
                Some("1.0000000000000000000001"),
            ),
        ];
        for (key, _, created_at, metadata, _) in &bad {
            raw_ticket(&db, *key, owner, created_at, metadata).await;
        }
        let expect = |error: &DecodeError| {
            let key = bad
                .iter()
                .find(|(key, ..)| error.key.as_deref() == Some(&key.to_string()))
                .unwrap_or_else(|| panic!("{error:?} names no bad row"));
            let (id, column, _, _, number) = key;
            assert_eq!((error.table, error.column), ("support_tickets", *column));
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("row with key {id}: ")),
                "{message}"
            );
            assert!(message.contains(column), "{message}");
            match number {
                Some(number) => {
                    assert!(
                        matches!(&error.problem, DecodeProblem::InexactNumber { sql_type, .. }
                            if sql_type == "jsonb"),
                        "{error:?}"
                    );
                    // `context_metadata` is sensitive: its values never appear in an error.
                    assert!(!message.contains(number), "{message}");
                    assert!(
                        matches!(
                            &error.problem,
                            DecodeProblem::InexactNumber { number: None, .. }
                        ),
                        "{error:?}"
                    );
                    assert!(message.contains("cannot hold exactly"), "{message}");
                    assert!(message.contains("the column is sensitive"), "{message}");
                }
                None => assert!(
                    matches!(&error.problem, DecodeProblem::Invalid { .. }),
                    "{error:?}"
                ),
            }
            *id
        };

        // The whole read fails on a bad row, naming it.
        match db.select_all::<SupportTicket>().await {
            Err(PgError::Decode(error)) => {
                expect(&error);
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        // Each bad row read by key, or by a query of one's own, names itself.
        for (key, ..) in &bad {
            match db.get::<SupportTicket>(key).await {
                Err(PgError::Decode(error)) => assert_eq!(expect(&error), *key),
                other => panic!("expected a decode error, got {other:?}"),
            }
            let read = db
                .query_as::<SelectSupportTicket>(
                    "SELECT * FROM support_tickets WHERE ticket_id = $1",
                    &[key],
                )
                .await;
            match read {
                Err(PgError::Decode(error)) => assert_eq!(expect(&error), *key),
                other => panic!("expected a decode error, got {other:?}"),
            }
        }

        // Row by row: the good rows, and one error per bad row.
        let results = db.select_all_results::<SupportTicket>().await.unwrap();
        assert_eq!(results.len(), 2 + bad.len());
        let mut good: Vec<Uuid> = Vec::new();
        let mut failed: Vec<Uuid> = Vec::new();
        for result in &results {
            match result {
                Ok(row) => good.push(row.ticket_id),
                Err(error) => failed.push(expect(error)),
            }
        }
        good.sort();
        failed.sort();
        assert_eq!(good, vec![exact, plain]);
        assert_eq!(failed, bad.iter().map(|b| b.0).collect::<Vec<_>>());

        // Exact numbers read back exactly.
        let row = db.get::<SupportTicket>(&exact).await.unwrap().unwrap();
        let metadata = row.context_metadata.unwrap();
        assert_eq!(metadata["price"], serde_json::json!(1.1));
        assert_eq!(metadata["tenth"], serde_json::json!(0.1));
        assert_eq!(metadata["hundred"], serde_json::json!(100));
        assert_eq!(metadata["small"], serde_json::json!(2.5e-7));
        assert_eq!(metadata["max"].as_i64(), Some(i64::MAX));
        assert_eq!(metadata["min"].as_i64(), Some(i64::MIN));
        assert_eq!(metadata["umax"].as_u64(), Some(u64::MAX));
        assert_eq!(
            metadata["text"],
            "1e400 and 123456789012345678901234567890 in a string"
        );
    });
}

#[test]
fn select_all_results_in_a_transaction_reads_row_by_row() {
    let test_db = TestDb::with_schema();
    block_on(async {
        let mut db = Db::connect(test_db.url()).await.unwrap();
        let owner = db.insert(&provider(1)).await.unwrap().provider_id;
        let (good, bad) = (Uuid::from_u128(1), Uuid::from_u128(2));
        raw_ticket(&db, good, owner, "now()", r#"'{"n": 1}'"#).await;
        raw_ticket(&db, bad, owner, "'infinity'", "NULL").await;
        let tx = db.transaction().await.unwrap();
        let results = tx.select_all_results::<SupportTicket>().await.unwrap();
        assert_eq!(results.len(), 2);
        assert!(results
            .iter()
            .any(|r| matches!(r, Ok(row) if row.ticket_id == good)));
        assert!(results.iter().any(|r| matches!(r, Err(e)
            if e.key.as_deref() == Some(&bad.to_string()) && e.column == "created_at")));
        tx.commit().await.unwrap();
    });
}
