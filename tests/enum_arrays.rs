//! Arrays of enums: `Vec<E>` and `Vec<Option<E>>` of a `#[derive(PgEnum)]`. A text enum's
//! array is `text[]` (or `varchar(n)[]`) with a check that every element is one of its values;
//! a native enum's is an array of its type. The DDL is exact, the catalog reads back as
//! declared, rows round trip through tokio-postgres and sqlx, and plans add the columns,
//! rewrite renamed values inside the arrays, replace a native type the arrays use, and drop
//! them, with no drift after each.

mod common;

use common::{apply_without_drift, block_on, plan_holding, TestDb};
use schema_core::pg::evolve::{drift, plan_for, Shadow};
use schema_core::pg::Db;
use schema_core::{PgEnum, PgTable, PgType, Schema, SqlType, Table};

/// What a case is about: a text enum.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Topic {
    Urgent,
    Billing,
    FollowUp,
}

/// How a patient may be reached: the native type `channel`.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native)]
pub enum Channel {
    Email,
    Phone,
}

/// A case.
#[derive(PgTable)]
#[pg(table = "cases")]
pub struct Case {
    #[pg(primary_key)]
    pub case_id: i64,
    pub topics: Vec<Topic>,
    #[pg(varchar = 10)]
    pub labels: Vec<Option<Topic>>,
    pub channels: Vec<Channel>,
    pub fallbacks: Option<Vec<Option<Channel>>>,
}

fn schema() -> Schema {
    Schema::new().table::<Case>()
}

#[test]
fn the_ddl_types_the_arrays_and_checks_every_element_of_a_text_enum() {
    let ddl = common::statements(schema().to_ddl().unwrap());
    let expected = r#"CREATE TYPE "channel" AS ENUM ('Email', 'Phone');

CREATE TABLE "cases" (
    "case_id" bigint NOT NULL,
    "topics" text[] NOT NULL,
    "labels" varchar(10)[] NOT NULL,
    "channels" "channel"[] NOT NULL,
    "fallbacks" "channel"[],
    CONSTRAINT "cases_pkey" PRIMARY KEY ("case_id"),
    CONSTRAINT "cases_topics_check" CHECK (array_remove("topics"::text[], NULL) <@ ARRAY['URGENT', 'BILLING', 'FOLLOW_UP']::text[]),
    CONSTRAINT "cases_labels_check" CHECK (array_remove("labels"::text[], NULL) <@ ARRAY['URGENT', 'BILLING', 'FOLLOW_UP']::text[])
);"#;
    assert!(ddl.starts_with(expected), "{ddl}");
    let column = |name| Case::TABLE.column(name).unwrap();
    assert_eq!(column("topics").sql_type, SqlType::Array(&SqlType::Text));
    assert_eq!(
        column("fallbacks").sql_type,
        SqlType::Array(&SqlType::Enum("channel"))
    );
    assert_eq!(
        <Vec<Topic> as PgType>::ALLOWED_VALUES,
        Some(&["URGENT", "BILLING", "FOLLOW_UP"][..])
    );
}

/// The error of a statement the server refuses, as its SQLSTATE and constraint.
fn refusal(client: &mut postgres::Client, sql: &str) -> (String, Option<String>) {
    let error = client.batch_execute(sql).unwrap_err();
    let db = error.as_db_error().expect("a database error");
    (
        db.code().code().to_string(),
        db.constraint().map(String::from),
    )
}

#[test]
fn the_catalog_reads_back_as_declared_and_the_check_refuses_unknown_elements() {
    let mut test_db = TestDb::new();
    let client = test_db.client();
    client.batch_execute(&schema().to_ddl().unwrap()).unwrap();
    client
        .batch_execute(
            "INSERT INTO cases VALUES (1, '{URGENT}', '{NULL,BILLING}', '{Phone}', NULL), \
             (2, '{}', '{}', '{}', '{NULL}')",
        )
        .unwrap();
    assert_eq!(
        refusal(
            client,
            "INSERT INTO cases VALUES (3, '{URGENT,urgent}', '{}', '{}', NULL)"
        ),
        ("23514".into(), Some("cases_topics_check".into()))
    );
    assert_eq!(
        refusal(
            client,
            "INSERT INTO cases VALUES (3, '{}', '{UNKNOWN}', '{}', NULL)"
        ),
        ("23514".into(), Some("cases_labels_check".into()))
    );
    // The native type refuses an unknown label itself.
    assert_eq!(
        refusal(
            client,
            "INSERT INTO cases VALUES (3, '{}', '{}', '{Fax}', NULL)"
        )
        .0,
        "22P02"
    );
    let types: Vec<String> = client
        .query(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'cases'::regclass AND attnum > 1 ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        types,
        [
            "text[]",
            "character varying(10)[]",
            "channel[]",
            "channel[]"
        ]
    );
    let lines = block_on(drift(test_db.url(), &schema(), Shadow::SameServer)).unwrap();
    assert_eq!(lines, Vec::<String>::new());
}

