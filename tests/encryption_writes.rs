//! The write paths of encrypted columns beyond inserts, against the real database: typed
//! queries' updates (`update_where`) seal each row's values for that row through both drivers,
//! in and out of a transaction; the stored columns hold no plaintext; the blind index follows;
//! a ciphertext moved to another row still does not open; and keys of dates, timestamps and
//! numerics (the tenant not first) bind each row as the insert did, through both drivers'
//! update_where and the re-encryption job.

mod common;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use common::patients::{add_billing_table, alternating, keyed_db, patient, problem, run, setup};
use common::TestDb;
use schema_core::crypto::{reencrypt, CryptoProblem, Keys, MemoryKeyStore, Purpose, Reencryption};
use schema_core::pg::{Db, PgError};
use schema_core::query::Update;
use schema_core::rust_decimal::Decimal;
use shared::schemas::db::{Patient, Provider, SelectPatient, UpdatePatient};
use uuid::Uuid;

/// Keys over a store in memory.
fn keys() -> Arc<Keys> {
    common::patients::keys(Arc::new(MemoryKeyStore::default()))
}

/// Every stored encrypted column (and blind index) of the table holds an envelope and none of
/// `plain`'s bytes.
fn assert_no_plaintext(test: &mut TestDb, plain: &[&str]) {
    let rows = test
        .client()
        .query(
            "SELECT name, date_of_birth, member_id, address, member_id_bidx FROM billing.patients",
            &[],
        )
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        for i in 0..5 {
            let Some(stored) = row.get::<_, Option<Vec<u8>>>(i) else {
                continue;
            };
            if i < 4 {
                assert_eq!(&stored[..2], b"PE", "column {i} holds an envelope");
            }
            for text in plain {
                let bytes = text.as_bytes();
                assert!(
                    !stored.windows(bytes.len()).any(|w| w == bytes),
                    "column {i} holds {text:?}"
                );
            }
        }
    }
}

fn renamed() -> UpdatePatient {
    UpdatePatient {
        name: Some("Renamed Person".into()),
        member_id: Some("MEMBER-RENAMED".into()),
        address: Some(None),
        ..Default::default()
    }
}

