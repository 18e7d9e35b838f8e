//! Tables in PostgreSQL schemas of their own (`#[pg(schema = "...")]`) and extension types
//! (`citext` with `Schema::extension`): the exact DDL, qualified everywhere; the catalog read
//! back as declared (no drift, whichever shadow normalizes the code); writes and reads through
//! the `postgres` feature and sqlx; roles reaching the tables only through the `USAGE` the
//! schema grants; and plans that create, extend and drop a schema.

mod common;

use common::{block_on, TestDb};
use schema_core::pg::evolve::{apply, drift, plan_for, Shadow};
use schema_core::pg::introspect::{read_model, Scope};
use schema_core::pg::{ConstraintKind, Db};
use schema_core::plan::plan;
use schema_core::{PgTable, Schema, SchemaError, Table};

/// A clinic of the practice, in the current schema.
#[derive(PgTable)]
#[pg(table = "clinics")]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: i32,
    pub name: String,
}

/// A payer a claim is sent to, in the `ledger` schema.
#[derive(PgTable)]
#[pg(
    schema = "ledger",
    table = "payers",
    index(name),
    grant(to = "clerk", insert(payer_id, name, email)),
    row_level_security,
    policy(name = "clerk_all", to = "clerk", using = "true", with_check = "true")
)]
pub struct Payer {
    #[pg(primary_key)]
    pub payer_id: i32,
    pub name: String,
    /// Unique whatever its case.
    #[pg(citext, unique)]
    pub email: Option<String>,
    #[pg(immutable, default_sql = "now()")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A claim of a clinic to a payer: a foreign key within `ledger`, one to the current schema.
#[derive(PgTable)]
#[pg(schema = "ledger", table = "claims", index(payer_id, clinic_id))]
pub struct Claim {
    #[pg(primary_key)]
    pub claim_id: i64,
    #[pg(references = Payer::payer_id, on_delete = "cascade")]
    pub payer_id: i32,
    #[pg(references = Clinic::clinic_id)]
    pub clinic_id: i32,
}

/// Another table named `claims`, in the current schema: each PostgreSQL schema has its own
/// names.
#[derive(PgTable)]
#[pg(table = "claims")]
pub struct LocalClaim {
    #[pg(primary_key)]
    pub claim_id: i64,
}

fn schema() -> Schema {
    Schema::new()
        .extension("citext")
        .table::<Claim>()
        .table::<Payer>()
        .table::<Clinic>()
        .table::<LocalClaim>()
}

/// A throwaway database, its `clerk` role named for it (and dropped with it), and `schema`
/// with its roles so named.
fn with_clerk(schema: Schema) -> (TestDb, Schema, String) {
    let mut db = TestDb::new();
    let clerk = db.role_name("clerk");
    db.drop_role_later(&clerk);
    let schema = schema.with_names(db.names().clone().role("clerk", &clerk));
    (db, schema, clerk)
}

/// A payer to insert, with an email.
fn new_payer(payer_id: i32, name: &str, email: &str) -> InsertPayer {
    InsertPayer {
        email: Some(email.into()),
        ..InsertPayer::new(payer_id, name.into())
    }
}

/// [`with_clerk`] for the ledger's schema, its DDL applied.
fn ledger_db() -> (TestDb, Schema, String) {
    let (mut db, schema, clerk) = with_clerk(schema());
    db.client()
        .batch_execute(&schema.to_ddl().unwrap())
        .unwrap();
    (db, schema, clerk)
}

#[test]
fn a_table_in_a_schema_is_qualified_everywhere_in_the_ddl() {
    assert_eq!(
        common::statements(schema().to_ddl().unwrap()),
        r#"CREATE EXTENSION IF NOT EXISTS "citext";
DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'clerk') THEN CREATE ROLE "clerk" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;
CREATE SCHEMA IF NOT EXISTS "ledger";
GRANT USAGE ON SCHEMA "ledger" TO "clerk";

CREATE TABLE "ledger"."payers" (
    "payer_id" integer NOT NULL,
    "name" text NOT NULL,
    "email" citext,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "payers_pkey" PRIMARY KEY ("payer_id"),
    CONSTRAINT "payers_email_key" UNIQUE ("email")
);

CREATE INDEX "payers_name_idx" ON "ledger"."payers" ("name");

COMMENT ON TABLE "ledger"."payers" IS 'A payer a claim is sent to, in the `ledger` schema.';
COMMENT ON COLUMN "ledger"."payers"."email" IS 'Unique whatever its case.';

CREATE FUNCTION "ledger"."payers_immutable_columns"() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET extra_float_digits = 3 AS $fn$
BEGIN
    IF NEW."created_at"::pg_catalog.text COLLATE pg_catalog."C" IS DISTINCT FROM OLD."created_at"::pg_catalog.text THEN
        RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = 'column "created_at" of table "payers" never changes after insert', COLUMN = 'created_at', TABLE = 'payers', CONSTRAINT = 'payers_created_at_immutable';
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER "payers_immutable_columns" AFTER UPDATE ON "ledger"."payers" FOR EACH ROW EXECUTE FUNCTION "ledger"."payers_immutable_columns"();

ALTER TABLE "ledger"."payers" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "ledger"."payers" FORCE ROW LEVEL SECURITY;
CREATE POLICY "clerk_all" ON "ledger"."payers" FOR ALL TO "clerk" USING (true) WITH CHECK (true);
GRANT SELECT, UPDATE, DELETE ON "ledger"."payers" TO "clerk";
GRANT INSERT ("payer_id", "name", "email") ON "ledger"."payers" TO "clerk";

CREATE TABLE "clinics" (
    "clinic_id" integer NOT NULL,
    "name" text NOT NULL,
    CONSTRAINT "clinics_pkey" PRIMARY KEY ("clinic_id")
);

COMMENT ON TABLE "clinics" IS 'A clinic of the practice, in the current schema.';

CREATE TABLE "ledger"."claims" (
    "claim_id" bigint NOT NULL,
    "payer_id" integer NOT NULL,
    "clinic_id" integer NOT NULL,
    CONSTRAINT "claims_pkey" PRIMARY KEY ("claim_id"),
    CONSTRAINT "claims_payer_id_fkey" FOREIGN KEY ("payer_id") REFERENCES "ledger"."payers" ("payer_id") ON DELETE CASCADE,
    CONSTRAINT "claims_clinic_id_fkey" FOREIGN KEY ("clinic_id") REFERENCES "clinics" ("clinic_id")
);

CREATE INDEX "claims_payer_id_clinic_id_idx" ON "ledger"."claims" ("payer_id", "clinic_id");

COMMENT ON TABLE "ledger"."claims" IS 'A claim of a clinic to a payer: a foreign key within `ledger`, one to the current schema.';

CREATE TABLE "claims" (
    "claim_id" bigint NOT NULL,
    CONSTRAINT "claims_pkey" PRIMARY KEY ("claim_id")
);

COMMENT ON TABLE "claims" IS 'Another table named `claims`, in the current schema: each PostgreSQL schema has its own
names.';
"#
    );
}

