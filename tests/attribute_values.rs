//! Numbers written in attributes (defaults and range bounds: negative, fractional, on nullable
//! fields) reach the DDL as written, and the database fills and checks them.

mod common;

use common::TestDb;
use schema_core::{PgTable, Schema};

/// A reading whose defaults and bounds are all bare numbers.
#[derive(PgTable)]
#[pg(table = "readings")]
pub struct Reading {
    #[pg(primary_key)]
    pub reading_id: i64,
    #[pg(default = -1, range = -40..=125)]
    pub celsius: i16,
    #[pg(default = 0.5)]
    pub weight: f64,
    #[pg(default = 7, range = 0..)]
    pub retries: Option<i64>,
}

fn ddl() -> String {
    Schema::new()
        .table::<Reading>()
        .to_ddl()
        .expect("the schema renders")
}

#[test]
fn number_defaults_and_bounds_are_rendered_as_written() {
    let ddl = ddl();
    for line in [
        r#""celsius" smallint NOT NULL DEFAULT -1"#,
        r#""weight" double precision NOT NULL DEFAULT 0.5"#,
        r#""retries" bigint DEFAULT 7"#,
        r#"CHECK ("celsius" BETWEEN -40 AND 125)"#,
        r#"CHECK ("retries" >= 0)"#,
    ] {
        assert!(ddl.contains(line), "missing {line:?} in:\n{ddl}");
    }
}

#[test]
fn the_database_fills_the_defaults_and_enforces_the_bounds() {
    let mut db = TestDb::new();
    db.client().batch_execute(&ddl()).expect("the DDL applies");
    let row = db
        .client()
        .query_one(
            "INSERT INTO readings (reading_id) VALUES (1) RETURNING celsius, weight, retries",
            &[],
        )
        .expect("an insert with every default");
    let (celsius, weight, retries): (i16, f64, Option<i64>) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((celsius, weight, retries), (-1, 0.5, Some(7)));
    let refused = db
        .client()
        .execute(
            "INSERT INTO readings (reading_id, celsius) VALUES (2, -41)",
            &[],
        )
        .expect_err("-41 is below the range");
    let message = refused.as_db_error().map(|e| e.message().to_string());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("violates check constraint")),
        "{refused:?}"
    );
}
