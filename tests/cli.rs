//! The command line as its users run it (`schema_core::cli::run_to`, what `cargo run --example
//! schema` runs), against the real server: `check` on a database the migrations built and on an
//! empty one, a login that cannot build the shadow, and the scripts it writes for `psql` applied
//! by `psql` under client encodings other than UTF-8.

mod common;

use std::path::PathBuf;

use common::{block_on, psql_in_encoding, TestDb};
use schema_core::pg::evolve::{drift, Shadow};
use schema_core::{PgTable, Schema};

/// A temporary migrations folder, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Self {
        Folder(std::env::temp_dir().join(format!("schema-cli-{}", uuid::Uuid::new_v4().simple())))
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }

    /// The `up.sql` of each migration, in name order.
    fn up_sqls(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&self.0)
            .expect("the migrations folder")
            .map(|entry| entry.expect("an entry").path().join("up.sql"))
            .collect();
        found.sort();
        found
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one run of the command line gave.
struct Run {
    code: u8,
    out: String,
    err: String,
}

/// Runs the command line on `schema` with `args`, keeping what it prints.
fn cli(schema: Schema, args: &[&str]) -> Run {
    let mut all = vec!["schema"];
    all.extend_from_slice(args);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = schema_core::cli::run_to(schema, all, &mut out, &mut err);
    Run {
        code,
        out: String::from_utf8(out).expect("UTF-8 output"),
        err: String::from_utf8(err).expect("UTF-8 errors"),
    }
}

// ---------------------------------------------------------------------------------------------
// A policy that names a table of its own schema qualified.

/// Owners of pets.
#[derive(PgTable)]
#[pg(table = "owners")]
pub struct Owner {
    #[pg(primary_key)]
    pub owner_id: i32,
    pub login: String,
}

/// Pets, seen by their owner's login only; the policy names `public.owners` qualified, and a
/// ledger table of a schema of its own.
#[derive(PgTable)]
#[pg(
    table = "pets",
    row_level_security,
    policy(
        name = "owners_see_their_pets",
        to = "public",
        command = "select",
        using = "EXISTS (SELECT 1 FROM public.owners o WHERE o.owner_id = pets.owner_id \
                 AND o.login = current_user) OR pets.pet_id IN (SELECT e.pet_id FROM \
                 vet.visits e)"
    )
)]
pub struct Pet {
    #[pg(primary_key)]
    pub pet_id: i32,
    #[pg(references = Owner::owner_id)]
    pub owner_id: i32,
    /// When the pet came; an expression with a qualified name of another kind.
    #[pg(default_sql = "pg_catalog.now()")]
    pub since: chrono::DateTime<chrono::Utc>,
}

/// Visits, in a PostgreSQL schema of their own (declared before the policy that names them).
#[derive(PgTable)]
#[pg(schema = "vet", table = "visits")]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: i32,
    pub pet_id: i32,
}

fn pets() -> Schema {
    Schema::new()
        .table::<Visit>()
        .table::<Owner>()
        .table::<Pet>()
}

#[test]
fn a_policy_naming_its_own_schemas_tables_qualified_shows_no_drift() {
    let db = TestDb::new();
    let folder = Folder::new();
    let url = db.url();
    assert_eq!(
        cli(pets(), &["migrate", "new", "init", "--dir", folder.path()]).code,
        0
    );
    let applied = cli(
        pets(),
        &[
            "migrate",
            "apply",
            "--database-url",
            url,
            "--dir",
            folder.path(),
        ],
    );
    assert_eq!(applied.code, 0, "{}", applied.err);
    // The database the migrations built matches the code, whichever shadow normalizes it.
    for shadow in [&[][..], &["--new-shadow-database"][..]] {
        let mut args = vec!["check", "--database-url", url, "--dir", folder.path()];
        args.extend_from_slice(shadow);
        let check = cli(pets(), &args);
        assert_eq!((check.code, check.out.as_str()), (0, ""), "{}", check.err);
        let mut args = vec!["diff", "--database-url", url];
        args.extend_from_slice(shadow);
        let diff = cli(pets(), &args);
        assert_eq!(
            (diff.code, diff.out.as_str()),
            (
                0,
                "SET client_encoding = 'UTF8';\nSET search_path = \"public\", pg_temp;\n\n-- the \
                 database matches the code: nothing to do\n"
            ),
            "{}",
            diff.err
        );
    }
}

