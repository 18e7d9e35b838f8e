//! Comparing a live database with the code, and changing it: the drift check, the shadow
//! database that normalizes the code's expressions, and applying a plan.
//!
//! PostgreSQL prints what it stores in its own words (`'MEDIUM'::character varying`,
//! `character varying(200)`), so the code's model is never compared with a database as
//! written: the code's DDL is applied to a throwaway shadow database and both are read back with
//! the same catalog queries ([`read_model`]).
//!
//! ```no_run
//! # use schema_core::{PgTable, Schema};
//! # #[derive(PgTable)]
//! # #[pg(table = "notes")]
//! # struct Note {
//! #     #[pg(primary_key)]
//! #     note_id: i64,
//! # }
//! use schema_core::pg::evolve::{apply, drift, plan_for, Shadow};
//! # async fn run(
//! #     url: &str,
//! #     client: &mut schema_core::pg::tokio_postgres::Client,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//!
//! let schema = Schema::new().table::<Note>();
//! // The differences, one readable line each: empty when the database matches the code.
//! for line in drift(url, &schema, Shadow::Transaction).await? {
//!     println!("{line}");
//! }
//! // The plan that brings the database to the code, as a reviewable script...
//! let plan = plan_for(url, &schema, Shadow::Transaction).await?;
//! print!("{}", plan.to_script());
//! // ...and applied, allowing one destructive step by name.
//! apply(client, &plan, &["notes.body"]).await?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio_postgres::Client;

use super::introspect::{read_model, Scope};
use super::{ConnectConfig, PgError};
use crate::def::PolicyCommand;
use crate::diff::{diff, SchemaDiff};
use crate::error::SchemaError;
use crate::model::{PolicyModel, SchemaModel, TableModel};
use crate::plan::{plan_diff, Blocked, Plan, Refused};
use crate::render::{create_statements, script, Statement};
use crate::sql::quote_ident;
use crate::Schema;

/// Where the code's schema is normalized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shadow<'a> {
    /// A schema of its own in the checked database, inside a transaction that is rolled back:
    /// nothing stays, no database is created, and the database's own functions, types and
    /// extensions are there for the code's expressions. The user needs `CREATE` on the
    /// database. The fastest.
    Transaction,
    /// A new database on the same server (the user needs `CREATEDB`), dropped when done.
    SameServer,
    /// An empty database the caller provides (URL); the schema is created in it and dropped
    /// again, table by table, when done.
    Url(&'a str),
}

/// Why comparing or changing a database failed.
#[derive(Debug)]
pub enum EvolveError {
    /// The schema in the code is not valid.
    Schema(SchemaError),
    /// The database refused a statement or could not be reached.
    Pg(Box<PgError>),
    /// The plan loses data that was not allowed; nothing was changed.
    Refused(Refused),
    /// A step of the plan failed; the steps before it were applied, its own transaction was
    /// rolled back.
    Step {
        /// The step's position in the plan.
        index: usize,
        /// Its SQL.
        sql: String,
        /// The database's error.
        error: Box<PgError>,
    },
    /// The plan would add an encrypted column's envelope `CHECK` (its strict state, plain
    /// `encrypted`) while rows of the column still hold plaintext: run the re-encryption job
    /// (`crypto::reencrypt`) with the column declared `encrypted(migrating)` first. Nothing
    /// was planned.
    #[cfg(feature = "encrypt")]
    PlaintextRemains {
        /// The table.
        table: String,
        /// The column.
        column: &'static str,
        /// How many rows hold plaintext.
        rows: i64,
    },
    /// The shadow URL's database is not empty: it holds these tables.
    ShadowNotEmpty(Vec<String>),
    /// The login may not build the shadow where it was asked to ([`Shadow::Transaction`]:
    /// a schema of its own in the database; [`Shadow::SameServer`]: a new database).
    ShadowDenied {
        /// The privilege the login lacks: `CREATE on the database`, `CREATEDB`.
        needs: &'static str,
        /// The database's refusal.
        error: Box<PgError>,
    },
}

impl fmt::Display for EvolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvolveError::Schema(error) => write!(f, "the schema is not valid: {error}"),
            EvolveError::Pg(error) => write!(f, "{error}"),
            EvolveError::Refused(refused) => write!(
                f,
                "{refused}allow each object by name to go on (nothing was changed)"
            ),
            EvolveError::Step { index, sql, error } => {
                write!(f, "step {} failed ({sql}): {error}", index + 1)
            }
            #[cfg(feature = "encrypt")]
            EvolveError::PlaintextRemains {
                table,
                column,
                rows,
            } => write!(
                f,
                "`{table}.{column}` cannot take its strict encrypted state: {rows} rows still \
                 hold plaintext; declare it `encrypted(migrating)` and run the re-encryption job \
                 first (nothing was planned)"
            ),
            EvolveError::ShadowNotEmpty(tables) => write!(
                f,
                "the shadow database is not empty (it holds {}); give an empty one",
                tables.join(", ")
            ),
            EvolveError::ShadowDenied { needs, error } => write!(
                f,
                "cannot build the shadow that normalizes the code's schema: {error}; the login \
                 needs {needs}: give an empty database to build it in instead (`--shadow-url \
                 URL` on the command line, `Shadow::Url` in code)"
            ),
        }
    }
}

impl std::error::Error for EvolveError {}

