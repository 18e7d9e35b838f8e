//! The command line (feature `cli`), run by the user's own binary, since the schema lives in the
//! user's code:
//!
//! ```no_run
//! # use schema_core::Schema;
//! # fn schema() -> Schema { Schema::new() }
//! fn main() -> std::process::ExitCode {
//!     schema_core::cli::run(schema())
//! }
//! ```
//!
//! Commands: `dump [--format sql|json|mermaid]`, `migrate new NAME [--allow-data-loss OBJECT]...`,
//! `migrate apply`, `migrate status`, `check`, `diff`, `queries` (the plan check of the
//! queries registered with [`Schema::queries`]) and, with the `encrypt` feature and
//! `run_encrypted`, `reencrypt TABLE` (after a key rotation); the ones that talk to a database take
//! `--database-url` (or `DATABASE_URL`). Nothing prompts: every choice is a flag.
//!
//! Every connection goes through [`pg::connect`](fn@crate::pg::connect): the URL's `sslmode` and
//! `sslrootcert` are honoured, with the `tls` feature over TLS that verifies the server's
//! certificate (`--database-url 'postgres://app@db/app?sslmode=require&sslrootcert=ca.pem'`);
//! without it, a URL asking for TLS is an error, never a plaintext connection.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diff::diff;
use crate::migrate::apply::{apply, status, ApplyOptions};
use crate::migrate::Migrations;
use crate::pg::evolve::{drift, plan_for, Shadow};
use crate::render::psql_script;
use crate::Schema;

#[derive(Parser)]
#[command(
    about = "The database schema declared in this program: dump it, make and apply migrations, check a database against it."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where the schema is deployed: `plain` PostgreSQL, or a `citus` cluster (its
    /// coordinator): the DDL, the model `check`, `diff` and `migrate new` compare, and the
    /// rules checked before anything is sent follow it.
    #[arg(long, global = true, value_enum, default_value_t = TargetArg::Plain)]
    target: TargetArg,
}