#[test]
fn check_on_an_empty_database_lists_everything_missing_and_exits_1() {
    let db = TestDb::new();
    let folder = Folder::new();
    assert_eq!(
        cli(pets(), &["migrate", "new", "init", "--dir", folder.path()]).code,
        0
    );
    let missing = [
        "schema `vet`: missing",
        "table `vet.visits`: missing",
        "table `owners`: missing",
        "table `pets`: missing",
    ];
    for shadow in [Shadow::Transaction, Shadow::SameServer] {
        let lines = block_on(drift(db.url(), &pets(), shadow)).unwrap();
        assert_eq!(lines, missing, "{shadow:?}");
    }
    let check = cli(
        pets(),
        &["check", "--database-url", db.url(), "--dir", folder.path()],
    );
    assert_eq!(check.code, 1, "{}", check.err);
    let listed: Vec<String> = missing.iter().map(|m| format!("  {m}\n")).collect();
    assert_eq!(
        check.out,
        format!("the database differs from the code:\n{}", listed.concat())
    );
    // The application's schema too: its roles, schema, enum type and tables.
    let app = || shared::schemas::db::schema().with_names(db.names().clone());
    let app_folder = Folder::new();
    assert_eq!(
        cli(
            app(),
            &["migrate", "new", "init", "--dir", app_folder.path()]
        )
        .code,
        0
    );
    let check = cli(
        app(),
        &[
            "check",
            "--database-url",
            db.url(),
            "--dir",
            app_folder.path(),
        ],
    );
    assert_eq!(check.code, 1, "{}", check.err);
    for object in [
        "role `",
        "schema `billing`: missing",
        "enum type `invoice_status`: missing",
        "table `providers`: missing",
        "table `support_tickets`: missing",
        "table `billing.invoices`: missing",
        "table `billing.invoice_lines`: missing",
    ] {
        assert!(check.out.contains(object), "{object} in {}", check.out);
    }
}

#[test]
fn check_as_a_login_that_cannot_build_the_shadow_points_to_shadow_url() {
    let mut db = TestDb::with(&pets());
    let folder = Folder::new();
    assert_eq!(
        cli(pets(), &["migrate", "new", "init", "--dir", folder.path()]).code,
        0
    );
    // A login without CREATE on the database, nor CREATEDB.
    let reader = db.login_role_with("checker", "");
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "--database-url", &reader, "--dir", folder.path()];
        args.extend_from_slice(extra);
        cli(pets(), &args)
    };
    let denied = check(&[]);
    assert_eq!(denied.code, 2, "{}", denied.out);
    assert!(
        denied.err.contains("permission denied")
            && denied
                .err
                .contains("the login needs CREATE on the database")
            && denied.err.contains("`--shadow-url URL`"),
        "{}",
        denied.err
    );
    let denied = check(&["--new-shadow-database"]);
    assert_eq!(denied.code, 2, "{}", denied.out);
    assert!(
        denied.err.contains("the login needs CREATEDB")
            && denied.err.contains("`--shadow-url URL`"),
        "{}",
        denied.err
    );
    // What the message says to do works: an empty database of one's own to normalize in.
    let shadow = TestDb::new();
    let checked = check(&["--shadow-url", shadow.url()]);
    assert_eq!(
        (checked.code, checked.out.as_str()),
        (0, ""),
        "{}",
        checked.err
    );
}

// ---------------------------------------------------------------------------------------------
// The scripts written for psql say their encoding.

