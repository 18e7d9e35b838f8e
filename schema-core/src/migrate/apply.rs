//! Applying migrations to a database: an advisory lock so that two deployers never apply one
//! migration twice, a history table recording each migration by name with its checksum and how
//! many of its steps ran, and the checks that refuse a run before anything changes.
//!
//! Where things land does not depend on who applies: every step runs with the search path set
//! to [`SCHEMA`] (after `pg_catalog`, which PostgreSQL searches first when the path does not
//! name it), so the names a migration leaves unqualified are created and found there whatever
//! the login's own search path says (a login with a schema of its own name would otherwise get
//! the tables), and the history table is always [`SCHEMA`]`.`[`HISTORY_TABLE`]. Tables
//! declared in a PostgreSQL schema of their own are qualified in the SQL itself.
//!
//! Nothing the tool runs waits without a bound: its own statements, and steps that set no
//! `lock_timeout` of their own, wait at most [`ApplyOptions::lock_timeout`] for a lock; a step
//! that gives up ([`ApplyError::GaveUp`]) names the sessions it waited on.

use std::fmt;
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::{checksum, Migration, Migrations, SNAPSHOT_FILE, UP_FILE};
use crate::pg::evolve::{gave_up_waiting, run_outside_transaction};
use crate::pg::PgError;
use crate::sql::{quote_ident, quote_in_schema, quote_literal};
use crate::target::citus::PROPAGATE_SET_LOCAL;
use crate::target::Target;

pub use crate::pg::introspect::HISTORY_TABLE;

/// The PostgreSQL schema migrations apply to: where the names a migration leaves unqualified
/// are created and found, and where the history table is.
pub const SCHEMA: &str = crate::sql::APPLICATION_SCHEMA;

/// The key of the advisory lock every `apply` holds (one for the whole database), for
/// tooling that wants to wait on it too.
pub const LOCK_KEY: i64 = 0x5343_4845_4d41_4d49;

/// What an apply may do beyond the safe default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApplyOptions {
    /// How long to wait for a lock before giving up: another apply's (the migration lock), the
    /// history table's, and, for a step that sets no `lock_timeout` of its own, the step's.
    pub lock_timeout: Duration,
    /// Apply even though a recorded migration's file changed.
    pub allow_changed: bool,
    /// Apply even though a recorded migration's file is missing.
    pub allow_missing: bool,
    /// Apply a pending migration that sorts before an applied one.
    pub allow_out_of_order: bool,
    /// Where the database is. On [`Target::Citus`] every statement is sent as a query of its
    /// own (Citus refuses a query holding several: "cannot insert multiple commands into a
    /// prepared statement"), each transaction asks first, alone, for its `SET LOCAL`s to reach
    /// the workers ([`PROPAGATE_SET_LOCAL`]), and a concurrent index build that fails part way
    /// (Citus leaves the index invalid on the coordinator) is dropped with
    /// `DROP INDEX CONCURRENTLY IF EXISTS` and built once again, as Citus's hint says.
    pub target: Target,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            lock_timeout: Duration::from_secs(60),
            allow_changed: false,
            allow_missing: false,
            allow_out_of_order: false,
            target: Target::Plain,
        }
    }
}

/// Where one migration stands in a database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Recorded, every step applied, file unchanged.
    Applied,
    /// Not recorded.
    Pending,
    /// Recorded, but some of its steps have not run (a step failed, or a run stopped).
    Partial {
        /// Steps applied.
        applied: i32,
        /// Steps in all.
        total: i32,
    },
    /// Recorded with another checksum: its files were edited after it was applied.
    Changed {
        /// `up.sql` differs from what was applied.
        up_sql: bool,
        /// `snapshot.json` differs from what was applied.
        snapshot: bool,
    },
    /// Recorded with a count of steps that its unchanged `up.sql` does not have (or more steps
    /// applied than recorded in all): the history row was edited. Neither `apply` nor
    /// `status` takes it as applied or partial.
    Disagrees {
        /// Steps the history records as applied.
        applied: i32,
        /// Steps the history records in all.
        recorded_total: i32,
        /// Steps its `up.sql` has.
        total: i32,
    },
    /// Recorded, but its folder is gone.
    Missing,
}

