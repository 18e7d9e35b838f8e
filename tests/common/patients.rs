//! What the tests of encrypted columns share: a database with `providers` and
//! `billing.patients` and two providers, keys over a store, a patient to insert, and the
//! problem of a read that did not open.

use std::sync::Arc;

use chrono::NaiveDate;
use schema_core::crypto::{
    CryptoError, CryptoProblem, KeyStore, Keys, SecretKey, StaticKeyring, KEY_LEN,
};
use schema_core::pg::{DecodeProblem, PgError};
use schema_core::Schema;
use shared::schemas::db::{InsertPatient, Patient, Provider, PHYSICIAN_ROLE, PROVIDER_SETTING};
use uuid::Uuid;

use super::TestDb;

/// The master key of [`keys`].
pub const MASTER: [u8; KEY_LEN] = [0x5A; KEY_LEN];

/// Runs the async part of a test on a current-thread runtime (what a store that does I/O must
/// not deadlock).
pub fn run<F: std::future::Future<Output = ()>>(future: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future);
}

/// A database with `providers` and `billing.patients`, and two providers.
pub fn setup() -> (TestDb, Uuid, Uuid) {
    let mut db = TestDb::new();
    let ddl = Schema::new()
        .tenant_setting(PROVIDER_SETTING)
        .tenant_role(PHYSICIAN_ROLE)
        .table::<Provider>()
        .table::<Patient>()
        .with_names(db.names().clone())
        .to_ddl()
        .unwrap();
    db.client().batch_execute(&ddl).unwrap();
    let mut providers = Vec::new();
    for n in 0..2 {
        let row = db
            .client()
            .query_one(
                "INSERT INTO providers (npi, first_name, last_name, email) \
                 VALUES ($1, 'A', 'B', $2) RETURNING provider_id",
                &[&format!("100000000{n}"), &format!("p{n}@example.org")],
            )
            .unwrap();
        providers.push(row.get::<_, Uuid>(0));
    }
    (db, providers[0], providers[1])
}

/// Creates the table of `T`, in schema `billing`, beside the providers [`setup`] made: its
/// statements of the schema's DDL (the table, its indexes, its policies); returns them.
pub fn add_billing_table<T: schema_core::Table>(test: &mut TestDb) -> String {
    let ddl = Schema::new()
        .tenant_setting(PROVIDER_SETTING)
        .tenant_role(PHYSICIAN_ROLE)
        .table::<Provider>()
        .table::<T>()
        .with_names(test.names().clone())
        .to_ddl()
        .unwrap();
    let name = format!("\"{}\"", T::TABLE.name);
    let start = ddl
        .find(&format!("CREATE TABLE \"billing\".{name}"))
        .unwrap();
    let table_ddl: String = ddl[start..]
        .split(";\n")
        .filter(|s| s.contains(&name))
        .map(|s| format!("{s};\n"))
        .collect();
    test.client().batch_execute(&table_ddl).unwrap();
    table_ddl
}

/// Keys wrapped by [`MASTER`], kept in `store`.
pub fn keys(store: Arc<dyn KeyStore>) -> Arc<Keys> {
    Arc::new(Keys::new(
        StaticKeyring::new(SecretKey::from_bytes(MASTER)),
        store,
    ))
}

/// A patient of `provider` named `name`, born 1980-02-03, member `MEMBER-{name}`, living at
/// `{name}'s street 1`.
pub fn patient(provider: Uuid, name: &str) -> InsertPatient {
    let mut row = InsertPatient::new(
        provider,
        name.to_string(),
        NaiveDate::from_ymd_opt(1980, 2, 3).unwrap(),
        format!("MEMBER-{name}"),
    );
    row.address = Some(format!("{name}'s street 1"));
    row
}

/// The problem of a read that failed to open an encrypted column.
pub fn problem(error: PgError) -> CryptoProblem {
    match error {
        PgError::Decode(decode) => match decode.problem {
            DecodeProblem::Invalid { source, .. } => source
                .downcast_ref::<CryptoError>()
                .unwrap()
                .problem
                .clone(),
            other => panic!("not a decryption error: {other:?}"),
        },
        other => panic!("not a decode error: {other}"),
    }
}

/// Lowercase hexadecimal digits of `bytes`, as a dump writes a `bytea`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `pg_dump --data-only` of a test's database: its bytes, and its text in lowercase.
pub struct Dump {
    /// What `pg_dump` wrote.
    pub bytes: Vec<u8>,
    /// The same, as text in lowercase.
    pub text: String,
}

impl Dump {
    /// Dumps the data of the database at `url`.
    pub fn of(url: &str) -> Dump {
        let output = std::process::Command::new("pg_dump")
            .args(["--data-only", "--format=plain", url])
            .output()
            .expect("pg_dump runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Dump {
            text: String::from_utf8_lossy(&output.stdout).to_lowercase(),
            bytes: output.stdout,
        }
    }

    /// Asserts that neither `key` nor any 8-byte piece of it is in the dump, in hex or raw.
    pub fn assert_holds_no(&self, key: &SecretKey) {
        for piece in key.expose_secret().chunks(8) {
            assert!(!self.text.contains(&hex(piece)));
            assert!(!self.bytes.windows(8).any(|w| w == piece));
        }
    }
}

/// A `Db` on `url` that seals and opens with `keys`.
pub async fn keyed_db(url: &str, keys: &Arc<Keys>) -> schema_core::pg::Db {
    schema_core::pg::Db::connect(url)
        .await
        .unwrap()
        .with_keys(keys.clone())
}

/// `n` patients named `{label} {i}`, the even ones of `p1`, the odd ones of `p2`.
pub fn alternating(p1: Uuid, p2: Uuid, n: usize, label: &str) -> Vec<InsertPatient> {
    (0..n)
        .map(|i| patient(if i % 2 == 0 { p1 } else { p2 }, &format!("{label} {i}")))
        .collect()
}
