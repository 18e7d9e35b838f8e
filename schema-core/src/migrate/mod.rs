//! Migrations a team reviews as SQL (feature `migrate`): a folder of
//! `<UTC yyyymmddHHMMSS>_<name>/up.sql` files, each with the `snapshot.json` of the schema it
//! leads to, generated from the code by diffing the latest snapshot against it.
//!
//! - [`Migrations`] reads a folder (or migrations embedded in the binary);
//!   [`check_line`](Migrations::check_line) checks that it forms one line: every snapshot names
//!   the migration before it as its parent, so two branches that each added a migration after
//!   the same one are reported, never merged.
//! - [`Migrations::plan_new`] and [`Migrations::write_new`] make the next migration; a
//!   destructive step must be allowed by name, and nothing to change writes nothing.
//! - [`apply`](apply::apply) runs the pending ones under an advisory lock and records each in a
//!   history table with its SHA-256; [`status`](apply::status) tells applied, pending, changed
//!   and missing migrations apart.
//!
//! An `up.sql` is a list of steps, each opened by a `-- step` line; a step marked
//! `no-transaction` (a `CONCURRENTLY` index build) runs on its own, every other step of a
//! migration runs in one transaction with the migration's history row.

pub mod apply;

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diff::diff;
use crate::model::{ModelError, SchemaModel, FORMAT_VERSION};
use crate::plan::{plan_diff, Plan, Refused};
use crate::render::{Constraint, Statement};

/// The file each migration's SQL is in.
pub const UP_FILE: &str = "up.sql";
/// The file each migration's snapshot is in.
pub const SNAPSHOT_FILE: &str = "snapshot.json";

/// One migration: its name (the folder's), its SQL, and the schema it leads to.
#[derive(Clone, Debug, PartialEq)]
pub struct Migration {
    /// `<UTC yyyymmddHHMMSS>_<name>`: the order migrations apply in.
    pub name: String,
    /// The SQL, as in the file.
    pub up_sql: String,
    /// The schema after it, and the migration before it.
    pub snapshot: Snapshot,
    /// `snapshot.json` as in the file: its checksum is recorded with `up.sql`'s.
    pub snapshot_json: String,
}

/// What `snapshot.json` holds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The format's version: [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The migration this one follows; `None` for the first.
    pub parent: Option<String>,
    /// The schema once this migration is applied.
    pub schema: SchemaModel,
}

/// One step of an `up.sql`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStep {
    /// Its SQL, the timeouts included.
    pub sql: String,
    /// Whether it runs in the migration's transaction.
    pub transactional: bool,
    /// Whether a `BEGIN;` or `COMMIT;` line comes before it: it does not join the transaction
    /// of the step before it.
    pub boundary_before: bool,
}

/// Why a migrations folder cannot be read or written.
#[derive(Debug)]
pub enum MigrateError {
    /// A file or folder could not be read or written.
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A `snapshot.json` is not a snapshot.
    Snapshot {
        /// The migration.
        migration: String,
        /// Why.
        error: ModelError,
    },
    /// A migration's folder name is not `<14 digits>_<name>`, or a new name is not made of
    /// lower-case letters, digits and `_`.
    Name {
        /// The name.
        name: String,
    },
    /// A migration's folder name starts with 14 digits that are not a UTC date and time
    /// (`20261399999999_billing`): it would not sort where it was made.
    Stamp {
        /// The folder's name.
        name: String,
    },
    /// Two migrations follow the same one: they were made on two branches.
    Branches {
        /// The migration both follow (`None`: both are first).
        parent: Option<String>,
        /// The two migrations.
        migrations: (String, String),
    },
    /// A migration's snapshot does not name the migration before it as its parent.
    BrokenChain {
        /// The migration.
        migration: String,
        /// The parent it names.
        parent: Option<String>,
        /// The migration before it.
        previous: Option<String>,
    },
    /// The plan loses data that was not allowed; nothing was written.
    Refused(Refused),
    /// The schema in the code is not valid.
    Schema(crate::SchemaError),
}

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            MigrateError::Snapshot { migration, error } => {
                write!(f, "migration {migration}: {SNAPSHOT_FILE}: {error}")
            }
            MigrateError::Name { name } => write!(
                f,
                "`{name}` is not a migration name: use lower-case letters, digits and `_` \
                 (folders are `<UTC yyyymmddHHMMSS>_<name>`)"
            ),
            MigrateError::Stamp { name } => write!(
                f,
                "migration folder `{name}`: `{}` is not a UTC date and time \
                 (yyyymmddHHMMSS); rename the folder with the time it was made",
                &name[..name.len().min(14)]
            ),
            MigrateError::Branches {
                parent,
                migrations: (a, b),
            } => write!(
                f,
                "migrations {a} and {b} both follow {}: they were made on two branches. Keep \
                 one: delete the other's folder, then run `migrate new` again on top of it (a \
                 migration already applied somewhere must stay; delete the one that was not)",
                parent.as_deref().unwrap_or("nothing (both are first)")
            ),
            MigrateError::BrokenChain {
                migration,
                parent,
                previous,
            } => write!(
                f,
                "migration {migration} follows {} but the migration before it is {}: was a \
                 migration renamed or deleted?",
                parent.as_deref().unwrap_or("nothing"),
                previous.as_deref().unwrap_or("none")
            ),
            MigrateError::Refused(refused) => write!(
                f,
                "{refused}allow each with `--allow-data-loss OBJECT` (nothing was written)"
            ),
            MigrateError::Schema(error) => write!(f, "the schema is not valid: {error}"),
        }
    }
}

