//! The plan check: each registered query's plan, read on a real server, says whether the
//! declared indexes serve it; and each declared index, whether a registered query uses it.
//!
//! A query can use an index and still read all of it: `WHERE status = $1` on an index
//! `(provider_id, status)` plans as an index scan with `Index Cond: (status = $1)`, a whole
//! index read that a "no sequential scan" check passes (and PostgreSQL 18's skip scan makes it
//! cheaper still, not bounded). Under a physician's row-level security policy, the same query is
//! served by that index only because the policy's qual fills its leading column. So the check
//! reads the plan and asks, for every index it uses, whether the index's **leading column** is
//! matched by a condition of the query itself.
//!
//! # How each query is planned
//!
//! In a transaction rolled back at the end, as the query's [`QueryRole`] (`SET LOCAL ROLE`,
//! so row-level security holds as it holds for the application) with its setting set
//! (`SET LOCAL`), with `enable_seqscan` and `enable_bitmapscan` off (so a plan shows whether an
//! index can serve the query's filter and order at all, whatever the table holds today), and
//! as a **generic plan**, the plan a prepared statement gets whatever its values:
//!
//! - PostgreSQL 16 and later: `EXPLAIN (GENERIC_PLAN, FORMAT JSON) <sql>`;
//! - PostgreSQL 15: `PREPARE` with `plan_cache_mode = force_generic_plan`, then
//!   `EXPLAIN (FORMAT JSON) EXECUTE` with one `NULL` per parameter (the count read from
//!   `pg_prepared_statements.parameter_types`); the statement is deallocated after.
//!
//! The planner still chooses among the indexes by the tables' statistics: run the check on a
//! database whose tables hold representative rows and have been analyzed (a copy of
//! production's, or test data); on empty tables every index looks alike.
//!
//! # What is reported
//!
//! Per query ([`QueryFinding`]): the indexes it reads, and a [`Problem`] for each of: a
//! sequential scan; an index whose leading column no condition matches (a whole-index read);
//! one whose leading column only a policy's qual matches (a condition whose right side holds
//! no parameter and no constant of the query, such as `current_setting(...)`); a residual
//! `Filter` (rows read and thrown away); a `Sort` left over (an order no index gives). When no
//! declared index starts with the columns the query needs, the finding carries the
//! `index(...)` attribute to declare.
//!
//! Per index of the tables the registered queries read ([`IndexFinding`]): used by which
//! queries; unused; redundant (its columns a prefix of another index's); and, listed apart
//! and not failures, those behind a primary key or unique constraint and those covering a
//! foreign key.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;
use tokio_postgres::Client;

use super::PgError;
use crate::driver::{set_scope, RequestScope};
use crate::sql::quote_ident;
use crate::{QueryRole, RegisteredQuery, Schema};

/// The name the check's prepared statement has on PostgreSQL 15 (deallocated after each use).
const PREPARED_NAME: &str = "schema_core_plan_check";

/// What a query's plan says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryFinding {
    /// The query's name.
    pub name: String,
    /// The role it ran as, as the schema names it.
    pub role: String,
    /// The indexes its plan reads, in plan order.
    pub indexes: Vec<String>,
    /// Why the indexes do not serve it; empty when they do.
    pub problems: Vec<Problem>,
    /// The `index(...)` attribute that would serve it, when no declared index starts with the
    /// columns it needs.
    pub declare: Option<String>,
}

impl QueryFinding {
    /// Whether the declared indexes serve the query.
    pub fn served(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Why a query is not served by its indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The server could not plan the query (its text, a missing privilege): the server's
    /// message.
    NotPlanned(String),
    /// A table is read whole.
    SequentialScan {
        /// The table.
        table: String,
    },
    /// An index is read without a condition on its leading column: the whole index is read
    /// (a skip scan on PostgreSQL 18 reads it in as many descents as the column has values).
    LeadingColumnUnmatched {
        /// The index.
        index: String,
        /// Its leading column.
        column: String,
        /// The conditions the index is read with (`Index Cond`), if any.
        condition: Option<String>,
    },
    /// An index's leading column is matched only by a row-level security policy's qual, not by
    /// the query: the query does not say which rows it wants (a distributed table cannot route
    /// it to one shard).
    ThroughPolicy {
        /// The index.
        index: String,
        /// Its leading column, which the query should compare with a parameter.
        column: String,
    },
    /// Rows are read and then thrown away by a condition no index applies.
    Filter {
        /// The table.
        table: String,
        /// The condition, as the plan prints it.
        condition: String,
    },
    /// The rows are sorted after they are read: no index gives the query's order.
    Sort {
        /// The sort's keys, as the plan prints them.
        keys: Vec<String>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotPlanned(message) => write!(f, "not planned: {message}"),
            Problem::SequentialScan { table } => write!(f, "sequential scan on {table}"),
            Problem::LeadingColumnUnmatched {
                index,
                column,
                condition,
            } => {
                write!(
                    f,
                    "{index} read without its leading column {column}: the whole index is read"
                )?;
                if let Some(condition) = condition {
                    write!(f, " (Index Cond: {condition})")?;
                }
                Ok(())
            }
            Problem::ThroughPolicy { index, column } => write!(
                f,
                "{index}'s leading column {column} is matched only through the row-level \
                 security policy: add `{column} = $n` to the query"
            ),
            Problem::Filter { table, condition } => {
                write!(f, "Filter on {table}: {condition}")
            }
            Problem::Sort { keys } => write!(f, "Sort left over: {}", keys.join(", ")),
        }
    }
}