fn rows() -> [InsertCase; 2] {
    [
        InsertCase {
            fallbacks: Some(vec![Some(Channel::Email), None]),
            ..InsertCase::new(
                1,
                vec![Topic::FollowUp, Topic::Urgent, Topic::FollowUp],
                vec![None, Some(Topic::Billing)],
                vec![Channel::Phone, Channel::Email],
            )
        },
        InsertCase::new(2, vec![], vec![], vec![]),
    ]
}

/// What a written row reads back as.
fn as_read(row: &InsertCase) -> SelectCase {
    SelectCase {
        case_id: row.case_id,
        topics: row.topics.clone(),
        labels: row.labels.clone(),
        channels: row.channels.clone(),
        fallbacks: row.fallbacks.clone(),
    }
}

#[test]
fn rows_round_trip_through_tokio_postgres() {
    let mut test_db = TestDb::with(&schema());
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        for row in rows() {
            assert_eq!(db.insert(&row).await.unwrap(), as_read(&row));
            assert_eq!(
                db.get::<Case>(&row.case_id).await.unwrap(),
                Some(as_read(&row))
            );
        }
    });
    let stored: Vec<String> = test_db
        .client()
        .query_one(
            "SELECT ARRAY[topics::text, labels::text, channels::text, fallbacks::text] \
             FROM cases WHERE case_id = 1",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        stored,
        [
            "{FOLLOW_UP,URGENT,FOLLOW_UP}",
            "{NULL,BILLING}",
            "{Phone,Email}",
            "{Email,NULL}"
        ]
    );
    // An array bound as a parameter of its own.
    let found: i64 = test_db
        .client()
        .query_one(
            "SELECT case_id FROM cases WHERE topics = $1 AND channels = $2",
            &[
                &vec![Topic::FollowUp, Topic::Urgent, Topic::FollowUp],
                &vec![Channel::Phone, Channel::Email],
            ],
        )
        .unwrap()
        .get(0);
    assert_eq!(found, 1);
}

#[test]
fn rows_round_trip_through_sqlx() {
    let test_db = TestDb::with(&schema());
    let url = test_db.url().to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        for row in rows() {
            let stored = schema_core::sqlx::insert(&pool, &row).await.unwrap();
            assert_eq!(stored, as_read(&row));
        }
        let all: Vec<SelectCase> = sqlx::query_as("SELECT * FROM cases ORDER BY case_id")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(all, rows().iter().map(as_read).collect::<Vec<_>>());
        let (topics, channels): (Vec<Topic>, Vec<Channel>) = sqlx::query_as(
            "SELECT topics, channels FROM cases WHERE topics = $1 AND channels = $2",
        )
        .bind(vec![Topic::FollowUp, Topic::Urgent, Topic::FollowUp])
        .bind(vec![Channel::Phone, Channel::Email])
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(topics, [Topic::FollowUp, Topic::Urgent, Topic::FollowUp]);
        assert_eq!(channels, [Channel::Phone, Channel::Email]);
        // An element no variant is stored as is a decode error, not a panic.
        let unknown = sqlx::query_scalar::<_, Vec<Topic>>("SELECT ARRAY['NOPE']::text[]")
            .fetch_one(&pool)
            .await
            .unwrap_err();
        assert!(unknown.to_string().contains("NOPE"), "{unknown}");
        pool.close().await;
    });
}

/// Versions of one table, for migrations between them.
mod v1 {
    use schema_core::PgTable;

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "cases")]
    pub struct Case {
        #[pg(primary_key)]
        pub case_id: i64,
    }
}

mod v2 {
    pub use super::{Channel, Topic};
    use schema_core::PgTable;

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "cases")]
    pub struct Case {
        #[pg(primary_key)]
        pub case_id: i64,
        pub topics: Option<Vec<Topic>>,
        #[pg(varchar = 10)]
        pub labels: Option<Vec<Option<Topic>>>,
        pub channels: Option<Vec<Channel>>,
    }
}