impl std::error::Error for MigrateError {}

impl From<crate::SchemaError> for MigrateError {
    fn from(error: crate::SchemaError) -> Self {
        MigrateError::Schema(error)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MigrateError + '_ {
    move |error| MigrateError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// A migration embedded in a binary: its name and the text of its two files (see
/// `embed_migrations!`).
#[derive(Clone, Copy, Debug)]
pub struct EmbeddedMigration {
    /// The folder's name.
    pub name: &'static str,
    /// `up.sql`.
    pub up_sql: &'static str,
    /// `snapshot.json`.
    pub snapshot: &'static str,
}

/// The migrations of a folder, in name order, checked to form one line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Migrations {
    /// The migrations, in the order they apply.
    pub migrations: Vec<Migration>,
}

/// A migration to write: what [`Migrations::plan_new`] makes.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMigration {
    /// Its name.
    pub name: String,
    /// The plan its SQL comes from.
    pub plan: Plan,
    /// Its `up.sql`.
    pub up_sql: String,
    /// Its snapshot.
    pub snapshot: Snapshot,
}

impl Migrations {
    /// Reads every `<name>/up.sql` and `<name>/snapshot.json` under `dir`, in name order; a
    /// missing folder holds no migrations. Other files are ignored.
    pub fn read_dir(dir: &Path) -> Result<Self, MigrateError> {
        let mut names = Vec::new();
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(io(dir))?;
                    if entry.path().join(UP_FILE).is_file() {
                        names.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io(dir)(error)),
        }
        names.sort();
        let mut migrations = Vec::new();
        for name in names {
            let folder = dir.join(&name);
            let up = folder.join(UP_FILE);
            let up_sql = std::fs::read_to_string(&up).map_err(io(&up))?;
            let snap = folder.join(SNAPSHOT_FILE);
            let json = std::fs::read_to_string(&snap).map_err(io(&snap))?;
            migrations.push(Migration::parse(&name, up_sql, &json)?);
        }
        Self::checked(migrations)
    }

    /// The migrations embedded in a binary.
    pub fn embedded(embedded: &[EmbeddedMigration]) -> Result<Self, MigrateError> {
        let mut migrations = embedded
            .iter()
            .map(|m| Migration::parse(m.name, m.up_sql.to_string(), m.snapshot))
            .collect::<Result<Vec<_>, _>>()?;
        migrations.sort_by(|a, b| a.name.cmp(&b.name));
        Self::checked(migrations)
    }

    fn checked(migrations: Vec<Migration>) -> Result<Self, MigrateError> {
        for migration in &migrations {
            let name = migration.name.clone();
            if !valid_folder_name(&name) {
                return Err(MigrateError::Name { name });
            }
            if stamp_of(&name).is_none() {
                return Err(MigrateError::Stamp { name });
            }
        }
        Ok(Migrations { migrations })
    }

    /// Whether the migrations form one line: each snapshot names the migration before it as
    /// its parent. Two migrations made on two branches after the same one are reported (with
    /// what to do), never merged; [`plan_new`](Self::plan_new) refuses to write on top of them.
    pub fn check_line(&self) -> Result<(), MigrateError> {
        let migrations = &self.migrations;
        for (i, migration) in migrations.iter().enumerate() {
            let parent = &migration.snapshot.parent;
            if let Some(other) = migrations[..i]
                .iter()
                .find(|m| m.snapshot.parent == *parent)
            {
                return Err(MigrateError::Branches {
                    parent: parent.clone(),
                    migrations: (other.name.clone(), migration.name.clone()),
                });
            }
            let previous = i.checked_sub(1).map(|p| migrations[p].name.clone());
            if *parent != previous {
                return Err(MigrateError::BrokenChain {
                    migration: migration.name.clone(),
                    parent: parent.clone(),
                    previous,
                });
            }
        }
        Ok(())
    }

    /// The latest migration.
    pub fn latest(&self) -> Option<&Migration> {
        self.migrations.last()
    }

    /// The schema the latest migration leads to; an empty one before the first.
    pub fn latest_schema(&self) -> SchemaModel {
        self.latest()
            .map_or_else(SchemaModel::empty, |m| m.snapshot.schema.clone())
    }

    /// The next migration, `name`, from the latest snapshot to `code`, made at `unix_seconds`;
    /// `Ok(None)` when there is nothing to change. A destructive step whose object `allow` does
    /// not name refuses the whole migration.
    pub fn plan_new(
        &self,
        code: &SchemaModel,
        name: &str,
        allow: &[&str],
        unix_seconds: i64,
    ) -> Result<Option<NewMigration>, MigrateError> {
        self.plan_new_as(code, name, allow, unix_seconds, Ok)
    }

    /// The next migration of `schema` for its target ([`Schema::target`](crate::Schema::target)):
    /// [`plan_new`](Self::plan_new) of its model, and on Citus the plan as it runs there
    /// ([`target::citus::plan`](crate::target::citus::plan): each new table's distribution
    /// call after its `CREATE TABLE`, the steps Citus refuses refused here).
    pub fn plan_new_for(
        &self,
        schema: &crate::Schema,
        name: &str,
        allow: &[&str],
        unix_seconds: i64,
    ) -> Result<Option<NewMigration>, MigrateError> {
        let code = schema.model().map_err(MigrateError::Schema)?;
        match schema.target() {
            crate::Target::Plain => self.plan_new(&code, name, allow, unix_seconds),
            crate::Target::Citus => self.plan_new_as(&code, name, allow, unix_seconds, |plan| {
                crate::target::citus::plan(schema, plan, &[]).map_err(MigrateError::Schema)
            }),
        }
    }

    fn plan_new_as(
        &self,
        code: &SchemaModel,
        name: &str,
        allow: &[&str],
        unix_seconds: i64,
        adapt: impl FnOnce(Plan) -> Result<Plan, MigrateError>,
    ) -> Result<Option<NewMigration>, MigrateError> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(MigrateError::Name { name: name.into() });
        }
        self.check_line()?;
        let from = self.latest_schema();
        let plan = plan_diff(&diff(&from, code), code);
        if plan.is_empty() {
            return Ok(None);
        }
        plan.check_allowed(allow).map_err(MigrateError::Refused)?;
        let plan = adapt(plan)?;
        // Names sort in the order migrations are made, even when the clock is behind.
        let after_latest = self.latest().and_then(|m| stamp_of(&m.name)).map(|t| t + 1);
        let stamp = timestamp(after_latest.map_or(unix_seconds, |t| t.max(unix_seconds)));
        let name = format!("{stamp}_{name}");
        Ok(Some(NewMigration {
            up_sql: render_up(&name, &plan),
            snapshot: Snapshot {
                format_version: FORMAT_VERSION,
                parent: self.latest().map(|m| m.name.clone()),
                schema: code.clone(),
            },
            name,
            plan,
        }))
    }

    /// The changes between the latest migration's snapshot and `code`, as readable lines:
    /// empty when every change of the code has its migration.
    pub fn unrecorded_changes(&self, code: &SchemaModel) -> Vec<String> {
        diff(&self.latest_schema(), code)
            .changes
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Writes `migration` under `dir` (creating it): `<name>/up.sql` and `<name>/snapshot.json`.
    pub fn write_new(dir: &Path, migration: &NewMigration) -> Result<PathBuf, MigrateError> {
        let folder = dir.join(&migration.name);
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        let up = folder.join(UP_FILE);
        std::fs::write(&up, &migration.up_sql).map_err(io(&up))?;
        let snap = folder.join(SNAPSHOT_FILE);
        let json = serde_json::to_string_pretty(&migration.snapshot)
            .expect("a snapshot always serializes");
        std::fs::write(&snap, json + "\n").map_err(io(&snap))?;
        Ok(folder)
    }
}

