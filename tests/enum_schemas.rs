//! Native enum types in a PostgreSQL schema of their own (`#[pg(native, schema = "ledger")]`):
//! the type created in its schema (the schema first) and qualified wherever it is named
//! (columns, arrays of it, casts in checks and defaults); the dump applied with psql; the
//! catalog read back as declared in every shadow; rows through tokio-postgres and sqlx, also as
//! a role that reaches the schema through its `USAGE`; plans that add, rename and remove
//! values; a type of one name in two schemas; a column naming a type nothing creates; and a
//! schema named with a key word, read back as declared.

mod common;

use common::{apply_without_drift, block_on, plan_holding, psql, texts, TestDb};
use schema_core::pg::evolve::{drift, Shadow};
use schema_core::pg::introspect::{read_model, Scope};
use schema_core::pg::Db;
use schema_core::{PgEnum, PgTable, PgType, Schema, SchemaError, SqlType};

/// What a ledger entry records: the native type `ledger.entry_kind`.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native, schema = "ledger", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryKind {
    Debit,
    Credit,
}

/// A line of the ledger: a column of the type, an array of it, a default and a check casting
/// to it.
#[derive(PgTable)]
#[pg(
    schema = "ledger",
    table = "entries",
    check(
        name = "entries_credit_positive",
        sql = "{kind} <> 'CREDIT'::ledger.entry_kind OR {amount} > 0"
    ),
    grant(to = "clerk", insert(entry_id, kind, amount)),
    row_level_security,
    policy(name = "clerk_all", to = "clerk", using = "true", with_check = "true")
)]
pub struct Entry {
    #[pg(primary_key)]
    pub entry_id: i64,
    #[pg(default = EntryKind::Debit)]
    pub kind: EntryKind,
    #[pg(default = vec![EntryKind::Debit])]
    pub allowed: Vec<EntryKind>,
    pub amount: i64,
}

/// A note in the current schema using the ledger's type: the schema's `USAGE` goes to the
/// roles of this table too.
#[derive(PgTable)]
#[pg(table = "notes", grant(to = "auditor", insert(note_id, kind)))]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub kind: Option<EntryKind>,
}

fn schema() -> Schema {
    Schema::new().table::<Entry>()
}

/// A throwaway database with `schema`'s roles named for it (and dropped with it): the schema so
/// named, and its `clerk` role.
fn with_roles(schema: Schema) -> (TestDb, Schema, String) {
    let mut db = TestDb::new();
    let (clerk, auditor) = (db.role_name("clerk"), db.role_name("auditor"));
    db.drop_role_later(&clerk);
    db.drop_role_later(&auditor);
    let schema = schema.with_names(
        db.names()
            .clone()
            .role("clerk", &clerk)
            .role("auditor", &auditor),
    );
    (db, schema, clerk)
}

/// [`with_roles`] for the ledger's schema, its dump applied with psql, stopping at the first
/// error.
fn ledger_db() -> (TestDb, Schema, String) {
    let (db, schema, clerk) = with_roles(schema());
    psql(db.url(), &schema.to_ddl().unwrap()).unwrap();
    (db, schema, clerk)
}

/// A credit of `amount` to insert.
fn credit(entry_id: i64, amount: i64) -> InsertEntry {
    InsertEntry {
        kind: Some(EntryKind::Credit),
        ..InsertEntry::new(entry_id, amount)
    }
}

