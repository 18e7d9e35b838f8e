//! How schema-core's plans fare on the acceptance cases of pg-schema-diff, a peer that solves
//! the same problem: each case gives the DDL of a schema before and after a change, and the
//! peer checks that its plan takes the first to the second. Here the same is asked of
//! `schema_core::plan::plan`. See README.md.
//!
//! The cases are read at run time from the peer's Go source (`corpus`), given as a path to a
//! checkout or a bare git directory. Cases whose DDL creates what the model does not manage
//! are left out (`classify`). For each other case, two at a time: database A is built from the
//! case's old DDL and B from its new DDL, both throwaway databases with unique names; both are
//! read with `read_model`, the scope naming every table, enum type and PostgreSQL schema of
//! either (and the roles the case needs); `plan(A, B)` is applied to A with every destructive
//! step allowed; then A is read again and compared with B by model (`diff` empty, normalized
//! models equal) and by `pg_dump --schema-only` (`dump`). The roles the cases need are created
//! when missing, and those created are dropped at the end, with every database of the run, also
//! after an error or Ctrl-C.

mod classify;
mod corpus;
mod dump;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use schema_core::diff::diff;
use schema_core::model::SchemaModel;
use schema_core::pg::evolve::{apply, EvolveError};
use schema_core::pg::introspect::{read_model, Scope};
use schema_core::pg::PgError;
use schema_core::plan::{plan, Blocked};
use schema_core::sql::quote_ident;
use tokio_postgres::{Client, NoTls};

use corpus::Case;

/// Any failure that stops the run.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How many cases run at the same time.
const PARALLEL: usize = 2;

/// What became of a case.
#[derive(Clone, Debug)]
enum Outcome {
    /// A equals B by model and by pg_dump after the plan.
    Pass,
    /// Refused before its first step: a column's type PostgreSQL does not convert by itself.
    RefusedConversion(String),
    /// Refused before its first step, for another reason.
    RefusedOther(String),
    /// A step failed on the server: the steps before it were applied.
    RefusedHalfWay {
        sqlstate: String,
        step: usize,
        detail: String,
    },
    /// A read back after the plan differs from B by model.
    ModelDiffers(String),
    /// A after the plan equals B by model, but not by pg_dump.
    DumpDiffers(String),
    /// The case could not be measured: its DDL does not build, or the harness failed.
    NotMeasured(String),
}

impl Outcome {
    /// The row of the table it is counted in.
    fn row(&self) -> usize {
        match self {
            Outcome::Pass => 0,
            Outcome::RefusedConversion(_) => 1,
            Outcome::RefusedOther(_) => 2,
            Outcome::RefusedHalfWay { .. } => 3,
            Outcome::ModelDiffers(_) => 4,
            Outcome::DumpDiffers(_) => 5,
            Outcome::NotMeasured(_) => 6,
        }
    }

    /// Its name and its one line of detail.
    fn describe(&self) -> (&'static str, String) {
        match self {
            Outcome::Pass => (ROWS[0], String::new()),
            Outcome::RefusedConversion(d) => ("refused: type conversion", d.clone()),
            Outcome::RefusedOther(d) => ("refused: other", d.clone()),
            Outcome::RefusedHalfWay {
                sqlstate,
                step,
                detail,
            } => (
                "refused half-way",
                format!("SQLSTATE {sqlstate} at step {step}: {detail}"),
            ),
            Outcome::ModelDiffers(d) => ("model differs", d.clone()),
            Outcome::DumpDiffers(d) => ("pg_dump differs", d.clone()),
            Outcome::NotMeasured(d) => ("not measured", d.clone()),
        }
    }
}

/// The rows of the table of counts, in order.
const ROWS: [&str; 7] = [
    "pass",
    "refused at plan time: a type PostgreSQL does not convert by itself",
    "refused at plan time: other",
    "refused half-way by PostgreSQL",
    "model differs",
    "pg_dump differs",
    "not measured (DDL does not build, or the harness failed)",
];

