//! Wrapped data keys kept in the database (`PgKeyStore`), against the real server: rows written
//! before a restart open with keys built anew on the same database; shredding a tenant deletes
//! its rows of the key table, after which its data does not open (before and after a restart)
//! while another tenant's does; rotation and rewrap persist; the table holds only wrapped keys.

mod common;

use std::sync::Arc;

use common::patients::{alternating, hex, keyed_db, patient, problem, run, setup, Dump, MASTER};
use common::TestDb;
use schema_core::crypto::{
    CryptoProblem, Envelope, KeyTable, Keys, MasterKeys, PgKeyStore, Purpose, SecretKey,
    StaticKeyring, KEY_LEN,
};
use shared::schemas::db::Patient;
use uuid::Uuid;

const MASTER_2: [u8; KEY_LEN] = [0x22; KEY_LEN];

/// Keys as a process builds them at start-up: the master keys from its secret store, the
/// wrapped data keys from the database.
async fn start(test: &TestDb, master: StaticKeyring) -> Arc<Keys> {
    let store = PgKeyStore::connect(test.url()).await.unwrap();
    Arc::new(Keys::new(master, Arc::new(store)))
}

/// The master key of `common::patients::keys`, version 1.
fn master_1() -> StaticKeyring {
    StaticKeyring::new(SecretKey::from_bytes(MASTER))
}

