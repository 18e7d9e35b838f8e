//! Column types beyond the basic ones: `numeric(p,s)` as `rust_decimal::Decimal`, arrays
//! (`Vec<T>` as `T[]`), `char(n)`, `timestamp(p)`, `timestamptz(p)` and `time(p)`, `interval`,
//! `inet` and `cidr`, `citext`. For each: the DDL is exact, the server builds it and the
//! catalog reads back as declared, values round trip through tokio-postgres and sqlx, rules
//! are checked before anything is sent, and a migration adds, changes and drops the column.

mod common;

use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, NaiveTime, TimeZone, Utc};
use common::{apply_without_drift, block_on, TestDb};
use schema_core::pg::evolve::{apply, drift, plan_for, Shadow};
use schema_core::pg::Db;
use schema_core::rust_decimal::Decimal;
use schema_core::{
    Cidr, Interval, PgTable, Rule, Schema, SqlType, Table, Validate, ValidationError, Violation,
};
use uuid::Uuid;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A ledger line: a column of every type this file covers.
#[derive(PgTable)]
#[pg(table = "ledger_lines")]
pub struct LedgerLine {
    #[pg(primary_key)]
    pub line_id: i64,
    /// A money amount: 12 digits, 2 after the point.
    #[pg(numeric(precision = 12, scale = 2))]
    pub amount: Decimal,
    /// Any number of digits.
    pub quantity: Option<Decimal>,
    #[pg(numeric(precision = 5))]
    pub units: Option<Decimal>,
    #[pg(char = 3)]
    pub currency: String,
    pub tags: Vec<String>,
    #[pg(varchar = 5)]
    pub codes: Vec<String>,
    pub scores: Vec<Option<i32>>,
    #[pg(numeric(precision = 6, scale = 3))]
    pub rates: Option<Vec<Decimal>>,
    pub seen: Vec<Uuid>,
    #[pg(precision = 3)]
    pub booked_at: DateTime<Utc>,
    #[pg(precision = 0)]
    pub local_at: Option<NaiveDateTime>,
    #[pg(precision = 2)]
    pub opens: Option<NaiveTime>,
    pub ratio: f32,
    pub wait: Interval,
    pub client_ip: Option<IpAddr>,
    pub network: Option<Cidr>,
    pub peers: Vec<IpAddr>,
}

fn schema() -> Schema {
    Schema::new().table::<LedgerLine>()
}

#[test]
fn the_ddl_spells_every_type_exactly() {
    let ddl = schema().to_ddl().unwrap();
    let expected = r#"CREATE TABLE "ledger_lines" (
    "line_id" bigint NOT NULL,
    "amount" numeric(12,2) NOT NULL,
    "quantity" numeric,
    "units" numeric(5,0),
    "currency" char(3) NOT NULL,
    "tags" text[] NOT NULL,
    "codes" varchar(5)[] NOT NULL,
    "scores" integer[] NOT NULL,
    "rates" numeric(6,3)[],
    "seen" uuid[] NOT NULL,
    "booked_at" timestamptz(3) NOT NULL,
    "local_at" timestamp(0),
    "opens" time(2),
    "ratio" real NOT NULL,
    "wait" interval NOT NULL,
    "client_ip" inet,
    "network" cidr,
    "peers" inet[] NOT NULL,
    CONSTRAINT "ledger_lines_pkey" PRIMARY KEY ("line_id")
);"#;
    assert!(ddl.contains(expected), "{ddl}");
    let types: Vec<SqlType> = LedgerLine::TABLE
        .columns
        .iter()
        .map(|c| c.sql_type)
        .collect();
    assert_eq!(types[1], SqlType::Numeric(Some((12, 2))));
    assert_eq!(types[6], SqlType::Array(&SqlType::Varchar(5)));
    assert_eq!(types[10], SqlType::TimestamptzPrecision(3));
}

#[test]
fn the_catalog_reads_back_every_type_as_declared() {
    let mut db = TestDb::new();
    db.client()
        .batch_execute(&schema().to_ddl().unwrap())
        .unwrap();
    let lines = block_on(drift(db.url(), &schema(), Shadow::Transaction)).unwrap();
    assert_eq!(lines, Vec::<String>::new());
    let types: Vec<(String, String)> = db
        .client()
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'ledger_lines'::regclass AND attnum > 0 ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let find = |name: &str| types.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(find("amount"), "numeric(12,2)");
    assert_eq!(find("currency"), "character(3)");
    assert_eq!(find("codes"), "character varying(5)[]");
    assert_eq!(find("booked_at"), "timestamp(3) with time zone");
    assert_eq!(find("local_at"), "timestamp(0) without time zone");
    assert_eq!(find("opens"), "time(2) without time zone");
    assert_eq!(find("network"), "cidr");
}

