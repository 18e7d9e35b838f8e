//! Encrypted columns against plain ones, 100,000 patients loaded with `Db::insert_many` and
//! `Db::copy_in` and read with `Db::select_all`, each against the same table with those
//! columns in plaintext, in one run:
//!
//! - three encrypted columns: a patients table with three encrypted columns (name, date of birth,
//!   member id) against the same table unencrypted;
//! - the application's `billing.patients` (four encrypted columns, and the member id's blind
//!   index) against the same table unencrypted, with the index a team declares for the same
//!   lookup (`(provider_id, member_id)`);
//!
//! then, with no server, the client's cost per value of sealing and opening against the cipher
//! alone; then the re-encryption job's rows per second after every tenant's key is rotated.
//!
//!   cargo run --release --manifest-path benches/pg-throughput/Cargo.toml --bin encrypted
//!
//! Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), ROWS
//! (100000), RUNS (3). Target: every encrypted path at least 0.7× its plaintext rate. With
//! `--per-value`, only the measure with no server runs (no database is needed), for a profiler.
//!
//! For a profiler of one path, three more variables narrow the run (each a comma-separated
//! list, every item by default): `PATHS` (`insert_many`, `copy_in`, `select_all`), `SIDES`
//! (`encrypted`, `plaintext`) and `TABLES` (`three`, `patients`). When `PATHS` leaves out both
//! loads, each table read is loaded once by `copy_in` before the clock starts; when any of the
//! three is set, the measure with no server and the re-encryption are left out.

#[path = "../measure.rs"]
#[allow(dead_code)] // memory and the other binaries' helpers
mod measure;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, AesGcmSiv, Nonce};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::NaiveDate;
use schema_core::crypto::{
    reencrypt, Binding, Keys, MemoryKeyStore, Plaintext, Purpose, Reencryption, SecretKey,
    StaticKeyring,
};
use schema_core::pg::{Db, FromRow, InsertRow};
use schema_core::{Names, PgTable, Schema, Table};
use shared::schemas::db::{
    InsertPatient, InsertProvider, Patient, Provider, PHYSICIAN_ROLE, PROVIDER_SETTING,
};
use tokio_postgres::Client;
use uuid::Uuid;

use measure::{connect, cpu_seconds, env_number, load_average, median};

const TARGET: f64 = 0.7;

/// Rounds of the measure per value with no server.
const PER_VALUE_ROUNDS: usize = 5;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// `billing.patients` with the same columns in plaintext: the baseline of the application's
/// table. It has what the encrypted table has (the foreign key to its provider, row-level
/// security) and, in place of the member id's blind index, the index a team declares for the
/// same lookup.
#[derive(PgTable)]
#[pg(
    schema = "billing",
    table = "patients_plain",
    primary_key(provider_id, patient_id),
    row_level_security,
    index(provider_id, member_id)
)]
pub struct PlainPatient {
    #[pg(tenant = Provider, references = Provider::provider_id, on_delete = "restrict")]
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

/// Three encrypted columns: patients with three encrypted columns.
#[derive(PgTable)]
#[pg(
    schema = "billing",
    table = "patients_three",
    primary_key(provider_id, patient_id),
    row_level_security
)]
pub struct ThreePatient {
    #[pg(tenant = Provider, references = Provider::provider_id, on_delete = "restrict")]
    pub provider_id: Uuid,
    #[pg(default_fn = Uuid::new_v4)]
    pub patient_id: Uuid,
    #[pg(encrypted)]
    pub name: String,
    #[pg(encrypted)]
    pub date_of_birth: NaiveDate,
    #[pg(encrypted)]
    pub member_id: String,
    #[pg(default_sql = "now()")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// [`ThreePatient`] unencrypted.
#[derive(PgTable)]
#[pg(
    schema = "billing",
    table = "patients_three_plain",
    primary_key(provider_id, patient_id),
    row_level_security
)]
pub struct ThreePlainPatient {
    #[pg(tenant = Provider, references = Provider::provider_id, on_delete = "restrict")]
    pub provider_id: Uuid,
    #[pg(default_fn = Uuid::new_v4)]
    pub patient_id: Uuid,
    pub name: String,
    pub date_of_birth: NaiveDate,
    pub member_id: String,
    #[pg(default_sql = "now()")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let rows: usize = env_number("ROWS", 100_000);
    let runs: usize = env_number("RUNS", 3);
    if std::env::args().any(|a| a == "--per-value") {
        // The measure with no server alone, for a profiler (`valgrind --tool=callgrind`).
        let keys = Keys::new(
            StaticKeyring::new(SecretKey::generate()),
            Arc::new(MemoryKeyStore::default()),
        );
        let providers: Vec<Uuid> = (0..50).map(|_| Uuid::new_v4()).collect();
        return match per_value(&keys, rows, &providers) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("encrypted --per-value: {error}");
                ExitCode::FAILURE
            }
        };
    }
    measure::in_throwaway_database("encrypted", |url, names| async move {
        bench(&url, &names, rows, runs).await
    })
    .await
}

