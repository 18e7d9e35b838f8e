//! Round trips through a real PostgreSQL server: rows of a table with a column of every
//! supported type are written by each write path (`insert`, `insert_many`, `copy_in`) and read
//! back (`get`, `select_all`) unchanged.
//!
//! The rows come from proptest strategies that favour edge values: integer bounds, empty
//! strings, `varchar(20)` filled with 20 multibyte characters, the ends of PostgreSQL's
//! timestamp and date ranges (as far as chrono reaches), NULLs. Floats are finite here and
//! checked bit for bit (NaN, infinities, -0.0) by a separate test.
//!
//! Each test works in its own throwaway database (see `common::TestDb`).

mod common;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};
use schema_core::pg::{ConstraintKind, Db, PgError};
use schema_core::{PgEnum, PgTable, Rule, Schema, Table};
use serde_json::{json, Value};
use uuid::Uuid;

use common::TestDb;

/// A text enum; one value is longer in bytes than in characters.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[pg(rename_all = "snake_case")]
pub enum Mood {
    Calm,
    Cheerful,
    /// 12 characters, 17 bytes: exactly fills `varchar(12)`.
    #[pg(rename = "très fâché 😠")]
    Cross,
}

/// A column of every type `PgType` supports, each once plain and once nullable.
#[derive(PgTable)]
#[pg(table = "every_type")]
pub struct EveryType {
    #[pg(primary_key)]
    pub id: i64,
    pub uuid: Uuid,
    pub text: String,
    #[pg(varchar = 20)]
    pub short: String,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub flag: bool,
    pub real: f32,
    pub double: f64,
    pub doc: Value,
    pub at: DateTime<Utc>,
    pub local: NaiveDateTime,
    pub day: NaiveDate,
    pub time: NaiveTime,
    pub bytes: Vec<u8>,
    pub mood: Mood,
    pub opt_uuid: Option<Uuid>,
    pub opt_text: Option<String>,
    #[pg(varchar = 20)]
    pub opt_short: Option<String>,
    pub opt_small: Option<i16>,
    pub opt_int: Option<i32>,
    pub opt_big: Option<i64>,
    pub opt_flag: Option<bool>,
    pub opt_real: Option<f32>,
    pub opt_double: Option<f64>,
    pub opt_doc: Option<Value>,
    pub opt_at: Option<DateTime<Utc>>,
    pub opt_local: Option<NaiveDateTime>,
    pub opt_day: Option<NaiveDate>,
    pub opt_time: Option<NaiveTime>,
    pub opt_bytes: Option<Vec<u8>>,
    #[pg(varchar = 12)]
    pub opt_mood: Option<Mood>,
}

/// Every column is required (no defaults), so the insert row is the select row field by field.
fn to_insert(row: &SelectEveryType) -> InsertEveryType {
    let row = row.clone();
    InsertEveryType {
        id: row.id,
        uuid: row.uuid,
        text: row.text,
        short: row.short,
        small: row.small,
        int: row.int,
        big: row.big,
        flag: row.flag,
        real: row.real,
        double: row.double,
        doc: row.doc,
        at: row.at,
        local: row.local,
        day: row.day,
        time: row.time,
        bytes: row.bytes,
        mood: row.mood,
        opt_uuid: row.opt_uuid,
        opt_text: row.opt_text,
        opt_short: row.opt_short,
        opt_small: row.opt_small,
        opt_int: row.opt_int,
        opt_big: row.opt_big,
        opt_flag: row.opt_flag,
        opt_real: row.opt_real,
        opt_double: row.opt_double,
        opt_doc: row.opt_doc,
        opt_at: row.opt_at,
        opt_local: row.opt_local,
        opt_day: row.opt_day,
        opt_time: row.opt_time,
        opt_bytes: row.opt_bytes,
        opt_mood: row.opt_mood,
    }
}

// ---------------------------------------------------------------------------------------------
// The ranges PostgreSQL and chrono share.

/// PostgreSQL's earliest timestamp and date: 4714-11-24 BC (year -4713), midnight UTC.
fn pg_min_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(-4713, 11, 24).unwrap()
}

fn pg_min_timestamp() -> NaiveDateTime {
    pg_min_date().and_hms_opt(0, 0, 0).unwrap()
}