#[test]
fn the_type_is_created_in_its_schema_and_named_with_it_everywhere() {
    assert_eq!(EntryKind::NATIVE_TYPE, Some("ledger.entry_kind"));
    assert_eq!(
        <Vec<EntryKind> as PgType>::SQL_TYPE,
        SqlType::Array(&SqlType::Enum("ledger.entry_kind"))
    );
    assert_eq!(
        common::statements(schema().to_ddl().unwrap()),
        r#"DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'clerk') THEN CREATE ROLE "clerk" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;
CREATE SCHEMA IF NOT EXISTS "ledger";
GRANT USAGE ON SCHEMA "ledger" TO "clerk";

CREATE TYPE "ledger"."entry_kind" AS ENUM ('DEBIT', 'CREDIT');

CREATE TABLE "ledger"."entries" (
    "entry_id" bigint NOT NULL,
    "kind" "ledger"."entry_kind" NOT NULL DEFAULT 'DEBIT',
    "allowed" "ledger"."entry_kind"[] NOT NULL DEFAULT '{"DEBIT"}',
    "amount" bigint NOT NULL,
    CONSTRAINT "entries_pkey" PRIMARY KEY ("entry_id"),
    CONSTRAINT "entries_credit_positive" CHECK ("kind" <> 'CREDIT'::ledger.entry_kind OR "amount" > 0)
);

COMMENT ON TABLE "ledger"."entries" IS 'A line of the ledger: a column of the type, an array of it, a default and a check casting
to it.';

ALTER TABLE "ledger"."entries" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "ledger"."entries" FORCE ROW LEVEL SECURITY;
CREATE POLICY "clerk_all" ON "ledger"."entries" FOR ALL TO "clerk" USING (true) WITH CHECK (true);
GRANT SELECT, UPDATE, DELETE ON "ledger"."entries" TO "clerk";
GRANT INSERT ("entry_id", "kind", "amount") ON "ledger"."entries" TO "clerk";
"#
    );
    // A table of the current schema using the type: the type's schema is created, and its
    // roles get `USAGE` on it to name the type.
    let ddl = Schema::new().table::<Note>().to_ddl().unwrap();
    assert!(
        ddl.contains(
            "CREATE SCHEMA IF NOT EXISTS \"ledger\";\n\
             GRANT USAGE ON SCHEMA \"ledger\" TO \"auditor\";\n\
             \n\
             CREATE TYPE \"ledger\".\"entry_kind\" AS ENUM ('DEBIT', 'CREDIT');\n"
        ),
        "{ddl}"
    );
    assert!(
        ddl.contains("\"kind\" \"ledger\".\"entry_kind\",\n"),
        "{ddl}"
    );
}

#[test]
fn the_dump_applies_and_the_catalog_reads_back_the_type_in_its_schema() {
    let (mut db, schema, _) = ledger_db();
    let types: Vec<(String, String)> = db
        .client()
        .query(
            "SELECT n.nspname::text, t.typname::text FROM pg_type t \
             JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(types, [("ledger".to_string(), "entry_kind".to_string())]);
    let columns: Vec<String> = db
        .client()
        .query(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'ledger.entries'::regclass AND attname IN ('kind', 'allowed') \
             ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(columns, ["ledger.entry_kind", "ledger.entry_kind[]"]);

    let code = schema.model().unwrap();
    let live = block_on(async {
        let client = Db::connect(db.url()).await.unwrap();
        read_model(client.client(), &Scope::of(&code))
            .await
            .unwrap()
    });
    assert_eq!(live.enums, code.enums);
    assert_eq!(live.namespaces, code.namespaces);
    let entries = live.table("ledger.entries").unwrap();
    let types: Vec<&str> = entries
        .columns
        .iter()
        .map(|c| c.sql_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "bigint",
            r#""ledger"."entry_kind""#,
            r#""ledger"."entry_kind"[]"#,
            "bigint"
        ]
    );
    for shadow in [Shadow::Transaction, Shadow::SameServer] {
        let lines = block_on(drift(db.url(), &schema, shadow)).unwrap();
        assert_eq!(lines, Vec::<String>::new(), "{shadow:?}");
    }
    // A label added behind the code's back is drift of the type, named with its schema.
    db.client()
        .batch_execute("ALTER TYPE ledger.entry_kind ADD VALUE 'VOID'")
        .unwrap();
    let lines = block_on(drift(db.url(), &schema, Shadow::Transaction)).unwrap();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("ledger.entry_kind"), "{lines:#?}");
}

