//! A connection (or transaction) that runs the typed reads and writes, with its statements
//! prepared once per shape.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use futures_util::stream::FuturesOrdered;
use futures_util::{pin_mut, StreamExt, TryStreamExt};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, GenericClient, Statement, Transaction};

use super::codec;
use super::{DecodeError, FromColumns, FromRow, InsertRow, KeyedTable, Param, PgError, UpdateRow};
use crate::query::{Columns, Delete, PatchValues, Projection, QuerySql, Select, Update};
use std::borrow::Borrow;

use crate::driver::statements::{self, ColumnSet};
use crate::driver::{
    chunks, inserts_narrowed, nullable_without_default, set_scope, RequestScope, RoleStanding, Run,
    MAX_ROWS_PER_INSERT,
};
use crate::tenant::{TenantPin, TenantScope};
use crate::{Table, TableDef, Target, TenantRoot};

/// Multi-row `INSERT`s sent before the first one's answer is awaited.
const STATEMENTS_IN_FLIGHT: usize = 4;

/// A NULL of whatever type the column has.
#[derive(Debug)]
struct AnyNull;

impl ToSql for AnyNull {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(tokio_postgres::types::IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// The values of a row as [`InsertRow::push_values`] gives them, its encrypted columns
/// `sealed`, with the columns `fill` marks bound to NULL where the row leaves them out.
fn push_row<'a, I: InsertRow>(
    row: &'a I,
    sealed: Option<&'a [Option<&'a [u8]>]>,
    fill: Option<&[bool]>,
    buffer: &mut Vec<Option<Param<'a>>>,
) {
    buffer.clear();
    row.push_values(buffer);
    apply_sealed(<I::Table as Table>::TABLE, buffer, sealed);
    if let Some(fill) = fill {
        for (value, &fill) in buffer.iter_mut().zip(fill) {
            if fill && value.is_none() {
                *value = Some(&AnyNull);
            }
        }
    }
}

/// The columns to bind NULL in a batch: all of them where the session may insert into every
/// column of the table (always, unless a grant narrows inserts), none otherwise.
async fn batch_fill<C: GenericClient>(
    client: &C,
    table: &TableDef,
) -> Result<Option<Vec<bool>>, PgError> {
    if inserts_narrowed(table) {
        let whole: bool = client
            .query_one(statements::HAS_TABLE_INSERT, &[&table.quoted_name()])
            .await?
            .get(0);
        if !whole {
            return Ok(None);
        }
    }
    Ok(Some(nullable_without_default(table)))
}

/// Prepared statements, shared by a connection and its transactions.
///
/// A statement is known by its own text: the text is built from the row type's metadata and
/// the shape of the call, so two row types declared on one table (a narrower one, say) never
/// share a statement unless they would send the very same SQL.
#[derive(Default)]
struct StatementCache(Mutex<HashMap<String, Statement>>, Opening);

/// The keys that seal and open encrypted columns (feature `encrypt`), kept beside the
/// statements since a connection and its transactions share both.
#[cfg(feature = "encrypt")]
type Opening = Option<std::sync::Arc<crate::crypto::Keys>>;
#[cfg(not(feature = "encrypt"))]
type Opening = ();

/// Another handle on the keys, for a stream that outlives the call.
fn share(keys: &Opening) -> Opening {
    #[cfg(feature = "encrypt")]
    {
        keys.clone()
    }
    #[cfg(not(feature = "encrypt"))]
    {
        *keys
    }
}

/// Runs `decode` where encrypted columns open with `keys`.
fn opening<R>(keys: &Opening, decode: impl FnOnce() -> R) -> R {
    #[cfg(feature = "encrypt")]
    {
        crate::crypto::with_keys(keys.as_ref(), decode)
    }
    #[cfg(not(feature = "encrypt"))]
    {
        let () = keys;
        decode()
    }
}

/// The sealed values of a row's encrypted columns, in column order.
type Sealed = Vec<Option<Vec<u8>>>;

/// Refuses a table with encrypted columns when no keys are given, before anything is sent.
fn refuse_without_keys<I: InsertRow>(keys: &Opening) -> Result<(), PgError> {
    PartSealer::new::<I>(keys).map(|_| ())
}

/// Seals the rows of a batch a part at a time (feature `encrypt`): every envelope and blind
/// index of the part in one buffer, each data key looked up once for the part
/// ([`crate::crypto::Sealer`]); nothing for a table without encrypted columns.
struct PartSealer<'k> {
    #[cfg(feature = "encrypt")]
    sealer: Option<crate::crypto::Sealer<'k>>,
    #[cfg(not(feature = "encrypt"))]
    keys: std::marker::PhantomData<&'k ()>,
}

impl<'k> PartSealer<'k> {
    /// The sealer of `I`'s rows; refuses a table with encrypted columns when no keys are given.
    #[cfg_attr(not(feature = "encrypt"), allow(clippy::extra_unused_type_parameters))]
    fn new<I: InsertRow>(keys: &'k Opening) -> Result<Self, PgError> {
        #[cfg(feature = "encrypt")]
        {
            let table = <I::Table as Table>::TABLE;
            let Some(first) = table.columns.iter().find(|c| c.encryption.is_some()) else {
                return Ok(PartSealer { sealer: None });
            };
            let keys = keys
                .as_ref()
                .ok_or(PgError::Crypto(crate::crypto::CryptoError {
                    table: table.name,
                    column: first.name,
                    problem: crate::crypto::CryptoProblem::NoKeys,
                }))?;
            Ok(PartSealer {
                sealer: Some(crate::crypto::Sealer::new(keys)),
            })
        }
        #[cfg(not(feature = "encrypt"))]
        {
            let () = keys;
            Ok(PartSealer {
                keys: std::marker::PhantomData,
            })
        }
    }

    /// Seals `rows`, in place of the part sealed before; the part's keys are given back once
    /// it is sealed (see [`crate::crypto::Sealer::start`]).
    fn seal<I: InsertRow>(&mut self, rows: &[I]) -> Result<(), PgError> {
        #[cfg(feature = "encrypt")]
        if let Some(sealer) = &mut self.sealer {
            sealer.start(rows.len());
            for row in rows {
                row.seal_into(sealer).map_err(PgError::Crypto)?;
            }
            sealer.release();
        }
        #[cfg(not(feature = "encrypt"))]
        let _ = rows;
        Ok(())
    }

    /// Every sealed value of the part, row after row; empty for a table without encrypted
    /// columns.
    fn values(&self) -> Vec<Option<&[u8]>> {
        #[cfg(feature = "encrypt")]
        if let Some(sealer) = &self.sealer {
            return sealer.values();
        }
        Vec::new()
    }

    /// Row `index`'s sealed values in [`values`](Self::values); `None` for a table without
    /// encrypted columns.
    fn row<'v>(
        &self,
        values: &'v [Option<&'v [u8]>],
        index: usize,
    ) -> Option<&'v [Option<&'v [u8]>]> {
        #[cfg(feature = "encrypt")]
        if let Some(sealer) = &self.sealer {
            return values.get(sealer.row(index));
        }
        let _ = (values, index);
        None
    }
}

/// The sealed values of a patch's encrypted columns, bound to the row of `key`: `None` for a
/// table without encrypted columns; for each encrypted column, NULL where the patch sets it
/// to NULL (the placeholder only stands where the patch sets the column).
fn seal_changes<U: UpdateRow>(
    keys: &Opening,
    key: &<U::Table as KeyedTable>::Key,
    patch: &U,
) -> Result<Option<Sealed>, PgError> {
    #[cfg(feature = "encrypt")]
    {
        let table = <U::Table as Table>::TABLE;
        let Some(first) = table.columns.iter().find(|c| c.encryption.is_some()) else {
            return Ok(None);
        };
        let keys = keys
            .as_ref()
            .ok_or(PgError::Crypto(crate::crypto::CryptoError {
                table: table.name,
                column: first.name,
                problem: crate::crypto::CryptoProblem::NoKeys,
            }))?;
        let sealed = patch.seal_changes(key, keys).map_err(PgError::Crypto)?;
        Ok(Some(sealed.into_iter().map(Option::flatten).collect()))
    }
    #[cfg(not(feature = "encrypt"))]
    {
        let () = keys;
        let _ = (key, patch);
        Ok(None)
    }
}