/// What the registered queries make of a declared index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFinding {
    /// The table, as the model names it (`billing.invoices`).
    pub table: String,
    /// The index.
    pub index: String,
    /// Its key columns as the server prints them (`created_at DESC`).
    pub columns: Vec<String>,
    /// What it is to the registered queries.
    pub status: IndexStatus,
}

/// How an index stands against the registered queries.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexStatus {
    /// Read by these queries with its leading column matched.
    Used(Vec<String>),
    /// Its key columns are the first columns of another index, which serves whatever it
    /// serves: a failure.
    Redundant {
        /// The index that holds its columns first.
        of: String,
    },
    /// Behind a primary key or unique constraint, which needs it: listed apart, not a failure.
    Key,
    /// Its first columns are a foreign key's, which `DELETE`s and key updates of the
    /// referenced table look up: listed apart, not a failure.
    ForeignKey,
    /// No registered query reads it: a failure.
    Unused,
}

impl IndexStatus {
    /// Whether the status fails the check.
    pub fn fails(&self) -> bool {
        matches!(self, IndexStatus::Redundant { .. } | IndexStatus::Unused)
    }
}

impl fmt::Display for IndexStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexStatus::Used(queries) => write!(f, "used by {}", queries.join(", ")),
            IndexStatus::Redundant { of } => {
                write!(f, "redundant: its columns are the first columns of {of}")
            }
            IndexStatus::Key => write!(f, "primary key or unique constraint"),
            IndexStatus::ForeignKey => write!(f, "covers a foreign key"),
            IndexStatus::Unused => write!(f, "unused: no registered query reads it"),
        }
    }
}

/// The check's report: one finding per registered query, one per index of the tables they
/// read. Its `Display` is the table the command line prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryReport {
    /// One per registered query, in registration order.
    pub queries: Vec<QueryFinding>,
    /// One per index of the tables the registered queries read, by table then index name.
    pub indexes: Vec<IndexFinding>,
    /// The schema's tables that no registered query reads (their indexes are not judged).
    pub tables_not_read: Vec<String>,
    /// The tables the registered queries read that are empty or were never analyzed: the
    /// planner's choice among their indexes says nothing until they hold representative rows
    /// and are analyzed.
    pub tables_without_statistics: Vec<String>,
}

impl QueryReport {
    /// Whether every query is served and no index is unused or redundant.
    pub fn passed(&self) -> bool {
        self.queries.iter().all(QueryFinding::served)
            && !self.indexes.iter().any(|i| i.status.fails())
    }

    /// The finding of the query named `name`.
    pub fn query(&self, name: &str) -> Option<&QueryFinding> {
        self.queries.iter().find(|q| q.name == name)
    }

    /// The finding of the index named `name`.
    pub fn index(&self, name: &str) -> Option<&IndexFinding> {
        self.indexes.iter().find(|i| i.index == name)
    }
}

