//! The sealed values of a batch of rows, as the drivers write them: every envelope and blind
//! index of a part of a batch in one buffer, each row's binding built in buffers kept from row
//! to row, and each data key looked up once for the part rather than once per value.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use hmac::Hmac;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::{blind, bound, Aes256GcmSiv, CryptoError, EncryptedField, Keys};
use super::{Purpose, SEAL_ROOM};
use crate::TableDef;

/// Seals the encrypted columns of a batch of rows (what the generated
/// `InsertRow::seal_into` writes into): for each row, [`next_row`](Self::next_row) gives the
/// buffers its binding is built in, then [`seal`](Self::seal) and [`blind`](Self::blind) append
/// its values, in column order, to one buffer of the whole batch.
///
/// Each tenant's data key (and each blind-indexed column's keyed HMAC) is looked up in the
/// cache once for the batch, its tenant found once a row: the look-up counts at once as many
/// uses as the rest of the batch may make of it (no more than the key has left, see
/// [`CacheLimits`](super::CacheLimits)), and those the batch does not make are given back when
/// it is done with the key ([`release`](Self::release)), so a key still seals or indexes at most
/// `max_uses` values. Its age is checked at that look-up: the drivers' batches are parts of
/// 1,000 rows, sealed in a few milliseconds.
///
/// The buffer holds envelopes and blind indexes only: a value is encoded in a buffer of its
/// own, wiped once it is copied where it is encrypted, and room for the whole envelope is made
/// before the copy, so no plaintext is left behind when the buffer grows. Its `Debug` prints
/// counts only.
pub struct Sealer<'k> {
    keys: &'k Keys,
    tenant: Vec<u8>,
    row_key: Vec<u8>,
    bytes: Vec<u8>,
    /// Each value's bytes in `bytes`; `None` for NULL.
    values: Vec<Option<(usize, usize)>>,
    /// Where each row's values start in `values`.
    rows: Vec<usize>,
    /// The rows the batch is expected to hold.
    expected: usize,
    plain: Zeroizing<Vec<u8>>,
    /// The keys kept for each tenant of the batch, and where each tenant's are.
    tenants: Vec<TenantKeys>,
    by_tenant: HashMap<Vec<u8>, usize>,
    /// Where the current row's tenant's keys are, once a value of the row has looked.
    slot: Option<usize>,
}

/// What the batch keeps of one tenant's keys.
struct TenantKeys {
    tenant: Vec<u8>,
    field: Option<KeptKey>,
    macs: Vec<KeptMac>,
}

/// A tenant's newest data key for fields, kept for the batch's next values.
struct KeptKey {
    version: u32,
    cipher: Arc<Aes256GcmSiv>,
    /// Uses counted at the look-up and not made yet.
    left: u64,
}

/// A column's keyed HMAC for a tenant, kept for the batch's next values.
struct KeptMac {
    table: &'static str,
    column: &'static str,
    mac: Hmac<Sha256>,
    /// The cipher of the blind-index data key the uses were counted on.
    key: Arc<Aes256GcmSiv>,
    left: u64,
}

impl fmt::Debug for Sealer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("rows", &self.rows.len())
            .field("values", &self.values.len())
            .finish_non_exhaustive()
    }
}

impl<'k> Sealer<'k> {
    /// A sealer of batches with `keys`.
    pub fn new(keys: &'k Keys) -> Self {
        Sealer {
            keys,
            tenant: Vec::new(),
            row_key: Vec::new(),
            bytes: Vec::new(),
            values: Vec::new(),
            rows: Vec::new(),
            expected: 0,
            plain: Zeroizing::new(Vec::with_capacity(SEAL_ROOM)),
            tenants: Vec::new(),
            by_tenant: HashMap::new(),
            slot: None,
        }
    }

    /// Starts a batch of `rows` rows: the previous batch's values are dropped and its keys
    /// given back (with the uses it did not make), so the next one looks them up again.
    pub fn start(&mut self, rows: usize) {
        self.release();
        self.bytes.clear();
        self.values.clear();
        self.rows.clear();
        self.expected = rows;
    }

    /// Starts the next row: the buffers its tenant's bytes and its key's bytes are built in
    /// (as `tenant_bytes` and `push_binding_part` build them), empty.
    pub fn next_row(&mut self) -> (&mut Vec<u8>, &mut Vec<u8>) {
        self.rows.push(self.values.len());
        self.slot = None;
        self.tenant.clear();
        self.row_key.clear();
        (&mut self.tenant, &mut self.row_key)
    }

    /// Appends the envelope of the row's field of column `column` of `table` (NULL for
    /// `None`), bound to the row's tenant and key.
    pub fn seal<F: EncryptedField>(
        &mut self,
        table: &'static TableDef,
        column: usize,
        value: &F,
    ) -> Result<(), CryptoError> {
        let Some(plain) = value.plaintext() else {
            self.values.push(None);
            return Ok(());
        };
        let slot = self.slot();
        let binding = bound(table, column, &self.tenant, &self.row_key);
        let fail = |problem| binding.error(problem);
        let kept = &mut self.tenants[slot];
        let key = match &mut kept.field {
            Some(key) if key.left > 0 => key,
            field => {
                let per_row = table.columns.iter().filter(|c| c.holds_envelope()).count();
                let uses = (per_row.max(1) * rows_left(self.expected, self.rows.len())) as u64;
                let (version, cipher, counted) = self
                    .keys
                    .sealing_key_for(&self.tenant, uses)
                    .map_err(fail)?;
                field.insert(KeptKey {
                    version,
                    cipher,
                    left: counted,
                })
            }
        };
        key.left -= 1;
        plain.encode_dyn(&mut self.plain);
        let at = self.bytes.len();
        let sealed = self.keys.seal_onto(
            &binding,
            &key.cipher,
            key.version,
            &self.plain,
            &mut self.bytes,
        );
        self.plain.as_mut_slice().zeroize();
        self.plain.clear();
        sealed.map_err(fail)?;
        self.values.push(Some((at, self.bytes.len())));
        Ok(())
    }

