//! Typed writes and reads over sqlx (feature `sqlx`), for teams that use sqlx rather than
//! tokio-postgres.
//!
//! With the feature, `#[derive(PgTable)]` and `#[derive(PgEnum)]` also generate:
//!
//! - `sqlx::FromRow` for every `SelectX`: each column found by name (a column the result lacks
//!   is sqlx's `Error::ColumnNotFound`) and decoded as its field's Rust type (a value that does
//!   not fit is sqlx's `Error::ColumnDecode`, whose source is a [`DecodeError`] naming the
//!   table, the column, the row's key and both types); nothing panics: a `json`/`jsonb`
//!   number that `serde_json::Value` would round is refused as on the tokio-postgres side
//!   ([`DecodeProblem::InexactNumber`]), and so is a timestamp or date that sqlx's chrono
//!   decoders would panic on (`infinity`; see [`decode`]);
//! - `sqlx::Type`, `Encode` and `Decode` for text enums: bound as `text` and read from
//!   `text`, `varchar`, `bpchar` (and the other types sqlx reads as `&str`); an unknown text is
//!   a decode error naming the text and the expected values ([`UnknownValue`]); and
//!   `PgHasArrayType`, so that a `Vec` of the enum binds as `text[]` (or an array of the
//!   native enum type) and reads from one;
//! - [`InsertRow`] for every `InsertX`, which [`insert`] and [`insert_many`] bind.
//!
//! The statements are those of the tokio-postgres side (`schema_core::pg`, feature
//! `postgres`), built by the same code from the table's metadata: rows are validated before
//! anything is sent, every value is a bound parameter, a column left `None` takes its default,
//! and a NULL for a nullable column without a default leaves the column out of a single-row
//! insert when a grant may narrow the role's inserts (`grant(insert(...))`). sqlx prepares each
//! statement once per connection and reuses it (its statement cache, keyed by the SQL text).
//!
//! Typed queries ([`crate::query`]) run here as on the tokio-postgres side, with the same
//! statements and parameters: [`fetch_all`], [`fetch_stream`], [`fetch_optional`], [`count`],
//! [`exists`], [`fetch_columns`], and the writes by filter [`update_where`] and
//! [`delete_where`]; a row is updated by its key with [`update`] (the derive implements
//! [`KeyedTable`] for every table with a primary key).
//!
//! A table with encrypted columns (feature `encrypt`) is written with the keys given:
//! `insert_encrypted`, `insert_many_encrypted`, `update_encrypted` and
//! `update_where_encrypted` (each row's values sealed for that row), and read inside
//! `crypto::opening`.
//!
//! ```no_run
//! # use schema_core::{PgEnum, PgTable};
//! # #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
//! # #[pg(rename_all = "SCREAMING_SNAKE_CASE")]
//! # pub enum TicketPriority { Low, Medium, High, Urgent }
//! # #[derive(PgTable)]
//! # #[pg(table = "support_tickets")]
//! # pub struct SupportTicket {
//! #     #[pg(primary_key, default_sql = "gen_random_uuid()")]
//! #     pub ticket_id: uuid::Uuid,
//! #     pub provider_id: uuid::Uuid,
//! #     #[pg(varchar = 200)]
//! #     pub subject: String,
//! #     pub description: String,
//! #     #[pg(varchar = 10, default = TicketPriority::Medium)]
//! #     pub priority: TicketPriority,
//! #     #[pg(range = 1..=5)]
//! #     pub satisfaction_rating: Option<i32>,
//! # }
//! # async fn example(
//! #     provider_id: uuid::Uuid,
//! #     tickets: Vec<InsertSupportTicket>,
//! # ) -> Result<(), schema_core::sqlx::SqlxError> {
//! use schema_core::sqlx::{insert, insert_many, scoped_transaction, RequestScope};
//!
//! // A login granted `physician`, neither a superuser nor BYPASSRLS (see `scoped_transaction`).
//! let pool = sqlx::PgPool::connect("postgres://app@127.0.0.1/app").await?;
//! // One physician's request: as the physician role, the setting local to the transaction.
//! let provider = provider_id.to_string();
//! let scope = RequestScope { role: "physician", setting: "app.provider_id", value: &provider };
//! let mut tx = scoped_transaction(&pool, scope).await?;
//! let new = InsertSupportTicket::new(provider_id, "Claim rejected".into(), "CO-16".into());
//! let ticket = insert(&mut *tx, &new).await?;              // validated, then INSERT ... RETURNING
//! assert_eq!(ticket.priority, TicketPriority::Medium);     // the database's default
//! insert_many(&mut tx, &tickets).await?;                   // multi-row INSERTs, in a savepoint
//! let urgent: Vec<SelectSupportTicket> =
//!     sqlx::query_as("SELECT * FROM support_tickets WHERE priority = $1")
//!         .bind(TicketPriority::Urgent)                    // a text enum binds as its text
//!         .fetch_all(&mut *tx)
//!         .await?;
//! tx.commit().await?;
//! # Ok(())
//! # }
//! ```
//!
//! A custom field type (one implementing [`PgType`] yourself) needs sqlx's
//! `Type<Postgres>`, `Encode` and `Decode` too under this feature, as it needs tokio-postgres's
//! `ToSql` and `FromSql` under `postgres`.

use std::error::Error;
use std::fmt;

mod queries;
mod tenant;

pub use tenant::{tenant_transaction, TenantTransaction};

#[cfg(feature = "encrypt")]
pub use queries::update_where_encrypted;
pub use queries::{
    count, delete_where, exists, fetch_all, fetch_columns, fetch_optional, fetch_stream,
    update_where, FromColumns,
};

