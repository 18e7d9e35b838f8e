//! Applying migrations to a database: an advisory lock so that two deployers never apply one
//! migration twice, a history table recording each migration by name with its checksum and how
//! many of its steps ran, and the checks that refuse a run before anything changes.

use std::fmt;
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::{Migration, Migrations};
use crate::pg::evolve::drop_invalid_index;
use crate::pg::PgError;
use crate::sql::{quote_ident, quote_literal};

pub use crate::pg::introspect::HISTORY_TABLE;

/// The key of the advisory lock every `apply` holds (one for the whole database), for
/// tooling that wants to wait on it too.
pub const LOCK_KEY: i64 = 0x5343_4845_4d41_4d49;

/// What an apply may do beyond the safe default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApplyOptions {
    /// How long to wait for another apply's lock before giving up.
    pub lock_timeout: Duration,
    /// Apply even though a recorded migration's file changed.
    pub allow_changed: bool,
    /// Apply even though a recorded migration's file is missing.
    pub allow_missing: bool,
    /// Apply a pending migration that sorts before an applied one.
    pub allow_out_of_order: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            lock_timeout: Duration::from_secs(60),
            allow_changed: false,
            allow_missing: false,
            allow_out_of_order: false,
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
    /// Recorded with another checksum: its file was edited after it was applied.
    Changed,
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
            State::Changed => write!(
                f,
                "changed  {} (its file differs from what was applied)",
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
            quote_ident(HISTORY_TABLE)
        ))
        .await?;
    Ok(())
}

async fn history(client: &Client) -> Result<Option<Vec<Record>>, ApplyError> {
    let exists: bool = client
        .query_one(
            "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
            &[&quote_ident(HISTORY_TABLE)],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let rows = client
        .query(
            &format!(
                "SELECT name, checksum, steps_applied, steps_total FROM {} ORDER BY name",
                quote_ident(HISTORY_TABLE)
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
            Some(r) if r.checksum != migration.checksum() => State::Changed,
            Some(r) if r.steps_applied < r.steps_total => State::Partial {
                applied: r.steps_applied,
                total: r.steps_total,
            },
            Some(_) => State::Applied,
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
/// or a pending one sorts before an applied one, unless `options` allows it). Holds an advisory
/// lock throughout, waiting at most `options.lock_timeout` for it. A migration left partial by
/// an earlier failure resumes at its first step not applied. Returns the migrations applied.
pub async fn apply(
    client: &mut Client,
    migrations: &Migrations,
    options: ApplyOptions,
) -> Result<Vec<String>, ApplyError> {
    client
        .batch_execute(&format!(
            "SET lock_timeout = {}",
            quote_literal(&format!("{}ms", options.lock_timeout.as_millis()))
        ))
        .await?;
    let locked = client
        .query_one("SELECT pg_catalog.pg_advisory_lock($1)", &[&LOCK_KEY])
        .await;
    client.batch_execute("RESET lock_timeout").await?;
    if let Err(error) = locked {
        if error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
            return Err(ApplyError::Locked {
                holder: lock_holder(client).await,
                waited: options.lock_timeout,
            });
        }
        return Err(error.into());
    }
    let result = apply_locked(client, migrations, options).await;
    let unlocked = client
        .query_one("SELECT pg_catalog.pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    let applied = result?;
    unlocked?;
    Ok(applied)
}

async fn apply_locked(
    client: &mut Client,
    migrations: &Migrations,
    options: ApplyOptions,
) -> Result<Vec<String>, ApplyError> {
    ensure_history(client).await?;
    let records = history(client).await?.unwrap_or_default();
    let mut problems = Vec::new();
    let last_applied = records.iter().map(|r| r.name.as_str()).max();
    for status in states(migrations, &records) {
        match status.state {
            State::Changed if !options.allow_changed => problems.push(format!(
                "{} was applied, and its {} has changed since (checksums differ)",
                status.name,
                super::UP_FILE
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
    let mut applied = Vec::new();
    for migration in &migrations.migrations {
        let record = records.iter().find(|r| r.name == migration.name);
        let done = match record {
            Some(r) if r.steps_applied >= r.steps_total => continue,
            Some(r) => r.steps_applied as usize,
            None => 0,
        };
        apply_one(client, migration, done).await?;
        applied.push(migration.name.clone());
    }
    Ok(applied)
}

/// Runs the steps of `migration` from step `done + 1`: each run of transactional steps (up to a
/// `COMMIT` line of the file) in one transaction with the history row's update, each
/// `no-transaction` step on its own, then its row updated.
async fn apply_one(
    client: &mut Client,
    migration: &Migration,
    done: usize,
) -> Result<(), ApplyError> {
    let steps = migration.steps();
    let total = steps.len() as i32;
    let record = |count: usize| {
        format!(
            "INSERT INTO {table} (name, checksum, steps_applied, steps_total, finished_at) \
             VALUES ({name}, {sum}, {count}, {total}, CASE WHEN {count} = {total} THEN now() END) \
             ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, \
             steps_applied = EXCLUDED.steps_applied, steps_total = EXCLUDED.steps_total, \
             finished_at = EXCLUDED.finished_at",
            table = quote_ident(HISTORY_TABLE),
            name = quote_literal(&migration.name),
            sum = quote_literal(&migration.checksum()),
        )
    };
    let failed = |step: usize, error: tokio_postgres::Error| ApplyError::Step {
        migration: migration.name.clone(),
        step: step + 1,
        error: Box::new(error.into()),
    };
    if steps.is_empty() {
        client.batch_execute(&record(0)).await?;
        return Ok(());
    }
    let mut index = done;
    while index < steps.len() {
        if !steps[index].transactional {
            // An index a failed concurrent build left invalid is dropped first, so that the
            // build (`IF NOT EXISTS`) runs again instead of keeping it.
            let built = concurrent_index(&steps[index].sql);
            if let Some((schema, name)) = &built {
                drop_invalid_index(client, schema.as_deref(), name)
                    .await
                    .map_err(|e| failed(index, e))?;
            }
            // One statement per query: several in one simple query form an implicit
            // transaction block, which `CONCURRENTLY` refuses.
            let mut result = Ok(());
            for statement in split_statements(&steps[index].sql) {
                result = client.batch_execute(statement).await;
                if result.is_err() {
                    break;
                }
            }
            let reset = client
                .batch_execute("RESET lock_timeout; RESET statement_timeout")
                .await;
            if let Err(error) = result {
                if let Some((schema, name)) = &built {
                    let _ = drop_invalid_index(client, schema.as_deref(), name).await;
                }
                return Err(failed(index, error));
            }
            reset?;
            index += 1;
            client.batch_execute(&record(index)).await?;
            continue;
        }
        let transaction = client.transaction().await?;
        let first = index;
        while index < steps.len()
            && steps[index].transactional
            && (index == first || !steps[index].boundary_before)
        {
            transaction
                .batch_execute(&steps[index].sql)
                .await
                .map_err(|e| failed(index, e))?;
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
    use super::{concurrent_index, split_statements};

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