/// Every wrapped key of the key table `table`, with the data key it unwraps to with master
/// key 1 and its own id (tenant, purpose, version): a wrapped key moved to another id would not.
fn stored_wrapped(test: &mut TestDb, table: &str) -> Vec<(Vec<u8>, SecretKey)> {
    let master = master_1();
    test.client()
        .query(
            &format!("SELECT tenant, purpose, version, master_version, wrapped FROM {table}"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| {
            let id = schema_core::crypto::DataKeyId {
                tenant: row.get(0),
                purpose: Purpose::from_name(row.get(1)).unwrap(),
                version: row.get::<_, i32>(2) as u32,
            };
            let wrapped: Vec<u8> = row.get(4);
            let key = master
                .unwrap(row.get::<_, i32>(3) as u32, &id.context(), &wrapped)
                .unwrap();
            (wrapped, key)
        })
        .collect()
}

/// The key table's rows: `(tenant, purpose, version, master_version)`.
fn stored_keys(test: &mut TestDb) -> Vec<(Vec<u8>, String, i32, i32)> {
    test.client()
        .query(
            "SELECT tenant, purpose, version, master_version FROM schema_core.data_keys \
             ORDER BY 1, 2, 3",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[test]
fn rows_written_before_a_restart_open_after_it_and_a_shred_survives_it() {
    let (mut test, p1, p2) = setup();
    let (a, c) = {
        let mut ids = (Uuid::nil(), Uuid::nil());
        run(async {
            let keys = start(&test, master_1()).await;
            let mut db = keyed_db(test.url(), &keys).await;
            ids.0 = db
                .insert(&patient(p1, "Before Restart"))
                .await
                .unwrap()
                .patient_id;
            let many: Vec<_> = (0..20)
                .map(|i| patient(p2, &format!("Other {i}")))
                .collect();
            db.copy_in(&many).await.unwrap();
            ids.1 = many[0].patient_id;
        });
        ids
    };
    // Each provider's key for its fields and for its blind indexes, all wrapped by master 1.
    let stored = stored_keys(&mut test);
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(stored.iter().all(|k| k.2 == 1 && k.3 == 1));
    // The process restarts: nothing of the first one's memory is left.
    run(async {
        let keys = start(&test, master_1()).await;
        let db = keyed_db(test.url(), &keys).await;
        let read = db.get::<Patient>(&(p1, a)).await.unwrap().unwrap();
        assert_eq!(read.name, "Before Restart");
        let found = db
            .eq_blind(Patient::member_id, &p2, &"MEMBER-Other 0".to_string())
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        // Shredding the first provider deletes its rows of the key table.
        assert_eq!(keys.shred_tenant(p1.as_bytes()).unwrap(), 2);
        let error = db.get::<Patient>(&(p1, a)).await.unwrap_err();
        assert_eq!(problem(error), CryptoProblem::DataKeyMissing { version: 1 });
        assert_eq!(
            db.get::<Patient>(&(p2, c)).await.unwrap().unwrap().name,
            "Other 0"
        );
    });
    assert!(stored_keys(&mut test)
        .iter()
        .all(|k| k.0 == p2.as_bytes().to_vec()));
    // After another restart the shredded provider's rows still do not open; the other's do.
    run(async {
        let keys = start(&test, master_1()).await;
        let db = keyed_db(test.url(), &keys).await;
        let error = db.get::<Patient>(&(p1, a)).await.unwrap_err();
        assert_eq!(problem(error), CryptoProblem::DataKeyMissing { version: 1 });
        assert_eq!(
            db.get::<Patient>(&(p2, c)).await.unwrap().unwrap().name,
            "Other 0"
        );
    });
}

#[test]
fn a_rotation_and_a_rewrap_persist_across_restarts() {
    let (mut test, p1, _) = setup();
    let first = {
        let mut id = Uuid::nil();
        run(async {
            let keys = start(&test, master_1()).await;
            let db = keyed_db(test.url(), &keys).await;
            id = db.insert(&patient(p1, "Old Key")).await.unwrap().patient_id;
            assert_eq!(
                keys.rotate_data_key(p1.as_bytes(), Purpose::Fields)
                    .unwrap(),
                2
            );
        });
        id
    };
    // Restarted: the rotation holds, new rows are sealed with version 2, old rows still open.
    let second = {
        let mut id = Uuid::nil();
        run(async {
            let keys = start(&test, master_1()).await;
            assert_eq!(keys.latest_version(p1.as_bytes()).unwrap(), Some(2));
            let db = keyed_db(test.url(), &keys).await;
            id = db.insert(&patient(p1, "New Key")).await.unwrap().patient_id;
            assert_eq!(
                db.get::<Patient>(&(p1, first)).await.unwrap().unwrap().name,
                "Old Key"
            );
        });
        id
    };
    let versions: Vec<(Uuid, i32)> = test
        .client()
        .query("SELECT patient_id, name FROM billing.patients", &[])
        .unwrap()
        .iter()
        .map(|r| {
            let stored: Vec<u8> = r.get(1);
            (
                r.get(0),
                Envelope::parse(&stored).unwrap().key_version as i32,
            )
        })
        .collect();
    assert!(versions.contains(&(first, 1)) && versions.contains(&(second, 2)));
    // The master key rotates: every data key is wrapped again with version 2, in the table.
    run(async {
        let both = master_1().with_version(2, SecretKey::from_bytes(MASTER_2));
        let keys = start(&test, both).await;
        assert_eq!(keys.rewrap().unwrap(), 3);
    });
    assert!(stored_keys(&mut test).iter().all(|k| k.3 == 2));
    // Restarted with master key 2 alone (1 retired): both rows open.
    run(async {
        let only_2 = StaticKeyring::new(SecretKey::from_bytes([0x99; KEY_LEN]))
            .with_version(2, SecretKey::from_bytes(MASTER_2));
        let keys = start(&test, only_2).await;
        let db = keyed_db(test.url(), &keys).await;
        for (id, name) in [(first, "Old Key"), (second, "New Key")] {
            assert_eq!(
                db.get::<Patient>(&(p1, id)).await.unwrap().unwrap().name,
                name
            );
        }
    });
}

#[test]
fn the_key_table_holds_only_wrapped_keys_and_takes_a_name_of_ones_own() {
    let (mut test, p1, _) = setup();
    let table = KeyTable {
        schema: "vault".to_string(),
        name: "tenant_keys".to_string(),
        create_if_missing: true,
    };
    assert!(table
        .ddl()
        .contains("CREATE TABLE IF NOT EXISTS \"vault\".\"tenant_keys\""));
    run(async {
        let config = schema_core::pg::ConnectConfig::parse(test.url()).unwrap();
        let store = PgKeyStore::connect_with(config, table.clone())
            .await
            .unwrap();
        let keys = Arc::new(Keys::new(master_1(), Arc::new(store)));
        let db = keyed_db(test.url(), &keys).await;
        db.insert(&patient(p1, "Named Table")).await.unwrap();
    });
    let rows = stored_wrapped(&mut test, "vault.tenant_keys");
    assert_eq!(rows.len(), 2);
    for (wrapped, key) in rows {
        // The stored bytes are not the key, nor hold any 8-byte piece of it.
        for piece in key.expose_secret().chunks(8) {
            assert!(!wrapped.windows(8).any(|w| w == piece));
        }
    }
    // A table that does not exist, not to be created: the store says so when connecting.
    run(async {
        let config = schema_core::pg::ConnectConfig::parse(test.url()).unwrap();
        let missing = KeyTable {
            name: "absent".to_string(),
            create_if_missing: false,
            ..KeyTable::default()
        };
        let store = PgKeyStore::connect_with(config, missing).await.unwrap();
        let keys = Keys::new(master_1(), Arc::new(store));
        let error = keys.latest_version(p1.as_bytes()).unwrap_err();
        assert!(
            matches!(&error, CryptoProblem::Provider(m) if m.contains("absent")),
            "{error}"
        );
    });
}

#[test]
fn a_dump_holds_the_wrapped_keys_and_no_data_key() {
    let (mut test, p1, p2) = setup();
    run(async {
        let keys = start(&test, master_1()).await;
        let db = keyed_db(test.url(), &keys).await;
        for provider in [p1, p2] {
            db.insert(&patient(provider, "Dumped")).await.unwrap();
        }
    });
    let dump = Dump::of(test.url());
    assert!(!dump.text.contains(&hex(&MASTER)));
    let rows = stored_wrapped(&mut test, "schema_core.data_keys");
    assert_eq!(rows.len(), 4);
    for (wrapped, key) in rows {
        // The wrapped key is in the dump (that is how a restored database opens its rows);
        // the data key, or any 8-byte piece of it, is not, in hex or raw.
        assert!(dump.text.contains(&hex(&wrapped)));
        dump.assert_holds_no(&key);
    }
}

#[test]
fn the_command_line_reencrypts_with_the_applications_keys_read_back_from_the_database() {
    let (test, p1, p2) = setup();
    let master = hex(&MASTER);
    run(async {
        let keys = shared::keys::app_keys(&master, test.url()).await.unwrap();
        let mut db = keyed_db(test.url(), &keys).await;
        let rows: Vec<_> = alternating(p1, p2, 6, "Cli");
        db.insert_many(&rows).await.unwrap();
        keys.rotate_data_key(p1.as_bytes(), Purpose::Fields)
            .unwrap();
        // A malformed master key is refused without being repeated.
        let error = shared::keys::app_keys("not-a-key-zz", test.url())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("APP_MASTER_KEY") && !error.contains("zz"),
            "{error}"
        );
    });
    // What examples/schema.rs does with APP_MASTER_KEY: keys built afresh, from the database.
    // The runtime that built them ends here; the store's connection lives on its own thread.
    let mut keys = None;
    run(async { keys = Some(shared::keys::app_keys(&master, test.url()).await.unwrap()) });
    let keys = keys.unwrap();
    let args = [
        "schema",
        "reencrypt",
        "billing.patients",
        "--database-url",
        test.url(),
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = schema_core::cli::run_encrypted_to(
        shared::schemas::db::schema(),
        keys,
        args,
        &mut out,
        &mut err,
    );
    let err = String::from_utf8(err).unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "billing.patients: 6 rows, 3 sealed again with their tenant's newest key\n"
    );
}

#[test]
fn the_store_opens_its_connection_again_once_the_server_ended_it() {
    use schema_core::crypto::KeyStore;
    let (mut test, p1, _) = setup();
    let mut store = None;
    run(async {
        let opened = Arc::new(PgKeyStore::connect(test.url()).await.unwrap());
        let keys = Arc::new(Keys::new(master_1(), opened.clone()));
        let db = keyed_db(test.url(), &keys).await;
        db.insert(&patient(p1, "Before The End")).await.unwrap();
        store = Some(opened);
    });
    let store = store.unwrap();
    let ended: Vec<bool> = test
        .client()
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND datname = current_database()",
            &[&PgKeyStore::APPLICATION_NAME],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ended, [true]);
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(store.latest(p1.as_bytes(), Purpose::Fields).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // At most the call that met the ended connection fails; the store then connects again.
    assert!(answers[1..].iter().all(|&ok| ok), "{answers:?}");
    assert_eq!(
        store.latest(p1.as_bytes(), Purpose::Fields).unwrap(),
        Some(1)
    );
}
