//! Columns encrypted by the application (`billing.patients`) against the real database: every
//! write path seals, every read opens, the stored bytes hold no plaintext, a ciphertext moved
//! by SQL to another row, column or tenant does not open, a plaintext written by raw SQL is
//! refused by the database, a shredded tenant's rows are unreadable, and a dump holds no key.

mod common;

use std::sync::Arc;

use chrono::NaiveDate;
use common::patients::{
    add_billing_table, alternating, hex, keyed_db, keys, patient, problem, run, setup, Dump, MASTER,
};
use common::TestDb;
use schema_core::crypto::{
    CryptoError, CryptoProblem, KeyStore, Keys, MasterKeys, MemoryKeyStore, SecretKey,
    StaticKeyring,
};
use schema_core::pg::{ConstraintKind, Db, PgError};
use schema_core::query::Update;
use schema_core::Schema;
use shared::schemas::db::{
    InsertPatient, Patient, Provider, SelectPatient, UpdatePatient, PHYSICIAN_ROLE,
    PROVIDER_SETTING,
};
use uuid::Uuid;

#[test]
fn every_write_path_seals_and_every_read_opens() {
    let (mut test, p1, p2) = setup();
    let store = Arc::new(MemoryKeyStore::default());
    run(async {
        let mut db = Db::connect(test.url())
            .await
            .unwrap()
            .with_keys(keys(store.clone()));
        let one = db.insert(&patient(p1, "Alice Liddell")).await.unwrap();
        assert_eq!(one.name, "Alice Liddell");
        assert_eq!(one.address.as_deref(), Some("Alice Liddell's street 1"));
        let many: Vec<_> = (0..50).map(|i| patient(p1, &format!("Bulk {i}"))).collect();
        assert_eq!(db.insert_many(&many).await.unwrap(), 50);
        let mut copied: Vec<_> = (0..50).map(|i| patient(p2, &format!("Copy {i}"))).collect();
        copied[7].address = None;
        assert_eq!(db.copy_in(&copied).await.unwrap(), 50);
        let updated = db
            .update(
                &(p1, one.patient_id),
                &UpdatePatient {
                    member_id: Some("MEMBER-NEW".into()),
                    address: Some(None),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                updated.member_id.as_str(),
                updated.address,
                updated.name.as_str()
            ),
            ("MEMBER-NEW", None, "Alice Liddell")
        );
        let all: Vec<SelectPatient> = db.select_all::<Patient>().await.unwrap();
        assert_eq!(all.len(), 101);
        let by_key = db
            .get::<Patient>(&(p2, copied[7].patient_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (by_key.name.as_str(), by_key.address.as_deref()),
            ("Copy 7", None)
        );
        assert!(all.iter().any(|p| p.name == "Bulk 49"));
        // Debug never prints the PHI.
        let printed = format!("{by_key:?}");
        assert!(!printed.contains("Copy 7"), "{printed}");
    });
    // The stored columns are bytea envelopes holding no plaintext bytes.
    let rows = test
        .client()
        .query(
            "SELECT name, member_id, date_of_birth FROM billing.patients",
            &[],
        )
        .unwrap();
    for row in rows {
        for i in 0..3 {
            let stored: Vec<u8> = row.get(i);
            assert_eq!(&stored[..2], b"PE");
            for plain in [&b"Alice"[..], b"Bulk", b"Copy", b"MEMBER"] {
                assert!(!stored.windows(plain.len()).any(|w| w == plain));
            }
        }
    }
}

#[test]
fn a_ciphertext_moved_to_another_row_column_or_tenant_does_not_open() {
    let (mut test, p1, p2) = setup();
    let store = Arc::new(MemoryKeyStore::default());
    let (a, b, c) = run_returning(&test, store.clone(), p1, p2);
    let client = test.client();
    // Another row of the same tenant; another column of the same row; another tenant's row.
    client
        .batch_execute(&format!(
            "UPDATE billing.patients SET name = (SELECT name FROM billing.patients WHERE patient_id = '{a}') WHERE patient_id = '{b}';
             UPDATE billing.patients SET member_id = name WHERE patient_id = '{a}';
             UPDATE billing.patients SET address = (SELECT address FROM billing.patients WHERE patient_id = '{b}') WHERE patient_id = '{c}';"
        ))
        .unwrap();
    run(async {
        let db = Db::connect(test.url())
            .await
            .unwrap()
            .with_keys(keys(store));
        for (provider, patient) in [(p1, b), (p1, a), (p2, c)] {
            let error = db.get::<Patient>(&(provider, patient)).await.unwrap_err();
            assert_eq!(problem(error), CryptoProblem::NotAuthentic);
        }
    });
}

/// Inserts a patient `a` and `b` for `p1` and `c` for `p2`; returns their ids.
fn run_returning(
    test: &TestDb,
    store: Arc<MemoryKeyStore>,
    p1: Uuid,
    p2: Uuid,
) -> (Uuid, Uuid, Uuid) {
    let mut ids = Vec::new();
    run(async {
        let db = Db::connect(test.url())
            .await
            .unwrap()
            .with_keys(keys(store));
        for (provider, name) in [(p1, "Ann"), (p1, "Ben"), (p2, "Cal")] {
            ids.push(
                db.insert(&patient(provider, name))
                    .await
                    .unwrap()
                    .patient_id,
            );
        }
    });
    (ids[0], ids[1], ids[2])
}

#[test]
fn a_plaintext_written_by_raw_sql_is_refused_by_the_database() {
    let (mut test, p1, _) = setup();
    let error = test
        .client()
        .execute(
            "INSERT INTO billing.patients (provider_id, patient_id, name, date_of_birth, member_id, member_id_bidx) \
             VALUES ($1, gen_random_uuid(), convert_to('Jane Doe, born 1980-02-03, member 1234567890', 'UTF8'), '\\x00', '\\x00', '\\x00')",
            &[&p1],
        )
        .unwrap_err();
    let db_error = error.as_db_error().unwrap();
    assert_eq!(db_error.code().code(), "23514");
    // Each of the plaintexts breaks its column's envelope check; the server names the first.
    let constraint = db_error.constraint().unwrap();
    assert!(
        [
            "patients_name_envelope",
            "patients_date_of_birth_envelope",
            "patients_member_id_envelope"
        ]
        .contains(&constraint),
        "{constraint}"
    );
    // Through the typed driver, the same refusal is a check violation.
    run(async {
        let db = Db::connect(test.url()).await.unwrap();
        let sql = "INSERT INTO billing.patients (provider_id, patient_id, name, date_of_birth, member_id, member_id_bidx) \
                   VALUES ($1, gen_random_uuid(), 'not an envelope at all, long enough to pass the length'::bytea, '\\x00', '\\x00', '\\x00')";
        let error = PgError::from(db.client().execute(sql, &[&p1]).await.unwrap_err());
        assert_eq!(error.constraint().unwrap().kind, ConstraintKind::Check);
    });
}

#[test]
fn without_keys_nothing_is_written_or_read() {
    let (test, p1, _) = setup();
    run(async {
        let db = Db::connect(test.url()).await.unwrap();
        match db.insert(&patient(p1, "Nobody")).await.unwrap_err() {
            PgError::Crypto(error) => {
                assert_eq!(error.problem, CryptoProblem::NoKeys);
                assert_eq!(error.column, "name");
            }
            other => panic!("{other}"),
        }
    });
    let store = Arc::new(MemoryKeyStore::default());
    let (a, _, _) = run_returning(&test, store, p1, p1);
    run(async {
        let db = Db::connect(test.url()).await.unwrap();
        let error = db.get::<Patient>(&(p1, a)).await.unwrap_err();
        assert_eq!(problem(error), CryptoProblem::NoKeys);
    });
}

/// Rows of the first provider, then of the second: five parts of `insert_many` and `copy_in`
/// (which seal and send 1,000 rows at a time, the server working on one part while the next is
/// sealed), the second provider's first row in the last, after `insert_many` has sent its first
/// statements (four are in flight at once).
fn five_parts(p1: Uuid, p2: Uuid) -> Vec<InsertPatient> {
    (0..5_000)
        .map(|i| {
            let mut row = patient(if i < 4_500 { p1 } else { p2 }, &format!("P{i:05}"));
            row.address = (i % 3 != 0).then(|| format!("{i} Main Street"));
            row
        })
        .collect()
}

#[test]
fn batches_of_several_parts_seal_every_row_for_its_own_key() {
    let (test, p1, p2) = setup();
    let rows = five_parts(p1, p2);
    run(async {
        let mut db = Db::connect(test.url())
            .await
            .unwrap()
            .with_keys(keys(Arc::new(MemoryKeyStore::default())));
        for copy in [false, true] {
            db.client()
                .batch_execute("TRUNCATE billing.patients")
                .await
                .unwrap();
            let written = if copy {
                db.copy_in(&rows).await.unwrap()
            } else {
                db.insert_many(&rows).await.unwrap()
            };
            assert_eq!(written, rows.len() as u64);
            let mut read = db.select_all::<Patient>().await.unwrap();
            read.sort_by(|a, b| a.name.cmp(&b.name));
            assert_eq!(read.len(), rows.len());
            for (row, opened) in rows.iter().zip(&read) {
                let written = (row.provider_id, row.patient_id, &row.name, &row.address);
                let opened = (
                    opened.provider_id,
                    opened.patient_id,
                    &opened.name,
                    &opened.address,
                );
                assert_eq!(opened, written, "copy_in: {copy}");
            }
        }
    });
}

/// Master keys that refuse to wrap a data key for one tenant (a KMS that fails): its first row
/// cannot be sealed.
struct RefusingTenant {
    keys: StaticKeyring,
    refused: Uuid,
}

impl MasterKeys for RefusingTenant {
    fn current_version(&self) -> u32 {
        self.keys.current_version()
    }

    fn wrap(
        &self,
        version: u32,
        context: &[u8],
        key: &SecretKey,
    ) -> Result<Vec<u8>, CryptoProblem> {
        let tenant = self.refused.as_bytes();
        if context.windows(tenant.len()).any(|w| w == tenant) {
            return Err(CryptoProblem::Provider("the KMS is unavailable".into()));
        }
        self.keys.wrap(version, context, key)
    }

    fn unwrap(
        &self,
        version: u32,
        context: &[u8],
        wrapped: &[u8],
    ) -> Result<SecretKey, CryptoProblem> {
        self.keys.unwrap(version, context, wrapped)
    }
}

#[test]
fn a_row_that_cannot_be_sealed_in_a_later_part_leaves_nothing_written() {
    let (test, p1, p2) = setup();
    let rows = five_parts(p1, p2);
    run(async {
        let keys = Arc::new(Keys::new(
            RefusingTenant {
                keys: StaticKeyring::new(SecretKey::from_bytes(MASTER)),
                refused: p2,
            },
            Arc::new(MemoryKeyStore::default()),
        ));
        let mut db = keyed_db(test.url(), &keys).await;
        for copy in [false, true] {
            let error = if copy {
                db.copy_in(&rows).await.unwrap_err()
            } else {
                db.insert_many(&rows).await.unwrap_err()
            };
            let PgError::Crypto(CryptoError {
                table: "patients",
                column: "name",
                problem: CryptoProblem::Provider(_),
            }) = &error
            else {
                panic!("copy_in {copy}: expected the provider's failure, got {error:?}");
            };
            let count: i64 = db
                .client()
                .query_one("SELECT count(*) FROM billing.patients", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(count, 0, "copy_in {copy}: nothing written");
            // The connection serves the next batch.
            assert_eq!(db.copy_in(&rows[..4_500]).await.unwrap(), 4_500);
            db.client()
                .batch_execute("TRUNCATE billing.patients")
                .await
                .unwrap();
        }
    });
}

#[test]
fn shredding_a_tenants_keys_leaves_its_rows_unreadable_and_others_readable() {
    let (test, p1, p2) = setup();
    let store = Arc::new(MemoryKeyStore::default());
    let (a, _, c) = run_returning(&test, store.clone(), p1, p2);
    let keys = keys(store.clone());
    keys.shred_tenant(p1.as_bytes()).unwrap();
    run(async {
        let db = keyed_db(test.url(), &keys).await;
        let error = db.get::<Patient>(&(p1, a)).await.unwrap_err();
        assert_eq!(problem(error), CryptoProblem::DataKeyMissing { version: 1 });
        let other = db.get::<Patient>(&(p2, c)).await.unwrap().unwrap();
        assert_eq!(other.name, "Cal");
    });
    assert!(store
        .latest(p1.as_bytes(), schema_core::crypto::Purpose::Fields)
        .unwrap()
        .is_none());
}

#[test]
fn a_dump_of_the_database_holds_no_data_key_and_no_master_key() {
    let (test, p1, p2) = setup();
    let store = Arc::new(MemoryKeyStore::default());
    run_returning(&test, store.clone(), p1, p2);
    let dump = Dump::of(test.url());
    assert!(
        dump.text.contains("\\\\x5045"),
        "the dump holds the envelopes"
    );
    let master = StaticKeyring::new(SecretKey::from_bytes(MASTER));
    assert!(!dump.text.contains(&hex(&MASTER)));
    let wrapped = store.wrapped();
    // Each provider's key for its fields and its key for blind indexes.
    assert_eq!(wrapped.len(), 4);
    for (id, key) in wrapped {
        use schema_core::crypto::MasterKeys;
        let data_key = master
            .unwrap(key.master_version, &id.context(), &key.bytes)
            .unwrap();
        // Neither the data key nor any 8-byte piece of it is in the dump, in hex or raw.
        dump.assert_holds_no(&data_key);
    }
}

#[test]
fn sqlx_inserts_seal_and_both_drivers_open_what_the_other_wrote() {
    let (test, p1, p2) = setup();
    let store = Arc::new(MemoryKeyStore::default());
    let keys = keys(store);
    run(async {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(test.url())
            .await
            .unwrap();
        let one = schema_core::sqlx::insert_encrypted(&pool, &patient(p1, "Sqlx One"), &keys)
            .await
            .unwrap();
        assert_eq!(one.name, "Sqlx One");
        let rows: Vec<_> = (0..20).map(|i| patient(p2, &format!("Sqlx {i}"))).collect();
        assert_eq!(
            schema_core::sqlx::insert_many_encrypted(&pool, &rows, &keys)
                .await
                .unwrap(),
            20
        );
        // Without keys, the sqlx insert sends nothing.
        let refused = schema_core::sqlx::insert(&pool, &patient(p1, "No Keys")).await;
        assert!(matches!(
            refused,
            Err(schema_core::sqlx::SqlxError::Encode { column: "name", .. })
        ));
        // What sqlx wrote, tokio-postgres opens; what tokio-postgres writes, sqlx opens.
        let db = keyed_db(test.url(), &keys).await;
        let read = db
            .get::<Patient>(&(p2, rows[3].patient_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.name, "Sqlx 3");
        let written = db.insert(&patient(p1, "Tokio Written")).await.unwrap();
        let fetched: SelectPatient = schema_core::crypto::opening(
            Some(keys.clone()),
            sqlx::query_as("SELECT * FROM billing.patients WHERE patient_id = $1")
                .bind(written.patient_id)
                .fetch_one(&pool),
        )
        .await
        .unwrap();
        assert_eq!(fetched.member_id, "MEMBER-Tokio Written");
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM billing.patients")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 22);
    });
}

/// Re-encrypts `billing.patients` to the end in batches of `batch_size`, then sets
/// `finished`: what the job reports, and the rows it had read after each batch.
async fn reencrypt_patients(
    db: &Db,
    keys: &schema_core::crypto::Keys,
    batch_size: usize,
    finished: &std::sync::atomic::AtomicBool,
) -> (schema_core::crypto::ReencryptionProgress, Vec<u64>) {
    let mut seen = Vec::new();
    let done = schema_core::crypto::reencrypt(
        db,
        <Patient as schema_core::Table>::TABLE,
        keys,
        schema_core::crypto::Reencryption {
            batch_size,
            max_batches: None,
        },
        |p| seen.push(p.rows),
    )
    .await
    .unwrap();
    finished.store(true, std::sync::atomic::Ordering::Relaxed);
    (done, seen)
}

#[test]
fn a_rotation_reseals_every_row_while_reads_go_on_and_survives_being_cut_short() {
    use schema_core::crypto::{reencrypt, Purpose, Reencryption};
    let (test, p1, p2) = setup();
    let store = Arc::new(MemoryKeyStore::default());
    let keys = keys(store);
    run(async {
        let mut db = keyed_db(test.url(), &keys).await;
        let rows: Vec<_> = alternating(p1, p2, 300, "Rot");
        db.copy_in(&rows).await.unwrap();
        assert_eq!(
            keys.rotate_data_key(p1.as_bytes(), Purpose::Fields)
                .unwrap(),
            2
        );
        assert_eq!(
            keys.rotate_data_key(p2.as_bytes(), Purpose::Fields)
                .unwrap(),
            2
        );

        // Cut short after two batches, as a kill would leave it.
        let cut = reencrypt(
            &db,
            <Patient as schema_core::Table>::TABLE,
            &keys,
            Reencryption {
                batch_size: 40,
                max_batches: Some(2),
            },
            |_| {},
        )
        .await
        .unwrap();
        assert!(!cut.complete);
        assert_eq!(cut.resealed, 80);

        // Run again to the end while another connection keeps reading every row.
        let reader = keyed_db(test.url(), &keys).await;
        let stop = std::sync::atomic::AtomicBool::new(false);
        let reads = async {
            let mut passes = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || passes == 0 {
                let all = reader
                    .select_all::<Patient>()
                    .await
                    .expect("a read during the rotation");
                assert_eq!(all.len(), 300);
                passes += 1;
                tokio::task::yield_now().await;
            }
            passes
        };
        let job = reencrypt_patients(&db, &keys, 40, &stop);
        let (passes, (done, seen)) = tokio::join!(reads, job);
        assert!(passes >= 1);
        assert!(done.complete);
        assert_eq!(done.resealed, 220);
        assert!(seen.len() > 1, "progress is reported per batch");

        // No value is left on version 1 (bytes 6 to 9 of the envelope hold the key version).
        let old: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM billing.patients WHERE substring(name FROM 6 FOR 4) <> '\\x00000002'::bytea \
                 OR substring(member_id FROM 6 FOR 4) <> '\\x00000002'::bytea \
                 OR substring(date_of_birth FROM 6 FOR 4) <> '\\x00000002'::bytea \
                 OR substring(address FROM 6 FOR 4) <> '\\x00000002'::bytea",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(old, 0);
        // The same values as before, and a third run only reads.
        let mut names: Vec<String> = db
            .select_all::<Patient>()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        names.sort();
        let mut expected: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        expected.sort();
        assert_eq!(names, expected);
        let again = reencrypt(
            &db,
            <Patient as schema_core::Table>::TABLE,
            &keys,
            Reencryption::default(),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(again.resealed, 0);
        // Each row is counted once: the cut run, then the run to the end, then the third.
        assert_eq!((cut.rows, done.rows, again.rows), (80, 300, 300));
        let _ = &mut db;
    });
}

#[test]
fn a_rotation_waits_for_a_row_another_transaction_holds_and_counts_each_row_once() {
    use schema_core::crypto::Purpose;
    use std::sync::atomic::{AtomicBool, Ordering};
    let (test, p1, p2) = setup();
    let keys = keys(Arc::new(MemoryKeyStore::default()));
    run(async {
        let mut db = keyed_db(test.url(), &keys).await;
        let rows: Vec<_> = alternating(p1, p2, 6, "Held");
        db.insert_many(&rows).await.unwrap();
        for provider in [p1, p2] {
            keys.rotate_data_key(provider.as_bytes(), Purpose::Fields)
                .unwrap();
        }
        // Another transaction holds one row while the job runs.
        let holder = Db::connect(test.url()).await.unwrap();
        holder
            .client()
            .batch_execute(&format!(
                "BEGIN; SELECT 1 FROM billing.patients WHERE patient_id = '{}' FOR UPDATE",
                rows[3].patient_id
            ))
            .await
            .unwrap();
        let watcher = Db::connect(test.url()).await.unwrap();
        let finished = AtomicBool::new(false);
        let job = reencrypt_patients(&db, &keys, 2, &finished);
        // The holder lets go once the job waits for its row (or, should it never wait, once it
        // has finished).
        let release = async {
            let mut waited = false;
            while !finished.load(Ordering::Relaxed) {
                let waiting: i64 = watcher
                    .client()
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity \
                         WHERE datname = current_database() AND wait_event_type = 'Lock'",
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if waiting > 0 {
                    waited = true;
                    break;
                }
                tokio::task::yield_now().await;
            }
            holder.client().batch_execute("COMMIT").await.unwrap();
            waited
        };
        let (waited, (done, seen)) = tokio::join!(release, job);
        assert!(waited, "the job waited for the held row");
        assert!(done.complete);
        assert_eq!((done.rows, done.resealed), (6, 6));
        // The first pass read the five free rows (batches of 2, 2, 1), the second the held one.
        assert_eq!(seen, [2, 4, 5, 6, 6]);
        let on_old_key: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM billing.patients WHERE substring(name FROM 6 FOR 4) <> '\\x00000002'::bytea",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(on_old_key, 0);
        let held = db
            .get::<Patient>(&(p2, rows[3].patient_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(held.name, "Held 3");
    });
}

#[test]
fn the_command_line_reencrypts_a_table_with_the_programs_keys() {
    use schema_core::crypto::Purpose;
    let (test, p1, p2) = setup();
    let store = Arc::new(MemoryKeyStore::default());
    let keys = keys(store.clone());
    run_returning(&test, store, p1, p2);
    keys.rotate_data_key(p1.as_bytes(), Purpose::Fields)
        .unwrap();
    let schema = || {
        Schema::new()
            .tenant_setting(PROVIDER_SETTING)
            .tenant_role(PHYSICIAN_ROLE)
            .table::<Provider>()
            .table::<Patient>()
    };
    let args = [
        "app",
        "reencrypt",
        "billing.patients",
        "--batch-size",
        "1",
        "--database-url",
        test.url(),
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = schema_core::cli::run_encrypted_to(schema(), keys.clone(), args, &mut out, &mut err);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    // Two of the three patients are the rotated provider's.
    assert_eq!(
        out,
        "billing.patients: 3 rows, 2 sealed again with their tenant's newest key\n"
    );
    assert!(
        err.contains("billing.patients: batch 1, 1 rows read"),
        "{err}"
    );
    // A program that gives the command line no keys is told how to.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(
        schema_core::cli::run_to(schema(), args, &mut out, &mut err),
        1
    );
    assert!(String::from_utf8(err).unwrap().contains("run_encrypted"));
}

/// Members of a provider, with a 4-bit blind index: values collide by design.
#[derive(schema_core::PgTable)]
#[pg(
    schema = "billing",
    table = "members",
    primary_key(provider_id, member_row)
)]
pub struct Member {
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    #[pg(default_fn = Uuid::new_v4)]
    pub member_row: Uuid,
    #[pg(encrypted, blind_index(bits = 4, population = 20))]
    pub member_id: String,
}

#[test]
fn a_lookup_by_blind_index_returns_exactly_the_tenants_matches() {
    let (mut test, p1, p2) = setup();
    let members_ddl = add_billing_table::<Member>(&mut test);
    assert!(
        members_ddl.contains("\"member_id_bidx\" bytea NOT NULL"),
        "{members_ddl}"
    );
    assert!(
        members_ddl.contains("CREATE INDEX \"members_provider_id_member_id_bidx_idx\" ON \"billing\".\"members\" (\"provider_id\", \"member_id_bidx\")"),
        "{members_ddl}"
    );
    let keys = keys(Arc::new(MemoryKeyStore::default()));
    run(async {
        let mut db = keyed_db(test.url(), &keys).await;
        // 40 values a tenant in 16 index values: some share one. Both tenants hold every value.
        let rows: Vec<InsertMember> = [p1, p2]
            .iter()
            .flat_map(|&p| (0..40).map(move |i| InsertMember::new(p, format!("M{i:04}"))))
            .collect();
        db.insert_many(&rows).await.unwrap();
        // A value whose index value another value of the tenant shares.
        let mut found_collision = false;
        for i in 0..40 {
            let wanted = format!("M{i:04}");
            let bidx = keys
                .blind_index("members", "member_id", p1.as_bytes(), wanted.as_bytes(), 4)
                .unwrap();
            let sharing: i64 = db
                .client()
                .query_one(
                    "SELECT count(*) FROM billing.members WHERE provider_id = $1 AND member_id_bidx = $2",
                    &[&p1, &bidx],
                )
                .await
                .unwrap()
                .get(0);
            let matches = db.eq_blind(Member::member_id, &p1, &wanted).await.unwrap();
            assert_eq!(matches.len(), 1, "{wanted}");
            assert_eq!(
                (matches[0].provider_id, matches[0].member_id.as_str()),
                (p1, wanted.as_str())
            );
            found_collision |= sharing > 1;
        }
        assert!(
            found_collision,
            "40 values in a 4-bit index share index values"
        );
        // An index value of the other tenant does not leak across: the HMAC key is the tenant's.
        assert!(db
            .eq_blind(Member::member_id, &p2, &"absent".to_string())
            .await
            .unwrap()
            .is_empty());
        // A patient's member id, by its 12-bit index.
        let patient = db.insert(&patient(p2, "Indexed")).await.unwrap();
        let by_member = db
            .eq_blind(Patient::member_id, &p2, &"MEMBER-Indexed".to_string())
            .await
            .unwrap();
        assert_eq!(by_member.len(), 1);
        assert_eq!(by_member[0].patient_id, patient.patient_id);
        let _ = &mut db;
    });
}

/// Contacts of a provider: an email found whatever its case and surrounding spaces, and a
/// phone number found only as written.
#[derive(schema_core::PgTable)]
#[pg(
    schema = "billing",
    table = "contacts",
    primary_key(provider_id, contact_id)
)]
pub struct Contact {
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    #[pg(default_fn = Uuid::new_v4)]
    pub contact_id: Uuid,
    #[pg(
        encrypted,
        blind_index(bits = 4, population = 1_000, normalize(trim, lowercase))
    )]
    pub email: String,
    #[pg(encrypted, blind_index(bits = 4, population = 1_000))]
    pub phone: Option<String>,
}