#[test]
fn rows_round_trip_through_tokio_postgres_and_sqlx_also_as_a_role_with_usage() {
    let (mut db, _, clerk) = ledger_db();
    let clerk_url = db.login_role("clerk_login", &clerk);
    block_on(async {
        let owner = Db::connect(db.url()).await.unwrap();
        let stored = owner
            .insert(&InsertEntry {
                allowed: Some(vec![EntryKind::Credit, EntryKind::Debit]),
                ..credit(1, 10)
            })
            .await
            .unwrap();
        assert_eq!(stored.kind, EntryKind::Credit);
        assert_eq!(stored.allowed, [EntryKind::Credit, EntryKind::Debit]);
        let read = owner.get::<Entry>(&1).await.unwrap().unwrap();
        assert_eq!(read.allowed, [EntryKind::Credit, EntryKind::Debit]);
        // The check casting to the type holds.
        let error = owner.insert(&credit(2, -5)).await.unwrap_err();
        assert_eq!(
            error.constraint().unwrap().constraint.as_deref(),
            Some("entries_credit_positive")
        );
        // The clerk reaches the table and its type through the schema's USAGE.
        let clerk = Db::connect(&clerk_url).await.unwrap();
        let stored = clerk.insert(&InsertEntry::new(3, 7)).await.unwrap();
        assert_eq!(
            (stored.kind, stored.allowed),
            (EntryKind::Debit, vec![EntryKind::Debit])
        );
        assert_eq!(clerk.select_all::<Entry>().await.unwrap().len(), 2);
    });
    for url in [db.url().to_string(), clerk_url] {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let id: i64 =
                sqlx::query_scalar("SELECT coalesce(max(entry_id), 0) + 1 FROM ledger.entries")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            let stored = schema_core::sqlx::insert(&pool, &credit(id, 1))
                .await
                .unwrap();
            assert_eq!(stored.kind, EntryKind::Credit);
            // Bound by name as the type of its schema, and read back, arrays included.
            let (kind, allowed): (EntryKind, Vec<EntryKind>) = sqlx::query_as(
                "SELECT kind, allowed FROM ledger.entries WHERE kind = $1 AND allowed = $2",
            )
            .bind(EntryKind::Credit)
            .bind(vec![EntryKind::Debit])
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!((kind, allowed), (EntryKind::Credit, vec![EntryKind::Debit]));
        });
    }
}

#[test]
fn a_role_of_a_table_elsewhere_names_the_type_through_the_usage_of_its_schema() {
    let (mut db, schema, _) = with_roles(Schema::new().table::<Note>());
    psql(db.url(), &schema.to_ddl().unwrap()).unwrap();
    let auditor = db.role_name("auditor");
    let url = db.login_role("auditor_login", &auditor);
    // sqlx sends the value as the type it names, `ledger.entry_kind`: naming it takes USAGE
    // on its schema.
    let insert = |note_id: i64| {
        let url = url.clone();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::query("INSERT INTO notes (note_id, kind) VALUES ($1, $2)")
                    .bind(note_id)
                    .bind(EntryKind::Credit)
                    .execute(&pool)
                    .await
            })
    };
    insert(1).unwrap();
    let lines = block_on(drift(db.url(), &schema, Shadow::Transaction)).unwrap();
    assert_eq!(lines, Vec::<String>::new());
    db.client()
        .batch_execute(&format!("REVOKE USAGE ON SCHEMA ledger FROM \"{auditor}\""))
        .unwrap();
    let error = insert(2).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("permission denied for schema ledger"),
        "{error}"
    );
    let lines = block_on(drift(db.url(), &schema, Shadow::Transaction)).unwrap();
    assert_eq!(
        lines,
        [format!("schema `ledger`: role `{auditor}` lacks USAGE")]
    );
}