impl fmt::Display for QueryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 4]> = self
            .queries
            .iter()
            .map(|q| {
                let verdict = if q.served() {
                    "served".to_string()
                } else {
                    let mut text = format!(
                        "NOT SERVED: {}",
                        q.problems
                            .iter()
                            .map(Problem::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    );
                    if let Some(declare) = &q.declare {
                        text.push_str(&format!("; declare #[pg({declare})]"));
                    }
                    text
                };
                let indexes = if q.indexes.is_empty() {
                    "-".to_string()
                } else {
                    q.indexes.join(", ")
                };
                [q.name.clone(), q.role.clone(), indexes, verdict]
            })
            .collect();
        write_table(f, ["query", "role", "index", "verdict"], &rows)?;
        if !self.indexes.is_empty() {
            writeln!(f)?;
            let rows: Vec<[String; 3]> = self
                .indexes
                .iter()
                .map(|i| [i.table.clone(), i.index.clone(), i.status.to_string()])
                .collect();
            write_table(f, ["table", "index", "use"], &rows)?;
        }
        if !self.tables_not_read.is_empty() {
            writeln!(
                f,
                "\nno registered query reads: {}",
                self.tables_not_read.join(", ")
            )?;
        }
        if !self.tables_without_statistics.is_empty() {
            writeln!(
                f,
                "\nwarning: empty or never analyzed, so the planner's choice among their \
                 indexes is arbitrary: {} (check on representative rows, analyzed)",
                self.tables_without_statistics.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Writes `rows` under `header`, each column as wide as its widest cell (the last one left
/// ragged).
fn write_table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: [&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: [&str; N]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 < N {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            } else {
                text.push_str(cell);
            }
        }
        writeln!(f, "{}", text.trim_end())
    };
    line(f, header)?;
    for row in rows {
        line(f, std::array::from_fn(|i| row[i].as_str()))?;
    }
    Ok(())
}

/// Checks every query registered on `schema` against the indexes of the database `client`
/// is connected to (the schema applied, the tables analyzed), as the application runs them.
///
/// The login must be allowed to act as each query's role (`SET ROLE`): the table's owner or a
/// member of the roles. Nothing is changed: each query is planned in a transaction rolled back
/// at the end. An error is returned for what stops the whole check (the connection, a role that
/// does not exist or cannot be taken, a setting that cannot be set); a query the server cannot
/// plan is a [`Problem::NotPlanned`] of its own finding.
///
/// For a test of one's own:
///
/// ```no_run
/// # async fn check(client: &mut schema_core::pg::tokio_postgres::Client, schema: schema_core::Schema) {
/// let report = schema_core::pg::explain::check_queries(client, &schema).await.unwrap();
/// assert!(report.passed(), "{report}");
/// # }
/// ```
pub async fn check_queries(client: &mut Client, schema: &Schema) -> Result<QueryReport, PgError> {
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await?
        .get(0);
    let mut plans = Vec::new();
    for registered in schema.registered_queries() {
        let plan = plan_of(client, schema, registered, version).await?;
        plans.push(plan);
    }
    let catalog = read_indexes(client, schema).await?;
    Ok(judge(schema, &plans, &catalog))
}

/// A query's plan: the JSON the server printed, or its refusal.
type PlanResult = Result<Value, String>;

/// Plans one registered query as its role, in a transaction rolled back at the end.
async fn plan_of(
    client: &mut Client,
    schema: &Schema,
    registered: &RegisteredQuery,
    version: i32,
) -> Result<PlanResult, PgError> {
    let setup = setup_sql(schema, &registered.role)?;
    let sql = registered.query.sql.trim().trim_end_matches(';');
    let transaction = client.transaction().await?;
    transaction.batch_execute(&setup).await?;
    let mut prepared = false;
    let result = if version >= 160000 {
        explain_text(
            &transaction,
            &format!("EXPLAIN (GENERIC_PLAN, FORMAT JSON) {sql}"),
        )
        .await
    } else {
        match transaction
            .batch_execute(&format!("PREPARE {PREPARED_NAME} AS {sql}"))
            .await
        {
            Err(error) => Err(server_message(&error)),
            Ok(()) => {
                prepared = true;
                let count: i32 = transaction
                    .query_one(
                        "SELECT coalesce(cardinality(parameter_types), 0) \
                         FROM pg_catalog.pg_prepared_statements WHERE name = $1",
                        &[&PREPARED_NAME],
                    )
                    .await?
                    .get(0);
                let nulls = vec!["NULL"; count as usize].join(", ");
                let arguments = if count == 0 {
                    String::new()
                } else {
                    format!("({nulls})")
                };
                explain_text(
                    &transaction,
                    &format!("EXPLAIN (FORMAT JSON) EXECUTE {PREPARED_NAME}{arguments}"),
                )
                .await
            }
        }
    };
    transaction.rollback().await?;
    // A prepared statement outlives the transaction it was made in.
    if prepared {
        client
            .batch_execute(&format!("DEALLOCATE {PREPARED_NAME}"))
            .await?;
    }
    Ok(result.and_then(|text| {
        serde_json::from_str(&text).map_err(|e| format!("the plan is not JSON: {e}"))
    }))
}

/// The statements that make a transaction plan as the application runs: its role and
/// setting, local to the transaction, and the planner's settings of the check.
fn setup_sql(schema: &Schema, role: &QueryRole) -> Result<String, PgError> {
    let names = schema.names();
    let role_name = names.role_name(&role.role);
    let scope = match &role.setting {
        Some((setting, value)) => {
            let scope = RequestScope {
                role: role_name,
                setting: names.setting_name(setting),
                value,
            };
            set_scope(&scope).map_err(|invalid| PgError::invalid_scope(&scope, invalid))?
        }
        None => format!("SET LOCAL ROLE {}", quote_ident(role_name)),
    };
    Ok(format!(
        "{scope}; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; \
         SET LOCAL plan_cache_mode = force_generic_plan"
    ))
}

/// Runs an `EXPLAIN` by the simple protocol (its text holds `$n` that are not parameters of
/// the statement sent) and returns its one value, or the server's refusal.
async fn explain_text(
    transaction: &tokio_postgres::Transaction<'_>,
    sql: &str,
) -> Result<String, String> {
    let messages = transaction
        .simple_query(sql)
        .await
        .map_err(|e| server_message(&e))?;
    messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .ok_or_else(|| "EXPLAIN returned no plan".to_string())
}

/// The server's message for a statement it refused (a syntax error, a missing privilege):
/// statement texts hold parameters, never values.
fn server_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_string(),
        None => error.to_string(),
    }
}

/// An index of one of the schema's tables, as the catalog has it.
#[derive(Clone, Debug)]
struct CatalogIndex {
    /// The table, as the model names it.
    table: String,
    /// The table's own name, as plans print it (`Relation Name`).
    relation: String,
    name: String,
    /// The key columns as the server prints them (`created_at DESC`).
    columns: Vec<String>,
    /// The key columns' names alone (`created_at`), quoted where SQL needs it.
    column_names: Vec<String>,
    /// Behind a primary key, unique or exclusion constraint.
    constraint: bool,
    /// Partial (with a `WHERE`), or of another method than btree: never judged redundant.
    special: bool,
}

/// What the catalog says about the schema's tables' indexes and foreign keys.
struct Catalog {
    indexes: Vec<CatalogIndex>,
    /// Per table (model name): each foreign key's columns.
    foreign_keys: BTreeMap<String, Vec<Vec<String>>>,
    /// The tables (model names) that are empty or were never analyzed (`reltuples` 0 or -1).
    without_statistics: BTreeSet<String>,
}