/// Puts the sealed values in place of the encrypted columns' placeholders.
fn apply_sealed<'a, V: ToSql + Sync>(
    table: &TableDef,
    values: &mut [Option<Param<'a>>],
    sealed: Option<&'a [V]>,
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

impl StatementCache {
    async fn get<C: GenericClient>(
        &self,
        client: &C,
        sql: String,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.lock().get(&sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(&sql).await?;
        self.lock().insert(sql, statement.clone());
        Ok(statement)
    }

    /// A statement returning rows of `table`'s columns, in order: checked against the table's
    /// column list before any row is decoded by position.
    async fn get_rows<C: GenericClient>(
        &self,
        client: &C,
        sql: String,
        table: &'static TableDef,
    ) -> Result<Statement, PgError> {
        let statement = self.get(client, sql).await?;
        codec::check_result_columns(table, statement.columns())?;
        Ok(statement)
    }

    /// Caches `statement`, freshly prepared from `sql`, in place of any cached before.
    fn replace(&self, sql: String, statement: Statement) {
        self.lock().insert(sql, statement);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Statement>> {
        // The map stays consistent even if a holder panicked: entries are inserted whole.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A PostgreSQL connection running typed reads and writes.
///
/// ```no_run
/// # async fn example() -> Result<(), schema_core::pg::PgError> {
/// use schema_core::pg::Db;
/// # use schema_core::PgTable;
/// # #[derive(PgTable)]
/// # #[pg(table = "notes")]
/// # pub struct Note {
/// #     #[pg(primary_key, default_sql = "gen_random_uuid()")]
/// #     pub note_id: uuid::Uuid,
/// #     pub body: String,
/// # }
/// let mut db = Db::connect("postgres://postgres@127.0.0.1/app").await?;
/// let note = db.insert(&InsertNote::new("remember".into())).await?;
/// assert_eq!(db.get::<Note>(&note.note_id).await?, Some(note));
/// # Ok(())
/// # }
/// ```
///
/// For row-level security scoped by a role and a setting (a physician's own rows), open every
/// request's statements in a [`scoped_transaction`](Db::scoped_transaction), whose
/// documentation states the trust boundary: the application server alone holds the
/// credentials of the logins granted the scoped role, connects as none that bypasses
/// row-level security, and derives the scope from its own authentication of the user.
///
/// # Transactions that outlive their guard
///
/// A [`DbTransaction`] that is leaked (`std::mem::forget`, or a
/// [`commit`](DbTransaction::commit) / [`rollback`](DbTransaction::rollback) future dropped
/// before it completes) would leave the connection inside its transaction, with its scope
/// still set, for whatever request uses the connection next. So every use of a `Db` (each
/// typed read and write, [`transaction`](Db::transaction),
/// [`scoped_transaction`](Db::scoped_transaction)) first checks whether a transaction it
/// opened may still be open, and if so sends `ROLLBACK` before anything else. Statements run
/// directly on [`client`](Db::client) bypass that check.
pub struct Db {
    client: Client,
    statements: StatementCache,
    /// Set while a top-level transaction this `Db` opened may be open: from `BEGIN` until its
    /// guard is dropped or its commit or rollback completes. A leaked guard leaves it set.
    open: AtomicBool,
}

/// A transaction of a [`Db`], with the same typed reads and writes; dropped without
/// [`commit`](DbTransaction::commit), it rolls back.
///
/// As in PostgreSQL, a statement that fails aborts the transaction: after a failed `insert`,
/// `update`, `delete` or query only a rollback is possible. The batch writes (`insert_many`,
/// `copy_in`) run in a savepoint, so a failed batch leaves the transaction usable; open a
/// nested [`transaction`](DbTransaction::transaction) to give any other statement the same.
///
/// A transaction opened by [`Db::scoped_transaction`] carries its scope (a `SET LOCAL` role
/// and setting) until it ends, and no longer: end it with the request it serves.
pub struct DbTransaction<'a> {
    // Dropped first: tokio-postgres queues the ROLLBACK of a transaction not ended, and only
    // then is the `Db`'s flag cleared.
    transaction: Transaction<'a>,
    statements: &'a StatementCache,
    open: OpenFlag<'a>,
    /// The tenant of a [`Db::tenant`] transaction: its typed queries of the tenant's tables
    /// carry the tenant's equality themselves.
    tenant: Option<TenantPin>,
}

/// Clears a [`Db`]'s open-transaction flag when dropped; holds none for a savepoint.
struct OpenFlag<'a>(Option<&'a AtomicBool>);

impl<'a> OpenFlag<'a> {
    /// The flag, no longer cleared by this guard's drop.
    fn disarm(mut self) -> Option<&'a AtomicBool> {
        self.0.take()
    }
}

impl Drop for OpenFlag<'_> {
    fn drop(&mut self) {
        if let Some(flag) = self.0 {
            flag.store(false, Ordering::Release);
        }
    }
}

impl Db {
    /// Wraps a connected client.
    pub fn new(client: Client) -> Self {
        Db {
            client,
            statements: StatementCache::default(),
            open: AtomicBool::new(false),
        }
    }

    /// The keys that seal encrypted columns on every write of this `Db` and its transactions
    /// (insert, insert_many, copy_in, update, update_where) and open them on every read
    /// (feature `encrypt`).
    /// Without keys, a table with encrypted columns is neither written nor read.
    #[cfg(feature = "encrypt")]
    pub fn with_keys(mut self, keys: std::sync::Arc<crate::crypto::Keys>) -> Self {
        self.statements.1 = Some(keys);
        self
    }

    /// Connects as [`connect`](fn@super::connect) does (TLS as the connection string's `sslmode`
    /// says, with the `tls` feature), and drives the connection on the current tokio runtime.
    pub async fn connect(config: &str) -> Result<Self, PgError> {
        let (client, _connection) = super::connect(config).await?;
        Ok(Db::new(client))
    }

    /// [`Db::connect`], with the certificates to trust (or a rustls configuration) given in
    /// code (feature `tls`).
    #[cfg(feature = "tls")]
    pub async fn connect_with(config: &str, tls: super::TlsOptions) -> Result<Self, PgError> {
        let (client, _connection) = super::ConnectConfig::parse(config)?
            .with_tls(tls)
            .connect()
            .await?;
        Ok(Db::new(client))
    }

    /// The rows of `T` of `tenant` whose encrypted `column` holds `value` (encoded as the field
    /// is), found by the column's blind index (`blind_index(bits = N, population = M)`): the
    /// rows whose index matches are read, opened, and those that only share the truncated index
    /// value (false positives) are dropped. A blind index declared with `normalize(trim,
    /// lowercase)` finds the values that normalize as `value` does. Feature `encrypt`.
    #[cfg(feature = "encrypt")]
    pub async fn eq_blind<T, F, K, V>(
        &self,
        column: crate::ColumnRef<T, crate::query::Encrypted<F>>,
        tenant: &K,
        value: &V,
    ) -> Result<Vec<T::Select>, PgError>
    where
        T: Table,
        T::Select: FromRow,
        K: crate::crypto::Plaintext,
        V: crate::crypto::Plaintext,
    {
        use crate::crypto::rotate::Raw;
        use crate::crypto::{Binding, CryptoError, CryptoProblem};
        self.end_leaked_transaction().await?;
        let table = T::TABLE;
        let def = &table.columns[column.index];
        let fail = |problem| {
            PgError::Crypto(CryptoError {
                table: table.name,
                column: def.name,
                problem,
            })
        };
        let keys = self
            .statements
            .1
            .as_ref()
            .ok_or_else(|| fail(CryptoProblem::NoKeys))?;
        let index = def
            .encryption
            .and_then(|e| e.blind_index)
            .ok_or_else(|| fail(CryptoProblem::NoBlindIndex))?;
        let tenant_column = table.tenant_column().unwrap_or("");
        let (mut tenant_bytes, mut value_bytes) = (Vec::new(), zeroize::Zeroizing::new(Vec::new()));
        tenant.encode(&mut tenant_bytes);
        value.encode(&mut value_bytes);
        // A value found through a normalized index matches when it normalizes alike.
        let normalized = |bytes: zeroize::Zeroizing<Vec<u8>>| match index.normalize.apply(&bytes) {
            Some(normalized) => zeroize::Zeroizing::new(normalized),
            None => bytes,
        };
        let value_bytes = normalized(value_bytes);
        let bidx = keys
            .blind_index(
                table.name,
                def.name,
                &tenant_bytes,
                &value_bytes,
                index.bits,
            )
            .map_err(PgError::Crypto)?;
        let sql = format!(
            "{} WHERE {} = $1 AND {} = $2",
            statements::select_all(table),
            crate::sql::quote_ident(tenant_column),
            crate::sql::quote_ident(index.column)
        );
        let statement = self.statements.get_rows(&self.client, sql, table).await?;
        let tenant_param = Raw(tenant_bytes.clone());
        let rows = self
            .client
            .query(&statement, &[&tenant_param, &bidx])
            .await?;
        let key_positions: Vec<usize> = table
            .primary_key
            .iter()
            .filter_map(|k| table.columns.iter().position(|c| c.name == *k))
            .collect();
        let mut found = Vec::new();
        for row in &rows {
            let (_, row_key) = T::Select::row_binding(row, &key_positions)?;
            let Some(stored) = row.try_get::<_, Option<&[u8]>>(column.index)? else {
                continue;
            };
            let binding = Binding {
                schema: table.schema.unwrap_or(""),
                table: table.name,
                column: def.name,
                tenant: &tenant_bytes,
                row_key: &row_key,
            };
            let plain = normalized(keys.open(&binding, stored).map_err(PgError::Crypto)?);
            if plain[..] == value_bytes[..] {
                found.push(opening(&self.statements.1, || {
                    T::Select::from_row_at(row, &positions(table))
                })?);
            }
        }
        Ok(found)
    }

    /// The underlying client, for statements of your own.
    ///
    /// Statements run directly on it bypass the `Db`'s check for a leaked transaction (see
    /// [`Db`]): after a [`DbTransaction`] was leaked, they may still run inside it, with its
    /// scope, until a typed call of this `Db` ends it.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens a transaction.
    pub async fn transaction(&mut self) -> Result<DbTransaction<'_>, PgError> {
        self.end_leaked_transaction().await?;
        let transaction = self.client.transaction().await?;
        self.open.store(true, Ordering::Release);
        Ok(DbTransaction {
            transaction,
            statements: &self.statements,
            open: OpenFlag(Some(&self.open)),
            tenant: None,
        })
    }

    /// Outside a transaction, no tenant.
    fn tenant_pin(&self) -> Option<&TenantPin> {
        None
    }

    /// Rolls back a transaction this `Db` opened whose guard was leaked, if there may be one.
    ///
    /// The flag is cleared only once the `ROLLBACK` has completed: a concurrent call that
    /// sees it still set sends a `ROLLBACK` of its own (which the server answers with a
    /// warning), never a statement that could run inside the leaked transaction.
    pub(crate) async fn end_leaked_transaction(&self) -> Result<(), PgError> {
        if self.open.load(Ordering::Acquire) {
            self.client.batch_execute("ROLLBACK").await?;
            self.open.store(false, Ordering::Release);
        }
        Ok(())
    }

    /// Opens a transaction that acts as the scope's role, in which the scope's setting holds
    /// its value, for that transaction only. Row-level security policies name the role and
    /// read the setting with `{setting:name}`; both names are the deployment's (see
    /// [`Names`](crate::Names)).
    ///
    /// ```no_run
    /// # async fn example(db: &mut schema_core::pg::Db, provider_id: uuid::Uuid)
    /// # -> Result<(), schema_core::pg::PgError> {
    /// use schema_core::pg::RequestScope;
    ///
    /// let provider_id = provider_id.to_string();          // from the application's own login
    /// let tx = db
    ///     .scoped_transaction(RequestScope {
    ///         role: "physician",
    ///         setting: "app.provider_id",
    ///         value: &provider_id,
    ///     })
    ///     .await?;
    /// // ... the request's reads and writes, on `tx`
    /// tx.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// After `BEGIN`, the transaction runs `SET LOCAL ROLE "role"` and `SET LOCAL
    /// "prefix"."name" = '<value>'`: the role and each part of the setting's name quoted as
    /// identifiers, the value an escaped string literal. A setting's name must be `prefix.name`
    /// (parts of ASCII letters, digits and `_`, separated by dots, none starting with a digit);
    /// a name of any other form, or a value holding a NUL character, is refused with
    /// [`PgError::InvalidSetting`], and a role name PostgreSQL cannot take (empty, a NUL
    /// character, over 63 bytes) with [`PgError::InvalidScope`], before anything is sent. A
    /// `SET LOCAL` statement (rather than `set_config`) is also what Citus forwards to its
    /// workers, with `citus.propagate_set_commands = 'local'`.
    ///
    /// # Whatever the login holds
    ///
    /// Policies add up over every role the current user is a member of, so a login that holds
    /// `physician` and `support_team` would see, scoped or not, what the support team's policy
    /// shows. Acting as the scope's role alone, the transaction sees only what that role's
    /// policies grant, whatever else its login holds. No policy holds for a superuser or a role
    /// with `BYPASSRLS`: a transaction is not opened, with [`PgError::InvalidScope`], when the
    /// login (the session's user) or the role is one, when the role does not exist, or when the
    /// login may not act as it (it must be a member of the role, with or without `INHERIT`;
    /// from PostgreSQL 16, granted with the `SET` option). That check and the `SET`s travel in
    /// one round trip, after the `BEGIN`.
    ///
    /// # Trust boundary
    ///
    /// The setting is chosen by the session, not proven to the database: **any login that
    /// may act as the scoped role can `SET` it to any provider** and then see that provider's
    /// rows. The scope is therefore safe only when the application server is the sole holder
    /// of the credentials of the logins granted the role. Per request, the application must:
    ///
    /// 1. authenticate the physician itself;
    /// 2. open a scoped transaction with the provider id it derived from that
    ///    authentication, never from request input (a path, a query parameter, a body);
    /// 3. run the request's statements inside that transaction, and end it (commit or
    ///    rollback; a dropped guard rolls back).
    ///
    /// Only `SET LOCAL` is used: a session-level `SET` would outlive the transaction and
    /// carry one physician's scope (or role) into the next request on a pooled connection.
    /// For the same reason a guard that is leaked (`std::mem::forget`, a commit future dropped
    /// before it completes) is rolled back by this `Db`'s next use; see [`Db`]. A statement of
    /// one's own that runs `RESET ROLE` or `SET ROLE` inside the transaction leaves the scope's
    /// role: run none.
    ///
    /// Physicians (end users) must never get database logins of their own: with one, they
    /// could set the scope to any provider.
    pub async fn scoped_transaction(
        &mut self,
        scope: RequestScope<'_>,
    ) -> Result<DbTransaction<'_>, PgError> {
        self.open_scoped(scope, false).await
    }

    /// A scoped transaction; on Citus (`citus`), `citus.propagate_set_commands = 'local'` is
    /// set first, in a statement of its own.
    async fn open_scoped(
        &mut self,
        scope: RequestScope<'_>,
        citus: bool,
    ) -> Result<DbTransaction<'_>, PgError> {
        let sql = set_scope(&scope).map_err(|invalid| PgError::invalid_scope(&scope, invalid))?;
        let transaction = self.transaction().await?;
        if citus {
            transaction
                .transaction
                .batch_execute(crate::target::citus::PROPAGATE_SET_LOCAL)
                .await?;
        }
        let standing = transaction
            .statements
            .get(
                &transaction.transaction,
                statements::ROLE_STANDING.to_string(),
            )
            .await?;
        // Sent together: if the role may not be taken, the `SET`s ran (or failed) in a
        // transaction that is rolled back as the guard drops, and the refusal is the one
        // reported.
        let (standing, set) = futures_util::future::join(
            transaction.transaction.query_one(&standing, &[&scope.role]),
            transaction.transaction.batch_execute(&sql),
        )
        .await;
        let row = standing?;
        let standing = RoleStanding {
            login: row.try_get(0)?,
            login_superuser: row.try_get(1)?,
            login_bypassrls: row.try_get(2)?,
            role_exists: row.try_get(3)?,
            role_superuser: row.try_get(4)?,
            role_bypassrls: row.try_get(5)?,
            may_set_role: row.try_get(6)?,
        };
        if let Some(problem) = standing.problem() {
            return Err(PgError::InvalidScope {
                role: scope.role.to_string(),
                problem,
            });
        }
        set?;
        Ok(transaction)
    }

    /// Opens a transaction scoped to one tenant: a [`scoped_transaction`](Db::scoped_transaction)
    /// acting as the scope's role with the tenant's key in the scope's setting, the key typed
    /// as the tenant root's key (a `Uuid` for `Provider`), never a string. Its typed queries of
    /// the root's tables ([`fetch_all`](DbTransaction::fetch_all), `count`, `get`, `update`,
    /// `delete`, `update_where`, ...) carry `"provider_id" = $n` themselves, first: the leading
    /// column of the tenant indexes is matched by the query, and Citus routes it to one shard
    /// (it does not route on a policy's qual, citusdata/citus#7415).
    ///
    /// On [`Target::Citus`] the transaction first sets `citus.propagate_set_commands =
    /// 'local'` in a query of its own (with it, Citus replays the query string holding a
    /// `SET LOCAL` on the workers, so nothing else may share that string), then the scope's
    /// `SET LOCAL`s, which the workers then see.
    ///
    /// ```no_run
    /// # async fn example(db: &mut schema_core::pg::Db, provider_id: uuid::Uuid)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// # use schema_core::{PgTable, Schema};
    /// # #[derive(PgTable)]
    /// # #[pg(table = "providers", tenant_root)]
    /// # pub struct Provider { #[pg(primary_key)] pub provider_id: uuid::Uuid }
    /// # let schema = Schema::new().table::<Provider>().tenant_setting("app.provider_id").tenant_role("physician");
    /// let physician = schema.tenant_scope::<Provider>("physician")?;
    /// let tx = db.tenant(&physician, provider_id).await?;
    /// // ... the request's typed reads and writes, on `tx`
    /// tx.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn tenant<R>(
        &mut self,
        scope: &TenantScope<R>,
        key: R::Key,
    ) -> Result<DbTransaction<'_>, PgError>
    where
        R: TenantRoot,
        R::Key: crate::query::QueryValue + std::fmt::Display,
    {
        let value = key.to_string();
        let request = RequestScope {
            role: scope.role(),
            setting: scope.setting(),
            value: &value,
        };
        // Checked before anything is sent, as `scoped_transaction` checks it.
        set_scope(&request).map_err(|invalid| PgError::invalid_scope(&request, invalid))?;
        let pin = scope.pin(key);
        let mut transaction = self
            .open_scoped(request, scope.target() == Target::Citus)
            .await?;
        transaction.tenant = Some(pin);
        Ok(transaction)
    }
}

