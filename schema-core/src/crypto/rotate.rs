//! Re-encryption after a rotation (feature `postgres`): every encrypted column of a table
//! sealed again with its tenant's newest data key, by primary key in batches, each batch a
//! transaction that locks its rows with `FOR UPDATE SKIP LOCKED` (rows another transaction
//! holds are left to the final pass, which waits for them). Safe to stop at any point and run
//! again: a value already on its tenant's newest key is left as it is, so a second run only
//! reads. Reads keep working throughout: the older key versions still open what they sealed.

use std::error::Error;

use bytes::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};

use super::envelope::is_envelope;
use super::{push_part, Binding, Keys};
use crate::pg::{Db, PgError};
use crate::sql::quote_ident;
use crate::TableDef;

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
/// `progress` after each batch. The table's tenant column and primary key are read as the
/// server sends them, which is how the derive encodes uuid, integer and text keys.
pub async fn reencrypt(
    db: &Db,
    table: &'static TableDef,
    keys: &Keys,
    options: Reencryption,
    mut progress: impl FnMut(&ReencryptionProgress),
) -> Result<ReencryptionProgress, PgError> {
    let tenant = table.tenant_column().unwrap_or("");
    let key: Vec<&str> = table.primary_key.to_vec();
    let encrypted: Vec<(usize, &'static str, bool)> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.holds_envelope())
        .map(|(i, c)| (i, c.name, c.encryption.is_some_and(|e| e.accepts_plaintext)))
        .collect();
    let mut done = ReencryptionProgress::default();
    if encrypted.is_empty() || key.is_empty() {
        done.complete = true;
        return Ok(done);
    }
    let quoted = |names: &[&str]| {
        names
            .iter()
            .map(|n| quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let key_list = quoted(&key);
    let encrypted_list = quoted(&encrypted.iter().map(|(_, n, _)| *n).collect::<Vec<_>>());
    let after = (1..=key.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let select = |from_start: bool, skip_locked: bool| {
        format!(
            "SELECT {key_list}, {tenant}, {encrypted_list} FROM {table} {filter} ORDER BY {key_list} \
             LIMIT {limit} FOR UPDATE{skip}",
            tenant = quote_ident(tenant),
            table = table.quoted_name(),
            filter = if from_start {
                String::new()
            } else {
                format!("WHERE ({key_list}) > ({after})")
            },
            limit = options.batch_size.max(1),
            skip = if skip_locked { " SKIP LOCKED" } else { "" },
        )
    };
    let update = format!(
        "UPDATE {} SET {} WHERE ({key_list}) = ({})",
        table.quoted_name(),
        encrypted
            .iter()
            .enumerate()
            .map(|(i, (_, n, _))| format!(
                "{c} = COALESCE(${p}, {c})",
                c = quote_ident(n),
                p = key.len() + i + 1
            ))
            .collect::<Vec<_>>()
            .join(", "),
        after
    );
    let client = db.client();
    // A first pass that skips rows other transactions hold, then a pass that waits for them.
    for skip_locked in [true, false] {
        let mut last: Option<Vec<Raw>> = None;
        loop {
            if options.max_batches.is_some_and(|max| done.batches >= max) {
                progress(&done);
                return Ok(done);
            }
            client.batch_execute("BEGIN").await?;
            let result = async {
                let rows = match &last {
                    None => client.query(&select(true, skip_locked), &[]).await?,
                    Some(after) => {
                        let params: Vec<&(dyn ToSql + Sync)> =
                            after.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                        client.query(&select(false, skip_locked), &params).await?
                    }
                };
                let update = client.prepare(&update).await?;
                let mut resealed = 0u64;
                let mut last_key = None;
                for row in &rows {
                    let key_values: Vec<Raw> = (0..key.len()).map(|i| row.get(i)).collect();
                    let tenant_value: Raw = row.get(key.len());
                    let mut row_key = Vec::new();
                    for value in &key_values {
                        push_part(&mut row_key, &value.0);
                    }
                    let mut new_values: Vec<Option<Vec<u8>>> = Vec::new();
                    for (offset, (_, column, migrating)) in encrypted.iter().enumerate() {
                        let stored: Option<Raw> = row.get(key.len() + 1 + offset);
                        let binding = Binding {
                            schema: table.schema.unwrap_or(""),
                            table: table.name,
                            column,
                            tenant: &tenant_value.0,
                            row_key: &row_key,
                        };
                        let plaintext =
                            *migrating && stored.as_ref().is_some_and(|s| !is_envelope(&s.0));
                        new_values.push(match stored {
                            // A row of a column being encrypted: its bytes are the value's.
                            Some(stored) if plaintext => {
                                Some(keys.seal(&binding, &stored.0).map_err(PgError::Crypto)?)
                            }
                            Some(stored) => {
                                keys.reseal(&binding, &stored.0).map_err(PgError::Crypto)?
                            }
                            None => None,
                        });
                    }
                    if new_values.iter().any(Option::is_some) {
                        let mut params: Vec<&(dyn ToSql + Sync)> = key_values
                            .iter()
                            .map(|v| v as &(dyn ToSql + Sync))
                            .collect();
                        params.extend(new_values.iter().map(|v| v as &(dyn ToSql + Sync)));
                        client.execute(&update, &params).await?;
                        resealed += 1;
                    }
                    last_key = Some(key_values);
                }
                Ok::<_, PgError>((rows.len() as u64, resealed, last_key))
            }
            .await;
            match result {
                Ok((count, resealed, last_key)) => {
                    client.batch_execute("COMMIT").await?;
                    done.batches += 1;
                    done.rows += count;
                    done.resealed += resealed;
                    progress(&done);
                    match last_key {
                        Some(key) => last = Some(key),
                        None => break,
                    }
                }
                Err(error) => {
                    client.batch_execute("ROLLBACK").await?;
                    return Err(error);
                }
            }
        }
    }
    done.complete = true;
    progress(&done);
    Ok(done)
}