/// chrono's latest timestamp at microsecond precision (PostgreSQL reaches further, to 294276 AD).
fn chrono_max_timestamp() -> NaiveDateTime {
    let max = NaiveDateTime::MAX.and_utc().timestamp_micros();
    DateTime::from_timestamp_micros(max).unwrap().naive_utc()
}

fn last_microsecond_of_day() -> NaiveTime {
    NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Strategies.

fn integer<T: Arbitrary + Copy + std::fmt::Debug + 'static>(
    min: T,
    max: T,
) -> impl Strategy<Value = T> {
    prop_oneof![
        2 => any::<T>(),
        1 => Just(min),
        1 => Just(max),
    ]
}

/// Any text PostgreSQL can store: every Unicode scalar value but NUL.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        4 => "[^\\x00]{0,40}",
        1 => "[a-z ]{0,200}",
    ]
}

/// Text for a `varchar(20)`: empty, full with one- to four-byte characters, or anything that fits.
fn short_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        1 => prop::sample::select(vec!['a', 'é', '€', '𝄞', '😠']).prop_map(|c| c.to_string().repeat(20)),
        3 => "[^\\x00]{0,20}",
    ]
}

fn finite_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => prop::num::f32::POSITIVE
            | prop::num::f32::NEGATIVE
            | prop::num::f32::NORMAL
            | prop::num::f32::SUBNORMAL
            | prop::num::f32::ZERO,
        1 => prop::sample::select(vec![f32::MIN, f32::MAX, f32::MIN_POSITIVE, f32::EPSILON]),
    ]
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::num::f64::POSITIVE
            | prop::num::f64::NEGATIVE
            | prop::num::f64::NORMAL
            | prop::num::f64::SUBNORMAL
            | prop::num::f64::ZERO,
        1 => prop::sample::select(vec![f64::MIN, f64::MAX, f64::MIN_POSITIVE, f64::EPSILON]),
    ]
}

/// JSON without floats (jsonb keeps numbers as `numeric`, and their text does not always parse
/// back to the same `f64`) and without NUL (jsonb refuses `\u0000`).
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        integer(i64::MIN, i64::MAX).prop_map(Value::from),
        integer(u64::MIN, u64::MAX).prop_map(Value::from),
        "[^\\x00]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[^\\x00]{0,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn timestamp() -> impl Strategy<Value = NaiveDateTime> {
    let (min, max) = (
        pg_min_timestamp().and_utc().timestamp_micros(),
        chrono_max_timestamp().and_utc().timestamp_micros(),
    );
    // Mostly near today, sometimes anywhere in the range, sometimes at its ends.
    let now = Utc::now().timestamp_micros();
    let century = 100 * 366 * 86_400 * 1_000_000_i64;
    prop_oneof![
        3 => now - century..now + century,
        2 => min..=max,
        1 => Just(min),
        1 => Just(max),
        1 => Just(0_i64),
    ]
    .prop_map(|micros| DateTime::from_timestamp_micros(micros).unwrap().naive_utc())
}

fn date() -> impl Strategy<Value = NaiveDate> {
    let (min, max) = (pg_min_date(), NaiveDate::MAX);
    let (min_days, max_days) = (min.num_days_from_ce(), max.num_days_from_ce());
    prop_oneof![
        4 => min_days..=max_days,
        1 => Just(min_days),
        1 => Just(max_days),
    ]
    .prop_map(|days| NaiveDate::from_num_days_from_ce_opt(days).unwrap())
}

fn time() -> impl Strategy<Value = NaiveTime> {
    prop_oneof![
        4 => 0_i64..86_400_000_000,
        1 => Just(0_i64),
        1 => Just(86_399_999_999_i64),
    ]
    .prop_map(|micros| {
        let (secs, micros) = (micros / 1_000_000, micros % 1_000_000);
        NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, micros as u32 * 1_000).unwrap()
    })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        4 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn uuid() -> impl Strategy<Value = Uuid> {
    prop_oneof![
        4 => any::<u128>().prop_map(Uuid::from_u128),
        1 => Just(Uuid::nil()),
        1 => Just(Uuid::max()),
    ]
}

fn mood() -> impl Strategy<Value = Mood> {
    prop::sample::select(vec![Mood::Calm, Mood::Cheerful, Mood::Cross])
}