/// What every case's run needs.
struct Run {
    server_url: String,
    pg_dump: String,
    /// The prefix of the run's database names: `peer_corpus_<pid>`.
    prefix: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    match main_inner().await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("peer-corpus: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn main_inner() -> Result<ExitCode, Error> {
    let mut verbose = matches!(
        std::env::var("VERBOSE").as_deref(),
        Ok(v) if !v.is_empty() && v != "0"
    );
    let mut path: Option<PathBuf> = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-v" | "--verbose" => verbose = true,
            "-h" | "--help" => {
                println!(
                    "usage: peer-corpus [-v] [PATH]\n\
                     PATH (or $PG_SCHEMA_DIFF): a pg-schema-diff checkout or bare git directory \
                     (git clone https://github.com/stripe/pg-schema-diff)"
                );
                return Ok(ExitCode::SUCCESS);
            }
            _ if path.is_none() && !arg.starts_with('-') => path = Some(arg.into()),
            _ => return Err(format!("unexpected argument {arg:?} (see --help)").into()),
        }
    }
    let path = path
        .or_else(|| std::env::var_os("PG_SCHEMA_DIFF").map(PathBuf::from))
        .ok_or(
            "give the path of a pg-schema-diff checkout or bare git directory, as the argument \
             or in PG_SCHEMA_DIFF (git clone https://github.com/stripe/pg-schema-diff)",
        )?;

    // The cases, per file.
    let mut cases: Vec<Case> = Vec::new();
    println!("cases in {}/{}:", path.display(), corpus::CASES_DIR);
    for (file, src) in corpus::read_files(&path)? {
        let found = corpus::parse_cases(&file, &src)?;
        println!("  {:>4}  {file}", found.len());
        cases.extend(found);
    }
    println!("  {:>4}  in all", cases.len());
    if cases.len() != 415 {
        println!("  (the source measured in README.md held 415)");
    }

    let mut managed = Vec::new();
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for case in cases {
        match classify::unmanaged(&case) {
            Some(reason) => {
                let kind = reason.split(" (").next().unwrap_or(&reason).to_string();
                *by_reason.entry(kind).or_default() += 1;
                if verbose {
                    println!("  left out: {}: {}: {reason}", case.file, case.name);
                }
            }
            None => managed.push(case),
        }
    }
    let unmanaged: usize = by_reason.values().sum();
    println!(
        "unmanaged (left out): {unmanaged}; managed (measured): {}",
        managed.len()
    );
    for (reason, n) in &by_reason {
        println!("  {n:>4}  first unmanaged object: {reason}");
    }

    let server_url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string());
    let admin = connect(&server_url).await.map_err(|error| {
        format!(
            "cannot connect to {server_url}: {error}; set DATABASE_URL to a server where this \
             user may CREATE DATABASE and CREATE ROLE"
        )
    })?;
    let version: String = admin.query_one("SHOW server_version", &[]).await?.get(0);
    let pg_dump = std::env::var("PG_DUMP").unwrap_or_else(|_| "pg_dump".to_string());
    let pg_dump_version = tokio::process::Command::new(&pg_dump)
        .arg("--version")
        .output()
        .await
        .map_err(|error| format!("cannot run {pg_dump} (set PG_DUMP): {error}"))?;
    println!(
        "server: PostgreSQL {version}; {}; {PARALLEL} cases at a time",
        String::from_utf8_lossy(&pg_dump_version.stdout).trim()
    );

    // Roles are the server's: those the cases need and that are missing are created for the
    // run and dropped after it.
    let mut needed: Vec<(String, String)> = Vec::new();
    for case in &managed {
        for (sql, name) in case.roles.iter().zip(case.role_names()) {
            if !needed.iter().any(|(_, n)| *n == name) {
                needed.push((sql.clone(), name));
            }
        }
    }
    let mut created_roles = Vec::new();
    for (sql, name) in &needed {
        let exists = admin
            .query_opt(
                "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
                &[name],
            )
            .await?
            .is_some();
        if !exists {
            admin.batch_execute(&format!("CREATE ROLE {sql}")).await?;
            created_roles.push(name.clone());
        }
    }

    let run = Rc::new(Run {
        server_url: server_url.clone(),
        pg_dump,
        prefix: format!("peer_corpus_{}", std::process::id()),
    });
    let managed = Rc::new(managed);
    let next = Rc::new(Cell::new(0usize));
    // Local tasks: the futures of `read_model` and `apply` are not `Send` (a closure over a
    // borrowed name inside), so the workers share this thread; their time is the server's.
    let local = tokio::task::LocalSet::new();
    let joined = local
        .run_until(async {
            let mut workers = Vec::new();
            for _ in 0..PARALLEL {
                let (run, cases, next) = (run.clone(), managed.clone(), next.clone());
                workers.push(tokio::task::spawn_local(async move {
                    let mut done = Vec::new();
                    loop {
                        let index = next.get();
                        next.set(index + 1);
                        let Some(case) = cases.get(index) else {
                            break;
                        };
                        done.push((index, run_case(&run, index, case).await));
                    }
                    done
                }));
            }
            let all = async {
                let mut outcomes = Vec::new();
                for worker in &mut workers {
                    outcomes.extend(worker.await?);
                }
                Ok::<_, Error>(outcomes)
            };
            let joined = tokio::select! {
                outcomes = all => outcomes,
                _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
            };
            for worker in &workers {
                worker.abort();
            }
            joined
        })
        .await;
    let cleaned = clean_up(&admin, &run.prefix, &created_roles).await;
    let mut outcomes = joined?;
    cleaned?;
    outcomes.sort_by_key(|(index, _)| *index);

    // The table of counts, then every case that does not pass.
    let mut counts = [0usize; ROWS.len()];
    for (_, outcome) in &outcomes {
        counts[outcome.row()] += 1;
    }
    println!();
    println!("| outcome | cases |");
    println!("|---|---|");
    for (row, count) in ROWS.iter().zip(counts) {
        if count > 0 || *row != ROWS[6] {
            println!("| {row} | {count} |");
        }
    }
    println!("| measured | {} |", outcomes.len());
    if verbose {
        println!();
        for (index, outcome) in &outcomes {
            if matches!(outcome, Outcome::Pass) {
                continue;
            }
            let case = &managed[*index];
            let (what, detail) = outcome.describe();
            println!("{}: {}: {what}: {detail}", case.file, case.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Connects without TLS and drives the connection on a task of its own.
async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
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

/// Drops every database of the run (`<prefix>_…`) and the roles it created; every step is
/// tried, the first error returned.
async fn clean_up(admin: &Client, prefix: &str, roles: &[String]) -> Result<(), Error> {
    let databases: Vec<String> = admin
        .query(
            "SELECT datname::text FROM pg_catalog.pg_database WHERE starts_with(datname, $1)",
            &[&format!("{prefix}_")],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut first: Option<Error> = None;
    for database in databases {
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&database)
        );
        if let Err(error) = admin.batch_execute(&sql).await {
            eprintln!("peer-corpus: could not drop database {database}: {error}");
            first.get_or_insert(error.into());
        }
    }
    for role in roles {
        let sql = format!("DROP ROLE IF EXISTS {}", quote_ident(role));
        if let Err(error) = admin.batch_execute(&sql).await {
            eprintln!("peer-corpus: could not drop role {role}: {error}");
            first.get_or_insert(error.into());
        }
    }
    match first {
        None => Ok(()),
        Some(error) => Err(error),
    }
}

/// Runs one case in databases of its own, dropped after it.
async fn run_case(run: &Run, index: usize, case: &Case) -> Outcome {
    let a = format!("{}_{index}_a", run.prefix);
    let b = format!("{}_{index}_b", run.prefix);
    let admin = match connect(&run.server_url).await {
        Ok(admin) => admin,
        Err(error) => return Outcome::NotMeasured(format!("cannot connect: {error}")),
    };
    let mut outcome = None;
    for name in [&a, &b] {
        if let Err(error) = admin
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(name)))
            .await
        {
            outcome = Some(Outcome::NotMeasured(format!(
                "cannot create database {name}: {error}"
            )));
        }
    }
    let outcome = match outcome {
        Some(outcome) => outcome,
        None => measure(run, case, &a, &b)
            .await
            .unwrap_or_else(|error| Outcome::NotMeasured(error.to_string())),
    };
    for name in [&a, &b] {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
        if let Err(error) = admin.batch_execute(&sql).await {
            eprintln!("peer-corpus: could not drop database {name}: {error}");
        }
    }
    outcome
}