/// The values of patient `i`.
struct Person {
    provider: Uuid,
    name: String,
    born: NaiveDate,
    member: String,
    address: Option<String>,
}

fn person(i: usize, providers: &[Uuid]) -> Person {
    Person {
        provider: providers[i % providers.len()],
        name: format!("Patient {i} Lastname-{}", i % 977),
        born: NaiveDate::from_ymd_opt(
            1940 + (i % 70) as i32,
            1 + (i % 12) as u32,
            1 + (i % 28) as u32,
        )
        .expect("a valid date"),
        member: format!("MBR{:012}", i * 7919),
        address: (!i.is_multiple_of(10)).then(|| {
            format!(
                "{} Main Street, Springfield, IL 627{:02}",
                i % 9000,
                i % 100
            )
        }),
    }
}

/// The same people as rows of both tables of a comparison.
fn rows<E, P>(
    count: usize,
    providers: &[Uuid],
    encrypted: impl Fn(Person) -> E,
    plain: impl Fn(Person) -> P,
) -> (Vec<E>, Vec<P>) {
    (0..count)
        .map(|i| (encrypted(person(i, providers)), plain(person(i, providers))))
        .unzip()
}

/// A measured sample: rows per second, the client's CPU seconds (this process, every thread)
/// and the server's (the backend of the connection that did the work).
#[derive(Clone, Copy, Default)]
struct Sample {
    rate: f64,
    client: f64,
    server: f64,
}

/// The samples of one path of one comparison.
#[derive(Default)]
struct PathSamples {
    encrypted: Vec<Sample>,
    plain: Vec<Sample>,
}

const PATHS: [&str; 3] = ["insert_many", "copy_in", "select_all"];

/// What the environment leaves of a run: which paths, sides and tables are measured.
struct Selection {
    paths: Vec<&'static str>,
    encrypted: bool,
    plaintext: bool,
    three: bool,
    patients: bool,
    /// No variable set: every path, side and table, then the extra steps.
    everything: bool,
}