#[test]
fn update_where_seals_each_rows_values_through_tokio_postgres() {
    let (mut test, p1, p2) = setup();
    let keys = keys();
    let (kept, moved_from) = {
        let mut out = (Uuid::nil(), Uuid::nil());
        run(async {
            let mut db = keyed_db(test.url(), &keys).await;
            let rows: Vec<_> = (0..30)
                .map(|i| patient(if i % 3 == 0 { p2 } else { p1 }, &format!("Person {i}")))
                .collect();
            db.insert_many(&rows).await.unwrap();
            let patch = renamed();
            // Outside a transaction: every row of the first provider, each sealed for itself.
            let changed: Vec<SelectPatient> = db
                .update_where(&Update::new(&patch).filter(Patient::provider_id.eq(p1)))
                .await
                .unwrap();
            assert_eq!(changed.len(), 20);
            for row in &changed {
                assert_eq!(
                    (
                        row.provider_id,
                        row.name.as_str(),
                        row.member_id.as_str(),
                        row.address.as_deref()
                    ),
                    (p1, "Renamed Person", "MEMBER-RENAMED", None)
                );
                // The date of birth, not in the patch, still opens as written.
                assert_eq!(
                    row.date_of_birth,
                    NaiveDate::from_ymd_opt(1980, 2, 3).unwrap()
                );
            }
            // Read back by key, and found by the new member id's blind index.
            let one = db
                .get::<Patient>(&(p1, changed[0].patient_id))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(one.name, "Renamed Person");
            let found = db
                .eq_blind(Patient::member_id, &p1, &"MEMBER-RENAMED".to_string())
                .await
                .unwrap();
            assert_eq!(found.len(), 20);
            assert!(db
                .eq_blind(Patient::member_id, &p1, &"MEMBER-Person 1".to_string())
                .await
                .unwrap()
                .is_empty());
            // The other provider's rows are untouched.
            let others = db
                .eq_blind(Patient::member_id, &p2, &"MEMBER-Person 3".to_string())
                .await
                .unwrap();
            assert_eq!(others.len(), 1);
            assert_eq!(others[0].name, "Person 3");
            // In a transaction: the rows are locked from the read of their keys to the end.
            let tx = db.transaction().await.unwrap();
            // A plain column beside the sealed one: its parameter, the filter's, then the
            // keys' and the sealed values' arrays.
            let registered =
                chrono::DateTime::from_timestamp_micros(1_650_000_000_000_001).unwrap();
            let patch = UpdatePatient {
                name: Some("In Transaction".into()),
                created_at: Some(registered),
                ..Default::default()
            };
            let changed = tx
                .update_where(
                    &Update::new(&patch).filter(Patient::patient_id.eq(others[0].patient_id)),
                )
                .await
                .unwrap();
            assert_eq!(changed.len(), 1);
            assert_eq!(changed[0].name, "In Transaction");
            assert_eq!(changed[0].member_id, "MEMBER-Person 3");
            assert_eq!(changed[0].created_at, registered);
            tx.commit().await.unwrap();
            // A filter no row matches changes nothing and sends no update.
            let none = db
                .update_where(&Update::new(&patch).filter(Patient::patient_id.eq(Uuid::nil())))
                .await
                .unwrap();
            assert!(none.is_empty());
            // Without keys, nothing is sent.
            let bare = Db::connect(test.url()).await.unwrap();
            let refused = bare
                .update_where(&Update::new(&patch).filter(Patient::provider_id.eq(p1)))
                .await
                .unwrap_err();
            assert!(
                matches!(&refused, PgError::Crypto(e) if e.problem == CryptoProblem::NoKeys),
                "{refused}"
            );
            out = (changed[0].patient_id, one.patient_id);
        });
        out
    };
    assert_no_plaintext(
        &mut test,
        &["Renamed", "RENAMED", "In Transaction", "Person"],
    );
    // A ciphertext an update sealed, copied by SQL to another row, does not open there.
    test.client()
        .execute(
            "UPDATE billing.patients SET name = (SELECT name FROM billing.patients \
             WHERE patient_id = $1) WHERE patient_id = $2",
            &[&moved_from, &kept],
        )
        .unwrap();
    run(async {
        let db = keyed_db(test.url(), &keys).await;
        let error = db.get::<Patient>(&(p2, kept)).await.unwrap_err();
        assert_eq!(problem(error), CryptoProblem::NotAuthentic);
    });
}

