//! Speed of schema-core's drift check (`schema_core::pg::evolve::drift`) on a 41-table schema,
//! with each kind of shadow (`Shadow::Transaction`, the default, then `Shadow::SameServer` and
//! `Shadow::Url`), against `pg_dump --schema-only` of the same database, all against the same
//! server in one run. See README.md.
//!
//! The program creates a throwaway database `drift_bench_<pid>` on the server of
//! `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), and an empty one for
//! `Shadow::Url`, applies the schema's DDL to the first, checks that the drift check finds
//! nothing with every kind of shadow, then times the checks and pg_dump in turn. It drops the
//! databases, the shadow databases it may have left behind and the run's roles at the end, also
//! on error, panic or Ctrl-C. A missed target is reported, not an error: the exit code is
//! non-zero only when the benchmark could not run, or when a drift check reports a difference
//! on a database built from the very same schema (a false diff is a bug).

mod phases;

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use schema_core::pg::evolve::{drift, Shadow};
use schema_core::sql::quote_ident;
use schema_core::{Names, Schema, Table, TableDef};
use shared::schemas::db::{Provider, SupportTicket, PHYSICIAN_ROLE, SUPPORT_TEAM_ROLE};
use tokio_postgres::{Client, NoTls};

/// Any failure that stops the benchmark.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How many copies of `support_tickets` the schema holds, besides `providers`.
const TICKET_TABLES: usize = 40;

/// A kind of shadow the drift check normalizes the code's schema in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `Shadow::Transaction`, the default: a schema of its own in the checked database, in a
    /// transaction rolled back.
    Transaction,
    /// `Shadow::SameServer`: a database created and dropped by each check.
    SameServer,
    /// `Shadow::Url`: the empty database created once for the run.
    Url,
}

impl Kind {
    /// Every kind, the default first.
    pub const ALL: [Kind; 3] = [Kind::Transaction, Kind::SameServer, Kind::Url];

    /// Its name in the API.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Transaction => "Shadow::Transaction",
            Kind::SameServer => "Shadow::SameServer",
            Kind::Url => "Shadow::Url",
        }
    }

    /// The `Shadow` to pass, `shadow_url` being the empty database for `Shadow::Url`.
    pub fn shadow(self, shadow_url: &str) -> Shadow<'_> {
        match self {
            Kind::Transaction => Shadow::Transaction,
            Kind::SameServer => Shadow::SameServer,
            Kind::Url => Shadow::Url(shadow_url),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let server_url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string());
    let runs = match env_number("RUNS", 5) {
        Ok(runs) => runs,
        Err(error) => {
            eprintln!("drift-check: {error}");
            return ExitCode::FAILURE;
        }
    };

    let pid = std::process::id();
    let name = format!("drift_bench_{pid}");
    // Roles belong to the whole server: the schema's are named for this run and dropped with it.
    let roles = [
        (PHYSICIAN_ROLE, format!("{name}_physician")),
        (SUPPORT_TEAM_ROLE, format!("{name}_support_team")),
    ];
    if let Err(error) = create_database(&server_url, &name, &roles).await {
        eprintln!("drift-check: {error}");
        return ExitCode::FAILURE;
    }
    eprintln!("drift-check: created database {name}");
    let names = roles.iter().fold(Names::new(), |names, (role, deployed)| {
        names.role(role, deployed)
    });

    let setup = Setup {
        url: with_dbname(&server_url, &name),
        shadow_url: with_dbname(&server_url, &format!("{name}_shadow")),
        server_url: server_url.clone(),
        shadow_name: format!("{name}_shadow"),
        names,
        runs,
    };
    let mut task = tokio::spawn(async move { bench(&setup).await });
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

    let cleaned = clean_up(&server_url, &name, pid, &roles).await;
    if let Err(error) = &cleaned {
        eprintln!("drift-check: clean-up incomplete: {error}");
    }
    match outcome {
        Ok(()) if cleaned.is_ok() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("drift-check: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A positive number from the environment, or `default` when the variable is not set.
fn env_number(name: &str, default: usize) -> Result<usize, Error> {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{name}={value:?} is not a positive number").into()),
        Err(_) => Ok(default),
    }
}

/// Connects without TLS and drives the connection on a task of its own.
pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The URL with its database replaced by `dbname`.
fn with_dbname(url: &str, dbname: &str) -> String {
    match url.find("://") {
        Some(scheme_end) => {
            let (scheme, rest) = url.split_at(scheme_end + 3);
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, path_and_query) = rest.split_at(authority_end);
            let query = path_and_query
                .find('?')
                .map_or("", |i| &path_and_query[i..]);
            format!("{scheme}{authority}/{dbname}{query}")
        }
        None => format!("{url} dbname={dbname}"),
    }
}