impl Selection {
    fn from_env() -> Result<Self, Error> {
        fn list(name: &str, known: &[&'static str]) -> Result<Option<Vec<&'static str>>, Error> {
            let Ok(value) = std::env::var(name) else {
                return Ok(None);
            };
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| {
                    known.iter().copied().find(|k| *k == item).ok_or_else(|| {
                        format!("{name}: unknown {item:?} (one of {known:?})").into()
                    })
                })
                .collect::<Result<Vec<_>, Error>>()
                .map(Some)
        }
        let paths = list("PATHS", &PATHS)?;
        let sides = list("SIDES", &["encrypted", "plaintext"])?;
        let tables = list("TABLES", &["three", "patients"])?;
        let everything = paths.is_none() && sides.is_none() && tables.is_none();
        let sides = sides.unwrap_or_else(|| vec!["encrypted", "plaintext"]);
        let tables = tables.unwrap_or_else(|| vec!["three", "patients"]);
        Ok(Selection {
            // In the order of `PATHS`, whatever the variable's order.
            paths: PATHS
                .into_iter()
                .filter(|p| paths.as_ref().is_none_or(|l| l.contains(p)))
                .collect(),
            encrypted: sides.contains(&"encrypted"),
            plaintext: sides.contains(&"plaintext"),
            three: tables.contains(&"three"),
            patients: tables.contains(&"patients"),
            everything,
        })
    }

    /// Whether a read finds the table loaded by a measured load.
    fn loads(&self) -> bool {
        self.paths.iter().any(|p| *p != "select_all")
    }
}

/// CPU seconds of server process `pid` so far (user + system), from `/proc` (the server runs
/// on this machine); 0 where it cannot be read.
fn server_cpu(pid: i32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat
                .get(stat.rfind(')')? + 2..)?
                .split_whitespace()
                .collect();
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

/// Times `work`, which handles `rows` rows, and the CPU both sides spent on it.
async fn timed<F: std::future::Future<Output = Result<usize, Error>>>(
    backend: i32,
    work: F,
) -> Result<Sample, Error> {
    let (client, server) = (cpu_seconds().unwrap_or(0.0), server_cpu(backend));
    let start = Instant::now();
    let count = work.await?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(Sample {
        rate: count as f64 / seconds,
        client: cpu_seconds().unwrap_or(0.0) - client,
        server: server_cpu(backend) - server,
    })
}

/// Loads and reads `encrypted` and `plain` rows, alternating which side goes first; adds a
/// sample per path and side to `samples`.
async fn compare<E, P>(
    db: &mut Db,
    control: &Client,
    backend: i32,
    (run, selection): (usize, &Selection),
    (encrypted, plain): (&[E], &[P]),
    samples: &mut [PathSamples; 3],
) -> Result<(), Error>
where
    E: InsertRow,
    P: InsertRow,
    <E::Table as Table>::Select: FromRow,
    <P::Table as Table>::Select: FromRow,
{
    let order = if run.is_multiple_of(2) {
        [true, false]
    } else {
        [false, true]
    };
    for sealed in order {
        if !(if sealed {
            selection.encrypted
        } else {
            selection.plaintext
        }) {
            continue;
        }
        if run == 0 && !selection.loads() {
            // Reads alone: the table is loaded once, untimed.
            let table = if sealed {
                <E::Table as Table>::TABLE
            } else {
                <P::Table as Table>::TABLE
            };
            control
                .batch_execute(&format!("TRUNCATE {}", table.quoted_name()))
                .await?;
            if sealed {
                db.copy_in(encrypted).await?;
            } else {
                db.copy_in(plain).await?;
            }
        }
        for (index, path) in PATHS.iter().enumerate() {
            if !selection.paths.contains(path) {
                continue;
            }
            let sample = if sealed {
                measure_path(db, control, backend, encrypted, path).await?
            } else {
                measure_path(db, control, backend, plain, path).await?
            };
            let side = &mut samples[index];
            if sealed {
                side.encrypted.push(sample);
            } else {
                side.plain.push(sample);
            }
        }
    }
    Ok(())
}

/// One sample of `path` on the table of `rows`: a load into the emptied table, or a read of
/// it (vacuumed first).
async fn measure_path<R>(
    db: &mut Db,
    control: &Client,
    backend: i32,
    rows: &[R],
    path: &str,
) -> Result<Sample, Error>
where
    R: InsertRow,
    <R::Table as Table>::Select: FromRow,
{
    let table = <R::Table as Table>::TABLE.quoted_name();
    if path == "select_all" {
        control
            .batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await?;
        return timed(backend, async {
            Ok(db.select_all::<R::Table>().await?.len())
        })
        .await;
    }
    control.batch_execute(&format!("TRUNCATE {table}")).await?;
    timed(backend, async {
        Ok(if path == "insert_many" {
            db.insert_many(rows).await?
        } else {
            db.copy_in(rows).await?
        } as usize)
    })
    .await
}

/// The median of one figure of the samples (NaN for a side left out of the run).
fn median_of(samples: &[Sample], figure: impl Fn(&Sample) -> f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    median(&samples.iter().map(figure).collect::<Vec<_>>())
}

/// The table of a comparison: rates, ratios and verdicts, then CPU seconds per side.
fn report(title: &str, samples: &[PathSamples; 3]) {
    if samples
        .iter()
        .all(|side| side.encrypted.is_empty() && side.plain.is_empty())
    {
        return;
    }
    println!("\n{title}\n");
    println!(
        "| path | encrypted rows/s | plaintext rows/s | ratio | target ≥ {TARGET} | client CPU s (enc / plain) | server CPU s (enc / plain) |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: |");
    let measured = || {
        PATHS
            .iter()
            .zip(samples)
            .filter(|(_, side)| !side.encrypted.is_empty() || !side.plain.is_empty())
    };
    for (path, side) in measured() {
        let (s, p) = (
            median_of(&side.encrypted, |x| x.rate),
            median_of(&side.plain, |x| x.rate),
        );
        let ratio = s / p;
        let verdict = if ratio >= TARGET { "ok" } else { "FAIL" };
        println!(
            "| Db::{path} | {s:.0} | {p:.0} | {ratio:.2} | {verdict} | {:.2} / {:.2} | {:.2} / {:.2} |",
            median_of(&side.encrypted, |x| x.client),
            median_of(&side.plain, |x| x.client),
            median_of(&side.encrypted, |x| x.server),
            median_of(&side.plain, |x| x.server),
        );
    }
    for (path, side) in measured() {
        let list = |samples: &[Sample]| {
            samples
                .iter()
                .map(|s| format!("{:.0}", s.rate))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "samples {path} rows/s: encrypted {}; plaintext {}",
            list(&side.encrypted),
            list(&side.plain)
        );
    }
}

async fn bench(url: &str, names: &Names, count: usize, runs: usize) -> Result<(), Error> {
    let selection = Selection::from_env()?;
    let control = connect(url).await?;
    let schema = Schema::new()
        .tenant_setting(PROVIDER_SETTING)
        .tenant_role(PHYSICIAN_ROLE)
        .table::<Provider>()
        .table::<Patient>()
        .table::<PlainPatient>()
        .table::<ThreePatient>()
        .table::<ThreePlainPatient>()
        .with_names(names.clone());
    control.batch_execute(&schema.to_ddl()?).await?;
    let keys = Arc::new(Keys::new(
        StaticKeyring::new(SecretKey::generate()),
        Arc::new(MemoryKeyStore::default()),
    ));
    let mut db = Db::connect(url).await?.with_keys(keys.clone());
    let backend: i32 = db
        .client()
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .get(0);
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
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!("encrypted: {count} patients, {runs} runs; PostgreSQL {version}");
    println!(
        "{count} patients, RUNS={runs}, PostgreSQL {version}, {cores} cores, load average at start {}",
        load_average()
    );

    let mut three: [PathSamples; 3] = Default::default();
    let mut application: [PathSamples; 3] = Default::default();
    for run in 0..runs {
        // Reads alone need the rows once, to load the tables.
        let count = if run == 0 || selection.loads() {
            count
        } else {
            0
        };
        if selection.three {
            let pair = rows(
                count,
                &provider_ids,
                |p| InsertThreePatient::new(p.provider, p.name, p.born, p.member),
                |p| InsertThreePlainPatient::new(p.provider, p.name, p.born, p.member),
            );
            compare(
                &mut db,
                &control,
                backend,
                (run, &selection),
                (&pair.0, &pair.1),
                &mut three,
            )
            .await?;
        }
        if selection.patients {
            let pair = rows(
                count,
                &provider_ids,
                |p| {
                    let mut row = InsertPatient::new(p.provider, p.name, p.born, p.member);
                    row.address = p.address;
                    row
                },
                |p| {
                    let mut row = InsertPlainPatient::new(p.provider, p.name, p.born, p.member);
                    row.address = p.address;
                    row
                },
            );
            compare(
                &mut db,
                &control,
                backend,
                (run, &selection),
                (&pair.0, &pair.1),
                &mut application,
            )
            .await?;
        }
    }
    report(
        "Three encrypted columns (name, date of birth, member id), against the same table unencrypted:",
        &three,
    );
    report(
        "billing.patients: four encrypted columns and the member id's 12-bit blind index, against the same table unencrypted with an index on (provider_id, member_id):",
        &application,
    );

    if !selection.everything {
        println!("load average at end {}", load_average());
        return Ok(());
    }
    per_value(&keys, count, &provider_ids)?;

    // Every tenant's key rotated, then every row of billing.patients sealed again.
    for provider in &provider_ids {
        keys.rotate_data_key(provider.as_bytes(), Purpose::Fields)?;
    }
    let start = Instant::now();
    let done = reencrypt(
        &db,
        <Patient as Table>::TABLE,
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
    println!("load average at end {}", load_average());
    Ok(())
}

/// With no server: nanoseconds per value of `Keys::seal` and `Keys::open` (the key cache, the
/// envelope, the authenticated data, the allocations and the cipher) against AES-256-GCM-SIV
/// alone (one cipher made beforehand, the same plaintexts and authenticated data of the same
/// length), for the three encrypted columns of `count` patients, on one thread.
fn per_value(keys: &Keys, count: usize, providers: &[Uuid]) -> Result<(), Error> {
    // Each patient's tenant, row key and three plaintexts, encoded.
    type Values = (Vec<u8>, Vec<u8>, [Vec<u8>; 3]);
    let people: Vec<Values> = (0..count)
        .map(|i| {
            let p = person(i, providers);
            let tenant = p.provider.as_bytes().to_vec();
            let mut row_key = Vec::new();
            for part in [p.provider, Uuid::new_v4()] {
                row_key.extend_from_slice(&16u32.to_be_bytes());
                row_key.extend_from_slice(part.as_bytes());
            }
            let mut born = Vec::new();
            p.born.encode(&mut born);
            (
                tenant,
                row_key,
                [p.name.into_bytes(), born, p.member.into_bytes()],
            )
        })
        .collect();
    let columns = ["name", "date_of_birth", "member_id"];
    let binding = |tenant, row_key, column| Binding {
        schema: "billing",
        table: "patients_three",
        column,
        tenant,
        row_key,
    };
    let values = (count * columns.len()) as f64;
    let gcm_siv = Aes256GcmSiv::new(&[7u8; 32].into());
    let nonce = Nonce::from([1u8; 12]);
    // The same algorithm over AES's encryption half alone (GCM-SIV never decrypts a block).
    let gcm_siv_enc = AesGcmSiv::<aes::Aes256Enc>::new(&[7u8; 32].into());
    let xchacha = XChaCha20Poly1305::new(&[7u8; 32].into());
    let xnonce = XNonce::from([1u8; 24]);
    // The authenticated data of a value of this table: label, header, schema, table, column,
    // tenant and row key, length-prefixed.
    let aad = vec![0u8; 18 + 4 * 6 + 9 + 7 + 14 + 13 + 16 + 40];
    // Nanoseconds per value of each step, a sample per round; the steps take turns.
    let mut samples: [Vec<f64>; 9] = Default::default();
    for _ in 0..PER_VALUE_ROUNDS {
        let start = Instant::now();
        let mut sealed = Vec::with_capacity(count * columns.len());
        for (tenant, row_key, plain) in &people {
            for (column, value) in columns.iter().zip(plain) {
                sealed.push(keys.seal(&binding(tenant, row_key, column), value)?);
            }
        }
        samples[0].push(start.elapsed().as_nanos() as f64 / values);
        let start = Instant::now();
        let mut opened = 0;
        let mut stored = sealed.iter();
        for (tenant, row_key, _) in &people {
            for column in columns {
                let next = stored.next().ok_or("fewer envelopes than values")?;
                opened += keys.open(&binding(tenant, row_key, column), next)?.len();
            }
        }
        samples[1].push(start.elapsed().as_nanos() as f64 / values);
        let plains = people.iter().flat_map(|(_, _, plain)| plain);
        let (encrypt, decrypt, decrypted) = cipher_alone(&gcm_siv, &nonce, plains.clone(), &aad)?;
        samples[2].push(encrypt / values);
        samples[3].push(decrypt / values);
        let (encrypt, decrypt, x_decrypted) =
            cipher_alone(&xchacha, &xnonce, plains.clone(), &aad)?;
        samples[5].push(encrypt / values);
        samples[6].push(decrypt / values);
        let (encrypt, decrypt, e_decrypted) =
            cipher_alone(&gcm_siv_enc, &nonce, plains.clone(), &aad)?;
        samples[7].push(encrypt / values);
        samples[8].push(decrypt / values);
        if decrypted != x_decrypted || decrypted != e_decrypted {
            return Err("the two ciphers opened different lengths".into());
        }
        if opened != decrypted {
            return Err("the two paths opened different lengths".into());
        }
        let start = Instant::now();
        let mut indexed = 0;
        for (tenant, _, [_, _, member]) in &people {
            indexed += keys
                .blind_index("patients_three", "member_id", tenant, member, 12)?
                .len();
        }
        samples[4].push(start.elapsed().as_nanos() as f64 / count as f64);
        if indexed != 2 * count {
            return Err("a 12-bit blind index is not 2 bytes".into());
        }
    }
    let [seal_ns, open_ns, encrypt_ns, decrypt_ns, blind_ns, x_encrypt_ns, x_decrypt_ns, e_encrypt_ns, e_decrypt_ns] =
        samples.map(|s| median(&s));
    println!(
        "\nclient side per value, no server ({count} patients × 3 columns, one thread, median of {PER_VALUE_ROUNDS}):\n"
    );
    println!("| step | ns per value | AES-256-GCM-SIV alone (`Aes256`) | AES-256-GCM-SIV alone (`Aes256Enc`) | XChaCha20-Poly1305 alone |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    println!(
        "| Keys::seal | {seal_ns:.0} | {encrypt_ns:.0} | {e_encrypt_ns:.0} | {x_encrypt_ns:.0} |"
    );
    println!(
        "| Keys::open | {open_ns:.0} | {decrypt_ns:.0} | {e_decrypt_ns:.0} | {x_decrypt_ns:.0} |"
    );
    println!("| Keys::blind_index (member id, 12 bits) | {blind_ns:.0} | | |");
    Ok(())
}

/// With one cipher made beforehand: nanoseconds to encrypt every plaintext (the same nonce and
/// authenticated data for each: the cipher's cost alone), to decrypt them all, and the total
/// length decrypted.
fn cipher_alone<'a, C: Aead>(
    cipher: &C,
    nonce: &aes_gcm_siv::aead::Nonce<C>,
    plains: impl Iterator<Item = &'a Vec<u8>>,
    aad: &[u8],
) -> Result<(f64, f64, usize), Error> {
    let start = Instant::now();
    let ciphertexts = plains
        .map(|msg| cipher.encrypt(nonce, Payload { msg, aad }))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "sealing failed")?;
    let encrypt = start.elapsed().as_nanos() as f64;
    let start = Instant::now();
    let mut decrypted = 0;
    for msg in &ciphertexts {
        decrypted += cipher
            .decrypt(nonce, Payload { msg, aad })
            .map_err(|_| "opening failed")?
            .len();
    }
    Ok((encrypt, start.elapsed().as_nanos() as f64, decrypted))
}
