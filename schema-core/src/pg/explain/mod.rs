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
//! The text is first parsed by the extended protocol, which refuses a text of more than one
//! statement: a registered query is one statement, and nothing else in its text runs.
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
//! no parameter of the query and reads a setting, `current_setting(...)`, as the policies of a
//! scoped role do; a constant or a column of another table in a join counts as the query's
//! own); a residual
//! `Filter` (rows read and thrown away); a `Sort` left over (an order no index gives). When no
//! declared index starts with the columns the query needs, the finding carries the
//! `index(...)` attribute to declare.
//!
//! Per index of the tables the registered queries read ([`IndexFinding`]): used by which
//! queries; unused; redundant (its columns a prefix of another index's); and, listed apart
//! and not failures, those behind a primary key or unique constraint and those covering a
//! foreign key.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tokio_postgres::Client;

use super::PgError;
use crate::driver::{set_scope, RequestScope};
use crate::sql::quote_ident;
use crate::{QueryRole, RegisteredQuery, Schema};

mod conditions;
mod judge;
mod report;

pub use report::{IndexFinding, IndexStatus, Note, Problem, QueryFinding, QueryReport};

/// The name the check's prepared statement has on PostgreSQL 15 (deallocated after each use).
const PREPARED_NAME: &str = "schema_core_plan_check";

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
    Ok(judge::judge(schema, &plans, &catalog))
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
    // The text is parsed first by the extended protocol, which refuses more than one statement:
    // what follows sends it inside statements of the simple protocol, which would run each.
    let parsed = transaction.prepare(sql).await;
    let result = if let Err(error) = parsed {
        Err(server_message(&error))
    } else if version >= 160000 {
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
                match transaction
                    .query_one(
                        "SELECT coalesce(cardinality(parameter_types), 0) \
                         FROM pg_catalog.pg_prepared_statements WHERE name = $1",
                        &[&PREPARED_NAME],
                    )
                    .await
                {
                    Err(error) => Err(server_message(&error)),
                    Ok(row) => {
                        let count: i32 = row.get(0);
                        let arguments = if count == 0 {
                            String::new()
                        } else {
                            format!("({})", vec!["NULL"; count as usize].join(", "))
                        };
                        explain_text(
                            &transaction,
                            &format!("EXPLAIN (FORMAT JSON) EXECUTE {PREPARED_NAME}{arguments}"),
                        )
                        .await
                    }
                }
            }
        }
    };
    let rolled_back = transaction.rollback().await;
    // A prepared statement outlives the transaction it was made in: deallocated whatever
    // happened, so the next query's `PREPARE` finds its name free.
    if prepared {
        client
            .batch_execute(&format!("DEALLOCATE {PREPARED_NAME}"))
            .await?;
    }
    rolled_back?;
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
    /// The primary key's index.
    primary: bool,
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
                    x.indpred IS NOT NULL OR am.amname <> 'btree', \
                    x.indisprimary \
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
            primary: row.get(7),
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