fn full_line(id: i64) -> InsertLedgerLine {
    InsertLedgerLine {
        line_id: id,
        amount: dec("-9999999999.99"),
        quantity: Some(dec("12345678901234567890.123456789")),
        units: Some(dec("99999")),
        currency: "EUR".into(),
        tags: vec!["a".into(), String::new(), "ünï".into()],
        codes: vec!["abcde".into()],
        scores: vec![Some(1), None, Some(i32::MIN)],
        rates: Some(vec![dec("1.5"), dec("-999.999")]),
        seen: vec![Uuid::nil(), Uuid::max()],
        booked_at: Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 58).unwrap()
            + chrono::Duration::milliseconds(123),
        local_at: Some(
            chrono::NaiveDate::from_ymd_opt(1999, 12, 31)
                .unwrap()
                .and_hms_opt(1, 2, 3)
                .unwrap(),
        ),
        opens: Some(NaiveTime::from_hms_milli_opt(8, 30, 0, 250).unwrap()),
        ratio: 0.25,
        wait: Interval::new(14, -3, 86_400_000_001),
        client_ip: Some("2001:db8::1".parse().unwrap()),
        network: Some("192.168.0.0/16".parse().unwrap()),
        peers: vec!["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
    }
}

fn bare_line(id: i64) -> InsertLedgerLine {
    InsertLedgerLine {
        line_id: id,
        amount: dec("0"),
        quantity: None,
        units: None,
        currency: "USD".into(),
        tags: vec![],
        codes: vec![],
        scores: vec![],
        rates: None,
        seen: vec![],
        booked_at: Utc.timestamp_opt(0, 0).unwrap(),
        local_at: None,
        opens: None,
        ratio: -0.0,
        wait: Interval::default(),
        client_ip: None,
        network: None,
        peers: vec![],
    }
}

/// What a written row reads back as.
fn as_read(line: &InsertLedgerLine) -> SelectLedgerLine {
    SelectLedgerLine {
        line_id: line.line_id,
        amount: line.amount,
        quantity: line.quantity,
        units: line.units,
        currency: line.currency.clone(),
        tags: line.tags.clone(),
        codes: line.codes.clone(),
        scores: line.scores.clone(),
        rates: line.rates.clone(),
        seen: line.seen.clone(),
        booked_at: line.booked_at,
        local_at: line.local_at,
        opens: line.opens,
        ratio: line.ratio,
        wait: line.wait,
        client_ip: line.client_ip,
        network: line.network,
        peers: line.peers.clone(),
    }
}

#[test]
fn values_round_trip_through_tokio_postgres() {
    let mut test_db = TestDb::with(&schema());
    let url = test_db.url().to_string();
    block_on(async {
        let db = Db::connect(&url).await.unwrap();
        for line in [full_line(1), bare_line(2)] {
            let stored = db.insert(&line).await.unwrap();
            assert_eq!(stored, as_read(&line));
            let read = db.get::<LedgerLine>(&line.line_id).await.unwrap();
            assert_eq!(read, Some(as_read(&line)));
        }
    });
    // The server holds the values as written, not only this crate's reading of them.
    let row = test_db
        .client()
        .query_one(
            "SELECT amount::text, units::text, wait::text, network::text, scores::text, \
             booked_at = '2024-02-29 23:59:58.123+00' FROM ledger_lines WHERE line_id = 1",
            &[],
        )
        .unwrap();
    let text: Vec<String> = (0..5).map(|i| row.get(i)).collect();
    assert_eq!(
        text,
        [
            "-9999999999.99",
            "99999",
            "1 year 2 mons -3 days +24:00:00.000001",
            "192.168.0.0/16",
            "{1,NULL,-2147483648}"
        ]
    );
    assert!(row.get::<_, bool>(5));
}

#[test]
fn values_round_trip_through_sqlx() {
    let test_db = TestDb::with(&schema());
    let url = test_db.url().to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        for line in [full_line(1), bare_line(2)] {
            let stored = schema_core::sqlx::insert(&pool, &line).await.unwrap();
            assert_eq!(stored, as_read(&line));
        }
        let all: Vec<SelectLedgerLine> =
            sqlx::query_as("SELECT * FROM ledger_lines ORDER BY line_id")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(all, vec![as_read(&full_line(1)), as_read(&bare_line(2))]);
        pool.close().await;
    });
}

