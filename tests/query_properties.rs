//! Typed queries held to SQL's meaning: random tickets (NULLs included) and random filter trees
//! over every column type of the seed's table return, on PostgreSQL, exactly the rows that an
//! evaluation of the same tree in Rust with SQL's three-valued logic keeps; and keyset pages of
//! random orders and sizes, put together, are the whole ordered result, also when tickets are
//! inserted between pages.

mod common;

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use common::TestDb;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use schema_core::pg::Db;
use schema_core::query::{Filter, Select};
use serde_json::{json, Value};
use shared::schemas::{
    InsertSupportTicket, SelectSupportTicket, SupportTicket, TicketCategory, TicketPriority,
    TicketStatus,
};
use uuid::Uuid;

/// A ticket's values, with providers by their position among the test's providers.
#[derive(Clone, Debug)]
struct Row {
    provider: usize,
    subject: String,
    url: Option<String>,
    meta: Option<Value>,
    category: Option<TicketCategory>,
    priority: TicketPriority,
    status: TicketStatus,
    rating: Option<i32>,
    created: i64,
    resolved: Option<i64>,
}

/// A comparison with one value.
#[derive(Clone, Copy, Debug)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Distinct,
}

/// One condition of a filter tree.
#[derive(Clone, Debug)]
enum Leaf {
    Provider(Cmp, usize),
    ProviderIn(Vec<usize>),
    Subject(Cmp, String),
    SubjectBetween(String, String),
    SubjectStarts(String),
    SubjectLike(String),
    SubjectIlike(String),
    Url(Cmp, String),
    UrlNull(bool),
    UrlStarts(String),
    MetaContains(Value),
    MetaNull(bool),
    Category(Cmp, TicketCategory),
    CategoryIn(Vec<TicketCategory>),
    CategoryNull(bool),
    Priority(Cmp, TicketPriority),
    PriorityIn(Vec<TicketPriority>),
    Status(Cmp, TicketStatus),
    Rating(Cmp, i32),
    RatingBetween(i32, i32),
    RatingIn(Vec<i32>),
    RatingNull(bool),
    Created(Cmp, i64),
    CreatedBetween(i64, i64),
    Resolved(Cmp, i64),
    ResolvedNull(bool),
}

/// A filter tree.
#[derive(Clone, Debug)]
enum Tree {
    Leaf(Leaf),
    And(Box<Tree>, Box<Tree>),
    Or(Box<Tree>, Box<Tree>),
    Not(Box<Tree>),
}

const CATEGORIES: [TicketCategory; 4] = [
    TicketCategory::Billing,
    TicketCategory::Technical,
    TicketCategory::Account,
    TicketCategory::FeatureRequest,
];
const PRIORITIES: [TicketPriority; 4] = [
    TicketPriority::Low,
    TicketPriority::Medium,
    TicketPriority::High,
    TicketPriority::Urgent,
];
const STATUSES: [TicketStatus; 5] = [
    TicketStatus::Open,
    TicketStatus::InProgress,
    TicketStatus::WaitingOnCustomer,
    TicketStatus::Resolved,
    TicketStatus::Closed,
];
const PROVIDERS: usize = 3;

/// Text of the characters `LIKE` treats specially, and letters of both cases.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAB%_\\\\]{0,3}").unwrap()
}

/// A pattern: the text's characters and the wildcards.
fn pattern() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abA%_]{0,3}").unwrap()
}

fn cmp() -> impl Strategy<Value = Cmp> {
    prop_oneof![
        Just(Cmp::Eq),
        Just(Cmp::Ne),
        Just(Cmp::Lt),
        Just(Cmp::Le),
        Just(Cmp::Gt),
        Just(Cmp::Ge),
        Just(Cmp::Distinct),
    ]
}

