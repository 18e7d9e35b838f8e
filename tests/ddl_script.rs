//! The dumped DDL as a script people pipe into `psql -v ON_ERROR_STOP=1`: applied by a deployer
//! without `CREATEROLE`, with role names and comments chosen to break out of their quotes, and
//! the column privileges and immutable columns it declares, read back from the catalog.

mod common;

use common::{psql, TestDb};
use schema_core::{ColumnDef, Schema, SqlType, TableDef};
use shared::schemas::db::{schema, BILLING_TEAM_ROLE, PHYSICIAN_ROLE, SUPPORT_TEAM_ROLE};

#[test]
fn a_deployer_without_createrole_applies_the_dump_where_the_roles_exist() {
    let mut db = TestDb::new();
    for role in [PHYSICIAN_ROLE, SUPPORT_TEAM_ROLE, BILLING_TEAM_ROLE] {
        let role = db.names().role_name(role).to_string();
        db.client()
            .batch_execute(&format!("CREATE ROLE \"{role}\" NOLOGIN"))
            .unwrap();
    }
    let deployer_url = db.login_role_with("deployer", "NOCREATEROLE");
    let deployer = db.role_name("deployer");
    // CREATE on the database for the `billing` schema, on `public` for the rest.
    let database: String = db
        .client()
        .query_one("SELECT current_database()::text", &[])
        .unwrap()
        .get(0);
    db.client()
        .batch_execute(&format!(
            "GRANT CREATE ON SCHEMA public TO \"{deployer}\"; \
             GRANT CREATE ON DATABASE \"{database}\" TO \"{deployer}\""
        ))
        .unwrap();
    psql(&deployer_url, &db.ddl()).expect("the deployer applies the dump");
    let owner: String = db
        .client()
        .query_one(
            "SELECT tableowner::text FROM pg_tables WHERE tablename = 'support_tickets'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(owner, deployer);
}

#[test]
fn a_role_name_holding_the_quote_tag_is_created_as_named() {
    let mut db = TestDb::new();
    let tricky = format!("{}$role$; DROP TABLE x; --", db.role_name("doc"));
    db.drop_role_later(&tricky);
    // Every other role keeps the throwaway name the database drops with it.
    let ddl = schema()
        .with_names(db.names().clone().role(PHYSICIAN_ROLE, &tricky))
        .to_ddl()
        .unwrap();
    psql(db.url(), &ddl).expect("the dump applies");
    let exists: bool = db
        .client()
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)",
            &[&tricky],
        )
        .unwrap()
        .get(0);
    assert!(exists, "the role {tricky:?} was created");
}