/// `error`, or [`EvolveError::ShadowDenied`] when the server refused it for want of a
/// privilege (`needs`).
fn shadow_denied(error: tokio_postgres::Error, needs: &'static str) -> EvolveError {
    if error.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
        EvolveError::ShadowDenied {
            needs,
            error: Box::new(error.into()),
        }
    } else {
        error.into()
    }
}

impl From<SchemaError> for EvolveError {
    fn from(error: SchemaError) -> Self {
        EvolveError::Schema(error)
    }
}

impl From<PgError> for EvolveError {
    fn from(error: PgError) -> Self {
        EvolveError::Pg(Box::new(error))
    }
}

impl From<tokio_postgres::Error> for EvolveError {
    fn from(error: tokio_postgres::Error) -> Self {
        EvolveError::Pg(Box::new(error.into()))
    }
}

/// Connects as [`connect`](fn@super::connect) does (TLS as the connection string says),
/// driving the connection on the current tokio runtime; the handle ends when the connection has
/// closed.
async fn connect(config: &ConnectConfig) -> Result<(Client, tokio::task::JoinHandle<()>), PgError> {
    config.connect().await
}

/// The database at `url` and the code's model, each as the server prints it: the live one as
/// it is, the code's normalized in a shadow ([`normalized_model`]). Both sessions read with the
/// search path on [`APPLICATION_SCHEMA`](crate::sql::APPLICATION_SCHEMA), where `migrate
/// apply` creates the code's unqualified tables, whatever the login's own. The code's declared renames
/// are carried over to its normalized model, so a plan between the two honours them.
pub async fn read_both(
    url: &str,
    code: &SchemaModel,
    shadow: Shadow<'_>,
) -> Result<(SchemaModel, SchemaModel), EvolveError> {
    let config = ConnectConfig::parse(url)?;
    // Two sessions, so that the server reads the live catalog while it builds the shadow.
    let (first, second) = futures_util::future::join(connect(&config), connect(&config)).await;
    let ((live_client, _live), (shadow_client, _shadow)) = (first?, second?);
    // Where `migrate apply` puts the tables, whatever the login's search path (empty, a
    // schema that does not exist, a schema of the login's own name first).
    let path = search_path();
    let (live_path, shadow_path) = futures_util::future::join(
        live_client.batch_execute(&path),
        shadow_client.batch_execute(&path),
    )
    .await;
    live_path?;
    shadow_path?;
    let scope = Scope::of(code);
    let (live, normalized) = futures_util::future::join(
        read_model(&live_client, &scope),
        normalized_model(&shadow_client, &config, code, shadow),
    )
    .await;
    Ok((live?, normalized?))
}

/// The search path every session reading or building a model runs with: on
/// [`APPLICATION_SCHEMA`](crate::sql::APPLICATION_SCHEMA) alone, where `migrate apply` creates
/// the code's unqualified tables, whatever the login's own.
fn search_path() -> String {
    crate::sql::set_search_path(crate::sql::APPLICATION_SCHEMA)
}

static SHADOWS: AtomicU32 = AtomicU32::new(0);

/// A name no other shadow of this process, or of another, has.
fn shadow_name() -> String {
    format!(
        "schema_shadow_{}_{}_{}",
        std::process::id(),
        SHADOWS.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    )
}

/// `code` as the server stores it, all of it: its whole DDL applied in a shadow and read back,
/// with the code's renames carried over. What [`normalized_model`] gives with less work; this
/// one reads back every object the DDL creates.
///
/// `live_config` is how `live` was connected (from tokio-postgres's `Config` with
/// `ConnectConfig::from`): a [`Shadow::SameServer`] connects to its new database with it, TLS
/// included.
pub async fn shadow_model(
    live: &Client,
    live_config: &ConnectConfig,
    code: &SchemaModel,
    shadow: Shadow<'_>,
) -> Result<SchemaModel, EvolveError> {
    let read = apply_and_read(live, live_config, create_statements, code, shadow).await?;
    Ok(with_declarations(read, code))
}

