//! A tenant transaction through sqlx: the scope of [`TenantScope`] opened with the tenant's
//! key, typed as the root's key, and typed queries that carry the tenant's equality
//! themselves, as `schema_core::pg::Db::tenant` does on tokio-postgres.

use ::sqlx::postgres::PgRow;
use ::sqlx::{FromRow, PgPool, Postgres, Transaction};

use super::{queries, scoped_transaction, FromColumns, RequestScope, SqlxError};
use crate::query::{Columns, Delete, PatchValues, Projection, QueryValue, Select, Update};
use crate::tenant::{TenantPin, TenantScope};
use crate::{Table, Target, TenantRoot};

/// A transaction scoped to one tenant (see [`tenant_transaction`]): its typed queries of the
/// tenant root's tables carry `"provider_id" = $n` first. Dropped without
/// [`commit`](TenantTransaction::commit), it rolls back.
pub struct TenantTransaction {
    transaction: Transaction<'static, Postgres>,
    pin: TenantPin,
}

/// Opens a transaction scoped to one tenant: [`scoped_transaction`] acting as the scope's role,
/// with the tenant's key (typed as the root's key) in the scope's setting; on
/// [`Target::Citus`], `citus.propagate_set_commands = 'local'` is set first, in a query of its
/// own.
pub async fn tenant_transaction<R>(
    pool: &PgPool,
    scope: &TenantScope<R>,
    key: R::Key,
) -> Result<TenantTransaction, SqlxError>
where
    R: TenantRoot,
    R::Key: QueryValue + std::fmt::Display,
{
    let value = key.to_string();
    let request = RequestScope {
        role: scope.role(),
        setting: scope.setting(),
        value: &value,
    };
    let propagate =
        (scope.target() == Target::Citus).then_some(crate::target::citus::PROPAGATE_SET_LOCAL);
    let transaction = scoped_transaction_with(pool, request, propagate).await?;
    Ok(TenantTransaction {
        transaction,
        pin: scope.pin(key),
    })
}

async fn scoped_transaction_with(
    pool: &PgPool,
    scope: RequestScope<'_>,
    first: Option<&'static str>,
) -> Result<Transaction<'static, Postgres>, SqlxError> {
    match first {
        None => scoped_transaction(pool, scope).await,
        Some(first) => super::scoped_transaction_after(pool, scope, first).await,
    }
}

impl TenantTransaction {
    /// The tenant.
    pub fn pin(&self) -> &TenantPin {
        &self.pin
    }

    /// The transaction, for statements of your own (`&mut **tx.transaction()`); they carry
    /// nothing of the tenant but its scope.
    pub fn transaction(&mut self) -> &mut Transaction<'static, Postgres> {
        &mut self.transaction
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), SqlxError> {
        Ok(self.transaction.commit().await?)
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), SqlxError> {
        Ok(self.transaction.rollback().await?)
    }

    /// [`fetch_all`](super::fetch_all), in the tenant.
    pub async fn fetch_all<T>(&mut self, query: &Select<T>) -> Result<Vec<T::Select>, SqlxError>
    where
        T: Table,
        T::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let query = query.clone().in_tenant(&self.pin);
        queries::fetch_all(&mut *self.transaction, &query).await
    }

    /// [`fetch_optional`](super::fetch_optional), in the tenant.
    pub async fn fetch_optional<T>(
        &mut self,
        query: &Select<T>,
    ) -> Result<Option<T::Select>, SqlxError>
    where
        T: Table,
        T::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let query = query.clone().in_tenant(&self.pin);
        queries::fetch_optional(&mut *self.transaction, &query).await
    }

    /// [`count`](super::count), in the tenant.
    pub async fn count<T: Table>(&mut self, query: &Select<T>) -> Result<i64, SqlxError> {
        let query = query.clone().in_tenant(&self.pin);
        queries::count(&mut *self.transaction, &query).await
    }

    /// [`exists`](super::exists), in the tenant.
    pub async fn exists<T: Table>(&mut self, query: &Select<T>) -> Result<bool, SqlxError> {
        let query = query.clone().in_tenant(&self.pin);
        queries::exists(&mut *self.transaction, &query).await
    }

    /// [`fetch_columns`](super::fetch_columns), in the tenant.
    pub async fn fetch_columns<T, C>(
        &mut self,
        query: &Projection<T, C>,
    ) -> Result<Vec<C::Output>, SqlxError>
    where
        T: Table,
        C: Columns<T> + Clone,
        C::Output: FromColumns,
    {
        let query = query.clone().in_tenant(&self.pin);
        queries::fetch_columns(&mut *self.transaction, &query).await
    }

    /// [`update_where`](super::update_where), in the tenant.
    pub async fn update_where<U>(
        &mut self,
        query: &Update<'_, U>,
    ) -> Result<Vec<<U::Table as Table>::Select>, SqlxError>
    where
        U: PatchValues,
        <U::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let query = query.clone().in_tenant(&self.pin);
        queries::update_where(&mut *self.transaction, &query).await
    }

    /// [`update_where_encrypted`](super::update_where_encrypted), in the tenant (feature
    /// `encrypt`): the rows stay locked from the read of their keys to the transaction's end.
    #[cfg(feature = "encrypt")]
    pub async fn update_where_encrypted<U>(
        &mut self,
        query: &Update<'_, U>,
        keys: &std::sync::Arc<crate::crypto::Keys>,
    ) -> Result<Vec<<U::Table as Table>::Select>, SqlxError>
    where
        U: PatchValues,
        U::Table: super::KeyedTable,
        <U::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let query = query.clone().in_tenant(&self.pin);
        queries::update_where_encrypted(&mut *self.transaction, &query, keys).await
    }

    /// [`delete_where`](super::delete_where), in the tenant.
    pub async fn delete_where<T>(&mut self, query: &Delete<T>) -> Result<Vec<T::Select>, SqlxError>
    where
        T: Table,
        T::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let query = query.clone().in_tenant(&self.pin);
        queries::delete_where(&mut *self.transaction, &query).await
    }
}
