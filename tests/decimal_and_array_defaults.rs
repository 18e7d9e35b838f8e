//! Defaults written as Rust values on `rust_decimal::Decimal` fields (`default = 0`,
//! `default = Decimal::ZERO`, `default = Decimal::new(1995, 2)`) and on `Vec<T>` fields
//! (`default = vec![]`, `default = vec![Topic::Urgent]`), and `numeric` with a negative scale
//! (`numeric(precision = 2, scale = -3)`, PostgreSQL 15 and later). The DDL is exact, the
//! catalog reads back with no drift, inserts take the defaults, values round trip through
//! tokio-postgres and sqlx, validation refuses what the server would round or refuse, and a
//! plan adds, changes and drops the columns.

mod common;

use std::str::FromStr;

use common::{apply_without_drift, block_on, plan_holding, TestDb};
use schema_core::pg::evolve::{drift, plan_for, Shadow};
use schema_core::pg::Db;
use schema_core::rust_decimal::Decimal;
use schema_core::{PgEnum, PgTable, Rule, Schema, SqlType, Table, Validate};

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A text enum, for an array default.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Topic {
    Urgent,
    FollowUp,
}

/// An account.
#[derive(PgTable)]
#[pg(table = "accounts")]
pub struct Account {
    #[pg(primary_key)]
    pub account_id: i64,
    #[pg(numeric(precision = 10, scale = 2), default = Decimal::ZERO)]
    pub balance: Decimal,
    #[pg(default = 5)]
    pub units: Decimal,
    #[pg(default = Decimal::new(-1995, 2))]
    pub fee: Option<Decimal>,
    /// Thousands only.
    #[pg(numeric(precision = 2, scale = -3))]
    pub budget: Option<Decimal>,
    #[pg(default = vec![])]
    pub tags: Vec<String>,
    #[pg(default = vec![Some(1), None])]
    pub scores: Vec<Option<i32>>,
    #[pg(default = vec![Topic::Urgent, Topic::FollowUp])]
    pub topics: Vec<Topic>,
    #[pg(default = vec![String::from("it's \"quoted\"")])]
    pub notes: Option<Vec<String>>,
}

fn schema() -> Schema {
    Schema::new().table::<Account>()
}

#[test]
fn the_ddl_writes_decimal_and_array_defaults_and_a_negative_scale() {
    let ddl = common::statements(schema().to_ddl().unwrap());
    let expected = r#"CREATE TABLE "accounts" (
    "account_id" bigint NOT NULL,
    "balance" numeric(10,2) NOT NULL DEFAULT 0,
    "units" numeric NOT NULL DEFAULT 5,
    "fee" numeric DEFAULT -19.95,
    "budget" numeric(2,-3),
    "tags" text[] NOT NULL DEFAULT '{}',
    "scores" integer[] NOT NULL DEFAULT '{1,NULL}',
    "topics" text[] NOT NULL DEFAULT '{"URGENT","FOLLOW_UP"}',
    "notes" text[] DEFAULT E'{"it''s \\"quoted\\""}',
"#;
    assert!(ddl.starts_with(expected), "{ddl}");
    assert_eq!(
        Account::TABLE.column("budget").unwrap().sql_type,
        SqlType::Numeric(Some((2, -3)))
    );
}

#[test]
fn inserts_take_the_defaults_and_the_catalog_reads_back_as_declared() {
    let mut test_db = TestDb::with(&schema());
    let lines = block_on(drift(test_db.url(), &schema(), Shadow::SameServer)).unwrap();
    assert_eq!(lines, Vec::<String>::new());
    let budget: String = test_db
        .client()
        .query_one(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'accounts'::regclass AND attname = 'budget'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(budget, "numeric(2,-3)");
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let stored = db.insert(&InsertAccount::new(1)).await.unwrap();
        assert_eq!(
            stored,
            SelectAccount {
                account_id: 1,
                balance: dec("0"),
                units: dec("5"),
                fee: Some(dec("-19.95")),
                budget: None,
                tags: vec![],
                scores: vec![Some(1), None],
                topics: vec![Topic::Urgent, Topic::FollowUp],
                notes: Some(vec!["it's \"quoted\"".into()]),
            }
        );
    });
}