/// `code` with every text the server rewrites as the server prints it: column types and
/// defaults, check expressions, policy predicates, and index predicates and expression keys.
/// Only what holds such text is created in the shadow (each table with its columns and checks,
/// without storage where it can be; the indexes that have a predicate or an expression key;
/// the policies' distinct predicates; and
/// the roles); keys,
/// foreign keys, indexes, privileges, comments, row-level security and the immutable guard are
/// kept as declared, the form the catalog gives back for them (the seed's schema, read back
/// whole with [`shadow_model`], shows no difference from this).
///
/// `live_config` is how `live` was connected, as for [`shadow_model`].
pub async fn normalized_model(
    live: &Client,
    live_config: &ConnectConfig,
    code: &SchemaModel,
    shadow: Shadow<'_>,
) -> Result<SchemaModel, EvolveError> {
    let read = apply_and_read(live, live_config, normalizing_statements, code, shadow).await?;
    let mut model = code.clone();
    for table in &mut model.tables {
        let Some(printed) = read.table(&table.name) else {
            continue;
        };
        let key: Vec<String> = table
            .primary_key
            .iter()
            .flat_map(|k| k.columns.clone())
            .collect();
        for column in &mut table.columns {
            if let Some(p) = printed.column(&column.name) {
                column.sql_type = p.sql_type.clone();
                column.default = p.default.clone();
                column.generated = p.generated.clone();
                // A primary key's columns are NOT NULL whatever the column says.
                column.nullable = p.nullable && !key.contains(&column.name);
            }
        }
        for check in &mut table.checks {
            if let Some(p) = printed.checks.iter().find(|c| c.name == check.name) {
                check.expression = p.expression.clone();
            }
        }
        // Each predicate as its carrier policy printed it.
        let written = distinct_predicates(table)
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        let mut printed_predicates = std::collections::HashMap::new();
        for (n, pair) in written.chunks(2).enumerate() {
            if let Some(p) = printed
                .policies
                .iter()
                .find(|p| p.name == carrier_policy(n))
            {
                printed_predicates.insert(pair[0].clone(), p.using.clone());
                printed_predicates.insert(pair[pair.len() - 1].clone(), p.with_check.clone());
            }
        }
        let print = |predicate: &mut Option<String>| {
            if let Some(Some(p)) = predicate.as_ref().and_then(|w| printed_predicates.get(w)) {
                *predicate = Some(p.clone());
            }
        };
        for policy in &mut table.policies {
            print(&mut policy.using);
            print(&mut policy.with_check);
            // The catalog lists a policy's roles in name order.
            policy.roles.sort();
        }
        for index in &mut table.indexes {
            if let Some(p) = printed.indexes.iter().find(|i| i.name == index.name) {
                index.predicate = p.predicate.clone();
                for (key, printed) in index.keys.iter_mut().zip(&p.keys) {
                    if key.expression {
                        key.column = printed.column.clone();
                    }
                }
            }
        }
    }
    Ok(model)
}

/// The name of the `n`th policy that carries a table's distinct predicates in the shadow.
fn carrier_policy(n: usize) -> String {
    format!("schema_shadow_predicates_{n}")
}

/// A table's distinct policy predicates, in the order first written.
fn distinct_predicates(table: &TableModel) -> Vec<&str> {
    let mut predicates: Vec<&str> = Vec::new();
    for policy in &table.policies {
        for predicate in [&policy.using, &policy.with_check].into_iter().flatten() {
            if !predicates.contains(&predicate.as_str()) {
                predicates.push(predicate);
            }
        }
    }
    predicates
}

/// The statements that create what holds text the server rewrites: the extensions, the roles,
/// the PostgreSQL schemas, the native enum types, each table with
/// its columns and checks only (partitioned, so without storage, where a column can be its
/// list key), the indexes that have a predicate or an expression key, and the policies'
/// distinct predicates, two to
/// a policy (as `USING` and `WITH CHECK`, printed alike).
pub fn normalizing_statements(code: &SchemaModel) -> Vec<Statement> {
    let mut statements: Vec<Statement> = code
        .extensions
        .iter()
        .map(|name| Statement::CreateExtension { name: name.clone() })
        .collect();
    statements.extend(
        code.roles
            .iter()
            .map(|role| Statement::CreateRole { role: role.clone() }),
    );
    statements.extend(code.namespaces.iter().map(|n| Statement::CreateNamespace {
        name: n.name.clone(),
    }));
    statements.extend(code.enums.iter().cloned().map(Statement::CreateEnum));
    for table in &code.tables {
        let mut bare = table.clone();
        bare.primary_key = None;
        bare.unique.clear();
        bare.foreign_keys.clear();
        // Identity columns (before PostgreSQL 17) and SQL-holding indexes need a table with
        // storage.
        let has_index_with_sql = table.indexes.iter().any(|i| i.has_sql_text())
            || table.columns.iter().any(|c| c.identity.is_some());
        let list_key = table
            .columns
            .iter()
            .find(|c| can_be_list_key(&c.sql_type) && c.generated.is_none())
            .map(|c| c.name.clone());
        statements.push(match list_key {
            Some(list_key) if !has_index_with_sql => Statement::CreatePartitionedTable {
                table: Box::new(bare),
                list_key,
            },
            _ => Statement::CreateTable(Box::new(bare)),
        });
        statements.extend(
            table
                .indexes
                .iter()
                .filter(|i| i.has_sql_text())
                .map(|index| Statement::CreateIndex {
                    table: table.name.clone(),
                    index: index.clone(),
                    concurrently: false,
                }),
        );
        let predicates = distinct_predicates(table);
        for (n, pair) in predicates.chunks(2).enumerate() {
            statements.push(Statement::CreatePolicy {
                table: table.name.clone(),
                policy: PolicyModel {
                    name: carrier_policy(n),
                    renamed_from: None,
                    command: PolicyCommand::All,
                    permissive: true,
                    roles: vec!["public".into()],
                    using: Some(pair[0].to_string()),
                    with_check: Some(pair[pair.len() - 1].to_string()),
                },
            });
        }
    }
    statements
}

/// Whether a column of this type can be a list partition key (it has a default btree operator
/// class): the common scalar types.
fn can_be_list_key(sql_type: &str) -> bool {
    let t = sql_type.trim().to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or_default().trim();
    matches!(
        base,
        "uuid"
            | "text"
            | "varchar"
            | "character varying"
            | "smallint"
            | "integer"
            | "int"
            | "bigint"
            | "boolean"
            | "date"
            | "timestamptz"
            | "timestamp"
            | "timestamp with time zone"
            | "timestamp without time zone"
            | "numeric"
    )
}