/// Comparisons that an enum's Rust type orders as the database does not (text enums compare
/// as text): equality only.
fn equality() -> impl Strategy<Value = Cmp> {
    prop_oneof![Just(Cmp::Eq), Just(Cmp::Ne), Just(Cmp::Distinct)]
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({})),
        Just(json!({"claim": 1})),
        Just(json!({"claim": 2})),
        Just(json!({"codes": ["CO-16"]})),
        Just(json!({"claim": 1, "codes": ["CO-16", "PR-1"]})),
        Just(json!({"codes": ["PR-1"]})),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (
        (0..PROVIDERS, text(), proptest::option::of(text())),
        (
            proptest::option::of(json_value()),
            proptest::option::of(proptest::sample::select(&CATEGORIES[..])),
            proptest::sample::select(&PRIORITIES[..]),
            proptest::sample::select(&STATUSES[..]),
        ),
        (
            proptest::option::of(1..=5),
            0..4_i64,
            proptest::option::of(0..4_i64),
        ),
    )
        .prop_map(
            |(
                (provider, subject, url),
                (meta, category, priority, status),
                (rating, created, resolved),
            )| Row {
                provider,
                subject,
                url,
                meta,
                category,
                priority,
                status,
                rating,
                created,
                resolved,
            },
        )
}

/// Up to three values of `values`: a list for `in_list`, empty too.
fn list<S: Strategy>(values: S) -> impl Strategy<Value = Vec<S::Value>> {
    proptest::collection::vec(values, 0..3)
}

fn leaf() -> impl Strategy<Value = Leaf> {
    prop_oneof![
        (cmp(), 0..PROVIDERS).prop_map(|(c, p)| Leaf::Provider(c, p)),
        list(0..PROVIDERS).prop_map(Leaf::ProviderIn),
        (cmp(), text()).prop_map(|(c, t)| Leaf::Subject(c, t)),
        (text(), text()).prop_map(|(a, b)| Leaf::SubjectBetween(a, b)),
        text().prop_map(Leaf::SubjectStarts),
        pattern().prop_map(Leaf::SubjectLike),
        pattern().prop_map(Leaf::SubjectIlike),
        (cmp(), text()).prop_map(|(c, t)| Leaf::Url(c, t)),
        any::<bool>().prop_map(Leaf::UrlNull),
        text().prop_map(Leaf::UrlStarts),
        json_value().prop_map(Leaf::MetaContains),
        any::<bool>().prop_map(Leaf::MetaNull),
        (equality(), proptest::sample::select(&CATEGORIES[..]))
            .prop_map(|(c, v)| Leaf::Category(c, v)),
        list(proptest::sample::select(&CATEGORIES[..])).prop_map(Leaf::CategoryIn),
        any::<bool>().prop_map(Leaf::CategoryNull),
        (equality(), proptest::sample::select(&PRIORITIES[..]))
            .prop_map(|(c, v)| Leaf::Priority(c, v)),
        list(proptest::sample::select(&PRIORITIES[..])).prop_map(Leaf::PriorityIn),
        (equality(), proptest::sample::select(&STATUSES[..])).prop_map(|(c, v)| Leaf::Status(c, v)),
        (cmp(), 0..=6).prop_map(|(c, v)| Leaf::Rating(c, v)),
        (0..=6, 0..=6).prop_map(|(a, b)| Leaf::RatingBetween(a, b)),
        list(0..=6).prop_map(Leaf::RatingIn),
        any::<bool>().prop_map(Leaf::RatingNull),
        (cmp(), 0..4_i64).prop_map(|(c, v)| Leaf::Created(c, v)),
        (0..4_i64, 0..4_i64).prop_map(|(a, b)| Leaf::CreatedBetween(a, b)),
        (cmp(), 0..4_i64).prop_map(|(c, v)| Leaf::Resolved(c, v)),
        any::<bool>().prop_map(Leaf::ResolvedNull),
    ]
}

fn tree() -> impl Strategy<Value = Tree> {
    leaf()
        .prop_map(Tree::Leaf)
        .prop_recursive(4, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Tree::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Tree::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|a| Tree::Not(Box::new(a))),
            ]
        })
}

/// The instant `hours` hours after a fixed start: few instants, so that rows tie.
fn at(hours: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::hours(hours)
}