impl Migration {
    fn parse(name: &str, up_sql: String, json: &str) -> Result<Self, MigrateError> {
        let snapshot_error = |error| MigrateError::Snapshot {
            migration: name.into(),
            error,
        };
        #[derive(serde::Deserialize)]
        struct Version {
            format_version: u32,
        }
        let version: Version =
            serde_json::from_str(json).map_err(|e| snapshot_error(ModelError::Json(e)))?;
        if version.format_version != FORMAT_VERSION {
            return Err(snapshot_error(ModelError::Version {
                found: version.format_version,
            }));
        }
        let snapshot: Snapshot =
            serde_json::from_str(json).map_err(|e| snapshot_error(ModelError::Json(e)))?;
        Ok(Migration {
            name: name.into(),
            up_sql,
            snapshot,
            snapshot_json: json.into(),
        })
    }

    /// What the history table records: the [`checksum`] of `up.sql` followed by that of
    /// `snapshot.json` (128 hex digits), so that an edit of either is seen. Histories written
    /// before the snapshot was covered hold `up.sql`'s alone ([`up_checksum`](Self::up_checksum)).
    pub fn checksum(&self) -> String {
        checksum(&self.up_sql) + &checksum(&self.snapshot_json)
    }

    /// The [`checksum`] of `up.sql` alone: the first half of [`checksum`](Self::checksum), and
    /// all that histories written before the snapshot was covered hold.
    pub fn up_checksum(&self) -> String {
        checksum(&self.up_sql)
    }