/// The scope that reads back what `code` declares.
fn scope_of(code: &SchemaModel) -> Scope {
    Scope {
        tables: code.tables.iter().map(|t| t.name.clone()).collect(),
        roles: code.roles.clone(),
        enums: code.enums.iter().map(|e| e.name.clone()).collect(),
        extensions: code.extensions.clone(),
        namespaces: code.namespaces.iter().map(|n| n.name.clone()).collect(),
    }
}

/// Applies the statements `make` gives for `code` in the shadow and reads back the tables and
/// roles of `code`.
async fn apply_and_read(
    live: &Client,
    live_config: &ConnectConfig,
    make: fn(&SchemaModel) -> Vec<Statement>,
    code: &SchemaModel,
    shadow: Shadow<'_>,
) -> Result<SchemaModel, EvolveError> {
    // The script that builds `code` and the scope that reads it back.
    let prepare = |code: &SchemaModel| (script(&make(code)), scope_of(code));
    Ok(match shadow {
        Shadow::Transaction => {
            // A schema of its own, first on the search path (so the DDL creates there and the
            // reader reads there), the database's own schemas after it (so its functions and
            // types resolve as they do for the tables checked); rolled back, so nothing stays.
            // The tables declared in other PostgreSQL schemas go to schemas of the shadow's
            // own too (`{shadow}_0`, ...), so that they meet none of the live tables.
            //
            // An expression that names one of the code's own tables or types qualified
            // (`public.owners` in a policy, with `public` the current schema; `ledger.accounts`)
            // is pointed at the shadow's, so that it neither reads the live table (nor fails
            // where there is none yet) and prints as the live one does: bare for the current
            // schema, which is first on both search paths, and with the declared schema's name
            // (as the server quotes it) for the others.
            let name = shadow_name();
            let declared: Vec<String> = code.namespaces.iter().map(|n| n.name.clone()).collect();
            let shadow_namespace = |schema: &str| {
                let n = declared.iter().position(|d| d == schema)?;
                Some(format!("{name}_{n}"))
            };
            let session = live
                .query_one(
                    "SELECT pg_catalog.current_setting('search_path'), pg_catalog.current_schema(), \
                            ARRAY(SELECT pg_catalog.quote_ident(n) FROM pg_catalog.unnest($1::text[]) n)",
                    &[&declared],
                )
                .await?;
            let (path, current, printed): (String, Option<String>, Vec<String>) =
                (session.get(0), session.get(1), session.get(2));
            let own = |schema: Option<&str>, bare: &str| {
                code.tables
                    .iter()
                    .map(|t| t.name.as_str())
                    .chain(code.enums.iter().map(|e| e.name.as_str()))
                    .any(|n| crate::sql::split_qualified(n) == (schema, bare))
            };
            let to_shadow = |schema: &str, bare: &str| {
                if current.as_deref() == Some(schema) && own(None, bare) {
                    Some(name.clone())
                } else if own(Some(schema), bare) {
                    shadow_namespace(schema)
                } else {
                    None
                }
            };
            let code = code
                .clone()
                .with_qualifiers_renamed(&to_shadow)
                .with_namespaces_renamed(&shadow_namespace);
            let (ddl, scope) = prepare(&code);
            live.batch_execute("BEGIN").await?;
            let result = async {
                live.batch_execute(&format!(
                    "CREATE SCHEMA {name}; SELECT pg_catalog.set_config('search_path', {path}, true)",
                    name = quote_ident(&name),
                    path = crate::sql::quote_literal(&format!("{}, {path}", quote_ident(&name))),
                ))
                .await
                .map_err(|error| shadow_denied(error, "CREATE on the database"))?;
                live.batch_execute(&ddl).await?;
                Ok::<_, EvolveError>(read_model(live, &scope).await?)
            }
            .await;
            live.batch_execute("ROLLBACK").await?;
            let declared_namespace = |schema: &str| {
                let n: usize = schema.strip_prefix(&format!("{name}_"))?.parse().ok()?;
                declared.get(n).cloned()
            };
            let printed_namespace = |schema: &str, _: &str| {
                let n: usize = schema.strip_prefix(&format!("{name}_"))?.parse().ok()?;
                printed.get(n).cloned()
            };
            // The expressions first, with each declared schema as the server quotes it; the
            // renaming of the schemas then finds only the columns' types, which the reader
            // writes quoted as the code does.
            result?
                .with_qualifiers_renamed(&printed_namespace)
                .with_namespaces_renamed(&declared_namespace)
        }
        Shadow::SameServer => {
            let (ddl, scope) = prepare(code);
            let name = shadow_name();
            live.batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
                .await
                .map_err(|error| shadow_denied(error, "CREATEDB"))?;
            let mut config = live_config.clone();
            config.pg_config_mut().dbname(&name);
            let result = async {
                let (client, connection) = connect(&config).await?;
                client.batch_execute(&search_path()).await?;
                client.batch_execute(&ddl).await?;
                let model = read_model(&client, &scope).await?;
                // The database drops at once once its last session has ended; otherwise the
                // server waits for it in steps of 100 ms.
                drop(client);
                let _ = connection.await;
                Ok::<_, EvolveError>(model)
            }
            .await;
            let dropped = live
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&name)
                ))
                .await;
            let model = result?;
            dropped?;
            model
        }
        Shadow::Url(url) => {
            let (ddl, scope) = prepare(code);
            let (client, _connection) = connect(&ConnectConfig::parse(url)?).await?;
            client.batch_execute(&search_path()).await?;
            let existing = read_model(&client, &Scope::default()).await?;
            if !existing.unmanaged_tables.is_empty() {
                return Err(EvolveError::ShadowNotEmpty(existing.unmanaged_tables));
            }
            client.batch_execute("BEGIN").await?;
            let result = async {
                client.batch_execute(&ddl).await?;
                Ok::<_, EvolveError>(read_model(&client, &scope).await?)
            }
            .await;
            // Nothing stays behind in the caller's database (roles are the server's, and the
            // code needs them anyway).
            client.batch_execute("ROLLBACK").await?;
            result?
        }
    })
}