/// A row with `id` 0; [`rows`] numbers them.
fn row() -> impl Strategy<Value = SelectEveryType> {
    use prop::option::of;
    let plain = (
        (uuid(), text(), short_text(), integer(i16::MIN, i16::MAX)),
        (integer(i32::MIN, i32::MAX), integer(i64::MIN, i64::MAX)),
        (any::<bool>(), finite_f32(), finite_f64(), json()),
        (timestamp(), timestamp(), date(), time(), bytes(), mood()),
    );
    let nullable = (
        (
            of(uuid()),
            of(text()),
            of(short_text()),
            of(integer(i16::MIN, i16::MAX)),
        ),
        (
            of(integer(i32::MIN, i32::MAX)),
            of(integer(i64::MIN, i64::MAX)),
            of(any::<bool>()),
        ),
        (of(finite_f32()), of(finite_f64()), of(json())),
        (
            of(timestamp()),
            of(timestamp()),
            of(date()),
            of(time()),
            of(bytes()),
            of(mood()),
        ),
    );
    (plain, nullable).prop_map(|(plain, nullable)| {
        let ((uuid, text, short, small), (int, big), (flag, real, double, doc), rest) = plain;
        let (at, local, day, time, bytes, mood) = rest;
        let (
            (opt_uuid, opt_text, opt_short, opt_small),
            (opt_int, opt_big, opt_flag),
            floats,
            rest,
        ) = nullable;
        let (opt_real, opt_double, opt_doc) = floats;
        let (opt_at, opt_local, opt_day, opt_time, opt_bytes, opt_mood) = rest;
        SelectEveryType {
            id: 0,
            uuid,
            text,
            short,
            small,
            int,
            big,
            flag,
            real,
            double,
            doc,
            at: at.and_utc(),
            local,
            day,
            time,
            bytes,
            mood,
            opt_uuid,
            opt_text,
            opt_short,
            opt_small,
            opt_int,
            opt_big,
            opt_flag,
            opt_real,
            opt_double,
            opt_doc,
            opt_at: opt_at.map(|at| at.and_utc()),
            opt_local,
            opt_day,
            opt_time,
            opt_bytes,
            opt_mood,
        }
    })
}

/// Between 25 and 40 rows with distinct keys, including the extremes of `i64`.
fn rows() -> impl Strategy<Value = Vec<SelectEveryType>> {
    prop::collection::vec(row(), 25..=40).prop_map(|mut rows| {
        let last = rows.len() - 1;
        for (i, row) in rows.iter_mut().enumerate() {
            row.id = match i {
                0 => i64::MIN,
                i if i == last => i64::MAX,
                i => i as i64,
            };
        }
        rows
    })
}

// ---------------------------------------------------------------------------------------------
// Running the round trips.

#[derive(Clone, Copy, Debug)]
enum WritePath {
    Insert,
    InsertMany,
    CopyIn,
}

const ALL_PATHS: [WritePath; 3] = [WritePath::Insert, WritePath::InsertMany, WritePath::CopyIn];

/// Cases per write path; with at least 25 rows each, every path writes at least 1,000 rows.
const CASES: u32 = 40;

fn create_table(test_db: &mut TestDb) {
    let ddl = Schema::new()
        .table::<EveryType>()
        .to_ddl()
        .expect("the table renders to DDL");
    test_db
        .client()
        .batch_execute(&ddl)
        .expect("the DDL applies to an empty database");
}

fn fail(error: PgError) -> TestCaseError {
    TestCaseError::fail(format!("{error} ({error:?})"))
}