#[test]
fn a_normalized_blind_index_finds_a_text_whatever_its_case_and_surrounding_spaces() {
    let (mut test, p1, p2) = setup();
    add_billing_table::<Contact>(&mut test);
    let index = <Contact as schema_core::Table>::TABLE.columns[2]
        .encryption
        .and_then(|e| e.blind_index)
        .unwrap();
    assert!(index.normalize.trim && index.normalize.lowercase);
    let keys = keys(Arc::new(MemoryKeyStore::default()));
    run(async {
        let mut db = keyed_db(test.url(), &keys).await;
        let contact = |provider, email: &str, phone: &str| {
            let mut row = InsertContact::new(provider, email.to_string());
            row.phone = Some(phone.to_string());
            row
        };
        let mut rows = vec![
            contact(p1, "  Jane.Doe@Example.ORG ", "+1 555 0100"),
            contact(p2, "jane.doe@example.org", "+1 555 0100"),
        ];
        rows.extend((0..30).map(|i| contact(p1, &format!("other{i}@example.org"), "+1 555 0199")));
        db.insert_many(&rows).await.unwrap();
        // The email as written elsewhere: the first provider's row, stored as it was given.
        let found = db
            .eq_blind(Contact::email, &p1, &"JANE.DOE@example.org\t".to_string())
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].email, "  Jane.Doe@Example.ORG ");
        assert_eq!(found[0].contact_id, rows[0].contact_id);
        // Thirty values in 16 index values: the false positives are still dropped.
        let other = db
            .eq_blind(Contact::email, &p1, &" OTHER7@example.org".to_string())
            .await
            .unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].email, "other7@example.org");
        // The phone's index is not normalized: only the number as written finds it.
        assert!(db
            .eq_blind(Contact::phone, &p1, &" +1 555 0100".to_string())
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            db.eq_blind(Contact::phone, &p1, &"+1 555 0100".to_string())
                .await
                .unwrap()
                .len(),
            1
        );
        // An update by filter indexes the new value normalized too.
        let patch = UpdateContact {
            email: Some("New.Address@Example.org".into()),
            ..Default::default()
        };
        db.update_where(&Update::new(&patch).filter(Contact::contact_id.eq(rows[0].contact_id)))
            .await
            .unwrap();
        let found = db
            .eq_blind(Contact::email, &p1, &"new.address@example.org".to_string())
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].email, "New.Address@Example.org");
    });
}