    /// Appends the blind index of the row's field of encrypted column `column` of `table`
    /// (NULL for `None`) for the row's tenant: the first `bits` bits of the column's keyed HMAC
    /// of the value, normalized as the column's index asks.
    pub fn blind<F: EncryptedField>(
        &mut self,
        table: &'static TableDef,
        column: usize,
        value: &F,
        bits: u32,
    ) -> Result<(), CryptoError> {
        let Some(plain) = value.plaintext() else {
            self.values.push(None);
            return Ok(());
        };
        let def = table.columns.get(column);
        let name = def.map_or("", |c| c.name);
        let fail = |problem| CryptoError {
            table: table.name,
            column: name,
            problem,
        };
        let slot = self.slot();
        let kept = &mut self.tenants[slot];
        let found = kept
            .macs
            .iter()
            .position(|m| m.table == table.name && m.column == name);
        let at = match found {
            Some(at) if kept.macs[at].left > 0 => at,
            _ => {
                if let Some(at) = found {
                    kept.macs.swap_remove(at);
                }
                let uses = rows_left(self.expected, self.rows.len()) as u64;
                let (mac, counted, key) = self
                    .keys
                    .column_mac_for(table.name, name, &self.tenant, uses)
                    .map_err(fail)?;
                kept.macs.push(KeptMac {
                    table: table.name,
                    column: name,
                    mac,
                    key,
                    left: counted,
                });
                kept.macs.len() - 1
            }
        };
        let mac = &mut kept.macs[at];
        mac.left -= 1;
        plain.encode_dyn(&mut self.plain);
        let normalized = def
            .and_then(|c| c.encryption?.blind_index)
            .and_then(|index| index.normalize.apply(&self.plain))
            .map(Zeroizing::new);
        let value = normalized.as_deref().unwrap_or(&self.plain);
        let start = self.bytes.len();
        blind::blind_index_onto(mac.mac.clone(), value, bits, &mut self.bytes);
        self.plain.as_mut_slice().zeroize();
        self.plain.clear();
        self.values.push(Some((start, self.bytes.len())));
        Ok(())
    }

    /// How many rows the batch has.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// The positions in [`values`](Self::values) of row `index`'s values.
    pub fn row(&self, index: usize) -> Range<usize> {
        let start = self.rows.get(index).copied().unwrap_or(self.values.len());
        let end = self
            .rows
            .get(index + 1)
            .copied()
            .unwrap_or(self.values.len());
        start..end
    }

    /// The values of one row sealed by `seal` (a row type's `seal_into`), each its own
    /// buffer: what a single insert sends.
    pub fn seal_one(
        keys: &Keys,
        seal: impl FnOnce(&mut Sealer<'_>) -> Result<(), CryptoError>,
    ) -> Result<Vec<Option<Vec<u8>>>, CryptoError> {
        let mut sealer = Sealer::new(keys);
        sealer.start(1);
        seal(&mut sealer)?;
        let values = sealer.values();
        Ok(values[sealer.row(0)]
            .iter()
            .map(|value| value.map(<[u8]>::to_vec))
            .collect())
    }

    /// Every value of the batch, row after row, each row's in column order (encrypted columns,
    /// then blind indexes); `None` for NULL.
    pub fn values(&self) -> Vec<Option<&[u8]>> {
        self.values
            .iter()
            .map(|value| value.map(|(start, end)| &self.bytes[start..end]))
            .collect()
    }

    /// Where the keys of the current row's tenant are kept: found once a row.
    fn slot(&mut self) -> usize {
        if let Some(slot) = self.slot {
            return slot;
        }
        let slot = match self.by_tenant.get(self.tenant.as_slice()) {
            Some(&slot) => slot,
            None => {
                self.tenants.push(TenantKeys {
                    tenant: self.tenant.clone(),
                    field: None,
                    macs: Vec::new(),
                });
                let slot = self.tenants.len() - 1;
                self.by_tenant.insert(self.tenant.clone(), slot);
                slot
            }
        };
        self.slot = Some(slot);
        slot
    }

    /// Gives back the uses the kept keys did not make, and drops them (the values stay): the
    /// next value looks its key up again. Done by [`start`](Self::start) and on drop too.
    pub fn release(&mut self) {
        for kept in self.tenants.drain(..) {
            if let Some(key) = kept.field {
                self.keys.give_back(
                    &kept.tenant,
                    Purpose::Fields,
                    key.version,
                    &key.cipher,
                    key.left,
                );
            }
            for mac in kept.macs {
                self.keys
                    .give_back(&kept.tenant, Purpose::BlindIndex, 1, &mac.key, mac.left);
            }
        }
        self.by_tenant.clear();
        self.slot = None;
    }
}

/// The rows of a batch of `expected` rows still to be sealed once `started` have started, the
/// current one included.
fn rows_left(expected: usize, started: usize) -> usize {
    (expected + 1).saturating_sub(started).max(1)
}

impl Drop for Sealer<'_> {
    fn drop(&mut self) {
        self.release();
    }
}