/// Writes `rows` into the emptied table by `path`, then reads each back by key and all of them
/// with `select_all`; each read must equal what was written.
async fn write_and_read_back(
    db: &mut Db,
    path: WritePath,
    rows: &[SelectEveryType],
) -> TestCaseResult {
    db.client()
        .batch_execute("TRUNCATE every_type")
        .await
        .map_err(|e| fail(e.into()))?;
    let inserts: Vec<InsertEveryType> = rows.iter().map(to_insert).collect();
    match path {
        WritePath::Insert => {
            for (row, insert) in rows.iter().zip(&inserts) {
                let stored = db.insert(insert).await.map_err(fail)?;
                prop_assert_eq!(&stored, row, "the row `insert` returns");
            }
        }
        WritePath::InsertMany => {
            let count = db.insert_many(&inserts).await.map_err(fail)?;
            prop_assert_eq!(count, rows.len() as u64);
        }
        WritePath::CopyIn => {
            let count = db.copy_in(&inserts).await.map_err(fail)?;
            prop_assert_eq!(count, rows.len() as u64);
        }
    }
    for row in rows {
        let read = db.get::<EveryType>(&row.id).await.map_err(fail)?;
        prop_assert_eq!(read.as_ref(), Some(row), "`get` after {:?}", path);
    }
    let mut all = db.select_all::<EveryType>().await.map_err(fail)?;
    all.sort_by_key(|row| row.id);
    let mut expected = rows.to_vec();
    expected.sort_by_key(|row| row.id);
    prop_assert_eq!(all, expected, "`select_all` after {:?}", path);
    Ok(())
}

/// Runs [`CASES`] generated batches through `path`, on one connection (reconnecting after a
/// failed case), and returns how many rows went through.
fn round_trips(path: WritePath) -> usize {
    let mut test_db = TestDb::new();
    create_table(&mut test_db);
    let url = test_db.url().to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let connection: Cell<Option<Db>> = Cell::new(None);
    let written = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&rows(), |rows| {
        runtime.block_on(async {
            let mut db = match connection.take() {
                Some(db) => db,
                None => Db::connect(&url).await.map_err(fail)?,
            };
            write_and_read_back(&mut db, path, &rows).await?;
            // Kept only after a case that passed: a failed one may have left it mid-statement.
            connection.set(Some(db));
            written.fetch_add(rows.len(), Ordering::Relaxed);
            Ok(())
        })
    });
    if let Err(error) = result {
        panic!("round trip through {path:?} failed: {error}");
    }
    drop(connection);
    drop(runtime);
    drop(test_db);
    written.into_inner()
}

#[test]
fn generated_rows_round_trip_through_insert() {
    let written = round_trips(WritePath::Insert);
    assert!(written >= 1_000, "only {written} rows were written");
}

#[test]
fn generated_rows_round_trip_through_insert_many() {
    let written = round_trips(WritePath::InsertMany);
    assert!(written >= 1_000, "only {written} rows were written");
}

#[test]
fn generated_rows_round_trip_through_copy_in() {
    let written = round_trips(WritePath::CopyIn);
    assert!(written >= 1_000, "only {written} rows were written");
}

// ---------------------------------------------------------------------------------------------
// Fixed edge values.

fn base_row(id: i64) -> SelectEveryType {
    SelectEveryType {
        id,
        uuid: Uuid::from_u128(id as u128),
        text: String::new(),
        short: String::new(),
        small: 0,
        int: 0,
        big: 0,
        flag: false,
        real: 0.0,
        double: 0.0,
        doc: json!({}),
        at: DateTime::UNIX_EPOCH,
        local: NaiveDateTime::default(),
        day: NaiveDate::default(),
        time: NaiveTime::MIN,
        bytes: Vec::new(),
        mood: Mood::Calm,
        opt_uuid: None,
        opt_text: None,
        opt_short: None,
        opt_small: None,
        opt_int: None,
        opt_big: None,
        opt_flag: None,
        opt_real: None,
        opt_double: None,
        opt_doc: None,
        opt_at: None,
        opt_local: None,
        opt_day: None,
        opt_time: None,
        opt_bytes: None,
        opt_mood: None,
    }
}