use ::sqlx::encode::IsNull;
use ::sqlx::error::BoxDynError;
use ::sqlx::postgres::types::Oid;
use ::sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgDatabaseError, PgHasArrayType, PgRow, PgTypeInfo,
    PgValueFormat, PgValueRef,
};
use ::sqlx::{
    Acquire, Arguments, Decode, Encode, Executor, FromRow, PgPool, Postgres, Row, Transaction,
    Type, TypeInfo, ValueRef,
};

pub use crate::driver::{
    ConstraintKind, ConstraintViolation, DecodeError, DecodeProblem, RequestScope, ScopeProblem,
    ServerError, SettingProblem, UnknownValue,
};

use crate::driver::statements::{self, ColumnSet};
use crate::driver::{
    chunks, inexact_number, inserts_narrowed, set_scope, InvalidScope, RoleStanding, ServerFields,
};
use crate::{PgEnum, PgType, Table, TableDef, Validate, ValidationError};

/// A value bound as a statement parameter: any `sqlx::Type<Postgres>` + `Encode` type.
pub type Param<'a> = &'a dyn BindValue;

/// A value sqlx can bind as a PostgreSQL parameter; implemented for every type that is
/// `sqlx::Type<Postgres>` and `sqlx::Encode<'_, Postgres>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be bound as a parameter by sqlx",
    label = "this field's type has no sqlx `Type<Postgres>` / `Encode`",
    note = "with schema-core's `sqlx` feature, every field's type needs sqlx's `Type<Postgres>`, `Encode` and `Decode`"
)]
pub trait BindValue: Sync {
    /// Adds the value to `arguments`, as the next parameter.
    fn bind_to(&self, arguments: &mut PgArguments) -> Result<(), BoxDynError>;
}

impl<T> BindValue for T
where
    T: for<'q> Encode<'q, Postgres> + Type<Postgres> + Sync,
{
    fn bind_to(&self, arguments: &mut PgArguments) -> Result<(), BoxDynError> {
        arguments.add(self)
    }
}

/// A row to insert through sqlx: the generated `InsertX`.
///
/// The derive implements it, rather than schema-core binding values through the metadata:
/// only the row knows each field's Rust type, which sqlx needs to encode the value and to name
/// its SQL type (a NULL included). Everything else (which columns, the SQL, batches) is done
/// here from the metadata.
pub trait InsertRow: Validate + Sync {
    /// The table the row goes into.
    type Table: Table;

    /// The value of every column, in column order; `None` where the database's default
    /// applies. A nullable column without a default gives its NULL (`Some`) when `bind_nulls`,
    /// so that rows with NULLs in different places share one statement, and `None` (left out,
    /// which a role allowed to insert only some columns needs) otherwise.
    fn push_values<'a>(&'a self, bind_nulls: bool, out: &mut Vec<Option<Param<'a>>>);

    /// Seals the row into `sealer`: starts a row there, then appends the sealed value of every
    /// encrypted column, in column order, then every blind index (none for a table without
    /// encrypted columns).
    #[cfg(feature = "encrypt")]
    fn seal_into(
        &self,
        sealer: &mut crate::crypto::Sealer<'_>,
    ) -> Result<(), crate::crypto::CryptoError> {
        sealer.next_row();
        Ok(())
    }

    /// The sealed value of every encrypted column, in column order, then of every blind index
    /// (`None`: NULL); empty for a table without any: the row alone through
    /// [`seal_into`](Self::seal_into).
    #[cfg(feature = "encrypt")]
    fn seal(
        &self,
        keys: &crate::crypto::Keys,
    ) -> Result<Vec<Option<Vec<u8>>>, crate::crypto::CryptoError> {
        crate::crypto::Sealer::seal_one(keys, |sealer| self.seal_into(sealer))
    }
}

/// A table with a primary key, for the updates by key ([`update`], `update_encrypted`): the
/// derive implements it for every table that has one.
pub trait KeyedTable: Table {
    /// The key: the key column's type, or a tuple for a key of several columns.
    type Key: Sync;

    /// The key's values, in key column order.
    fn push_key<'a>(key: &'a Self::Key, out: &mut Vec<Param<'a>>);

    /// The bytes the row's ciphertexts are bound to: its tenant's, then its key's (feature
    /// `encrypt`; empty for a table without encrypted columns).
    #[cfg(feature = "encrypt")]
    fn key_binding(_key: &Self::Key) -> (Vec<u8>, Vec<u8>) {
        (Vec::new(), Vec::new())
    }

    /// The key of a row that holds the key columns (found by name), each read as its field's
    /// type, as [`decode`] reads it.
    fn decode_key(row: &PgRow) -> Result<Self::Key, ::sqlx::Error>;
}

/// A write through sqlx that did not happen; nothing panics.
#[derive(Debug)]
#[non_exhaustive]
pub enum SqlxError {
    /// The row breaks its table's rules; nothing was sent.
    Validation(ValidationError),
    /// A row of a batch breaks its table's rules; nothing of the batch was written.
    InvalidRow {
        /// The row's position in the batch.
        index: usize,
        /// What it breaks.
        error: ValidationError,
    },
    /// A value could not be encoded as a parameter; nothing of the statement was sent.
    Encode {
        /// The table.
        table: &'static str,
        /// The column whose value it is.
        column: &'static str,
        /// sqlx's (or the type's) reason.
        source: BoxDynError,
    },
    /// A parameter of a typed query could not be encoded; nothing was sent.
    EncodeParameter {
        /// The table the query reads or writes.
        table: &'static str,
        /// The parameter's number (`$n`).
        parameter: usize,
        /// sqlx's (or the type's) reason.
        source: BoxDynError,
    },
    /// A typed query that cannot run as built (an update or delete without a filter, a page
    /// that cannot continue after a row); nothing was sent.
    Query(crate::query::QueryError),
    /// The database refused the row by one of its constraints.
    Constraint(Box<ConstraintViolation>),
    /// The setting of a [`scoped_transaction`] cannot be set as given; nothing was sent.
    InvalidSetting {
        /// The setting's name, as given.
        setting: String,
        /// What is wrong with it.
        problem: SettingProblem,
    },
    /// The server refused the statement (or the connection) for another reason: its report,
    /// without the values of any row ([`ServerError`]).
    Database(Box<ServerError>),
    /// A [`scoped_transaction`] cannot act as its role: the login or the role bypasses
    /// row-level security, the role does not exist, or the login may not act as it. Nothing
    /// ran in the transaction, which is rolled back.
    InvalidScope {
        /// The scope's role, as given.
        role: String,
        /// What is wrong.
        problem: ScopeProblem,
    },
    /// Any other failure reported by sqlx: the connection, or a value of the returned row that
    /// could not be decoded (`Error::ColumnDecode`, whose source is a [`DecodeError`]; see
    /// [`SqlxError::decode`]). Never `Error::Database`: the server's errors are
    /// [`SqlxError::Constraint`] or [`SqlxError::Database`].
    Sqlx(::sqlx::Error),
}