/// Creates the run's database, after making sure that neither it nor the run's roles exist
/// already: the clean-up drops them, so they must be this run's own.
async fn create_database(
    server_url: &str,
    name: &str,
    roles: &[(&str, String)],
) -> Result<(), Error> {
    let admin = connect(server_url).await.map_err(|error| {
        format!(
            "cannot connect to {server_url}: {error}\n\
             set DATABASE_URL to a server where this user may CREATE DATABASE and CREATE ROLE"
        )
    })?;
    let deployed: Vec<&str> = roles.iter().map(|(_, role)| role.as_str()).collect();
    let taken: Vec<String> = admin
        .query(
            "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1)",
            &[&deployed],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if !taken.is_empty() {
        return Err(format!(
            "the roles {} exist already (a run with the same process id?); drop them by hand",
            taken.join(", ")
        )
        .into());
    }
    admin
        .batch_execute(&format!("CREATE DATABASE {}", quote_ident(name)))
        .await
        .map_err(|error| format!("cannot create database {name}: {error}"))?;
    Ok(())
}

/// Best effort, on a fresh connection (the run's may have died with it): drops the run's
/// database, the shadow databases of this process that an interrupted check may have left
/// (`schema_shadow_<pid>_…` from `drift`, `drift_bench_<pid>_shadow…` from this program), then
/// the run's roles. Every step is tried; the first error is returned.
async fn clean_up(
    server_url: &str,
    name: &str,
    pid: u32,
    roles: &[(&str, String)],
) -> Result<(), Error> {
    let admin = connect(server_url).await?;
    let library_shadow = format!("schema_shadow_{pid}_");
    let own_shadow = format!("{name}_shadow");
    let databases: Vec<String> = admin
        .query("SELECT datname::text FROM pg_catalog.pg_database", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .filter(|d: &String| {
            d == name || d.starts_with(&library_shadow) || d.starts_with(&own_shadow)
        })
        .collect();
    let mut first_error: Option<Error> = None;
    for database in &databases {
        // DROP DATABASE runs alone: not in a multi-statement batch.
        match admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(database)
            ))
            .await
        {
            Ok(()) => eprintln!("drift-check: dropped database {database}"),
            Err(error) => {
                eprintln!(
                    "drift-check: could not drop database {database} ({error}); drop it by \
                     hand: DROP DATABASE {} WITH (FORCE)",
                    quote_ident(database)
                );
                first_error.get_or_insert(error.into());
            }
        }
    }
    for (_, role) in roles {
        if let Err(error) = admin
            .batch_execute(&format!("DROP ROLE IF EXISTS {}", quote_ident(role)))
            .await
        {
            eprintln!(
                "drift-check: could not drop role {role} ({error}); drop it by hand: \
                 DROP ROLE {}",
                quote_ident(role)
            );
            first_error.get_or_insert(error.into());
        }
    }
    match first_error {
        None => {
            eprintln!("drift-check: dropped roles {}", roles_list(roles));
            Ok(())
        }
        Some(error) => Err(error),
    }
}

