//! Index kinds declared with the derive: access methods, operator classes, partial indexes,
//! `INCLUDE` columns and expression keys. The DDL is exact, the server builds it, and the
//! catalog read back shows no difference from the declaration.

mod common;

use chrono::{DateTime, Utc};
use common::{block_on, TestDb};
use schema_core::pg::evolve::{drift, Shadow};
use schema_core::{IndexDef, IndexKey, IndexMethod, PgTable, Schema, SchemaError, Table};
use uuid::Uuid;

/// A claim, indexed every way the derive can say.
#[derive(PgTable)]
#[pg(
    table = "claims",
    index(payload(opclass = "jsonb_path_ops"), using = "gin"),
    index(
        provider_id,
        include(status),
        where = "{deleted_at} IS NULL",
        name = "claims_open_idx"
    ),
    index(expr = "lower({email})", unique, name = "claims_email_lower_key"),
    index(submitted_at, using = "brin"),
    index(status, using = "hash"),
    index(submitted_at(desc, nulls_last), status(opclass = "text_pattern_ops"))
)]
pub struct Claim {
    #[pg(primary_key)]
    pub claim_id: Uuid,
    pub provider_id: Uuid,
    pub email: String,
    pub status: String,
    pub payload: serde_json::Value,
    pub submitted_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

fn schema() -> Schema {
    Schema::new().table::<Claim>()
}

#[test]
fn each_index_kind_renders_as_postgresql_takes_it() {
    let ddl = schema().to_ddl().unwrap();
    let indexes: Vec<&str> = ddl
        .lines()
        .filter(|l| l.starts_with("CREATE INDEX") || l.starts_with("CREATE UNIQUE INDEX"))
        .collect();
    assert_eq!(
        indexes,
        [
            r#"CREATE INDEX "claims_payload_idx" ON "claims" USING gin ("payload" "jsonb_path_ops");"#,
            r#"CREATE INDEX "claims_open_idx" ON "claims" ("provider_id") INCLUDE ("status") WHERE "deleted_at" IS NULL;"#,
            r#"CREATE UNIQUE INDEX "claims_email_lower_key" ON "claims" ((lower("email")));"#,
            r#"CREATE INDEX "claims_submitted_at_idx" ON "claims" USING brin ("submitted_at");"#,
            r#"CREATE INDEX "claims_status_idx" ON "claims" USING hash ("status");"#,
            r#"CREATE INDEX "claims_submitted_at_status_idx" ON "claims" ("submitted_at" DESC NULLS LAST, "status" "text_pattern_ops");"#,
        ],
        "{ddl}"
    );
    let payload = Claim::TABLE.indexes[0];
    assert_eq!(payload.method, IndexMethod::Gin);
    assert_eq!(payload.columns[0].key, IndexKey::Column("payload"));
}

#[test]
fn the_catalog_reads_back_every_index_as_declared() {
    let mut db = TestDb::new();
    db.client()
        .batch_execute(&schema().to_ddl().unwrap())
        .unwrap();
    let lines = block_on(drift(db.url(), &schema(), Shadow::Transaction)).unwrap();
    assert_eq!(lines, Vec::<String>::new());

    // The expression key is unique: two addresses differing only in case are one.
    db.client()
        .batch_execute(
            "INSERT INTO claims VALUES (gen_random_uuid(), gen_random_uuid(), 'A@x.org', 'OPEN', \
             '{}', now(), NULL)",
        )
        .unwrap();
    let refused = db
        .client()
        .batch_execute(
            "INSERT INTO claims VALUES (gen_random_uuid(), gen_random_uuid(), 'a@X.org', 'OPEN', \
             '{}', now(), NULL)",
        )
        .unwrap_err();
    assert_eq!(
        refused.as_db_error().map(|e| e.constraint()),
        Some(Some("claims_email_lower_key"))
    );

    // An index changed by hand is reported.
    db.client()
        .batch_execute(
            "DROP INDEX claims_open_idx; \
             CREATE INDEX claims_open_idx ON claims (provider_id) WHERE deleted_at IS NOT NULL",
        )
        .unwrap();
    let lines = block_on(drift(db.url(), &schema(), Shadow::Transaction)).unwrap();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| l.contains("claims_open_idx")),
        "{lines:#?}"
    );
}

#[test]
fn an_index_built_by_hand_that_its_method_cannot_hold_is_refused_by_name() {
    static KEYS: [schema_core::IndexColumn; 1] = [schema_core::IndexColumn {
        key: IndexKey::Column("email"),
        opclass: None,
        order: Some(schema_core::SortOrder::Desc),
        nulls: None,
    }];
    static INDEXES: [IndexDef; 1] = [IndexDef {
        name: Some("claims_email_gin"),
        renamed_from: None,
        unique: false,
        method: IndexMethod::Gin,
        columns: &KEYS,
        include: &[],
        predicate: None,
    }];
    let table = schema_core::TableDef {
        indexes: &INDEXES,
        ..*Claim::TABLE
    };
    assert_eq!(
        schema_core::render::validate(&table),
        Err(SchemaError::InvalidIndex {
            table: "claims".into(),
            index: "claims_email_gin".into(),
            problem: "orders a key, which only a btree index keeps in order",
        })
    );
}