impl SqlxError {
    /// The constraint violation, when the database refused the row by one.
    pub fn constraint(&self) -> Option<&ConstraintViolation> {
        match self {
            SqlxError::Constraint(violation) => Some(violation),
            _ => None,
        }
    }

    /// The decoding error, when a value read back did not fit its field.
    pub fn decode(&self) -> Option<&DecodeError> {
        match self {
            SqlxError::Sqlx(error) => decode_error(error),
            _ => None,
        }
    }
}

/// The [`DecodeError`] of a `sqlx::Error::ColumnDecode` that the generated `FromRow` (or a text
/// enum's `Decode`, through it) returned; `None` for any other error.
pub fn decode_error(error: &::sqlx::Error) -> Option<&DecodeError> {
    match error {
        ::sqlx::Error::ColumnDecode { source, .. } => source.downcast_ref(),
        _ => None,
    }
}

impl From<::sqlx::Error> for SqlxError {
    /// Classifies the server's error: a broken rule of a row becomes
    /// [`SqlxError::Constraint`] (by SQLSTATE, as on the tokio-postgres side), any other error
    /// of the server [`SqlxError::Database`]; both keep a [`ServerError`], never sqlx's error,
    /// whose `Debug` prints the values the server quoted. Anything else stays
    /// [`SqlxError::Sqlx`].
    fn from(error: ::sqlx::Error) -> Self {
        let ::sqlx::Error::Database(db) = &error else {
            return SqlxError::Sqlx(error);
        };
        let server = match db.try_downcast_ref::<PgDatabaseError>() {
            Some(db) => ServerError::redacted(ServerFields {
                code: db.code(),
                // `Error`, `Fatal`, ...: as the server sends it.
                severity: &format!("{:?}", db.severity()).to_uppercase(),
                message: db.message(),
                detail: db.detail(),
                hint: db.hint(),
                schema: db.schema(),
                table: db.table(),
                column: db.column(),
                datatype: db.data_type(),
                constraint: db.constraint(),
            }),
            // sqlx's Postgres driver reports every server error as a `PgDatabaseError`; another
            // error keeps only its code and names, its message possibly quoting a value.
            None => ServerError::redacted(ServerFields {
                code: db.code().as_deref().unwrap_or(""),
                severity: "ERROR",
                message: "the server refused the statement",
                table: db.table(),
                constraint: db.constraint(),
                ..ServerFields::default()
            }),
        };
        match ConstraintViolation::classify(server) {
            Ok(violation) => SqlxError::Constraint(violation),
            Err(server) => SqlxError::Database(server),
        }
    }
}

impl From<crate::query::QueryError> for SqlxError {
    fn from(error: crate::query::QueryError) -> Self {
        SqlxError::Query(error)
    }
}

impl From<ValidationError> for SqlxError {
    fn from(error: ValidationError) -> Self {
        SqlxError::Validation(error)
    }
}

impl fmt::Display for SqlxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlxError::Validation(e) => e.fmt(f),
            SqlxError::InvalidRow { index, error } => {
                write!(f, "row {index} of the batch: {error}")
            }
            SqlxError::Encode {
                table,
                column,
                source,
            } => write!(
                f,
                "the value of column `{table}.{column}` cannot be bound: {source}"
            ),
            SqlxError::EncodeParameter {
                table,
                parameter,
                source,
            } => write!(
                f,
                "parameter ${parameter} of a query of `{table}` cannot be bound: {source}"
            ),
            SqlxError::Query(e) => e.fmt(f),
            SqlxError::Constraint(v) => v.fmt(f),
            SqlxError::InvalidSetting { setting, problem } => {
                f.write_str(&problem.describe(setting))
            }
            SqlxError::InvalidScope { role, problem } => f.write_str(&problem.describe(role)),
            SqlxError::Database(e) => e.fmt(f),
            SqlxError::Sqlx(e) => e.fmt(f),
        }
    }
}

impl Error for SqlxError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SqlxError::Validation(e) | SqlxError::InvalidRow { error: e, .. } => Some(e),
            SqlxError::Encode { source, .. } | SqlxError::EncodeParameter { source, .. } => {
                Some(source.as_ref())
            }
            SqlxError::Query(e) => Some(e),
            SqlxError::Constraint(v) => Some(&v.source),
            SqlxError::Database(e) => Some(e),
            SqlxError::Sqlx(e) => Some(e),
            SqlxError::InvalidSetting { .. } | SqlxError::InvalidScope { .. } => None,
        }
    }
}

