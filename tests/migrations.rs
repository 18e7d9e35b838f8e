//! Migrations against the real server: generated from the code, applied under a lock with a
//! history, refused when the history and the folder disagree, and the command line's `check`
//! exit codes.

mod common;

use std::path::{Path, PathBuf};

use common::TestDb;
use schema_core::migrate::apply::{apply, status, ApplyError, ApplyOptions, State};
use schema_core::migrate::{MigrateError, Migrations, NewMigration};
use schema_core::model::SchemaModel;
use schema_core::pg::introspect::{read_model, Scope};
use schema_core::pg::tokio_postgres::{Client, NoTls};
use shared::schemas::db::schema;

/// A temporary migrations folder, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "schema-migrations-{}",
            uuid::Uuid::new_v4().simple()
        ));
        Folder(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn read(&self) -> Migrations {
        Migrations::read_dir(&self.0).unwrap()
    }

    /// Writes the migration from the latest snapshot to `code`, made at `at` (unix seconds).
    fn add(&self, code: &SchemaModel, name: &str, at: i64) -> NewMigration {
        let migration = self.read().plan_new(code, name, &[], at).unwrap().unwrap();
        Migrations::write_new(&self.0, &migration).unwrap();
        migration
    }

    /// Writes a migration by hand.
    fn add_sql(&self, name: &str, up_sql: &str) {
        let latest = self.read();
        let snapshot = serde_json::json!({
            "format_version": 1,
            "parent": latest.latest().map(|m| m.name.clone()),
            "schema": latest.latest_schema(),
        });
        let folder = self.0.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("up.sql"), up_sql).unwrap();
        std::fs::write(folder.join("snapshot.json"), snapshot.to_string()).unwrap();
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn connect(rt: &tokio::runtime::Runtime, url: &str) -> Client {
    rt.block_on(async {
        let (client, connection) = schema_core::pg::tokio_postgres::connect(url, NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    })
}

fn code(db: &TestDb) -> SchemaModel {
    schema().with_names(db.names().clone()).model().unwrap()
}

const T0: i64 = 1_790_000_000;

/// Whether the table exists in `db`.
fn exists(db: &mut TestDb, table: &str) -> bool {
    db.client()
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .unwrap()
        .get(0)
}

/// A fresh database, a folder holding the schema's first migration, a runtime and a client.
fn with_init() -> (TestDb, Folder, tokio::runtime::Runtime, Client) {
    let db = TestDb::new();
    let folder = Folder::new();
    folder.add(&code(&db), "init", T0);
    let rt = runtime();
    let client = connect(&rt, db.url());
    (db, folder, rt, client)
}

fn history(db: &mut TestDb) -> Vec<(String, i32, i32)> {
    db.client()
        .query(
            "SELECT name, steps_applied, steps_total FROM schema_migrations ORDER BY name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[test]
fn applying_the_folder_to_an_empty_database_gives_the_catalog_of_the_dump() {
    let mut db = TestDb::new();
    let folder = Folder::new();
    folder.add(&code(&db), "init", T0);
    let rt = runtime();
    let mut client = connect(&rt, db.url());
    let applied = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    assert_eq!(applied.len(), 1);
    let migrated = rt
        .block_on(read_model(&client, &Scope::of(&code(&db))))
        .unwrap();
    assert!(
        migrated.unmanaged_tables.is_empty(),
        "the history table is not reported"
    );

    let mut dumped = TestDb::new();
    let ddl = schema().with_names(db.names().clone()).to_ddl().unwrap();
    dumped.client().batch_execute(&ddl).unwrap();
    let other = connect(&rt, dumped.url());
    let from_dump = rt
        .block_on(read_model(&other, &Scope::of(&code(&db))))
        .unwrap();
    assert_eq!(migrated.normalized(), from_dump.normalized());
    assert_eq!(history(&mut db).len(), 1);
    // Applying again does nothing.
    let again = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    assert!(again.is_empty());
}

#[test]
fn two_applies_at_once_apply_each_migration_once() {
    let db = TestDb::new();
    let folder = Folder::new();
    folder.add(&code(&db), "init", T0);
    folder.add_sql(
        "20300101000000_slow",
        "-- step 1\nSELECT pg_sleep(1);\nCREATE TABLE applied_once (id int);\nINSERT INTO applied_once VALUES (1);\n",
    );
    let url = db.url().to_string();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            let migrations = folder.read();
            std::thread::spawn(move || {
                let rt = runtime();
                let mut client = connect(&rt, &url);
                rt.block_on(apply(&mut client, &migrations, ApplyOptions::default()))
                    .unwrap()
            })
        })
        .collect();
    let mut applied: Vec<Vec<String>> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    applied.sort_by_key(Vec::len);
    assert_eq!(
        applied[0],
        Vec::<String>::new(),
        "the second waited, then found nothing to do"
    );
    assert_eq!(applied[1].len(), 2);
    let mut db = db;
    let rows: i64 = db
        .client()
        .query_one("SELECT count(*) FROM applied_once", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

#[test]
fn a_held_lock_times_out_naming_its_holder() {
    let db = TestDb::new();
    let folder = Folder::new();
    folder.add(&code(&db), "init", T0);
    let rt = runtime();
    let holder = connect(&rt, db.url());
    rt.block_on(holder.batch_execute("SET application_name = 'deployer-one'"))
        .unwrap();
    rt.block_on(holder.query_one(
        "SELECT pg_advisory_lock($1)",
        &[&schema_core::migrate::apply::LOCK_KEY],
    ))
    .unwrap();
    let mut client = connect(&rt, db.url());
    let options = ApplyOptions {
        lock_timeout: std::time::Duration::from_millis(300),
        ..ApplyOptions::default()
    };
    let error = rt
        .block_on(apply(&mut client, &folder.read(), options))
        .unwrap_err();
    match &error {
        ApplyError::Locked { holder, .. } => {
            assert!(
                holder
                    .as_deref()
                    .unwrap()
                    .contains("application deployer-one"),
                "{error}"
            )
        }
        other => panic!("expected the lock to time out, got {other}"),
    }
}

#[test]
fn an_edited_a_missing_and_an_out_of_order_migration_are_refused_before_anything_runs() {
    let (mut db, folder, rt, mut client) = with_init();
    folder.add_sql(
        "20300101000000_second",
        "-- step 1\nCREATE TABLE second (id int);\n",
    );
    rt.block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    let pending = "-- step 1\nCREATE TABLE third (id int);\n";
    folder.add_sql("20300102000000_third", pending);

    // Edited.
    let second = folder.path().join("20300101000000_second/up.sql");
    std::fs::write(&second, "-- step 1\nCREATE TABLE second (id bigint);\n").unwrap();
    let refused = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("20300101000000_second was applied, and its up.sql has changed"),
        "{refused}"
    );
    // Line endings alone are no change.
    std::fs::write(&second, "-- step 1\r\nCREATE TABLE second (id int);\r\n").unwrap();
    let states = rt.block_on(status(&client, &folder.read())).unwrap();
    assert_eq!(states[1].state, State::Applied);

    // Missing: the folder is gone.
    let moved = folder.path().with_extension("moved");
    std::fs::rename(folder.path().join("20300101000000_second"), &moved).unwrap();
    let refused = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("20300101000000_second was applied, and its folder is missing"),
        "{refused}"
    );
    std::fs::rename(&moved, folder.path().join("20300101000000_second")).unwrap();

    // Out of order: a migration merged from another branch sorts before an applied one.
    folder.add_sql(
        "20291231000000_late",
        "-- step 1\nCREATE TABLE late (id int);\n",
    );
    let refused = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("20291231000000_late is pending but sorts before 20300101000000_second"),
        "{refused}"
    );
    assert!(
        !exists(&mut db, "late") && !exists(&mut db, "third"),
        "nothing ran"
    );
    // Allowed by its flag, both pending ones apply.
    let applied = rt
        .block_on(apply(
            &mut client,
            &folder.read(),
            ApplyOptions {
                allow_out_of_order: true,
                ..ApplyOptions::default()
            },
        ))
        .unwrap();
    assert_eq!(applied, ["20291231000000_late", "20300102000000_third"]);
    assert!(exists(&mut db, "late") && exists(&mut db, "third"));
    assert_eq!(history(&mut db).len(), 4);
}

#[test]
fn a_failing_migration_leaves_history_and_database_agreeing() {
    let (mut db, folder, rt, mut client) = with_init();
    // One transaction: both steps or neither.
    folder.add_sql(
        "20300101000000_broken",
        "-- step 1\nCREATE TABLE half (id int);\n\n-- step 2\nALTER TABLE no_such_table ADD COLUMN x int;\n",
    );
    folder.add_sql(
        "20300102000000_after",
        "-- step 1\nCREATE TABLE after_it (id int);\n",
    );
    let error = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap_err();
    match &error {
        ApplyError::Step {
            migration, step, ..
        } => {
            assert_eq!((migration.as_str(), *step), ("20300101000000_broken", 2))
        }
        other => panic!("expected a failed step, got {other}"),
    }
    assert!(!exists(&mut db, "half") && !exists(&mut db, "after_it"));
    assert_eq!(
        history(&mut db).len(),
        1,
        "only the first migration is recorded"
    );

    // A step outside the transaction commits on its own: the history says how far it got.
    std::fs::write(
        folder.path().join("20300101000000_broken/up.sql"),
        "-- step 1\nCREATE TABLE half (id int);\n\n-- step 2 · no-transaction\nCREATE INDEX CONCURRENTLY half_id ON half (id);\n\n-- step 3\nALTER TABLE no_such_table ADD COLUMN x int;\n",
    )
    .unwrap();
    rt.block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap_err();
    assert!(exists(&mut db, "half") && exists(&mut db, "half_id"));
    assert_eq!(
        history(&mut db)[1],
        ("20300101000000_broken".to_string(), 2, 3)
    );
    let states = rt.block_on(status(&client, &folder.read())).unwrap();
    assert_eq!(
        states[1].to_string(),
        "partial  20300101000000_broken (2 of 3 steps applied)"
    );

    // Mended, it resumes at its third step.
    std::fs::write(
        folder.path().join("20300101000000_broken/up.sql"),
        "-- step 1\nCREATE TABLE half (id int);\n\n-- step 2 · no-transaction\nCREATE INDEX CONCURRENTLY half_id ON half (id);\n\n-- step 3\nALTER TABLE half ADD COLUMN x int;\n",
    )
    .unwrap();
    let applied = rt
        .block_on(apply(
            &mut client,
            &folder.read(),
            ApplyOptions {
                allow_changed: true,
                ..ApplyOptions::default()
            },
        ))
        .unwrap();
    assert_eq!(applied, ["20300101000000_broken", "20300102000000_after"]);
    assert!(exists(&mut db, "after_it"));
}

#[test]
fn a_concurrent_index_step_runs_outside_the_transaction_and_is_recorded() {
    let mut db = TestDb::new();
    let folder = Folder::new();
    let mut model = code(&db);
    folder.add(&model, "init", T0);
    add_subject_index(&mut model, "support_tickets_subject_idx");
    let migration = folder.add(&model, "subject_index", T0 + 60);
    assert!(migration.up_sql.contains(
        "· no-transaction · lock ShareUpdateExclusive · hazards BuildsIndex\nSET lock_timeout"
    ));
    let rt = runtime();
    let mut client = connect(&rt, db.url());
    rt.block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    let valid: bool = db
        .client()
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'support_tickets_subject_idx'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(valid);
    let recorded = history(&mut db);
    assert_eq!(recorded[1].1, recorded[1].2, "every step recorded");
}

#[test]
fn migrate_new_writes_nothing_when_nothing_changed_or_data_would_be_lost() {
    let db = TestDb::new();
    let folder = Folder::new();
    let model = code(&db);
    folder.add(&model, "init", T0);
    assert!(folder
        .read()
        .plan_new(&model, "again", &[], T0 + 1)
        .unwrap()
        .is_none());
    let mut narrower = model.clone();
    narrower.tables[1]
        .columns
        .retain(|c| c.name != "satisfaction_comment");
    for grant in &mut narrower.tables[1].grants {
        grant.columns.retain(|c| c != "satisfaction_comment");
    }
    let refused = folder
        .read()
        .plan_new(&narrower, "drop_comment", &[], T0 + 1)
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("support_tickets.satisfaction_comment: drops the column"),
        "{refused}"
    );
    assert_eq!(folder.read().migrations.len(), 1, "nothing was written");
    let allowed = folder
        .read()
        .plan_new(
            &narrower,
            "drop_comment",
            &["support_tickets.satisfaction_comment"],
            T0 + 1,
        )
        .unwrap()
        .unwrap();
    assert!(allowed.up_sql.contains("--   step 2: DeletesData, BreaksRunningCode (ALTER TABLE \"support_tickets\" DROP COLUMN \"satisfaction_comment\")"), "{}", allowed.up_sql);
}