mod v3 {
    use schema_core::{PgEnum, PgTable};

    /// `Billing` is stored as `INVOICING` now.
    #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
    #[pg(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum Topic {
        Urgent,
        #[pg(renamed_from = "BILLING")]
        Invoicing,
        FollowUp,
    }

    /// `Phone` is gone: the type is replaced.
    #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
    #[pg(native)]
    pub enum Channel {
        Email,
    }

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "cases")]
    pub struct Case {
        #[pg(primary_key)]
        pub case_id: i64,
        pub topics: Option<Vec<Topic>>,
        #[pg(varchar = 10)]
        pub labels: Option<Vec<Option<Topic>>>,
        pub channels: Option<Vec<Channel>>,
    }
}

#[test]
fn plans_add_rewrite_replace_and_drop_enum_arrays() {
    let mut test_db = TestDb::new();
    let (a, b, c) = (
        Schema::new().table::<v1::Case>(),
        Schema::new().table::<v2::Case>(),
        Schema::new().table::<v3::Case>(),
    );
    test_db
        .client()
        .batch_execute(&a.to_ddl().unwrap())
        .unwrap();
    test_db
        .client()
        .batch_execute("INSERT INTO cases SELECT generate_series(1, 3)")
        .unwrap();
    let url = test_db.url().to_string();
    block_on(async {
        let (mut client, _connection) = schema_core::pg::connect(&url).await.unwrap();

        // A → B: the type and the columns are created, with the text enums' checks.
        let plan = plan_holding(
            &url,
            &b,
            &[
            r#"CREATE TYPE "channel" AS ENUM ('Email', 'Phone')"#,
            r#"ALTER TABLE "cases" ADD COLUMN "topics" text[]"#,
            r#"ALTER TABLE "cases" ADD COLUMN "channels" "channel"[]"#,
            r#"ALTER TABLE "cases" ADD CONSTRAINT "cases_labels_check" CHECK (array_remove("labels"::text[], NULL) <@ ARRAY['URGENT', 'BILLING', 'FOLLOW_UP']::text[]) NOT VALID"#,
            ],
        )
        .await;
        apply_without_drift(&mut client, &url, &plan, &b, &[]).await;
        client
            .batch_execute(
                "UPDATE cases SET topics = '{BILLING,URGENT,BILLING}', \
                 labels = '{NULL,BILLING}', channels = '{Email}' WHERE case_id = 1; \
                 UPDATE cases SET topics = '{URGENT}', channels = '{Email,Email}' \
                 WHERE case_id = 2",
            )
            .await
            .unwrap();

        // B → C: every element stored as BILLING becomes INVOICING, in both columns, and the
        // native type loses `Phone` (no row holds it): replaced under the array column.
        let plan = plan_holding(
            &url,
            &c,
            &[
            r#"UPDATE "cases" SET "topics" = pg_catalog.array_replace("topics", 'BILLING', 'INVOICING') WHERE 'BILLING' = ANY ("topics")"#,
            r#"UPDATE "cases" SET "labels" = pg_catalog.array_replace("labels", 'BILLING', 'INVOICING') WHERE 'BILLING' = ANY ("labels")"#,
            r#"ALTER TABLE "cases" ALTER COLUMN "channels" TYPE "channel"[] USING "channels"::text[]::"channel"[]"#,
            ],
        )
        .await;
        let refused = plan.check_allowed(&[]).unwrap_err();
        let objects: Vec<&str> = refused
            .steps
            .iter()
            .map(|s| s.destructive.as_ref().unwrap().object.as_str())
            .collect();
        assert_eq!(objects, ["cases.channels"]);
        apply_without_drift(&mut client, &url, &plan, &c, &["cases.channels"]).await;
        let stored: Vec<String> = client
            .query(
                "SELECT concat_ws(' ', topics::text, labels::text, channels::text) \
                 FROM cases ORDER BY case_id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            stored,
            [
                "{INVOICING,URGENT,INVOICING} {NULL,INVOICING} {Email}",
                "{URGENT} {Email,Email}",
                ""
            ]
        );

        // C → A: the columns go (each needs allowing), then the type no column uses.
        let plan = plan_for(&url, &a, Shadow::SameServer).await.unwrap();
        let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
        assert!(sql.contains(&r#"DROP TYPE "channel""#), "{sql:#?}");
        apply_without_drift(
            &mut client,
            &url,
            &plan,
            &a,
            &["cases.topics", "cases.labels", "cases.channels"],
        )
        .await;
    });
}