/// Binds `values` (one per column of `table`, `None` where the column is left out) as the next
/// parameters.
fn bind_values(
    table: &'static TableDef,
    values: &[Option<Param<'_>>],
    arguments: &mut PgArguments,
) -> Result<(), SqlxError> {
    for (column, value) in values.iter().enumerate() {
        if let Some(value) = value {
            value
                .bind_to(arguments)
                .map_err(|source| SqlxError::Encode {
                    table: table.name,
                    column: table.columns[column].name,
                    source,
                })?;
        }
    }
    Ok(())
}

/// Inserts one row and returns it as the database stored it (defaults filled in), as
/// `SelectX`.
///
/// The row is validated first ([`SqlxError::Validation`], nothing sent); then one
/// `INSERT ... RETURNING` naming the columns the row sets runs on `executor`: a `&PgPool`, a
/// `&mut PgConnection`, or a transaction as `&mut *tx` (a [`scoped_transaction`] for a
/// physician's own rows). A rule the database enforces beyond validation comes back as
/// [`SqlxError::Constraint`].
pub async fn insert<'e, E, I>(
    executor: E,
    row: &I,
) -> Result<<I::Table as Table>::Select, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    I: InsertRow,
    <I::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    insert_keyed(executor, row, None).await
}

/// [`insert`] of a row with encrypted columns (feature `encrypt`): each is sealed with `keys`,
/// bound to the row's table, column, tenant and key, and the row read back is opened with them.
#[cfg(feature = "encrypt")]
pub async fn insert_encrypted<'e, E, I>(
    executor: E,
    row: &I,
    keys: &std::sync::Arc<crate::crypto::Keys>,
) -> Result<<I::Table as Table>::Select, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    I: InsertRow,
    <I::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    insert_keyed(executor, row, Some(keys)).await
}

/// [`insert_many`] of rows with encrypted columns (feature `encrypt`), each sealed with `keys`.
#[cfg(feature = "encrypt")]
pub async fn insert_many_encrypted<'c, A, I>(
    connection: A,
    rows: &[I],
    keys: &std::sync::Arc<crate::crypto::Keys>,
) -> Result<u64, SqlxError>
where
    A: Acquire<'c, Database = Postgres>,
    I: InsertRow,
{
    insert_many_keyed(connection, rows, Some(keys)).await
}

/// The keys that seal a write's encrypted columns (feature `encrypt`).
#[cfg(feature = "encrypt")]
type WriteKeys<'k> = Option<&'k std::sync::Arc<crate::crypto::Keys>>;
#[cfg(not(feature = "encrypt"))]
type WriteKeys<'k> = Option<&'k ()>;

/// Every row's sealed values (one per encrypted column, in column order); empty for a table
/// without encrypted columns.
fn seal_rows<I: InsertRow>(
    keys: WriteKeys<'_>,
    rows: &[I],
) -> Result<Vec<Vec<Option<Vec<u8>>>>, SqlxError> {
    let table = <I::Table as Table>::TABLE;
    let Some(first) = table.columns.iter().find(|c| c.encryption.is_some()) else {
        return Ok(Vec::new());
    };
    #[cfg(feature = "encrypt")]
    {
        let keys = keys.ok_or_else(|| SqlxError::Encode {
            table: table.name,
            column: first.name,
            source: Box::new(crate::crypto::CryptoError {
                table: table.name,
                column: first.name,
                problem: crate::crypto::CryptoProblem::NoKeys,
            }),
        })?;
        rows.iter()
            .map(|row| {
                row.seal(keys).map_err(|error| SqlxError::Encode {
                    table: table.name,
                    column: error.column,
                    source: Box::new(error),
                })
            })
            .collect()
    }
    #[cfg(not(feature = "encrypt"))]
    {
        let _ = (keys, rows, first);
        Ok(Vec::new())
    }
}

/// Puts a row's sealed values in place of its encrypted columns' placeholders.
fn apply_sealed<'a>(
    table: &TableDef,
    values: &mut [Option<Param<'a>>],
    sealed: Option<&'a Vec<Option<Vec<u8>>>>,
) {
    let Some(sealed) = sealed else {
        return;
    };
    let encrypted = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.encryption.is_some());
    for ((index, _), value) in encrypted.zip(sealed) {
        if let Some(slot) = values.get_mut(index) {
            if slot.is_some() {
                *slot = Some(value);
            }
        }
    }
}

async fn insert_keyed<'e, E, I>(
    executor: E,
    row: &I,
    keys: WriteKeys<'_>,
) -> Result<<I::Table as Table>::Select, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    I: InsertRow,
    <I::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    row.validate()?;
    let table = <I::Table as Table>::TABLE;
    let mut values = Vec::with_capacity(table.columns.len());
    // NULLs bound, so that every row shares one statement, unless a grant may narrow the
    // role's inserts: finding out would cost a round trip, so such a table's rows leave their
    // NULLs out.
    let sealed = seal_rows(keys, std::slice::from_ref(row))?;
    row.push_values(!inserts_narrowed(table), &mut values);
    apply_sealed(table, &mut values, sealed.first());
    let sql = statements::insert(table, &ColumnSet::from_present(&values), 1, true);
    let mut arguments = PgArguments::default();
    bind_values(table, &values, &mut arguments)?;
    let fetch = ::sqlx::query_as_with(&sql, arguments).fetch_one(executor);
    #[cfg(feature = "encrypt")]
    let fetch = crate::crypto::opening(keys.cloned(), fetch);
    Ok(fetch.await?)
}

/// Applies a patch (the generated `UpdateX`, validated first) to the row with this primary key
/// and returns the row as stored, or `None` when no row has the key; `update_sql` columns are
/// refreshed. A patch that sets nothing reads the row. A table with encrypted columns is
/// updated by `update_encrypted`; here a patch that sets one is refused before anything is
/// sent.
pub async fn update<'e, E, U>(
    executor: E,
    key: &<U::Table as KeyedTable>::Key,
    patch: &U,
) -> Result<Option<<U::Table as Table>::Select>, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    U: crate::query::PatchValues,
    U::Table: KeyedTable,
    <U::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    update_keyed(executor, key, patch, None).await
}

