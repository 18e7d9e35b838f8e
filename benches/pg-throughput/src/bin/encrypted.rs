//! Encrypted columns against plain ones: 100,000 `billing.patients` rows (four columns sealed:
//! name, date of birth, member id, address) loaded with `Db::insert_many` and `Db::copy_in` and
//! read with `Db::select_all`, each against the same table with those columns in plaintext, in
//! one run; then the re-encryption job's rows per second after every tenant's key is rotated.
//!
//!   cargo run --release --manifest-path benches/pg-throughput/Cargo.toml --bin encrypted
//!
//! Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), ROWS
//! (100000), RUNS (3). Target: every encrypted path at least 0.7× its plaintext rate.

#[path = "../measure.rs"]
#[allow(dead_code)] // CPU time, memory and the load are the other binaries'
mod measure;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use schema_core::crypto::{
    reencrypt, Keys, MemoryKeyStore, Purpose, Reencryption, SecretKey, StaticKeyring,
};
use schema_core::pg::Db;
use schema_core::{Names, PgTable, Schema};
use shared::schemas::db::{
    InsertPatient, InsertProvider, Patient, Provider, PHYSICIAN_ROLE, PROVIDER_SETTING,
};
use uuid::Uuid;

use measure::{connect, env_number, median};

const TARGET: f64 = 0.7;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// `billing.patients` with the same columns in plaintext: the baseline.
#[derive(PgTable)]
#[pg(
    schema = "billing",
    table = "patients_plain",
    primary_key(provider_id, patient_id)
)]
pub struct PlainPatient {
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    #[pg(default_fn = Uuid::new_v4)]
    pub patient_id: Uuid,
    pub name: String,
    pub date_of_birth: NaiveDate,
    pub member_id: String,
    pub address: Option<String>,
    #[pg(default_sql = "now()")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let rows: usize = env_number("ROWS", 100_000);
    let runs: usize = env_number("RUNS", 3);
    measure::in_throwaway_database("encrypted", |url, names| async move {
        bench(&url, &names, rows, runs).await
    })
    .await
}

fn patients(rows: usize, providers: &[Uuid]) -> (Vec<InsertPatient>, Vec<InsertPlainPatient>) {
    let mut sealed = Vec::with_capacity(rows);
    let mut plain = Vec::with_capacity(rows);
    for i in 0..rows {
        let provider = providers[i % providers.len()];
        let name = format!("Patient {i} Lastname-{}", i % 977);
        let born = NaiveDate::from_ymd_opt(
            1940 + (i % 70) as i32,
            1 + (i % 12) as u32,
            1 + (i % 28) as u32,
        )
        .expect("a valid date");
        let member = format!("MBR{:012}", i * 7919);
        let address = (i % 10 != 0).then(|| {
            format!(
                "{} Main Street, Springfield, IL 627{:02}",
                i % 9000,
                i % 100
            )
        });
        let mut row = InsertPatient::new(provider, name.clone(), born, member.clone());
        row.address = address.clone();
        sealed.push(row);
        let mut row = InsertPlainPatient::new(provider, name, born, member);
        row.address = address;
        plain.push(row);
    }
    (sealed, plain)
}

async fn bench(url: &str, names: &Names, rows: usize, runs: usize) -> Result<(), Error> {
    let control = connect(url).await?;
    let schema = Schema::new()
        .tenant_setting(PROVIDER_SETTING)
        .tenant_role(PHYSICIAN_ROLE)
        .table::<Provider>()
        .table::<Patient>()
        .table::<PlainPatient>()
        .with_names(names.clone());
    control.batch_execute(&schema.to_ddl()?).await?;
    let keys = Arc::new(Keys::new(
        StaticKeyring::new(SecretKey::generate()),
        Arc::new(MemoryKeyStore::default()),
    ));
    let mut db = Db::connect(url).await?.with_keys(keys.clone());
    let providers: Vec<InsertProvider> = (0..50)
        .map(|i| {
            InsertProvider::new(
                format!("{:010}", 1_234_500_000 + i),
                format!("First{i}"),
                format!("Last{i}"),
                format!("dr{i}@clinic.example.com"),
            )
        })
        .collect();
    db.insert_many(&providers).await?;
    let provider_ids: Vec<Uuid> = control
        .query("SELECT provider_id FROM providers", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let version: String = control.query_one("SHOW server_version", &[]).await?.get(0);
    eprintln!("encrypted: {rows} patients, {runs} runs; PostgreSQL {version}");

    // (path, encrypted rates, plain rates), rows per second.
    let mut results: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("insert_many", vec![], vec![]),
        ("copy_in", vec![], vec![]),
        ("select_all", vec![], vec![]),
    ];
    for run in 0..runs {
        let (sealed, plain) = patients(rows, &provider_ids);
        // Alternate which side goes first.
        for encrypted in if run % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        } {
            let table = if encrypted {
                "billing.patients"
            } else {
                "billing.patients_plain"
            };
            for (path, index) in [("insert_many", 0), ("copy_in", 1)] {
                control.batch_execute(&format!("TRUNCATE {table}")).await?;
                let start = Instant::now();
                let count = match (encrypted, path) {
                    (true, "insert_many") => db.insert_many(&sealed).await?,
                    (true, _) => db.copy_in(&sealed).await?,
                    (false, "insert_many") => db.insert_many(&plain).await?,
                    (false, _) => db.copy_in(&plain).await?,
                };
                let rate = count as f64 / start.elapsed().as_secs_f64();
                let side = if encrypted {
                    &mut results[index].1
                } else {
                    &mut results[index].2
                };
                side.push(rate);
            }
            control
                .batch_execute(&format!("VACUUM ANALYZE {table}"))
                .await?;
            let start = Instant::now();
            let count = if encrypted {
                db.select_all::<Patient>().await?.len()
            } else {
                db.select_all::<PlainPatient>().await?.len()
            };
            let rate = count as f64 / start.elapsed().as_secs_f64();
            if encrypted {
                results[2].1.push(rate);
            } else {
                results[2].2.push(rate);
            }
        }
    }
    println!("| path | encrypted rows/s | plaintext rows/s | ratio | target ≥ {TARGET} |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for (path, sealed, plain) in &results {
        let (s, p) = (median(sealed), median(plain));
        let ratio = s / p;
        let verdict = if ratio >= TARGET { "ok" } else { "FAIL" };
        println!("| Db::{path} | {s:.0} | {p:.0} | {ratio:.2} | {verdict} |");
    }

    // Every tenant's key rotated, then every row sealed again.
    for provider in &provider_ids {
        keys.rotate_data_key(provider.as_bytes(), Purpose::Fields)?;
    }
    let start = Instant::now();
    let done = reencrypt(
        &db,
        <Patient as schema_core::Table>::TABLE,
        &keys,
        Reencryption {
            batch_size: 1_000,
            max_batches: None,
        },
        |_| {},
    )
    .await?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "\nre-encryption: {} rows sealed again in {seconds:.1} s: {:.0} rows/s ({} rows read over both passes)",
        done.resealed,
        done.resealed as f64 / seconds,
        done.rows
    );
    Ok(())
}