/// Builds A and B, plans and applies, and compares.
async fn measure(run: &Run, case: &Case, a_db: &str, b_db: &str) -> Result<Outcome, Error> {
    let (a_url, b_url) = (
        with_dbname(&run.server_url, a_db),
        with_dbname(&run.server_url, b_db),
    );
    let mut a_client = connect(&a_url).await?;
    let b_client = connect(&b_url).await?;
    for (client, ddl, which) in [
        (&a_client, case.old_ddl.as_slice(), "A (old DDL)"),
        (&b_client, case.target_ddl(), "B (new DDL)"),
    ] {
        for batch in ddl {
            if let Err(error) = client.batch_execute(batch).await {
                return Ok(Outcome::NotMeasured(format!(
                    "{which} does not build: {}",
                    error_text(&error)
                )));
            }
        }
    }

    let mut scope = Scope {
        roles: case.role_names(),
        ..Scope::default()
    };
    for client in [&b_client, &a_client] {
        add_to_scope(client, &mut scope).await?;
    }
    let a = read_model(&a_client, &scope).await?;
    let b = read_model(&b_client, &scope).await?;

    let plan = plan(&a, &b);
    let allow: Vec<&str> = plan
        .steps
        .iter()
        .filter_map(|s| s.destructive.as_ref().map(|d| d.object.as_str()))
        .collect();
    match apply(&mut a_client, &plan, &allow).await {
        Ok(()) => {}
        Err(EvolveError::Refused(refused)) => {
            let detail = refused
                .blocked
                .iter()
                .map(|b| b.to_string())
                .chain(
                    refused
                        .steps
                        .iter()
                        .map(|s| format!("not allowed: {}", s.sql)),
                )
                .collect::<Vec<_>>()
                .join("; ");
            let conversion = refused
                .blocked
                .iter()
                .any(|b| matches!(b, Blocked::NoConversion { .. }));
            return Ok(if conversion {
                Outcome::RefusedConversion(detail)
            } else {
                Outcome::RefusedOther(detail)
            });
        }
        Err(EvolveError::Step { index, sql, error }) => {
            return Ok(Outcome::RefusedHalfWay {
                sqlstate: sqlstate(&error),
                step: index + 1,
                detail: format!("{} ({})", one_line(&sql), one_line(&error.to_string())),
            });
        }
        Err(error) => return Ok(Outcome::NotMeasured(format!("apply: {error}"))),
    }

    let after = read_model(&a_client, &scope).await?;
    let remaining = diff(&after, &b);
    if !remaining.is_empty() {
        return Ok(Outcome::ModelDiffers(format!(
            "{} change(s) left, the first: {}",
            remaining.changes.len(),
            one_line(&format!("{:?}", remaining.changes[0]))
        )));
    }
    if after.normalized() != b.normalized() {
        return Ok(Outcome::ModelDiffers(first_model_difference(&after, &b)));
    }

    let after_dump = dump::statements(&run.pg_dump, &a_url).await?;
    let b_dump = dump::statements(&run.pg_dump, &b_url).await?;
    Ok(match dump::first_difference(&after_dump, &b_dump) {
        None => Outcome::Pass,
        Some(difference) => Outcome::DumpDiffers(difference),
    })
}