/// The smallest values, the largest, and the in-betweens that are easy to get wrong.
fn edge_rows() -> Vec<SelectEveryType> {
    let lowest = SelectEveryType {
        uuid: Uuid::nil(),
        small: i16::MIN,
        int: i32::MIN,
        big: i64::MIN,
        real: f32::MIN,
        double: f64::MIN,
        doc: Value::Null,
        at: pg_min_timestamp().and_utc(),
        local: pg_min_timestamp(),
        day: pg_min_date(),
        time: NaiveTime::MIN,
        opt_uuid: Some(Uuid::nil()),
        opt_text: Some(String::new()),
        opt_short: Some(String::new()),
        opt_small: Some(i16::MIN),
        opt_int: Some(i32::MIN),
        opt_big: Some(i64::MIN),
        opt_flag: Some(false),
        opt_real: Some(-f32::MIN_POSITIVE),
        opt_double: Some(-f64::MIN_POSITIVE),
        // JSON `null` in a nullable jsonb column is a value, not SQL NULL.
        opt_doc: Some(Value::Null),
        opt_at: Some(pg_min_timestamp().and_utc()),
        opt_local: Some(pg_min_timestamp()),
        opt_day: Some(pg_min_date()),
        opt_time: Some(NaiveTime::MIN),
        opt_bytes: Some(Vec::new()),
        opt_mood: Some(Mood::Calm),
        ..base_row(1)
    };
    let highest = SelectEveryType {
        uuid: Uuid::max(),
        text: "𝄞é€a\u{10FFFF}\u{FFFF}\u{1}\t\n\r'\"\\".repeat(1_000),
        short: "𝄞".repeat(20),
        small: i16::MAX,
        int: i32::MAX,
        big: i64::MAX,
        flag: true,
        real: f32::MAX,
        double: f64::MAX,
        doc: json!({
            "": "",
            "é𝄞": ["😠", {"nested": [[], {}, null, true, false]}],
            "numbers": [i64::MIN, i64::MAX, u64::MAX, 0, -1],
            "escapes": "\u{1}\t\n\"\\/\u{7f}\u{2028}",
        }),
        at: chrono_max_timestamp().and_utc(),
        local: chrono_max_timestamp(),
        day: NaiveDate::MAX,
        time: last_microsecond_of_day(),
        bytes: (0..=255).collect(),
        mood: Mood::Cross,
        opt_uuid: Some(Uuid::max()),
        opt_text: Some("é".repeat(10_000)),
        opt_short: Some("é".repeat(20)),
        opt_small: Some(i16::MAX),
        opt_int: Some(i32::MAX),
        opt_big: Some(i64::MAX),
        opt_flag: Some(true),
        opt_real: Some(f32::from_bits(1)),
        opt_double: Some(f64::from_bits(1)),
        opt_doc: Some(json!([1, "two", [3]])),
        opt_at: Some(chrono_max_timestamp().and_utc()),
        opt_local: Some(chrono_max_timestamp()),
        opt_day: Some(NaiveDate::MAX),
        opt_time: Some(last_microsecond_of_day()),
        opt_bytes: Some(vec![0; 100_000]),
        opt_mood: Some(Mood::Cross),
        ..base_row(2)
    };
    let ordinary = SelectEveryType {
        text: "plain".into(),
        short: "a".repeat(20),
        small: -1,
        int: -1,
        big: -1,
        real: -0.5,
        double: 1e-300,
        doc: json!([]),
        at: DateTime::from_timestamp_micros(1_767_225_600_123_456).unwrap(),
        local: DateTime::from_timestamp_micros(-1).unwrap().naive_utc(),
        day: NaiveDate::from_ymd_opt(2000, 2, 29).unwrap(),
        time: NaiveTime::from_hms_micro_opt(12, 0, 0, 1).unwrap(),
        bytes: vec![0],
        mood: Mood::Cheerful,
        opt_short: Some("€".repeat(20)),
        opt_doc: Some(json!("")),
        ..base_row(3)
    };
    vec![lowest, highest, ordinary, base_row(4)]
}

#[test]
fn edge_values_round_trip_through_every_write_path() {
    let mut test_db = TestDb::new();
    create_table(&mut test_db);
    let url = test_db.url().to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut db = Db::connect(&url).await.unwrap();
        let rows = edge_rows();
        for path in ALL_PATHS {
            if let Err(error) = write_and_read_back(&mut db, path, &rows).await {
                panic!("{error}");
            }
        }
    });
}