/// [`update`] of a row with encrypted columns (feature `encrypt`): each encrypted column the
/// patch sets (and its blind index) is sealed with `keys`, bound to the row's table, column,
/// tenant and key, and the row read back is opened with them.
#[cfg(feature = "encrypt")]
pub async fn update_encrypted<'e, E, U>(
    executor: E,
    key: &<U::Table as KeyedTable>::Key,
    patch: &U,
    keys: &std::sync::Arc<crate::crypto::Keys>,
) -> Result<Option<<U::Table as Table>::Select>, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    U: crate::query::PatchValues,
    U::Table: KeyedTable,
    <U::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    update_keyed(executor, key, patch, Some(keys)).await
}

/// For every encrypted column (then blind index column) of the table, in column order: the
/// patch's value sealed for the row of `key` where the patch sets it (`None` inside: NULL),
/// `None` where it leaves it. Empty when the patch sets none.
#[allow(clippy::type_complexity)]
fn seal_patch<U>(
    keys: WriteKeys<'_>,
    key: &<U::Table as KeyedTable>::Key,
    patch: &U,
) -> Result<Vec<Option<Option<Vec<u8>>>>, SqlxError>
where
    U: crate::query::PatchValues,
    U::Table: KeyedTable,
{
    #[cfg(feature = "encrypt")]
    {
        let table = <U::Table as Table>::TABLE;
        if !crate::query::Update::new(patch).seals() {
            return Ok(Vec::new());
        }
        let encode = |error: crate::crypto::CryptoError| SqlxError::Encode {
            table: table.name,
            column: error.column,
            source: Box::new(error),
        };
        let keys = keys.ok_or_else(|| encode(crate::driver::sealed_update::no_keys(table)))?;
        let (tenant, row_key) = <U::Table as KeyedTable>::key_binding(key);
        patch.seal_patch(&tenant, &row_key, keys).map_err(encode)
    }
    #[cfg(not(feature = "encrypt"))]
    {
        let _ = (keys, key, patch);
        Ok(Vec::new())
    }
}

async fn update_keyed<'e, E, U>(
    executor: E,
    key: &<U::Table as KeyedTable>::Key,
    patch: &U,
    keys: WriteKeys<'_>,
) -> Result<Option<<U::Table as Table>::Select>, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    U: crate::query::PatchValues,
    U::Table: KeyedTable,
    <U::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    patch.validate()?;
    let table = <U::Table as Table>::TABLE;
    let sealed = seal_patch(keys, key, patch)?;
    let mut changes = Vec::with_capacity(table.columns.len());
    patch.push_patch(&mut changes);
    let mut values: Vec<Option<Param<'_>>> = changes
        .iter()
        .map(|change| change.map(|value| value.as_sqlx()))
        .collect();
    let encrypted = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.encryption.is_some());
    for ((index, _), value) in encrypted.zip(&sealed) {
        if let (Some(slot), Some(value)) = (values.get_mut(index), value) {
            *slot = Some(value);
        }
    }
    let mut arguments = PgArguments::default();
    let sql = match statements::update_by_key(table, &ColumnSet::from_present(&values)) {
        Some(sql) => {
            bind_values(table, &values, &mut arguments)?;
            sql
        }
        None => statements::select_by_key(table),
    };
    let mut key_values = Vec::with_capacity(table.primary_key.len());
    <U::Table as KeyedTable>::push_key(key, &mut key_values);
    for (value, column) in key_values.iter().zip(table.primary_key) {
        value
            .bind_to(&mut arguments)
            .map_err(|source| SqlxError::Encode {
                table: table.name,
                column,
                source,
            })?;
    }
    let fetch = ::sqlx::query_as_with(&sql, arguments).fetch_optional(executor);
    #[cfg(feature = "encrypt")]
    let fetch = crate::crypto::opening(keys.cloned(), fetch);
    Ok(fetch.await?)
}

/// Inserts rows with multi-row `INSERT`s in one transaction (a savepoint when `connection`
/// is already a transaction) and returns how many were inserted; all or nothing.
///
/// Every row is validated before any `INSERT` is sent: an invalid row is
/// [`SqlxError::InvalidRow`] with its position, and nothing is written. Consecutive rows that
/// set the same columns share a statement, of at most 1,000 rows and under PostgreSQL's
/// 65,535 parameters. Where a grant may narrow the role's inserts to columns, the session's
/// table-wide `INSERT` privilege is asked first: without it, rows leave their NULLs out.
///
/// `connection` is anything sqlx can begin a transaction on: a `&PgPool`, a
/// `&mut PgConnection`, a `&mut Transaction` (such as a [`scoped_transaction`]).
pub async fn insert_many<'c, A, I>(connection: A, rows: &[I]) -> Result<u64, SqlxError>
where
    A: Acquire<'c, Database = Postgres>,
    I: InsertRow,
{
    insert_many_keyed(connection, rows, None).await
}