/// One migration's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration.
    pub name: String,
    /// Where it stands.
    pub state: State,
}

impl fmt::Display for MigrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Applied => write!(f, "applied  {}", self.name),
            State::Pending => write!(f, "pending  {}", self.name),
            State::Partial { applied, total } => {
                write!(
                    f,
                    "partial  {} ({applied} of {total} steps applied)",
                    self.name
                )
            }
            State::Changed { up_sql, snapshot } => {
                let (files, both) = changed_files(*up_sql, *snapshot);
                let differ = if both { "differ" } else { "differs" };
                write!(
                    f,
                    "changed  {} (its {files} {differ} from what was applied)",
                    self.name
                )
            }
            State::Disagrees {
                applied,
                recorded_total,
                total,
            } => write!(
                f,
                "disagrees  {} (the history records {applied} of {recorded_total} steps applied, \
                 its {UP_FILE} has {total}: the history row was edited)",
                self.name
            ),
            State::Missing => write!(
                f,
                "missing  {} (applied, but its folder is gone)",
                self.name
            ),
        }
    }
}

/// Why an apply did not run, or stopped.
#[derive(Debug)]
pub enum ApplyError {
    /// The database could not be reached, or refused a statement of the tool's own.
    Pg(Box<PgError>),
    /// Another apply holds the lock.
    Locked {
        /// Who holds it, as far as the server tells.
        holder: Option<String>,
        /// How long this one waited.
        waited: Duration,
    },
    /// Recorded migrations changed or missing, or pending ones out of order: nothing ran.
    Refused(Vec<String>),
    /// A step gave up waiting for a lock, or ran out of its time (its `lock_timeout` or
    /// `statement_timeout`): the history records the steps before it, and an index it was
    /// building `CONCURRENTLY` is left invalid, for the next apply to drop before building it.
    GaveUp {
        /// The migration.
        migration: String,
        /// The step's number, from 1.
        step: usize,
        /// The database's error.
        error: Box<PgError>,
        /// The other sessions of the database that were in a transaction when it gave up,
        /// oldest first (at most five): what it waited on.
        sessions: Vec<Session>,
    },
    /// The history table is not in [`SCHEMA`] but in another PostgreSQL schema, where an apply
    /// that followed its login's search path put it: nothing was applied.
    HistoryElsewhere {
        /// The schema it is in.
        schema: String,
    },
    /// A step failed: the history records the steps before it.
    Step {
        /// The migration.
        migration: String,
        /// The step's number, from 1.
        step: usize,
        /// The database's error.
        error: Box<PgError>,
    },
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Pg(error) => write!(f, "{error}"),
            ApplyError::Locked { holder, waited } => write!(
                f,
                "another apply holds the migration lock (waited {} s){}",
                waited.as_secs(),
                holder
                    .as_deref()
                    .map(|h| format!(": {h}"))
                    .unwrap_or_default()
            ),
            ApplyError::Refused(problems) => {
                writeln!(f, "nothing was applied:")?;
                for problem in problems {
                    writeln!(f, "  {problem}")?;
                }
                Ok(())
            }
            ApplyError::GaveUp {
                migration,
                step,
                error,
                sessions,
            } => {
                write!(f, "migration {migration}, step {step} gave up ({error}) ")?;
                if sessions.is_empty() {
                    write!(
                        f,
                        "with no other session of the database found in a transaction"
                    )?;
                } else {
                    write!(f, "waiting on ")?;
                    for (i, session) in sessions.iter().enumerate() {
                        let sep = if i == 0 { "" } else { "; " };
                        write!(f, "{sep}{session}")?;
                    }
                }
                write!(
                    f,
                    "; apply again once it is done (the history records the steps before it; an \
                     index the step left invalid is dropped then and built again)"
                )
            }
            ApplyError::HistoryElsewhere { schema } => write!(
                f,
                "the migration history is in {}, not in {}: an earlier apply followed its \
                 login's search path, and the tables it created are in {} too. Move the history \
                 and those tables (`ALTER TABLE ... SET SCHEMA {}`); nothing is applied until then",
                quote_in_schema(Some(schema), HISTORY_TABLE),
                history_table(),
                quote_ident(schema),
                quote_ident(SCHEMA)
            ),
            ApplyError::Step {
                migration,
                step,
                error,
            } => write!(
                f,
                "migration {migration}, step {step} failed: {error} (the history records the \
                 steps before it)"
            ),
        }
    }
}

