//! The whole cycle as a team runs it, from a scratch crate of its own built by cargo: declare a
//! table, `migrate new`, apply, change the code (a rename, a widened type, a new column, a new
//! index), `migrate new`, apply, `check` passes, and the rows written before are all there.

mod common;

use common::scratch::{schema_core_path, Scratch};
use common::TestDb;

const V1: &str = r#"
use schema_core::{PgTable, Schema};

/// Accounts.
#[derive(PgTable)]
#[pg(table = "accounts")]
#[allow(dead_code)]
struct Account {
    #[pg(primary_key)]
    account_id: i64,
    #[pg(varchar = 50)]
    name: String,
    note: Option<String>,
}

fn main() -> std::process::ExitCode {
    schema_core::cli::run(Schema::new().table::<Account>())
}
"#;

const V2: &str = r#"
use schema_core::{PgTable, Schema};

/// Accounts.
#[derive(PgTable)]
#[pg(table = "accounts", index(name))]
#[allow(dead_code)]
struct Account {
    #[pg(primary_key)]
    account_id: i64,
    #[pg(varchar = 100)]
    name: String,
    #[pg(renamed_from = "note")]
    remark: Option<String>,
    #[pg(varchar = 255)]
    email: Option<String>,
}

fn main() -> std::process::ExitCode {
    schema_core::cli::run(Schema::new().table::<Account>())
}
"#;

/// The scratch crate: schema-core by path, with the command line.
fn scratch() -> Scratch {
    Scratch::with_dependencies(&format!(
        "schema-core = {{ path = {:?}, features = [\"cli\"] }}",
        schema_core_path()
    ))
}

#[test]
fn a_scratch_crate_goes_through_the_whole_cycle_and_keeps_its_rows() {
    let mut db = TestDb::new();
    let url = db.url().to_string();
    let scratch = scratch();
    scratch.write_main(V1);
    let (code, out) = scratch.run(&["migrate", "new", "init"], &url);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("wrote migrations/"), "{out}");
    let (code, out) = scratch.run(&["migrate", "apply"], &url);
    assert_eq!(
        (code, out.trim().starts_with("applied ")),
        (0, true),
        "{out}"
    );
    db.client()
        .batch_execute(
            "INSERT INTO accounts (account_id, name, note) \
             SELECT g, 'account ' || g, 'note ' || g FROM generate_series(1, 25) g",
        )
        .unwrap();

    scratch.write_main(V2);
    let (code, out) = scratch.run(&["check"], &url);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("run `migrate new`"), "{out}");
    let (code, out) = scratch.run(&["migrate", "new", "account_details"], &url);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "BreaksRunningCode: ALTER TABLE \"accounts\" RENAME COLUMN \"note\" TO \"remark\""
        ),
        "{out}"
    );
    let (code, out) = scratch.run(&["migrate", "apply"], &url);
    assert_eq!(code, 0, "{out}");
    let (code, out) = scratch.run(&["check"], &url);
    assert_eq!(code, 0, "{out}");
    let (code, out) = scratch.run(&["migrate", "status"], &url);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("applied ")).count(),
        2,
        "{out}"
    );

    let kept: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM accounts WHERE remark = 'note ' || account_id \
             AND name = 'account ' || account_id AND email IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 25);
}