/// `read` with the renames `code` declares: on tables, columns, indexes, checks and policies,
/// and the renamed values of enum columns.
pub fn with_declarations(mut read: SchemaModel, code: &SchemaModel) -> SchemaModel {
    for e in &mut read.enums {
        if let Some(declared) = code.enum_type(&e.name) {
            e.renamed_values = declared.renamed_values.clone();
        }
    }
    for table in &mut read.tables {
        let Some(declared) = code.table(&table.name) else {
            continue;
        };
        table.renamed_from = declared.renamed_from.clone();
        for column in &mut table.columns {
            if let Some(c) = declared.column(&column.name) {
                column.renamed_from = c.renamed_from.clone();
                column.renamed_values = c.renamed_values.clone();
            }
        }
        for index in &mut table.indexes {
            if let Some(i) = declared.indexes.iter().find(|i| i.name == index.name) {
                index.renamed_from = i.renamed_from.clone();
            }
        }
        for check in &mut table.checks {
            if let Some(c) = declared.checks.iter().find(|c| c.name == check.name) {
                check.renamed_from = c.renamed_from.clone();
            }
        }
        for policy in &mut table.policies {
            if let Some(p) = declared.policies.iter().find(|p| p.name == policy.name) {
                policy.renamed_from = p.renamed_from.clone();
            }
        }
    }
    read
}

/// The differences between the database at `url` and `schema`, as readable lines (object, what
/// the code says, what the database has); empty when there are none. Tables of the database
/// the schema does not declare are listed last, as unmanaged.
///
/// The code's side is normalized in a shadow database (see [`Shadow`]).
pub async fn drift(
    url: &str,
    schema: &Schema,
    shadow: Shadow<'_>,
) -> Result<Vec<String>, EvolveError> {
    let code = schema.model()?;
    let (live, normalized) = read_live(url, schema, &code, shadow).await?;
    let diff = diff(&live, &normalized);
    Ok(drift_lines(&diff))
}

/// A diff's changes as drift lines, then its unmanaged tables.
pub fn drift_lines(diff: &SchemaDiff) -> Vec<String> {
    diff.changes
        .iter()
        .map(ToString::to_string)
        .chain(
            diff.unmanaged_tables
                .iter()
                .map(|t| format!("table `{t}`: not declared by the schema (left alone)")),
        )
        .chain(diff.unmanaged.iter().map(|note| {
            format!("{note} in the database, which the schema does not manage (left alone)")
        }))
        .collect()
}

/// The plan that brings the database at `url` to `schema`.
pub async fn plan_for(url: &str, schema: &Schema, shadow: Shadow<'_>) -> Result<Plan, EvolveError> {
    let code = schema.model()?;
    let (live, normalized) = read_live(url, schema, &code, shadow).await?;
    #[cfg(feature = "encrypt")]
    refuse_strict_envelopes_over_plaintext(url, schema).await?;
    let mut plan = plan_diff(&diff(&live, &normalized), &code);
    let (client, _connection) = connect(&ConnectConfig::parse(url)?).await?;
    client.batch_execute(&search_path()).await?;
    plan.blocked.extend(dependents(&client, &plan).await?);
    let managed: Vec<String> = [&live, &code]
        .iter()
        .flat_map(|m| m.tables.iter())
        .filter_map(|t| t.immutable.as_ref().map(|g| g.name.clone()))
        .collect();
    untracked_dependents(&client, &mut plan, &managed).await?;
    Ok(plan)
}