#[test]
fn rows_that_break_a_type_rule_are_refused_naming_the_column_and_the_rule() {
    let mut line = full_line(1);
    line.amount = dec("12345678901.5");
    line.units = Some(dec("1.5"));
    line.currency = "EURO".into();
    line.codes = vec!["ok".into(), "toolong".into()];
    line.rates = Some(vec![dec("1000"), dec("0.0001")]);
    let error = line.validate().unwrap_err();
    let violation = |column, rule| Violation { column, rule };
    assert_eq!(
        error,
        ValidationError {
            table: "ledger_lines",
            violations: vec![
                violation(
                    "amount",
                    Rule::NumericOverflow {
                        precision: 12,
                        scale: 2,
                        value: Some("12345678901.5".into())
                    }
                ),
                violation(
                    "units",
                    Rule::NumericScale {
                        scale: 0,
                        value: Some("1.5".into())
                    }
                ),
                violation(
                    "currency",
                    Rule::TooLongForChar {
                        max_chars: 3,
                        chars: 4
                    }
                ),
                violation(
                    "codes",
                    Rule::TooLong {
                        max_chars: 5,
                        chars: 7
                    }
                ),
                violation(
                    "rates",
                    Rule::NumericOverflow {
                        precision: 6,
                        scale: 3,
                        value: Some("1000".into())
                    }
                ),
                violation(
                    "rates",
                    Rule::NumericScale {
                        scale: 3,
                        value: Some("0.0001".into())
                    }
                ),
            ],
        }
    );
    assert_eq!(
        error.to_string(),
        "invalid row for `ledger_lines`: `amount` is 12345678901.5, with more than 10 digits \
         before the point that numeric(12,2) holds; `units` is 1.5, with more than the 0 digits \
         after the point the column keeps; `currency` is 4 characters long, more than char(3) \
         holds; `codes` is 7 characters long, more than varchar(5) holds; `rates` is 1000, with \
         more than 3 digits before the point that numeric(6,3) holds; `rates` is 0.0001, with \
         more than the 3 digits after the point the column keeps"
    );
    // The limits themselves pass; trailing zeros are not digits the column loses.
    let mut edge = full_line(2);
    edge.amount = dec("9999999999.990");
    edge.rates = Some(vec![dec("999.999"), dec("-0.001")]);
    assert_eq!(edge.validate(), Ok(()));

    // Nothing is sent: the database stays empty.
    let mut test_db = TestDb::with(&schema());
    let url = test_db.url().to_string();
    block_on(async {
        let db = Db::connect(&url).await.unwrap();
        let refused = db.insert(&line).await.unwrap_err();
        assert!(refused.to_string().contains("numeric(12,2)"), "{refused}");
    });
    let count: i64 = test_db
        .client()
        .query_one("SELECT count(*) FROM ledger_lines", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
}

#[test]
fn rows_serialize_with_decimals_intervals_and_networks_as_values() {
    let line = as_read(&full_line(1));
    let json = serde_json::to_value(&line).unwrap();
    assert_eq!(json["amount"], "-9999999999.99");
    assert_eq!(json["network"], "192.168.0.0/16");
    assert_eq!(json["client_ip"], "2001:db8::1");
    assert_eq!(
        json["wait"],
        serde_json::json!({"months": 14, "days": -3, "microseconds": 86_400_000_001_i64})
    );
    assert_eq!(json["scores"], serde_json::json!([1, null, -2147483648]));
    let back: SelectLedgerLine = serde_json::from_value(json).unwrap();
    assert_eq!(back, line);
}

/// Three versions of one table, for migrations between them.
mod v1 {
    use super::*;

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "prices")]
    pub struct Price {
        #[pg(primary_key)]
        pub price_id: i32,
        #[pg(numeric(precision = 10, scale = 2))]
        pub amount: Decimal,
        #[pg(precision = 3)]
        pub valid_from: NaiveDateTime,
        pub tags: Vec<String>,
        #[pg(char = 3)]
        pub code: Option<String>,
    }
}

mod v2 {
    use super::*;

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "prices")]
    pub struct Price {
        #[pg(primary_key)]
        pub price_id: i32,
        #[pg(numeric(precision = 12, scale = 2))]
        pub amount: Decimal,
        #[pg(precision = 6)]
        pub valid_from: NaiveDateTime,
        #[pg(varchar = 20)]
        pub tags: Vec<String>,
        #[pg(char = 5)]
        pub code: Option<String>,
        pub wait: Option<Interval>,
        pub client_ip: Option<IpAddr>,
        pub network: Option<Cidr>,
        #[pg(numeric(precision = 6, scale = 3))]
        pub rates: Option<Vec<Decimal>>,
        pub scores: Option<Vec<Option<i32>>>,
        #[pg(precision = 0)]
        pub seen_at: Option<DateTime<Utc>>,
    }
}