/// `a <cmp> b` in SQL's logic: unknown (`None`) when either side is NULL, but for
/// `IS DISTINCT FROM`, which treats NULL as a value.
fn compare<T: PartialOrd>(a: Option<&T>, cmp: Cmp, b: &T) -> Option<bool> {
    if let Cmp::Distinct = cmp {
        return Some(a != Some(b));
    }
    let a = a?;
    Some(match cmp {
        Cmp::Eq => a == b,
        Cmp::Ne => a != b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
        Cmp::Distinct => unreachable!(),
    })
}

/// `text LIKE pattern`, with `\` escaping the next character.
fn like(text: &[char], pattern: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('%', rest)) => (0..=text.len()).any(|skip| like(&text[skip..], rest)),
        Some(('_', rest)) => !text.is_empty() && like(&text[1..], rest),
        Some(('\\', rest)) if !rest.is_empty() => {
            text.first() == Some(&rest[0]) && like(&text[1..], &rest[1..])
        }
        Some((c, rest)) => text.first() == Some(c) && like(&text[1..], rest),
    }
}

fn like_str(text: &str, pattern: &str) -> bool {
    let (text, pattern): (Vec<char>, Vec<char>) =
        (text.chars().collect(), pattern.chars().collect());
    like(&text, &pattern)
}

/// `value @> contained` for the JSON documents of [`json_value`].
fn json_contains(value: &Value, contained: &Value) -> bool {
    match (value, contained) {
        (Value::Object(a), Value::Object(b)) => b
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|w| json_contains(w, v))),
        (Value::Array(a), Value::Array(b)) => {
            b.iter().all(|v| a.iter().any(|w| json_contains(w, v)))
        }
        (a, b) => a == b,
    }
}

/// `column = ANY(list)`: unknown for a NULL column (and never for an empty list: false).
fn any_of<T: PartialEq>(value: Option<&T>, list: &[T]) -> Option<bool> {
    if list.is_empty() {
        return Some(false);
    }
    let value = value?;
    Some(list.contains(value))
}

/// `a <cmp> b` for a type compared only for equality (an enum): `=`, `<>`, `IS DISTINCT FROM`.
fn equal<T: PartialEq>(a: Option<&T>, cmp: Cmp, b: &T) -> Option<bool> {
    match cmp {
        Cmp::Distinct => Some(a != Some(b)),
        Cmp::Eq => a.map(|a| a == b),
        Cmp::Ne => a.map(|a| a != b),
        _ => unreachable!("enums are compared for equality only"),
    }
}

fn eval_leaf(leaf: &Leaf, row: &Row, providers: &[Uuid]) -> Option<bool> {
    let between = |v: Option<i64>, a: i64, b: i64| v.map(|v| a <= v && v <= b);
    match leaf {
        Leaf::Provider(c, p) => compare(Some(&providers[row.provider]), *c, &providers[*p]),
        Leaf::ProviderIn(list) => any_of(Some(&row.provider), list),
        Leaf::Subject(c, t) => compare(Some(&row.subject), *c, t),
        Leaf::SubjectBetween(a, b) => Some(a <= &row.subject && &row.subject <= b),
        Leaf::SubjectStarts(p) => Some(row.subject.starts_with(p.as_str())),
        Leaf::SubjectLike(p) => Some(like_str(&row.subject, p)),
        Leaf::SubjectIlike(p) => Some(like_str(&row.subject.to_lowercase(), &p.to_lowercase())),
        Leaf::Url(c, t) => compare(row.url.as_ref(), *c, t),
        Leaf::UrlNull(negated) => Some(row.url.is_some() == *negated),
        Leaf::UrlStarts(p) => row.url.as_ref().map(|u| u.starts_with(p.as_str())),
        Leaf::MetaContains(v) => row.meta.as_ref().map(|m| json_contains(m, v)),
        Leaf::MetaNull(negated) => Some(row.meta.is_some() == *negated),
        Leaf::Category(c, v) => equal(row.category.as_ref(), *c, v),
        Leaf::CategoryIn(list) => any_of(row.category.as_ref(), list),
        Leaf::CategoryNull(negated) => Some(row.category.is_some() == *negated),
        Leaf::Priority(c, v) => equal(Some(&row.priority), *c, v),
        Leaf::PriorityIn(list) => any_of(Some(&row.priority), list),
        Leaf::Status(c, v) => equal(Some(&row.status), *c, v),
        Leaf::Rating(c, v) => compare(row.rating.as_ref(), *c, v),
        Leaf::RatingBetween(a, b) => row.rating.map(|r| *a <= r && r <= *b),
        Leaf::RatingIn(list) => any_of(row.rating.as_ref(), list),
        Leaf::RatingNull(negated) => Some(row.rating.is_some() == *negated),
        Leaf::Created(c, v) => compare(Some(&row.created), *c, v),
        Leaf::CreatedBetween(a, b) => between(Some(row.created), *a, *b),
        Leaf::Resolved(c, v) => compare(row.resolved.as_ref(), *c, v),
        Leaf::ResolvedNull(negated) => Some(row.resolved.is_some() == *negated),
    }
}

