//! Wrapped data keys kept in a table of the application's database (feature `postgres`), beside
//! the data they open, as CipherSweet and Rails keep theirs: a process that restarts reads them
//! back, and deleting a tenant's rows there shreds its data.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;

use tokio_postgres::Client;

use super::keys::{DataKeyId, KeyStore, Purpose, WrappedKey};
use super::CryptoProblem;
use crate::pg::{ConnectConfig, PgError};
use crate::sql::{quote_ident, quote_literal};

/// Where a [`PgKeyStore`] keeps the wrapped keys: a table, by default
/// `schema_core.data_keys`, in a PostgreSQL schema of its own so that no schema the code
/// declares (which plans compare with the code) holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTable {
    /// The PostgreSQL schema.
    pub schema: String,
    /// The table.
    pub name: String,
    /// Whether [`PgKeyStore::connect_with`] creates the schema and the table when they are
    /// missing ([`ddl`](Self::ddl)); `false` for a login without `CREATE`, where a migration
    /// made them.
    pub create_if_missing: bool,
}

impl Default for KeyTable {
    /// `schema_core.data_keys`, created when missing.
    fn default() -> Self {
        KeyTable {
            schema: "schema_core".to_string(),
            name: "data_keys".to_string(),
            create_if_missing: true,
        }
    }
}

impl KeyTable {
    /// The table, qualified and quoted.
    pub fn quoted_name(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    /// The schema and the table, created if missing (what a migration of one's own can hold):
    /// one row per data key, `(tenant, purpose, version)` its key, holding the key wrapped by
    /// master key `master_version`, never the key itself.
    pub fn ddl(&self) -> String {
        let purposes = [Purpose::Fields, Purpose::BlindIndex]
            .iter()
            .map(|p| quote_literal(p.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};\n\
             CREATE TABLE IF NOT EXISTS {table} (\n    \
                 tenant bytea NOT NULL,\n    \
                 purpose text NOT NULL CHECK (purpose IN ({purposes})),\n    \
                 version integer NOT NULL CHECK (version > 0),\n    \
                 master_version integer NOT NULL,\n    \
                 wrapped bytea NOT NULL,\n    \
                 created_at timestamptz NOT NULL DEFAULT now(),\n    \
                 rewrapped_at timestamptz,\n    \
                 PRIMARY KEY (tenant, purpose, version)\n\
             );\n\
             COMMENT ON TABLE {table} IS {comment};\n",
            schema = quote_ident(&self.schema),
            table = self.quoted_name(),
            comment = quote_literal(
                "Data keys of schema-core's encrypted columns, each wrapped by a master key the \
                 database never sees. Deleting a tenant's rows makes its data unreadable."
            ),
        )
    }
}

/// A statement the store's thread runs on its connection, answering on its own channel.
type Job = Box<dyn for<'c> FnOnce(&'c Client) -> Pin<Box<dyn Future<Output = ()> + 'c>> + Send>;

/// Wrapped data keys in a table of the database ([`KeyTable`]), read and written on a
/// connection of the store's own.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use schema_core::crypto::{Keys, PgKeyStore, SecretKey, StaticKeyring};
///
/// let store = PgKeyStore::connect("postgres://keys@127.0.0.1/app").await?;
/// # let master_key_from_your_secret_store = [0u8; 32];
/// let master = StaticKeyring::new(SecretKey::from_bytes(master_key_from_your_secret_store));
/// let keys = Arc::new(Keys::new(master, Arc::new(store)));
/// let db = schema_core::pg::Db::connect("postgres://app@127.0.0.1/app")
///     .await?
///     .with_keys(keys);
/// # Ok(())
/// # }
/// ```
///
/// # Why a connection of its own
///
/// [`Keys`](super::Keys) asks its [`KeyStore`] synchronously: sealing and opening run inside
/// the drivers' encoding and decoding (a row type's `seal`, its `from_row`), which are not
/// `async`, exactly as a KMS behind [`MasterKeys`](super::MasterKeys) is asked synchronously.
/// [`PgKeyStore`] therefore runs its statements on a connection of its own, driven by a
/// runtime on a thread of its own: a call sends its statement there and waits for the answer.
/// Nothing it waits for needs the caller's runtime, so it cannot deadlock a current-thread
/// runtime, and no statement of the store ever runs inside the caller's transaction or under
/// its scoped role (a physician's role needs no grant on the key table).
///
/// The store is asked only when [`Keys`](super::Keys)' cache misses: a tenant's newest version
/// and its wrapped key once per purpose, again after the cache's
/// [`max_age`](super::CacheLimits::max_age) or `max_uses`; a new tenant's first key; a
/// rotation, a rewrap, a shred. Such a miss holds the calling thread for one round trip to the
/// database, as a KMS call does; everything else is answered from memory.
///
/// A key written here is committed at once, whatever becomes of the write that needed it: a
/// rolled-back insert leaves an unused key (harmless), and two processes making a tenant's
/// first key at once keep whichever was stored first (the other reads it back). A shred is
/// committed at once too; another process still holds the tenant's unwrapped keys in its
/// cache until they expire (at most [`max_age`](super::CacheLimits::max_age)).
///
/// A connection the server ended (a restart, `pg_terminate_backend`) is opened again before
/// the next call: at most the call that met it fails, with [`CryptoProblem::Provider`].
pub struct PgKeyStore {
    jobs: mpsc::Sender<Job>,
    table: String,
}