    /// The steps of `up.sql`.
    pub fn steps(&self) -> Vec<MigrationStep> {
        parse_steps(&self.up_sql)
    }
}

/// Panics, listing what changed, when `schema` has changed since the latest migration in
/// `dir`: call it from a `#[test]` so that `cargo test` fails when a migration was forgotten.
///
/// ```no_run
/// # fn schema() -> schema_core::Schema { schema_core::Schema::new() }
/// #[test]
/// fn every_schema_change_has_a_migration() {
///     schema_core::migrate::assert_up_to_date(&schema(), "migrations");
/// }
/// ```
pub fn assert_up_to_date(schema: &crate::Schema, dir: impl AsRef<Path>) {
    let dir = dir.as_ref();
    let migrations = Migrations::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read the migrations in {}: {error}", dir.display()));
    let code = schema
        .model()
        .unwrap_or_else(|error| panic!("the schema is not valid: {error}"));
    let changes = migrations.unrecorded_changes(&code);
    if !changes.is_empty() {
        panic!(
            "the schema has changed since {}; run `migrate new NAME` to write its migration:\n  {}",
            migrations.latest().map_or(
                "the start (there is no migration yet)".to_string(),
                |m| format!("migration {}", m.name)
            ),
            changes.join("\n  ")
        );
    }
}