/// The tree's value for the row in SQL's three-valued logic (`None`: unknown).
fn eval(tree: &Tree, row: &Row, providers: &[Uuid]) -> Option<bool> {
    match tree {
        Tree::Leaf(leaf) => eval_leaf(leaf, row, providers),
        Tree::And(a, b) => match (eval(a, row, providers), eval(b, row, providers)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Tree::Or(a, b) => match (eval(a, row, providers), eval(b, row, providers)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Tree::Not(a) => eval(a, row, providers).map(|v| !v),
    }
}

/// The comparison as a typed filter on `column`.
macro_rules! compared {
    ($column:expr, $cmp:expr, $value:expr) => {
        match $cmp {
            Cmp::Eq => $column.eq($value),
            Cmp::Ne => $column.ne($value),
            Cmp::Lt => $column.lt($value),
            Cmp::Le => $column.le($value),
            Cmp::Gt => $column.gt($value),
            Cmp::Ge => $column.ge($value),
            Cmp::Distinct => $column.is_distinct_from($value),
        }
    };
}

fn null_filter(
    negated: bool,
    is_null: Filter<SupportTicket>,
    not_null: Filter<SupportTicket>,
) -> Filter<SupportTicket> {
    if negated {
        not_null
    } else {
        is_null
    }
}

fn typed_leaf(leaf: &Leaf, providers: &[Uuid]) -> Filter<SupportTicket> {
    type T = SupportTicket;
    match leaf.clone() {
        Leaf::Provider(c, p) => compared!(T::provider_id, c, providers[p]),
        Leaf::ProviderIn(list) => T::provider_id.in_list(list.into_iter().map(|p| providers[p])),
        Leaf::Subject(c, t) => compared!(T::subject, c, t),
        Leaf::SubjectBetween(a, b) => T::subject.between(a, b),
        Leaf::SubjectStarts(p) => T::subject.starts_with(&p),
        Leaf::SubjectLike(p) => T::subject.like(&p),
        Leaf::SubjectIlike(p) => T::subject.ilike(&p),
        Leaf::Url(c, t) => compared!(T::context_url, c, t),
        Leaf::UrlNull(n) => null_filter(n, T::context_url.is_null(), T::context_url.is_not_null()),
        Leaf::UrlStarts(p) => T::context_url.starts_with(&p),
        Leaf::MetaContains(v) => T::context_metadata.contains(v),
        Leaf::MetaNull(n) => null_filter(
            n,
            T::context_metadata.is_null(),
            T::context_metadata.is_not_null(),
        ),
        Leaf::Category(c, v) => compared!(T::category, c, v),
        Leaf::CategoryIn(list) => T::category.in_list(list),
        Leaf::CategoryNull(n) => null_filter(n, T::category.is_null(), T::category.is_not_null()),
        Leaf::Priority(c, v) => compared!(T::priority, c, v),
        Leaf::PriorityIn(list) => T::priority.in_list(list),
        Leaf::Status(c, v) => compared!(T::status, c, v),
        Leaf::Rating(c, v) => compared!(T::satisfaction_rating, c, v),
        Leaf::RatingBetween(a, b) => T::satisfaction_rating.between(a, b),
        Leaf::RatingIn(list) => T::satisfaction_rating.in_list(list),
        Leaf::RatingNull(n) => null_filter(
            n,
            T::satisfaction_rating.is_null(),
            T::satisfaction_rating.is_not_null(),
        ),
        Leaf::Created(c, v) => compared!(T::created_at, c, at(v)),
        Leaf::CreatedBetween(a, b) => T::created_at.between(at(a), at(b)),
        Leaf::Resolved(c, v) => compared!(T::resolved_at, c, at(v)),
        Leaf::ResolvedNull(n) => {
            null_filter(n, T::resolved_at.is_null(), T::resolved_at.is_not_null())
        }
    }
}

fn typed(tree: &Tree, providers: &[Uuid]) -> Filter<SupportTicket> {
    match tree {
        Tree::Leaf(leaf) => typed_leaf(leaf, providers),
        Tree::And(a, b) => typed(a, providers).and(typed(b, providers)),
        Tree::Or(a, b) => typed(a, providers).or(typed(b, providers)),
        Tree::Not(a) => typed(a, providers).not(),
    }
}

fn insert_row(row: &Row, providers: &[Uuid]) -> InsertSupportTicket {
    let mut insert = InsertSupportTicket::new(
        providers[row.provider],
        row.subject.clone(),
        "private details".into(),
    );
    insert.context_url = row.url.clone();
    insert.context_metadata = row.meta.clone();
    insert.category = row.category;
    insert.priority = Some(row.priority);
    insert.status = Some(row.status);
    insert.satisfaction_rating = row.rating;
    insert.created_at = Some(at(row.created));
    insert.resolved_at = row.resolved.map(at);
    insert
}

/// A throwaway database with the schema and its providers, on a runtime of its own.
struct Fixture {
    _test: TestDb,
    runtime: tokio::runtime::Runtime,
    db: Db,
    providers: Vec<Uuid>,
}

fn fixture() -> Fixture {
    let mut test = TestDb::with_schema();
    let (providers, _) = test.add_providers_with_tickets(PROVIDERS, 0);
    // Text compares in byte order only under a C collation, as the evaluation in Rust does.
    let collation: String = test
        .client()
        .query_one(
            "SELECT datcollate FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        ["C", "C.UTF-8", "C.utf8", "POSIX"].contains(&collation.as_str()),
        "this test compares text in byte order, which a {collation} database does not"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = runtime.block_on(Db::connect(test.url())).unwrap();
    Fixture {
        _test: test,
        runtime,
        db,
        providers,
    }
}

impl Fixture {
    /// Replaces every ticket by `rows`; returns their ids, in order.
    fn load(&self, rows: &[Row]) -> Vec<Uuid> {
        self.runtime.block_on(async {
            self.db
                .client()
                .batch_execute("DELETE FROM support_tickets")
                .await
                .unwrap();
            let mut ids = Vec::new();
            for row in rows {
                let stored = self
                    .db
                    .insert(&insert_row(row, &self.providers))
                    .await
                    .unwrap();
                ids.push(stored.ticket_id);
            }
            ids
        })
    }
}

#[test]
fn filter_trees_keep_on_the_server_exactly_the_rows_three_valued_logic_keeps() {
    let fixture = fixture();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(row(), 0..10),
        proptest::collection::vec(tree(), 1..8),
    );
    runner
        .run(&strategy, |(rows, trees)| {
            let ids = fixture.load(&rows);
            for tree in &trees {
                let expected: HashSet<Uuid> = rows
                    .iter()
                    .zip(&ids)
                    .filter(|(row, _)| eval(tree, row, &fixture.providers) == Some(true))
                    .map(|(_, id)| *id)
                    .collect();
                let query = Select::<SupportTicket>::new().filter(typed(tree, &fixture.providers));
                let found: Vec<SelectSupportTicket> = fixture
                    .runtime
                    .block_on(fixture.db.fetch_all(&query))
                    .unwrap();
                let found: HashSet<Uuid> = found.iter().map(|t| t.ticket_id).collect();
                prop_assert_eq!(&found, &expected, "{:?} over {:?}", tree, rows);
                let count = fixture.runtime.block_on(fixture.db.count(&query)).unwrap();
                prop_assert_eq!(count as usize, expected.len());
            }
            Ok(())
        })
        .unwrap();
}

/// An order of NOT NULL columns: the terms, each a column and a direction.
#[derive(Clone, Copy, Debug)]
enum Key {
    Provider,
    Subject,
    Priority,
    Status,
    Created,
}

fn order(keys: &[(Key, bool)]) -> Select<SupportTicket> {
    type T = SupportTicket;
    let mut query = Select::<T>::new();
    for &(key, descending) in keys {
        let term = match (key, descending) {
            (Key::Provider, false) => T::provider_id.asc(),
            (Key::Provider, true) => T::provider_id.desc(),
            (Key::Subject, false) => T::subject.asc(),
            (Key::Subject, true) => T::subject.desc(),
            (Key::Priority, false) => T::priority.asc(),
            (Key::Priority, true) => T::priority.desc(),
            (Key::Status, false) => T::status.asc(),
            (Key::Status, true) => T::status.desc(),
            (Key::Created, false) => T::created_at.asc(),
            (Key::Created, true) => T::created_at.desc(),
        };
        query = query.order_by(term);
    }
    query
}

fn key() -> impl Strategy<Value = (Key, bool)> {
    (
        prop_oneof![
            Just(Key::Provider),
            Just(Key::Subject),
            Just(Key::Priority),
            Just(Key::Status),
            Just(Key::Created),
        ],
        any::<bool>(),
    )
}

#[test]
fn keyset_pages_of_random_orders_and_sizes_are_the_whole_result_once() {
    let fixture = fixture();
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(row(), 0..14),
        proptest::collection::vec(key(), 1..4),
        1..6_i64,
        proptest::option::of((row(), 0..4_usize)),
    );
    runner
        .run(&strategy, |(rows, keys, size, inserted)| {
            let ids = fixture.load(&rows);
            let order = order(&keys);
            let (pages, whole) = fixture.runtime.block_on(async {
                let db = &fixture.db;
                let mut pages: Vec<SelectSupportTicket> = Vec::new();
                let mut query = order.clone().limit(size);
                for page_number in 0.. {
                    let page = db.fetch_all(&query).await.unwrap();
                    let Some(last) = page.last() else { break };
                    query = order.clone().limit(size).after(last);
                    pages.extend(page);
                    // A ticket written between pages: before or after the cursor.
                    if let Some((row, when)) = &inserted {
                        if *when == page_number {
                            db.insert(&insert_row(row, &fixture.providers))
                                .await
                                .unwrap();
                        }
                    }
                }
                (pages, db.fetch_all(&order).await.unwrap())
            });
            let seen: Vec<Uuid> = pages.iter().map(|t| t.ticket_id).collect();
            let unique: HashSet<Uuid> = seen.iter().copied().collect();
            prop_assert_eq!(unique.len(), seen.len(), "a row twice in {:?}", keys);
            for id in &ids {
                prop_assert!(unique.contains(id), "a row missed in {:?}", keys);
            }
            // The pages are in the order, and hold every row of the final result that was not
            // written before the cursor had passed its place.
            let in_order: Vec<Uuid> = whole
                .iter()
                .map(|t| t.ticket_id)
                .filter(|id| unique.contains(id))
                .collect();
            prop_assert_eq!(&in_order, &seen, "pages of {} in {:?}", size, keys);
            if inserted.is_none() {
                prop_assert_eq!(&pages, &whole);
            }
            Ok(())
        })
        .unwrap();
}