/// Reads the indexes and foreign keys of the schema's tables.
async fn read_indexes(client: &Client, schema: &Schema) -> Result<Catalog, PgError> {
    let tables: Vec<String> = schema
        .tables()
        .iter()
        .map(|t| t.qualified_name().into_owned())
        .collect();
    let quoted: Vec<String> = schema.tables().iter().map(|t| t.quoted_name()).collect();
    let rows = client
        .query(
            "SELECT t.ord::int, i.relname::text, c.relname::text, \
                    ARRAY(SELECT pg_catalog.pg_get_indexdef(x.indexrelid, k, true) \
                          || CASE WHEN x.indoption[k - 1] & 1 = 1 THEN ' DESC' ELSE '' END \
                          || CASE WHEN x.indoption[k - 1] & 1 = 1 AND x.indoption[k - 1] & 2 = 0 \
                                  THEN ' NULLS LAST' \
                                  WHEN x.indoption[k - 1] & 1 = 0 AND x.indoption[k - 1] & 2 = 2 \
                                  THEN ' NULLS FIRST' ELSE '' END \
                          FROM generate_series(1, x.indnkeyatts) k ORDER BY k), \
                    ARRAY(SELECT pg_catalog.pg_get_indexdef(x.indexrelid, k, true) \
                          FROM generate_series(1, x.indnkeyatts) k ORDER BY k), \
                    EXISTS (SELECT FROM pg_catalog.pg_constraint k \
                            WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid \
                              AND k.contype IN ('p', 'u', 'x')), \
                    x.indpred IS NOT NULL OR am.amname <> 'btree' \
             FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord) \
             JOIN pg_catalog.pg_index x ON x.indrelid = pg_catalog.to_regclass(t.name) \
             JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
             JOIN pg_catalog.pg_class c ON c.oid = x.indrelid \
             JOIN pg_catalog.pg_am am ON am.oid = i.relam \
             ORDER BY t.ord, i.relname",
            &[&quoted],
        )
        .await?;
    let mut indexes = Vec::new();
    for row in rows {
        let ord: i32 = row.get(0);
        indexes.push(CatalogIndex {
            table: tables[ord as usize - 1].clone(),
            name: row.get(1),
            relation: row.get(2),
            columns: row.get(3),
            column_names: row.get(4),
            constraint: row.get(5),
            special: row.get(6),
        });
    }
    let rows = client
        .query(
            "SELECT t.ord::int, \
                    ARRAY(SELECT pg_catalog.quote_ident(a.attname) \
                          FROM unnest(k.conkey) WITH ORDINALITY AS n(attnum, o) \
                          JOIN pg_catalog.pg_attribute a \
                            ON a.attrelid = k.conrelid AND a.attnum = n.attnum \
                          ORDER BY n.o) \
             FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord) \
             JOIN pg_catalog.pg_constraint k \
               ON k.conrelid = pg_catalog.to_regclass(t.name) AND k.contype = 'f'",
            &[&quoted],
        )
        .await?;
    let mut foreign_keys: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for row in rows {
        let ord: i32 = row.get(0);
        foreign_keys
            .entry(tables[ord as usize - 1].clone())
            .or_default()
            .push(row.get(1));
    }
    let rows = client
        .query(
            "SELECT t.ord::int FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord) \
             JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(t.name) \
             WHERE c.reltuples <= 0",
            &[&quoted],
        )
        .await?;
    let without_statistics = rows
        .iter()
        .map(|row| tables[row.get::<_, i32>(0) as usize - 1].clone())
        .collect();
    Ok(Catalog {
        indexes,
        foreign_keys,
        without_statistics,
    })
}

/// One read of a table in a plan.
#[derive(Debug, Default)]
struct Scan {
    /// `Relation Name`.
    relation: String,
    /// `None` for a sequential scan.
    index: Option<String>,
    /// `Index Cond`, as printed.
    index_cond: Option<String>,
    /// `Filter`, as printed.
    filter: Option<String>,
    /// The filter of a `Bitmap Heap Scan`, whose index reads are scans of their own.
    heap_only: bool,
}

/// The facts of a plan the check reads: every read of a table, every sort.
#[derive(Debug, Default)]
struct PlanFacts {
    scans: Vec<Scan>,
    sorts: Vec<Vec<String>>,
}

/// Collects the reads and sorts of a plan node and the nodes under it. A `Bitmap Index Scan`
/// names no table: it reads for the `Bitmap Heap Scan` above it, whose table is passed down.
fn collect(node: &Value, heap: Option<&str>, facts: &mut PlanFacts) {
    let text = |key: &str| node.get(key).and_then(Value::as_str).map(str::to_string);
    let kind = node.get("Node Type").and_then(Value::as_str).unwrap_or("");
    let relation = text("Relation Name");
    match kind {
        "Seq Scan" | "Index Scan" | "Index Only Scan" => facts.scans.push(Scan {
            relation: relation.clone().unwrap_or_default(),
            index: text("Index Name"),
            index_cond: text("Index Cond"),
            filter: text("Filter"),
            heap_only: false,
        }),
        "Bitmap Heap Scan" => {
            if let Some(filter) = text("Filter") {
                facts.scans.push(Scan {
                    relation: relation.clone().unwrap_or_default(),
                    filter: Some(filter),
                    heap_only: true,
                    ..Scan::default()
                });
            }
        }
        "Bitmap Index Scan" => facts.scans.push(Scan {
            relation: heap.unwrap_or_default().to_string(),
            index: text("Index Name"),
            index_cond: text("Index Cond"),
            filter: None,
            heap_only: false,
        }),
        "Sort" | "Incremental Sort" => {
            let keys = node
                .get("Sort Key")
                .and_then(Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            facts.sorts.push(keys);
        }
        _ => {}
    }
    let heap = if kind == "Bitmap Heap Scan" {
        relation.as_deref()
    } else {
        heap
    };
    for child in node
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect(child, heap, facts);
    }
}

/// What the right side of a condition is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operand {
    /// Holds a parameter of the query (`$2`).
    Parameter,
    /// A constant the query wrote (`'OPEN'::text`, `42`).
    Constant,
    /// A setting read at run time (`current_setting(...)`): a policy's qual.
    Setting,
    /// Another expression (a column of another table, in a join).
    Expression,
}

/// One condition of an `AND` list, read as `column op operand`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Condition {
    /// The column on the left, casts and parentheses removed; `None` when the left side is
    /// not a plain column.
    column: Option<String>,
    /// The operator (`=`, `<`, `= ANY`, ...).
    operator: String,
    operand: Operand,
}