impl std::fmt::Debug for PgKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgKeyStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl PgKeyStore {
    /// The `application_name` of the store's connection (unless its connection string names
    /// one), as `pg_stat_activity` shows it.
    pub const APPLICATION_NAME: &'static str = "schema-core key store";

    /// Connects to `config` (a connection string, TLS as its `sslmode` says) and keeps the
    /// keys in `schema_core.data_keys`, created if missing.
    pub async fn connect(config: &str) -> Result<Self, CryptoProblem> {
        let config = ConnectConfig::parse(config).map_err(failed)?;
        Self::connect_with(config, KeyTable::default()).await
    }

    /// Connects with `config` and keeps the keys in `table`. The connection lives on a thread
    /// of the store's own, which ends when the store is dropped.
    pub async fn connect_with(
        config: ConnectConfig,
        table: KeyTable,
    ) -> Result<Self, CryptoProblem> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, connected) = tokio::sync::oneshot::channel();
        let ddl = table.create_if_missing.then(|| table.ddl());
        std::thread::Builder::new()
            .name("schema-core key store".to_string())
            .spawn(move || serve(config, ddl, ready, queue))
            .map_err(|error| CryptoProblem::Provider(format!("key store: {error}")))?;
        connected
            .await
            .map_err(|_| CryptoProblem::Provider("key store: its thread ended".to_string()))??;
        Ok(PgKeyStore {
            jobs,
            table: table.quoted_name(),
        })
    }

    /// Runs `statement` on the store's connection and waits for its answer.
    fn call<T: Send + 'static>(
        &self,
        statement: impl for<'c> FnOnce(
                &'c Client,
            )
                -> Pin<Box<dyn Future<Output = Result<T, tokio_postgres::Error>> + 'c>>
            + Send
            + 'static,
    ) -> Result<T, CryptoProblem> {
        let (answer, answered) = mpsc::channel();
        let job: Job = Box::new(move |client| {
            Box::pin(async move {
                let _ = answer.send(statement(client).await);
            })
        });
        let ended = || CryptoProblem::Provider(format!("key store {}: closed", self.table));
        self.jobs.send(job).map_err(|_| ended())?;
        answered
            .recv()
            .map_err(|_| ended())?
            .map_err(|error| failed(error.into()))
    }
}

/// The store's thread: connects (and creates the table), says so on `ready`, then runs each
/// job until the store is dropped.
fn serve(
    mut config: ConnectConfig,
    ddl: Option<String>,
    ready: tokio::sync::oneshot::Sender<Result<(), CryptoProblem>>,
    queue: mpsc::Receiver<Job>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(CryptoProblem::Provider(format!("key store: {error}"))));
            return;
        }
    };
    // Named in `pg_stat_activity`, unless the connection string names it.
    if config.pg_config().get_application_name().is_none() {
        config
            .pg_config_mut()
            .application_name(PgKeyStore::APPLICATION_NAME);
    }
    let connected = runtime.block_on(async {
        let (client, _connection) = config.connect().await?;
        if let Some(ddl) = ddl {
            client.batch_execute(&ddl).await?;
        }
        Ok::<_, PgError>(client)
    });
    let mut client = match connected {
        Ok(client) => {
            let _ = ready.send(Ok(()));
            client
        }
        Err(error) => {
            let _ = ready.send(Err(failed(error)));
            return;
        }
    };
    while let Ok(job) = queue.recv() {
        // Between jobs the runtime is idle: first its connection's task sees what came (a
        // connection the server closed, say), then a closed connection is opened again, so
        // that a restart of the server costs at most the call that met it.
        runtime.block_on(tokio::task::yield_now());
        if client.is_closed() {
            if let Ok((fresh, _connection)) = runtime.block_on(config.connect()) {
                client = fresh;
            }
        }
        runtime.block_on(job(&client));
    }
}