impl<'a> DbTransaction<'a> {
    /// The underlying transaction, for statements of your own.
    pub fn client(&self) -> &Transaction<'a> {
        &self.transaction
    }

    /// Opens a nested transaction (a savepoint).
    pub async fn transaction(&mut self) -> Result<DbTransaction<'_>, PgError> {
        Ok(DbTransaction {
            transaction: self.transaction.transaction().await?,
            statements: self.statements,
            open: OpenFlag(None),
            tenant: self.tenant.clone(),
        })
    }

    /// Commits the transaction.
    ///
    /// Dropped before it completes, the commit may or may not have happened; the `Db`'s next
    /// use rolls back whatever is still open.
    pub async fn commit(self) -> Result<(), PgError> {
        self.end(true).await
    }

    /// Rolls the transaction back.
    pub async fn rollback(self) -> Result<(), PgError> {
        self.end(false).await
    }

    /// Commits or rolls back; only once that is answered is the `Db`'s flag cleared, so a
    /// future dropped half-way leaves it set for the `Db`'s next use.
    async fn end(self, commit: bool) -> Result<(), PgError> {
        let DbTransaction {
            transaction, open, ..
        } = self;
        let flag = open.disarm();
        let result = if commit {
            transaction.commit().await
        } else {
            transaction.rollback().await
        };
        // Committed, rolled back or refused, the transaction is over.
        if let Some(flag) = flag {
            flag.store(false, Ordering::Release);
        }
        Ok(result?)
    }

    /// Nothing to check: a transaction is its own.
    async fn end_leaked_transaction(&self) -> Result<(), PgError> {
        Ok(())
    }

    /// The tenant of a [`Db::tenant`] transaction (and of its savepoints).
    fn tenant_pin(&self) -> Option<&TenantPin> {
        self.tenant.as_ref()
    }
}