impl std::error::Error for ApplyError {}

impl From<tokio_postgres::Error> for ApplyError {
    fn from(error: tokio_postgres::Error) -> Self {
        ApplyError::Pg(Box::new(error.into()))
    }
}

/// A session of the database, as `pg_stat_activity` shows it: never the values its query
/// holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Its backend's process id (what `pg_terminate_backend` takes).
    pub pid: i32,
    /// The role it logged in as.
    pub user: String,
    /// Its `application_name` (empty when it set none).
    pub application: String,
    /// What the server lets this login see of it: `None` for a session of another role when
    /// the login lacks `pg_read_all_stats`.
    pub activity: Option<Activity>,
}

/// What a session is doing, as `pg_stat_activity` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    /// `active`, `idle in transaction`, ...
    pub state: String,
    /// How long its transaction has been open, in whole seconds.
    pub transaction_seconds: i64,
    /// The beginning of its current (or, idle, its last) query, cut before the first literal
    /// ([`query_start`]).
    pub query: String,
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "backend {} of user {} (", self.pid, self.user)?;
        if !self.application.is_empty() {
            write!(f, "application {:?}, ", self.application)?;
        }
        match &self.activity {
            Some(a) => write!(
                f,
                "{}, in a transaction for {} s): {}",
                a.state, a.transaction_seconds, a.query
            ),
            None => write!(
                f,
                "what it does is hidden from this login; grant it pg_read_all_stats to see)"
            ),
        }
    }
}

/// The beginning of a query, safe to print: whitespace folded, cut before its first literal (a
/// quote, a `$`, or a number) or comment (`--`, `/*`, which may say anything) and after 60
/// characters, so that no value it holds is shown.
pub fn query_start(query: &str) -> String {
    let folded = query.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut end = folded.len();
    let mut previous = ' ';
    for (i, c) in folded.char_indices() {
        let in_name = previous.is_alphanumeric() || previous == '_' || previous == '"';
        let comment = matches!((previous, c), ('-', '-') | ('/', '*'));
        if comment {
            end = i - 1;
            break;
        }
        if c == '\'' || c == '$' || (c.is_ascii_digit() && !in_name) {
            end = i;
            break;
        }
        previous = c;
    }
    let shown: String = folded[..end].chars().take(60).collect();
    if shown.len() < folded.len() {
        format!("{} …", shown.trim_end()).trim_start().to_string()
    } else {
        shown
    }
}

/// The other sessions of the database in a transaction, oldest first (those whose activity
/// this login may not see last), at most five: what a step that gave up waiting waited on (a
/// `CONCURRENTLY` build waits for every transaction older than it; any other statement for the
/// ones holding a lock it needs). A session is in a transaction while it holds its virtual
/// transaction id's lock, which `pg_locks` shows every login. Empty when they cannot be read.
async fn open_transactions(client: &Client) -> Vec<Session> {
    let rows = client
        .query(
            "SELECT a.pid, COALESCE(a.usename::text, ''), COALESCE(a.application_name, ''), \
                    a.state, EXTRACT(epoch FROM pg_catalog.now() - a.xact_start)::bigint, \
                    pg_catalog.left(a.query, 200) \
             FROM pg_catalog.pg_stat_activity a \
             WHERE a.datname = pg_catalog.current_database() \
               AND a.pid <> pg_catalog.pg_backend_pid() \
               AND EXISTS (SELECT FROM pg_catalog.pg_locks l WHERE l.pid = a.pid \
                           AND l.locktype = 'virtualxid' AND l.granted) \
             ORDER BY a.xact_start NULLS LAST, a.pid LIMIT 5",
            &[],
        )
        .await
        .unwrap_or_default();
    rows.iter()
        .map(|r| {
            let state: Option<String> = r.get(3);
            let seconds: Option<i64> = r.get(4);
            let query: Option<&str> = r.get(5);
            Session {
                pid: r.get(0),
                user: r.get(1),
                application: r.get(2),
                activity: state
                    .zip(seconds)
                    .map(|(state, transaction_seconds)| Activity {
                        state,
                        transaction_seconds,
                        query: query_start(query.unwrap_or_default()),
                    }),
            }
        })
        .collect()
}