/// `billing.mig_patients` while its `name` is being encrypted: rows may still hold plaintext.
#[derive(schema_core::PgTable)]
#[pg(
    schema = "billing",
    table = "mig_patients",
    primary_key(provider_id, patient_id)
)]
pub struct MigratingPatient {
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    #[pg(default_fn = Uuid::new_v4)]
    pub patient_id: Uuid,
    /// The migration to this state keeps each value's bytes.
    #[pg(encrypted(migrating), using = "convert_to({name}, 'UTF8')")]
    pub name: String,
}

/// The same table once every row is sealed: the strict state, with the envelope `CHECK`.
#[derive(schema_core::PgTable)]
#[pg(
    schema = "billing",
    table = "mig_patients",
    primary_key(provider_id, patient_id)
)]
pub struct StrictPatient {
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    #[pg(default_fn = Uuid::new_v4)]
    pub patient_id: Uuid,
    #[pg(encrypted)]
    pub name: String,
}

#[test]
fn a_plaintext_column_is_encrypted_through_its_states_and_strict_waits_for_the_last_row() {
    use schema_core::crypto::{plaintext_rows, reencrypt, Reencryption};
    use schema_core::pg::evolve::{apply, plan_for, EvolveError, Shadow};
    let (mut test, p1, p2) = setup();
    // Before: the column in plaintext, with rows.
    test.client()
        .batch_execute(&format!(
            "CREATE TABLE billing.mig_patients (
                 provider_id uuid NOT NULL REFERENCES providers (provider_id),
                 patient_id uuid NOT NULL,
                 name text NOT NULL,
                 PRIMARY KEY (provider_id, patient_id));
             INSERT INTO billing.mig_patients
                 SELECT p, gen_random_uuid(), 'Plain ' || n
                 FROM unnest(ARRAY['{p1}', '{p2}']::uuid[]) p, generate_series(1, 3) n;"
        ))
        .unwrap();
    let migrating = Schema::new()
        .tenant_setting(PROVIDER_SETTING)
        .tenant_role(PHYSICIAN_ROLE)
        .table::<Provider>()
        .table::<Patient>()
        .table::<MigratingPatient>()
        .with_names(test.names().clone());
    let strict = || {
        Schema::new()
            .tenant_setting(PROVIDER_SETTING)
            .tenant_role(PHYSICIAN_ROLE)
            .table::<Provider>()
            .table::<Patient>()
            .table::<StrictPatient>()
            .with_names(test.names().clone())
    };
    let table = <MigratingPatient as schema_core::Table>::TABLE;
    let keys = keys(Arc::new(MemoryKeyStore::default()));
    run(async {
        // The plan to the first state: the column becomes bytea, each value's bytes kept.
        let plan = plan_for(test.url(), &migrating, Shadow::Transaction)
            .await
            .unwrap();
        assert!(
            plan.steps.iter().any(|s| s
                .sql
                .contains("TYPE bytea USING convert_to(\"name\", 'UTF8')")),
            "{:#?}",
            plan.steps.iter().map(|s| &s.sql).collect::<Vec<_>>()
        );
        let (mut client, _connection) = schema_core::pg::connect(test.url()).await.unwrap();
        apply(&mut client, &plan, &[]).await.unwrap();
        let mut db = keyed_db(test.url(), &keys).await;
        // Reads accept plaintext; writes seal.
        let read = db.select_all::<MigratingPatient>().await.unwrap();
        assert_eq!(read.len(), 6);
        assert!(read.iter().all(|p| p.name.starts_with("Plain ")));
        db.insert(&InsertMigratingPatient::new(p1, "Sealed One".into()))
            .await
            .unwrap();
        assert_eq!(plaintext_rows(&db, table).await.unwrap(), vec![("name", 6)]);

        // The strict state is refused while plaintext remains, naming the count.
        match plan_for(test.url(), &strict(), Shadow::Transaction).await {
            Err(EvolveError::PlaintextRemains {
                table,
                column,
                rows,
            }) => {
                assert_eq!(
                    (table.as_str(), column, rows),
                    ("billing.mig_patients", "name", 6)
                );
            }
            other => panic!("not refused: {:?}", other.map(|p| p.steps.len())),
        }

        // The job seals what remains; then the strict state applies, with its CHECK.
        let done = reencrypt(&db, table, &keys, Reencryption::default(), |_| {})
            .await
            .unwrap();
        assert_eq!(done.resealed, 6);
        assert_eq!(plaintext_rows(&db, table).await.unwrap(), vec![("name", 0)]);
        let plan = plan_for(test.url(), &strict(), Shadow::Transaction)
            .await
            .unwrap();
        assert!(plan
            .steps
            .iter()
            .any(|s| s.sql.contains("mig_patients_name_envelope")));
        apply(&mut client, &plan, &[]).await.unwrap();
        let mut names: Vec<String> = db
            .select_all::<StrictPatient>()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        names.sort();
        assert_eq!(names.len(), 7);
        assert_eq!(
            (names[0].as_str(), names[6].as_str()),
            ("Plain 1", "Sealed One")
        );
        let _ = &mut db;
    });
    let refused = test
        .client()
        .execute(
            "INSERT INTO billing.mig_patients VALUES ($1, gen_random_uuid(), convert_to('a plaintext name, long enough to pass the length', 'UTF8'))",
            &[&p1],
        )
        .unwrap_err();
    assert_eq!(
        refused.as_db_error().unwrap().constraint(),
        Some("mig_patients_name_envelope")
    );
}