/// The SHA-256 of a file's text with `\r\n` read as `\n`, in hex.
pub fn checksum(text: &str) -> String {
    let digest = Sha256::digest(text.replace("\r\n", "\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_folder_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 15
        && bytes[..14].iter().all(u8::is_ascii_digit)
        && bytes[14] == b'_'
        && bytes[15..]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// `yyyymmddHHMMSS` in UTC.
fn timestamp(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// The time a folder name's `yyyymmddHHMMSS` stamp says, in unix seconds; `None` when its
/// first 14 characters are not a UTC date and time.
fn stamp_of(name: &str) -> Option<i64> {
    let stamp = name.get(..14)?;
    let time = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S").ok()?;
    let seconds = time.and_utc().timestamp();
    // Written back, so that only the one spelling of a time counts (no leap second `60`).
    (timestamp(seconds) == stamp).then_some(seconds)
}

/// The line that opens each step of an `up.sql`.
const STEP_MARK: &str = "-- step ";
/// The mark of a step that runs outside the migration's transaction.
const NO_TRANSACTION: &str = "no-transaction";

/// The `up.sql` of a plan: the encoding it is written in
/// ([`ENCODING_HEADER`](crate::render::ENCODING_HEADER), for `psql`; the runner, which sends
/// UTF-8, skips it with the rest of the header), a header listing every hazard, then each step
/// opened by a `-- step` line naming its lock, its hazards and, for a step that cannot run in a
/// transaction, `no-transaction`. Files written before the encoding line was added keep their
/// text and their checksums.
pub fn render_up(name: &str, plan: &Plan) -> String {
    let mut out = format!(
        "{}-- Migration {name}, generated from the code by schema-core; review it before it is \
         applied.\n-- The steps between BEGIN and COMMIT run in one transaction with the \
         migration's history row;\n-- those marked `{NO_TRANSACTION}` run on their own.\n--\n",
        crate::render::ENCODING_HEADER
    );
    let hazardous: Vec<_> = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.hazards.is_empty())
        .collect();
    if hazardous.is_empty() {
        out.push_str("-- Hazards: none.\n");
    } else {
        out.push_str("-- Hazards:\n");
        for (i, step) in hazardous {
            let hazards: Vec<String> = step.hazards.iter().map(|h| format!("{h:?}")).collect();
            let first_line = step.sql.lines().next().unwrap_or_default();
            out.push_str(&format!(
                "--   step {}: {} ({first_line})\n",
                i + 1,
                hazards.join(", ")
            ));
        }
    }
    for suggestion in &plan.suggestions {
        out.push_str(&format!("-- Note: {suggestion}\n"));
    }
    let mut in_transaction = false;
    for (i, step) in plan.steps.iter().enumerate() {
        if in_transaction && (!step.transactional || step.isolated) {
            out.push_str("\nCOMMIT;\n");
            in_transaction = false;
        }
        if step.transactional && !in_transaction {
            out.push_str("\nBEGIN;\n");
            in_transaction = true;
        }
        out.push_str(&format!("\n{STEP_MARK}{}", i + 1));
        if !step.transactional {
            out.push_str(&format!(" · {NO_TRANSACTION}"));
        }
        out.push_str(&format!(" · lock {:?}", step.lock));
        if !step.hazards.is_empty() {
            let hazards: Vec<String> = step.hazards.iter().map(|h| format!("{h:?}")).collect();
            out.push_str(&format!(" · hazards {}", hazards.join(", ")));
        }
        out.push('\n');
        for setting in step.settings(step.transactional) {
            out.push_str(&setting);
            out.push_str(";\n");
        }
        if let Statement::DropConstraint { name, .. } = &step.statement {
            let added_here = plan.steps[..i].iter().any(|s| {
                matches!(&s.statement, Statement::AddConstraint { constraint: Constraint::Check(c), .. } if c.name == *name)
            });
            if added_here {
                out.push_str(
                    "-- The check was added above only so that SET NOT NULL need not scan the \
                     table; no client knows it.\n-- squawk-ignore ban-drop-constraint\n",
                );
            }
        }
        out.push_str(&step.sql);
        out.push_str(";\n");
        if step.isolated {
            out.push_str("\nCOMMIT;\n");
            in_transaction = false;
        }
    }
    if in_transaction {
        out.push_str("\nCOMMIT;\n");
    }
    out
}

/// The steps of an `up.sql`: each `-- step` line opens one, and what comes before the first
/// is the header. A file without any `-- step` line (written by hand) is one transactional
/// step.
pub fn parse_steps(up_sql: &str) -> Vec<MigrationStep> {
    let text = up_sql.replace("\r\n", "\n");
    let mut steps: Vec<MigrationStep> = Vec::new();
    let mut header = String::new();
    let mut boundary_before = false;
    for line in text.split_inclusive('\n') {
        // Exactly `BEGIN;` or `COMMIT;` on a line of its own (a PL/pgSQL body's `BEGIN` has no
        // semicolon).
        let bare = line.trim().to_ascii_uppercase();
        if bare == "BEGIN;" || bare == "COMMIT;" {
            // The file's own transaction lines: the runner opens and commits the transactions
            // itself (with the history row), where the file says.
            boundary_before = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix(STEP_MARK) {
            steps.push(MigrationStep {
                sql: String::new(),
                transactional: !rest.contains(NO_TRANSACTION),
                boundary_before,
            });
            boundary_before = false;
        } else if let Some(step) = steps.last_mut() {
            step.sql.push_str(line);
        } else {
            header.push_str(line);
        }
    }
    if steps.is_empty() {
        steps.push(MigrationStep {
            sql: header,
            transactional: true,
            boundary_before: false,
        });
    }
    steps.retain(|s| has_sql(&s.sql));
    steps
}

/// Whether a text holds anything but blank lines and `--` comments.
pub(crate) fn has_sql(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with("--")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_split_at_their_marks_and_keep_their_transaction_mark() {
        let up = "-- header\n\nBEGIN;\n\n-- step 1 · lock AccessExclusive\nSET LOCAL x = 1;\nALTER TABLE a;\n\n\
                  COMMIT;\n\n-- step 2 · no-transaction · lock ShareUpdateExclusive\r\nCREATE INDEX CONCURRENTLY i;\n\n\
                  BEGIN;\n-- step 3\nALTER TABLE b;\nCOMMIT;\n";
        let steps = parse_steps(up);
        assert_eq!(steps.len(), 3);
        assert!(steps[2].boundary_before);
        let joined = parse_steps("BEGIN;\n-- step 1\nA;\n-- step 2\nB;\nCOMMIT;\n");
        assert_eq!(
            joined.iter().map(|s| s.boundary_before).collect::<Vec<_>>(),
            [true, false]
        );
        assert!(steps[0].transactional);
        assert_eq!(steps[0].sql.trim_end(), "SET LOCAL x = 1;\nALTER TABLE a;");
        assert!(!steps[1].transactional);
        assert_eq!(parse_steps("-- by hand\nUPDATE t SET x = 1;\n").len(), 1);
        assert!(parse_steps("-- only a comment\n").is_empty());
    }

    #[test]
    fn checksums_ignore_line_endings() {
        assert_eq!(checksum("a;\nb;\n"), checksum("a;\r\nb;\r\n"));
        assert_ne!(checksum("a;\n"), checksum("b;\n"));
        assert_eq!(checksum("").len(), 64);
    }

    #[test]
    fn hostile_names_are_refused_before_anything_is_planned_or_read() {
        let hostile = [
            "../escape",
            "a/../../b",
            "x; DROP TABLE t",
            "x\"y",
            "Init",
            "",
        ];
        let snapshot = serde_json::to_string(&Snapshot {
            format_version: FORMAT_VERSION,
            parent: None,
            schema: SchemaModel::empty(),
        })
        .unwrap();
        let snapshot: &'static str = Box::leak(snapshot.into_boxed_str());
        for name in hostile {
            let refused = Migrations::default().plan_new(&SchemaModel::empty(), name, &[], 0);
            assert!(
                matches!(refused, Err(MigrateError::Name { .. })),
                "{name:?}: {refused:?}"
            );
            let folder = format!("20261126093000_{name}");
            let embedded = [EmbeddedMigration {
                name: Box::leak(folder.into_boxed_str()),
                up_sql: "SELECT 1;",
                snapshot,
            }];
            let read = Migrations::embedded(&embedded);
            assert!(
                matches!(read, Err(MigrateError::Name { .. })),
                "{name:?}: {read:?}"
            );
        }
    }

    #[test]
    fn names_are_timestamps_in_utc_and_sort_after_the_latest() {
        assert_eq!(timestamp(0), "19700101000000");
        let stamp = |name| stamp_of(name).map(timestamp);
        assert_eq!(stamp("20261126235959_x").as_deref(), Some("20261126235959"));
        assert_eq!(stamp("20261399999999_billing"), None);
        assert_eq!(stamp("20260230120000_x"), None);
        assert_eq!(stamp("20261231235960_x"), None);
        assert!(valid_folder_name("20261126093000_add_channel"));
        assert!(!valid_folder_name("20261126093000_Add"));
        assert!(!valid_folder_name("2026112609300_x"));
    }
}
