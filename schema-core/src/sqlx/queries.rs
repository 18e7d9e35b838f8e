//! Typed queries ([`crate::query`]) run through sqlx: the statements and parameters the
//! tokio-postgres side runs, on any executor (a `&PgPool`, a `&mut PgConnection`, a
//! transaction as `&mut *tx`).

use ::sqlx::postgres::{PgArguments, PgRow};
use ::sqlx::{Decode, Executor, FromRow, Postgres, Type};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use super::{decode, SqlxError};
use crate::query::{Columns, Delete, PatchValues, Projection, QuerySql, Select, Update};
use crate::{PgType, Table, TableDef};

/// The parameters of a typed query, bound in order.
fn arguments(table: &'static TableDef, sql: &QuerySql<'_>) -> Result<PgArguments, SqlxError> {
    let mut arguments = PgArguments::default();
    for (i, value) in sql.params.iter().enumerate() {
        value
            .as_sqlx()
            .bind_to(&mut arguments)
            .map_err(|source| SqlxError::EncodeParameter {
                table: table.name,
                parameter: i + 1,
                source,
            })?;
    }
    Ok(arguments)
}

/// Runs a rendered statement returning rows of `table`'s columns and decodes them all.
async fn all_rows<'e, E, S>(
    executor: E,
    table: &'static TableDef,
    sql: QuerySql<'_>,
) -> Result<Vec<S>, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    S: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let arguments = arguments(table, &sql)?;
    Ok(::sqlx::query_as_with(&sql.sql, arguments)
        .fetch_all(executor)
        .await?)
}

/// Runs a rendered statement answering one value (a count, an existence).
async fn one_value<'e, E, V>(
    executor: E,
    table: &'static TableDef,
    sql: QuerySql<'_>,
) -> Result<V, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    V: Type<Postgres> + for<'r> Decode<'r, Postgres> + Send + Unpin,
{
    let arguments = arguments(table, &sql)?;
    Ok(::sqlx::query_scalar_with(&sql.sql, arguments)
        .fetch_one(executor)
        .await?)
}

/// The rows a typed query reads, in its order (see [`Select`]).
pub async fn fetch_all<'e, E, T>(
    executor: E,
    query: &Select<T>,
) -> Result<Vec<T::Select>, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    T: Table,
    T::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    all_rows(executor, T::TABLE, query.to_sql()?).await
}

/// The rows of a rendered typed query (`query.to_sql()?`), as a stream that yields each row
/// as it arrives: memory stays constant whatever the size of the result. The stream borrows
/// the rendered statement, which the caller keeps.
///
/// ```no_run
/// # use schema_core::PgTable;
/// # #[derive(PgTable)]
/// # #[pg(table = "notes")]
/// # pub struct Note {
/// #     #[pg(primary_key)]
/// #     pub note_id: i64,
/// #     pub body: String,
/// # }
/// # async fn example(pool: &sqlx::PgPool) -> Result<(), schema_core::sqlx::SqlxError> {
/// use futures_util::TryStreamExt;
/// use schema_core::query::Select;
///
/// let query = Select::<Note>::new().order_by(Note::note_id.asc());
/// let sql = query.to_sql()?;
/// let mut rows = schema_core::sqlx::fetch_stream::<_, Note>(pool, &sql);
/// while let Some(note) = rows.try_next().await? {
///     println!("{}", note.body);
/// }
/// # Ok(())
/// # }
/// ```
pub fn fetch_stream<'e, 'q: 'e, E, T>(
    executor: E,
    sql: &'q QuerySql<'q>,
) -> BoxStream<'e, Result<T::Select, SqlxError>>
where
    E: Executor<'e, Database = Postgres> + 'e,
    T: Table,
    T::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin + 'e,
{
    match arguments(T::TABLE, sql) {
        Ok(arguments) => ::sqlx::query_as_with(&sql.sql, arguments)
            .fetch(executor)
            .map(|row| row.map_err(SqlxError::from))
            .boxed(),
        Err(error) => futures_util::stream::once(async move { Err(error) }).boxed(),
    }
}