/// The files of a changed migration: `up.sql`, `snapshot.json` or both, and whether both.
fn changed_files(up_sql: bool, snapshot: bool) -> (String, bool) {
    match (up_sql, snapshot) {
        (true, true) => (format!("{UP_FILE} and {SNAPSHOT_FILE}"), true),
        (false, true) => (SNAPSHOT_FILE.to_string(), false),
        _ => (UP_FILE.to_string(), false),
    }
}

/// The history table, qualified.
fn history_table() -> String {
    quote_in_schema(Some(SCHEMA), HISTORY_TABLE)
}

/// The session settings every statement of an apply runs under, set again before each step:
/// the lock timeout, no statement timeout but the server's, and the search path.
fn session_settings(options: &ApplyOptions) -> Settings {
    Settings {
        statements: vec![
            format!(
                "SET lock_timeout = {}",
                quote_literal(&format!("{}ms", options.lock_timeout.as_millis()))
            ),
            "RESET statement_timeout".to_string(),
            crate::sql::set_search_path(SCHEMA),
        ],
        target: options.target,
    }
}

/// Statements an apply sends together: in one query on plain PostgreSQL, one query each on
/// Citus.
struct Settings {
    statements: Vec<String>,
    target: Target,
}

impl Settings {
    fn reset(target: Target) -> Self {
        Settings {
            statements: RESET.iter().map(|s| s.to_string()).collect(),
            target,
        }
    }

    async fn send(&self, client: &Client) -> Result<(), tokio_postgres::Error> {
        send_all(
            client,
            self.statements.iter().map(String::as_str),
            self.target,
        )
        .await
    }
}

/// Sends `statements`: in one query on plain PostgreSQL, one query each on Citus.
async fn send_all<'a, C: tokio_postgres::GenericClient>(
    client: &C,
    statements: impl IntoIterator<Item = &'a str>,
    target: Target,
) -> Result<(), tokio_postgres::Error> {
    match target {
        Target::Plain => {
            let joined: Vec<&str> = statements.into_iter().collect();
            client.batch_execute(&joined.join("; ")).await
        }
        Target::Citus => {
            for statement in statements {
                client.batch_execute(statement).await?;
            }
            Ok(())
        }
    }
}

/// A recorded migration.
struct Record {
    name: String,
    checksum: String,
    steps_applied: i32,
    steps_total: i32,
}

async fn ensure_history(client: &Client) -> Result<(), ApplyError> {
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    \
                 name text PRIMARY KEY,\n    \
                 checksum text NOT NULL,\n    \
                 steps_applied integer NOT NULL,\n    \
                 steps_total integer NOT NULL,\n    \
                 started_at timestamptz NOT NULL DEFAULT now(),\n    \
                 finished_at timestamptz\n)",
            history_table()
        ))
        .await?;
    Ok(())
}

/// The history, `None` before the first apply; refused when there is none in [`SCHEMA`] but
/// one in another schema.
async fn history(client: &Client) -> Result<Option<Vec<Record>>, ApplyError> {
    let exists: bool = client
        .query_one(
            "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
            &[&history_table()],
        )
        .await?
        .get(0);
    if !exists {
        // A table of that name with this history's columns, in another schema.
        let elsewhere = client
            .query_opt(
                "SELECT n.nspname::text FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND n.nspname <> $2 \
                   AND EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid \
                               AND a.attname = 'steps_total' AND NOT a.attisdropped) \
                 ORDER BY 1 LIMIT 1",
                &[&HISTORY_TABLE, &SCHEMA],
            )
            .await?;
        return match elsewhere {
            Some(row) => Err(ApplyError::HistoryElsewhere { schema: row.get(0) }),
            None => Ok(None),
        };
    }
    let rows = client
        .query(
            &format!(
                "SELECT name, checksum, steps_applied, steps_total FROM {} ORDER BY name",
                history_table()
            ),
            &[],
        )
        .await?;
    Ok(Some(
        rows.iter()
            .map(|r| Record {
                name: r.get(0),
                checksum: r.get(1),
                steps_applied: r.get(2),
                steps_total: r.get(3),
            })
            .collect(),
    ))
}