/// Versions of the ledger's type: a value added, one renamed, one removed.
#[allow(dead_code)]
mod versions {
    /// The ledger's lines, of the `EntryKind` in scope, with a check casting to the type.
    macro_rules! entries {
        () => {
            /// The ledger's lines.
            #[derive(schema_core::PgTable)]
            #[pg(
                schema = "ledger",
                table = "entries",
                check(
                    name = "entries_debit_numbered",
                    sql = "{kind} <> 'DEBIT'::ledger.entry_kind OR {entry_id} > 0"
                )
            )]
            pub struct Entry {
                #[pg(primary_key)]
                pub entry_id: i64,
                #[pg(default = EntryKind::Debit)]
                pub kind: EntryKind,
                #[pg(default = vec![EntryKind::Debit])]
                pub allowed: Vec<EntryKind>,
            }
        };
    }

    /// The first version: `DEBIT` and `CREDIT`.
    pub mod first {
        use super::super::EntryKind;

        entries!();
    }

    pub mod added {
        use schema_core::PgEnum;

        /// `REFUND` is new, between the two.
        #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
        #[pg(native, schema = "ledger", rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum EntryKind {
            Debit,
            Refund,
            Credit,
        }

        entries!();
    }

    pub mod renamed {
        use schema_core::PgEnum;

        /// `CREDIT` is now `DEPOSIT`.
        #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
        #[pg(native, schema = "ledger", rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum EntryKind {
            Debit,
            Refund,
            #[pg(renamed_from = "CREDIT")]
            Deposit,
        }

        entries!();
    }

    pub mod removed {
        use schema_core::PgEnum;

        /// `REFUND` is gone.
        #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
        #[pg(native, schema = "ledger", rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum EntryKind {
            Debit,
            Deposit,
        }

        entries!();
    }
}

/// The stored rows of the ledger as text, in key order.
async fn entries(client: &schema_core::pg::tokio_postgres::Client) -> Vec<String> {
    texts(
        client,
        "SELECT concat_ws(' ', entry_id, kind::text, allowed::text) FROM ledger.entries \
         ORDER BY entry_id",
    )
    .await
}

