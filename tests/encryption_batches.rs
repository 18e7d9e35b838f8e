//! Batches of encrypted rows larger than one part (`insert_many` and `copy_in` seal and send
//! 1,000 rows at a time, the server working on one part while the next is sealed): every row
//! opens, bound to its own key, across the parts' edges; and a row that cannot be sealed in a
//! later part, after earlier parts were sent, leaves nothing written and the connection usable.

mod common;

use std::sync::Arc;

use chrono::NaiveDate;
use common::TestDb;
use schema_core::crypto::{
    CryptoError, CryptoProblem, Keys, MasterKeys, MemoryKeyStore, SecretKey, StaticKeyring, KEY_LEN,
};
use schema_core::pg::{Db, PgError};
use schema_core::Schema;
use shared::schemas::db::{InsertPatient, Patient, Provider, PHYSICIAN_ROLE, PROVIDER_SETTING};
use uuid::Uuid;

const MASTER: [u8; KEY_LEN] = [0x3C; KEY_LEN];

/// Rows of the first provider, then of the second: five parts, the second provider's first row
/// in the last, after `insert_many` has sent the first statements (four are in flight at once).
const FIRST: usize = 4_500;
const SECOND: usize = 500;

fn run<F: std::future::Future<Output = ()>>(future: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future);
}

/// A database with `providers` and `billing.patients`, and two providers.
fn setup() -> (TestDb, Uuid, Uuid) {
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
                &[&format!("200000000{n}"), &format!("b{n}@example.org")],
            )
            .unwrap();
        providers.push(row.get::<_, Uuid>(0));
    }
    (db, providers[0], providers[1])
}

fn patients(p1: Uuid, p2: Uuid) -> Vec<InsertPatient> {
    (0..FIRST + SECOND)
        .map(|i| {
            let provider = if i < FIRST { p1 } else { p2 };
            let mut row = InsertPatient::new(
                provider,
                format!("Patient {i}"),
                NaiveDate::from_ymd_opt(1950 + (i % 50) as i32, 1, 1).unwrap(),
                format!("M{i:06}"),
            );
            row.address = (i % 3 != 0).then(|| format!("{i} Main Street"));
            row
        })
        .collect()
}

/// Master keys that refuse to wrap a new data key for one tenant: its first row cannot be
/// sealed (a KMS that fails).
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
fn batches_of_several_parts_seal_every_row_for_its_own_key() {
    let (test, p1, p2) = setup();
    let rows = patients(p1, p2);
    run(async {
        let keys = Arc::new(Keys::new(
            StaticKeyring::new(SecretKey::from_bytes(MASTER)),
            Arc::new(MemoryKeyStore::default()),
        ));
        let mut db = Db::connect(test.url()).await.unwrap().with_keys(keys);
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
            read.sort_by_key(|p| p.member_id.clone());
            assert_eq!(read.len(), rows.len());
            for (row, opened) in rows.iter().zip(&read) {
                assert_eq!(
                    (
                        opened.provider_id,
                        opened.patient_id,
                        &opened.name,
                        opened.date_of_birth,
                        &opened.member_id,
                        &opened.address
                    ),
                    (
                        row.provider_id,
                        row.patient_id,
                        &row.name,
                        row.date_of_birth,
                        &row.member_id,
                        &row.address
                    ),
                    "copy_in: {copy}"
                );
            }
        }
    });
}

#[test]
fn a_row_that_cannot_be_sealed_in_a_later_part_leaves_nothing_written() {
    let (test, p1, p2) = setup();
    let rows = patients(p1, p2);
    run(async {
        let keys = Arc::new(Keys::new(
            RefusingTenant {
                keys: StaticKeyring::new(SecretKey::from_bytes(MASTER)),
                refused: p2,
            },
            Arc::new(MemoryKeyStore::default()),
        ));
        let mut db = Db::connect(test.url()).await.unwrap().with_keys(keys);
        for copy in [false, true] {
            let error = if copy {
                db.copy_in(&rows).await.unwrap_err()
            } else {
                db.insert_many(&rows).await.unwrap_err()
            };
            let PgError::Crypto(CryptoError {
                table,
                column,
                problem: CryptoProblem::Provider(_),
            }) = &error
            else {
                panic!("copy_in {copy}: expected the provider's failure, got {error:?}");
            };
            assert_eq!((*table, *column), ("patients", "name"));
            let count: i64 = db
                .client()
                .query_one("SELECT count(*) FROM billing.patients", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(count, 0, "copy_in {copy}: nothing written");
            // The connection serves the next batch.
            assert_eq!(db.copy_in(&rows[..FIRST]).await.unwrap(), FIRST as u64);
            db.client()
                .batch_execute("TRUNCATE billing.patients")
                .await
                .unwrap();
        }
    });
}