/// Splits a printed condition into its top-level `AND`ed parts, each without its outer
/// parentheses.
fn conjuncts(text: &str) -> Vec<&str> {
    let text = strip_parens(text.trim());
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quoted = false;
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.saturating_sub(1),
            b' ' if !quoted && depth == 0 && text[i..].starts_with(" AND ") => {
                parts.push(strip_parens(text[start..i].trim()));
                i += " AND ".len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(strip_parens(text[start..].trim()));
    parts
}

/// `text` without the parentheses that wrap all of it, as many pairs as there are.
fn strip_parens(mut text: &str) -> &str {
    loop {
        let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) else {
            return text;
        };
        // `(a) = (b)` starts and ends with parentheses that do not wrap the whole.
        let mut depth = 0i32;
        let mut quoted = false;
        for c in inner.chars() {
            match c {
                '\'' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => {
                    depth -= 1;
                    if depth < 0 {
                        return text;
                    }
                }
                _ => {}
            }
        }
        text = inner.trim();
    }
}

/// Reads one condition as `column op operand`, where it has that shape.
fn condition(text: &str) -> Option<Condition> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.saturating_sub(1),
            b' ' if !quoted && depth == 0 => {
                let rest = &text[i + 1..];
                let operator: String = rest
                    .chars()
                    .take_while(|c| "=<>!~*+-/%^&|#@?".contains(*c))
                    .collect();
                if !operator.is_empty() && rest[operator.len()..].starts_with(' ') {
                    let mut right = rest[operator.len()..].trim();
                    let mut operator = operator;
                    for quantifier in ["ANY ", "ALL "] {
                        if let Some(inner) = right.strip_prefix(quantifier) {
                            operator = format!("{operator} {}", quantifier.trim());
                            right = inner;
                        }
                    }
                    return Some(Condition {
                        column: column_of(&text[..i]),
                        operator,
                        operand: operand(right),
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The column a left side names: `(status)::text` → `status`; `None` for an expression.
fn column_of(left: &str) -> Option<String> {
    let mut text = strip_parens(left.trim());
    // Casts, outermost last: `((status)::text)::varchar`.
    while let Some(position) = top_level_cast(text) {
        text = strip_parens(text[..position].trim());
    }
    let plain = text.starts_with('"')
        || text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    (plain && !text.is_empty() && !text.starts_with('$')).then(|| text.to_string())
}

/// Where the last top-level `::` of `text` is.
fn top_level_cast(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quoted = false;
    let mut found = None;
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.saturating_sub(1),
            b':' if !quoted && depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                if i == 0 || bytes[i - 1] != b':' {
                    found = Some(i);
                }
            }
            _ => {}
        }
    }
    found
}

/// What a right side is (see [`Operand`]).
fn operand(right: &str) -> Operand {
    let bytes = right.as_bytes();
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'$' if !quoted && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                return Operand::Parameter
            }
            _ => {}
        }
    }
    let lowered = right.to_ascii_lowercase();
    if lowered.contains("current_setting(") {
        return Operand::Setting;
    }
    let bare = strip_parens(right);
    let bare = match top_level_cast(bare) {
        Some(position) => strip_parens(bare[..position].trim()),
        None => bare,
    };
    let literal = bare.starts_with('\'')
        || bare.starts_with('-')
        || bare.starts_with(|c: char| c.is_ascii_digit())
        || bare.starts_with("'{")
        || matches!(bare, "true" | "false" | "NULL");
    if literal {
        Operand::Constant
    } else {
        Operand::Expression
    }
}

/// Judges each query's plan and each index of the tables the queries read.
fn judge(schema: &Schema, plans: &[PlanResult], catalog: &Catalog) -> QueryReport {
    let mut used: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut read_relations = BTreeSet::new();
    let mut queries = Vec::new();
    for (registered, plan) in schema.registered_queries().iter().zip(plans) {
        let name = registered.query.name.to_string();
        let role = registered.role.role.to_string();
        let plan = match plan {
            Ok(plan) => plan,
            Err(message) => {
                queries.push(QueryFinding {
                    name,
                    role,
                    indexes: Vec::new(),
                    problems: vec![Problem::NotPlanned(message.clone())],
                    declare: None,
                });
                continue;
            }
        };
        let mut facts = PlanFacts::default();
        if let Some(root) = plan.get(0).and_then(|p| p.get("Plan")) {
            collect(root, None, &mut facts);
        }
        let finding = judge_query(name, role, &facts, catalog);
        for scan in &facts.scans {
            read_relations.insert(scan.relation.clone());
        }
        for (relation, index) in served_indexes(&facts, catalog) {
            let users = used.entry((relation, index)).or_default();
            if !users.contains(&finding.name) {
                users.push(finding.name.clone());
            }
        }
        queries.push(finding);
    }

    let mut indexes = Vec::new();
    let mut tables_not_read = Vec::new();
    let mut tables_without_statistics = Vec::new();
    for table in schema.tables() {
        let qualified = table.qualified_name().into_owned();
        let of_table: Vec<&CatalogIndex> = catalog
            .indexes
            .iter()
            .filter(|i| i.table == qualified)
            .collect();
        if !read_relations.contains(table.name) {
            if !of_table.is_empty() {
                tables_not_read.push(qualified);
            }
            continue;
        }
        if catalog.without_statistics.contains(&qualified) {
            tables_without_statistics.push(qualified.clone());
        }
        let foreign_keys = catalog
            .foreign_keys
            .get(&qualified)
            .cloned()
            .unwrap_or_default();
        for index in &of_table {
            let status = index_status(index, &of_table, &foreign_keys, &used);
            indexes.push(IndexFinding {
                table: index.table.clone(),
                index: index.name.clone(),
                columns: index.columns.clone(),
                status,
            });
        }
    }
    QueryReport {
        queries,
        indexes,
        tables_not_read,
        tables_without_statistics,
    }
}