/// The deployed role names, comma-separated.
fn roles_list(roles: &[(&str, String)]) -> String {
    roles
        .iter()
        .map(|(_, role)| role.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The 41-table schema: `providers`, then `support_tickets_01` … `support_tickets_40`, each a
/// copy of `support_tickets`'s definition under another name, with the run's role names.
///
/// Every name PostgreSQL keeps per schema (key, unique and index names, the immutable guard's
/// function) must derive from the table's name, or the copies would collide; this holds only
/// while the seed's indexes carry no explicit name, which is checked here. Policy names may
/// repeat: PostgreSQL scopes them per table. The definitions are leaked: they live as long as
/// the program, like those `#[derive(PgTable)]` makes.
pub fn bench_schema(names: Names) -> Result<Schema, Error> {
    let seed: &'static TableDef = <SupportTicket as Table>::TABLE;
    if let Some(named) = seed.indexes.iter().find_map(|i| i.name) {
        return Err(format!(
            "support_tickets declares the index name {named:?}: its copies would collide"
        )
        .into());
    }
    let mut schema = Schema::new().table::<Provider>();
    for i in 1..=TICKET_TABLES {
        let name: &'static str = Box::leak(format!("support_tickets_{i:02}").into_boxed_str());
        let def: &'static TableDef = Box::leak(Box::new(TableDef { name, ..*seed }));
        schema = schema.with_def(def);
    }
    Ok(schema.with_names(names))
}

/// What the benchmark task needs: where to connect, the roles' names and how many runs.
struct Setup {
    /// The server, for the version query.
    server_url: String,
    /// The run's database.
    url: String,
    /// The empty database for `Shadow::Url`, created and dropped by the task.
    shadow_url: String,
    /// Its name.
    shadow_name: String,
    /// The schema's roles as this run deploys them.
    names: Names,
    /// Timed runs of each measurement.
    runs: usize,
}

/// Builds the schema in the run's database, checks that the drift check finds nothing with
/// every kind of shadow, times the three checks and `pg_dump` in turn, then the phases of each
/// check, and prints the report.
async fn bench(setup: &Setup) -> Result<(), Error> {
    let load_before = load_average();
    let schema = bench_schema(setup.names.clone())?;
    let ddl = schema.to_ddl()?;
    let normalizing = schema_core::pg::evolve::normalizing_statements(&schema.model()?);
    let normalizing_ddl = schema_core::render::script(&normalizing);
    let control = connect(&setup.url).await?;
    control.batch_execute(&ddl).await?;
    let tables: i64 = control
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_class \
             WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'",
            &[],
        )
        .await?
        .get(0);
    if tables != schema.tables().len() as i64 {
        return Err(format!(
            "the database holds {tables} tables after the DDL, expected {}",
            schema.tables().len()
        )
        .into());
    }
    let server_version: String = control.query_one("SELECT version()", &[]).await?.get(0);
    let server_major: String = control
        .query_one("SHOW server_version_num", &[])
        .await?
        .get::<_, String>(0)
        .chars()
        .take(2)
        .collect();
    eprintln!(
        "drift-check: applied the DDL of {} tables ({} statements, {} bytes)",
        tables,
        schema.statements()?.len(),
        ddl.len()
    );
    // The empty database of Shadow::Url, reused by every check that takes it.
    control
        .batch_execute(&format!(
            "CREATE DATABASE {}",
            quote_ident(&setup.shadow_name)
        ))
        .await?;

    let pg_dump = find_pg_dump(&server_major).await?;
    let pg_dump_version = command_output(&pg_dump, &["--version"]).await?;

    // Correctness first, and each check's untimed warm-up: a database built from this very
    // schema must show no drift, whatever the shadow.
    for kind in Kind::ALL {
        let lines = drift(&setup.url, &schema, kind.shadow(&setup.shadow_url)).await?;
        check_no_drift(&format!("the first drift check ({})", kind.label()), &lines)?;
    }
    // pg_dump's warm-up, which also checks that it dumps every table.
    let dump = command_output(&pg_dump, &["--schema-only", "--no-owner", "-d", &setup.url]).await?;
    let dumped = dump.matches("\nCREATE TABLE ").count();
    if dumped != schema.tables().len() {
        return Err(format!(
            "pg_dump dumped {dumped} CREATE TABLE statements, expected {}",
            schema.tables().len()
        )
        .into());
    }

    // Where the time goes (see phases.rs): its own warm-up, then one run of each kind after
    // the timed measurements of each run.
    let mut probe = phases::Probe::new(&setup.url, &setup.shadow_url, &setup.shadow_name, &schema);
    for kind in Kind::ALL {
        probe.run(kind).await?;
    }

    // drift_ms[k] for Kind::ALL[k]; measurement 3 is pg_dump. Each run starts one measurement
    // later than the one before, so that each takes every place in the order.
    let mut drift_ms: [Vec<f64>; 3] = Default::default();
    let mut dump_ms = Vec::new();
    let mut breakdown = phases::Breakdown::new(setup.runs);
    for run in 1..=setup.runs {
        for step in 0..4 {
            let measurement = (run - 1 + step) % 4;
            if measurement == 3 {
                dump_ms.push(ms(time_pg_dump(&pg_dump, &setup.url).await?));
                continue;
            }
            let kind = Kind::ALL[measurement];
            let start = Instant::now();
            let lines = drift(&setup.url, &schema, kind.shadow(&setup.shadow_url)).await?;
            let elapsed = start.elapsed();
            check_no_drift(&format!("a timed drift check ({})", kind.label()), &lines)?;
            drift_ms[measurement].push(ms(elapsed));
        }
        let mut copies = Vec::new();
        for (k, kind) in Kind::ALL.into_iter().enumerate() {
            let sample = probe.run(kind).await?;
            copies.push(format!("{:.1}", sample.total()));
            breakdown.samples[k].push(sample);
        }
        eprintln!(
            "run {run}/{}: Transaction {:6.1} ms   SameServer {:6.1} ms   Url {:6.1} ms   \
             pg_dump {:6.1} ms   (instrumented copies {}; load {})",
            setup.runs,
            drift_ms[0][run - 1],
            drift_ms[1][run - 1],
            drift_ms[2][run - 1],
            dump_ms[run - 1],
            copies.join(" / "),
            load_average()
        );
    }
    control
        .batch_execute(&format!(
            "DROP DATABASE {} WITH (FORCE)",
            quote_ident(&setup.shadow_name)
        ))
        .await?;

    let info = RunInfo {
        runs: setup.runs,
        tables: schema.tables().len(),
        statements: schema.statements()?.len(),
        ddl_bytes: ddl.len(),
        normalizing_statements: normalizing.len(),
        normalizing_bytes: normalizing_ddl.len(),
        server: setup.server_url.clone(),
        server_version,
        pg_dump: pg_dump.clone(),
        pg_dump_version: pg_dump_version.trim().to_string(),
        load: format!("{load_before} at the start, {} at the end", load_average()),
    };
    report(&info, &drift_ms, &dump_ms, &breakdown);
    Ok(())
}

/// An error listing the drift found, if any: the database was built from the schema it is
/// compared with, so any line is a false diff.
pub fn check_no_drift(what: &str, lines: &[String]) -> Result<(), Error> {
    if lines.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{what} reports drift on a database built from the same schema (a false diff, a bug \
         in the check):\n  {}",
        lines.join("\n  ")
    )
    .into())
}