/// What the schema does not manage but depends on a table or column the plan drops or changes
/// the type of, in the database `client` is connected to: views and materialized views (their
/// rewrite rules, `pg_depend`), each named `view schema.name`. PostgreSQL refuses such a step
/// (without `CASCADE`, which would drop them silently); [`apply`] refuses the plan before its
/// first step instead.
pub async fn dependents<C: tokio_postgres::GenericClient>(
    client: &C,
    plan: &Plan,
) -> Result<Vec<Blocked>, PgError> {
    let mut blocked: Vec<Blocked> = Vec::new();
    for step in &plan.steps {
        if let Statement::DropIndex {
            schema,
            name,
            cascade,
            ..
        } = &step.statement
        {
            // Keys of partitions built on the indexes attached to it (a partition's primary key
            // on its part of its parent's index): PostgreSQL drops it only with them, which the
            // plan does for the keys it drops (`cascade`) and nothing else may lose. Nor may a
            // foreign key referencing such a key.
            let (tables, keys): (Vec<String>, Vec<String>) = cascade
                .iter()
                .map(|(table, key)| (crate::sql::quote_qualified(table), key.clone()))
                .unzip();
            let rows = client
                .query(
                    "WITH taken AS ( \
                         SELECT c.conname, c.conrelid, c.conindid \
                         FROM pg_catalog.pg_inherits h \
                         JOIN pg_catalog.pg_constraint c \
                              ON c.conindid = h.inhrelid AND c.contype IN ('p', 'u') \
                         WHERE h.inhparent = pg_catalog.to_regclass($1)) \
                     SELECT 'constraint ' || t.conname::text || ' of ' \
                            || t.conrelid::regclass::text \
                     FROM taken t \
                     WHERE NOT EXISTS ( \
                         SELECT FROM unnest($2::text[], $3::text[]) AS x(t, n) \
                         WHERE pg_catalog.to_regclass(x.t) = t.conrelid AND x.n = t.conname) \
                     UNION \
                     SELECT 'foreign key ' || f.conname::text || ' of ' \
                            || f.conrelid::regclass::text \
                     FROM pg_catalog.pg_constraint f \
                     JOIN taken t ON f.contype = 'f' AND f.conindid = t.conindid \
                     ORDER BY 1",
                    &[
                        &crate::sql::quote_in_schema(schema.as_deref(), name),
                        &tables,
                        &keys,
                    ],
                )
                .await?;
            let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            if !found.is_empty() {
                blocked.push(Blocked::Dependents {
                    object: format!("index {}", crate::sql::qualify(schema.as_deref(), name)),
                    dependents: found,
                });
            }
            continue;
        }
        let (table, column) = match &step.statement {
            Statement::DropTable { table } => (table, None),
            Statement::DropColumn { table, column }
            | Statement::AlterColumnType { table, column, .. }
            | Statement::AlterColumnTypeUsing { table, column, .. } => (table, Some(column)),
            _ => continue,
        };
        let rows = client
            .query(
                "WITH d AS ( \
                     SELECT d.classid, d.objid FROM pg_catalog.pg_depend d \
                     WHERE d.refclassid = 'pg_catalog.pg_class'::regclass \
                       AND d.refobjid = pg_catalog.to_regclass($1) \
                       AND ($2::text IS NULL OR d.refobjsubid = (SELECT a.attnum \
                            FROM pg_catalog.pg_attribute a \
                            WHERE a.attrelid = d.refobjid AND a.attname = $2))) \
                 SELECT CASE v.relkind WHEN 'm' THEN 'materialized view ' \
                             ELSE 'view ' END || v.oid::regclass::text \
                 FROM d \
                 JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid \
                 JOIN pg_catalog.pg_class v ON v.oid = w.ev_class \
                 WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass \
                   AND v.oid <> pg_catalog.to_regclass($1) \
                 UNION \
                 SELECT 'function ' || d.objid::regprocedure::text \
                 FROM d WHERE d.classid = 'pg_catalog.pg_proc'::regclass \
                 ORDER BY 1",
                &[&crate::sql::quote_qualified(table), &column],
            )
            .await?;
        let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        if found.is_empty() {
            continue;
        }
        let object = match column {
            Some(column) => format!("{table}.{column}"),
            None => table.clone(),
        };
        if !blocked
            .iter()
            .any(|b| matches!(b, Blocked::Dependents { object: o, .. } if *o == object))
        {
            blocked.push(Blocked::Dependents {
                object,
                dependents: found,
            });
        }
    }
    Ok(blocked)
}

/// Functions whose bodies PostgreSQL keeps as text (PL/pgSQL, or SQL not written
/// `BEGIN ATOMIC`) and that name, as a word, a table or column a step of `plan` drops, renames,
/// moves or retypes: PostgreSQL does not track what such a body uses, so the step runs and the
/// function fails when next called. Each such step gets [`Hazard::UntrackedDependencies`] and
/// the plan a note naming the functions. Functions of extensions, of the system, and those
/// named in `managed` (the plan's own, such as a table's immutable guard) are left out.
///
/// [`Hazard::UntrackedDependencies`]: crate::plan::Hazard::UntrackedDependencies
pub async fn untracked_dependents<C: tokio_postgres::GenericClient>(
    client: &C,
    plan: &mut Plan,
    managed: &[String],
) -> Result<(), PgError> {
    for i in 0..plan.steps.len() {
        let (object, name) = match &plan.steps[i].statement {
            Statement::DropTable { table }
            | Statement::RenameTable { from: table, .. }
            | Statement::SetSchema { table, .. } => (
                table.clone(),
                crate::sql::split_qualified(table).1.to_string(),
            ),
            Statement::DropColumn { table, column }
            | Statement::RenameColumn {
                table,
                from: column,
                ..
            }
            | Statement::AlterColumnType { table, column, .. }
            | Statement::AlterColumnTypeUsing { table, column, .. } => {
                (format!("{table}.{column}"), column.clone())
            }
            _ => continue,
        };
        let escaped: String = name
            .chars()
            .flat_map(|c| {
                let special = !(c.is_alphanumeric() || c == '_');
                special.then_some('\\').into_iter().chain([c])
            })
            .collect();
        let rows = client
            .query(
                "SELECT p.oid::regprocedure::text \
                 FROM pg_catalog.pg_proc p \
                 JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                 JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
                 WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
                   AND l.lanname NOT IN ('internal', 'c') AND p.prosrc <> '' \
                   AND p.prosrc ~* $1 \
                   AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e \
                       WHERE e.classid = 'pg_catalog.pg_proc'::regclass \
                         AND e.objid = p.oid AND e.deptype = 'e') \
                   AND NOT p.oid::regproc::text = ANY($2) \
                 ORDER BY 1",
                &[&format!("\\m{escaped}\\M"), &managed],
            )
            .await?;
        let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        if found.is_empty() {
            continue;
        }
        let step = &mut plan.steps[i];
        if !step
            .hazards
            .contains(&crate::plan::Hazard::UntrackedDependencies)
        {
            step.hazards
                .push(crate::plan::Hazard::UntrackedDependencies);
        }
        plan.suggestions.push(format!(
            "{} may name {object} in its body, which PostgreSQL does not track: \
             it fails when next called, not when this step runs; change it with the plan",
            found.join(", ")
        ));
    }
    Ok(())
}