/// How `index` stands: redundant first (whatever uses it, the longer index serves), then used,
/// then behind a constraint or a foreign key, else unused.
fn index_status(
    index: &CatalogIndex,
    of_table: &[&CatalogIndex],
    foreign_keys: &[Vec<String>],
    used: &BTreeMap<(String, String), Vec<String>>,
) -> IndexStatus {
    if !index.constraint && !index.special {
        let longer = of_table.iter().find(|other| {
            other.name != index.name
                && !other.special
                && other.columns.len() >= index.columns.len()
                && other.columns[..index.columns.len()] == index.columns[..]
                // Of two indexes with the same columns, the one named later is reported.
                && (other.columns.len() > index.columns.len() || other.name < index.name)
        });
        if let Some(longer) = longer {
            return IndexStatus::Redundant {
                of: longer.name.clone(),
            };
        }
    }
    if let Some(queries) = used.get(&(index.relation.clone(), index.name.clone())) {
        return IndexStatus::Used(queries.clone());
    }
    if index.constraint {
        return IndexStatus::Key;
    }
    let covers = foreign_keys.iter().any(|key| {
        key.len() <= index.column_names.len()
            && key
                .iter()
                .all(|c| index.column_names[..key.len()].contains(c))
    });
    if covers {
        IndexStatus::ForeignKey
    } else {
        IndexStatus::Unused
    }
}

/// The catalog's entry for an index a plan read on `relation`.
fn find_index<'a>(catalog: &'a Catalog, relation: &str, name: &str) -> Option<&'a CatalogIndex> {
    catalog
        .indexes
        .iter()
        .find(|i| i.relation == relation && i.name == name)
}

/// How an index's leading column is matched in a read: by the query, only by a policy, or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leading {
    ByQuery,
    ThroughPolicy,
    Unmatched,
}

fn leading(scan: &Scan, index: &CatalogIndex) -> Leading {
    let Some(first) = index.column_names.first() else {
        return Leading::Unmatched;
    };
    let conditions: Vec<Condition> = scan
        .index_cond
        .as_deref()
        .map(conjuncts)
        .unwrap_or_default()
        .into_iter()
        .filter_map(condition)
        .filter(|c| c.column.as_deref() == Some(first.as_str()))
        .collect();
    if conditions.iter().any(|c| c.operand != Operand::Setting) {
        Leading::ByQuery
    } else if conditions.is_empty() {
        Leading::Unmatched
    } else {
        Leading::ThroughPolicy
    }
}

/// The (relation, index) pairs a plan reads with their leading column matched.
fn served_indexes(facts: &PlanFacts, catalog: &Catalog) -> Vec<(String, String)> {
    facts
        .scans
        .iter()
        .filter_map(|scan| {
            let name = scan.index.as_ref()?;
            let index = find_index(catalog, &scan.relation, name)?;
            (leading(scan, index) != Leading::Unmatched)
                .then(|| (scan.relation.clone(), name.clone()))
        })
        .collect()
}

/// Judges one query's plan.
fn judge_query(name: String, role: String, facts: &PlanFacts, catalog: &Catalog) -> QueryFinding {
    let mut problems = Vec::new();
    let mut indexes = Vec::new();
    for scan in &facts.scans {
        match &scan.index {
            None if scan.heap_only => {}
            None => problems.push(Problem::SequentialScan {
                table: scan.relation.clone(),
            }),
            Some(index_name) => {
                if !indexes.contains(index_name) {
                    indexes.push(index_name.clone());
                }
                if let Some(index) = find_index(catalog, &scan.relation, index_name) {
                    let column = index.column_names.first().cloned().unwrap_or_default();
                    match leading(scan, index) {
                        Leading::ByQuery => {}
                        Leading::ThroughPolicy => problems.push(Problem::ThroughPolicy {
                            index: index_name.clone(),
                            column,
                        }),
                        Leading::Unmatched => problems.push(Problem::LeadingColumnUnmatched {
                            index: index_name.clone(),
                            column,
                            condition: scan.index_cond.clone(),
                        }),
                    }
                }
            }
        }
        if let Some(filter) = &scan.filter {
            problems.push(Problem::Filter {
                table: scan.relation.clone(),
                condition: filter.clone(),
            });
        }
    }
    for keys in &facts.sorts {
        problems.push(Problem::Sort { keys: keys.clone() });
    }
    let declare = if problems.is_empty() {
        None
    } else {
        index_to_declare(facts, catalog)
    };
    QueryFinding {
        name,
        role,
        indexes,
        problems,
        declare,
    }
}