/// NaN, the infinities and -0.0 are stored and read back bit for bit (`PartialEq` would call
/// NaN unequal to itself and -0.0 equal to 0.0).
#[test]
fn special_floats_round_trip_bit_for_bit() {
    let mut test_db = TestDb::new();
    create_table(&mut test_db);
    let url = test_db.url().to_string();
    let reals = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0];
    let doubles = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0];
    let rows: Vec<SelectEveryType> = (0..reals.len())
        .map(|i| SelectEveryType {
            real: reals[i],
            double: doubles[i],
            opt_real: Some(reals[reals.len() - 1 - i]),
            opt_double: Some(doubles[doubles.len() - 1 - i]),
            ..base_row(i as i64)
        })
        .collect();
    let bits = |row: &SelectEveryType| {
        (
            row.real.to_bits(),
            row.double.to_bits(),
            row.opt_real.map(f32::to_bits),
            row.opt_double.map(f64::to_bits),
        )
    };
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut db = Db::connect(&url).await.unwrap();
        for path in ALL_PATHS {
            db.client()
                .batch_execute("TRUNCATE every_type")
                .await
                .unwrap();
            let inserts: Vec<InsertEveryType> = rows.iter().map(to_insert).collect();
            match path {
                WritePath::Insert => {
                    for (row, insert) in rows.iter().zip(&inserts) {
                        let stored = db.insert(insert).await.unwrap();
                        assert_eq!(bits(&stored), bits(row), "returned by insert");
                    }
                }
                WritePath::InsertMany => {
                    assert_eq!(db.insert_many(&inserts).await.unwrap(), 5);
                }
                WritePath::CopyIn => {
                    assert_eq!(db.copy_in(&inserts).await.unwrap(), 5);
                }
            }
            for row in &rows {
                let read = db.get::<EveryType>(&row.id).await.unwrap().unwrap();
                assert_eq!(bits(&read), bits(row), "read back after {path:?}");
            }
            let mut all = db.select_all::<EveryType>().await.unwrap();
            all.sort_by_key(|row| row.id);
            let all: Vec<_> = all.iter().map(bits).collect();
            let expected: Vec<_> = rows.iter().map(bits).collect();
            assert_eq!(all, expected, "select_all after {path:?}");
        }
        // And the server sees them as the special values, not as some other number.
        let row = db
            .client()
            .query_one(
                "SELECT real::text, double::text FROM every_type WHERE id = 0",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            (row.get::<_, String>(0), row.get::<_, String>(1)),
            ("NaN".to_string(), "NaN".to_string())
        );
        let row = db
            .client()
            .query_one(
                "SELECT real::text, double::text FROM every_type WHERE id = 2",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            (row.get::<_, String>(0), row.get::<_, String>(1)),
            ("-Infinity".to_string(), "-Infinity".to_string())
        );
    });
}

/// `varchar(20)` holds 20 characters whatever their size in bytes, and the validation counts
/// the same way: 20 four-byte characters (80 bytes) pass, 21 are refused before anything is sent.
#[test]
fn varchar_limits_count_characters_as_postgres_does() {
    let mut test_db = TestDb::new();
    create_table(&mut test_db);
    let url = test_db.url().to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = Db::connect(&url).await.unwrap();
        let fits = SelectEveryType {
            short: "𝄞".repeat(20),
            opt_short: Some("😠".repeat(20)),
            ..base_row(1)
        };
        assert_eq!(db.insert(&to_insert(&fits)).await.unwrap(), fits);
        let length: i32 = db
            .client()
            .query_one(
                "SELECT char_length(short) FROM every_type WHERE id = 1",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(length, 20);

        let too_long = SelectEveryType {
            short: "𝄞".repeat(21),
            opt_short: Some("é".repeat(21)),
            ..base_row(2)
        };
        match db.insert(&to_insert(&too_long)).await {
            Err(PgError::Validation(error)) => {
                let rules: Vec<_> = error
                    .violations
                    .iter()
                    .map(|v| (v.column, v.rule.clone()))
                    .collect();
                let rule = Rule::TooLong {
                    max_chars: 20,
                    chars: 21,
                };
                assert_eq!(rules, [("short", rule.clone()), ("opt_short", rule)]);
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(db.get::<EveryType>(&2).await.unwrap(), None);
        assert_eq!(
            EveryType::TABLE.column("short").unwrap().sql_type,
            schema_core::SqlType::Varchar(20)
        );
    });
}

/// Rows whose timestamp or date is just before PostgreSQL's range (4714-11-24 BC); chrono
/// reaches further back.
fn rows_before_postgres_range() -> [SelectEveryType; 3] {
    let too_early = pg_min_timestamp() - chrono::TimeDelta::microseconds(1);
    [
        base_row(1),
        SelectEveryType {
            opt_local: Some(too_early),
            ..base_row(2)
        },
        SelectEveryType {
            day: pg_min_date().pred_opt().unwrap(),
            ..base_row(3)
        },
    ]
}

/// Such a value is refused by the validation, from every write path, naming the column, and
/// nothing is sent; the database refuses it too when it gets there by another way, and that
/// error comes back typed.
#[test]
fn values_before_postgres_range_are_refused_whole() {
    let mut test_db = TestDb::new();
    create_table(&mut test_db);
    let url = test_db.url().to_string();
    let rows = rows_before_postgres_range();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut db = Db::connect(&url).await.unwrap();
        let columns = |error: &schema_core::ValidationError| -> Vec<&str> {
            assert!(error
                .violations
                .iter()
                .all(|v| matches!(v.rule, Rule::DateOutOfRange { .. })));
            error.violations.iter().map(|v| v.column).collect()
        };
        match db.insert(&to_insert(&rows[1])).await.unwrap_err() {
            PgError::Validation(error) => assert_eq!(columns(&error), ["opt_local"]),
            other => panic!("expected a validation error, got {other:?}"),
        }
        let inserts: Vec<_> = rows.iter().map(to_insert).collect();
        for error in [
            db.insert_many(&inserts).await.unwrap_err(),
            db.copy_in(&inserts).await.unwrap_err(),
        ] {
            match error {
                PgError::InvalidRow { index: 1, error } => {
                    assert_eq!(columns(&error), ["opt_local"])
                }
                other => panic!("expected row 1 of the batch refused, got {other:?}"),
            }
        }
        assert_eq!(db.select_all::<EveryType>().await.unwrap(), []);

        // Past the validation, the database refuses it: typed, as a value out of range.
        let error = PgError::from(
            db.client()
                .execute("SELECT '4714-11-23 BC'::date", &[])
                .await
                .unwrap_err(),
        );
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::OutOfRange),
            "{error:?}"
        );
        // The connection still works.
        assert_eq!(db.copy_in(&inserts[..1]).await.unwrap(), 1);
    });
}