#[test]
fn sqlx_update_where_seals_each_rows_values_and_tokio_postgres_opens_them() {
    let (mut test, p1, p2) = setup();
    let keys = keys();
    run(async {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(test.url())
            .await
            .unwrap();
        let rows: Vec<_> = alternating(p1, p2, 12, "Sqlx");
        schema_core::sqlx::insert_many_encrypted(&pool, &rows, &keys)
            .await
            .unwrap();
        let patch = renamed();
        // The plain update_where refuses a patch it cannot seal, before sending anything.
        let refused = schema_core::sqlx::update_where(
            &pool,
            &Update::new(&patch).filter(Patient::provider_id.eq(p1)),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                refused,
                schema_core::sqlx::SqlxError::Encode { column: "name", .. }
            ),
            "{refused}"
        );
        let changed = schema_core::sqlx::update_where_encrypted(
            &pool,
            &Update::new(&patch).filter(Patient::provider_id.eq(p1)),
            &keys,
        )
        .await
        .unwrap();
        assert_eq!(changed.len(), 6);
        assert!(changed
            .iter()
            .all(|r| r.name == "Renamed Person" && r.address.is_none()));
        // In a transaction, with a composite filter on the key.
        let mut tx = pool.begin().await.unwrap();
        let patch = UpdatePatient {
            address: Some(Some("New Street 5".into())),
            ..Default::default()
        };
        let one = schema_core::sqlx::update_where_encrypted(
            &mut *tx,
            &Update::new(&patch)
                .filter(Patient::provider_id.eq(p2))
                .filter(Patient::patient_id.eq(rows[1].patient_id)),
            &keys,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(
            (one[0].name.as_str(), one[0].address.as_deref()),
            ("Sqlx 1", Some("New Street 5"))
        );
        // What sqlx sealed, tokio-postgres opens, and the blind index follows the new value.
        let db = keyed_db(test.url(), &keys).await;
        let found = db
            .eq_blind(Patient::member_id, &p1, &"MEMBER-RENAMED".to_string())
            .await
            .unwrap();
        assert_eq!(found.len(), 6);
        let read = db
            .get::<Patient>(&(p2, rows[1].patient_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.address.as_deref(), Some("New Street 5"));
    });
    assert_no_plaintext(&mut test, &["Renamed", "RENAMED", "New Street", "Sqlx"]);
}

#[test]
fn sqlx_update_by_key_seals_for_the_row_and_both_drivers_open_it() {
    let (mut test, p1, p2) = setup();
    let keys = keys();
    let rows = [patient(p1, "Keyed One"), patient(p2, "Keyed Two")];
    let ids = (rows[0].patient_id, rows[1].patient_id);
    run(async {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(test.url())
            .await
            .unwrap();
        schema_core::sqlx::insert_many_encrypted(&pool, &rows, &keys)
            .await
            .unwrap();
        let patch = UpdatePatient {
            name: Some("Keyed Renamed".into()),
            member_id: Some("MEMBER-KEYED".into()),
            ..Default::default()
        };
        // Without keys, nothing is sent.
        let refused = schema_core::sqlx::update(&pool, &(p1, rows[0].patient_id), &patch).await;
        assert!(
            matches!(
                refused,
                Err(schema_core::sqlx::SqlxError::Encode { column: "name", .. })
            ),
            "{refused:?}"
        );
        let updated =
            schema_core::sqlx::update_encrypted(&pool, &(p1, rows[0].patient_id), &patch, &keys)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(
            (
                updated.name.as_str(),
                updated.member_id.as_str(),
                updated.address.as_deref()
            ),
            (
                "Keyed Renamed",
                "MEMBER-KEYED",
                Some("Keyed One's street 1")
            )
        );
        // A key no row has: `None`; a patch that sets nothing reads the row.
        let absent =
            schema_core::sqlx::update_encrypted(&pool, &(p2, rows[0].patient_id), &patch, &keys)
                .await
                .unwrap();
        assert!(absent.is_none());
        let unchanged = schema_core::sqlx::update_encrypted(
            &pool,
            &(p2, rows[1].patient_id),
            &UpdatePatient::default(),
            &keys,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(unchanged.name, "Keyed Two");
        // tokio-postgres opens what sqlx sealed, and finds it by the new blind index.
        let db = keyed_db(test.url(), &keys).await;
        let found = db
            .eq_blind(Patient::member_id, &p1, &"MEMBER-KEYED".to_string())
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "Keyed Renamed");
    });
    assert_no_plaintext(&mut test, &["Keyed", "KEYED"]);
    // The ciphertext sqlx sealed for the first row, copied by SQL to the second (another
    // tenant's), does not open there.
    test.client()
        .batch_execute(&format!(
            "UPDATE billing.patients SET member_id = (SELECT member_id FROM billing.patients \
             WHERE patient_id = '{}') WHERE patient_id = '{}'",
            ids.0, ids.1
        ))
        .unwrap();
    run(async {
        let db = keyed_db(test.url(), &keys).await;
        let error = db.get::<Patient>(&(p2, ids.1)).await.unwrap_err();
        assert_eq!(problem(error), CryptoProblem::NotAuthentic);
        let first = db.get::<Patient>(&(p1, ids.0)).await.unwrap().unwrap();
        assert_eq!(first.member_id, "MEMBER-KEYED");
    });
}

#[test]
fn a_physicians_tenant_transaction_seals_its_update_where_on_both_drivers() {
    use shared::schemas::db::{physician_scope, provider_transaction};
    let mut test = TestDb::with_schema();
    let (providers, _) = test.add_providers_with_tickets(2, 0);
    let (a, b) = (providers[0], providers[1]);
    let (physician_url, _) = test.application_logins();
    let names = test.names().clone();
    let keys = keys();
    run(async {
        let mut owner = keyed_db(test.url(), &keys).await;
        let rows: Vec<_> = (0..8)
            .map(|i| patient(if i % 2 == 0 { a } else { b }, &format!("Scoped {i}")))
            .collect();
        owner.insert_many(&rows).await.unwrap();
        // tokio-postgres: every row the filter keeps is the tenant's own, sealed for itself.
        let mut physician = Db::connect(&physician_url)
            .await
            .unwrap()
            .with_keys(keys.clone());
        let tx = provider_transaction(&mut physician, &names, a)
            .await
            .unwrap();
        let patch = UpdatePatient {
            name: Some("Scoped Renamed".into()),
            ..Default::default()
        };
        let changed = tx
            .update_where(&Update::new(&patch).all_rows())
            .await
            .unwrap();
        assert_eq!(changed.len(), 4);
        assert!(changed.iter().all(|r| r.provider_id == a));
        tx.commit().await.unwrap();
        // sqlx: the other provider's transaction, by a filter.
        let pool = sqlx::PgPool::connect(&physician_url).await.unwrap();
        let mut tx = schema_core::sqlx::tenant_transaction(&pool, &physician_scope(&names), b)
            .await
            .unwrap();
        let patch = UpdatePatient {
            member_id: Some("MEMBER-SCOPED".into()),
            ..Default::default()
        };
        let changed = tx
            .update_where_encrypted(
                &Update::new(&patch).filter(Patient::patient_id.eq(rows[1].patient_id)),
                &keys,
            )
            .await
            .unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].name, "Scoped 1");
        // The first provider's row, asked for by its key in the second's transaction: none.
        let none = tx
            .update_where_encrypted(
                &Update::new(&patch).filter(Patient::patient_id.eq(rows[0].patient_id)),
                &keys,
            )
            .await
            .unwrap();
        assert!(none.is_empty());
        tx.commit().await.unwrap();
        pool.close().await;
        let all = owner.select_all::<Patient>().await.unwrap();
        let renamed = all.iter().filter(|r| r.name == "Scoped Renamed").count();
        let scoped = all
            .iter()
            .filter(|r| r.member_id == "MEMBER-SCOPED")
            .count();
        assert_eq!((renamed, scoped), (4, 1));
    });
}

