//! Migrations against the real server: generated from the code, applied under a lock with a
//! history, refused when the history and the folder disagree, and the command line's `check`
//! exit codes.

mod common;

use std::path::{Path, PathBuf};

use common::TestDb;
use schema_core::migrate::apply::{apply, status, ApplyError, ApplyOptions, State};
use schema_core::migrate::{Migrations, NewMigration};
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
    let mut db = TestDb::new();
    let folder = Folder::new();
    folder.add(&code(&db), "init", T0);
    folder.add_sql(
        "20300101000000_second",
        "-- step 1\nCREATE TABLE second (id int);\n",
    );
    let rt = runtime();
    let mut client = connect(&rt, db.url());
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
    let exists = |db: &mut TestDb, table: &str| -> bool {
        db.client()
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .unwrap()
            .get(0)
    };
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
