//! An update by filter that sets encrypted columns (feature `encrypt`), shared by both
//! drivers: each ciphertext is bound to its own row's key, so one value cannot be sealed for
//! every row. The driver reads the keys of the rows the filter keeps, `FOR UPDATE`
//! ([`Update::lock_keys_sql`](crate::query::Update::lock_keys_sql)); [`seal_rows`] seals the
//! patch's values for each of them; one `UPDATE ... FROM unnest(...)`
//! ([`Update::sealed_sql`](crate::query::Update::sealed_sql)) writes them all, joined by key.

use crate::crypto::{push_part, CryptoError, CryptoProblem, Keys};
use crate::query::PatchValues;
use crate::{Table, TableDef};

/// A row's key as [`lock_keys_sql`](crate::query::Update::lock_keys_sql) reads it: each key
/// column's bytes as the server sends them (what a ciphertext is bound to), and as text (sent
/// back to find the row).
pub(crate) struct LockedKey {
    /// One per key column, in key order.
    pub(crate) raw: Vec<Vec<u8>>,
    /// One per key column, in key order.
    pub(crate) text: Vec<String>,
}

/// The arrays the update binds after its own parameters: one `text[]` per key column, then one
/// `bytea[]` per encrypted (or blind index) column the patch sets, in column order.
pub(crate) struct SealedRows {
    /// Per key column, every row's key value as text.
    pub(crate) keys: Vec<Vec<String>>,
    /// Per sealed column, every row's sealed value (`None`: NULL).
    pub(crate) sealed: Vec<Vec<Option<Vec<u8>>>>,
}

/// The error of an encrypted write without keys, naming the table's first encrypted column.
pub(crate) fn no_keys(table: &'static TableDef) -> CryptoError {
    CryptoError {
        table: table.name,
        column: table
            .columns
            .iter()
            .find(|c| c.encryption.is_some())
            .map_or("", |c| c.name),
        problem: CryptoProblem::NoKeys,
    }
}

/// The patch's encrypted values sealed for each locked row, bound to the row's tenant (the
/// tenant column of its key) and key. The key columns are read as the server sends them,
/// which is how the derive encodes uuid, integer and text keys (as the re-encryption job
/// reads them).
pub(crate) fn seal_rows<U: PatchValues>(
    patch: &U,
    keys: &Keys,
    rows: &[LockedKey],
) -> Result<SealedRows, CryptoError> {
    let table = <U::Table as Table>::TABLE;
    let tenant_at = table
        .tenant_column()
        .and_then(|tenant| table.primary_key.iter().position(|k| *k == tenant));
    let mut out = SealedRows {
        keys: vec![Vec::with_capacity(rows.len()); table.primary_key.len()],
        sealed: Vec::new(),
    };
    let mut row_key = Vec::new();
    for row in rows {
        row_key.clear();
        for part in &row.raw {
            push_part(&mut row_key, part);
        }
        let tenant = tenant_at.map_or(&[][..], |at| &row.raw[at]);
        let values = patch.seal_patch(tenant, &row_key, keys)?;
        let set: Vec<Option<Vec<u8>>> = values.into_iter().flatten().collect();
        if out.sealed.is_empty() {
            out.sealed = vec![Vec::with_capacity(rows.len()); set.len()];
        }
        for (column, value) in out.sealed.iter_mut().zip(set) {
            column.push(value);
        }
        for (column, text) in out.keys.iter_mut().zip(&row.text) {
            column.push(text.clone());
        }
    }
    Ok(out)
}
