//! Re-encryption after a rotation (feature `postgres`): every encrypted column of a table
//! sealed again with its tenant's newest data key, by primary key in batches, each batch a
//! transaction that locks its rows with `FOR UPDATE SKIP LOCKED` (rows another transaction
//! holds are noted and left to the final pass, which waits for each of them). Safe to stop at any point and run
//! again: a value already on its tenant's newest key is left as it is, so a second run only
//! reads. Reads keep working throughout: the older key versions still open what they sealed.

use std::collections::HashSet;
use std::error::Error;

use bytes::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};
use tokio_postgres::{Client, Row};

use super::envelope::is_envelope;
use super::{push_part, tenant_bytes, Binding, Keys, Plaintext};
use crate::pg::{Db, PgError};
use crate::sql::quote_ident;
use crate::{SqlType, TableDef};

/// How a re-encryption runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reencryption {
    /// Rows per batch (per transaction).
    pub batch_size: usize,
    /// Stop after this many batches (a run cut short, as a kill would): the next run goes on.
    pub max_batches: Option<u64>,
}

impl Default for Reencryption {
    /// Batches of 500 rows, to the end.
    fn default() -> Self {
        Reencryption {
            batch_size: 500,
            max_batches: None,
        }
    }
}

/// What a re-encryption did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReencryptionProgress {
    /// Batches committed.
    pub batches: u64,
    /// Rows read.
    pub rows: u64,
    /// Rows written again (some value was not on its tenant's newest key).
    pub resealed: u64,
    /// Whether every row was reached (not cut short by `max_batches`).
    pub complete: bool,
}

/// A column value's bytes as the server sends them (binary format), whatever its type: the
/// key and tenant columns are read and sent back as they are.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Raw(pub(crate) Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Raw({} bytes)", self.0.len())
    }
}

impl ToSql for Raw {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// How many rows of each encrypted column of `table` hold plaintext (not NULL, not an
/// envelope): what must reach zero before a column being encrypted (`encrypted(migrating)`)
/// takes the strict state.
pub async fn plaintext_rows(
    db: &Db,
    table: &'static TableDef,
) -> Result<Vec<(&'static str, i64)>, PgError> {
    let mut counts = Vec::new();
    for column in table.columns.iter().filter(|c| c.holds_envelope()) {
        counts.push((
            column.name,
            count_plaintext(db.client(), table, column.name).await?,
        ));
    }
    Ok(counts)
}

/// The rows of `table.column` that are not NULL and not an envelope.
pub(crate) async fn count_plaintext(
    client: &tokio_postgres::Client,
    table: &TableDef,
    column: &str,
) -> Result<i64, PgError> {
    let quoted = quote_ident(column);
    let sql = format!(
        "SELECT count(*) FROM {} WHERE {quoted} IS NOT NULL AND NOT ({})",
        table.quoted_name(),
        crate::def::envelope_check_sql(&quoted)
    );
    Ok(client.query_one(&sql, &[]).await?.get(0))
}

/// Seals every encrypted column of `table` again with its tenant's newest data key, calling
/// `progress` after each batch. Each row's tenant and key columns are read as the Rust types
/// the derive gives columns of their SQL types and bound as an insert binds them.
///
/// A first pass goes through the table by key, each batch skipping the rows other
/// transactions hold and noting their keys (its key range read again without locking); a
/// second pass then waits for each row noted. Each row is read, and counted in
/// [`ReencryptionProgress::rows`], once.
pub async fn reencrypt(
    db: &Db,
    table: &'static TableDef,
    keys: &Keys,
    options: Reencryption,
    mut progress: impl FnMut(&ReencryptionProgress),
) -> Result<ReencryptionProgress, PgError> {
    let mut done = ReencryptionProgress::default();
    let Some(job) = Job::new(table, keys, options.batch_size) else {
        done.complete = true;
        return Ok(done);
    };
    let client = db.client();
    let cut_short =
        |done: &ReencryptionProgress| options.max_batches.is_some_and(|max| done.batches >= max);
    let mut held: Vec<Vec<Raw>> = Vec::new();
    let mut last: Option<Vec<Raw>> = None;
    loop {
        if cut_short(&done) {
            progress(&done);
            return Ok(done);
        }
        let batch = in_transaction(client, job.first_pass(client, last.as_deref())).await?;
        done.batches += 1;
        done.rows += batch.rows;
        done.resealed += batch.resealed;
        held.extend(batch.held);
        progress(&done);
        match batch.end {
            Some(end) => last = Some(end),
            None => break,
        }
    }
    for keys in held.chunks(job.limit) {
        if cut_short(&done) {
            progress(&done);
            return Ok(done);
        }
        let (rows, resealed) = in_transaction(client, job.wait_for(client, keys)).await?;
        done.batches += 1;
        done.rows += rows;
        done.resealed += resealed;
        progress(&done);
    }
    done.complete = true;
    progress(&done);
    Ok(done)
}

/// Runs `work` in a transaction: committed when it succeeds, rolled back when it fails.
async fn in_transaction<T>(
    client: &Client,
    work: impl std::future::Future<Output = Result<T, PgError>>,
) -> Result<T, PgError> {
    client.batch_execute("BEGIN").await?;
    match work.await {
        Ok(value) => {
            client.batch_execute("COMMIT").await?;
            Ok(value)
        }
        Err(error) => {
            client.batch_execute("ROLLBACK").await?;
            Err(error)
        }
    }
}

/// The statement parameters of `values`.
fn params<'a>(values: impl IntoIterator<Item = &'a Raw>) -> Vec<&'a (dyn ToSql + Sync)> {
    values
        .into_iter()
        .map(|v| v as &(dyn ToSql + Sync))
        .collect()
}