fn states(migrations: &Migrations, records: &[Record]) -> Vec<MigrationStatus> {
    let mut out: Vec<MigrationStatus> = Vec::new();
    for migration in &migrations.migrations {
        let state = match records.iter().find(|r| r.name == migration.name) {
            None => State::Pending,
            Some(record) => recorded_state(migration, record),
        };
        out.push(MigrationStatus {
            name: migration.name.clone(),
            state,
        });
    }
    for record in records {
        if !migrations.migrations.iter().any(|m| m.name == record.name) {
            out.push(MigrationStatus {
                name: record.name.clone(),
                state: State::Missing,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Where a recorded migration stands: its files against the checksums recorded (`up.sql`'s
/// alone in a history written before the snapshot was covered), then its steps.
fn recorded_state(migration: &Migration, record: &Record) -> State {
    let recorded = record.checksum.as_str();
    let up = migration.up_checksum();
    let (up_sql, snapshot) = if recorded.len() == up.len() {
        (recorded != up, false)
    } else {
        (
            recorded.get(..up.len()) != Some(up.as_str()),
            recorded.get(up.len()..) != Some(checksum(&migration.snapshot_json).as_str()),
        )
    };
    if up_sql || snapshot {
        return State::Changed { up_sql, snapshot };
    }
    let total = migration.steps().len() as i32;
    if record.steps_total != total || !(0..=total).contains(&record.steps_applied) {
        return State::Disagrees {
            applied: record.steps_applied,
            recorded_total: record.steps_total,
            total,
        };
    }
    if record.steps_applied < total {
        State::Partial {
            applied: record.steps_applied,
            total,
        }
    } else {
        State::Applied
    }
}

/// Where each migration of the folder, and each one recorded, stands in the database.
pub async fn status(
    client: &Client,
    migrations: &Migrations,
) -> Result<Vec<MigrationStatus>, ApplyError> {
    let records = history(client).await?.unwrap_or_default();
    Ok(states(migrations, &records))
}

/// Who holds the advisory lock, as `pg_stat_activity` tells it.
async fn lock_holder(client: &Client) -> Option<String> {
    let row = client
        .query_opt(
            "SELECT a.pid, a.usename::text, a.application_name, a.client_addr::text, \
                    a.backend_start::text \
             FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted \
               AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d \
                                 WHERE d.datname = pg_catalog.current_database()) \
               AND l.classid = ($1::bigint >> 32)::oid \
               AND l.objid = ($1::bigint & 4294967295)::oid \
               AND l.pid <> pg_catalog.pg_backend_pid() LIMIT 1",
            &[&LOCK_KEY],
        )
        .await
        .ok()??;
    let pid: i32 = row.get(0);
    let user: Option<String> = row.get(1);
    let app: Option<String> = row.get(2);
    let addr: Option<String> = row.get(3);
    let since: Option<String> = row.get(4);
    Some(format!(
        "backend {pid} of user {}{}{}{}",
        user.unwrap_or_default(),
        app.filter(|a| !a.is_empty())
            .map(|a| format!(", application {a}"))
            .unwrap_or_default(),
        addr.map(|a| format!(", from {a}")).unwrap_or_default(),
        since
            .map(|s| format!(", connected since {s}"))
            .unwrap_or_default(),
    ))
}

/// Applies every migration not recorded in the history, in name order, after checking the
/// history against the folder (nothing runs when a recorded migration changed or is missing,
/// or a pending one sorts before an applied one, unless `options` allows it; nor when a
/// history row disagrees with its migration's steps). Holds an advisory lock throughout,
/// waiting at most `options.lock_timeout` for it. A migration left partial by an earlier
/// failure resumes at its first step not applied. Returns the migrations applied.
///
/// Runs under the settings of the module's description (search path, lock timeout) and resets
/// them when done. A migration recorded with the checksum of its `up.sql` alone (by an earlier
/// version) is recorded again with its snapshot's.
pub async fn apply(
    client: &mut Client,
    migrations: &Migrations,
    options: ApplyOptions,
) -> Result<Vec<String>, ApplyError> {
    let settings = session_settings(&options);
    settings.send(client).await?;
    let locked = client
        .query_one("SELECT pg_catalog.pg_advisory_lock($1)", &[&LOCK_KEY])
        .await;
    if let Err(error) = locked {
        let _ = Settings::reset(options.target).send(client).await;
        if error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
            return Err(ApplyError::Locked {
                holder: lock_holder(client).await,
                waited: options.lock_timeout,
            });
        }
        return Err(error.into());
    }
    let result = apply_locked(client, migrations, &options, &settings).await;
    let unlocked = client
        .query_one("SELECT pg_catalog.pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    let reset = Settings::reset(options.target).send(client).await;
    let applied = result?;
    unlocked?;
    reset?;
    Ok(applied)
}

/// What `apply` leaves the session with: its own settings reset.
const RESET: [&str; 3] = [
    "RESET lock_timeout",
    "RESET statement_timeout",
    "RESET search_path",
];

async fn apply_locked(
    client: &mut Client,
    migrations: &Migrations,
    options: &ApplyOptions,
    settings: &Settings,
) -> Result<Vec<String>, ApplyError> {
    let records = history(client).await?.unwrap_or_default();
    ensure_history(client).await?;
    let mut problems = Vec::new();
    let last_applied = records.iter().map(|r| r.name.as_str()).max();
    for status in states(migrations, &records) {
        match status.state {
            State::Changed { up_sql, snapshot } if !options.allow_changed => {
                let (files, both) = changed_files(up_sql, snapshot);
                let have = if both { "have" } else { "has" };
                problems.push(format!(
                    "{} was applied, and its {files} {have} changed since (checksums differ)",
                    status.name
                ))
            }
            State::Disagrees {
                applied,
                recorded_total,
                total,
            } => problems.push(format!(
                "{}: the history records {applied} of {recorded_total} steps applied, but its \
                 {UP_FILE} (unchanged) has {total}: the history row was edited. Set it back \
                 (steps_total = {total}, steps_applied = the steps that ran) and apply again",
                status.name
            )),
            State::Missing if !options.allow_missing => problems.push(format!(
                "{} was applied, and its folder is missing",
                status.name
            )),
            State::Pending
                if !options.allow_out_of_order
                    && last_applied.is_some_and(|last| status.name.as_str() < last) =>
            {
                problems.push(format!(
                    "{} is pending but sorts before {}, which was applied: was it merged from \
                     another branch? Give it a later name (`migrate new` again) or allow out of \
                     order",
                    status.name,
                    last_applied.unwrap_or_default()
                ))
            }
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(ApplyError::Refused(problems));
    }
    // Recorded by an earlier version with `up.sql`'s checksum alone: now with the snapshot's.
    for migration in &migrations.migrations {
        let up = migration.up_checksum();
        if records
            .iter()
            .any(|r| r.name == migration.name && r.checksum == up)
        {
            client
                .execute(
                    &format!(
                        "UPDATE {} SET checksum = $1 WHERE name = $2",
                        history_table()
                    ),
                    &[&migration.checksum(), &migration.name],
                )
                .await?;
        }
    }
    let mut applied = Vec::new();
    for migration in &migrations.migrations {
        let record = records.iter().find(|r| r.name == migration.name);
        let done = match record {
            Some(r) if r.steps_applied >= r.steps_total => continue,
            Some(r) => r.steps_applied as usize,
            None => 0,
        };
        if let Err(mut error) = apply_one(client, migration, done, settings).await {
            if let ApplyError::GaveUp { sessions, .. } = &mut error {
                *sessions = open_transactions(client).await;
            }
            return Err(error);
        }
        applied.push(migration.name.clone());
    }
    Ok(applied)
}

/// Runs the steps of `migration` from step `done + 1`: each run of transactional steps (up to a
/// `COMMIT` line of the file) in one transaction with the history row's update, each
/// `no-transaction` step on its own, then its row updated; `settings` set again before each.
async fn apply_one(
    client: &mut Client,
    migration: &Migration,
    done: usize,
    settings: &Settings,
) -> Result<(), ApplyError> {
    let target = settings.target;
    let steps = migration.steps();
    let total = steps.len() as i32;
    let record = |count: usize| {
        format!(
            "INSERT INTO {table} (name, checksum, steps_applied, steps_total, finished_at) \
             VALUES ({name}, {sum}, {count}, {total}, CASE WHEN {count} = {total} THEN now() END) \
             ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, \
             steps_applied = EXCLUDED.steps_applied, steps_total = EXCLUDED.steps_total, \
             finished_at = EXCLUDED.finished_at",
            table = history_table(),
            name = quote_literal(&migration.name),
            sum = quote_literal(&migration.checksum()),
        )
    };
    let failed = |step: usize, error: tokio_postgres::Error| {
        let (migration, step) = (migration.name.clone(), step + 1);
        if gave_up_waiting(&error) {
            // The sessions are read once the transaction is rolled back.
            ApplyError::GaveUp {
                migration,
                step,
                error: Box::new(error.into()),
                sessions: Vec::new(),
            }
        } else {
            ApplyError::Step {
                migration,
                step,
                error: Box::new(error.into()),
            }
        }
    };
    if steps.is_empty() {
        client.batch_execute(&record(0)).await?;
        return Ok(());
    }
    let mut index = done;
    while index < steps.len() {
        // A step's own `SET` (not `SET LOCAL`) outlives it: each step starts from the apply's.
        settings.send(client).await?;
        if !steps[index].transactional {
            let statements: Vec<_> = split_statements(&steps[index].sql)
                .into_iter()
                .map(|sql| (sql, concurrent_index(sql)))
                .collect();
            // Collected, so that no closure is held across the awaits: the future stays `Send`.
            let builds: Vec<crate::pg::evolve::OutsideStatement<'_>> = statements
                .iter()
                .map(|(sql, built)| {
                    let built = built.as_ref();
                    (
                        *sql,
                        built.map(|(schema, name)| (schema.as_deref(), name.as_str())),
                    )
                })
                .collect();
            run_outside_transaction(client, builds, target == Target::Citus)
                .await
                .map_err(|e| failed(index, e))?;
            settings.send(client).await?;
            index += 1;
            client.batch_execute(&record(index)).await?;
            continue;
        }
        let transaction = client.transaction().await?;
        if target == Target::Citus {
            transaction.batch_execute(PROPAGATE_SET_LOCAL).await?;
        }
        let first = index;
        while index < steps.len()
            && steps[index].transactional
            && (index == first || !steps[index].boundary_before)
        {
            let sent = match target {
                Target::Plain => transaction.batch_execute(&steps[index].sql).await,
                Target::Citus => {
                    send_all(&transaction, split_statements(&steps[index].sql), target).await
                }
            };
            sent.map_err(|e| failed(index, e))?;
            index += 1;
        }
        transaction.batch_execute(&record(index)).await?;
        transaction.commit().await?;
    }
    Ok(())
}

/// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] "name" ON table` step
/// builds: the PostgreSQL schema its table is in when the statement names one
/// (`ON "billing"."invoices"`), and its name.
fn concurrent_index(sql: &str) -> Option<(Option<String>, String)> {
    let mark = "INDEX CONCURRENTLY ";
    let at = sql.find(mark)? + mark.len();
    if !sql[..at].contains("CREATE") {
        return None;
    }
    let rest = &sql[at..];
    let rest = rest.strip_prefix("IF NOT EXISTS ").unwrap_or(rest);
    let (name, rest) = quoted_identifier(rest)?;
    let table = rest.strip_prefix(" ON ").and_then(quoted_identifier);
    Some(match table {
        Some((schema, rest)) if rest.starts_with('.') => (Some(schema), name),
        _ => (None, name),
    })
}

/// The identifier a text starts with, written in double quotes, and the text after it.
fn quoted_identifier(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut name = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if chars.peek().map(|(_, c)| *c) == Some('"') {
                chars.next();
            } else {
                return Some((name, &body[i + 1..]));
            }
        }
        name.push(c);
    }
    None
}

/// The statements of a text, each without its `;`: split at semicolons outside quotes
/// (`'...'`, `E'...'`, `"..."`, `$tag$...$tag$`) and comments; blank pieces are left out.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
            }
            quote @ (b'\'' | b'"') => {
                let escaped = quote == b'\'' && i > 0 && matches!(bytes[i - 1], b'E' | b'e');
                i += 1;
                while i < bytes.len() {
                    if escaped && bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if bytes[i] == quote {
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'$' => {
                let tag_end = sql[i + 1..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .map(|n| i + 1 + n);
                match tag_end {
                    Some(end) if bytes[end] == b'$' => {
                        let tag = &sql[i..=end];
                        i = sql[end + 1..]
                            .find(tag)
                            .map_or(bytes.len(), |n| end + 1 + n + tag.len());
                    }
                    _ => i += 1,
                }
            }
            b';' => {
                statements.push(&sql[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    statements.push(&sql[start..]);
    statements
        .into_iter()
        .map(str::trim)
        .filter(|s| super::has_sql(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{concurrent_index, query_start, split_statements};

    #[test]
    fn a_query_is_shown_up_to_its_first_literal() {
        assert_eq!(
            query_start("UPDATE \"t2\"\n   SET note = 'private details' WHERE id = 42"),
            "UPDATE \"t2\" SET note = …"
        );
        assert_eq!(
            query_start("SELECT * FROM t WHERE id = $1"),
            "SELECT * FROM t WHERE id = …"
        );
        assert_eq!(query_start("UPDATE t SET n = 12345"), "UPDATE t SET n = …");
        assert_eq!(query_start("LOCK TABLE accounts"), "LOCK TABLE accounts");
        // A comment may name anyone.
        assert_eq!(query_start("/* for Jane Doe */ UPDATE t SET n = n"), "…");
        assert_eq!(
            query_start("LOCK TABLE accounts -- Jane Doe asked\nIN EXCLUSIVE MODE"),
            "LOCK TABLE accounts …"
        );
        assert_eq!(query_start("SELECT 2-1"), "SELECT …");
        assert_eq!(query_start(&"SELECT x ".repeat(20)).chars().count(), 62);
    }

    #[test]
    fn statements_split_outside_quotes_and_comments() {
        let sql = "SET lock_timeout = '5s';\n-- a; comment\nCREATE INDEX CONCURRENTLY \"a;b\" ON t (x);\n\
                   DO $fn$ BEGIN PERFORM 1; END $fn$;\nSELECT 'it''s; fine', E'\\';', /* ; */ 1;\n";
        assert_eq!(
            split_statements(sql),
            [
                "SET lock_timeout = '5s'",
                "-- a; comment\nCREATE INDEX CONCURRENTLY \"a;b\" ON t (x)",
                "DO $fn$ BEGIN PERFORM 1; END $fn$",
                "SELECT 'it''s; fine', E'\\';', /* ; */ 1",
            ]
        );
        assert_eq!(
            concurrent_index("CREATE UNIQUE INDEX CONCURRENTLY \"a\"\"b\" ON t (x)"),
            Some((None, "a\"b".into()))
        );
        assert_eq!(
            concurrent_index("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON t (x)"),
            Some((None, "i".into()))
        );
        assert_eq!(
            concurrent_index(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"billing\".\"t\" (x)"
            ),
            Some((Some("billing".into()), "i".into()))
        );
        assert_eq!(
            concurrent_index("CREATE INDEX CONCURRENTLY \"i.j\" ON \"t\" (x)"),
            Some((None, "i.j".into()))
        );
    }
}