/// A failure of the store's connection, as the key provider's problem (the server's report
/// without any value of a row: [`PgError`] redacts it).
fn failed(error: PgError) -> CryptoProblem {
    CryptoProblem::Provider(format!("key store: {error}"))
}

fn version(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Runs `sql`, an insert or update of a key whose parameters are the key's tenant, purpose and
/// version, then its master key's version and wrapped bytes; returns how many rows it wrote.
async fn write(
    client: &Client,
    sql: String,
    id: DataKeyId,
    key: WrappedKey,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            &sql,
            &[
                &id.tenant,
                &id.purpose.as_str(),
                &version(id.version),
                &version(key.master_version),
                &key.bytes,
            ],
        )
        .await
}

impl KeyStore for PgKeyStore {
    fn latest(&self, tenant: &[u8], purpose: Purpose) -> Result<Option<u32>, CryptoProblem> {
        let sql = format!(
            "SELECT max(version) FROM {} WHERE tenant = $1 AND purpose = $2",
            self.table
        );
        let tenant = tenant.to_vec();
        let latest: Option<i32> = self.call(move |client| {
            Box::pin(async move {
                let row = client
                    .query_one(&sql, &[&tenant, &purpose.as_str()])
                    .await?;
                row.try_get(0)
            })
        })?;
        Ok(latest.map(|v| v.max(0) as u32))
    }

    fn get(&self, id: &DataKeyId) -> Result<Option<WrappedKey>, CryptoProblem> {
        let sql = format!(
            "SELECT master_version, wrapped FROM {} \
             WHERE tenant = $1 AND purpose = $2 AND version = $3",
            self.table
        );
        let id = id.clone();
        self.call(move |client| {
            Box::pin(async move {
                let row = client
                    .query_opt(
                        &sql,
                        &[&id.tenant, &id.purpose.as_str(), &version(id.version)],
                    )
                    .await?;
                row.map(|row| {
                    Ok(WrappedKey {
                        master_version: row.try_get::<_, i32>(0)?.max(0) as u32,
                        bytes: row.try_get(1)?,
                    })
                })
                .transpose()
            })
        })
    }

    fn insert(&self, id: DataKeyId, key: WrappedKey) -> Result<bool, CryptoProblem> {
        let sql = format!(
            "INSERT INTO {} (tenant, purpose, version, master_version, wrapped) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            self.table
        );
        let written = self.call(move |client| Box::pin(write(client, sql, id, key)))?;
        Ok(written == 1)
    }

    fn replace(&self, id: &DataKeyId, key: WrappedKey) -> Result<(), CryptoProblem> {
        let sql = format!(
            "UPDATE {} SET master_version = $4, wrapped = $5, rewrapped_at = now() \
             WHERE tenant = $1 AND purpose = $2 AND version = $3",
            self.table
        );
        let id = id.clone();
        self.call(move |client| Box::pin(write(client, sql, id, key)))?;
        Ok(())
    }

    fn ids(&self) -> Result<Vec<DataKeyId>, CryptoProblem> {
        let sql = format!(
            "SELECT tenant, purpose, version FROM {} ORDER BY tenant, purpose, version",
            self.table
        );
        self.call(move |client| {
            Box::pin(async move {
                let mut ids = Vec::new();
                for row in client.query(&sql, &[]).await? {
                    // The table's CHECK admits only the purposes there are.
                    if let Some(purpose) = Purpose::from_name(row.try_get(1)?) {
                        ids.push(DataKeyId {
                            tenant: row.try_get(0)?,
                            purpose,
                            version: row.try_get::<_, i32>(2)?.max(0) as u32,
                        });
                    }
                }
                Ok(ids)
            })
        })
    }

    fn delete_tenant(&self, tenant: &[u8]) -> Result<usize, CryptoProblem> {
        let sql = format!("DELETE FROM {} WHERE tenant = $1", self.table);
        let tenant = tenant.to_vec();
        let deleted = self
            .call(move |client| Box::pin(async move { client.execute(&sql, &[&tenant]).await }))?;
        Ok(deleted as usize)
    }
}