/// A batch of the first pass.
struct Batch {
    /// Rows read.
    rows: u64,
    /// Rows written again.
    resealed: u64,
    /// The key of the batch's last row; `None` when the batch reached the table's end.
    end: Option<Vec<Raw>>,
    /// The keys of the rows of the batch's key range that another transaction held.
    held: Vec<Vec<Raw>>,
}

/// The statements of a re-encryption of one table, and the sealing of its rows.
struct Job<'k> {
    table: &'static TableDef,
    keys: &'k Keys,
    /// Rows per batch.
    limit: usize,
    /// The primary key's columns.
    key_len: usize,
    /// The SQL type of each key column, then of the tenant column.
    key_types: Vec<&'static SqlType>,
    tenant_type: &'static SqlType,
    /// Each encrypted column, and whether it is being encrypted (may hold plaintext).
    encrypted: Vec<(&'static str, bool)>,
    /// The key columns, quoted.
    key_list: String,
    /// What a batch reads of each row: its key, its tenant, its encrypted columns.
    columns: String,
    /// The update of a row's encrypted columns, by key.
    update: String,
}

impl<'k> Job<'k> {
    /// `None` for a table without encrypted columns or without a key: nothing to do.
    fn new(table: &'static TableDef, keys: &'k Keys, batch_size: usize) -> Option<Self> {
        let encrypted: Vec<(&'static str, bool)> = table
            .columns
            .iter()
            .filter(|c| c.holds_envelope())
            .map(|c| (c.name, c.encryption.is_some_and(|e| e.accepts_plaintext)))
            .collect();
        if encrypted.is_empty() || table.primary_key.is_empty() {
            return None;
        }
        let sql_type = |name: &str| {
            table
                .columns
                .iter()
                .find(|c| c.name == name)
                .map_or(&SqlType::Text, |c| &c.sql_type)
        };
        let key_types = table.primary_key.iter().map(|k| sql_type(k)).collect();
        let tenant_type = sql_type(table.tenant_column().unwrap_or(""));
        let quoted = |names: &mut dyn Iterator<Item = &str>| {
            names.map(quote_ident).collect::<Vec<_>>().join(", ")
        };
        let key_list = quoted(&mut table.primary_key.iter().copied());
        let key_len = table.primary_key.len();
        let columns = format!(
            "{key_list}, {}, {}",
            quote_ident(table.tenant_column().unwrap_or("")),
            quoted(&mut encrypted.iter().map(|(n, _)| *n))
        );
        let update = format!(
            "UPDATE {} SET {} WHERE ({key_list}) = ({})",
            table.quoted_name(),
            encrypted
                .iter()
                .enumerate()
                .map(|(i, (n, _))| format!(
                    "{c} = COALESCE(${p}, {c})",
                    c = quote_ident(n),
                    p = key_len + i + 1
                ))
                .collect::<Vec<_>>()
                .join(", "),
            placeholders(1, key_len)
        );
        Some(Job {
            table,
            keys,
            limit: batch_size.max(1),
            key_len,
            key_types,
            tenant_type,
            encrypted,
            key_list,
            columns,
            update,
        })
    }

    /// `WHERE` the key is after `$1..` (when `after`) and through the next parameters (when
    /// `through`); empty when neither.
    fn range(&self, after: bool, through: bool) -> String {
        let n = self.key_len;
        let mut conditions = Vec::new();
        if after {
            conditions.push(format!("({}) > ({})", self.key_list, placeholders(1, n)));
        }
        if through {
            let first = if after { n + 1 } else { 1 };
            conditions.push(format!(
                "({}) <= ({})",
                self.key_list,
                placeholders(first, n)
            ));
        }
        if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        }
    }