#[test]
fn a_row_read_back_serializes_no_plaintext_unless_asked() {
    let row = SelectPatient {
        provider_id: Uuid::nil(),
        patient_id: Uuid::nil(),
        name: "Jane Doe".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1980, 2, 3).unwrap(),
        member_id: "MEMBER-1".into(),
        address: Some("1 Main St".into()),
        created_at: chrono::DateTime::UNIX_EPOCH,
    };
    let json = serde_json::to_string(&row).unwrap();
    for plain in ["Jane Doe", "1980-02-03", "MEMBER-1", "Main St"] {
        assert!(!json.contains(plain), "{json}");
    }
    assert!(json.contains("patient_id"));
    // Serializing a decrypted value is explicit.
    assert_eq!(serde_json::to_string(&row.name).unwrap(), "\"Jane Doe\"");
    // Debug redacts the encrypted fields.
    assert!(!format!("{row:?}").contains("Jane Doe"));
}

#[test]
fn pooled_connections_seal_and_open_with_the_managers_keys() {
    use schema_core::pg::pool::DbManager;
    let (test, p1, _) = setup();
    let keys = keys(Arc::new(MemoryKeyStore::default()));
    run(async {
        let manager = DbManager::new(test.url()).unwrap().with_keys(keys.clone());
        let deadpool = deadpool::managed::Pool::<DbManager>::builder(manager.clone())
            .max_size(1)
            .build()
            .unwrap();
        let written = deadpool
            .get()
            .await
            .unwrap()
            .insert(&patient(p1, "Pooled"))
            .await
            .unwrap();
        let bb8 = bb8::Pool::builder()
            .max_size(1)
            .build(manager)
            .await
            .unwrap();
        let read = bb8
            .get()
            .await
            .unwrap()
            .get::<Patient>(&(p1, written.patient_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.name, "Pooled");
    });
}

/// One encrypted column of every supported type.
#[derive(schema_core::PgTable)]
#[pg(schema = "billing", table = "vault", primary_key(provider_id, item_id))]
pub struct VaultItem {
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    #[pg(default_fn = Uuid::new_v4)]
    pub item_id: Uuid,
    #[pg(encrypted)]
    pub small: i16,
    #[pg(encrypted)]
    pub int: i32,
    #[pg(encrypted)]
    pub big: i64,
    #[pg(encrypted)]
    pub float: f64,
    #[pg(encrypted)]
    pub flag: bool,
    #[pg(encrypted)]
    pub bytes: Vec<u8>,
    #[pg(encrypted)]
    pub reference: Uuid,
    #[pg(encrypted)]
    pub at: chrono::DateTime<chrono::Utc>,
    #[pg(encrypted)]
    pub local: chrono::NaiveDateTime,
    #[pg(encrypted)]
    pub document: serde_json::Value,
    #[pg(encrypted)]
    pub amount: schema_core::rust_decimal::Decimal,
    #[pg(encrypted)]
    pub note: Option<String>,
}

fn vault_item(provider: Uuid, n: i64) -> InsertVaultItem {
    InsertVaultItem {
        provider_id: provider,
        item_id: Uuid::new_v4(),
        small: -7 - n as i16,
        int: 123_456 + n as i32,
        big: 9_000_000_000_000 + n,
        float: 2.5 + n as f64,
        flag: n % 2 == 0,
        bytes: vec![0xDE, 0xAD, n as u8],
        reference: Uuid::from_u128(42 + n as u128),
        at: chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456 + n).unwrap(),
        local: chrono::DateTime::from_timestamp_micros(1_600_000_000_000_001 + n)
            .unwrap()
            .naive_utc(),
        document: serde_json::json!({"secret": format!("document {n}")}),
        amount: format!("{n}.25").parse().unwrap(),
        note: (n % 3 != 0).then(|| format!("note {n}")),
    }
}