#[test]
fn a_negative_scale_takes_multiples_and_validation_refuses_the_rest() {
    let row = |budget: &str| InsertAccount {
        budget: Some(dec(budget)),
        ..InsertAccount::new(1)
    };
    for fits in ["12000", "-99000", "0", "1000.000"] {
        assert_eq!(row(fits).validate(), Ok(()), "{fits}");
    }
    let rules = |budget: &str| -> Vec<Rule> {
        row(budget)
            .validate()
            .unwrap_err()
            .violations
            .into_iter()
            .map(|v| v.rule)
            .collect()
    };
    assert_eq!(
        rules("12345"),
        [Rule::NumericScale {
            scale: -3,
            value: Some("12345".into())
        }]
    );
    assert_eq!(
        rules("1000.5"),
        [Rule::NumericScale {
            scale: -3,
            value: Some("1000.5".into())
        }]
    );
    assert_eq!(
        rules("100000"),
        [Rule::NumericOverflow {
            precision: 2,
            scale: -3,
            value: Some("100000".into())
        }]
    );
    let error = row("12345").validate().unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid row for `accounts`: `budget` is 12345, not a multiple of 1000 as the column keeps it"
    );
    assert_eq!(
        row("100000").validate().unwrap_err().to_string(),
        "invalid row for `accounts`: `budget` is 100000, with more than 5 digits before the \
         point that numeric(2,-3) holds"
    );

    // What validation lets through, the server stores as it is, both ways.
    let mut test_db = TestDb::with(&schema());
    let url = test_db.url().to_string();
    block_on(async {
        let db = Db::connect(&url).await.unwrap();
        let stored = db.insert(&row("-99000")).await.unwrap();
        assert_eq!(stored.budget, Some(dec("-99000")));
        let refused = db.insert(&row("12345")).await.unwrap_err();
        assert!(refused.to_string().contains("1000"), "{refused}");
    });
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let stored = schema_core::sqlx::insert(
            &pool,
            &InsertAccount {
                budget: Some(dec("12000")),
                ..InsertAccount::new(2)
            },
        )
        .await
        .unwrap();
        assert_eq!(stored.budget, Some(dec("12000")));
        assert_eq!(stored.topics, [Topic::Urgent, Topic::FollowUp]);
        pool.close().await;
    });
    // The server would have rounded what validation refuses.
    let rounded: String = test_db
        .client()
        .query_one("SELECT 12345::numeric(2,-3)::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(rounded, "12000");
}

mod v1 {
    use schema_core::PgTable;

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "accounts")]
    pub struct Account {
        #[pg(primary_key)]
        pub account_id: i64,
        pub budget: Option<schema_core::rust_decimal::Decimal>,
    }
}

mod v2 {
    use schema_core::rust_decimal::Decimal;
    use schema_core::PgTable;

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "accounts")]
    pub struct Account {
        #[pg(primary_key)]
        pub account_id: i64,
        #[pg(numeric(precision = 4, scale = -3))]
        pub budget: Option<Decimal>,
        #[pg(default = Decimal::new(250, 2))]
        pub fee: Decimal,
        #[pg(default = vec![])]
        pub tags: Vec<String>,
    }
}

mod v3 {
    use schema_core::rust_decimal::Decimal;
    use schema_core::PgTable;

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "accounts")]
    pub struct Account {
        #[pg(primary_key)]
        pub account_id: i64,
        #[pg(numeric(precision = 2, scale = -3))]
        pub budget: Option<Decimal>,
        #[pg(default = 3)]
        pub fee: Decimal,
        #[pg(default = vec![String::from("new")])]
        pub tags: Vec<String>,
    }
}

#[test]
fn plans_add_change_and_drop_the_defaults_and_the_negative_scale() {
    let mut test_db = TestDb::new();
    let (a, b, c) = (
        Schema::new().table::<v1::Account>(),
        Schema::new().table::<v2::Account>(),
        Schema::new().table::<v3::Account>(),
    );
    test_db
        .client()
        .batch_execute(&a.to_ddl().unwrap())
        .unwrap();
    test_db
        .client()
        .batch_execute("INSERT INTO accounts VALUES (1, 12000), (2, NULL)")
        .unwrap();
    let url = test_db.url().to_string();
    block_on(async {
        let (mut client, _connection) = schema_core::pg::connect(&url).await.unwrap();

        // A → B: the rows get the new columns' defaults; numeric → numeric(4,-3) may round.
        let plan = plan_holding(
            &url,
            &b,
            &[
                r#"ALTER TABLE "accounts" ADD COLUMN "fee" numeric NOT NULL DEFAULT 2.50"#,
                r#"ALTER TABLE "accounts" ADD COLUMN "tags" text[] NOT NULL DEFAULT '{}'"#,
                r#"ALTER TABLE "accounts" ALTER COLUMN "budget" TYPE numeric(4,-3)"#,
            ],
        )
        .await;
        apply_without_drift(&mut client, &url, &plan, &b, &["accounts.budget"]).await;

        // B → C: the defaults change; numeric(4,-3) → numeric(2,-3) holds fewer digits.
        let plan = plan_holding(
            &url,
            &c,
            &[
                r#"ALTER TABLE "accounts" ALTER COLUMN "fee" SET DEFAULT 3"#,
                r#"ALTER TABLE "accounts" ALTER COLUMN "tags" SET DEFAULT '{"new"}'"#,
            ],
        )
        .await;
        let refused = plan.check_allowed(&[]).unwrap_err();
        let objects: Vec<&str> = refused
            .steps
            .iter()
            .map(|s| s.destructive.as_ref().unwrap().object.as_str())
            .collect();
        assert_eq!(objects, ["accounts.budget"]);
        apply_without_drift(&mut client, &url, &plan, &c, &["accounts.budget"]).await;
        let rows: Vec<String> = client
            .query(
                "SELECT concat_ws(' ', budget::text, fee::text, tags::text) FROM accounts \
                 ORDER BY account_id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(rows, ["12000 2.50 {}", "2.50 {}"]);

        // C → A: the columns go; the scale goes back to none.
        let plan = plan_for(&url, &a, Shadow::SameServer).await.unwrap();
        apply_without_drift(
            &mut client,
            &url,
            &plan,
            &a,
            &["accounts.fee", "accounts.tags"],
        )
        .await;
    });
}