    /// A batch of the first pass: the next rows by key after `after` (from the start when
    /// `None`) that no other transaction holds, sealed again; then the keys of the rows of the
    /// range it went through that it did not get.
    async fn first_pass(&self, client: &Client, after: Option<&[Raw]>) -> Result<Batch, PgError> {
        let after = after.unwrap_or_default();
        let sql = format!(
            "SELECT {} FROM {}{} ORDER BY {} LIMIT {} FOR UPDATE SKIP LOCKED",
            self.columns,
            self.table.quoted_name(),
            self.range(!after.is_empty(), false),
            self.key_list,
            self.limit
        );
        let rows = client.query(&sql, &params(after)).await?;
        let resealed = self.reseal(client, &rows).await?;
        let got: Vec<Vec<Raw>> = rows.iter().map(|row| self.key_of(row)).collect();
        let end = if rows.len() >= self.limit {
            got.last().cloned()
        } else {
            None
        };
        // The range the batch went through: after `after`, through `end` (or to the table's end).
        let range = self.range(!after.is_empty(), end.is_some());
        let bounds = params(after.iter().chain(end.iter().flatten()));
        let in_range: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM {}{range}", self.table.quoted_name()),
                &bounds,
            )
            .await?
            .get(0);
        let mut held = Vec::new();
        if usize::try_from(in_range).is_ok_and(|n| n > rows.len()) {
            let seen: HashSet<&[Raw]> = got.iter().map(Vec::as_slice).collect();
            let sql = format!(
                "SELECT {keys} FROM {}{range} ORDER BY {keys}",
                self.table.quoted_name(),
                keys = self.key_list
            );
            for row in client.query(&sql, &bounds).await? {
                let key = self.key_of(&row);
                if !seen.contains(key.as_slice()) {
                    held.push(key);
                }
            }
        }
        Ok(Batch {
            rows: rows.len() as u64,
            resealed,
            end,
            held,
        })
    }

    /// A batch of the second pass: the rows of `keys`, each waited for, sealed again; the rows
    /// read (a row deleted meanwhile is not) and written.
    async fn wait_for(&self, client: &Client, keys: &[Vec<Raw>]) -> Result<(u64, u64), PgError> {
        let sql = format!(
            "SELECT {} FROM {} WHERE ({}) = ({}) FOR UPDATE",
            self.columns,
            self.table.quoted_name(),
            self.key_list,
            placeholders(1, self.key_len)
        );
        let statement = client.prepare(&sql).await?;
        let (mut rows, mut resealed) = (0, 0);
        for key in keys {
            let found = client.query(&statement, &params(key)).await?;
            rows += found.len() as u64;
            resealed += self.reseal(client, &found).await?;
        }
        Ok((rows, resealed))
    }

    /// The key of a row a batch read (its first columns).
    fn key_of(&self, row: &Row) -> Vec<Raw> {
        (0..self.key_len).map(|i| row.get(i)).collect()
    }

    /// Seals each row's encrypted values again where they are not on their tenant's newest
    /// key (or are plaintext of a column being encrypted), and writes them; the rows written.
    async fn reseal(&self, client: &Client, rows: &[Row]) -> Result<u64, PgError> {
        let update = client.prepare(&self.update).await?;
        let mut resealed = 0u64;
        for row in rows {
            let key_values = self.key_of(row);
            let tenant = bound_value(row, self.key_len, self.tenant_type)?;
            let mut row_key = Vec::new();
            for (at, sql_type) in self.key_types.iter().enumerate() {
                push_part(&mut row_key, &bound_value(row, at, sql_type)?);
            }
            let mut new_values: Vec<Option<Vec<u8>>> = Vec::new();
            for (offset, (column, migrating)) in self.encrypted.iter().enumerate() {
                let stored: Option<Raw> = row.get(self.key_len + 1 + offset);
                let binding = Binding {
                    schema: self.table.schema.unwrap_or(""),
                    table: self.table.name,
                    column,
                    tenant: &tenant,
                    row_key: &row_key,
                };
                let plaintext = *migrating && stored.as_ref().is_some_and(|s| !is_envelope(&s.0));
                new_values.push(match stored {
                    // A row of a column being encrypted: its bytes are the value's.
                    Some(stored) if plaintext => Some(
                        self.keys
                            .seal(&binding, &stored.0)
                            .map_err(PgError::Crypto)?,
                    ),
                    Some(stored) => self
                        .keys
                        .reseal(&binding, &stored.0)
                        .map_err(PgError::Crypto)?,
                    None => None,
                });
            }
            if new_values.iter().any(Option::is_some) {
                let mut values = params(&key_values);
                values.extend(new_values.iter().map(|v| v as &(dyn ToSql + Sync)));
                client.execute(&update, &values).await?;
                resealed += 1;
            }
        }
        Ok(resealed)
    }
}