/// A patch setting every field to `vault_item(provider, n)`'s values.
fn every_field(provider: Uuid, n: i64) -> UpdateVaultItem {
    let item = vault_item(provider, n);
    UpdateVaultItem {
        small: Some(item.small),
        int: Some(item.int),
        big: Some(item.big),
        float: Some(item.float),
        flag: Some(item.flag),
        bytes: Some(item.bytes),
        reference: Some(item.reference),
        at: Some(item.at),
        local: Some(item.local),
        document: Some(item.document),
        amount: Some(item.amount),
        note: Some(item.note),
    }
}

#[test]
fn every_supported_type_round_trips_through_both_drivers_and_every_write_path() {
    let (mut test, p1, _) = setup();
    add_billing_table::<VaultItem>(&mut test);
    let keys = keys(Arc::new(MemoryKeyStore::default()));
    let rows: Vec<InsertVaultItem> = (0..12).map(|n| vault_item(p1, n)).collect();
    run(async {
        let mut db = keyed_db(test.url(), &keys).await;
        db.insert(&rows[0]).await.unwrap();
        db.insert_many(&rows[1..4]).await.unwrap();
        db.copy_in(&rows[4..8]).await.unwrap();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(test.url())
            .await
            .unwrap();
        schema_core::sqlx::insert_encrypted(&pool, &rows[8], &keys)
            .await
            .unwrap();
        schema_core::sqlx::insert_many_encrypted(&pool, &rows[9..], &keys)
            .await
            .unwrap();
        // An update seals every type too.
        let changed = vault_item(p1, 99);
        db.update(
            &(p1, rows[0].item_id),
            &UpdateVaultItem {
                small: Some(changed.small),
                document: Some(changed.document.clone()),
                note: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // Typed queries' updates through both drivers, and sqlx's update by key, set every
        // type: rows 1, 2 and 3 take the values of items 101, 102 and 103.
        let patches: Vec<UpdateVaultItem> = (101..104).map(|n| every_field(p1, n)).collect();
        let by_item =
            |n: usize| Update::new(&patches[n - 1]).filter(VaultItem::item_id.eq(rows[n].item_id));
        assert_eq!(db.update_where(&by_item(1)).await.unwrap().len(), 1);
        let sqlx_changed = schema_core::sqlx::update_where_encrypted(&pool, &by_item(2), &keys)
            .await
            .unwrap();
        assert_eq!(sqlx_changed[0].big, 9_000_000_000_102);
        schema_core::sqlx::update_encrypted(&pool, &(p1, rows[3].item_id), &patches[2], &keys)
            .await
            .unwrap()
            .unwrap();
        for (n, row) in rows.iter().enumerate() {
            let read = db
                .get::<VaultItem>(&(p1, row.item_id))
                .await
                .unwrap()
                .unwrap();
            let updated = (1..4).contains(&n).then(|| vault_item(p1, 100 + n as i64));
            let row = updated.as_ref().unwrap_or(row);
            let (small, document, note) = if n == 0 {
                (changed.small, changed.document.clone(), None)
            } else {
                (row.small, row.document.clone(), row.note.clone())
            };
            assert_eq!(
                (read.small, read.int, read.big, read.float, read.flag),
                (small, row.int, row.big, row.float, row.flag)
            );
            assert_eq!(
                (&read.bytes, read.reference, read.at, read.local),
                (&row.bytes, row.reference, row.at, row.local)
            );
            assert_eq!(
                (read.document, read.amount, read.note),
                (document, row.amount, note)
            );
        }
    });
    // Every stored value is an envelope; no plaintext bytes of the text values are in them.
    let stored = test
        .client()
        .query("SELECT document, note, int FROM billing.vault", &[])
        .unwrap();
    for row in stored {
        let document: Vec<u8> = row.get(0);
        assert_eq!(&document[..2], b"PE");
        assert!(!document.windows(8).any(|w| w == b"document"));
        if let Some(note) = row.get::<_, Option<Vec<u8>>>(1) {
            assert!(!note.windows(4).any(|w| w == b"note"));
        }
        let int: Vec<u8> = row.get(2);
        assert!(int.len() >= 37);
    }
}