/// The first row a typed query reads, if any, asked with `LIMIT 1` (or the query's own limit
/// of 0): the server sends no row that would be thrown away.
pub async fn fetch_optional<'e, E, T>(
    executor: E,
    query: &Select<T>,
) -> Result<Option<T::Select>, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    T: Table,
    T::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let query = query.first_row();
    let sql = query.to_sql()?;
    let arguments = arguments(T::TABLE, &sql)?;
    Ok(::sqlx::query_as_with(&sql.sql, arguments)
        .fetch_optional(executor)
        .await?)
}

/// How many rows a typed query's filter keeps (order, limit and offset aside).
pub async fn count<'e, E, T>(executor: E, query: &Select<T>) -> Result<i64, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    T: Table,
{
    one_value(executor, T::TABLE, query.count_sql()?).await
}

/// Whether a typed query's filter keeps any row.
pub async fn exists<'e, E, T>(executor: E, query: &Select<T>) -> Result<bool, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    T: Table,
{
    one_value(executor, T::TABLE, query.exists_sql()?).await
}

/// Chosen columns of a row, decoded into a tuple of their Rust types by the same checks as
/// `SelectX`'s fields ([`decode`]): what [`fetch_columns`] reads.
pub trait FromColumns: Sized {
    /// Decodes the row's values; value `i` is the table's column `columns[i]`.
    fn from_columns(
        row: &PgRow,
        table: &'static TableDef,
        columns: &[usize],
    ) -> Result<Self, ::sqlx::Error>;
}

macro_rules! from_columns_tuple {
    ($($r:ident $i:tt),+) => {
        impl<$($r),+> FromColumns for ($($r,)+)
        where
            $($r: PgType + Type<Postgres> + for<'r> Decode<'r, Postgres>),+
        {
            fn from_columns(
                row: &PgRow,
                table: &'static TableDef,
                columns: &[usize],
            ) -> Result<Self, ::sqlx::Error> {
                Ok(($(decode::<$r>(row, table, columns[$i])?,)+))
            }
        }
    };
}

from_columns_tuple!(A 0);
from_columns_tuple!(A 0, B 1);
from_columns_tuple!(A 0, B 1, C 2);
from_columns_tuple!(A 0, B 1, C 2, D 3);
from_columns_tuple!(A 0, B 1, C 2, D 3, E 4);
from_columns_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

/// The chosen columns of the rows a typed query reads, each row a tuple of the columns' Rust
/// types ([`Select::columns`]).
pub async fn fetch_columns<'e, E, T, C>(
    executor: E,
    query: &Projection<T, C>,
) -> Result<Vec<C::Output>, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    T: Table,
    C: Columns<T>,
    C::Output: FromColumns,
{
    let sql = query.to_sql()?;
    let arguments = arguments(T::TABLE, &sql)?;
    let indexes = query.indexes();
    let rows = ::sqlx::query_with(&sql.sql, arguments)
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|row| Ok(C::Output::from_columns(row, T::TABLE, &indexes)?))
        .collect()
}

/// Applies a patch (after validating it) to every row the update's filter keeps and returns
/// them as changed; refused without a filter unless it says `all_rows()`. The database's
/// column grants, `immutable` rules and row-level security hold for the session's role. A
/// patch that sets an encrypted column needs the keys: it is refused here before anything is
/// sent ([`SqlxError::Encode`] with `CryptoProblem::NoKeys`); `update_where_encrypted` seals it.
pub async fn update_where<'e, E, U>(
    executor: E,
    query: &Update<'_, U>,
) -> Result<Vec<<U::Table as Table>::Select>, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    U: PatchValues,
    <U::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    query.patch().validate()?;
    let table = <U::Table as Table>::TABLE;
    #[cfg(feature = "encrypt")]
    if query.seals() {
        let error = crate::driver::sealed_update::no_keys(table);
        return Err(SqlxError::Encode {
            table: table.name,
            column: error.column,
            source: Box::new(error),
        });
    }
    all_rows(executor, table, query.to_sql()?).await
}