/// The `pg_dump` to run: `$PG_DUMP`, else `pg_dump` on the PATH, else the server major's
/// Debian/Ubuntu location (`/usr/lib/postgresql/<major>/bin/pg_dump`).
async fn find_pg_dump(server_major: &str) -> Result<String, Error> {
    if let Ok(path) = std::env::var("PG_DUMP") {
        return Ok(path);
    }
    for candidate in [
        "pg_dump".to_string(),
        format!("/usr/lib/postgresql/{server_major}/bin/pg_dump"),
    ] {
        if command_output(&candidate, &["--version"]).await.is_ok() {
            return Ok(candidate);
        }
    }
    Err("no pg_dump on the PATH nor under /usr/lib/postgresql; set PG_DUMP".into())
}

/// Runs `program` with `args` to its end and returns its stdout; an error if it cannot start
/// or exits with failure (with its stderr).
async fn command_output(program: &str, args: &[&str]) -> Result<String, Error> {
    let output = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| format!("cannot run {program}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// One `pg_dump --schema-only --no-owner -d <url>` as a child process with its output going to
/// `/dev/null`: the wall time from spawning it to its exit.
async fn time_pg_dump(pg_dump: &str, url: &str) -> Result<Duration, Error> {
    let start = Instant::now();
    let output = tokio::process::Command::new(pg_dump)
        .args(["--schema-only", "--no-owner", "-d", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        return Err(format!(
            "pg_dump failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(elapsed)
}

/// A duration in milliseconds.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mid = sorted.len() / 2;
    if mid * 2 == sorted.len() {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// The smallest of `values`.
pub fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

/// The CPU model from `/proc/cpuinfo`.
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

/// The 1-, 5- and 15-minute load averages, to judge how busy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The facts about the run that the report prints above the figures.
struct RunInfo {
    runs: usize,
    tables: usize,
    statements: usize,
    ddl_bytes: usize,
    /// What `normalized_model` applies in the shadow.
    normalizing_statements: usize,
    normalizing_bytes: usize,
    /// The server's URL as given (the password, if any, is not printed).
    server: String,
    server_version: String,
    pg_dump: String,
    pg_dump_version: String,
    load: String,
}

/// The URL without its password, for printing.
fn without_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end + 3],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Prints the report to stdout: the machine and versions, the markdown table of the drift
/// checks against pg_dump with the target (judged on the default shadow), the samples, and
/// where each check's time goes.
fn report(
    info: &RunInfo,
    drift_ms: &[Vec<f64>; 3],
    dump_ms: &[f64],
    breakdown: &phases::Breakdown,
) {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let drift_medians = [0, 1, 2].map(|k| median(&drift_ms[k]));
    let dump_median = median(dump_ms);
    let ratios = drift_medians.map(|m| m / dump_median);

    println!();
    println!(
        "machine: nproc {nproc}, CPU {}; load average {}",
        cpu_model(),
        info.load
    );
    println!(
        "server: {} ({})",
        info.server_version,
        without_password(&info.server)
    );
    println!("pg_dump: {} ({})", info.pg_dump_version, info.pg_dump);
    println!(
        "schema: {} tables (providers + {TICKET_TABLES} copies of support_tickets), {} \
         statements, {} bytes of DDL (applied in the shadow by normalized_model: {} statements, \
         {} bytes); {} timed runs of each after 1 untimed warm-up, in turn",
        info.tables,
        info.statements,
        info.ddl_bytes,
        info.normalizing_statements,
        info.normalizing_bytes,
        info.runs
    );
    println!();
    println!("| measurement | median ms | min ms | ratio to pg_dump (medians) |");
    println!("| --- | ---: | ---: | ---: |");
    let what = [
        "`drift()`, `Shadow::Transaction` (the default; whole call, shadow included: a schema of its own in the checked database, rolled back)",
        "`drift()`, `Shadow::SameServer` (whole call, shadow database created and dropped)",
        "`drift()`, `Shadow::Url` (whole call, a reused empty database, rolled back)",
    ];
    for k in 0..3 {
        println!(
            "| {} | {:.1} | {:.1} | {:.2} |",
            what[k],
            drift_medians[k],
            min(&drift_ms[k]),
            ratios[k]
        );
    }
    println!(
        "| `pg_dump --schema-only --no-owner` (child process, output to /dev/null) | {dump_median:.1} | {:.1} | 1.00 |",
        min(dump_ms)
    );
    println!();
    println!(
        "{} target: the check, shadow included, no slower than pg_dump --schema-only \
         (ratio ≤ 1.0), with the default Shadow::Transaction: ratio {:.2}",
        if ratios[0] <= 1.0 { "PASS" } else { "FAIL" },
        ratios[0]
    );
    println!();
    println!("samples (ms, in run order):");
    let list = |values: &[f64]| {
        values
            .iter()
            .map(|v| format!("{v:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (kind, samples) in Kind::ALL.iter().zip(drift_ms) {
        println!("  {:<19} {}", kind.label(), list(samples));
    }
    println!("  {:<19} {}", "pg_dump", list(dump_ms));
    println!();
    breakdown.print(&drift_medians);
}