/// Lines of a bill: comments a client encoding other than UTF-8 would misread.
#[derive(PgTable)]
#[pg(table = "bill_lines")]
pub struct BillLine {
    #[pg(primary_key)]
    pub line_id: i32,
    /// The line's total: quantity × unit_price.
    pub total: i64,
    /// Where the scan is kept, a folder: C:\scans×\
    pub folder: String,
}

fn bills() -> Schema {
    Schema::new().table::<BillLine>()
}

/// The comments `psql` must store as the code writes them.
const COMMENTS: [(&str, &str); 2] = [
    ("total", "The line's total: quantity × unit_price."),
    ("folder", "Where the scan is kept, a folder: C:\\scans×\\"),
];

/// The comments of `bill_lines`' columns, as stored.
fn stored_comments(db: &mut TestDb) -> Vec<(String, String)> {
    db.client()
        .query(
            "SELECT a.attname::text, col_description(a.attrelid, a.attnum) \
             FROM pg_attribute a WHERE a.attrelid = 'bill_lines'::regclass \
               AND col_description(a.attrelid, a.attnum) IS NOT NULL ORDER BY a.attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

fn expected_comments() -> Vec<(String, String)> {
    COMMENTS
        .iter()
        .map(|(c, t)| (c.to_string(), t.to_string()))
        .collect()
}

#[test]
fn every_script_written_for_psql_opens_with_its_encoding() {
    let header = schema_core::render::ENCODING_HEADER;
    let dump = cli(bills(), &["dump"]);
    assert!(dump.out.starts_with(header), "{}", dump.out);
    let db = TestDb::new();
    let diff = cli(bills(), &["diff", "--database-url", db.url()]);
    assert!(diff.out.starts_with(header), "{}", diff.out);
    let folder = Folder::new();
    assert_eq!(
        cli(bills(), &["migrate", "new", "init", "--dir", folder.path()]).code,
        0
    );
    let up = std::fs::read_to_string(&folder.up_sqls()[0]).unwrap();
    assert!(up.starts_with(header), "{up}");
    assert_eq!(
        header,
        "SET client_encoding = 'UTF8';\nSET search_path = \"public\", pg_temp;\n"
    );
}

/// The script a command writes for a database.
type ScriptFor<'a> = dyn Fn(&TestDb) -> String + 'a;

#[test]
fn psql_with_a_latin1_or_sjis_client_stores_the_comments_as_written() {
    let folder = Folder::new();
    assert_eq!(
        cli(bills(), &["migrate", "new", "init", "--dir", folder.path()]).code,
        0
    );
    let up_sql = std::fs::read_to_string(&folder.up_sqls()[0]).unwrap();
    let dump = cli(bills(), &["dump"]).out;
    for encoding in ["LATIN1", "SJIS"] {
        // The dump, the diff from an empty database and the migration, each applied by psql.
        let scripts: [(&str, &ScriptFor<'_>); 3] = [
            ("dump", &|_| dump.clone()),
            ("diff", &|db| {
                let diff = cli(bills(), &["diff", "--database-url", db.url()]);
                assert_eq!(diff.code, 0, "{}", diff.err);
                diff.out
            }),
            ("up.sql", &|_| up_sql.clone()),
        ];
        for (what, script) in scripts {
            let mut db = TestDb::new();
            let script = script(&db);
            psql_in_encoding(db.url(), Some(encoding), &script).unwrap();
            assert_eq!(
                stored_comments(&mut db),
                expected_comments(),
                "{what}, {encoding}"
            );
        }
    }
    // The runner, which sends UTF-8 itself, applies the same up.sql, and `check` finds the
    // database as the code says.
    let mut applied = TestDb::new();
    let url = applied.url().to_string();
    let apply = cli(
        bills(),
        &[
            "migrate",
            "apply",
            "--database-url",
            &url,
            "--dir",
            folder.path(),
        ],
    );
    assert_eq!(apply.code, 0, "{}", apply.err);
    assert_eq!(stored_comments(&mut applied), expected_comments());
    let check = cli(
        bills(),
        &["check", "--database-url", &url, "--dir", folder.path()],
    );
    assert_eq!((check.code, check.out.as_str()), (0, ""), "{}", check.err);
}

#[test]
fn an_up_sql_written_before_the_encoding_line_still_applies_and_is_not_changed() {
    let db = TestDb::new();
    let folder = Folder::new();
    let url = db.url();
    let v1 = || Schema::new().table::<Owner>();
    assert_eq!(
        cli(v1(), &["migrate", "new", "init", "--dir", folder.path()]).code,
        0
    );
    // As `migrate new` wrote it before: no encoding line.
    let old = &folder.up_sqls()[0];
    let text = std::fs::read_to_string(old).unwrap();
    let before = text
        .strip_prefix(schema_core::render::ENCODING_HEADER)
        .expect("a new up.sql opens with its encoding");
    std::fs::write(old, before).unwrap();
    let apply = |schema: Schema| {
        cli(
            schema,
            &[
                "migrate",
                "apply",
                "--database-url",
                url,
                "--dir",
                folder.path(),
            ],
        )
    };
    assert_eq!(apply(v1()).code, 0);
    // A later migration opens with the line; the earlier one keeps its text and checksum, so
    // neither `apply` nor `status` calls it changed.
    let v2 = || pets();
    assert_eq!(
        cli(v2(), &["migrate", "new", "pets", "--dir", folder.path()]).code,
        0
    );
    let up_sqls = folder.up_sqls();
    assert_eq!(std::fs::read_to_string(&up_sqls[0]).unwrap(), before);
    assert!(std::fs::read_to_string(&up_sqls[1])
        .unwrap()
        .starts_with(schema_core::render::ENCODING_HEADER));
    let applied = apply(v2());
    assert_eq!(applied.code, 0, "{}", applied.err);
    assert!(applied.out.ends_with("_pets\n"), "{}", applied.out);
    let status = cli(
        v2(),
        &[
            "migrate",
            "status",
            "--database-url",
            url,
            "--dir",
            folder.path(),
        ],
    );
    assert!(!status.out.contains("changed"), "{}", status.out);
    let check = cli(
        v2(),
        &["check", "--database-url", url, "--dir", folder.path()],
    );
    assert_eq!((check.code, check.out.as_str()), (0, ""), "{}", check.err);
}

#[test]
fn the_dump_applied_by_psql_lands_in_public_whatever_the_logins_search_path() {
    for own_schema in [true, false] {
        let mut db = TestDb::new();
        let login = db.role_name("deployer");
        let url = db.login_role_with("deployer", "");
        let setup = if own_schema {
            // What PostgreSQL 15 recommends: a schema of the login's name, first on its path.
            format!("CREATE SCHEMA \"{login}\" AUTHORIZATION \"{login}\"")
        } else {
            format!("ALTER ROLE \"{login}\" SET search_path = ''")
        };
        db.client()
            .batch_execute(&format!(
                "{setup}; GRANT CREATE ON SCHEMA public TO \"{login}\"; \
                 DO $grant$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO %I', \
                     current_database(), '{login}'); END $grant$"
            ))
            .unwrap();
        common::psql(&url, &cli(bills(), &["dump"]).out).unwrap();
        let tables: Vec<String> = db
            .client()
            .query(
                "SELECT relnamespace::regnamespace::text || '.' || relname::text FROM pg_class \
                 WHERE relkind = 'r' AND relname = 'bill_lines'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(tables, ["public.bill_lines"], "own schema: {own_schema}");
        let folder = Folder::new();
        let new = cli(bills(), &["migrate", "new", "init", "--dir", folder.path()]);
        assert_eq!(new.code, 0, "{}", new.err);
        let check = cli(
            bills(),
            &["check", "--database-url", &url, "--dir", folder.path()],
        );
        assert_eq!(check.code, 0, "{}{}", check.out, check.err);
    }
}