macro_rules! typed_statements {
    ($ty:ty, $client:ident) => {
        impl $ty {
            /// Inserts one row (after validating it) and returns it as stored, with the
            /// database's defaults filled in.
            pub async fn insert<I>(&self, row: &I) -> Result<<I::Table as Table>::Select, PgError>
            where
                I: InsertRow,
                <I::Table as Table>::Select: FromRow,
            {
                self.end_leaked_transaction().await?;
                insert(&self.$client, self.statements.borrow(), row).await
            }

            /// Inserts rows with multi-row `INSERT`s in one transaction (a savepoint inside a
            /// transaction): all of them or, on any error, none. Every row is validated first.
            /// Returns the number of rows inserted.
            pub async fn insert_many<I: InsertRow>(&mut self, rows: &[I]) -> Result<u64, PgError> {
                self.end_leaked_transaction().await?;
                let statements: &StatementCache = self.statements.borrow();
                insert_many(&mut self.$client, statements, rows).await
            }

            /// Loads rows with binary `COPY`, in one transaction (a savepoint inside a
            /// transaction): the fastest way in for large batches. Every row is validated
            /// first. Where PostgreSQL would refuse `COPY FROM` (row-level security applying
            /// to the session, a read-only transaction, a generated column) or may (the session
            /// lacks the table-wide `INSERT` privilege and may insert only some columns), the
            /// rows go in by multi-row `INSERT` instead, naming only the columns each row sets,
            /// which is checked row by row and fails, if it must, with the server's own error.
            /// Returns the number of rows loaded.
            ///
            /// A failed or refused load leaves the connection usable: the table is locked
            /// (`ROW EXCLUSIVE`, as `COPY FROM` locks it) and its column types read afresh
            /// before `COPY` starts, so a lock timeout, a missing table or a dropped column
            /// fails as an ordinary statement.
            pub async fn copy_in<I: InsertRow>(&mut self, rows: &[I]) -> Result<u64, PgError> {
                self.end_leaked_transaction().await?;
                let statements: &StatementCache = self.statements.borrow();
                copy_in(&mut self.$client, statements, rows).await
            }

            /// The row with this primary key, if there is one.
            pub async fn get<T>(&self, key: &T::Key) -> Result<Option<T::Select>, PgError>
            where
                T: KeyedTable,
                T::Select: FromRow,
            {
                self.end_leaked_transaction().await?;
                get::<_, T>(
                    &self.$client,
                    self.statements.borrow(),
                    key,
                    self.tenant_pin(),
                )
                .await
            }

            /// Every row of the table.
            ///
            /// One value that cannot be decoded (a timestamp of `infinity`, a jsonb number
            /// beyond `f64`, written by another client) fails the whole read, with a
            /// [`DecodeError`] naming the row's key and the column; use
            /// [`select_all_results`](Self::select_all_results) to read the other rows anyway.
            pub async fn select_all<T>(&self) -> Result<Vec<T::Select>, PgError>
            where
                T: Table,
                T::Select: FromRow,
            {
                self.end_leaked_transaction().await?;
                select_all::<_, T>(&self.$client, self.statements.borrow()).await
            }

            /// Every row of the table, each decoded on its own: a row that cannot be decoded
            /// is an `Err` naming its key and column in its place, and does not hide the
            /// others. The outer error is the statement's (or a result whose columns are not
            /// the table's).
            pub async fn select_all_results<T>(
                &self,
            ) -> Result<Vec<Result<T::Select, DecodeError>>, PgError>
            where
                T: Table,
                T::Select: FromRow,
            {
                self.end_leaked_transaction().await?;
                select_all_results::<_, T>(&self.$client, self.statements.borrow()).await
            }

            /// Applies a patch (after validating it) to the row with this primary key and
            /// returns the row as stored, or `None` when no row has the key. `update_sql`
            /// columns are refreshed by every update.
            pub async fn update<U>(
                &self,
                key: &<U::Table as KeyedTable>::Key,
                patch: &U,
            ) -> Result<Option<<U::Table as Table>::Select>, PgError>
            where
                U: UpdateRow,
                <U::Table as Table>::Select: FromRow,
            {
                self.end_leaked_transaction().await?;
                update(
                    &self.$client,
                    self.statements.borrow(),
                    key,
                    patch,
                    self.tenant_pin(),
                )
                .await
            }

            /// Deletes the row with this primary key; `true` when there was one.
            pub async fn delete<T: KeyedTable>(&self, key: &T::Key) -> Result<bool, PgError> {
                self.end_leaked_transaction().await?;
                delete::<_, T>(
                    &self.$client,
                    self.statements.borrow(),
                    key,
                    self.tenant_pin(),
                )
                .await
            }

            /// The rows a typed query reads, in its order (see [`Select`]).
            ///
            /// ```no_run
            /// # async fn example(db: &schema_core::pg::Db) -> Result<(), schema_core::pg::PgError> {
            /// # use schema_core::PgTable;
            /// # #[derive(PgTable)]
            /// # #[pg(table = "notes")]
            /// # pub struct Note {
            /// #     #[pg(primary_key)]
            /// #     pub note_id: i64,
            /// #     pub body: String,
            /// # }
            /// use schema_core::query::Select;
            ///
            /// let page = Select::<Note>::new()
            ///     .filter(Note::body.starts_with("todo"))
            ///     .order_by(Note::note_id.desc())
            ///     .limit(50);
            /// let notes: Vec<SelectNote> = db.fetch_all(&page).await?;
            /// if let Some(last) = notes.last() {
            ///     let next = db.fetch_all(&page.clone().after(last)).await?;
            /// }
            /// # Ok(())
            /// # }
            /// ```
            pub async fn fetch_all<T>(&self, query: &Select<T>) -> Result<Vec<T::Select>, PgError>
            where
                T: Table,
                T::Select: FromRow,
            {
                self.fetch_stream(query).await?.try_collect().await
            }

            /// The rows a typed query reads, as a stream that yields each row as it arrives
            /// (memory stays constant, as with [`stream_all`](Self::stream_all)).
            pub async fn fetch_stream<T>(
                &self,
                query: &Select<T>,
            ) -> Result<Rows<T::Select>, PgError>
            where
                T: Table,
                T::Select: FromRow,
            {
                self.end_leaked_transaction().await?;
                let query = &*crate::query::for_tenant(query, self.tenant_pin());
                fetch_stream(&self.$client, self.statements.borrow(), query).await
            }

            /// The first row a typed query reads, if any, asked with `LIMIT 1` (or the query's
            /// own limit of 0): the server sends no row that would be thrown away.
            pub async fn fetch_optional<T>(
                &self,
                query: &Select<T>,
            ) -> Result<Option<T::Select>, PgError>
            where
                T: Table,
                T::Select: FromRow,
            {
                let query = query.first_row();
                let rows = self.fetch_stream(&query).await?;
                pin_mut!(rows);
                rows.try_next().await
            }

            /// How many rows a typed query's filter keeps (order, limit and offset aside).
            pub async fn count<T: Table>(&self, query: &Select<T>) -> Result<i64, PgError> {
                self.end_leaked_transaction().await?;
                let query = &*crate::query::for_tenant(query, self.tenant_pin());
                let sql = query.count_sql()?;
                let row = scalar(&self.$client, self.statements.borrow(), sql).await?;
                Ok(row.try_get(0)?)
            }

            /// Whether a typed query's filter keeps any row.
            pub async fn exists<T: Table>(&self, query: &Select<T>) -> Result<bool, PgError> {
                self.end_leaked_transaction().await?;
                let query = &*crate::query::for_tenant(query, self.tenant_pin());
                let sql = query.exists_sql()?;
                let row = scalar(&self.$client, self.statements.borrow(), sql).await?;
                Ok(row.try_get(0)?)
            }

            /// The chosen columns of the rows a typed query reads, each row a tuple of the
            /// columns' Rust types ([`Select::columns`]).
            pub async fn fetch_columns<T, C>(
                &self,
                query: &Projection<T, C>,
            ) -> Result<Vec<C::Output>, PgError>
            where
                T: Table,
                C: Columns<T> + Clone,
                C::Output: FromColumns,
            {
                self.end_leaked_transaction().await?;
                let query = &*crate::query::for_tenant(query, self.tenant_pin());
                fetch_columns(&self.$client, self.statements.borrow(), query).await
            }

            /// Applies a patch (after validating it) to every row the update's filter keeps and
            /// returns them as changed. Refused without a filter unless it says `all_rows()`
            /// ([`QueryError::Unfiltered`](crate::query::QueryError::Unfiltered)). The
            /// database's column grants and `immutable` rules hold as for
            /// [`update`](Self::update), and row-level security keeps the rows a scoped role
            /// may not update out of reach.
            ///
            /// A patch that sets an encrypted column (feature `encrypt`) is sealed for each row,
            /// since every ciphertext is bound to its own row's key: the keys of the rows the
            /// filter keeps are read `FOR UPDATE`, each row's value (and blind index) sealed for
            /// it, and one `UPDATE ... FROM unnest(keys, values)` joined by key, with the
            /// filter checked again, writes them all. In a transaction the rows stay locked from
            /// the read of their keys to its end; outside one, a row changed in between is
            /// updated only if it still matches the filter (and a row that starts to match in
            /// between is not updated).
            pub async fn update_where<U>(
                &self,
                query: &Update<'_, U>,
            ) -> Result<Vec<<U::Table as Table>::Select>, PgError>
            where
                U: PatchValues,
                <U::Table as Table>::Select: FromRow,
            {
                self.end_leaked_transaction().await?;
                let query = &*crate::query::for_tenant(query, self.tenant_pin());
                query.patch().validate()?;
                let table = <U::Table as Table>::TABLE;
                #[cfg(feature = "encrypt")]
                if query.seals() {
                    return sealed_update_where(&self.$client, self.statements.borrow(), query)
                        .await;
                }
                write_rows(
                    &self.$client,
                    self.statements.borrow(),
                    table,
                    query.to_sql()?,
                )
                .await
            }

            /// Deletes every row the delete's filter keeps and returns them. Refused without a
            /// filter unless it says `all_rows()`.
            pub async fn delete_where<T>(
                &self,
                query: &Delete<T>,
            ) -> Result<Vec<T::Select>, PgError>
            where
                T: Table,
                T::Select: FromRow,
            {
                self.end_leaked_transaction().await?;
                let query = &*crate::query::for_tenant(query, self.tenant_pin());
                write_rows(
                    &self.$client,
                    self.statements.borrow(),
                    T::TABLE,
                    query.to_sql()?,
                )
                .await
            }

            /// Every row of the table, as a stream that yields each row as it arrives: memory
            /// stays constant whatever the table's size. A row that cannot be decoded is an
            /// `Err` item naming its key and column; the stream goes on after it.
            pub async fn stream_all<T>(&self) -> Result<Rows<T::Select>, PgError>
            where
                T: Table,
                T::Select: FromRow,
            {
                self.end_leaked_transaction().await?;
                stream_all::<_, T>(&self.$client, self.statements.borrow()).await
            }

            /// A query of your own as a stream of rows decoded by column name, yielded as
            /// they arrive (see [`stream_all`](Self::stream_all)).
            pub async fn query_stream<S: FromRow>(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> Result<Rows<S>, PgError> {
                self.end_leaked_transaction().await?;
                query_stream(&self.$client, self.statements.borrow(), sql, params).await
            }

            /// Runs a query of your own and decodes its rows by column name. The query is
            /// prepared once; a column it lacks is an error even when it returns no row.
            pub async fn query_as<S: FromRow>(
                &self,
                sql: &str,
                params: &[Param<'_>],
            ) -> Result<Vec<S>, PgError> {
                self.end_leaked_transaction().await?;
                query_as(&self.$client, self.statements.borrow(), sql, params).await
            }
        }
    };
}

typed_statements!(Db, client);
typed_statements!(DbTransaction<'_>, transaction);

fn positions(table: &TableDef) -> Vec<usize> {
    (0..table.columns.len()).collect()
}

async fn insert<C: GenericClient, I>(
    client: &C,
    statements: &StatementCache,
    row: &I,
) -> Result<<I::Table as Table>::Select, PgError>
where
    I: InsertRow,
    <I::Table as Table>::Select: FromRow,
{
    row.validate()?;
    let table = <I::Table as Table>::TABLE;
    let mut values = Vec::with_capacity(table.columns.len());
    // One statement for every row, NULLs bound, unless a grant may narrow the role's inserts;
    // finding out would cost a round trip, so such a table's rows leave their NULLs out.
    let fill = (!inserts_narrowed(table)).then(|| nullable_without_default(table));
    let mut sealer = PartSealer::new::<I>(&statements.1)?;
    sealer.seal(std::slice::from_ref(row))?;
    let sealed = sealer.values();
    push_row(row, sealer.row(&sealed, 0), fill.as_deref(), &mut values);
    let set = ColumnSet::from_present(&values);
    let statement = statements
        .get_rows(client, statements::insert(table, &set, 1, true), table)
        .await?;
    let params: Vec<Param> = values.into_iter().flatten().collect();
    let row = client.query_one(&statement, &params).await?;
    Ok(opening(&statements.1, || {
        FromRow::from_row_at(&row, &positions(table))
    })?)
}

/// Consecutive rows binding the same columns; each row is validated on the way, so a batch
/// with an invalid row sends nothing.
fn runs<'a, I: InsertRow>(
    rows: &'a [I],
    fill: Option<&[bool]>,
    buffer: &mut Vec<Option<Param<'a>>>,
) -> Result<Vec<Run>, PgError> {
    crate::driver::runs(rows, buffer, |row, buffer| {
        push_row(row, None, fill, buffer)
    })
    .map_err(|(index, error)| PgError::InvalidRow { index, error })
}

async fn insert_many<C: GenericClient, I: InsertRow>(
    client: &mut C,
    statements: &StatementCache,
    rows: &[I],
) -> Result<u64, PgError> {
    let transaction = client.transaction().await?;
    let fill = batch_fill(&transaction, <I::Table as Table>::TABLE).await?;
    let inserted = insert_rows(&transaction, statements, rows, fill.as_deref()).await?;
    transaction.commit().await?;
    Ok(inserted)
}

/// Multi-row `INSERT`s of validated rows, chunked under the parameter limit; the columns
/// `fill` marks are bound to NULL where a row leaves them out.
async fn insert_rows<I: InsertRow>(
    transaction: &Transaction<'_>,
    statements: &StatementCache,
    rows: &[I],
    fill: Option<&[bool]>,
) -> Result<u64, PgError> {
    let table = <I::Table as Table>::TABLE;
    let mut buffer = Vec::with_capacity(table.columns.len());
    let runs = runs(rows, fill, &mut buffer)?;
    refuse_without_keys::<I>(&statements.1)?;
    // First every statement, prepared (or found in the cache) before any runs: a statement
    // failing in the server leaves the transaction unable to prepare another.
    let mut parts: Vec<(&Run, usize, usize, Statement)> = Vec::new();
    for run in &runs {
        for (start, count) in chunks(run) {
            let statement = statements
                .get(
                    transaction,
                    statements::insert(table, &run.set, count, false),
                )
                .await?;
            parts.push((run, start, count, statement));
        }
    }
    // Each statement's rows are sealed just before its parameters are bound, while the server
    // runs the statements before it. Each slot is filled once and read by shared reference,
    // so the sealed values and parameters stay where they are until every statement is done.
    let sealers: Vec<OnceLock<PartSealer>> = parts.iter().map(|_| OnceLock::new()).collect();
    let sealed: Vec<OnceLock<Vec<Option<&[u8]>>>> = parts.iter().map(|_| OnceLock::new()).collect();
    let jobs: Vec<OnceLock<Vec<Param>>> = parts.iter().map(|_| OnceLock::new()).collect();
    // The statements pipelined a few at a time: the server works on one while the next is on
    // its way. Plain futures in a queue, no closures returning async blocks: the whole future
    // stays `Send`, so callers can spawn it.
    let mut in_flight = FuturesOrdered::new();
    let mut inserted = 0;
    for (index, (run, start, count, statement)) in parts.iter().enumerate() {
        let (start, count) = (*start, *count);
        let part = &rows[start..start + count];
        let mut made = PartSealer::new::<I>(&statements.1)?;
        made.seal(part)?;
        let sealer = sealers[index].get_or_init(|| made);
        let values = sealed[index].get_or_init(|| sealer.values());
        let mut params = Vec::with_capacity(count * run.set.count());
        for (offset, row) in part.iter().enumerate() {
            push_row(row, sealer.row(values, offset), fill, &mut buffer);
            params.extend(buffer.drain(..).flatten());
        }
        let params = jobs[index].get_or_init(|| params);
        in_flight.push_back(transaction.execute(statement, params));
        if in_flight.len() >= STATEMENTS_IN_FLIGHT {
            if let Some(count) = in_flight.next().await {
                inserted += count?;
            }
        }
    }
    while let Some(count) = in_flight.next().await {
        inserted += count?;
    }
    Ok(inserted)
}

/// Whether the session may insert into every column of the table, and whether the server would
/// refuse a `COPY FROM` of the table before it starts for another reason (other than those the
/// `LOCK TABLE` and the fresh `prepare` below raise): row-level security applying to the
/// session, a read-only transaction, a column of the table generated. A missing table fails
/// this statement, as an ordinary one.
const COPY_PREFLIGHT: &str = "SELECT has_table_privilege($1::text, 'INSERT'), \
     row_security_active($1::text) \
     OR current_setting('transaction_read_only')::bool \
     OR EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = $1::text::regclass \
         AND attname::text = ANY($2::text[]) AND attgenerated <> '')";

async fn copy_in<C: GenericClient, I: InsertRow>(
    client: &mut C,
    statements: &StatementCache,
    rows: &[I],
) -> Result<u64, PgError> {
    let table = <I::Table as Table>::TABLE;
    let mut buffer = Vec::with_capacity(table.columns.len());
    // Every row is validated before anything is sent. COPY is used only with the table-wide
    // INSERT privilege, so its rows bind NULL for the columns they leave out.
    let fill = nullable_without_default(table);
    let runs = runs(rows, Some(&fill), &mut buffer)?;
    refuse_without_keys::<I>(&statements.1)?;
    let transaction = client.transaction().await?;
    // A COPY that the server refuses before it enters COPY mode leaves tokio-postgres's
    // connection unusable (rust-postgres#1337: the answer to the COPY's own Sync and the one
    // sent after the aborted copy do not match its requests). So every failure that can happen
    // there is made to happen first, as an ordinary statement, inside this transaction:
    //
    // - where COPY would be refused (row-level security, privileges, a read-only transaction,
    //   a generated column), the same rows go in by multi-row INSERT instead, which the
    //   policies check row by row and which fails, if it must, with the server's own error;
    // - the table is locked as COPY FROM locks it (ROW EXCLUSIVE), so a lock timeout or a
    //   missing table fails here, and the table cannot be altered or dropped until the
    //   transaction ends;
    // - the column types are learnt from a statement prepared now, after the lock, never from
    //   the cache, so a column dropped or renamed since the last COPY fails at `prepare`.
    //
    // What remains can only fail once COPY is under way (a row breaking a constraint, a
    // trigger), which ends the copy cleanly, or is a race no lock prevents (a privilege revoked
    // between this check and the COPY, a statement timeout or cancel at that very moment).
    let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let preflight = transaction
        .query_one(COPY_PREFLIGHT, &[&table.quoted_name(), &names])
        .await?;
    let (whole_table, refused): (bool, bool) = (preflight.get(0), preflight.get(1));
    if !whole_table || refused {
        let fill = whole_table.then_some(fill.as_slice());
        let inserted = insert_rows(&transaction, statements, rows, fill).await?;
        transaction.commit().await?;
        return Ok(inserted);
    }
    transaction
        .batch_execute(&format!(
            "LOCK TABLE {} IN ROW EXCLUSIVE MODE",
            table.quoted_name()
        ))
        .await?;
    let mut loaded = 0;
    for Run { first, end, set } in runs {
        if set.count() == 0 {
            // COPY needs a column; rows that set none take every default by INSERT.
            loaded += insert_rows(&transaction, statements, &rows[first..end], Some(&fill)).await?;
            continue;
        }
        // The columns' types, as the database has them now. The fresh statement replaces
        // the one cached for the shape (closing it), so the connection keeps one per shape.
        let sql = statements::select_columns(table, &set);
        let statement = transaction.prepare(&sql).await?;
        statements.replace(sql, statement.clone());
        let types: Vec<Type> = statement
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let sink = transaction
            .copy_in(&statements::copy_in(table, &set))
            .await?;
        let columns: Vec<&'static str> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| set.contains(*i))
            .map(|(_, c)| c.name)
            .collect();
        let mut writer = CopyWriter::new(sink, types, columns);
        // Rows are sealed a part at a time, just before they are written: the server takes
        // in one part while the next is sealed.
        let mut sealer = PartSealer::new::<I>(&statements.1)?;
        let mut index = first;
        for part in rows[first..end].chunks(MAX_ROWS_PER_INSERT) {
            sealer.seal(part)?;
            let sealed = sealer.values();
            let mut buffer = Vec::with_capacity(table.columns.len());
            let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(table.columns.len());
            for (offset, row) in part.iter().enumerate() {
                push_row(row, sealer.row(&sealed, offset), Some(&fill), &mut buffer);
                params.clear();
                params.extend(buffer.drain(..).flatten());
                writer.write(index, &params).await?;
                index += 1;
            }
        }
        loaded += writer.finish().await?;
    }
    transaction.commit().await?;
    Ok(loaded)
}

/// The chunks a `copy_in` sends: about 64 KiB of rows each.
const COPY_CHUNK: usize = 64 * 1024;

/// The signature of PostgreSQL's binary COPY format.
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Rows in PostgreSQL's binary COPY format, as tokio-postgres's `BinaryCopyInWriter` writes
/// them, sent in chunks of [`COPY_CHUNK`] bytes rather than of 4 KiB: each chunk is a message
/// handed to the connection's task (waking it) and read by the server, so larger chunks cost
/// both sides fewer wake-ups, and sealed rows (larger than their plaintext) many fewer.
struct CopyWriter {
    sink: std::pin::Pin<Box<tokio_postgres::CopyInSink<bytes::Bytes>>>,
    types: Vec<Type>,
    columns: Vec<&'static str>,
    buffer: bytes::BytesMut,
}

impl CopyWriter {
    /// A writer of rows of the columns `columns`, of types `types`, into `sink`.
    fn new(
        sink: tokio_postgres::CopyInSink<bytes::Bytes>,
        types: Vec<Type>,
        columns: Vec<&'static str>,
    ) -> Self {
        use bytes::BufMut;
        let mut buffer = bytes::BytesMut::with_capacity(COPY_CHUNK + COPY_CHUNK / 4);
        buffer.put_slice(COPY_SIGNATURE);
        buffer.put_i32(0); // flags
        buffer.put_i32(0); // header extension
        CopyWriter {
            sink: Box::pin(sink),
            types,
            columns,
            buffer,
        }
    }

    /// Writes the row at `index` of the batch, its values in column order; a value that does
    /// not encode for its column is [`PgError::Encode`], and the row is left out.
    async fn write(&mut self, index: usize, values: &[Param<'_>]) -> Result<(), PgError> {
        use bytes::BufMut;
        use futures_util::SinkExt;
        debug_assert_eq!(values.len(), self.types.len());
        let start = self.buffer.len();
        self.buffer.put_i16(values.len() as i16);
        for (at, (value, ty)) in values.iter().zip(&self.types).enumerate() {
            let len_at = self.buffer.len();
            self.buffer.put_i32(0);
            let len = match value.to_sql_checked(ty, &mut self.buffer) {
                Ok(tokio_postgres::types::IsNull::Yes) => Ok(-1),
                Ok(tokio_postgres::types::IsNull::No) => {
                    i32::try_from(self.buffer.len() - len_at - 4).map_err(|e| e.into())
                }
                Err(error) => Err(error),
            };
            let len = match len {
                Ok(len) => len,
                Err(source) => {
                    self.buffer.truncate(start);
                    return Err(PgError::Encode {
                        index,
                        column: self.columns.get(at).copied().unwrap_or(""),
                        source,
                    });
                }
            };
            self.buffer[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        }
        if self.buffer.len() >= COPY_CHUNK {
            let chunk = self.buffer.split().freeze();
            self.sink.send(chunk).await?;
        }
        Ok(())
    }

    /// Sends what is left and the trailer, and completes the copy: the rows written.
    async fn finish(mut self) -> Result<u64, PgError> {
        use bytes::BufMut;
        use futures_util::SinkExt;
        self.buffer.put_i16(-1);
        let chunk = self.buffer.split().freeze();
        self.sink.send(chunk).await?;
        Ok(self.sink.as_mut().finish().await?)
    }
}

async fn get<C: GenericClient, T>(
    client: &C,
    statements: &StatementCache,
    key: &T::Key,
    pin: Option<&TenantPin>,
) -> Result<Option<T::Select>, PgError>
where
    T: KeyedTable,
    T::Select: FromRow,
{
    let table = T::TABLE;
    let mut params = Vec::with_capacity(table.primary_key.len() + 1);
    T::push_key(key, &mut params);
    let sql = statements::with_tenant(statements::select_by_key(table), table, pin, &mut params);
    let statement = statements.get_rows(client, sql, table).await?;
    fetch_opt(client, &statement, &params, table, &statements.1).await
}

async fn select_all<C: GenericClient, T>(
    client: &C,
    statements: &StatementCache,
) -> Result<Vec<T::Select>, PgError>
where
    T: Table,
    T::Select: FromRow,
{
    stream_all::<_, T>(client, statements)
        .await?
        .try_collect()
        .await
}

async fn select_all_results<C: GenericClient, T>(
    client: &C,
    statements: &StatementCache,
) -> Result<Vec<Result<T::Select, DecodeError>>, PgError>
where
    T: Table,
    T::Select: FromRow,
{
    let table = T::TABLE;
    let statement = statements
        .get_rows(client, statements::select_all(table), table)
        .await?;
    let indexes = positions(table);
    let rows = client
        .query_raw(&statement, std::iter::empty::<Param>())
        .await?;
    pin_mut!(rows);
    let mut decoded = Vec::new();
    while let Some(row) = rows.try_next().await? {
        decoded.push(opening(&statements.1, || {
            FromRow::from_row_at(&row, &indexes)
        }));
    }
    Ok(decoded)
}

/// Runs a statement returning at most one row of `table`'s columns, in order, and decodes it.
async fn fetch_opt<C: GenericClient, S: FromRow>(
    client: &C,
    statement: &Statement,
    params: &[Param<'_>],
    table: &TableDef,
    keys: &Opening,
) -> Result<Option<S>, PgError> {
    match client.query_opt(statement, params).await? {
        Some(row) => Ok(Some(opening(keys, || {
            S::from_row_at(&row, &positions(table))
        })?)),
        None => Ok(None),
    }
}

async fn update<C: GenericClient, U>(
    client: &C,
    statements: &StatementCache,
    key: &<U::Table as KeyedTable>::Key,
    patch: &U,
    pin: Option<&TenantPin>,
) -> Result<Option<<U::Table as Table>::Select>, PgError>
where
    U: UpdateRow,
    <U::Table as Table>::Select: FromRow,
{
    patch.validate()?;
    let table = <U::Table as Table>::TABLE;
    let mut changes = Vec::with_capacity(table.columns.len());
    let sealed = seal_changes(&statements.1, key, patch)?;
    patch.push_changes(&mut changes);
    apply_sealed(table, &mut changes, sealed.as_deref());
    let set = ColumnSet::from_present(&changes);
    let Some(sql) = statements::update_by_key(table, &set) else {
        return get::<C, U::Table>(client, statements, key, pin).await;
    };
    let mut params: Vec<Param> = changes.into_iter().flatten().collect();
    <U::Table as KeyedTable>::push_key(key, &mut params);
    let sql = statements::with_tenant(sql, table, pin, &mut params);
    let statement = statements.get_rows(client, sql, table).await?;
    fetch_opt(client, &statement, &params, table, &statements.1).await
}

async fn delete<C: GenericClient, T: KeyedTable>(
    client: &C,
    statements: &StatementCache,
    key: &T::Key,
    pin: Option<&TenantPin>,
) -> Result<bool, PgError> {
    let table = T::TABLE;
    let mut params = Vec::with_capacity(table.primary_key.len() + 1);
    T::push_key(key, &mut params);
    let sql = statements::with_tenant(statements::delete_by_key(table), table, pin, &mut params);
    let statement = statements.get(client, sql).await?;
    Ok(client.execute(&statement, &params).await? > 0)
}

/// Rows decoded as they arrive from the server: what [`Db::stream_all`] and
/// [`Db::query_stream`] return. It holds one row at a time, whatever the size of the result;
/// the connection serves no other statement until the stream ends or is dropped.
pub struct Rows<S> {
    rows: std::pin::Pin<Box<tokio_postgres::RowStream>>,
    indexes: Vec<usize>,
    keys: Opening,
    decoded: std::marker::PhantomData<fn() -> S>,
}

impl<S: FromRow> futures_util::Stream for Rows<S> {
    type Item = Result<S, PgError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.rows.as_mut().poll_next(cx).map(|row| {
            row.map(|row| match row {
                Ok(row) => opening(&this.keys, || S::from_row_at(&row, &this.indexes))
                    .map_err(PgError::from),
                Err(error) => Err(PgError::from(error)),
            })
        })
    }
}

async fn stream_all<C: GenericClient, T>(
    client: &C,
    statements: &StatementCache,
) -> Result<Rows<T::Select>, PgError>
where
    T: Table,
    T::Select: FromRow,
{
    let table = T::TABLE;
    let statement = statements
        .get_rows(client, statements::select_all(table), table)
        .await?;
    rows(client, &statement, &[], positions(table), &statements.1).await
}

async fn query_stream<C: GenericClient, S: FromRow>(
    client: &C,
    statements: &StatementCache,
    sql: &str,
    params: &[Param<'_>],
) -> Result<Rows<S>, PgError> {
    let statement = statements.get(client, sql.to_string()).await?;
    let indexes = codec::statement_indexes(<S::Table as Table>::TABLE, statement.columns())?;
    rows(client, &statement, params, indexes, &statements.1).await
}

async fn rows<C: GenericClient, S: FromRow>(
    client: &C,
    statement: &Statement,
    params: &[Param<'_>],
    indexes: Vec<usize>,
    keys: &Opening,
) -> Result<Rows<S>, PgError> {
    let rows = client.query_raw(statement, params.iter().copied()).await?;
    Ok(Rows {
        rows: Box::pin(rows),
        indexes,
        keys: share(keys),
        decoded: std::marker::PhantomData,
    })
}

async fn query_as<C: GenericClient, S: FromRow>(
    client: &C,
    statements: &StatementCache,
    sql: &str,
    params: &[Param<'_>],
) -> Result<Vec<S>, PgError> {
    query_stream(client, statements, sql, params)
        .await?
        .try_collect()
        .await
}

/// The parameters of a typed query, as tokio-postgres binds them.
fn pg_params<'q>(sql: &QuerySql<'q>) -> Vec<Param<'q>> {
    sql.params.iter().map(|value| value.as_pg()).collect()
}

async fn fetch_stream<C: GenericClient, T>(
    client: &C,
    statements: &StatementCache,
    query: &Select<T>,
) -> Result<Rows<T::Select>, PgError>
where
    T: Table,
    T::Select: FromRow,
{
    let table = T::TABLE;
    let sql = query.to_sql()?;
    let params = pg_params(&sql);
    let statement = statements.get_rows(client, sql.sql, table).await?;
    rows(client, &statement, &params, positions(table), &statements.1).await
}

/// Runs a typed query's statement that answers one row (a count, an existence).
async fn scalar<C: GenericClient>(
    client: &C,
    statements: &StatementCache,
    sql: QuerySql<'_>,
) -> Result<tokio_postgres::Row, PgError> {
    let statement = statements.get(client, sql.sql.clone()).await?;
    Ok(client.query_one(&statement, &pg_params(&sql)).await?)
}

async fn fetch_columns<C: GenericClient, T, P>(
    client: &C,
    statements: &StatementCache,
    query: &Projection<T, P>,
) -> Result<Vec<P::Output>, PgError>
where
    T: Table,
    P: Columns<T>,
    P::Output: FromColumns,
{
    let sql = query.to_sql()?;
    let statement = statements.get(client, sql.sql.clone()).await?;
    let indexes = query.indexes();
    let rows = client.query(&statement, &pg_params(&sql)).await?;
    rows.iter()
        .map(|row| Ok(P::Output::from_columns(row, T::TABLE, &indexes)?))
        .collect()
}

/// Runs an update or delete returning the rows it changed.
/// An update by filter that sets encrypted columns: the rows' keys read (and locked), each
/// row's values sealed for it, then one update joined by key (see `update_where`).
#[cfg(feature = "encrypt")]
async fn sealed_update_where<C: GenericClient, U>(
    client: &C,
    statements: &StatementCache,
    query: &Update<'_, U>,
) -> Result<Vec<<U::Table as Table>::Select>, PgError>
where
    U: PatchValues,
    <U::Table as Table>::Select: FromRow,
{
    use crate::driver::sealed_update::{no_keys, seal_rows, LockedKey};
    let table = <U::Table as Table>::TABLE;
    let keys = statements
        .1
        .as_ref()
        .ok_or_else(|| PgError::Crypto(no_keys(table)))?;
    let lock = query.lock_keys_sql()?;
    let statement = statements.get(client, lock.sql.clone()).await?;
    let width = table.primary_key.len();
    let key_at: Vec<usize> = (0..width).collect();
    let mut locked = Vec::new();
    for row in client.query(&statement, &pg_params(&lock)).await? {
        locked.push(LockedKey {
            binding: <U::Table as Table>::Select::row_binding(&row, &key_at)?,
            text: (width..2 * width)
                .map(|i| row.try_get(i))
                .collect::<Result<_, _>>()?,
        });
    }
    if locked.is_empty() {
        return Ok(Vec::new());
    }
    let sealed = seal_rows(query.patch(), keys, &locked).map_err(PgError::Crypto)?;
    let update = query.sealed_sql()?;
    let mut params = pg_params(&update);
    params.extend(sealed.keys.iter().map(|k| k as Param));
    params.extend(sealed.sealed.iter().map(|s| s as Param));
    let statement = statements
        .get_rows(client, update.sql.clone(), table)
        .await?;
    let rows = client.query(&statement, &params).await?;
    let indexes = positions(table);
    rows.iter()
        .map(|row| {
            Ok(opening(&statements.1, || {
                FromRow::from_row_at(row, &indexes)
            })?)
        })
        .collect()
}

async fn write_rows<C: GenericClient, S: FromRow>(
    client: &C,
    statements: &StatementCache,
    table: &'static TableDef,
    sql: QuerySql<'_>,
) -> Result<Vec<S>, PgError> {
    let statement = statements.get_rows(client, sql.sql.clone(), table).await?;
    let rows = client.query(&statement, &pg_params(&sql)).await?;
    let indexes = positions(table);
    rows.iter()
        .map(|row| Ok(opening(&statements.1, || S::from_row_at(row, &indexes))?))
        .collect()
}