#[test]
fn plans_add_rename_and_remove_values_of_the_type_in_its_schema() {
    let first = Schema::new().table::<versions::first::Entry>();
    let db = TestDb::with(&first);
    let url = db.url().to_string();
    block_on(async {
        let (mut client, _connection) = schema_core::pg::connect(&url).await.unwrap();
        client
            .batch_execute("INSERT INTO ledger.entries VALUES (1, 'CREDIT', '{CREDIT,DEBIT}')")
            .await
            .unwrap();

        let added = Schema::new().table::<versions::added::Entry>();
        let plan = plan_holding(
            &url,
            &added,
            &[r#"ALTER TYPE "ledger"."entry_kind" ADD VALUE 'REFUND' AFTER 'DEBIT'"#],
        )
        .await;
        apply_without_drift(&mut client, &url, &plan, &added, &[]).await;

        let renamed = Schema::new().table::<versions::renamed::Entry>();
        let plan = plan_holding(
            &url,
            &renamed,
            &[r#"ALTER TYPE "ledger"."entry_kind" RENAME VALUE 'CREDIT' TO 'DEPOSIT'"#],
        )
        .await;
        apply_without_drift(&mut client, &url, &plan, &renamed, &[]).await;
        assert_eq!(entries(&client).await, ["1 DEPOSIT {DEPOSIT,DEBIT}"]);

        let removed = Schema::new().table::<versions::removed::Entry>();
        let plan = plan_holding(
            &url,
            &removed,
            &[
                r#"ALTER TYPE "ledger"."entry_kind" RENAME TO "entry_kind_replaced""#,
                r#"CREATE TYPE "ledger"."entry_kind" AS ENUM ('DEBIT', 'DEPOSIT')"#,
                r#"ALTER TABLE "ledger"."entries" ALTER COLUMN "kind" TYPE "ledger"."entry_kind" USING "kind"::text::"ledger"."entry_kind""#,
                r#"ALTER TABLE "ledger"."entries" ALTER COLUMN "allowed" TYPE "ledger"."entry_kind"[] USING "allowed"::text[]::"ledger"."entry_kind"[]"#,
                r#"DROP TYPE "ledger"."entry_kind_replaced""#,
                // The check would compare the new type with the old one: it is set aside and
                // comes back.
                r#"ALTER TABLE "ledger"."entries" DROP CONSTRAINT "entries_debit_numbered""#,
                r#"ALTER TABLE "ledger"."entries" ADD CONSTRAINT "entries_debit_numbered" CHECK ("kind" <> 'DEBIT'::ledger.entry_kind OR "entry_id" > 0) NOT VALID"#,
            ],
        )
        .await;
        let position = |start: &str| {
            plan.steps
                .iter()
                .position(|s| s.sql.starts_with(start))
                .unwrap()
        };
        let conversion = position(r#"ALTER TABLE "ledger"."entries" ALTER COLUMN "kind" TYPE"#);
        assert!(position(r#"ALTER TABLE "ledger"."entries" DROP CONSTRAINT"#) < conversion);
        assert!(position(r#"ALTER TABLE "ledger"."entries" ADD CONSTRAINT"#) > conversion);
        apply_without_drift(
            &mut client,
            &url,
            &plan,
            &removed,
            &["ledger.entries.kind", "ledger.entries.allowed"],
        )
        .await;
        client
            .batch_execute("INSERT INTO ledger.entries (entry_id) VALUES (2)")
            .await
            .unwrap();
        assert_eq!(
            entries(&client).await,
            ["1 DEPOSIT {DEPOSIT,DEBIT}", "2 DEBIT {DEBIT}"]
        );
        let lines = drift(&url, &removed, Shadow::Transaction).await.unwrap();
        assert_eq!(lines, Vec::<String>::new());
    });
}

/// A type of the same name in the current schema.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native = "entry_kind")]
pub enum LocalKind {
    Open,
    Closed,
}

/// A table of the current schema using it.
#[derive(PgTable)]
#[pg(table = "drafts")]
pub struct Draft {
    #[pg(primary_key)]
    pub draft_id: i64,
    pub kind: LocalKind,
}

#[test]
fn one_name_in_two_schemas_is_two_types() {
    let both = Schema::new().table::<Entry>().table::<Draft>();
    let model = both.model().unwrap();
    let names: Vec<&str> = model.enums.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["ledger.entry_kind", "entry_kind"]);
    let (db, both, _) = with_roles(both);
    psql(db.url(), &both.to_ddl().unwrap()).unwrap();
    let lines = block_on(drift(db.url(), &both, Shadow::Transaction)).unwrap();
    assert_eq!(lines, Vec::<String>::new());
    block_on(async {
        let db = Db::connect(db.url()).await.unwrap();
        let draft = db
            .insert(&InsertDraft::new(1, LocalKind::Closed))
            .await
            .unwrap();
        assert_eq!(draft.kind, LocalKind::Closed);
        let entry = db.insert(&credit(1, 3)).await.unwrap();
        assert_eq!(entry.kind, EntryKind::Credit);
    });
    // Going from the type of the current schema to the ledger's creates the one and drops the
    // other: they are not the same type.
    let local = Schema::new().table::<Draft>().model().unwrap();
    let diff = schema_core::diff::diff(&local, &model);
    let lines: Vec<String> = diff.changes.iter().map(ToString::to_string).collect();
    assert!(
        lines.iter().any(|l| l.contains("ledger.entry_kind")),
        "{lines:#?}"
    );
}

/// A text enum whose column is written as the ledger's type.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WrittenKind {
    Debit,
    Credit,
}

/// A table whose column names a type only the ledger's enum creates.
#[derive(PgTable)]
#[pg(table = "imports")]
pub struct Import {
    #[pg(primary_key)]
    pub import_id: i64,
    #[pg(sql_type = "ledger.entry_kind")]
    pub kind: WrittenKind,
}

#[test]
fn a_column_naming_an_enum_type_the_schema_does_not_create_is_refused() {
    assert_eq!(
        Schema::new().table::<Import>().to_ddl().unwrap_err(),
        SchemaError::UncreatedEnumType {
            table: "imports".into(),
            column: "kind".into(),
            sql_type: "ledger.entry_kind".into(),
        }
    );
    // Where the schema creates the type, the column is of it.
    let schema = Schema::new().enum_type::<EntryKind>().table::<Import>();
    let (db, _, _) = with_roles(Schema::new());
    psql(db.url(), &schema.to_ddl().unwrap()).unwrap();
}

/// What an order records: a type in a schema named with a key word, which the server quotes
/// where it prints it.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native, schema = "order", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderKind {
    Debit,
    Credit,
}

/// A table of that schema with a default of the type and checks casting to it, as the server
/// prints it (`'CREDIT'::"order".order_kind`), and holding its name in a string.
#[derive(PgTable)]
#[pg(
    schema = "order",
    table = "lines",
    check(
        name = "lines_credit_positive",
        sql = "{kind} <> 'CREDIT'::\"order\".order_kind OR {amount} > 0"
    ),
    check(name = "lines_memo", sql = "{memo} <> '\"order\".order_kind'")
)]
pub struct OrderLine {
    #[pg(primary_key)]
    pub line_id: i64,
    #[pg(default = OrderKind::Debit)]
    pub kind: OrderKind,
    pub amount: i64,
    pub memo: String,
}

#[test]
fn a_schema_named_with_a_key_word_reads_back_as_declared() {
    let schema = Schema::new().table::<OrderLine>();
    let db = TestDb::new();
    psql(db.url(), &schema.to_ddl().unwrap()).unwrap();
    for shadow in [Shadow::Transaction, Shadow::SameServer] {
        let lines = block_on(drift(db.url(), &schema, shadow)).unwrap();
        assert_eq!(lines, Vec::<String>::new(), "{shadow:?}");
    }
}

/// A table of the current schema whose columns are of the ledger's type, and default to a
/// value a later version removes.
#[allow(dead_code)]
mod slips {
    pub mod before {
        use super::super::versions::renamed::EntryKind;

        /// A slip.
        #[derive(schema_core::PgTable)]
        #[pg(table = "slips")]
        pub struct Slip {
            #[pg(primary_key)]
            pub slip_id: i64,
            #[pg(default = EntryKind::Refund)]
            pub kind: EntryKind,
            #[pg(default = vec![EntryKind::Refund, EntryKind::Debit])]
            pub kinds: Vec<EntryKind>,
        }
    }

    pub mod after {
        use super::super::versions::removed::EntryKind;

        /// A slip, `REFUND` gone from its type and its defaults.
        #[derive(schema_core::PgTable)]
        #[pg(table = "slips")]
        pub struct Slip {
            #[pg(primary_key)]
            pub slip_id: i64,
            #[pg(default = EntryKind::Debit)]
            pub kind: EntryKind,
            #[pg(default = vec![EntryKind::Debit])]
            pub kinds: Vec<EntryKind>,
        }
    }
}

#[test]
fn a_table_of_the_current_schema_of_the_type_round_trips_over_sqlx_and_loses_its_default_value() {
    use versions::renamed::EntryKind;
    let before = Schema::new().table::<slips::before::Slip>();
    let db = TestDb::with(&before);
    let url = db.url().to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let stored = schema_core::sqlx::insert(&pool, &slips::before::InsertSlip::new(1))
            .await
            .unwrap();
        assert_eq!(
            (stored.kind, stored.kinds),
            (EntryKind::Refund, vec![EntryKind::Refund, EntryKind::Debit])
        );
        let row = slips::before::InsertSlip {
            kind: Some(EntryKind::Debit),
            kinds: Some(vec![EntryKind::Deposit]),
            ..slips::before::InsertSlip::new(2)
        };
        schema_core::sqlx::insert(&pool, &row).await.unwrap();
        let read: Vec<slips::before::SelectSlip> =
            sqlx::query_as("SELECT * FROM slips WHERE kinds @> $1 ORDER BY slip_id")
                .bind(vec![EntryKind::Deposit])
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].kinds, [EntryKind::Deposit]);
        sqlx::query("DELETE FROM slips WHERE slip_id = 1")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    block_on(async {
        let (mut client, _connection) = schema_core::pg::connect(&url).await.unwrap();
        let after = Schema::new().table::<slips::after::Slip>();
        let plan = plan_holding(
            &url,
            &after,
            &[r#"CREATE TYPE "ledger"."entry_kind" AS ENUM ('DEBIT', 'DEPOSIT')"#],
        )
        .await;
        apply_without_drift(
            &mut client,
            &url,
            &plan,
            &after,
            &["slips.kind", "slips.kinds"],
        )
        .await;
        client
            .batch_execute("INSERT INTO slips (slip_id) VALUES (3)")
            .await
            .unwrap();
        let rows = texts(
            &client,
            "SELECT concat_ws(' ', slip_id, kind::text, kinds::text) FROM slips ORDER BY slip_id",
        )
        .await;
        assert_eq!(rows, ["2 DEBIT {DEPOSIT}", "3 DEBIT {DEBIT}"]);
    });
}