#[test]
fn comments_with_quotes_backslashes_and_psql_commands_read_back_as_written() {
    const NASTY: [&str; 5] = [
        "it's a 'quoted' \"word\"",
        "C:\\path\\to\\file and a lone \\",
        "line one\n\\! echo escaped\n\\.\nline four",
        "$$ dollar $body$ quotes $$",
        "'; DROP TABLE victim; --",
    ];
    static COLUMNS: [ColumnDef; 5] = [
        column("a", NASTY[0]),
        column("b", NASTY[1]),
        column("c", NASTY[2]),
        column("d", NASTY[3]),
        column("e", NASTY[4]),
    ];
    static TABLE: TableDef = TableDef {
        name: "commented",
        schema: None,
        renamed_from: None,
        comment: Some("table's \\ comment"),
        columns: &COLUMNS,
        primary_key: &[],
        unique_keys: &[],
        foreign_keys: &[],
        checks: &[],
        indexes: &[],
        row_level_security: false,
        policies: &[],
        column_grants: &[],
        tenant: None,
        reference: false,
    };
    let mut db = TestDb::new();
    db.client()
        .batch_execute("CREATE TABLE victim (id int)")
        .unwrap();
    let ddl = Schema::new().with_def(&TABLE).to_ddl().unwrap();
    psql(db.url(), &ddl).expect("the script applies");
    let comments: Vec<String> = db
        .client()
        .query(
            "SELECT col_description('commented'::regclass, attnum) FROM pg_attribute \
             WHERE attrelid = 'commented'::regclass AND attnum > 0 ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(comments, NASTY);
    let victim: bool = db
        .client()
        .query_one("SELECT to_regclass('victim') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(victim);
}

const fn column(name: &'static str, comment: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        renamed_from: None,
        field: name,
        rust_type: "i32",
        sql_type: SqlType::Integer,
        nullable: true,
        default: None,
        update_sql: None,
        unique: false,
        allowed_values: None,
        renamed_values: &[],
        range: None,
        comment: Some(comment),
        sensitive: false,
        internal: false,
        immutable: false,
        generation: None,
        encryption: None,
        using: None,
    }
}

#[test]
fn each_role_may_update_only_its_granted_columns_as_the_catalog_says() {
    let mut db = TestDb::new();
    db.apply_schema();
    let updatable = |db: &mut TestDb, role: &str| -> Vec<String> {
        db.client()
            .query(
                "SELECT attname::text FROM pg_attribute \
                 WHERE attrelid = 'support_tickets'::regclass AND attnum > 0 \
                 AND has_column_privilege($1, 'support_tickets', attname, 'UPDATE') \
                 ORDER BY attnum",
                &[&role],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    };
    let physician = db.names().role_name(PHYSICIAN_ROLE).to_string();
    let support = db.names().role_name(SUPPORT_TEAM_ROLE).to_string();
    assert_eq!(
        updatable(&mut db, &physician),
        [
            "subject",
            "description",
            "satisfaction_rating",
            "satisfaction_comment",
            "updated_at"
        ]
    );
    assert_eq!(
        updatable(&mut db, &support),
        [
            "category",
            "priority",
            "status",
            "assigned_to",
            "resolution_notes",
            "resolved_at",
            "updated_at"
        ]
    );
    let insertable: Vec<String> = db
        .client()
        .query(
            "SELECT attname::text FROM pg_attribute \
             WHERE attrelid = 'support_tickets'::regclass AND attnum > 0 \
             AND has_column_privilege($1, 'support_tickets', attname, 'INSERT') \
             ORDER BY attnum",
            &[&physician],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        insertable,
        [
            "provider_id",
            "subject",
            "description",
            "context_url",
            "context_metadata",
            "priority",
            "screenshot_path"
        ]
    );
    let triggers: Vec<String> = db
        .client()
        .query(
            "SELECT tgname::text FROM pg_trigger \
             WHERE tgrelid = 'support_tickets'::regclass AND NOT tgisinternal",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(triggers, ["support_tickets_immutable_columns"]);
}

#[test]
fn the_immutable_trigger_compares_values_the_session_cannot_disguise() {
    let mut db = TestDb::new();
    db.apply_schema();
    let (a, b) = (
        uuid::Uuid::parse_str("a0000000-0000-4000-8000-000000000001").unwrap(),
        uuid::Uuid::parse_str("afffffff-ffff-4fff-bfff-ffffffffffff").unwrap(),
    );
    for (provider, npi) in [(a, "1000000001"), (b, "1000000002")] {
        db.client()
            .execute(
                "INSERT INTO providers (provider_id, npi, first_name, last_name, email) \
                 VALUES ($1, $2, 'Dr', 'X', $3)",
                &[&provider, &npi, &format!("{npi}@clinic.test")],
            )
            .unwrap();
    }
    let ticket: uuid::Uuid = db
        .client()
        .query_one(
            "INSERT INTO support_tickets (provider_id, subject, description) \
             VALUES ($1, 's', 'd') RETURNING ticket_id",
            &[&a],
        )
        .unwrap()
        .get(0);
    // A `text` of the session's own, in pg_temp, would make both ids read as "a".
    db.client()
        .batch_execute("CREATE DOMAIN pg_temp.text AS varchar(1)")
        .unwrap();
    let error = db
        .client()
        .execute(
            "UPDATE support_tickets SET provider_id = $1 WHERE ticket_id = $2",
            &[&b, &ticket],
        )
        .unwrap_err();
    let db_error = error.as_db_error().expect("a server error");
    assert_eq!(db_error.code().code(), "23000", "{db_error:?}");
    assert_eq!(db_error.column(), Some("provider_id"));

    // Floats are compared in full, whatever the session's extra_float_digits.
    #[derive(schema_core::PgTable)]
    #[pg(table = "readings")]
    #[allow(dead_code)]
    struct Reading {
        #[pg(primary_key)]
        reading_id: i32,
        #[pg(immutable)]
        value: f64,
    }
    let ddl = Schema::new().table::<Reading>().to_ddl().unwrap();
    db.client().batch_execute(&ddl).unwrap();
    db.client()
        .batch_execute("INSERT INTO readings VALUES (1, 0.1); SET extra_float_digits = 0")
        .unwrap();
    let error = db
        .client()
        .execute(
            "UPDATE readings SET value = 0.1 + 2e-17 WHERE reading_id = 1",
            &[],
        )
        .unwrap_err();
    assert_eq!(
        error.as_db_error().map(|e| e.code().code()),
        Some("23000"),
        "{error}"
    );
}