/// [`read_both`], and on Citus the live checks Citus rewrote written as the code's
/// ([`align_checks`](crate::target::citus::align_checks)).
async fn read_live(
    url: &str,
    schema: &Schema,
    code: &SchemaModel,
    shadow: Shadow<'_>,
) -> Result<(SchemaModel, SchemaModel), EvolveError> {
    let (mut live, normalized) = read_both(url, code, shadow).await?;
    if schema.target() == crate::Target::Citus {
        crate::target::citus::align_checks(&mut live, &normalized);
    }
    Ok((live, normalized))
}

/// An encrypted column of the code in its strict state whose live column is `bytea` without
/// its envelope `CHECK` yet: refused while any of its rows holds plaintext, with the count.
#[cfg(feature = "encrypt")]
async fn refuse_strict_envelopes_over_plaintext(
    url: &str,
    schema: &Schema,
) -> Result<(), EvolveError> {
    let strict: Vec<_> = schema
        .tables()
        .iter()
        .flat_map(|t| t.columns.iter().map(move |c| (*t, c)))
        .filter(|(_, c)| c.holds_envelope() && !c.encryption.is_some_and(|e| e.accepts_plaintext))
        .collect();
    if strict.is_empty() {
        return Ok(());
    }
    let (client, _connection) = crate::pg::connect(url)
        .await
        .map_err(|e| EvolveError::Pg(Box::new(e)))?;
    for (table, column) in strict {
        let constraint = crate::sql::constraint_name(table.name, [column.name], "envelope");
        let pending: bool = client
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute a \
                 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped \
                 AND a.atttypid = 'bytea'::regtype) \
                 AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint \
                 WHERE conrelid = to_regclass($1) AND conname = $3)",
                &[&table.quoted_name(), &column.name, &constraint.as_ref()],
            )
            .await
            .map_err(|e| EvolveError::Pg(Box::new(e.into())))?
            .get(0);
        if !pending {
            continue;
        }
        let rows = crate::crypto::rotate::count_plaintext(&client, table, column.name)
            .await
            .map_err(|e| EvolveError::Pg(Box::new(e)))?;
        if rows > 0 {
            return Err(EvolveError::PlaintextRemains {
                table: table.qualified_name().into_owned(),
                column: column.name,
                rows,
            });
        }
    }
    Ok(())
}

/// Applies `plan` through `client`, after refusing it if it holds a destructive step whose
/// object `allow` does not name, a change it cannot make ([`Plan::blocked`]), or a step that
/// drops or retypes what a view depends on ([`dependents`]): then nothing runs. Each run of transactional steps is one
/// transaction, every step with its own `SET LOCAL lock_timeout` and `statement_timeout`; a
/// `CONCURRENTLY` step runs on its own, under its own timeouts, the removal of an index an
/// earlier build left invalid included; an index it leaves invalid is dropped again, unless it
/// gave up waiting for another session (then the next apply drops it).
pub async fn apply(client: &mut Client, plan: &Plan, allow: &[&str]) -> Result<(), EvolveError> {
    plan.check_allowed(allow).map_err(EvolveError::Refused)?;
    let blocked = dependents(&*client, plan).await?;
    if !blocked.is_empty() {
        return Err(EvolveError::Refused(Refused {
            steps: Vec::new(),
            blocked,
        }));
    }
    let mut index = 0;
    while index < plan.steps.len() {
        let step = &plan.steps[index];
        if !step.transactional {
            let settings = step.settings(false);
            // Collected, so that no closure is held across the awaits: the future stays `Send`.
            let statements: Vec<OutsideStatement<'_>> = settings
                .iter()
                .map(|s| (s.as_str(), None))
                .chain([(step.sql.as_str(), step.statement.concurrently_built_index())])
                .collect();
            let result = run_outside_transaction(client, statements, false).await;
            let reset = client
                .batch_execute("RESET lock_timeout; RESET statement_timeout")
                .await;
            result.map_err(|error| EvolveError::Step {
                index,
                sql: step.sql.clone(),
                error: Box::new(error.into()),
            })?;
            reset?;
            index += 1;
            continue;
        }
        let transaction = client.transaction().await?;
        let first = index;
        while index < plan.steps.len()
            && plan.steps[index].transactional
            && (index == first || !plan.steps[index].isolated)
            && !(index > first && plan.steps[index - 1].isolated)
        {
            let step = &plan.steps[index];
            // An invalid index of the table under the name the step builds (one left unattached
            // on a partitioned table, or by a failed build) is not there for queries: it goes.
            if let Some((table, name)) = step.statement.plainly_built_index() {
                let invalid = transaction
                    .query_opt(
                        "SELECT FROM pg_catalog.pg_index x \
                         JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid \
                         WHERE c.relname = $1 AND NOT x.indisvalid \
                           AND x.indrelid = pg_catalog.to_regclass($2)",
                        &[&name, &crate::sql::quote_qualified(table)],
                    )
                    .await?;
                if invalid.is_some() {
                    transaction
                        .batch_execute(&format!(
                            "DROP INDEX {}",
                            crate::sql::quote_in_schema(crate::sql::split_qualified(table).0, name)
                        ))
                        .await?;
                }
            }
            let mut sql = step.settings(true).join(";\n");
            sql.push_str(";\n");
            sql.push_str(&step.sql);
            if let Err(error) = transaction.batch_execute(&sql).await {
                return Err(EvolveError::Step {
                    index,
                    sql: step.sql.clone(),
                    error: Box::new(error.into()),
                });
            }
            index += 1;
        }
        transaction.commit().await?;
    }
    Ok(())
}