/// The bytes an insert binds a key or tenant column's value as (its field's
/// [`Plaintext`] encoding, as `push_binding_part` and `tenant_bytes` give it), from the value
/// at `at` of `row`: read as the Rust type the derive gives a column of its SQL type, since the
/// server's binary form of a date, a timestamp or a numeric is not that encoding. A text of
/// any other type is read as a `String`.
fn bound_value(row: &Row, at: usize, sql_type: &SqlType) -> Result<Vec<u8>, tokio_postgres::Error> {
    fn encoded<'a, T: FromSql<'a> + Plaintext>(
        row: &'a Row,
        at: usize,
    ) -> Result<Vec<u8>, tokio_postgres::Error> {
        Ok(tenant_bytes(&row.try_get::<_, T>(at)?))
    }
    match sql_type {
        SqlType::Uuid => encoded::<uuid::Uuid>(row, at),
        SqlType::Boolean => encoded::<bool>(row, at),
        SqlType::SmallInt => encoded::<i16>(row, at),
        SqlType::Integer => encoded::<i32>(row, at),
        SqlType::BigInt => encoded::<i64>(row, at),
        SqlType::DoublePrecision => encoded::<f64>(row, at),
        SqlType::Bytea => encoded::<Vec<u8>>(row, at),
        SqlType::Date => encoded::<chrono::NaiveDate>(row, at),
        SqlType::Timestamptz | SqlType::TimestamptzPrecision(_) => {
            encoded::<chrono::DateTime<chrono::Utc>>(row, at)
        }
        SqlType::Timestamp | SqlType::TimestampPrecision(_) => {
            encoded::<chrono::NaiveDateTime>(row, at)
        }
        SqlType::Jsonb => encoded::<serde_json::Value>(row, at),
        #[cfg(feature = "decimal")]
        SqlType::Numeric(_) => encoded::<rust_decimal::Decimal>(row, at),
        _ => encoded::<String>(row, at),
    }
}

/// `$first, ..., $(first + count - 1)`.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