#[test]
fn two_branches_that_each_added_a_migration_are_reported() {
    let db = TestDb::new();
    let folder = Folder::new();
    let model = code(&db);
    folder.add(&model, "init", T0);
    let mut a = model.clone();
    a.tables[0].comment = Some("branch a".into());
    let from_a = folder
        .read()
        .plan_new(&a, "branch_a", &[], T0 + 10)
        .unwrap()
        .unwrap();
    let mut b = model.clone();
    b.tables[0].comment = Some("branch b".into());
    let from_b = folder
        .read()
        .plan_new(&b, "branch_b", &[], T0 + 20)
        .unwrap()
        .unwrap();
    Migrations::write_new(folder.path(), &from_a).unwrap();
    Migrations::write_new(folder.path(), &from_b).unwrap();
    let error = folder
        .read()
        .plan_new(&b, "next", &[], T0 + 30)
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("both follow") && message.contains("two branches"),
        "{message}"
    );
    assert!(message.contains(&from_a.name) && message.contains(&from_b.name));
}

#[test]
fn the_applications_migrations_are_up_to_date() {
    schema_core::migrate::assert_up_to_date(
        &schema(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"),
    );
}

#[test]
#[should_panic(expected = "the schema has changed since migration")]
fn a_forgotten_migration_fails_the_test_that_checks_for_it() {
    let folder = Folder::new();
    let model = schema().model().unwrap();
    let mut older = model.clone();
    older.tables[0].comment = None;
    folder.add(&older, "init", T0);
    schema_core::migrate::assert_up_to_date(&schema(), folder.path());
}

/// `cargo run --example schema -- ARGS`, in process.
fn cli(db: &TestDb, args: &[&str]) -> u8 {
    let mut all = vec!["schema"];
    all.extend_from_slice(args);
    schema_core::cli::run_with(schema().with_names(db.names().clone()), all)
}

#[test]
fn check_exits_0_when_all_matches_1_on_drift_and_2_on_error() {
    let mut db = TestDb::new();
    let folder = Folder::new();
    let dir = folder.path().to_str().unwrap().to_string();
    let url = db.url().to_string();
    assert_eq!(cli(&db, &["migrate", "new", "init", "--dir", &dir]), 0);
    assert_eq!(
        cli(
            &db,
            &["migrate", "apply", "--database-url", &url, "--dir", &dir]
        ),
        0
    );
    assert_eq!(
        cli(&db, &["check", "--database-url", &url, "--dir", &dir]),
        0
    );
    db.client()
        .batch_execute("ALTER TABLE support_tickets ALTER COLUMN subject TYPE varchar(300)")
        .unwrap();
    assert_eq!(
        cli(&db, &["check", "--database-url", &url, "--dir", &dir]),
        1
    );
    let unreachable = "postgres://postgres@127.0.0.1:1/none";
    assert_eq!(
        cli(
            &db,
            &["check", "--database-url", unreachable, "--dir", &dir]
        ),
        2
    );
    // A forgotten `migrate new` is a failed check too, on a database that matches the code.
    let empty = Folder::new();
    db.client()
        .batch_execute("ALTER TABLE support_tickets ALTER COLUMN subject TYPE varchar(200)")
        .unwrap();
    let empty_dir = empty.path().to_str().unwrap();
    assert_eq!(
        cli(&db, &["check", "--database-url", &url, "--dir", empty_dir]),
        1
    );
}

mod cycle_v1 {
    use schema_core::PgTable;
    use uuid::Uuid;

    /// Accounts.
    #[derive(PgTable)]
    #[pg(table = "accounts")]
    #[allow(dead_code)]
    pub struct Account {
        #[pg(primary_key, default_sql = "gen_random_uuid()")]
        pub account_id: Uuid,
        #[pg(varchar = 50)]
        pub name: String,
        pub note: Option<String>,
    }
}

mod cycle_v2 {
    use schema_core::PgTable;
    use uuid::Uuid;

    /// Accounts.
    #[derive(PgTable)]
    #[pg(table = "accounts", index(name))]
    #[allow(dead_code)]
    pub struct Account {
        #[pg(primary_key, default_sql = "gen_random_uuid()")]
        pub account_id: Uuid,
        #[pg(varchar = 100)]
        pub name: String,
        #[pg(renamed_from = "note")]
        pub remark: Option<String>,
        #[pg(varchar = 255)]
        pub email: Option<String>,
    }
}

/// The accounts table, first as declared in `cycle_v1`, then in `cycle_v2`.
fn accounts_v1() -> schema_core::Schema {
    schema_core::Schema::new().table::<cycle_v1::Account>()
}

fn accounts_v2() -> schema_core::Schema {
    schema_core::Schema::new().table::<cycle_v2::Account>()
}

/// The command line on `schema`, in process.
fn run(schema: schema_core::Schema, args: &[&str]) -> u8 {
    let mut all = vec!["schema"];
    all.extend_from_slice(args);
    schema_core::cli::run_with(schema, all)
}

#[test]
fn a_full_cycle_declare_migrate_apply_change_migrate_apply_check_keeps_every_row() {
    let mut db = TestDb::new();
    let folder = Folder::new();
    let dir = folder.path().to_str().unwrap().to_string();
    let url = db.url().to_string();
    let (v1, v2) = (accounts_v1, accounts_v2);
    assert_eq!(run(v1(), &["migrate", "new", "init", "--dir", &dir]), 0);
    assert_eq!(
        run(
            v1(),
            &["migrate", "apply", "--database-url", &url, "--dir", &dir]
        ),
        0
    );
    db.client()
        .batch_execute(
            "INSERT INTO accounts (name, note) SELECT 'account ' || g, 'note ' || g \
             FROM generate_series(1, 50) g",
        )
        .unwrap();
    // The code changes: a rename, a widened type, a new column, a new index.
    assert_eq!(
        run(v2(), &["check", "--database-url", &url, "--dir", &dir]),
        1
    );
    assert_eq!(
        run(v2(), &["migrate", "new", "account_details", "--dir", &dir]),
        0
    );
    let second = folder.read().migrations[1].up_sql.clone();
    assert!(
        second.contains(r#"ALTER TABLE "accounts" RENAME COLUMN "note" TO "remark""#),
        "{second}"
    );
    assert!(second.contains(r#"ALTER TABLE "accounts" ALTER COLUMN "name" TYPE varchar(100)"#));
    assert!(second.contains(r#"CREATE INDEX CONCURRENTLY IF NOT EXISTS "accounts_name_idx""#));
    assert!(!second.contains("DROP"));
    assert_eq!(
        run(
            v2(),
            &["migrate", "apply", "--database-url", &url, "--dir", &dir]
        ),
        0
    );
    assert_eq!(
        run(v2(), &["check", "--database-url", &url, "--dir", &dir]),
        0
    );
    let kept: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM accounts WHERE remark = 'note ' || substr(name, 9) AND email IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 50);
}

#[test]
fn embedded_migrations_are_the_folders_migrations() {
    let embedded = Migrations::embedded(schema_core::embed_migrations!("migrations")).unwrap();
    assert_eq!(
        embedded,
        Migrations::read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations")).unwrap()
    );
    assert!(embedded
        .unrecorded_changes(&schema().model().unwrap())
        .is_empty());
}

/// The squawk findings of `up_sql` (rule, the step's header line) that are neither a hazard its
/// step declares nor a column type the schema asks for. `None` when squawk is not available
/// (outside CI; `scripts/test` provides it as `SQUAWK_BIN`).
fn undeclared_squawk_findings(up_sql: &Path) -> Option<Vec<String>> {
    let Ok(squawk) = std::env::var("SQUAWK_BIN") else {
        assert!(
            std::env::var("CI").map_or(true, |ci| ci.is_empty() || ci == "0" || ci == "false"),
            "SQUAWK_BIN is not set: run the tests with scripts/test"
        );
        eprintln!("squawk is not available (SQUAWK_BIN unset): the lint is skipped");
        return None;
    };
    // The file says where its transactions begin and end: squawk needs no flag for them.
    let output = std::process::Command::new(squawk)
        .args(["--pg-version", "15", "--reporter", "json"])
        .arg(up_sql)
        .output()
        .expect("run squawk");
    let findings: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "squawk's report: {e}: {}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
    let text = std::fs::read_to_string(up_sql).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut undeclared = Vec::new();
    for finding in findings {
        let rule = finding["rule_name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let line = finding["line"].as_u64().unwrap_or(0) as usize;
        let header = lines[..=line.min(lines.len() - 1)]
            .iter()
            .rev()
            .find(|l| l.starts_with("-- step "))
            .copied()
            .unwrap_or_default();
        let statement = lines.get(line).copied().unwrap_or_default();
        let declared = match rule.as_str() {
            // Column types the schema asks for.
            "prefer-text-field"
            | "prefer-bigint-over-int"
            | "prefer-bigint-over-smallint"
            | "prefer-timestamptz"
            | "prefer-identity" => true,
            "changing-column-type" => statement.contains(" TYPE "),
            "renaming-column" | "renaming-table" => header.contains("BreaksRunningCode"),
            "ban-drop-column" | "ban-drop-table" => header.contains("DeletesData"),
            "adding-field-with-default" => header.contains("RewritesTable"),
            _ => false,
        };
        if !declared {
            undeclared.push(format!("{rule} at {header:?}: {statement}"));
        }
    }
    Some(undeclared)
}

fn tickets(m: &mut SchemaModel) -> &mut schema_core::model::TableModel {
    m.tables
        .iter_mut()
        .find(|t| t.name == "support_tickets")
        .unwrap()
}

/// Adds an index `name` on the tickets' subject to the model.
fn add_subject_index(model: &mut SchemaModel, name: &str) {
    let t = tickets(model);
    let mut index = t.indexes[0].clone();
    index.name = name.into();
    index.keys.truncate(1);
    index.keys[0].column = "subject".into();
    t.indexes.push(index);
}

#[test]
fn every_generated_migration_passes_squawk_beyond_its_declared_hazards() {
    let db = TestDb::new();
    let folder = Folder::new();
    let mut model = code(&db);
    folder.add(&model, "init", T0);
    // One migration per kind of change.
    type Change = Box<dyn Fn(&mut SchemaModel)>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "rename_and_widen",
            Box::new(|m| {
                let t = tickets(m);
                let c = t
                    .columns
                    .iter_mut()
                    .find(|c| c.name == "resolution_notes")
                    .unwrap();
                c.name = "resolution".into();
                c.renamed_from = Some("resolution_notes".into());
                for g in &mut t.grants {
                    g.columns
                        .iter_mut()
                        .filter(|c| *c == "resolution_notes")
                        .for_each(|c| *c = "resolution".into());
                }
                t.columns
                    .iter_mut()
                    .find(|c| c.name == "subject")
                    .unwrap()
                    .sql_type = "varchar(300)".into();
            }),
        ),
        (
            "new_column_and_index",
            Box::new(|m| {
                let t = tickets(m);
                let mut c = t
                    .columns
                    .iter()
                    .find(|c| c.name == "context_url")
                    .unwrap()
                    .clone();
                c.name = "referrer".into();
                c.comment = None;
                t.columns.push(c);
                let mut index = t.indexes[0].clone();
                index.name = "support_tickets_referrer_idx".into();
                index.keys.truncate(1);
                index.keys[0].column = "referrer".into();
                t.indexes.push(index);
            }),
        ),
        (
            "not_null_check_and_default",
            Box::new(|m| {
                let t = tickets(m);
                let c = t.columns.iter_mut().find(|c| c.name == "referrer").unwrap();
                c.nullable = false;
                c.default = Some("'none'".into());
                t.checks.push(schema_core::model::CheckModel {
                    name: "support_tickets_subject_not_blank".into(),
                    renamed_from: None,
                    expression: "btrim(\"subject\") <> ''".into(),
                    no_inherit: false,
                });
            }),
        ),
        (
            "drop_referrer",
            Box::new(|m| {
                let t = tickets(m);
                t.columns.retain(|c| c.name != "referrer");
                t.indexes
                    .retain(|i| i.name != "support_tickets_referrer_idx");
            }),
        ),
    ];
    for (i, (name, change)) in changes.iter().enumerate() {
        change(&mut model);
        let allow = ["support_tickets.referrer"];
        let migration = folder
            .read()
            .plan_new(&model, name, &allow, T0 + 60 * (i as i64 + 1))
            .unwrap()
            .unwrap();
        Migrations::write_new(folder.path(), &migration).unwrap();
    }
    let mut checked = 0;
    for migration in folder.read().migrations {
        let path = folder.path().join(&migration.name).join("up.sql");
        let Some(undeclared) = undeclared_squawk_findings(&path) else {
            return;
        };
        assert_eq!(undeclared, Vec::<String>::new(), "{}", migration.up_sql);
        checked += 1;
    }
    assert_eq!(checked, 5);
    // The application's own migrations too.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for migration in Migrations::read_dir(&repo).unwrap().migrations {
        let undeclared = undeclared_squawk_findings(&repo.join(&migration.name).join("up.sql"));
        assert_eq!(undeclared.unwrap(), Vec::<String>::new());
    }
}

#[test]
fn an_index_a_failed_concurrent_build_left_invalid_is_built_again() {
    let mut db = TestDb::new();
    let folder = Folder::new();
    let mut model = code(&db);
    folder.add(&model, "init", T0);
    let rt = runtime();
    let mut client = connect(&rt, db.url());
    rt.block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    // A unique index over duplicates: the concurrent build fails.
    db.add_providers_with_tickets(1, 2);
    db.client()
        .batch_execute("UPDATE support_tickets SET subject = 'same'")
        .unwrap();
    let t = tickets(&mut model);
    let mut index = t.indexes[0].clone();
    index.name = "support_tickets_subject_key_idx".into();
    index.unique = true;
    index.keys.truncate(1);
    index.keys[0].column = "subject".into();
    t.indexes.push(index);
    folder.add(&model, "unique_subject", T0 + 60);
    let error = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap_err();
    assert!(error.to_string().contains("step"), "{error}");
    // Leave an invalid index of that name behind, as a build killed half-way does.
    db.client()
        .batch_execute(
            "CREATE UNIQUE INDEX CONCURRENTLY support_tickets_subject_key_idx \
             ON support_tickets (subject)",
        )
        .unwrap_err();
    let valid = |db: &mut TestDb| -> Option<bool> {
        db.client()
            .query_opt(
                "SELECT indisvalid FROM pg_index \
                 WHERE indexrelid = to_regclass('support_tickets_subject_key_idx')",
                &[],
            )
            .unwrap()
            .map(|r| r.get(0))
    };
    assert_eq!(valid(&mut db), Some(false));
    db.client()
        .batch_execute(
            "UPDATE support_tickets SET subject = ticket_id::text; \
             UPDATE schema_migrations SET steps_applied = 0 WHERE name LIKE '%unique_subject'",
        )
        .unwrap();
    rt.block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    assert_eq!(
        valid(&mut db),
        Some(true),
        "dropped and built again, not skipped"
    );
}

#[test]
fn the_mermaid_diagram_shows_tables_keys_and_references() {
    let mermaid = schema().model().unwrap().to_mermaid();
    assert!(mermaid.starts_with("erDiagram\n    providers {\n"));
    assert!(
        mermaid.contains("        uuid provider_id PK \"Unique identifier of the provider.\"\n")
    );
    assert!(mermaid.contains("        varchar_10 npi UK "));
    assert!(mermaid.contains("        uuid provider_id FK "));
    assert!(mermaid.contains("    providers ||--o{ support_tickets : \"provider_id\"\n"));
}

/// The default options, waiting at most `ms` milliseconds for a lock.
fn waiting_at_most_ms(ms: u64) -> ApplyOptions {
    ApplyOptions {
        lock_timeout: std::time::Duration::from_millis(ms),
        ..ApplyOptions::default()
    }
}

/// Applies the folder with the default options.
fn apply_default(
    rt: &tokio::runtime::Runtime,
    client: &mut Client,
    folder: &Folder,
) -> Result<Vec<String>, ApplyError> {
    rt.block_on(apply(client, &folder.read(), ApplyOptions::default()))
}

/// Whether the index exists and is valid (`None`: there is none of that name).
fn index_valid(db: &mut TestDb, name: &str) -> Option<bool> {
    db.client()
        .query_opt(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)",
            &[&name],
        )
        .unwrap()
        .map(|r| r.get(0))
}

/// A session of `application` that ran `statement` in a transaction it leaves open: its
/// client, its backend's pid and its user.
fn idle_in_transaction(
    rt: &tokio::runtime::Runtime,
    url: &str,
    application: &str,
    statement: &str,
) -> (Client, i32, String) {
    let client = connect(rt, url);
    let (pid, user) = rt
        .block_on(client.query_one("SELECT pg_backend_pid(), current_user::text", &[]))
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    rt.block_on(client.batch_execute(&format!("SET application_name = '{application}'; BEGIN")))
        .unwrap();
    // A query of its own, as `pg_stat_activity` shows the last one.
    rt.block_on(client.batch_execute(statement)).unwrap();
    (client, pid, user)
}

#[test]
fn a_concurrent_build_behind_an_idle_transaction_gives_up_naming_it_and_a_later_apply_finishes() {
    let (mut db, folder, rt, mut client) = with_init();
    apply_default(&rt, &mut client, &folder).unwrap();
    db.add_providers_with_tickets(1, 1);
    // A session that wrote and went idle without ending its transaction.
    let (blocker, blocker_pid, blocker_user) = idle_in_transaction(
        &rt,
        db.url(),
        "ticket-editor",
        "UPDATE support_tickets SET subject = 'private subject'",
    );

    // A new index, with the bounds of its step made small where the file sets them.
    let mut model = code(&db);
    add_subject_index(&mut model, "support_tickets_subject_idx");
    let migration = folder.add(&model, "subject_index", T0 + 60);
    let up = folder.path().join(&migration.name).join("up.sql");
    let text = std::fs::read_to_string(&up).unwrap();
    assert!(text.contains("SET lock_timeout = '5000ms'"), "{text}");
    std::fs::write(&up, text.replace("'5000ms'", "'200ms'")).unwrap();
    let options = waiting_at_most_ms(500);

    let gave_up = |client: &mut Client| {
        let error = rt
            .block_on(apply(client, &folder.read(), options))
            .unwrap_err();
        let message = error.to_string();
        match error {
            ApplyError::GaveUp {
                migration: name,
                step,
                sessions,
                ..
            } => {
                assert_eq!((name.as_str(), step), (migration.name.as_str(), 1));
                let session = sessions
                    .iter()
                    .find(|s| s.pid == blocker_pid)
                    .unwrap_or_else(|| panic!("the blocker is named: {message}"));
                assert_eq!(session.application, "ticket-editor");
                let activity = session.activity.as_ref().unwrap();
                assert_eq!(activity.state, "idle in transaction");
                assert_eq!(activity.query, "UPDATE support_tickets SET subject = …");
            }
            other => panic!("expected the step to give up, got {other}"),
        }
        assert!(
            message.contains(&format!(
                "waiting on backend {blocker_pid} of user {blocker_user} (application \"ticket-editor\", \
                 idle in transaction"
            )),
            "{message}"
        );
        assert!(!message.contains("private subject"), "{message}");
    };
    gave_up(&mut client);
    assert_eq!(
        index_valid(&mut db, "support_tickets_subject_idx"),
        Some(false),
        "the invalid index is left for the next apply"
    );
    // The migration lock was released: another deployer takes it at once.
    let other = connect(&rt, db.url());
    let lock = schema_core::migrate::apply::LOCK_KEY;
    let taken: bool = rt
        .block_on(other.query_one("SELECT pg_try_advisory_lock($1)", &[&lock]))
        .unwrap()
        .get(0);
    assert!(taken);
    rt.block_on(other.query_one("SELECT pg_advisory_unlock($1)", &[&lock]))
        .unwrap();
    // Still behind the blocker, the removal of the invalid index gives up within the step's
    // bound too, naming it.
    gave_up(&mut client);
    let states = rt.block_on(status(&client, &folder.read())).unwrap();
    assert_eq!(states[1].state, State::Pending);

    rt.block_on(blocker.batch_execute("ROLLBACK")).unwrap();
    let applied = rt
        .block_on(apply(&mut client, &folder.read(), options))
        .unwrap();
    assert_eq!(applied, std::slice::from_ref(&migration.name));
    assert_eq!(
        index_valid(&mut db, "support_tickets_subject_idx"),
        Some(true),
        "dropped and built again"
    );
    assert_eq!(history(&mut db)[1], (migration.name, 1, 1));
}

/// A database with a deployer login that may create in `public` (its role's name and URL),
/// and a folder holding the first migration of the accounts table.
fn deployer_with_accounts() -> (TestDb, Folder, String, String) {
    let mut db = TestDb::new();
    let folder = Folder::new();
    let deployer = db.role_name("deployer");
    let url = db.login_role_with("deployer", "");
    db.client()
        .batch_execute(&format!("GRANT CREATE ON SCHEMA public TO \"{deployer}\""))
        .unwrap();
    let dir = folder.path().to_str().unwrap();
    assert_eq!(
        run(accounts_v1(), &["migrate", "new", "init", "--dir", dir]),
        0
    );
    (db, folder, deployer, url)
}

#[test]
fn a_login_with_a_schema_of_its_own_name_migrates_public_as_any_other_login_does() {
    let (mut db, folder, deployer, deployer_url) = deployer_with_accounts();
    let dir = folder.path().to_str().unwrap().to_string();
    // What PostgreSQL 15 recommends: a schema of the login's name, first on its search path.
    db.client()
        .batch_execute(&format!(
            "CREATE SCHEMA \"{deployer}\" AUTHORIZATION \"{deployer}\""
        ))
        .unwrap();
    let (v1, v2) = (accounts_v1, accounts_v2);
    assert_eq!(
        run(
            v1(),
            &[
                "migrate",
                "apply",
                "--database-url",
                &deployer_url,
                "--dir",
                &dir
            ]
        ),
        0
    );
    let in_schema = |db: &mut TestDb, schema: &str| -> Vec<String> {
        db.client()
            .query(
                "SELECT relname::text FROM pg_class \
                 WHERE relnamespace = to_regnamespace($1) AND relkind = 'r' ORDER BY 1",
                &[&schema],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(
        in_schema(&mut db, "public"),
        ["accounts", "schema_migrations"]
    );
    assert!(in_schema(&mut db, &deployer).is_empty());

    // Another login applies the next migration: the first is not applied again.
    assert_eq!(
        run(v2(), &["migrate", "new", "account_details", "--dir", &dir]),
        0
    );
    let rt = runtime();
    let mut client = connect(&rt, db.url());
    let applied = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    assert_eq!(applied, [folder.read().migrations[1].name.clone()]);
    assert_eq!(history(&mut db).len(), 2);
    assert_eq!(
        in_schema(&mut db, "public"),
        ["accounts", "schema_migrations"]
    );
    // And the deployer finds both recorded.
    let mut as_deployer = connect(&rt, &deployer_url);
    let again = rt
        .block_on(apply(
            &mut as_deployer,
            &folder.read(),
            ApplyOptions::default(),
        ))
        .unwrap();
    assert!(again.is_empty());
    assert!(in_schema(&mut db, &deployer).is_empty());

    // A history an earlier version left in the login's schema is named, and nothing runs.
    db.client()
        .batch_execute(&format!(
            "ALTER TABLE public.schema_migrations SET SCHEMA \"{deployer}\""
        ))
        .unwrap();
    let error = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap_err();
    match &error {
        ApplyError::HistoryElsewhere { schema } => assert_eq!(schema, &deployer),
        other => panic!("expected the history to be found elsewhere, got {other}"),
    }
    assert!(
        error.to_string().contains(&format!(
            "the migration history is in \"{deployer}\".\"schema_migrations\", not in \
             \"public\".\"schema_migrations\""
        )),
        "{error}"
    );
    assert_eq!(
        in_schema(&mut db, "public"),
        ["accounts"],
        "nothing was applied"
    );
}

#[test]
fn a_folder_whose_stamp_is_not_a_date_is_refused_by_name() {
    let db = TestDb::new();
    let folder = Folder::new();
    let dir = folder.path().to_str().unwrap().to_string();
    folder.add(&code(&db), "init", T0);
    // A clock behind the latest migration still names the next one after it.
    let mut model = code(&db);
    model.tables[0].comment = Some("changed".into());
    let next = folder
        .read()
        .plan_new(&model, "next", &[], T0 - 3600)
        .unwrap()
        .unwrap();
    assert_eq!(next.name, "20260921141321_next");

    folder.add_sql("20261399999999_billing", "-- step 1\nSELECT 1;\n");
    let error = Migrations::read_dir(folder.path()).unwrap_err();
    assert!(
        matches!(&error, MigrateError::Stamp { name } if name == "20261399999999_billing"),
        "{error}"
    );
    assert!(
        error.to_string().contains(
            "migration folder `20261399999999_billing`: `20261399999999` is not a UTC date and time"
        ),
        "{error}"
    );
    assert_eq!(cli(&db, &["migrate", "new", "v2", "--dir", &dir]), 1);
    assert_eq!(
        std::fs::read_dir(folder.path()).unwrap().count(),
        2,
        "nothing was written"
    );
}

#[test]
fn a_history_row_whose_steps_disagree_with_its_file_is_refused_by_apply_and_status_alike() {
    let (mut db, folder, rt, mut client) = with_init();
    folder.add_sql(
        "20300101000000_two_steps",
        "-- step 1\nCREATE TABLE one (id int);\n\n-- step 2\nCREATE TABLE two (id int);\n",
    );
    apply_default(&rt, &mut client, &folder).unwrap();
    db.client()
        .batch_execute(
            "UPDATE schema_migrations SET steps_total = 3 WHERE name = '20300101000000_two_steps'",
        )
        .unwrap();
    let states = rt.block_on(status(&client, &folder.read())).unwrap();
    assert_eq!(
        states[1].state,
        State::Disagrees {
            applied: 2,
            recorded_total: 3,
            total: 2
        }
    );
    assert_eq!(
        states[1].to_string(),
        "disagrees  20300101000000_two_steps (the history records 2 of 3 steps applied, its \
         up.sql has 2: the history row was edited)"
    );
    let refused = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap_err();
    assert!(
        refused.to_string().contains(
            "20300101000000_two_steps: the history records 2 of 3 steps applied, but its up.sql \
             (unchanged) has 2"
        ),
        "{refused}"
    );
    // Set back, it is applied, and nothing runs.
    db.client()
        .batch_execute(
            "UPDATE schema_migrations SET steps_total = 2 WHERE name = '20300101000000_two_steps'",
        )
        .unwrap();
    let applied = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    assert!(applied.is_empty());
    let states = rt.block_on(status(&client, &folder.read())).unwrap();
    assert_eq!(states[1].state, State::Applied);
}

#[test]
fn an_edited_snapshot_is_refused_like_an_edited_up_sql_and_older_histories_are_recognised() {
    let (mut db, folder, rt, mut client) = with_init();
    apply_default(&rt, &mut client, &folder).unwrap();
    let migration = folder.read().migrations[0].clone();
    let recorded = |db: &mut TestDb| -> String {
        db.client()
            .query_one("SELECT checksum FROM schema_migrations", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(recorded(&mut db), migration.checksum());
    assert_eq!(recorded(&mut db).len(), 128);

    // A history written when the checksum covered up.sql alone.
    let older = |db: &mut TestDb| {
        db.client()
            .execute(
                "UPDATE schema_migrations SET checksum = $1",
                &[&migration.up_checksum()],
            )
            .unwrap();
    };
    older(&mut db);
    let states = rt.block_on(status(&client, &folder.read())).unwrap();
    assert_eq!(states[0].state, State::Applied);
    let applied = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    assert!(applied.is_empty());
    assert_eq!(
        recorded(&mut db),
        migration.checksum(),
        "recorded again with the snapshot's"
    );

    // Edited after it was applied.
    let snapshot = folder.path().join(&migration.name).join("snapshot.json");
    let text = std::fs::read_to_string(&snapshot).unwrap();
    let edited = text.replacen("\"comment\": \"", "\"comment\": \"Edited. ", 1);
    assert_ne!(edited, text);
    std::fs::write(&snapshot, &edited).unwrap();
    let states = rt.block_on(status(&client, &folder.read())).unwrap();
    assert_eq!(
        states[0].state,
        State::Changed {
            up_sql: false,
            snapshot: true
        }
    );
    let refused = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap_err();
    assert!(
        refused.to_string().contains(&format!(
            "{} was applied, and its snapshot.json has changed since",
            migration.name
        )),
        "{refused}"
    );
    // Line endings alone are no change.
    std::fs::write(&snapshot, text.replace('\n', "\r\n")).unwrap();
    let states = rt.block_on(status(&client, &folder.read())).unwrap();
    assert_eq!(states[0].state, State::Applied);

    // An older history cannot tell: a snapshot edited before the next apply is recorded as
    // that apply finds it.
    std::fs::write(&snapshot, &edited).unwrap();
    older(&mut db);
    let applied = rt
        .block_on(apply(&mut client, &folder.read(), ApplyOptions::default()))
        .unwrap();
    assert!(applied.is_empty());
    assert_eq!(recorded(&mut db), folder.read().migrations[0].checksum());
}

#[test]
fn a_step_that_sets_no_lock_timeout_waits_no_longer_than_the_applys() {
    // A deployer that owns what it migrates, and may not see other roles' activity.
    let (mut db, folder, _, deployer_url) = deployer_with_accounts();
    let rt = runtime();
    let mut client = connect(&rt, &deployer_url);
    apply_default(&rt, &mut client, &folder).unwrap();

    let (reader, reader_pid, reader_user) = idle_in_transaction(
        &rt,
        db.url(),
        "report",
        "LOCK TABLE accounts IN ACCESS SHARE MODE",
    );
    // Written by hand, without a timeout of its own.
    folder.add_sql(
        "20300101000000_by_hand",
        "-- step 1\nALTER TABLE accounts ADD COLUMN reviewed boolean;\n",
    );
    let error = rt
        .block_on(apply(&mut client, &folder.read(), waiting_at_most_ms(300)))
        .unwrap_err();
    match &error {
        ApplyError::GaveUp { sessions, .. } => {
            let session = sessions.iter().find(|s| s.pid == reader_pid).unwrap();
            assert_eq!(
                (session.user.as_str(), session.application.as_str()),
                (reader_user.as_str(), "report")
            );
            assert_eq!(session.activity, None, "hidden from the deployer");
        }
        other => panic!("expected the step to give up, got {other}"),
    }
    assert!(
        error.to_string().contains(&format!(
            "waiting on backend {reader_pid} of user {reader_user} (application \"report\", what \
             it does is hidden from this login; grant it pg_read_all_stats to see)"
        )),
        "{error}"
    );
    let recorded = |db: &mut TestDb| -> i64 {
        db.client()
            .query_one("SELECT count(*) FROM schema_migrations", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(recorded(&mut db), 1);
    rt.block_on(reader.batch_execute("COMMIT")).unwrap();
    rt.block_on(apply(&mut client, &folder.read(), waiting_at_most_ms(300)))
        .unwrap();
    assert_eq!(recorded(&mut db), 2);
}

#[test]
fn an_apply_whose_connection_dies_mid_step_is_resumed_by_the_next() {
    let (mut db, folder, rt, mut client) = with_init();
    apply_default(&rt, &mut client, &folder).unwrap();
    // The third step waits for a lock held here, and its backend dies there, as it does when
    // the deployer is killed.
    folder.add_sql(
        "20300101000000_three_steps",
        "-- step 1\nCREATE TABLE resumed (id int);\n\n\
         -- step 2 · no-transaction\nCREATE INDEX CONCURRENTLY resumed_id ON resumed (id);\n\n\
         BEGIN;\n-- step 3\nSELECT pg_advisory_xact_lock(7);\n\
         ALTER TABLE resumed ADD COLUMN note text;\nCOMMIT;\n",
    );
    let gate = connect(&rt, db.url());
    rt.block_on(gate.query_one("SELECT pg_advisory_lock(7)", &[]))
        .unwrap();
    let run = std::thread::spawn({
        let migrations = folder.read();
        let url = db.url().to_string();
        move || {
            let rt = runtime();
            let mut client = connect(&rt, &url);
            rt.block_on(apply(&mut client, &migrations, ApplyOptions::default()))
        }
    });
    let waiting = loop {
        let waiting: Option<i32> = db
            .client()
            .query_opt(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 7 \
                 AND NOT granted",
                &[],
            )
            .unwrap()
            .map(|r| r.get(0));
        if let Some(pid) = waiting {
            break pid;
        }
        std::thread::yield_now();
    };
    db.client()
        .query_one("SELECT pg_terminate_backend($1)", &[&waiting])
        .unwrap();
    assert!(run.join().unwrap().is_err());
    rt.block_on(gate.query_one("SELECT pg_advisory_unlock(7)", &[]))
        .unwrap();
    assert_eq!(
        history(&mut db)[1],
        ("20300101000000_three_steps".to_string(), 2, 3)
    );
    assert_eq!(index_valid(&mut db, "resumed_id"), Some(true));

    let applied = apply_default(&rt, &mut client, &folder).unwrap();
    assert_eq!(applied, ["20300101000000_three_steps"]);
    assert_eq!(
        history(&mut db)[1],
        ("20300101000000_three_steps".to_string(), 3, 3)
    );
    assert!(exists(&mut db, "resumed"));
    let note: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'resumed'::regclass \
             AND attname = 'note'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(note, 1);
}

#[test]
fn check_reads_public_as_apply_writes_it_whatever_the_logins_search_path() {
    let (mut db, folder, deployer, deployer_url) = deployer_with_accounts();
    let dir = folder.path().to_str().unwrap().to_string();
    let url = db.url().to_string();
    let (missing, own) = (db.role_name("nowhere"), deployer.clone());
    db.client()
        .batch_execute(&format!(
            "CREATE SCHEMA \"{own}\" AUTHORIZATION \"{deployer}\"; \
             DO $grant$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO %I', \
                 current_database(), '{deployer}'); END $grant$"
        ))
        .unwrap();
    let with_path = |path: &str| {
        format!(
            "{deployer_url}{}options=-c%20search_path%3D{}",
            if deployer_url.contains('?') { '&' } else { '?' },
            path.replace(',', "%2C").replace('"', "%22")
        )
    };
    // No current schema at all (empty, or naming a schema that does not exist), and a schema
    // of the login's own name first.
    let paths = [
        with_path("''"),
        with_path(&format!("\"{missing}\"")),
        with_path(&format!("\"{own}\",public")),
    ];
    assert_eq!(
        run(
            accounts_v1(),
            &[
                "migrate",
                "apply",
                "--database-url",
                &paths[0],
                "--dir",
                &dir
            ]
        ),
        0
    );
    for login in paths.iter().chain([&url]) {
        assert_eq!(
            run(
                accounts_v1(),
                &["check", "--database-url", login, "--dir", &dir]
            ),
            0,
            "{login}"
        );
        // And the drift finds nothing, as a library call.
        let drift = runtime()
            .block_on(schema_core::pg::evolve::drift(
                login,
                &accounts_v1(),
                schema_core::pg::evolve::Shadow::Transaction,
            ))
            .unwrap();
        assert!(drift.is_empty(), "{login}: {drift:?}");
    }
    // A shadow database given by URL, whose login has no current schema either.
    let shadow = TestDb::new();
    let shadow_url = format!(
        "{}{}options=-c%20search_path%3D%27%27",
        shadow.url(),
        if shadow.url().contains('?') { '&' } else { '?' }
    );
    assert_eq!(
        run(
            accounts_v1(),
            &[
                "check",
                "--database-url",
                &paths[0],
                "--dir",
                &dir,
                "--shadow-url",
                &shadow_url
            ]
        ),
        0
    );
}