/// A statement run outside a transaction, with the index it builds concurrently if it does
/// (its PostgreSQL schema and name), whose invalid leftover is dropped first.
pub(crate) type OutsideStatement<'a> = (&'a str, Option<(Option<&'a str>, &'a str)>);

/// Runs the statements of a step that cannot run in a transaction, one per query (several in
/// one simple query form an implicit transaction block, which `CONCURRENTLY` refuses), each
/// with the index it builds `CONCURRENTLY` (its PostgreSQL schema, `None` for the current one,
/// and its name), if any.
///
/// Such an index that a failed build left invalid is dropped just before its build, so that the
/// build (`IF NOT EXISTS`) runs again instead of keeping it; the step's `SET` statements come
/// first, so the drop waits no longer than the build may. When the build fails, the invalid
/// index it leaves is dropped again, unless the build gave up waiting ([`gave_up_waiting`]):
/// the drop would then wait on the same sessions, with nothing to bound it but the same
/// timeouts, and the next run drops it before building.
///
/// With `build_again` (on Citus), a build that fails without giving up waiting is dropped
/// (`DROP INDEX CONCURRENTLY IF EXISTS`, which reaches the shards) and run once more: Citus
/// builds the coordinator's index, then each shard's, and a shard that fails leaves the
/// index invalid ("CONCURRENTLY-enabled index commands can fail partially, leaving behind an
/// INVALID index"), for which its hint is that drop, then the same command again. There the
/// build is sent without `IF NOT EXISTS`: Citus passes it on to each shard, where it would keep
/// whatever an earlier failed build left under the shard index's name.
pub(crate) async fn run_outside_transaction<'a>(
    client: &Client,
    statements: impl IntoIterator<Item = OutsideStatement<'a>>,
    build_again: bool,
) -> Result<(), tokio_postgres::Error> {
    for (sql, built) in statements {
        if let Some((schema, name)) = built {
            drop_invalid_index(client, schema, name).await?;
        }
        let sql: std::borrow::Cow<'_, str> = if build_again && built.is_some() {
            sql.replacen(
                "INDEX CONCURRENTLY IF NOT EXISTS ",
                "INDEX CONCURRENTLY ",
                1,
            )
            .into()
        } else {
            sql.into()
        };
        let sql = sql.as_ref();
        let Err(error) = client.batch_execute(sql).await else {
            continue;
        };
        let Some((schema, name)) = built.filter(|_| !gave_up_waiting(&error)) else {
            return Err(error);
        };
        if !build_again {
            let _ = drop_invalid_index(client, schema, name).await;
            return Err(error);
        }
        client
            .batch_execute(&format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}",
                crate::sql::quote_in_schema(schema, name)
            ))
            .await?;
        if let Err(again) = client.batch_execute(sql).await {
            if !gave_up_waiting(&again) {
                let _ = drop_invalid_index(client, schema, name).await;
            }
            return Err(again);
        }
    }
    Ok(())
}

/// Whether a statement was cancelled while it waited or ran: by its `lock_timeout`, its
/// `statement_timeout`, or a cancel request.
pub(crate) fn gave_up_waiting(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(
        error.code(),
        Some(&SqlState::LOCK_NOT_AVAILABLE) | Some(&SqlState::QUERY_CANCELED)
    )
}

/// Drops the index `name` of `schema` (`None`: the current schema) if a failed
/// `CONCURRENTLY` build left it invalid, so that the build can run again (a valid one is left
/// alone). Under the session's `lock_timeout`: `DROP INDEX CONCURRENTLY` waits for every
/// transaction that uses the table.
pub(crate) async fn drop_invalid_index(
    client: &Client,
    schema: Option<&str>,
    name: &str,
) -> Result<(), tokio_postgres::Error> {
    let invalid = client
        .query_opt(
            "SELECT FROM pg_catalog.pg_index x \
             JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid \
             WHERE c.relname = $1 AND NOT x.indisvalid \
               AND c.relnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n \
                   WHERE n.nspname = COALESCE($2::text, pg_catalog.current_schema()))",
            &[&name, &schema],
        )
        .await?;
    if invalid.is_some() {
        client
            .batch_execute(&format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}",
                crate::sql::quote_in_schema(schema, name)
            ))
            .await?;
    }
    Ok(())
}
