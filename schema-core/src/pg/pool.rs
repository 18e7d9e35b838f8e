//! Pools of [`Db`]s (features `deadpool` and `bb8`): each pooled object is one physical
//! connection with its own prepared statements, kept across checkouts, so a statement prepared
//! on one connection is never used on another.
//!
//! ```no_run
//! # #[cfg(feature = "deadpool")]
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use schema_core::pg::pool::DbManager;
//! use schema_core::pg::RequestScope;
//!
//! let manager = DbManager::new("postgres://app@127.0.0.1/app")?;
//! let pool = deadpool::managed::Pool::<DbManager>::builder(manager).max_size(4).build()?;
//! let mut db = pool.get().await?; // derefs to `Db`
//! let scope = RequestScope { role: "physician", setting: "app.provider_id", value: "42" };
//! let transaction = db.scoped_transaction(scope).await?;
//! # drop(transaction);
//! # Ok(())
//! # }
//! ```
//!
//! A checkout gets the connection as the last user left it, except for a transaction it
//! leaked and what it set for the session: recycling ends that transaction first (the same
//! check every typed call of a [`Db`] makes), so a scope set with `SET LOCAL` never reaches the
//! next request, then runs `RESET ALL; RESET ROLE`, so that a role or setting a request set for
//! the session (a `SET ROLE` inside a scoped transaction, which outlives its commit) does not
//! either: the next request acts as the login, with the settings it connected with. Prepared
//! statements are kept.

use super::{ConnectConfig, Db, PgError};

/// Makes and checks the [`Db`]s of a pool.
#[derive(Clone)]
pub struct DbManager {
    config: ConnectConfig,
    /// The keys every pooled `Db` seals and opens encrypted columns with (feature `encrypt`).
    #[cfg(feature = "encrypt")]
    keys: Option<std::sync::Arc<crate::crypto::Keys>>,
}

impl DbManager {
    /// A manager connecting with `config` (a URL or key-value string), with TLS as its
    /// `sslmode` says (see [`connect`](fn@super::connect)).
    pub fn new(config: &str) -> Result<Self, PgError> {
        Ok(DbManager::from_config(ConnectConfig::parse(config)?))
    }

    /// A manager connecting with `config` (certificates given in code, say).
    pub fn from_config(config: ConnectConfig) -> Self {
        DbManager {
            config,
            #[cfg(feature = "encrypt")]
            keys: None,
        }
    }

    /// Every `Db` of the pool seals and opens encrypted columns with `keys`
    /// ([`Db::with_keys`]; feature `encrypt`).
    #[cfg(feature = "encrypt")]
    pub fn with_keys(mut self, keys: std::sync::Arc<crate::crypto::Keys>) -> Self {
        self.keys = Some(keys);
        self
    }

    async fn connect(&self) -> Result<Db, PgError> {
        let (client, _connection) = self.config.connect().await?;
        let db = Db::new(client);
        #[cfg(feature = "encrypt")]
        let db = match &self.keys {
            Some(keys) => db.with_keys(keys.clone()),
            None => db,
        };
        Ok(db)
    }

    /// Whether a pooled `Db` may serve the next checkout: its connection is open, a
    /// transaction it leaked is rolled back, and the server answers.
    async fn check(&self, db: &Db) -> Result<(), PgError> {
        db.end_leaked_transaction().await?;
        db.client().batch_execute("RESET ALL; RESET ROLE").await?;
        Ok(())
    }
}

#[cfg(feature = "deadpool")]
impl deadpool::managed::Manager for DbManager {
    type Type = Db;
    type Error = PgError;

    async fn create(&self) -> Result<Db, PgError> {
        self.connect().await
    }

    async fn recycle(
        &self,
        db: &mut Db,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<PgError> {
        if db.client().is_closed() {
            return Err(deadpool::managed::RecycleError::message(
                "the connection is closed",
            ));
        }
        self.check(db)
            .await
            .map_err(deadpool::managed::RecycleError::Backend)
    }
}

#[cfg(feature = "bb8")]
impl bb8::ManageConnection for DbManager {
    type Connection = Db;
    type Error = PgError;

    async fn connect(&self) -> Result<Db, PgError> {
        DbManager::connect(self).await
    }

    async fn is_valid(&self, db: &mut Db) -> Result<(), PgError> {
        self.check(db).await
    }

    fn has_broken(&self, db: &mut Db) -> bool {
        db.client().is_closed()
    }
}
