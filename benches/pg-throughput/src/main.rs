//! PostgreSQL throughput of schema-core's typed reads and writes, against hand-written
//! tokio-postgres (the limit) and sqlx (what users pick), on 100,000 realistic
//! `support_tickets` rows, all against the same server in one run. See README.md.
//!
//! The program creates a throwaway database `bench_<random>` on the server of `DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), works only there, and drops it at
//! the end, also on error, panic or Ctrl-C. A missed target is reported, not an error: the exit
//! code is non-zero only when the benchmark could not run.

mod data;
#[allow(dead_code)] // in_throwaway_database is the other binaries'
mod measure;
mod paths;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use schema_core::pg::Db;
use schema_core::{Names, PgEnum};
use shared::schemas::db::{schema, InsertProvider, InsertSupportTicket};
use sqlx::{Connection, PgConnection};
use tokio_postgres::Client;

use measure::{
    connect, cpu_seconds, env_number, load_average, median, rss_kib, with_dbname, Run,
    DEFAULT_DATABASE_URL,
};
use paths::{Error, HandStatements};

#[tokio::main]
async fn main() -> ExitCode {
    let server_url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string());
    let runs = env_number("RUNS", 5);
    let read_runs = env_number("READ_RUNS", 2 * runs + 1);
    let rows = env_number("ROWS", 100_000);

    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    match connect(&server_url).await {
        Ok(admin) => {
            if let Err(error) = admin
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
            {
                eprintln!("pg-throughput: cannot create database {name}: {error}");
                return ExitCode::FAILURE;
            }
        }
        Err(error) => {
            eprintln!(
                "pg-throughput: cannot connect to {server_url}: {error}\n\
                 set DATABASE_URL to a server where this user may CREATE DATABASE"
            );
            return ExitCode::FAILURE;
        }
    }
    eprintln!("pg-throughput: created database {name}");
    let url = with_dbname(&server_url, &name);

    let run = Run::new(name.clone());
    let names = run.names();

    let mut task = tokio::spawn(async move { bench(&url, &names, runs, read_runs, rows).await });
    let outcome = tokio::select! {
        joined = &mut task => match joined {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("error: {error}")),
            Err(join) => Err(format!("the benchmark panicked: {join}")),
        },
        _ = tokio::signal::ctrl_c() => {
            task.abort();
            let _ = task.await;
            Err("interrupted".to_string())
        }
    };

    // A fresh connection, in case the first one died with the run.
    let dropped = match connect(&server_url).await {
        Ok(admin) => run.drop(&admin).await.map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match &dropped {
        Ok(()) => eprintln!("pg-throughput: dropped database {name}"),
        Err(error) => eprintln!(
            "pg-throughput: could not drop database {name} ({error}); drop it by hand: \
             DROP DATABASE \"{name}\" WITH (FORCE)"
        ),
    }
    match outcome {
        Ok(()) if dropped.is_ok() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("pg-throughput: {message}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    CrateInsertMany,
    CrateCopyIn,
    CrateSelectAll,
    HandSingle,
    HandMulti,
    HandCopy,
    HandSelect,
    SqlxPushValues,
    SqlxSelect,
    CrateSqlxInsertMany,
    CrateSqlxSelect,
}

const LOADS: [Path; 7] = [
    Path::CrateInsertMany,
    Path::CrateCopyIn,
    Path::HandSingle,
    Path::HandMulti,
    Path::HandCopy,
    Path::SqlxPushValues,
    Path::CrateSqlxInsertMany,
];
const READS: [Path; 4] = [
    Path::CrateSelectAll,
    Path::HandSelect,
    Path::SqlxSelect,
    Path::CrateSqlxSelect,
];
const ALL: [Path; 11] = [
    Path::CrateInsertMany,
    Path::CrateCopyIn,
    Path::CrateSelectAll,
    Path::HandSingle,
    Path::HandMulti,
    Path::HandCopy,
    Path::HandSelect,
    Path::SqlxPushValues,
    Path::SqlxSelect,
    Path::CrateSqlxInsertMany,
    Path::CrateSqlxSelect,
];

impl Path {
    fn label(self) -> &'static str {
        match self {
            Path::CrateInsertMany => "schema-core `Db::insert_many` (1,000-row INSERTs)",
            Path::CrateCopyIn => "schema-core `Db::copy_in` (binary COPY)",
            Path::CrateSelectAll => "schema-core `Db::select_all` → SelectSupportTicket",
            Path::HandSingle => "tokio-postgres prepared single-row INSERT, 1 tx",
            Path::HandMulti => "tokio-postgres prepared 1,000-row INSERT",
            Path::HandCopy => "tokio-postgres `BinaryCopyInWriter`",
            Path::HandSelect => "tokio-postgres `Row::get` → SelectSupportTicket",
            Path::SqlxPushValues => "sqlx `QueryBuilder::push_values` (1,000 rows)",
            Path::SqlxSelect => "sqlx `#[derive(FromRow)]` `fetch_all`",
            Path::CrateSqlxInsertMany => "schema-core over sqlx `insert_many` (1,000-row INSERTs)",
            Path::CrateSqlxSelect => "schema-core over sqlx `query_as` → SelectSupportTicket",
        }
    }

    /// The hand-written path this one is held to.
    fn hand_equivalent(self) -> Option<Path> {
        match self {
            Path::CrateInsertMany => Some(Path::HandMulti),
            Path::CrateCopyIn => Some(Path::HandCopy),
            Path::CrateSelectAll | Path::CrateSqlxSelect => Some(Path::HandSelect),
            Path::CrateSqlxInsertMany => Some(Path::HandMulti),
            _ => None,
        }
    }

    /// sqlx's path for the same job.
    fn sqlx_equivalent(self) -> Option<Path> {
        match self {
            Path::SqlxPushValues | Path::SqlxSelect => None,
            p if READS.contains(&p) => Some(Path::SqlxSelect),
            _ => Some(Path::SqlxPushValues),
        }
    }
}

struct Connections {
    /// TRUNCATE, CHECKPOINT, counts: never a measured connection.
    control: Client,
    db: Db,
    hand: Client,
    hand_statements: HandStatements,
    sqlx: PgConnection,
    /// schema-core's sqlx paths: a session of their own, as every other library's.
    crate_sqlx: PgConnection,
}

impl Connections {
    async fn load(&mut self, path: Path, rows: &[InsertSupportTicket]) -> Result<u64, Error> {
        match path {
            Path::CrateInsertMany => paths::crate_insert_many(&mut self.db, rows).await,
            Path::CrateCopyIn => paths::crate_copy_in(&mut self.db, rows).await,
            Path::HandSingle => {
                paths::hand_single(&mut self.hand, &self.hand_statements, rows).await
            }
            Path::HandMulti => paths::hand_multi(&mut self.hand, &self.hand_statements, rows).await,
            Path::HandCopy => paths::hand_copy(&mut self.hand, rows).await,
            Path::SqlxPushValues => paths::sqlx_push_values(&mut self.sqlx, rows).await,
            Path::CrateSqlxInsertMany => {
                paths::crate_sqlx_insert_many(&mut self.crate_sqlx, rows).await
            }
            _ => unreachable!("{path:?} is not a load"),
        }
    }

    /// Reads every row; returns the time and how many, dropping the rows after the clock
    /// stops.
    async fn read(&mut self, path: Path) -> Result<(Duration, usize), Error> {
        macro_rules! timed {
            ($read:expr) => {{
                let start = Instant::now();
                let rows = $read.await?;
                let out = (start.elapsed(), rows.len());
                drop(rows);
                Ok(out)
            }};
        }
        match path {
            Path::CrateSelectAll => timed!(paths::crate_select_all(&self.db)),
            Path::HandSelect => timed!(paths::hand_select(&self.hand, &self.hand_statements)),
            Path::SqlxSelect => timed!(paths::sqlx_select(&mut self.sqlx)),
            Path::CrateSqlxSelect => timed!(paths::crate_sqlx_select(&mut self.crate_sqlx)),
            _ => unreachable!("{path:?} is not a read"),
        }
    }

    /// An empty table, with the previous load's pages written out, so that no checkpoint of
    /// an earlier load lands in the next one's time.
    async fn reset(&self) -> Result<(), Error> {
        self.control
            .batch_execute("TRUNCATE support_tickets")
            .await?;
        // Needs superuser (or pg_checkpoint); without it the medians absorb the noise.
        let _ = self.control.batch_execute("CHECKPOINT").await;
        Ok(())
    }

    async fn count(&self) -> Result<i64, Error> {
        Ok(self
            .control
            .query_one("SELECT count(*) FROM support_tickets", &[])
            .await?
            .get(0))
    }
}

async fn bench(
    url: &str,
    names: &Names,
    runs: usize,
    read_runs: usize,
    row_count: usize,
) -> Result<(), Error> {
    let load_before = load_average();
    let control = connect(url).await?;
    control
        .batch_execute(&schema().with_names(names.clone()).to_ddl()?)
        .await?;
    // No autovacuum run in the middle of a measurement; the read phase vacuums by hand.
    control
        .batch_execute("ALTER TABLE support_tickets SET (autovacuum_enabled = off)")
        .await?;
    let server_version: String = control.query_one("SHOW server_version", &[]).await?.get(0);

    // 50 providers for the tickets to reference.
    let mut db = Db::connect(url).await?;
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
    let provider_ids: Vec<uuid::Uuid> = control
        .query("SELECT provider_id FROM providers ORDER BY npi", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();

    let rows = data::tickets(row_count, &provider_ids);
    eprintln!("{}", data::profile(&rows));

    let hand = connect(url).await?;
    let hand_statements = HandStatements::prepare(&hand).await?;
    let sqlx = PgConnection::connect(url).await?;
    let crate_sqlx = PgConnection::connect(url).await?;
    let mut c = Connections {
        control,
        db,
        hand,
        hand_statements,
        sqlx,
        crate_sqlx,
    };

    // Warm-up: every path once on 1,000 rows, so that each has prepared its statements.
    let warm = &rows[..rows.len().min(paths::BATCH)];
    for path in LOADS {
        c.reset().await?;
        c.load(path, warm).await?;
    }

    let mut samples: Vec<(Path, Vec<f64>)> = ALL.iter().map(|&p| (p, Vec::new())).collect();
    // Per path: the most its run raised the resident set above where it started.
    let mut peaks: Vec<(Path, Option<u64>)> = ALL.iter().map(|&p| (p, None)).collect();
    let mut record_peak = |path: Path, baseline: Option<u64>| {
        if let (Some(peak), Some(baseline)) = (rss_kib("VmHWM:"), baseline) {
            let grew = peak.saturating_sub(baseline);
            let slot = &mut peaks.iter_mut().find(|(p, _)| *p == path).unwrap().1;
            *slot = Some(slot.map_or(grew, |old| old.max(grew)));
        }
    };
    // Per path: the benchmark process's CPU time (all threads, user + system) in each run.
    let mut cpu: Vec<(Path, Vec<f64>)> = ALL.iter().map(|&p| (p, Vec::new())).collect();
    let mut record = |path: Path, seconds: f64, cpu_seconds: Option<f64>| {
        samples
            .iter_mut()
            .find(|(p, _)| *p == path)
            .unwrap()
            .1
            .push(seconds);
        if let Some(used) = cpu_seconds {
            cpu.iter_mut()
                .find(|(p, _)| *p == path)
                .unwrap()
                .1
                .push(used);
        }
    };

    // Loads: a fresh table for every load; the order rotates from run to run.
    for run in 0..runs {
        let mut order = LOADS;
        order.rotate_left(run % LOADS.len());
        for path in order {
            c.reset().await?;
            let baseline = rss_baseline();
            let cpu_before = cpu_seconds();
            let start = Instant::now();
            let loaded = c.load(path, &rows).await?;
            let seconds = start.elapsed().as_secs_f64();
            let cpu_used = cpu_seconds()
                .zip(cpu_before)
                .map(|(after, before)| after - before);
            record_peak(path, baseline);
            let counted = c.count().await?;
            if loaded != rows.len() as u64 || counted != rows.len() as i64 {
                return Err(format!(
                    "{path:?} loaded {loaded} rows, the table has {counted}, expected {}",
                    rows.len()
                )
                .into());
            }
            eprintln!(
                "run {}/{runs}: {:<55} {seconds:8.3} s",
                run + 1,
                path.label()
            );
            record(path, seconds, cpu_used);
        }
    }

    // Reads: one load, then every reader several times, the order rotating.
    c.reset().await?;
    c.load(Path::HandCopy, &rows).await?;
    c.control
        .batch_execute("VACUUM ANALYZE support_tickets")
        .await?;
    // Warm-up, and a check that the four readers read the same rows, and the rows written.
    // (Sorted first: a sequential scan of a large table may start mid-table, where another
    // scan is.)
    let mut by_crate = paths::crate_select_all(&c.db).await?;
    let mut by_hand = paths::hand_select(&c.hand, &c.hand_statements).await?;
    let mut by_sqlx: Vec<_> = paths::sqlx_select(&mut c.sqlx)
        .await?
        .into_iter()
        .map(paths::sqlx_to_select)
        .collect();
    let mut by_crate_sqlx = paths::crate_sqlx_select(&mut c.crate_sqlx).await?;
    for read in [
        &mut by_crate,
        &mut by_hand,
        &mut by_sqlx,
        &mut by_crate_sqlx,
    ] {
        read.sort_by_key(|t| t.ticket_id);
    }
    if by_crate.len() != rows.len()
        || by_crate != by_hand
        || by_crate != by_sqlx
        || by_crate != by_crate_sqlx
    {
        return Err("the read paths disagree about the rows".into());
    }
    let written = |t: &InsertSupportTicket| {
        (
            t.provider_id,
            t.subject.clone(),
            t.description.clone(),
            t.context_url.clone(),
            t.context_metadata.as_ref().map(|v| v.to_string()),
            t.category.map(|c| c.as_str()),
            t.priority.map(|p| p.as_str()),
            t.status.map(|s| s.as_str()),
            (
                t.assigned_to.clone(),
                t.resolution_notes.clone(),
                t.resolved_at,
            ),
            (
                t.satisfaction_rating,
                t.satisfaction_comment.clone(),
                t.screenshot_path.clone(),
            ),
        )
    };
    let mut expected: Vec<_> = rows.iter().map(written).collect();
    let mut got: Vec<_> = by_crate
        .iter()
        .map(|t| {
            written(&InsertSupportTicket {
                context_url: t.context_url.clone(),
                context_metadata: t.context_metadata.clone(),
                category: t.category,
                priority: Some(t.priority),
                status: Some(t.status),
                assigned_to: t.assigned_to.clone(),
                resolution_notes: t.resolution_notes.clone(),
                resolved_at: t.resolved_at,
                satisfaction_rating: t.satisfaction_rating,
                satisfaction_comment: t.satisfaction_comment.clone(),
                screenshot_path: t.screenshot_path.clone(),
                ..InsertSupportTicket::new(t.provider_id, t.subject.clone(), t.description.clone())
            })
        })
        .collect();
    expected.sort();
    got.sort();
    if expected != got {
        return Err("the rows read back differ from the rows written".into());
    }
    drop((expected, got));
    drop((by_crate, by_hand, by_sqlx, by_crate_sqlx));
    for run in 0..read_runs {
        let mut order = READS;
        order.rotate_left(run % READS.len());
        for path in order {
            let baseline = rss_baseline();
            let cpu_before = cpu_seconds();
            let (elapsed, n) = c.read(path).await?;
            let cpu_used = cpu_seconds()
                .zip(cpu_before)
                .map(|(after, before)| after - before);
            record_peak(path, baseline);
            if n != rows.len() {
                return Err(format!("{path:?} read {n} rows, expected {}", rows.len()).into());
            }
            let seconds = elapsed.as_secs_f64();
            eprintln!(
                "read {}/{read_runs}: {:<55} {seconds:8.3} s",
                run + 1,
                path.label()
            );
            record(path, seconds, cpu_used);
        }
    }

    let load_after = load_average();
    let info = RunInfo {
        rows: row_count,
        runs,
        read_runs,
        server_version,
        load: format!("{load_before} at the start, {load_after} at the end"),
    };
    report(&samples, &cpu, &peaks, &info);
    Ok(())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" {
    fn malloc_trim(pad: usize) -> i32;
}

/// The peak resident set of the run so far, kept across the resets of VmHWM.
static RUN_PEAK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The peak resident set of the whole run, in KiB.
fn run_peak_kib() -> Option<u64> {
    let earlier = RUN_PEAK.load(std::sync::atomic::Ordering::Relaxed);
    match rss_kib("VmHWM:") {
        Some(now) => Some(now.max(earlier)),
        None => (earlier > 0).then_some(earlier),
    }
}

/// Before a path: hands the memory the allocator keeps back to the system, sets the peak
/// resident set (VmHWM) back to the current one (Linux), and returns the current one, so that
/// the peak after the path, less this, is what the path itself added. Best effort: `None`
/// where the peak cannot be reset.
fn rss_baseline() -> Option<u64> {
    if let Some(peak) = rss_kib("VmHWM:") {
        RUN_PEAK.fetch_max(peak, std::sync::atomic::Ordering::Relaxed);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: glibc's malloc_trim takes no pointers and may be called at any time.
    unsafe {
        malloc_trim(0);
    }
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    rss_kib("VmRSS:")
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

struct RunInfo {
    rows: usize,
    runs: usize,
    read_runs: usize,
    server_version: String,
    load: String,
}

fn report(
    samples: &[(Path, Vec<f64>)],
    cpu: &[(Path, Vec<f64>)],
    peaks: &[(Path, Option<u64>)],
    info: &RunInfo,
) {
    let rows = info.rows;
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let medians: Vec<(Path, f64)> = samples.iter().map(|(p, s)| (*p, median(s))).collect();
    let seconds = |path: Path| medians.iter().find(|(p, _)| *p == path).unwrap().1;
    let rate = |path: Path| rows as f64 / seconds(path);
    // Throughput ratio: > 1 means `path` moves rows faster than `other`.
    let ratio = |path: Path, other: Path| rate(path) / rate(other);

    println!();
    println!(
        "machine: nproc {nproc}, CPU {}, PostgreSQL {}; {rows} rows; loads: median of {} runs, \
         reads: median of {}; load average {}",
        cpu_model(),
        info.server_version,
        info.runs,
        info.read_runs,
        info.load,
    );
    println!();
    println!(
        "| path | median seconds | rows/s | ratio vs hand-written equivalent | ratio vs sqlx |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for &(path, _) in &medians {
        let hand = path
            .hand_equivalent()
            .map_or("—".to_string(), |h| format!("{:.2}×", ratio(path, h)));
        let sqlx = path
            .sqlx_equivalent()
            .map_or("—".to_string(), |s| format!("{:.2}×", ratio(path, s)));
        println!(
            "| {} | {:.3} | {:.0} | {hand} | {sqlx} |",
            path.label(),
            seconds(path),
            rate(path),
        );
    }
    println!();
    println!("ratios are rows/s ÷ the other path's rows/s (above 1: this path is faster)");
    println!();
    let target = |ok: bool, text: String| {
        println!("{} {text}", if ok { "PASS" } else { "FAIL" });
    };
    let r = ratio(Path::CrateCopyIn, Path::HandCopy);
    target(
        r >= 0.95,
        format!(
            "COPY load: Db::copy_in at {r:.2}× hand-written BinaryCopyInWriter (target ≥ 0.95×)"
        ),
    );
    let r = ratio(Path::CrateSelectAll, Path::HandSelect);
    target(
        r >= 0.95,
        format!("read: Db::select_all at {r:.2}× hand-written Row::get decoding (target ≥ 0.95×)"),
    );
    let r = ratio(Path::CrateInsertMany, Path::HandMulti);
    target(
        r >= 0.9,
        format!("insert-many: Db::insert_many at {r:.2}× hand-written multi-row INSERT (target ≥ 0.90×)"),
    );
    for path in [
        Path::CrateInsertMany,
        Path::CrateCopyIn,
        Path::CrateSelectAll,
        Path::CrateSqlxInsertMany,
        Path::CrateSqlxSelect,
    ] {
        let other = path.sqlx_equivalent().unwrap();
        let r = ratio(path, other);
        target(
            r >= 1.0,
            format!(
                "vs sqlx: {} at {r:.2}× {} (target ≥ 1.00×)",
                path.label(),
                other.label()
            ),
        );
    }
    println!();
    println!("samples (seconds, in run order):");
    for (path, values) in samples {
        let list: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
        println!("  {:<55} {}", path.label(), list.join(" "));
    }
    println!();
    println!(
        "client CPU, median seconds (this process, all threads; the server's work is not in it, \
         and it is less sensitive than wall time to other load on the machine):"
    );
    for (path, values) in cpu {
        let shown = if values.is_empty() {
            "unknown".to_string()
        } else {
            format!("{:.2}", median(values))
        };
        println!("  {:<55} {shown}", path.label());
    }
    println!();
    println!(
        "peak RSS: {} for the whole run (VmHWM; the input rows and the read check's copies included)",
        run_peak_kib().map_or("unknown".to_string(), mib)
    );
    println!(
        "memory each path added at its peak (VmHWM over VmRSS before it, largest of its runs):"
    );
    for (path, kib) in peaks {
        println!(
            "  {:<55} {}",
            path.label(),
            kib.map_or("unknown".to_string(), mib)
        );
    }
}