async fn insert_many_keyed<'c, A, I>(
    connection: A,
    rows: &[I],
    keys: WriteKeys<'_>,
) -> Result<u64, SqlxError>
where
    A: Acquire<'c, Database = Postgres>,
    I: InsertRow,
{
    let table = <I::Table as Table>::TABLE;
    let mut transaction = connection.begin().await?;
    let bind_nulls = if inserts_narrowed(table) {
        ::sqlx::query_scalar::<_, bool>(statements::HAS_TABLE_INSERT)
            .bind(table.quoted_name())
            .fetch_one(&mut *transaction)
            .await?
    } else {
        true
    };
    let mut buffer = Vec::with_capacity(table.columns.len());
    let runs = crate::driver::runs(rows, &mut buffer, |row, buffer| {
        row.push_values(bind_nulls, buffer)
    })
    .map_err(|(index, error)| SqlxError::InvalidRow { index, error })?;
    let sealed = seal_rows(keys, rows)?;
    let mut inserted = 0;
    for run in &runs {
        for (start, count) in chunks(run) {
            let mut arguments = PgArguments::default();
            arguments.reserve(count * run.set.count(), 0);
            for (offset, row) in rows[start..start + count].iter().enumerate() {
                buffer.clear();
                row.push_values(bind_nulls, &mut buffer);
                apply_sealed(table, &mut buffer, sealed.get(start + offset));
                bind_values(table, &buffer, &mut arguments)?;
            }
            let sql = statements::insert(table, &run.set, count, false);
            inserted += ::sqlx::query_with(&sql, arguments)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
        }
    }
    transaction.commit().await?;
    Ok(inserted)
}

/// Begins a transaction on a connection of `pool` that acts as the scope's role, in which the
/// scope's setting holds its value, for that transaction only: the sqlx counterpart of
/// `schema_core::pg::Db::scoped_transaction` (feature `postgres`), with the same rules, checks
/// and statements. Row-level security policies name the role and read the setting with
/// `{setting:name}`; both names are the deployment's (see [`Names`](crate::Names)).
///
/// The transaction runs `SET LOCAL ROLE "role"; SET LOCAL "prefix"."name" = '<value>'`, sent
/// as a simple query (not prepared, so one statement per value never fills sqlx's statement
/// cache): the role and each part of the setting's name quoted as identifiers, the value an
/// escaped string literal. A setting's name must be `prefix.name` (see
/// [`setting_name_problem`](crate::sql::setting_name_problem)); a name of any other form, or
/// a value holding a NUL character, is refused with [`SqlxError::InvalidSetting`], and a role
/// name PostgreSQL cannot take with [`SqlxError::InvalidScope`], before a connection is taken
/// from the pool.
///
/// Acting as the scope's role alone, the transaction sees only what that role's policies
/// grant, whatever else its login holds (policies add up over every role the current user is
/// a member of). It is not opened, with [`SqlxError::InvalidScope`], when the login (the
/// session's user) or the role is a superuser or has `BYPASSRLS` (no policy holds for either),
/// when the role does not exist, or when the login may not act as it (see
/// [`ScopeProblem`]); nothing runs in it then.
///
/// The scope ends with the transaction: commit it or roll it back with the request it serves.
/// Dropped without either, sqlx queues a `ROLLBACK` that runs before the connection serves
/// anything else (the pool sends it, and waits for it, when the connection comes back), so a
/// pooled connection never carries one physician's scope or role into another request. A
/// transaction that is leaked (`std::mem::forget`) keeps its connection out of the pool for
/// good.
///
/// # Trust boundary
///
/// As on the tokio-postgres side: the setting is chosen by the session, not proven to the
/// database, so **any login that may act as the scoped role can set it to any provider**.
/// Only the application server may hold the credentials of the logins granted the role; per
/// request it authenticates the physician itself, opens the scoped transaction with the
/// provider id it derived from that authentication (never from request input), runs the
/// request's statements in it and ends it. Physicians never get database logins of their own.
pub async fn scoped_transaction(
    pool: &PgPool,
    scope: RequestScope<'_>,
) -> Result<Transaction<'static, Postgres>, SqlxError> {
    open_scoped(pool, scope, None).await
}

/// [`scoped_transaction`], sending `first` (alone in its query) right after `BEGIN`.
pub(crate) async fn scoped_transaction_after(
    pool: &PgPool,
    scope: RequestScope<'_>,
    first: &'static str,
) -> Result<Transaction<'static, Postgres>, SqlxError> {
    open_scoped(pool, scope, Some(first)).await
}

async fn open_scoped(
    pool: &PgPool,
    scope: RequestScope<'_>,
    first: Option<&'static str>,
) -> Result<Transaction<'static, Postgres>, SqlxError> {
    let sql = set_scope(&scope).map_err(|invalid| match invalid {
        InvalidScope::Setting(problem) => SqlxError::InvalidSetting {
            setting: scope.setting.to_string(),
            problem,
        },
        InvalidScope::Role(problem) => SqlxError::InvalidScope {
            role: scope.role.to_string(),
            problem,
        },
    })?;
    let mut transaction = pool.begin().await?;
    if let Some(first) = first {
        Executor::execute(&mut *transaction, first).await?;
    }
    let (
        login,
        login_superuser,
        login_bypassrls,
        role_exists,
        role_superuser,
        role_bypassrls,
        may_set_role,
    ) = ::sqlx::query_as::<_, (String, bool, bool, bool, bool, bool, bool)>(
        statements::ROLE_STANDING,
    )
    .bind(scope.role)
    .fetch_one(&mut *transaction)
    .await?;
    let standing = RoleStanding {
        login,
        login_superuser,
        login_bypassrls,
        role_exists,
        role_superuser,
        role_bypassrls,
        may_set_role,
    };
    if let Some(problem) = standing.problem() {
        return Err(SqlxError::InvalidScope {
            role: scope.role.to_string(),
            problem,
        });
    }
    // A `&str` without arguments runs as a simple query. (Called on the executor, whose future
    // is boxed: the future of `raw_sql(..).execute(..)` is not `Send` in generic callers,
    // which would keep this one from being spawned.)
    Executor::execute(&mut *transaction, sql.as_str()).await?;
    Ok(transaction)
}

/// The OIDs of `json` and `jsonb`, built into every PostgreSQL.
const JSON_OID: Oid = Oid(114);
const JSONB_OID: Oid = Oid(3802);