mod v3 {
    use super::*;

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "prices")]
    pub struct Price {
        #[pg(primary_key)]
        pub price_id: i32,
        #[pg(numeric(precision = 12, scale = 2))]
        pub amount: Decimal,
    }
}

mod v4 {
    use super::*;

    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "prices")]
    pub struct Price {
        #[pg(primary_key)]
        pub price_id: i32,
        #[pg(numeric(precision = 10, scale = 2))]
        pub amount: Decimal,
    }
}

#[test]
fn migrations_add_change_and_drop_columns_of_every_type() {
    let mut test_db = TestDb::new();
    let (a, b, c, d) = (
        Schema::new().table::<v1::Price>(),
        Schema::new().table::<v2::Price>(),
        Schema::new().table::<v3::Price>(),
        Schema::new().table::<v4::Price>(),
    );
    test_db
        .client()
        .batch_execute(&a.to_ddl().unwrap())
        .unwrap();
    test_db
        .client()
        .batch_execute(
            "INSERT INTO prices SELECT g, g * 1000000.25, '2024-01-01 10:00:00.123', \
             ARRAY['t' || g, 'x'], 'EUR' FROM generate_series(1, 5) g",
        )
        .unwrap();
    let url = test_db.url().to_string();
    block_on(async {
        let (mut client, _connection) = schema_core::pg::connect(&url).await.unwrap();

        // A → B: new columns of every type are added; numeric(10,2) → numeric(12,2) and
        // timestamp(3) → timestamp(6) keep every value in place; text[] → varchar(20)[]
        // could fail on longer elements, so it needs allowing.
        let plan = plan_for(&url, &b, Shadow::SameServer).await.unwrap();
        let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
        for expected in [
            r#"ALTER TABLE "prices" ALTER COLUMN "amount" TYPE numeric(12,2)"#,
            r#"ALTER TABLE "prices" ALTER COLUMN "valid_from" TYPE timestamp(6)"#,
            r#"ALTER TABLE "prices" ALTER COLUMN "tags" TYPE varchar(20)[]"#,
            r#"ALTER TABLE "prices" ADD COLUMN "rates" numeric(6,3)[]"#,
            r#"ALTER TABLE "prices" ADD COLUMN "network" cidr"#,
        ] {
            assert!(
                sql.iter().any(|s| s.starts_with(expected)),
                "{expected} in {sql:#?}"
            );
        }
        let refused = plan.check_allowed(&[]).unwrap_err();
        let objects: Vec<String> = refused
            .steps
            .iter()
            .map(|s| s.destructive.as_ref().unwrap().object.clone())
            .collect();
        assert_eq!(objects, ["prices.tags"]);
        let widened: Vec<_> = plan
            .steps
            .iter()
            .filter(|s| s.sql.contains("\"amount\"") || s.sql.contains("\"valid_from\""))
            .collect();
        assert!(widened.iter().all(|s| s.hazards.is_empty()), "{widened:#?}");
        apply_without_drift(&mut client, &url, &plan, &b, &["prices.tags"]).await;
        let kept: String = client
            .query_one(
                "SELECT string_agg(amount::text || ' ' || valid_from::text || ' ' || \
                 tags::text || ' ' || octet_length(code), ';' ORDER BY price_id) FROM prices",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(
            // char(5) pads the code to 5 characters.
            kept.starts_with("1000000.25 2024-01-01 10:00:00.123 {t1,x} 5;"),
            "{kept}"
        );

        // B → C: dropping columns deletes their values, so each needs allowing.
        let plan = plan_for(&url, &c, Shadow::SameServer).await.unwrap();
        let refused = apply(&mut client, &plan, &[]).await.unwrap_err();
        assert!(refused.to_string().contains("prices.rates"), "{refused}");
        let dropped = [
            "prices.valid_from",
            "prices.tags",
            "prices.code",
            "prices.wait",
            "prices.client_ip",
            "prices.network",
            "prices.rates",
            "prices.scores",
            "prices.seen_at",
        ];
        apply(&mut client, &plan, &dropped).await.unwrap();
        let lines = drift(&url, &c, Shadow::SameServer).await.unwrap();
        assert_eq!(lines, Vec::<String>::new());

        // C → D: narrowing numeric(12,2) back to numeric(10,2) may overflow: it needs allowing.
        let plan = plan_for(&url, &d, Shadow::SameServer).await.unwrap();
        let refused = plan.check_allowed(&[]).unwrap_err();
        let objects: Vec<&str> = refused
            .steps
            .iter()
            .map(|s| s.destructive.as_ref().unwrap().object.as_str())
            .collect();
        assert_eq!(objects, ["prices.amount"]);
        apply_without_drift(&mut client, &url, &plan, &d, &["prices.amount"]).await;
    });
}