/// The `index(...)` attribute that would serve the query's reads of its first table: its own
/// equalities first, then one range, then its sort's keys; `None` when the query has no
/// condition of its own or a declared index of the table already starts with those columns
/// (then the planner's choice, not the declaration, is at fault: analyze the tables).
fn index_to_declare(facts: &PlanFacts, catalog: &Catalog) -> Option<String> {
    let relation = facts.scans.first()?.relation.clone();
    let mut equalities: Vec<String> = Vec::new();
    let mut ranges: Vec<String> = Vec::new();
    for scan in facts.scans.iter().filter(|s| s.relation == relation) {
        for text in [&scan.index_cond, &scan.filter].into_iter().flatten() {
            for condition in conjuncts(text).into_iter().filter_map(condition) {
                let Some(column) = condition.column else {
                    continue;
                };
                if condition.operand == Operand::Setting {
                    // The policy's column leads: the query should compare it too.
                    if condition.operator == "=" && !equalities.contains(&column) {
                        equalities.insert(0, column);
                    }
                    continue;
                }
                let target = match condition.operator.as_str() {
                    "=" | "= ANY" => &mut equalities,
                    "<" | "<=" | ">" | ">=" => &mut ranges,
                    _ => continue,
                };
                if !target.contains(&column) {
                    target.push(column);
                }
            }
        }
    }
    let mut columns: Vec<(String, String)> =
        equalities.iter().map(|c| (c.clone(), c.clone())).collect();
    if let Some(range) = ranges.iter().find(|r| !equalities.contains(r)) {
        columns.push((range.clone(), range.clone()));
    }
    if let Some(keys) = facts.sorts.first() {
        for key in keys {
            let (column, options) = sort_key(key);
            if !columns.iter().any(|(c, _)| *c == column) {
                let attribute = if options.is_empty() {
                    column.clone()
                } else {
                    format!("{column}({})", options.join(", "))
                };
                columns.push((column, attribute));
            }
        }
    }
    if columns.is_empty() {
        return None;
    }
    // The equalities in any order, then the rest in order.
    let equal_count = equalities.len();
    let exists = catalog.indexes.iter().any(|i| {
        i.relation == relation
            && i.column_names.len() >= columns.len()
            && i.column_names[..equal_count]
                .iter()
                .all(|c| equalities.contains(c))
            && i.column_names[equal_count..columns.len()]
                .iter()
                .zip(&columns[equal_count..])
                .all(|(a, (b, _))| a == b)
    });
    if exists {
        return None;
    }
    let attributes: Vec<String> = columns.into_iter().map(|(_, a)| a).collect();
    Some(format!("index({})", attributes.join(", ")))
}