/// [`update_where`] of a patch that may set encrypted columns (feature `encrypt`): each row's
/// values are sealed with `keys` for that row, since every ciphertext is bound to its own
/// row's key. The keys of the rows the filter keeps are read `FOR UPDATE`, each row's values
/// (and blind indexes) sealed for it, and one `UPDATE ... FROM unnest(keys, values)` joined
/// by key, with the filter checked again, writes them all; the rows it returns are opened
/// with `keys`. In a transaction (`&mut *tx`) the rows stay locked from the read of their keys
/// to its end; on a pool or a bare connection, a row changed in between is updated only if it
/// still matches the filter. A patch that sets no encrypted column runs as [`update_where`].
#[cfg(feature = "encrypt")]
pub async fn update_where_encrypted<'c, A, U>(
    connection: A,
    query: &Update<'_, U>,
    keys: &std::sync::Arc<crate::crypto::Keys>,
) -> Result<Vec<<U::Table as Table>::Select>, SqlxError>
where
    A: ::sqlx::Acquire<'c, Database = Postgres>,
    U: PatchValues,
    U::Table: super::KeyedTable,
    <U::Table as Table>::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    use crate::driver::sealed_update::{seal_rows, LockedKey};
    use ::sqlx::{Arguments, Row};
    query.patch().validate()?;
    let table = <U::Table as Table>::TABLE;
    let mut connection = connection.acquire().await?;
    if !query.seals() {
        let sql = query.to_sql()?;
        return crate::crypto::opening(Some(keys.clone()), all_rows(&mut *connection, table, sql))
            .await;
    }
    let lock = query.lock_keys_sql()?;
    let lock_arguments = arguments(table, &lock)?;
    let rows = ::sqlx::query_with(&lock.sql, lock_arguments)
        .fetch_all(&mut *connection)
        .await?;
    let width = table.primary_key.len();
    let mut locked = Vec::with_capacity(rows.len());
    for row in &rows {
        let text = (width..2 * width)
            .map(|i| row.try_get::<String, _>(i))
            .collect::<Result<_, _>>()?;
        locked.push(LockedKey {
            binding: <U::Table as super::KeyedTable>::key_binding(
                &<U::Table as super::KeyedTable>::decode_key(row)?,
            ),
            text,
        });
    }
    if locked.is_empty() {
        return Ok(Vec::new());
    }
    let sealed = seal_rows(query.patch(), keys, &locked).map_err(|error| SqlxError::Encode {
        table: table.name,
        column: error.column,
        source: Box::new(error),
    })?;
    let update = query.sealed_sql()?;
    let mut update_arguments = arguments(table, &update)?;
    let bound = update.params.len();
    let mut added = Vec::new();
    for k in &sealed.keys {
        added.push(update_arguments.add(k));
    }
    for s in &sealed.sealed {
        added.push(update_arguments.add(s));
    }
    for (i, added) in added.into_iter().enumerate() {
        added.map_err(|source| SqlxError::EncodeParameter {
            table: table.name,
            parameter: bound + i + 1,
            source,
        })?;
    }
    let fetch = ::sqlx::query_as_with(&update.sql, update_arguments).fetch_all(&mut *connection);
    Ok(crate::crypto::opening(Some(keys.clone()), fetch).await?)
}

/// Deletes every row the delete's filter keeps and returns them; refused without a filter
/// unless it says `all_rows()`.
pub async fn delete_where<'e, E, T>(
    executor: E,
    query: &Delete<T>,
) -> Result<Vec<T::Select>, SqlxError>
where
    E: Executor<'e, Database = Postgres>,
    T: Table,
    T::Select: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    all_rows(executor, T::TABLE, query.to_sql()?).await
}
