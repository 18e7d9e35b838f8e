//! An update by filter that sets encrypted columns (feature `encrypt`), shared by both
//! drivers: each ciphertext is bound to its own row's key, so one value cannot be sealed for
//! every row. The driver reads the keys of the rows the filter keeps, `FOR UPDATE`
//! ([`Update::lock_keys_sql`](crate::query::Update::lock_keys_sql)), each row's binding
//! decoded by the derive's typed code (`PatchValues::row_binding_pg`/`row_binding_sqlx`, the
//! encoding an insert binds to); [`seal_rows`] seals the patch's values for each of them; one
//! `UPDATE ... FROM unnest(...)` ([`Update::sealed_sql`](crate::query::Update::sealed_sql))
//! writes them all, joined by key.

use crate::crypto::{CryptoError, CryptoProblem, Keys};
use crate::query::PatchValues;
use crate::{Table, TableDef};

/// A row's key as [`lock_keys_sql`](crate::query::Update::lock_keys_sql) reads it: the bytes
/// its ciphertexts are bound to, and its key columns as text (sent back to find the row).
pub(crate) struct LockedKey {
    /// The tenant's bytes, then the key's (length-prefixed columns), as an insert binds them.
    pub(crate) binding: (Vec<u8>, Vec<u8>),
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

/// The patch's encrypted values sealed for each locked row, bound to the row's tenant and key.
pub(crate) fn seal_rows<U: PatchValues>(
    patch: &U,
    keys: &Keys,
    rows: &[LockedKey],
) -> Result<SealedRows, CryptoError> {
    let table = <U::Table as Table>::TABLE;
    let mut out = SealedRows {
        keys: vec![Vec::with_capacity(rows.len()); table.primary_key.len()],
        sealed: Vec::new(),
    };
    for row in rows {
        let (tenant, row_key) = &row.binding;
        let values = patch.seal_patch(tenant, row_key, keys)?;
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