/// Visits of a provider's patients, keyed by the day first, the tenant second, then a time, a
/// small integer and a numeric: key columns whose values the server sends in another form
/// than the bytes an insert binds each ciphertext to.
#[derive(schema_core::PgTable)]
#[pg(
    schema = "billing",
    table = "visits",
    primary_key(visit_day, provider_id, seen_at, slot, fee)
)]
pub struct Visit {
    pub visit_day: NaiveDate,
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    pub seen_at: DateTime<Utc>,
    pub slot: i16,
    #[pg(numeric(precision = 10, scale = 2))]
    pub fee: Decimal,
    #[pg(encrypted, blind_index(bits = 4, population = 20))]
    pub note: String,
    #[pg(encrypted)]
    pub summary: Option<String>,
}

/// Visit `i` of `provider`: its key of every type above, its note `Visit {i}`.
fn visit(provider: Uuid, i: u16) -> InsertVisit {
    InsertVisit::new(
        NaiveDate::from_ymd_opt(2024, 3, 1 + u32::from(i % 3)).unwrap(),
        provider,
        DateTime::from_timestamp_micros(1_709_251_200_000_001 + i64::from(i)).unwrap(),
        i16::try_from(i).unwrap() - 2,
        Decimal::new(12_345 + i64::from(i), 2),
        format!("Visit {i}"),
    )
}