/// Adds to `scope` every table, native enum type and PostgreSQL schema of the database
/// `client` is connected to (system schemas left out), named as the model names them: bare in
/// the current schema, `schema.name` in another.
async fn add_to_scope(client: &Client, scope: &mut Scope) -> Result<(), Error> {
    const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";
    let name = |row: &tokio_postgres::Row| -> String {
        let (schema, name, current): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
        if current {
            name
        } else {
            format!("{schema}.{name}")
        }
    };
    let tables = client
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text, \
                        n.nspname = pg_catalog.current_schema() \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
                   ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMA} ORDER BY c.oid"
            ),
            &[],
        )
        .await?;
    for row in &tables {
        let table = name(row);
        if !scope.tables.contains(&table) {
            scope.tables.push(table);
        }
    }
    let enums = client
        .query(
            &format!(
                "SELECT n.nspname::text, t.typname::text, \
                        n.nspname = pg_catalog.current_schema() \
                 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n \
                   ON n.oid = t.typnamespace \
                 WHERE t.typtype = 'e' AND {USER_SCHEMA} ORDER BY t.oid"
            ),
            &[],
        )
        .await?;
    for row in &enums {
        let e = name(row);
        if !scope.enums.contains(&e) {
            scope.enums.push(e);
        }
    }
    let namespaces = client
        .query(
            &format!(
                "SELECT n.nspname::text FROM pg_catalog.pg_namespace n \
                 WHERE {USER_SCHEMA} AND n.nspname <> pg_catalog.current_schema() \
                 ORDER BY n.oid"
            ),
            &[],
        )
        .await?;
    for row in &namespaces {
        let n: String = row.get(0);
        if !scope.namespaces.contains(&n) {
            scope.namespaces.push(n);
        }
    }
    Ok(())
}

/// The first line where two models' normalized forms differ, in their debug printing.
fn first_model_difference(after: &SchemaModel, b: &SchemaModel) -> String {
    let (x, y) = (
        format!("{:#?}", after.normalized()),
        format!("{:#?}", b.normalized()),
    );
    for (n, (l, r)) in x.lines().zip(y.lines()).enumerate() {
        if l != r {
            return format!(
                "normalized models differ at line {}: A after the plan `{}`, B `{}`",
                n + 1,
                l.trim(),
                r.trim()
            );
        }
    }
    "normalized models differ in length".to_string()
}

/// The SQLSTATE of a server's error, or `-` for an error the server did not report.
fn sqlstate(error: &PgError) -> String {
    match error {
        PgError::Database(e) => e.code.clone(),
        PgError::Constraint(v) => v.source.code.clone(),
        PgError::Driver(e) => e.code().map_or("-".into(), |c| c.code().to_string()),
        _ => "-".into(),
    }
}

/// A tokio-postgres error with the server's message and SQLSTATE when it has them.
fn error_text(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

/// `text` on one line, white space runs made one space, cut at 300 characters.
fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}