#[test]
fn the_metadata_names_the_schema_and_the_qualified_table() {
    assert_eq!(Payer::TABLE.name, "payers");
    assert_eq!(Payer::TABLE.schema, Some("ledger"));
    assert_eq!(Payer::TABLE.qualified_name(), "ledger.payers");
    assert_eq!(Payer::TABLE.quoted_name(), r#""ledger"."payers""#);
    assert_eq!(Clinic::TABLE.schema, None);
    assert_eq!(
        Claim::TABLE.foreign_keys[0].references_table,
        "ledger.payers"
    );
    assert_eq!(Claim::TABLE.foreign_keys[1].references_table, "clinics");
    let model = schema().model().unwrap();
    assert_eq!(model.namespaces.len(), 1);
    assert_eq!(model.namespaces[0].name, "ledger");
    assert_eq!(model.namespaces[0].usage, ["clerk"]);
    assert_eq!(model.extensions, ["citext"]);
}

#[test]
fn a_citext_column_needs_its_extension_declared() {
    let error = Schema::new().table::<Payer>().to_ddl().unwrap_err();
    assert!(
        matches!(
            &error,
            SchemaError::MissingExtension { table, column, extension: "citext" }
                if table == "ledger.payers" && column == "email"
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "column `ledger.payers.email` is of a type from the extension `citext`, which the \
         schema does not declare: add `.extension(\"citext\")` to the `Schema`"
    );
}

#[test]
fn the_catalog_reads_back_what_was_declared_in_every_shadow() {
    let (mut db, schema, _) = ledger_db();
    let code = schema.model().unwrap();
    let live = block_on(async {
        let client = Db::connect(db.url()).await.unwrap();
        read_model(client.client(), &Scope::of(&code))
            .await
            .unwrap()
    });
    let names = |model: &schema_core::model::SchemaModel| -> Vec<String> {
        model.tables.iter().map(|t| t.name.clone()).collect()
    };
    assert_eq!(
        names(&live),
        ["ledger.payers", "clinics", "ledger.claims", "claims"]
    );
    assert_eq!(live.namespaces, code.namespaces);
    assert_eq!(live.extensions, ["citext"]);
    let payers = live.table("ledger.payers").unwrap();
    assert_eq!(payers.column("email").unwrap().sql_type, "citext");
    assert_eq!(
        payers.immutable.as_ref().unwrap().name,
        "ledger.payers_immutable_columns"
    );
    // Read in name order: `claims_clinic_id_fkey`, then `claims_payer_id_fkey`.
    let references: Vec<&str> = live
        .table("ledger.claims")
        .unwrap()
        .foreign_keys
        .iter()
        .map(|fk| fk.references_table.as_str())
        .collect();
    assert_eq!(references, ["clinics", "ledger.payers"]);
    for shadow in [Shadow::Transaction, Shadow::SameServer] {
        let lines = block_on(drift(db.url(), &schema, shadow)).unwrap();
        assert_eq!(lines, Vec::<String>::new(), "{shadow:?}");
    }
    // Nothing of the transaction's shadow stays behind.
    let schemas: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'schema_shadow%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(schemas, 0);
}

#[test]
fn a_role_reaches_the_tables_of_a_schema_through_its_usage() {
    let (mut db, schema, clerk) = ledger_db();
    let clerk_url = db.login_role("clerk_login", &clerk);
    block_on(async {
        let owner = Db::connect(db.url()).await.unwrap();
        let clerk = Db::connect(&clerk_url).await.unwrap();
        let payer = clerk
            .insert(&new_payer(1, "Blue Payer", "Claims@Payer.example"))
            .await
            .unwrap();
        assert_eq!(payer.email.as_deref(), Some("Claims@Payer.example"));
        // citext: the same address in another case is the same value.
        let error = owner
            .insert(&new_payer(2, "Copy", "claims@payer.EXAMPLE"))
            .await
            .unwrap_err();
        let violation = error.constraint().unwrap();
        assert_eq!(violation.kind, ConstraintKind::Unique);
        assert_eq!(violation.constraint.as_deref(), Some("payers_email_key"));
        let found: i32 = owner
            .client()
            .query_one(
                "SELECT payer_id FROM ledger.payers WHERE email = 'CLAIMS@payer.example'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 1);
        assert_eq!(clerk.select_all::<Payer>().await.unwrap().len(), 1);
        // The immutable guard lives in the table's schema and still refuses.
        let error = owner
            .client()
            .batch_execute("UPDATE ledger.payers SET created_at = created_at - interval '1 day'")
            .await
            .unwrap_err();
        assert_eq!(error.code().unwrap().code(), "23000");
        owner
            .insert(&InsertClinic::new(7, "North".into()))
            .await
            .unwrap();
        owner.insert(&InsertClaim::new(70, 1, 7)).await.unwrap();
        assert!(owner.get::<Claim>(&70).await.unwrap().is_some());
        assert!(owner.delete::<Payer>(&1).await.unwrap());
        // The foreign key within the schema cascades.
        assert!(owner.get::<Claim>(&70).await.unwrap().is_none());
    });
    // Without USAGE on the schema, the table's own privileges do not reach it.
    db.client()
        .batch_execute(&format!("REVOKE USAGE ON SCHEMA ledger FROM \"{clerk}\""))
        .unwrap();
    let error = block_on(async {
        let clerk = Db::connect(&clerk_url).await.unwrap();
        clerk.select_all::<Payer>().await.unwrap_err()
    });
    assert!(
        error
            .to_string()
            .contains("permission denied for schema ledger"),
        "{error}"
    );
    let lines = block_on(drift(db.url(), &schema, Shadow::Transaction)).unwrap();
    assert_eq!(
        lines,
        [format!("schema `ledger`: role `{clerk}` lacks USAGE")]
    );
}

/// The application before: one table in the current schema.
fn before() -> Schema {
    Schema::new().table::<Clinic>()
}

#[test]
fn plans_create_the_schema_before_its_tables_and_drop_it_after_them() {
    let (before, after) = (before().model().unwrap(), schema().model().unwrap());
    let forward: Vec<String> = plan(&before, &after)
        .steps
        .iter()
        .map(|s| s.sql.clone())
        .collect();
    let position = |sql: &[String], prefix: &str| {
        sql.iter()
            .position(|s| s.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in {sql:#?}"))
    };
    assert_eq!(forward[0], r#"CREATE EXTENSION IF NOT EXISTS "citext""#);
    assert!(
        position(&forward, r#"CREATE SCHEMA IF NOT EXISTS "ledger""#)
            < position(&forward, r#"CREATE TABLE "ledger"."payers""#)
    );
    assert!(forward.contains(&r#"GRANT USAGE ON SCHEMA "ledger" TO "clerk""#.to_string()));
    let back: Vec<String> = plan(&after, &before)
        .steps
        .iter()
        .map(|s| s.sql.clone())
        .collect();
    assert!(
        position(&back, r#"DROP TABLE "ledger"."payers""#)
            < position(&back, r#"DROP SCHEMA "ledger""#)
    );
    assert!(
        position(&back, r#"DROP SCHEMA "ledger""#) < position(&back, r#"DROP EXTENSION "citext""#)
    );
}

/// Forward from the live database (its catalog against the code, normalized in a shadow);
/// back from the code's model to the earlier one, as a migration plans it: a live plan never
/// drops what the code no longer declares.
#[test]
fn a_live_database_is_moved_into_a_schema_and_back_without_drift() {
    let (mut db, after, _) = with_clerk(schema());
    let before = before().with_names(after.names().clone());
    db.client()
        .batch_execute(&before.to_ddl().unwrap())
        .unwrap();
    let forward = block_on(plan_for(db.url(), &after, Shadow::Transaction)).unwrap();
    let back = plan(&after.model().unwrap(), &before.model().unwrap());
    for (plan, target, allow) in [
        (&forward, &after, &[][..]),
        (
            &back,
            &before,
            &["ledger.payers", "ledger.claims", "claims"][..],
        ),
    ] {
        block_on(async {
            let (mut client, connection) = schema_core::pg::tokio_postgres::connect(
                db.url(),
                schema_core::pg::tokio_postgres::NoTls,
            )
            .await
            .unwrap();
            tokio::spawn(connection);
            apply(&mut client, plan, allow).await.unwrap();
        });
        let lines = block_on(drift(db.url(), target, Shadow::Transaction)).unwrap();
        assert_eq!(lines, Vec::<String>::new());
    }
    let left: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'ledger'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// The same table through sqlx: the insert names it with its schema, `citext` binds and reads
/// as text, and the generated `SelectPayer` reads a row.
#[test]
fn sqlx_writes_and_reads_a_table_in_a_schema() {
    let (db, _, _) = ledger_db();
    let url = db.url().to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let payer =
            schema_core::sqlx::insert(&pool, &new_payer(3, "Green Payer", "Remit@Payer.example"))
                .await
                .unwrap();
        assert_eq!(payer.email.as_deref(), Some("Remit@Payer.example"));
        let read: SelectPayer =
            sqlx::query_as("SELECT * FROM ledger.payers WHERE email = $1::text::citext")
                .bind("REMIT@payer.example")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(read, payer);
        let error = schema_core::sqlx::insert(&pool, &new_payer(4, "Copy", "remit@PAYER.example"))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("payers_email_key"), "{error}");
    });
}

/// Two versions of one table: an email column as text, then as `citext`.
#[allow(dead_code)]
mod contacts {
    pub mod v1 {
        /// A payer's contact.
        #[derive(schema_core::PgTable)]
        #[pg(schema = "ledger", table = "contacts")]
        pub struct Contact {
            #[pg(primary_key)]
            pub contact_id: i32,
            pub email: String,
        }
    }
    pub mod v2 {
        /// A payer's contact, its email compared without regard to case.
        #[derive(schema_core::PgTable)]
        #[pg(schema = "ledger", table = "contacts")]
        pub struct Contact {
            #[pg(primary_key)]
            pub contact_id: i32,
            #[pg(citext, unique)]
            pub email: String,
        }
    }
}

#[test]
fn a_text_column_becomes_citext_with_its_extension_and_back_keeping_its_rows() {
    let mut db = TestDb::with(&Schema::new().table::<contacts::v1::Contact>());
    db.client()
        .batch_execute("INSERT INTO ledger.contacts VALUES (1, 'Ana@Clinic.example')")
        .unwrap();
    let text = Schema::new().table::<contacts::v1::Contact>();
    let citext = Schema::new()
        .extension("citext")
        .table::<contacts::v2::Contact>();
    let url = db.url().to_string();
    block_on(async {
        let (mut client, _connection) = schema_core::pg::connect(&url).await.unwrap();
        let plan = common::plan_holding(
            &url,
            &citext,
            &[
                r#"CREATE EXTENSION IF NOT EXISTS "citext""#,
                r#"ALTER TABLE "ledger"."contacts" ALTER COLUMN "email" TYPE citext"#,
            ],
        )
        .await;
        common::apply_without_drift(&mut client, &url, &plan, &citext, &[]).await;
        let found: i64 = client
            .query_one(
                "SELECT count(*) FROM ledger.contacts WHERE email = 'ana@clinic.EXAMPLE'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 1);
        let plan = common::plan_holding(
            &url,
            &text,
            &[r#"ALTER TABLE "ledger"."contacts" ALTER COLUMN "email" TYPE text"#],
        )
        .await;
        common::apply_without_drift(&mut client, &url, &plan, &text, &[]).await;
        let email: String = client
            .query_one("SELECT email FROM ledger.contacts", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(email, "Ana@Clinic.example");
    });
}

/// `url` with the session's search path set to `path`.
fn with_search_path(url: &str, path: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}options=-c%20search_path%3D{}",
        path.replace(',', "%2C")
    )
}

/// A session whose current schema is a declared one (as for a role named after its schema,
/// first on `"$user", public`): its tables still read back as declared, qualified, and are not
/// taken for undeclared tables of the current schema.
#[test]
fn a_declared_schema_that_is_the_current_one_reads_back_as_declared() {
    let (db, schema, _) = ledger_db();
    let url = with_search_path(db.url(), "ledger,public");
    let code = schema.model().unwrap();
    let live = block_on(async {
        let client = Db::connect(&url).await.unwrap();
        let current: String = client
            .client()
            .query_one("SELECT current_schema()::text", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(current, "ledger");
        read_model(client.client(), &Scope::of(&code))
            .await
            .unwrap()
    });
    // The tables of the current schema are those of `ledger` in this session; `clinics` and
    // `claims` are in `public`, which is not.
    let names: Vec<&str> = live.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["ledger.payers", "ledger.claims"]);
    assert!(
        live.unmanaged_tables.is_empty(),
        "{:?}",
        live.unmanaged_tables
    );
    let references: Vec<&str> = live
        .table("ledger.claims")
        .unwrap()
        .foreign_keys
        .iter()
        .map(|fk| fk.references_table.as_str())
        .collect();
    assert_eq!(references, ["public.clinics", "ledger.payers"]);
}

/// An index whose own name holds a dot is dropped by that name, whole.
#[test]
fn an_index_name_with_a_dot_is_not_taken_for_a_schema() {
    let mut with_index = Schema::new().table::<Clinic>().model().unwrap();
    let without = with_index.clone();
    let mut index = schema_core::model::IndexModel {
        name: "clinics_v2.name_idx".into(),
        renamed_from: None,
        unique: false,
        method: "btree".into(),
        keys: vec![schema_core::model::IndexKeyModel::new("name", false, None)],
        include: Vec::new(),
        predicate: None,
    };
    with_index.tables[0].indexes.push(index.clone());
    let sql: Vec<String> = plan(&with_index, &without)
        .steps
        .iter()
        .map(|s| s.sql.clone())
        .collect();
    assert_eq!(
        sql,
        [r#"DROP INDEX CONCURRENTLY IF EXISTS "clinics_v2.name_idx""#]
    );
    let mut renamed = with_index.clone();
    index.renamed_from = Some(index.name.clone());
    index.name = "clinics.name_idx".into();
    renamed.tables[0].indexes = vec![index];
    let sql: Vec<String> = plan(&with_index, &renamed)
        .steps
        .iter()
        .map(|s| s.sql.clone())
        .collect();
    assert_eq!(
        sql,
        [r#"ALTER INDEX "clinics_v2.name_idx" RENAME TO "clinics.name_idx""#]
    );
}