#[test]
fn update_where_and_reencrypt_bind_keys_of_dates_times_and_numbers_as_an_insert_does() {
    let (mut test, p1, p2) = setup();
    add_billing_table::<Visit>(&mut test);
    let keys = keys();
    let rows: Vec<_> = (0..6)
        .map(|i| visit(if i % 2 == 0 { p1 } else { p2 }, i))
        .collect();
    run(async {
        let mut db = keyed_db(test.url(), &keys).await;
        db.insert_many(&rows).await.unwrap();
        // tokio-postgres: the first provider's visits, each sealed for its own key.
        let patch = UpdateVisit {
            note: Some("Seen again".into()),
            summary: Some(Some("Follow-up".into())),
        };
        let changed = db
            .update_where(&Update::new(&patch).filter(Visit::provider_id.eq(p1)))
            .await
            .unwrap();
        assert_eq!(changed.len(), 3);
        for row in db.select_all::<Visit>().await.unwrap() {
            let expected = if row.provider_id == p1 {
                ("Seen again".to_string(), Some("Follow-up"))
            } else {
                (format!("Visit {}", row.slot + 2), None)
            };
            assert_eq!((row.note, row.summary.as_deref()), (expected.0, expected.1));
        }
        let found = db
            .eq_blind(Visit::note, &p1, &"Seen again".to_string())
            .await
            .unwrap();
        assert_eq!(found.len(), 3);
        // sqlx: the second provider's visits on one day; tokio-postgres opens what it sealed.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(test.url())
            .await
            .unwrap();
        let day = rows[3].visit_day;
        let patch = UpdateVisit {
            summary: Some(Some("Sealed by sqlx".into())),
            ..Default::default()
        };
        let changed = schema_core::sqlx::update_where_encrypted(
            &pool,
            &Update::new(&patch)
                .filter(Visit::provider_id.eq(p2))
                .filter(Visit::visit_day.eq(day)),
            &keys,
        )
        .await
        .unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!((changed[0].note.as_str(), changed[0].slot), ("Visit 3", 1));
        let read = db
            .get::<Visit>(&(day, p2, rows[3].seen_at, rows[3].slot, rows[3].fee))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.summary.as_deref(), Some("Sealed by sqlx"));
        // And sqlx opens what tokio-postgres sealed.
        let all: Vec<SelectVisit> = schema_core::crypto::opening(
            Some(keys.clone()),
            sqlx::query_as("SELECT * FROM billing.visits ORDER BY slot").fetch_all(&pool),
        )
        .await
        .unwrap();
        let summaries: Vec<_> = all.iter().map(|r| r.summary.as_deref()).collect();
        assert_eq!(
            summaries,
            [
                Some("Follow-up"),
                None,
                Some("Follow-up"),
                Some("Sealed by sqlx"),
                Some("Follow-up"),
                None
            ]
        );
        pool.close().await;
        // The re-encryption job binds these keys as the insert did: after a rotation, every
        // row is sealed again, each counted once, and still opens.
        for provider in [p1, p2] {
            keys.rotate_data_key(provider.as_bytes(), Purpose::Fields)
                .unwrap();
        }
        let done = reencrypt(
            &db,
            <Visit as schema_core::Table>::TABLE,
            &keys,
            Reencryption::default(),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!((done.rows, done.resealed), (6, 6));
        let notes: Vec<_> = db
            .select_all::<Visit>()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.summary.is_some())
            .map(|r| r.note)
            .collect();
        assert_eq!(notes.len(), 4);
    });
}