/// `--target`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum TargetArg {
    /// One PostgreSQL server.
    Plain,
    /// A Citus cluster, through its coordinator.
    Citus,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the schema: its DDL, its model as JSON, or a Mermaid ER diagram.
    Dump {
        /// What to print.
        #[arg(long, value_enum, default_value_t = Format::Sql)]
        format: Format,
    },
    /// Makes, applies and lists migrations.
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// Exit 0 when the database matches the code and the code matches the latest migration,
    /// and the registered queries are served by the indexes (see `queries`; not judged on
    /// empty or never analyzed tables); 1 when either differs or a query is not served (each
    /// difference printed); 2 on any error.
    Check {
        #[command(flatten)]
        database: Database,
        /// The migrations folder.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
    /// Prints the plan from the database to the code as a script `psql` applies as it is
    /// (nothing is applied): for adopting an existing database or repairing drift.
    Diff {
        #[command(flatten)]
        database: Database,
    },
    /// Plans each registered query on the database as the role that asks it (row-level
    /// security on, a generic plan, nothing changed) and prints query, index and verdict, then
    /// how each index of the tables they read is used. Exit 0 when every query is served and no
    /// index is unused or redundant; 1 otherwise; 2 on any error.
    Queries {
        /// The database (`postgres://user@host/db`), with the schema applied and its tables
        /// analyzed, as a login that may act as the queries' roles; defaults to `DATABASE_URL`.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
    /// Seals every encrypted column of a table again with its tenant's newest data key (after
    /// a rotation), by primary key in batches, printing progress; safe to stop and run again.
    /// Needs the program's keys: `cli::run_encrypted(schema, keys)` (feature `encrypt`).
    #[cfg(feature = "encrypt")]
    Reencrypt {
        /// The database (`postgres://user@host/db`); defaults to `DATABASE_URL`.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// The table, as the schema names it (`billing.patients`).
        table: String,
        /// Rows per batch (per transaction).
        #[arg(long, default_value_t = 500)]
        batch_size: usize,
    },
}

#[derive(Subcommand)]
enum MigrateCommand {
    /// Writes the next migration, from the latest snapshot to the code.
    New {
        /// Its name: lower-case letters, digits and `_`.
        name: String,
        /// Allows a step that loses data, on `table` or `table.column` (repeatable).
        #[arg(long = "allow-data-loss", value_name = "OBJECT")]
        allow: Vec<String>,
        /// The migrations folder.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
    /// Applies every migration the database has not recorded, in name order.
    Apply {
        #[command(flatten)]
        database: Database,
        /// The migrations folder.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
        /// How long to wait for a lock, in seconds: another apply's, the history table's, and
        /// a step's that sets no `lock_timeout` of its own.
        #[arg(long, default_value_t = 60)]
        lock_timeout: u64,
        /// Applies even though an applied migration's file changed.
        #[arg(long)]
        allow_changed: bool,
        /// Applies even though an applied migration's folder is missing.
        #[arg(long)]
        allow_missing: bool,
        /// Applies a pending migration that sorts before an applied one.
        #[arg(long)]
        allow_out_of_order: bool,
    },
    /// Lists applied, pending, partial, changed and missing migrations.
    Status {
        #[command(flatten)]
        database: Database,
        /// The migrations folder.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct Database {
    /// The database (`postgres://user@host/db`); defaults to `DATABASE_URL`. With TLS (the
    /// `tls` feature): `?sslmode=verify-full&sslrootcert=/path/to/ca.pem` (`require` verifies
    /// the certificate too).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// An empty database to normalize the code's schema in. By default it is normalized in a
    /// schema of its own inside a transaction on the database, rolled back.
    #[arg(long, conflicts_with = "new_shadow_database")]
    shadow_url: Option<String>,
    /// Normalizes the code's schema in a new database on the same server, dropped when done.
    #[arg(long)]
    new_shadow_database: bool,
}

impl Database {
    fn shadow(&self) -> Shadow<'_> {
        match (&self.shadow_url, self.new_shadow_database) {
            (Some(url), _) => Shadow::Url(url),
            (None, true) => Shadow::SameServer,
            (None, false) => Shadow::Transaction,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Sql,
    Json,
    Mermaid,
}

/// Runs the command line on `schema` with the process's arguments, and returns its exit code.
pub fn run(schema: Schema) -> ExitCode {
    ExitCode::from(run_with(schema, std::env::args_os()))
}

/// [`run`] with the arguments given (the first is the program's name), returning the exit
/// code as a number: 0 success; for `check`, 1 drift and 2 any error; for `queries`, 1 a query
/// not served or an index unused or redundant, 2 any error; otherwise 1 an error and 2 a usage
/// error.
pub fn run_with<I, T>(schema: Schema, args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    run_to(
        schema,
        args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}

/// [`run`] for a program whose tables have encrypted columns (feature `encrypt`): `keys`
/// serve the `reencrypt` command.
#[cfg(feature = "encrypt")]
pub fn run_encrypted(schema: Schema, keys: std::sync::Arc<crate::crypto::Keys>) -> ExitCode {
    ExitCode::from(run_keyed(
        schema,
        Some(keys),
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    ))
}

/// [`run_encrypted`] with the arguments given and the output to `out` and `err`.
#[cfg(feature = "encrypt")]
pub fn run_encrypted_to<I, T>(
    schema: Schema,
    keys: std::sync::Arc<crate::crypto::Keys>,
    args: I,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    run_keyed(schema, Some(keys), args, out, err)
}

/// The keys the `reencrypt` command uses (feature `encrypt`).
#[cfg(feature = "encrypt")]
type CliKeys = Option<std::sync::Arc<crate::crypto::Keys>>;
#[cfg(not(feature = "encrypt"))]
type CliKeys = Option<()>;

/// [`run_with`], printing what it prints to `out` and its errors (and usage) to `err`: for a
/// program that shows them elsewhere, or a test that reads them.
pub fn run_to<I, T>(
    schema: Schema,
    args: I,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    run_keyed(schema, None, args, out, err)
}

fn run_keyed<I, T>(
    schema: Schema,
    keys: CliKeys,
    args: I,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let to_stderr = error.use_stderr();
            let text = error.render().to_string();
            let _ = if to_stderr {
                err.write_all(text.as_bytes())
            } else {
                out.write_all(text.as_bytes())
            };
            return if to_stderr { 2 } else { 0 };
        }
    };
    let is_check = matches!(cli.command, Command::Check { .. } | Command::Queries { .. });
    // What the command printed before an error is printed too.
    let mut text = String::new();
    let target = match cli.target {
        TargetArg::Plain => crate::Target::Plain,
        TargetArg::Citus => crate::Target::Citus,
    };
    let result = execute(schema.for_target(target), keys, cli.command, &mut text, err);
    let printed = print(out, &text);
    match result.and_then(|code| printed.map(|()| code)) {
        Ok(code) => code,
        Err(error) => {
            let _ = writeln!(err, "error: {error}");
            if is_check {
                2
            } else {
                1
            }
        }
    }
}

type Error = Box<dyn std::error::Error>;

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Connects as every connection of schema-core does: TLS as the URL's `sslmode` says.
async fn connect(url: &str) -> Result<tokio_postgres::Client, Error> {
    let (client, _connection) = crate::pg::connect(url).await?;
    Ok(client)
}

fn execute(
    schema: Schema,
    keys: CliKeys,
    command: Command,
    out: &mut String,
    progress: &mut dyn std::io::Write,
) -> Result<u8, Error> {
    let _ = (&keys, &progress);
    match command {
        #[cfg(feature = "encrypt")]
        Command::Reencrypt {
            database_url,
            table,
            batch_size,
        } => {
            let keys = keys.ok_or(
                "this program gives the command line no keys: call \
                 `schema_core::cli::run_encrypted(schema, keys)`",
            )?;
            let def = schema
                .tables()
                .iter()
                .copied()
                .find(|t| t.qualified_name() == table)
                .ok_or_else(|| format!("the schema has no table `{table}`"))?;
            let done = runtime()?.block_on(async {
                let db = crate::pg::Db::connect(&database_url).await?;
                crate::crypto::reencrypt(
                    &db,
                    def,
                    &keys,
                    crate::crypto::Reencryption {
                        batch_size,
                        max_batches: None,
                    },
                    |p| {
                        let _ = writeln!(
                            progress,
                            "{table}: batch {}, {} rows read, {} sealed again",
                            p.batches, p.rows, p.resealed
                        );
                    },
                )
                .await
            })?;
            let _ = writeln!(
                out,
                "{table}: {} rows, {} sealed again with their tenant's newest key",
                done.rows, done.resealed
            );
            Ok(0)
        }
        Command::Dump { format } => {
            let text = match format {
                Format::Sql => schema.to_ddl()?,
                Format::Json => schema.model()?.to_json() + "\n",
                Format::Mermaid => schema.model()?.to_mermaid(),
            };
            out.push_str(&text);
            Ok(0)
        }
        Command::Migrate {
            command: MigrateCommand::New { name, allow, dir },
        } => {
            let migrations = Migrations::read_dir(&dir)?;
            let allow: Vec<&str> = allow.iter().map(String::as_str).collect();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs() as i64;
            match migrations.plan_new_for(&schema, &name, &allow, now)? {
                None => {
                    writeln!(
                        out,
                        "nothing to change: the code matches the latest migration"
                    )?;
                }
                Some(migration) => {
                    let folder = Migrations::write_new(&dir, &migration)?;
                    writeln!(
                        out,
                        "wrote {}",
                        folder.join(crate::migrate::UP_FILE).display()
                    )?;
                    for step in migration
                        .plan
                        .steps
                        .iter()
                        .filter(|s| !s.hazards.is_empty())
                    {
                        let hazards: Vec<String> =
                            step.hazards.iter().map(|h| format!("{h:?}")).collect();
                        writeln!(out, "  {}: {}", hazards.join(", "), first_line(&step.sql))?;
                    }
                    for suggestion in &migration.plan.suggestions {
                        writeln!(out, "note: {suggestion}")?;
                    }
                }
            }
            Ok(0)
        }
        Command::Migrate {
            command:
                MigrateCommand::Apply {
                    database,
                    dir,
                    lock_timeout,
                    allow_changed,
                    allow_missing,
                    allow_out_of_order,
                },
        } => {
            let migrations = Migrations::read_dir(&dir)?;
            let options = ApplyOptions {
                lock_timeout: Duration::from_secs(lock_timeout),
                allow_changed,
                allow_missing,
                allow_out_of_order,
                target: schema.target(),
            };
            let applied = runtime()?.block_on(async {
                let mut client = connect(&database.database_url).await?;
                Ok::<_, Error>(apply(&mut client, &migrations, options).await?)
            })?;
            if applied.is_empty() {
                writeln!(out, "nothing to apply")?;
            }
            for name in applied {
                writeln!(out, "applied {name}")?;
            }
            Ok(0)
        }
        Command::Migrate {
            command: MigrateCommand::Status { database, dir },
        } => {
            let migrations = Migrations::read_dir(&dir)?;
            let states = runtime()?.block_on(async {
                let client = connect(&database.database_url).await?;
                Ok::<_, Error>(status(&client, &migrations).await?)
            })?;
            if states.is_empty() {
                writeln!(out, "no migrations")?;
            }
            for state in states {
                writeln!(out, "{state}")?;
            }
            Ok(0)
        }
        Command::Check { database, dir } => {
            let migrations = Migrations::read_dir(&dir)?;
            let code = schema.model()?;
            let unrecorded = diff(&migrations.latest_schema(), &code);
            let mut clean = true;
            if !unrecorded.is_empty() {
                clean = false;
                match migrations.latest() {
                    Some(latest) => writeln!(
                        out,
                        "the code has changed since migration {}: run `migrate new`",
                        latest.name
                    )?,
                    None => writeln!(out, "there is no migration yet: run `migrate new`")?,
                }
                for change in &unrecorded.changes {
                    writeln!(out, "  {change}")?;
                }
            }
            let lines =
                runtime()?.block_on(drift(&database.database_url, &schema, database.shadow()))?;
            let drifted = !lines.is_empty();
            if drifted {
                clean = false;
                writeln!(out, "the database differs from the code:")?;
                for line in lines {
                    writeln!(out, "  {line}")?;
                }
            }
            if !check_registered_queries(&schema, &database.database_url, drifted, out)? {
                clean = false;
            }
            Ok(if clean { 0 } else { 1 })
        }
        Command::Queries { database_url } => {
            if schema.registered_queries().is_empty() {
                return Err("no query is registered: register them with `Schema::queries`".into());
            }
            let report = runtime()?.block_on(async {
                let mut client = connect(&database_url).await?;
                Ok::<_, Error>(crate::pg::explain::check_queries(&mut client, &schema).await?)
            })?;
            write!(out, "{report}")?;
            Ok(if report.passed() { 0 } else { 1 })
        }
        Command::Diff { database } => {
            let plan = runtime()?.block_on(async {
                let plan = plan_for(&database.database_url, &schema, database.shadow()).await?;
                if schema.target() == crate::Target::Plain {
                    return Ok::<_, Error>(plan);
                }
                let client = connect(&database.database_url).await?;
                let existing = crate::target::citus::existing(&client, &schema).await?;
                Ok(crate::target::citus::plan(&schema, plan, &existing)?)
            })?;
            let script = if plan.is_empty() {
                psql_script("-- the database matches the code: nothing to do\n")
            } else {
                let mut notes = String::new();
                for suggestion in &plan.suggestions {
                    writeln!(notes, "-- note: {suggestion}")?;
                }
                for step in plan.steps.iter().filter(|s| s.destructive.is_some()) {
                    let d = step.destructive.as_ref().expect("filtered");
                    writeln!(notes, "-- loses data: {}: {}", d.object, d.reason)?;
                }
                plan.to_script_with(&notes)
            };
            out.push_str(&script);
            Ok(0)
        }
    }
}

/// `check`'s part for the queries registered on `schema`: their plan check on the database,
/// unless there are none, the database differs from the code (the plans would be of another
/// schema), or a table they read is empty or never analyzed (the planner's choice among its
/// indexes would say nothing); each case but the first says so. False when a query is not
/// served or an index is unused or redundant, with the report.
fn check_registered_queries(
    schema: &Schema,
    url: &str,
    drifted: bool,
    out: &mut String,
) -> Result<bool, Error> {
    if schema.registered_queries().is_empty() {
        return Ok(true);
    }
    if drifted {
        writeln!(
            out,
            "the registered queries were not checked: the database differs from the code"
        )?;
        return Ok(true);
    }
    let report = runtime()?.block_on(async {
        let mut client = connect(url).await?;
        Ok::<_, Error>(crate::pg::explain::check_queries(&mut client, schema).await?)
    })?;
    if !report.tables_without_statistics.is_empty() {
        writeln!(
            out,
            "the registered queries were not judged: {} empty or never analyzed \
             (run `queries` on representative rows, analyzed)",
            report.tables_without_statistics.join(", ")
        )?;
        return Ok(true);
    }
    if report.passed() {
        return Ok(true);
    }
    writeln!(
        out,
        "the registered queries are not all served by the indexes:"
    )?;
    for line in report.to_string().lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(false)
}

fn first_line(sql: &str) -> &str {
    sql.lines().next().unwrap_or_default()
}

/// Writes what a command printed; a closed pipe (`| head`) ends quietly.
fn print(out: &mut dyn std::io::Write, text: &str) -> Result<(), Error> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