/// Opens the envelope of encrypted column `column` of `table`, bound to the row's tenant and
/// key, with the keys of [`crypto::with_keys`](crate::crypto::with_keys): a sqlx read of a
/// table with encrypted columns decodes its rows inside `with_keys` (`SelectX::from_row`).
#[cfg(feature = "encrypt")]
pub fn decode_encrypted<F: crate::crypto::EncryptedField>(
    row: &PgRow,
    table: &'static TableDef,
    column: usize,
    tenant: &[u8],
    key: &[u8],
) -> Result<F, ::sqlx::Error> {
    let stored: Option<Vec<u8>> = decode(row, table, column)?;
    crate::crypto::open_field(table, column, tenant, key, stored.as_deref()).map_err(|error| {
        column_error::<F>(
            row,
            table,
            column,
            DecodeProblem::Invalid {
                sql_type: "bytea".into(),
                source: Box::new(error),
            },
        )
    })
}

/// Reads column `column` of `table` from `row`, by the column's name, as a `T`: what the
/// generated `sqlx::FromRow` of `SelectX` calls for each field.
///
/// A column the row lacks is sqlx's `Error::ColumnNotFound`. A value that cannot be read as
/// `T` is sqlx's `Error::ColumnDecode`, whose source is a [`DecodeError`] naming the table, the
/// column, the row's primary key (when the row holds it) and both types:
/// [`DecodeProblem::WrongType`] when the column's SQL type is not one `T` reads,
/// [`DecodeProblem::Invalid`] when the value itself is refused (NULL for a field that is not an
/// `Option`, an unknown enum text).
///
/// Two checks come first, as the field's [`PgType`] asks:
/// [`ROUNDS_JSON_NUMBERS`](crate::PgType::ROUNDS_JSON_NUMBERS) (`serde_json::Value`): a `json`
/// or `jsonb` value holding a number that `serde_json::Value` would not read back as the same
/// decimal value is [`DecodeProblem::InexactNumber`] rather than a rounded value;
/// [`CHRONO_RANGE`](crate::PgType::CHRONO_RANGE) (chrono's date types): a `timestamp`,
/// `timestamptz` or `date` of `infinity`, `-infinity` or a year beyond chrono's is
/// [`DecodeProblem::Invalid`], where sqlx's decoder would panic.
#[inline]
pub fn decode<'r, T>(
    row: &'r PgRow,
    table: &'static TableDef,
    column: usize,
) -> Result<T, ::sqlx::Error>
where
    T: Decode<'r, Postgres> + Type<Postgres> + PgType,
{
    let value = row.try_get_raw(table.columns[column].name)?;
    if !value.is_null() {
        let ty = value.type_info();
        if !ty.is_null() && !T::compatible(&ty) {
            let sql_type = ty.name().to_string();
            return Err(column_error::<T>(
                row,
                table,
                column,
                DecodeProblem::WrongType { sql_type },
            ));
        }
        if T::ROUNDS_JSON_NUMBERS {
            if let Some(number) = inexact_json_number(&value) {
                let sql_type = ty.name().to_string();
                let number = (!table.columns[column].sensitive).then(|| number.to_string());
                return Err(column_error::<T>(
                    row,
                    table,
                    column,
                    DecodeProblem::InexactNumber { sql_type, number },
                ));
            }
        }
        if T::CHRONO_RANGE && beyond_chrono(&value) {
            let sql_type = ty.name().to_string();
            let source = "infinite, or beyond the dates chrono holds".into();
            return Err(column_error::<T>(
                row,
                table,
                column,
                DecodeProblem::Invalid { sql_type, source },
            ));
        }
    }
    T::decode(value).map_err(|source| {
        let sql_type = row
            .try_get_raw(table.columns[column].name)
            .map_or_else(|_| String::new(), |v| v.type_info().name().to_string());
        let problem = DecodeProblem::refused(&table.columns[column], sql_type, source);
        column_error::<T>(row, table, column, problem)
    })
}

/// The OIDs of `date`, `timestamp` and `timestamptz`, built into every PostgreSQL.
const DATE_OID: Oid = Oid(1082);
const TIMESTAMP_OID: Oid = Oid(1114);
const TIMESTAMPTZ_OID: Oid = Oid(1184);

/// Whether a binary `date`, `timestamp` or `timestamptz` value lies beyond what chrono holds
/// (PostgreSQL's `infinity` is the largest value of its binary form): sqlx adds it to
/// 2000-01-01 unchecked, which panics there. Text values fail to parse, without a panic.
fn beyond_chrono(value: &PgValueRef<'_>) -> bool {
    if value.format() != PgValueFormat::Binary {
        return false;
    }
    let (Some(oid), Ok(bytes)) = (value.type_info().oid(), value.as_bytes()) else {
        return false;
    };
    let Some(epoch) = chrono::NaiveDate::from_ymd_opt(2000, 1, 1) else {
        return false;
    };
    if oid == DATE_OID {
        // Days since 2000-01-01.
        let Ok(days) = <[u8; 4]>::try_from(bytes).map(i32::from_be_bytes) else {
            return false;
        };
        chrono::TimeDelta::try_days(days.into())
            .and_then(|days| epoch.checked_add_signed(days))
            .is_none()
    } else if oid == TIMESTAMP_OID || oid == TIMESTAMPTZ_OID {
        // Microseconds since 2000-01-01 00:00.
        let Ok(micros) = <[u8; 8]>::try_from(bytes).map(i64::from_be_bytes) else {
            return false;
        };
        epoch
            .and_time(chrono::NaiveTime::MIN)
            .checked_add_signed(chrono::TimeDelta::microseconds(micros))
            .is_none()
    } else {
        false
    }
}