/// A sort key as the plan prints it (`created_at DESC`, `priority NULLS FIRST`): its column
/// and the attribute's options for it (`desc`, `nulls_first`).
fn sort_key(key: &str) -> (String, Vec<&'static str>) {
    let mut text = key.trim();
    let mut options = Vec::new();
    for (suffix, option) in [
        (" NULLS FIRST", "nulls_first"),
        (" NULLS LAST", "nulls_last"),
    ] {
        if let Some(rest) = text.strip_suffix(suffix) {
            text = rest;
            options.push(option);
        }
    }
    if let Some(rest) = text.strip_suffix(" DESC") {
        text = rest;
        options.insert(0, "desc");
    }
    let column = column_of(text).unwrap_or_else(|| text.to_string());
    (column, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(name: &str, columns: &[&str]) -> CatalogIndex {
        CatalogIndex {
            table: "support_tickets".into(),
            relation: "support_tickets".into(),
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            column_names: columns
                .iter()
                .map(|c| c.split(' ').next().unwrap().to_string())
                .collect(),
            constraint: name.ends_with("_pkey"),
            special: false,
        }
    }

    fn seed_catalog() -> Catalog {
        Catalog {
            indexes: vec![
                index("support_tickets_pkey", &["ticket_id"]),
                index(
                    "support_tickets_provider_id_status_idx",
                    &["provider_id", "status"],
                ),
                index(
                    "support_tickets_provider_id_created_at_idx",
                    &["provider_id", "created_at DESC"],
                ),
                index(
                    "support_tickets_status_priority_idx",
                    &["status", "priority"],
                ),
            ],
            foreign_keys: BTreeMap::from([(
                "support_tickets".to_string(),
                vec![vec!["provider_id".to_string()]],
            )]),
            without_statistics: BTreeSet::new(),
        }
    }

    fn facts(plan: &str) -> PlanFacts {
        let value: Value = serde_json::from_str(plan).unwrap();
        let mut facts = PlanFacts::default();
        collect(&value[0]["Plan"], None, &mut facts);
        facts
    }

    fn judged(plan: &str) -> QueryFinding {
        judge_query("q".into(), "r".into(), &facts(plan), &seed_catalog())
    }

    #[test]
    fn conditions_are_read_through_parentheses_and_casts() {
        assert_eq!(
            conjuncts("((provider_id = $1) AND ((status)::text = $2))"),
            vec!["provider_id = $1", "(status)::text = $2"]
        );
        assert_eq!(
            condition("(status)::text = ANY ($1)"),
            Some(Condition {
                column: Some("status".into()),
                operator: "= ANY".into(),
                operand: Operand::Parameter,
            })
        );
        assert_eq!(
            condition(
                "provider_id = (NULLIF(current_setting('app.provider_id'::text, true), ''::text))::uuid"
            )
            .map(|c| c.operand),
            Some(Operand::Setting)
        );
        assert_eq!(
            condition("(status)::text = 'OPEN AND x = $1'::text").map(|c| c.operand),
            Some(Operand::Constant)
        );
        assert_eq!(
            conjuncts("((status)::text = 'a AND b'::text)"),
            vec!["(status)::text = 'a AND b'::text"]
        );
        assert_eq!(
            condition("\"Weird Col\" >= $3").and_then(|c| c.column),
            Some("\"Weird Col\"".into())
        );
    }

    /// What PostgreSQL 15 prints for `WHERE provider_id = $1 AND status = $2` as the physician
    /// (the query's equality and the policy's qual on one column: the qual compared with the
    /// parameter once, in a `Result`).
    const PHYSICIAN_STATUS: &str = r#"[{"Plan": {"Node Type": "Result",
        "One-Time Filter": "((NULLIF(current_setting('app.provider_id'::text, true), ''::text))::uuid = $1)",
        "Plans": [{"Node Type": "Index Scan", "Index Name": "support_tickets_provider_id_status_idx",
        "Relation Name": "support_tickets", "Index Cond": "((provider_id = $1) AND ((status)::text = $2))"}]}}]"#;

    #[test]
    fn an_index_whose_leading_column_the_query_matches_serves_it() {
        let finding = judged(PHYSICIAN_STATUS);
        assert!(finding.served(), "{:?}", finding.problems);
        assert_eq!(
            finding.indexes,
            vec!["support_tickets_provider_id_status_idx"]
        );
    }

    #[test]
    fn an_index_read_without_its_leading_column_is_not_serving_whatever_the_node() {
        // PostgreSQL 15's whole-index read and PostgreSQL 18's skip scan print alike: an index
        // scan whose condition is on the second column alone.
        for node in ["Index Scan", "Index Only Scan"] {
            let plan = format!(
                r#"[{{"Plan": {{"Node Type": "{node}", "Index Name": "support_tickets_provider_id_status_idx",
                "Relation Name": "support_tickets", "Disabled": false, "Index Cond": "((status)::text = $1)"}}}}]"#
            );
            let finding = judged(&plan);
            assert_eq!(
                finding.problems,
                vec![Problem::LeadingColumnUnmatched {
                    index: "support_tickets_provider_id_status_idx".into(),
                    column: "provider_id".into(),
                    condition: Some("((status)::text = $1)".into()),
                }]
            );
            // An index of the table starts with `status`: nothing to declare.
            assert_eq!(finding.declare, None);
        }
        let bitmap = r#"[{"Plan": {"Node Type": "Bitmap Heap Scan", "Relation Name": "support_tickets",
            "Recheck Cond": "((status)::text = $1)", "Plans": [{"Node Type": "Bitmap Index Scan",
            "Index Name": "support_tickets_provider_id_status_idx", "Index Cond": "((status)::text = $1)"}]}}]"#;
        assert!(matches!(
            judged(bitmap).problems[..],
            [Problem::LeadingColumnUnmatched { .. }]
        ));
    }

    #[test]
    fn a_leading_column_only_the_policy_matches_is_reported_as_such() {
        let plan = r#"[{"Plan": {"Node Type": "Index Scan", "Index Name": "support_tickets_provider_id_status_idx",
            "Relation Name": "support_tickets",
            "Index Cond": "((provider_id = (NULLIF(current_setting('app.provider_id'::text, true), ''::text))::uuid) AND ((status)::text = $1))"}}]"#;
        let finding = judged(plan);
        assert_eq!(
            finding.problems,
            vec![Problem::ThroughPolicy {
                index: "support_tickets_provider_id_status_idx".into(),
                column: "provider_id".into(),
            }]
        );
    }

    #[test]
    fn filters_sorts_and_sequential_scans_say_what_to_declare() {
        let plan = r#"[{"Plan": {"Node Type": "Sort", "Sort Key": ["subject DESC"], "Plans": [
            {"Node Type": "Index Scan", "Index Name": "support_tickets_provider_id_created_at_idx",
             "Relation Name": "support_tickets", "Index Cond": "(provider_id = $1)",
             "Filter": "((category)::text = $2)"}]}}]"#;
        let finding = judged(plan);
        assert_eq!(
            finding.problems,
            vec![
                Problem::Filter {
                    table: "support_tickets".into(),
                    condition: "((category)::text = $2)".into(),
                },
                Problem::Sort {
                    keys: vec!["subject DESC".into()]
                },
            ]
        );
        assert_eq!(
            finding.declare.as_deref(),
            Some("index(provider_id, category, subject(desc))")
        );

        // Equalities in another order than an index's columns: that index serves them, and the
        // planner's choice is at fault, not the declaration.
        let plan = r#"[{"Plan": {"Node Type": "Index Scan", "Index Name": "support_tickets_status_priority_idx",
            "Relation Name": "support_tickets", "Index Cond": "((status)::text = $2)",
            "Filter": "(provider_id = $1)"}}]"#;
        assert_eq!(judged(plan).declare, None);

        let plan = r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "support_tickets",
            "Filter": "((assigned_to)::text = $1)"}}]"#;
        let finding = judged(plan);
        assert_eq!(finding.problems.len(), 2);
        assert_eq!(finding.declare.as_deref(), Some("index(assigned_to)"));
    }

    #[test]
    fn indexes_are_used_redundant_keys_foreign_keys_or_unused() {
        let catalog = seed_catalog();
        let of_table: Vec<&CatalogIndex> = catalog.indexes.iter().collect();
        let keys = &catalog.foreign_keys["support_tickets"];
        let used = BTreeMap::from([(
            (
                "support_tickets".to_string(),
                "support_tickets_status_priority_idx".to_string(),
            ),
            vec!["triage".to_string()],
        )]);
        let status = |i: usize| index_status(of_table[i], &of_table, keys, &used);
        assert_eq!(status(0), IndexStatus::Key);
        assert_eq!(status(1), IndexStatus::ForeignKey);
        assert_eq!(status(3), IndexStatus::Used(vec!["triage".into()]));

        let lone_status = index("support_tickets_status_idx", &["status"]);
        let mut with_prefix = of_table.clone();
        with_prefix.push(&lone_status);
        assert_eq!(
            index_status(&lone_status, &with_prefix, keys, &used),
            IndexStatus::Redundant {
                of: "support_tickets_status_priority_idx".into()
            }
        );
        let assigned = index("support_tickets_assigned_to_idx", &["assigned_to"]);
        assert_eq!(
            index_status(&assigned, &of_table, keys, &used),
            IndexStatus::Unused
        );
        // A descending column is not the prefix of an ascending one.
        let created = index(
            "support_tickets_provider_id_created_idx",
            &["provider_id", "created_at"],
        );
        let mut both = of_table.clone();
        both.push(&created);
        assert_eq!(
            index_status(&created, &both, &[], &used),
            IndexStatus::Unused
        );
    }
}