/// `PgError`'s text names what went wrong: for a statement the server refused, its message.
#[test]
fn a_database_error_displays_the_server_message() {
    let mut test_db = TestDb::new();
    create_table(&mut test_db);
    let url = test_db.url().to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = Db::connect(&url).await.unwrap();
        let error = db
            .query_as::<SelectEveryType>("SELECT * FROM no_such_table", &[])
            .await
            .unwrap_err();
        assert!(matches!(error, PgError::Database(_)), "{error:?}");
        assert_eq!(
            error.to_string(),
            "database error 42P01: relation \"no_such_table\" does not exist"
        );
    });
}

/// PostgreSQL text and jsonb cannot hold NUL: the validation finds it anywhere in a value (a
/// nullable column, a JSON string deep in an array, a JSON key) before anything is sent.
#[test]
fn nul_characters_are_refused_by_the_validation() {
    let mut test_db = TestDb::new();
    create_table(&mut test_db);
    let url = test_db.url().to_string();
    let row = SelectEveryType {
        opt_text: Some("a\0b".into()),
        doc: json!({"list": [1, ["deep \u{0} down"]]}),
        opt_doc: Some(json!({"key\u{0}": true})),
        ..base_row(1)
    };
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut db = Db::connect(&url).await.unwrap();
        let columns = |error: &schema_core::ValidationError| -> Vec<(&str, Rule)> {
            error
                .violations
                .iter()
                .map(|v| (v.column, v.rule.clone()))
                .collect()
        };
        let expected = [
            ("doc", Rule::NulCharacter),
            ("opt_text", Rule::NulCharacter),
            ("opt_doc", Rule::NulCharacter),
        ];
        match db.insert(&to_insert(&row)).await {
            Err(PgError::Validation(error)) => assert_eq!(columns(&error), expected),
            other => panic!("expected a validation error, got {other:?}"),
        }
        let batch = [to_insert(&base_row(2)), to_insert(&row)];
        for result in [db.insert_many(&batch).await, db.copy_in(&batch).await] {
            match result {
                Err(PgError::InvalidRow { index: 1, error }) => {
                    assert_eq!(columns(&error), expected)
                }
                other => panic!("expected row 1 to be refused, got {other:?}"),
            }
        }
        assert_eq!(db.select_all::<EveryType>().await.unwrap(), []);
    });
}