/// The first number of a `json` or `jsonb` value that `serde_json::Value` would not read back
/// as the same decimal value.
fn inexact_json_number<'r>(value: &PgValueRef<'r>) -> Option<&'r str> {
    let oid = value.type_info().oid()?;
    if oid != JSON_OID && oid != JSONB_OID {
        return None;
    }
    let bytes = value.as_bytes().ok()?;
    let text = if oid == JSONB_OID && value.format() == PgValueFormat::Binary {
        // Binary jsonb: a version byte (1), then the JSON text.
        match bytes.split_first() {
            Some((1, text)) => text,
            // Left to the decoder, which refuses it.
            _ => return None,
        }
    } else {
        bytes
    };
    inexact_number(text)
}

/// sqlx's `ColumnDecode` for column `column` of `table`, with a [`DecodeError`] as its source.
#[cold]
fn column_error<T>(
    row: &PgRow,
    table: &'static TableDef,
    column: usize,
    problem: DecodeProblem,
) -> ::sqlx::Error {
    let name = table.columns[column].name;
    ::sqlx::Error::ColumnDecode {
        index: format!("{name:?}"),
        source: Box::new(DecodeError {
            table: table.name,
            column: name,
            key: crate::driver::row_key(table, |key| key_text(row, key)),
            rust_type: std::any::type_name::<T>(),
            problem,
        }),
    }
}

/// A key column's value as text: a uuid, an integer, or text (quoted); `NULL` when null;
/// `None` when the row lacks the column or it has another type.
fn key_text(row: &PgRow, name: &str) -> Option<String> {
    fn text<'r, T: Decode<'r, Postgres> + Type<Postgres>>(
        row: &'r PgRow,
        name: &str,
        show: impl Fn(T) -> String,
    ) -> Option<String> {
        match row.try_get::<Option<T>, _>(name) {
            Ok(Some(value)) => Some(show(value)),
            Ok(None) => Some("NULL".to_string()),
            Err(_) => None,
        }
    }
    let ty = row.try_get_raw(name).ok()?.type_info().into_owned();
    if <uuid::Uuid as Type<Postgres>>::compatible(&ty) {
        text(row, name, |v: uuid::Uuid| v.to_string())
    } else if <i64 as Type<Postgres>>::compatible(&ty) {
        text(row, name, |v: i64| v.to_string())
    } else if <i32 as Type<Postgres>>::compatible(&ty) {
        text(row, name, |v: i32| v.to_string())
    } else if <i16 as Type<Postgres>>::compatible(&ty) {
        text(row, name, |v: i16| v.to_string())
    } else if <&str as Type<Postgres>>::compatible(&ty) {
        text(row, name, |v: &str| format!("{v:?}"))
    } else {
        None
    }
}

/// The SQL type a text enum is bound as: `text`.
pub fn enum_type_info() -> PgTypeInfo {
    <str as Type<Postgres>>::type_info()
}

/// The type a value of the enum `E` is sent as: its native enum type by name (qualified with
/// its PostgreSQL schema where it has one), or `text`.
pub fn enum_type_info_of<E: PgEnum>() -> PgTypeInfo {
    match E::NATIVE_TYPE {
        Some(name) => PgTypeInfo::with_name(name),
        None => enum_type_info(),
    }
}

/// The names sqlx may know the native enum type `name` by: sqlx names a type as the search
/// path finds it, so a type of a PostgreSQL schema (`ledger.entry_kind`) is named with its
/// schema, or without it where that schema is on the search path.
fn native_names(name: &'static str) -> [&'static str; 2] {
    [name, crate::sql::split_qualified(name).1]
}

/// Whether the enum `E` can be read from a column of type `ty`: its native enum type, or the
/// types of [`enum_compatible`].
pub fn enum_compatible_with<E: PgEnum>(ty: &PgTypeInfo) -> bool {
    E::NATIVE_TYPE.is_some_and(|name| native_names(name).contains(&::sqlx::TypeInfo::name(ty)))
        || enum_compatible(ty)
}

/// Whether a text enum can be read from a column of type `ty`: those sqlx reads as `&str`
/// (`text`, `varchar`, `bpchar`, `name`, `citext`, and `unknown`, an untyped literal).
pub fn enum_compatible(ty: &PgTypeInfo) -> bool {
    <str as Type<Postgres>>::compatible(ty)
}

/// The type an array of the enum `E` (`Vec<E>`) is sent as: an array of its native enum type,
/// by name, or `text[]`.
pub fn enum_array_type_info_of<E: PgEnum>() -> PgTypeInfo {
    match E::NATIVE_TYPE {
        Some(name) => PgTypeInfo::array_of(name),
        None => <&str as PgHasArrayType>::array_type_info(),
    }
}

/// Whether an array of the enum `E` can be read from a column of type `ty`: an array of its
/// native enum type, or an array of a type [`enum_compatible`] accepts (`text[]`,
/// `varchar[]`, ...).
pub fn enum_array_compatible_with<E: PgEnum>(ty: &PgTypeInfo) -> bool {
    E::NATIVE_TYPE.is_some_and(|name| {
        native_names(name)
            .into_iter()
            .any(|name| *ty == PgTypeInfo::array_of(name))
    }) || <&str as PgHasArrayType>::array_compatible(ty)
}

/// Writes a text enum as its text.
pub fn enum_encode<E: PgEnum>(
    value: &E,
    buffer: &mut PgArgumentBuffer,
) -> Result<IsNull, BoxDynError> {
    <&str as Encode<'_, Postgres>>::encode_by_ref(&value.as_str(), buffer)
}

/// Reads a text enum from its text; a text no variant is stored as is an [`UnknownValue`]
/// error naming it and the expected values.
pub fn enum_decode<E: PgEnum>(value: PgValueRef<'_>) -> Result<E, BoxDynError> {
    let text = <&str as Decode<'_, Postgres>>::decode(value)?;
    E::from_text(text).ok_or_else(|| Box::new(UnknownValue::new::<E>(text)) as BoxDynError)
}
