//! Columns encrypted by the application (feature `encrypt`): what no dump, backup, replica or
//! person with SQL access can read.
//!
//! - [`envelope`]: the versioned bytes an encrypted column holds, and the `CHECK` on their
//!   header that refuses a plaintext written by raw SQL.
//! - [`Keys`]: seals and opens values, each bound by its authenticated data to its table,
//!   column, tenant and row key ([`Binding`]): copied by SQL to another row, column or tenant,
//!   a ciphertext does not open ([`CryptoProblem::NotAuthentic`]).
//! - Keys per tenant and [`Purpose`], wrapped by a master key the database never sees
//!   ([`MasterKeys`]: a KMS is a user's implementation; [`StaticKeyring`] ships for tests and
//!   development), stored wrapped ([`KeyStore`]: in the database beside the data with
//!   `PgKeyStore`, feature `postgres`, or in memory with [`MemoryKeyStore`]); unwrapped keys are
//!   cached with a bound on age and uses ([`CacheLimits`]) and zeroized on drop. Deleting a tenant's keys
//!   ([`Keys::shred_tenant`]) makes its rows unreadable.
//! - Blind indexes ([`Keys::blind_index`]): a truncated HMAC keyed per tenant and column, and
//!   CipherSweet's planner ([`recommended_bits`]).
//!
//! RustCrypto's crates do the cryptography (AES-256-GCM-SIV, HKDF and HMAC over SHA-256);
//! nothing here is a primitive of its own.

mod blind;
pub mod envelope;
mod keys;
#[cfg(feature = "postgres")]
mod pg_store;
mod plaintext;
#[cfg(feature = "postgres")]
pub(crate) mod rotate;
mod sealer;
#[doc(hidden)]
pub mod unsealed;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm_siv::aead::{AeadInPlace, KeyInit, OsRng};
use hmac::Hmac;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

pub use blind::{recommended_bits, BitsRange, ExistingIndex, MAX_BLIND_INDEX_BITS};
pub use envelope::{Envelope, EnvelopeProblem};
pub use keys::{
    DataKeyId, KeyStore, MasterKeys, MemoryKeyStore, Purpose, SecretKey, StaticKeyring, WrappedKey,
    KEY_LEN,
};
#[cfg(feature = "postgres")]
pub use pg_store::{KeyTable, PgKeyStore};
pub use plaintext::{EncryptedField, Plaintext, PlaintextDyn, PlaintextError, TextField};
#[cfg(feature = "postgres")]
pub use rotate::{plaintext_rows, reencrypt, Reencryption, ReencryptionProgress};
pub use sealer::Sealer;

use crate::TableDef;

/// AES-256-GCM-SIV over AES's encryption half alone: GCM-SIV never decrypts a block, and each
/// message's fresh AES-256 key then costs its encryption schedule only (`aes::Aes256` would also
/// derive the decryption one). The same algorithm and ciphertexts as `aes_gcm_siv::Aes256GcmSiv`.
pub(crate) type Aes256GcmSiv = aes_gcm_siv::AesGcmSiv<aes::Aes256Enc>;

/// Appends `part` with its length before it (a 4-byte big-endian count), so that the parts of
/// authenticated data cannot be shifted into one another.
pub(crate) fn push_part(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u32).to_be_bytes());
    out.extend_from_slice(part);
}

/// What a ciphertext is bound to: moved anywhere else, it does not open.
#[derive(Clone, Copy)]
pub struct Binding<'a> {
    /// The table's schema (`""` for a table without one).
    pub schema: &'static str,
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// The row's tenant: the tenant column's value, encoded as [`Plaintext`].
    pub tenant: &'a [u8],
    /// The row's primary key, its columns encoded and each length-prefixed.
    pub row_key: &'a [u8],
}

impl fmt::Debug for Binding<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding")
            .field("table", &self.table)
            .field("column", &self.column)
            .finish_non_exhaustive()
    }
}

/// What the authenticated data starts with.
const AAD_LABEL: &[u8] = b"schema-core field\0";

/// The authenticated data of a binding short enough (nearly all are) to be built on the stack.
const AAD_ON_STACK: usize = 256;

impl Binding<'_> {
    /// Runs `use_aad` with the authenticated data of a value sealed for this binding under
    /// `header`: the label, then the header, schema, table, column, tenant and row key, each
    /// length-prefixed ([`push_part`]). Built on the stack unless it is long.
    fn with_aad<R>(&self, header: &[u8], use_aad: impl FnOnce(&[u8]) -> R) -> R {
        let parts = [
            header,
            self.schema.as_bytes(),
            self.table.as_bytes(),
            self.column.as_bytes(),
            self.tenant,
            self.row_key,
        ];
        let len = AAD_LABEL.len() + parts.iter().map(|p| 4 + p.len()).sum::<usize>();
        let write = |out: &mut [u8]| {
            out[..AAD_LABEL.len()].copy_from_slice(AAD_LABEL);
            let mut at = AAD_LABEL.len();
            for part in parts {
                out[at..at + 4].copy_from_slice(&(part.len() as u32).to_be_bytes());
                out[at + 4..at + 4 + part.len()].copy_from_slice(part);
                at += 4 + part.len();
            }
        };
        if len <= AAD_ON_STACK {
            let mut buffer = [0u8; AAD_ON_STACK];
            write(&mut buffer[..len]);
            use_aad(&buffer[..len])
        } else {
            let mut buffer = vec![0u8; len];
            write(&mut buffer);
            use_aad(&buffer)
        }
    }

    fn error(&self, problem: CryptoProblem) -> CryptoError {
        CryptoError {
            table: self.table,
            column: self.column,
            problem,
        }
    }
}

/// Decrypts `buffer`, a copy of the ciphertext of `envelope` (parsed from `stored`), in place
/// with `cipher`, authenticated for `binding`; returns the plaintext's length, its padding left
/// out. On failure the buffer holds ciphertext again (the cipher encrypts it back).
fn open_in_place(
    cipher: &Aes256GcmSiv,
    binding: &Binding<'_>,
    stored: &[u8],
    envelope: &Envelope<'_>,
    buffer: &mut [u8],
) -> Result<usize, CryptoProblem> {
    binding
        .with_aad(Envelope::header(stored), |aad| {
            cipher.decrypt_in_place_detached(
                envelope.nonce.into(),
                aad,
                buffer,
                envelope.tag().into(),
            )
        })
        .map_err(|_| CryptoProblem::NotAuthentic)?;
    if envelope.flags & envelope::FLAG_PADDED != 0 {
        envelope::unpadded_len(buffer).map_err(CryptoProblem::Envelope)
    } else {
        Ok(buffer.len())
    }
}

/// The longest ciphertext a field other than a `String` or `Vec<u8>` is decrypted in on the
/// stack (a date, a number, a short JSON text); a longer one goes to the heap.
const OPEN_ON_STACK: usize = 64;

/// Bytes wiped when dropped, also on an early return: the buffer on the stack a field is
/// decrypted in.
struct Wiped<'a>(&'a mut [u8]);

impl Drop for Wiped<'_> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The longest tenant (its bytes) a row keeps its key for; a longer one looks the key up for
/// each value.
const ROW_TENANT_LEN: usize = 32;

/// The key of the row being decoded, kept by [`open_field`] for the row's next values: its
/// tenant and version, its cipher, and how many more values may use it before the cache is
/// asked again (each was counted as a use when it was looked up).
struct RowKey {
    tenant: [u8; ROW_TENANT_LEN],
    tenant_len: usize,
    version: u32,
    cipher: Arc<Aes256GcmSiv>,
    left: u64,
}

impl RowKey {
    /// The key of `tenant` at `version`, for `left` more values; for none when the tenant is
    /// too long to be kept.
    fn new(tenant: &[u8], version: u32, cipher: Arc<Aes256GcmSiv>, left: u64) -> Self {
        let mut kept = RowKey {
            tenant: [0; ROW_TENANT_LEN],
            tenant_len: 0,
            version,
            cipher,
            left: 0,
        };
        if let Some(room) = kept.tenant.get_mut(..tenant.len()) {
            room.copy_from_slice(tenant);
            kept.tenant_len = tenant.len();
            kept.left = left;
        }
        kept
    }

    fn is_for(&self, tenant: &[u8], version: u32) -> bool {
        self.version == version && self.tenant[..self.tenant_len] == *tenant
    }
}

/// What went wrong sealing or opening a value, or handling keys. No variant carries a
/// plaintext or a key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoProblem {
    /// An encrypted column was written or read without keys (a `Db` without `with_keys`
    /// (feature `postgres`), or a row decoded outside one).
    NoKeys,
    /// The tenant's data key of that version does not exist: shredded, or never made.
    DataKeyMissing {
        /// The key version the envelope names.
        version: u32,
    },
    /// The master key of that version is not in the provider.
    MasterKeyMissing {
        /// The version.
        version: u32,
    },
    /// A wrapped data key does not unwrap (altered, or moved to another tenant or purpose).
    WrappedKeyInvalid,
    /// The stored bytes are not an envelope.
    Envelope(EnvelopeProblem),
    /// The envelope does not open for this table, column, tenant and row: it was copied here
    /// from another row, column or tenant, or altered.
    NotAuthentic,
    /// The opened bytes are not a value of the field's type.
    Plaintext(PlaintextError),
    /// The key provider failed.
    Provider(String),
    /// A lookup by blind index on a column declared without one (`blind_index(bits = N, ..)`).
    NoBlindIndex,
}

impl fmt::Display for CryptoProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoProblem::NoKeys => f.write_str(
                "the column is encrypted, and no keys were given (Db::with_keys, or the sqlx \
                 insert's keys)",
            ),
            CryptoProblem::DataKeyMissing { version } => write!(
                f,
                "the tenant's data key version {version} does not exist (shredded, or never made)"
            ),
            CryptoProblem::MasterKeyMissing { version } => {
                write!(f, "master key version {version} is not in the provider")
            }
            CryptoProblem::WrappedKeyInvalid => f.write_str("a wrapped data key does not unwrap"),
            CryptoProblem::Envelope(problem) => write!(f, "the stored value is {problem}"),
            CryptoProblem::NotAuthentic => f.write_str(
                "the ciphertext does not belong to this row, column and tenant (copied from \
                 elsewhere, or altered)",
            ),
            CryptoProblem::Plaintext(problem) => problem.fmt(f),
            CryptoProblem::Provider(message) => write!(f, "the key provider failed: {message}"),
            CryptoProblem::NoBlindIndex => f.write_str(
                "the column has no blind index: declare `blind_index(bits = N, population = M)`",
            ),
        }
    }
}

impl std::error::Error for CryptoProblem {}

/// A [`CryptoProblem`] of one column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CryptoError {
    /// The table.
    pub table: &'static str,
    /// The encrypted column.
    pub column: &'static str,
    /// What went wrong.
    pub problem: CryptoProblem,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "encrypted column `{}.{}`: {}",
            self.table, self.column, self.problem
        )
    }
}

impl std::error::Error for CryptoError {}

/// How long and how often an unwrapped data key is used before it is unwrapped again: the
/// bound on what a memory dump of the process holds, and on calls to the KMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    /// The longest a key stays in memory.
    pub max_age: Duration,
    /// The most values a key seals or opens before it is unwrapped again.
    pub max_uses: u64,
}

impl Default for CacheLimits {
    /// Five minutes, a million uses.
    fn default() -> Self {
        CacheLimits {
            max_age: Duration::from_secs(300),
            max_uses: 1_000_000,
        }
    }
}

/// An unwrapped data key in memory, with what is made from it once: its cipher (AES-256's key
/// schedule of the key-generating key) and, for a blind-index key, the keyed HMAC of each
/// column it has indexed. Each is wiped when dropped: the key by `Zeroizing`, the cipher by
/// `aes`'s `zeroize` feature, the HMAC states by those of `hmac` and `sha2`.
struct Cached {
    purpose: Purpose,
    version: u32,
    key: SecretKey,
    cipher: Arc<Aes256GcmSiv>,
    columns: Vec<ColumnMac>,
    since: Instant,
    uses: u64,
}

/// The keyed HMAC of one column's blind index.
struct ColumnMac {
    table: &'static str,
    column: &'static str,
    mac: Hmac<Sha256>,
}

/// What is cached of one tenant: its newest version per purpose, and its unwrapped keys.
#[derive(Default)]
struct TenantCache {
    latest: Vec<(Purpose, u32, Instant)>,
    keys: Vec<Cached>,
}

/// Keyed by tenant, so that a lookup borrows the tenant's bytes and allocates nothing.
#[derive(Default)]
struct Cache {
    tenants: HashMap<Vec<u8>, TenantCache>,
    unwraps: u64,
}

impl Cache {
    /// The cached key of the tenant for the purpose, at `version` (`None`: its newest version,
    /// while that is known fresh), with one more use counted; `None` when it is not cached, or
    /// no longer fresh (then it is dropped, and wiped).
    fn fresh(
        &mut self,
        tenant: &[u8],
        purpose: Purpose,
        version: Option<u32>,
        now: Instant,
        limits: &CacheLimits,
    ) -> Option<&mut Cached> {
        self.fresh_for(tenant, purpose, version, now, limits, 1)
            .map(|(cached, _)| cached)
    }

    /// [`fresh`](Self::fresh), counting up to `uses` uses at once (at least one, no more than
    /// the key has left before [`CacheLimits::max_uses`]); returns the key and how many were
    /// counted.
    fn fresh_for(
        &mut self,
        tenant: &[u8],
        purpose: Purpose,
        version: Option<u32>,
        now: Instant,
        limits: &CacheLimits,
        uses: u64,
    ) -> Option<(&mut Cached, u64)> {
        let cached = self.tenants.get_mut(tenant)?;
        let version = match version {
            Some(version) => version,
            None => {
                let &(_, version, since) = cached.latest.iter().find(|l| l.0 == purpose)?;
                if now.duration_since(since) >= limits.max_age {
                    return None;
                }
                version
            }
        };
        let at = cached
            .keys
            .iter()
            .position(|k| k.purpose == purpose && k.version == version)?;
        let entry = &cached.keys[at];
        if now.duration_since(entry.since) < limits.max_age && entry.uses < limits.max_uses {
            let entry = &mut cached.keys[at];
            let counted = uses.clamp(1, limits.max_uses - entry.uses);
            entry.uses += counted;
            Some((entry, counted))
        } else {
            cached.keys.swap_remove(at);
            None
        }
    }
}

impl Cached {
    /// The keyed HMAC of the blind index of `table.column`, made on first use.
    fn column_mac(
        &mut self,
        table: &'static str,
        column: &'static str,
    ) -> Result<Hmac<Sha256>, CryptoProblem> {
        if let Some(known) = self
            .columns
            .iter()
            .find(|c| c.table == table && c.column == column)
        {
            return Ok(known.mac.clone());
        }
        let mac = blind::column_mac(self.key.bytes(), table, column)
            .ok_or_else(|| CryptoProblem::Provider("key derivation failed".into()))?;
        self.columns.push(ColumnMac {
            table,
            column,
            mac: mac.clone(),
        });
        Ok(mac)
    }
}

/// Fresh nonces, read from the operating system's generator a block at a time (one system
/// call for many values), read again in a forked child (another process id).
struct NonceBuffer {
    process: u32,
    bytes: Zeroizing<Vec<u8>>,
    used: usize,
}

const NONCE_BLOCK: usize = envelope::NONCE_LEN * 256;

thread_local! {
    static NONCES: RefCell<NonceBuffer> = RefCell::new(NonceBuffer {
        process: 0,
        bytes: Zeroizing::new(vec![0; NONCE_BLOCK]),
        used: NONCE_BLOCK,
    });
}

/// A fresh nonce: 12 random bytes.
fn fresh_nonce() -> aes_gcm_siv::Nonce {
    use aes_gcm_siv::aead::rand_core::RngCore;
    const LEN: usize = envelope::NONCE_LEN;
    NONCES.with(|cell| {
        let mut buffer = cell.borrow_mut();
        // The process id is asked once a block (it is a system call): a child forked within a
        // block may repeat a few of its parent's nonces, which AES-GCM-SIV tolerates (a repeat
        // reveals only whether the two values are equal).
        if buffer.used + LEN > buffer.bytes.len() || buffer.used == 0 {
            let process = std::process::id();
            if buffer.process != process || buffer.used + LEN > buffer.bytes.len() {
                OsRng.fill_bytes(&mut buffer.bytes);
                buffer.used = 0;
                buffer.process = process;
            }
        }
        let start = buffer.used;
        buffer.used += LEN;
        let nonce = aes_gcm_siv::Nonce::clone_from_slice(&buffer.bytes[start..start + LEN]);
        // A nonce handed out is wiped from the buffer.
        buffer.bytes[start..start + LEN].fill(0);
        nonce
    })
}

/// The keys of an application: seals and opens encrypted columns, keys blind indexes, rotates
/// and shreds. Cheap to share behind an `Arc`; its `Debug` prints no key.
pub struct Keys {
    master: Box<dyn MasterKeys>,
    store: Arc<dyn KeyStore>,
    limits: CacheLimits,
    padding: Option<usize>,
    cache: Mutex<Cache>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("master_version", &self.master.current_version())
            .field("limits", &self.limits)
            .field("padding", &self.padding)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Keys whose data keys are wrapped by `master` and stored in `store`.
    pub fn new(master: impl MasterKeys + 'static, store: Arc<dyn KeyStore>) -> Self {
        Keys {
            master: Box::new(master),
            store,
            limits: CacheLimits::default(),
            padding: None,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Bounds how long and how often an unwrapped key is used from memory.
    pub fn with_cache_limits(mut self, limits: CacheLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Pads every plaintext to a multiple of `block` bytes before sealing, so that the stored
    /// length tells only the number of blocks.
    pub fn with_padding(mut self, block: usize) -> Self {
        self.padding = Some(block.max(1));
        self
    }

    /// The store of wrapped keys.
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.store
    }

    /// How many times a data key was unwrapped (not found fresh in the cache).
    pub fn unwraps(&self) -> u64 {
        self.lock().unwraps
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The tenant's newest key version for the purpose, making version 1 when it has none.
    fn latest_or_new(&self, tenant: &[u8], purpose: Purpose) -> Result<u32, CryptoProblem> {
        let now = Instant::now();
        if let Some(cached) = self.lock().tenants.get(tenant) {
            if let Some(&(_, version, since)) = cached.latest.iter().find(|l| l.0 == purpose) {
                if now.duration_since(since) < self.limits.max_age {
                    return Ok(version);
                }
            }
        }
        let version = match self.store.latest(tenant, purpose)? {
            Some(version) => version,
            None => {
                self.create(tenant, purpose, 1)?;
                self.store.latest(tenant, purpose)?.unwrap_or(1)
            }
        };
        self.remember_latest(tenant, purpose, version, now);
        Ok(version)
    }

    fn remember_latest(&self, tenant: &[u8], purpose: Purpose, version: u32, now: Instant) {
        let mut cache = self.lock();
        let entry = cache.tenants.entry(tenant.to_vec()).or_default();
        entry.latest.retain(|l| l.0 != purpose);
        entry.latest.push((purpose, version, now));
    }

    /// Makes a random data key, wraps it and stores it (unless another process stored that
    /// version first).
    fn create(&self, tenant: &[u8], purpose: Purpose, version: u32) -> Result<(), CryptoProblem> {
        let id = DataKeyId {
            tenant: tenant.to_vec(),
            purpose,
            version,
        };
        let key = SecretKey::generate();
        let master_version = self.master.current_version();
        let bytes = self.master.wrap(master_version, &id.context(), &key)?;
        self.store.insert(
            id,
            WrappedKey {
                master_version,
                bytes,
            },
        )?;
        Ok(())
    }

    /// The cipher of the tenant's data key `version` for the purpose, from the cache while it
    /// is fresh.
    fn key(
        &self,
        tenant: &[u8],
        purpose: Purpose,
        version: u32,
    ) -> Result<Arc<Aes256GcmSiv>, CryptoProblem> {
        let now = Instant::now();
        if let Some(cached) = self
            .lock()
            .fresh(tenant, purpose, Some(version), now, &self.limits)
        {
            return Ok(cached.cipher.clone());
        }
        self.unwrap_key(tenant, purpose, version, now)
    }

    /// Unwraps the tenant's data key `version` for the purpose and caches it, its first use
    /// counted; returns its cipher.
    fn unwrap_key(
        &self,
        tenant: &[u8],
        purpose: Purpose,
        version: u32,
        now: Instant,
    ) -> Result<Arc<Aes256GcmSiv>, CryptoProblem> {
        let id = DataKeyId {
            tenant: tenant.to_vec(),
            purpose,
            version,
        };
        let wrapped = self
            .store
            .get(&id)?
            .ok_or(CryptoProblem::DataKeyMissing { version })?;
        let key = self
            .master
            .unwrap(wrapped.master_version, &id.context(), &wrapped.bytes)?;
        let cipher = Arc::new(Aes256GcmSiv::new(key.bytes().into()));
        let mut cache = self.lock();
        cache.unwraps += 1;
        let cached = cache.tenants.entry(id.tenant).or_default();
        // Another thread may have unwrapped it meanwhile: one entry per key.
        cached
            .keys
            .retain(|k| k.purpose != purpose || k.version != version);
        cached.keys.push(Cached {
            purpose,
            version,
            key,
            cipher: cipher.clone(),
            columns: Vec::new(),
            since: now,
            uses: 1,
        });
        Ok(cipher)
    }

    /// The tenant's newest data key for sealing fields and its version: one look in the cache
    /// while both are fresh.
    fn sealing_key(&self, tenant: &[u8]) -> Result<(u32, Arc<Aes256GcmSiv>), CryptoProblem> {
        let now = Instant::now();
        if let Some(cached) = self
            .lock()
            .fresh(tenant, Purpose::Fields, None, now, &self.limits)
        {
            return Ok((cached.version, cached.cipher.clone()));
        }
        let version = self.latest_or_new(tenant, Purpose::Fields)?;
        Ok((version, self.key(tenant, Purpose::Fields, version)?))
    }

    /// [`sealing_key`](Self::sealing_key) for up to `uses` values at once: the key and its
    /// version, and how many uses were counted (at least one, no more than the key has left;
    /// one when the key had to be unwrapped).
    fn sealing_key_for(
        &self,
        tenant: &[u8],
        uses: u64,
    ) -> Result<(u32, Arc<Aes256GcmSiv>, u64), CryptoProblem> {
        let now = Instant::now();
        if let Some((cached, counted)) =
            self.lock()
                .fresh_for(tenant, Purpose::Fields, None, now, &self.limits, uses)
        {
            return Ok((cached.version, cached.cipher.clone(), counted));
        }
        let version = self.latest_or_new(tenant, Purpose::Fields)?;
        Ok((version, self.key(tenant, Purpose::Fields, version)?, 1))
    }

    /// Takes back `uses` uses counted by a look-up of the tenant's key `version` for the
    /// purpose that no value made: the key whose cipher is `cipher`, if it is still cached (a
    /// key dropped and unwrapped again since is another key, and keeps its own count).
    fn give_back(
        &self,
        tenant: &[u8],
        purpose: Purpose,
        version: u32,
        cipher: &Arc<Aes256GcmSiv>,
        uses: u64,
    ) {
        if uses == 0 {
            return;
        }
        let mut cache = self.lock();
        let kept = cache.tenants.get_mut(tenant).and_then(|t| {
            t.keys.iter_mut().find(|k| {
                k.purpose == purpose && k.version == version && Arc::ptr_eq(&k.cipher, cipher)
            })
        });
        if let Some(kept) = kept {
            kept.uses = kept.uses.saturating_sub(uses);
        }
    }

    /// Appends to `out` (which may hold other values before it) the envelope of `plain` sealed
    /// for `binding` with `cipher`, data key `version`. Room for the whole envelope is made
    /// before the plaintext is copied in, so `out` never moves with plaintext in it; the
    /// plaintext is encrypted where it was copied, and wiped there if sealing fails.
    fn seal_onto(
        &self,
        binding: &Binding<'_>,
        cipher: &Aes256GcmSiv,
        version: u32,
        plain: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoProblem> {
        let mut flags = 0;
        if self.padding.is_some() {
            flags |= envelope::FLAG_PADDED;
        }
        let header = envelope::header(flags, version);
        let nonce = fresh_nonce();
        let at = out.len();
        let start = at + header.len() + nonce.len();
        let padded = self.padding.map_or(plain.len(), |block| {
            let block = block.max(1);
            (plain.len() / block + 1) * block
        });
        out.reserve(header.len() + nonce.len() + padded + envelope::TAG_LEN);
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        if let Some(block) = self.padding {
            envelope::pad(out, start, block);
        }
        let sealed = binding.with_aad(&header, |aad| {
            cipher.encrypt_in_place_detached(&nonce, aad, &mut out[start..])
        });
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(_) => {
                out[at..].zeroize();
                out.truncate(at);
                Err(CryptoProblem::Provider("sealing failed".into()))
            }
        }
    }

    /// Seals `plaintext` for `binding` with the tenant's newest data key.
    pub fn seal(&self, binding: &Binding<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal_encoded(binding, plaintext.len(), |out| {
            out.extend_from_slice(plaintext)
        })
    }

    /// Seals what `encode` appends (about `len` bytes) for `binding` with the tenant's newest
    /// data key.
    fn seal_encoded(
        &self,
        binding: &Binding<'_>,
        len: usize,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Vec<u8>, CryptoError> {
        let (version, cipher) = self
            .sealing_key(binding.tenant)
            .map_err(|problem| binding.error(problem))?;
        self.seal_with(binding, &cipher, version, len, encode)
            .map_err(|problem| binding.error(problem))
    }

    /// The envelope of what `encode` appends, sealed with `cipher`, data key `version`. The
    /// plaintext is written into the envelope's own buffer after the header and nonce and
    /// encrypted there: no other copy of it is made, and the buffer is wiped if sealing fails
    /// (or moved, wiped, before it would grow with the plaintext in it).
    fn seal_with(
        &self,
        binding: &Binding<'_>,
        cipher: &Aes256GcmSiv,
        version: u32,
        len: usize,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Vec<u8>, CryptoProblem> {
        let mut flags = 0;
        if self.padding.is_some() {
            flags |= envelope::FLAG_PADDED;
        }
        let header = envelope::header(flags, version);
        let nonce = fresh_nonce();
        let start = header.len() + nonce.len();
        let extra = self.padding.unwrap_or(0) + envelope::TAG_LEN;
        let mut out = Vec::with_capacity(start + len + extra);
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        encode(&mut out);
        if out.capacity() - out.len() < extra {
            let mut larger = Vec::with_capacity(out.len() + extra);
            larger.extend_from_slice(&out);
            out.zeroize();
            out = larger;
        }
        if let Some(block) = self.padding {
            envelope::pad(&mut out, start, block);
        }
        let sealed = binding.with_aad(&header, |aad| {
            cipher.encrypt_in_place_detached(&nonce, aad, &mut out[start..])
        });
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(out)
            }
            Err(_) => {
                out.zeroize();
                Err(CryptoProblem::Provider("sealing failed".into()))
            }
        }
    }

    /// Opens an envelope sealed for `binding`; an envelope sealed for another table, column,
    /// tenant or row is [`CryptoProblem::NotAuthentic`].
    pub fn open(
        &self,
        binding: &Binding<'_>,
        stored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.open_problem(binding, stored)
            .map_err(|problem| binding.error(problem))
    }

    fn open_problem(
        &self,
        binding: &Binding<'_>,
        stored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoProblem> {
        let envelope = Envelope::parse(stored).map_err(CryptoProblem::Envelope)?;
        let cipher = self.key(binding.tenant, Purpose::Fields, envelope.key_version)?;
        let mut plain = Zeroizing::new(envelope.ciphertext().to_vec());
        let len = open_in_place(&cipher, binding, stored, &envelope, &mut plain)?;
        plain.truncate(len);
        Ok(plain)
    }

    /// The cipher of the tenant's data key `version` for fields, for a value of the row being
    /// decoded: the row's first value looks it up in the cache (its age checked, and `values()`
    /// uses counted at once: the table's encrypted columns) and keeps it in `row`; the row's
    /// next values of that tenant and version take it from there until those uses are spent.
    fn row_cipher<'r>(
        &self,
        row: &'r mut Option<RowKey>,
        tenant: &[u8],
        version: u32,
        values: impl FnOnce() -> u64,
    ) -> Result<&'r Aes256GcmSiv, CryptoProblem> {
        if let Some(kept) = row
            .as_mut()
            .filter(|kept| kept.left > 0 && kept.is_for(tenant, version))
        {
            kept.left -= 1;
        } else {
            let now = Instant::now();
            let found = self
                .lock()
                .fresh_for(
                    tenant,
                    Purpose::Fields,
                    Some(version),
                    now,
                    &self.limits,
                    values(),
                )
                .map(|(cached, counted)| (cached.cipher.clone(), counted));
            let (cipher, counted) = match found {
                Some(found) => found,
                None => (self.unwrap_key(tenant, Purpose::Fields, version, now)?, 1),
            };
            *row = Some(RowKey::new(tenant, version, cipher, counted - 1));
        }
        match row {
            Some(kept) => Ok(&kept.cipher),
            // Set above.
            None => Err(CryptoProblem::DataKeyMissing { version }),
        }
    }

    /// Opens the envelope of a field of the row being decoded (its key from `row`, see
    /// [`row_cipher`](Self::row_cipher)) straight into the field: a `String` or `Vec<u8>` keeps
    /// the buffer the ciphertext was decrypted in as its own bytes (no copy of the plaintext is
    /// made, so none is left to wipe); a short value of another type is decrypted in a buffer on
    /// the stack, wiped once it is decoded; a longer one in a buffer on the heap, wiped when
    /// dropped.
    fn open_row_field<F: EncryptedField>(
        &self,
        row: &mut Option<RowKey>,
        table: &'static TableDef,
        binding: &Binding<'_>,
        stored: &[u8],
    ) -> Result<F, CryptoProblem> {
        let envelope = Envelope::parse(stored).map_err(CryptoProblem::Envelope)?;
        let cipher = self.row_cipher(row, binding.tenant, envelope.key_version, || {
            table.columns.iter().filter(|c| c.holds_envelope()).count() as u64
        })?;
        let ciphertext = envelope.ciphertext();
        if !F::KEEPS_OPENED && ciphertext.len() <= OPEN_ON_STACK {
            let mut buffer = [0u8; OPEN_ON_STACK];
            let buffer = Wiped(&mut buffer[..ciphertext.len()]);
            buffer.0.copy_from_slice(ciphertext);
            let len = open_in_place(cipher, binding, stored, &envelope, buffer.0)?;
            return F::from_plaintext(Some(&buffer.0[..len])).map_err(CryptoProblem::Plaintext);
        }
        let mut plain = Zeroizing::new(ciphertext.to_vec());
        let len = open_in_place(cipher, binding, stored, &envelope, &mut plain)?;
        plain.truncate(len);
        F::from_opened(plain).map_err(CryptoProblem::Plaintext)
    }

    /// The envelope sealed again with the tenant's newest data key, or `None` when it is
    /// sealed with it already: one step of a re-encryption after a rotation.
    pub fn reseal(
        &self,
        binding: &Binding<'_>,
        stored: &[u8],
    ) -> Result<Option<Vec<u8>>, CryptoError> {
        let fail = |problem| binding.error(problem);
        let (latest, cipher) = self.sealing_key(binding.tenant).map_err(fail)?;
        let envelope = Envelope::parse(stored)
            .map_err(CryptoProblem::Envelope)
            .map_err(fail)?;
        if envelope.key_version == latest {
            return Ok(None);
        }
        let plain = self.open(binding, stored)?;
        self.seal_with(binding, &cipher, latest, plain.len(), |out| {
            out.extend_from_slice(&plain)
        })
        .map(Some)
        .map_err(fail)
    }

    /// The blind index of `value` (encoded as [`Plaintext`]) in `table.column` for `tenant`:
    /// its first `bits` bits of HMAC-SHA-256, keyed by a key derived (HKDF) from the tenant's
    /// blind-index data key for this column alone.
    pub fn blind_index(
        &self,
        table: &'static str,
        column: &'static str,
        tenant: &[u8],
        value: &[u8],
        bits: u32,
    ) -> Result<Vec<u8>, CryptoError> {
        let mac = self
            .column_mac(table, column, tenant)
            .map_err(|problem| CryptoError {
                table,
                column,
                problem,
            })?;
        Ok(blind::blind_index(mac, value, bits))
    }

    /// The keyed HMAC of the blind index of `table.column` for `tenant`, kept with its cached
    /// data key. Blind indexes stay on version 1 of their key: a new version would change every
    /// index value, which only a rebuild of the column can follow.
    fn column_mac(
        &self,
        table: &'static str,
        column: &'static str,
        tenant: &[u8],
    ) -> Result<Hmac<Sha256>, CryptoProblem> {
        self.column_mac_for(table, column, tenant, 1)
            .map(|(mac, _, _)| mac)
    }

    /// [`column_mac`](Self::column_mac) for up to `uses` values at once: the keyed HMAC, how
    /// many uses were counted (at least one, no more than the key has left; one when the key
    /// had to be unwrapped), and the cipher of the data key they were counted on.
    fn column_mac_for(
        &self,
        table: &'static str,
        column: &'static str,
        tenant: &[u8],
        uses: u64,
    ) -> Result<(Hmac<Sha256>, u64, Arc<Aes256GcmSiv>), CryptoProblem> {
        let now = Instant::now();
        let purpose = Purpose::BlindIndex;
        if let Some((cached, counted)) =
            self.lock()
                .fresh_for(tenant, purpose, Some(1), now, &self.limits, uses)
        {
            let mac = cached.column_mac(table, column)?;
            return Ok((mac, counted, cached.cipher.clone()));
        }
        self.latest_or_new(tenant, purpose)?;
        self.unwrap_key(tenant, purpose, 1, now)?;
        let mut cache = self.lock();
        let cached = cache
            .tenants
            .get_mut(tenant)
            .and_then(|t| {
                t.keys
                    .iter_mut()
                    .find(|k| k.purpose == purpose && k.version == 1)
            })
            .ok_or(CryptoProblem::DataKeyMissing { version: 1 })?;
        let mac = cached.column_mac(table, column)?;
        Ok((mac, 1, cached.cipher.clone()))
    }

    /// Makes a new version of the tenant's data key for the purpose, used by every seal from
    /// now on (older versions still open what they sealed); returns the new version.
    pub fn rotate_data_key(&self, tenant: &[u8], purpose: Purpose) -> Result<u32, CryptoProblem> {
        let next = self.store.latest(tenant, purpose)?.unwrap_or(0) + 1;
        self.create(tenant, purpose, next)?;
        self.remember_latest(tenant, purpose, next, Instant::now());
        Ok(next)
    }

    /// Wraps every stored data key again with the current master key (after a rotation of the
    /// master key); the ciphertexts do not change. Returns how many keys were wrapped again.
    pub fn rewrap(&self) -> Result<usize, CryptoProblem> {
        let current = self.master.current_version();
        let mut count = 0;
        for id in self.store.ids()? {
            let Some(wrapped) = self.store.get(&id)? else {
                continue;
            };
            if wrapped.master_version == current {
                continue;
            }
            let context = id.context();
            let key = self
                .master
                .unwrap(wrapped.master_version, &context, &wrapped.bytes)?;
            let bytes = self.master.wrap(current, &context, &key)?;
            self.store.replace(
                &id,
                WrappedKey {
                    master_version: current,
                    bytes,
                },
            )?;
            count += 1;
        }
        Ok(count)
    }

    /// Deletes every data key of the tenant, from the store and from memory: its encrypted
    /// values can no longer be opened by anyone (crypto-shredding). Returns how many keys.
    pub fn shred_tenant(&self, tenant: &[u8]) -> Result<usize, CryptoProblem> {
        let count = self.store.delete_tenant(tenant)?;
        self.lock().tenants.remove(tenant);
        Ok(count)
    }

    /// The tenant's newest data key version for sealing fields, if it has one.
    pub fn latest_version(&self, tenant: &[u8]) -> Result<Option<u32>, CryptoProblem> {
        self.store.latest(tenant, Purpose::Fields)
    }
}

/// The keys that open encrypted columns on this thread, and the key of the row being decoded.
struct OpeningState {
    keys: RefCell<Option<Arc<Keys>>>,
    row: RefCell<Option<RowKey>>,
}

thread_local! {
    static OPENING: OpeningState = const {
        OpeningState {
            keys: RefCell::new(None),
            row: RefCell::new(None),
        }
    };
}

/// Runs `decode` with `keys` as the keys that open encrypted columns on this thread: the
/// drivers decode rows inside it, so a row type's `from_row` opens its fields without taking
/// the keys as an argument. The previous keys are restored afterwards.
///
/// The drivers call it once per row: the key a row's first value looks up is kept for its
/// other values (see [`open_field`]) until it returns.
pub fn with_keys<R>(keys: Option<&Arc<Keys>>, decode: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<Keys>>, Option<RowKey>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let (keys, row) = (self.0.take(), self.1.take());
            OPENING.with(|opening| {
                *opening.keys.borrow_mut() = keys;
                *opening.row.borrow_mut() = row;
            });
        }
    }
    let previous =
        OPENING.with(|opening| (opening.keys.replace(keys.cloned()), opening.row.take()));
    let _restore = Restore(previous.0, previous.1);
    decode()
}

/// A future that opens encrypted columns with `keys` while it runs: each poll decodes inside
/// [`with_keys`], so a sqlx fetch (whose rows are decoded as they arrive) reads a table with
/// encrypted columns: `crypto::opening(Some(keys), query.fetch_all(&pool)).await`.
pub fn opening<F: std::future::Future>(keys: Option<Arc<Keys>>, future: F) -> Opening<F> {
    Opening {
        keys,
        future: Box::pin(future),
    }
}

/// The future of [`opening`].
pub struct Opening<F> {
    keys: Option<Arc<Keys>>,
    future: std::pin::Pin<Box<F>>,
}

impl<F> fmt::Debug for Opening<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening").finish_non_exhaustive()
    }
}

impl<F: std::future::Future> std::future::Future for Opening<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = &mut *self;
        with_keys(this.keys.as_ref(), || this.future.as_mut().poll(cx))
    }
}

/// The value's bytes as the authenticated data holds them (the tenant, or one column of a
/// row key), length-prefixed.
#[doc(hidden)]
pub fn push_binding_part<T: Plaintext>(out: &mut Vec<u8>, value: &T) {
    // Room for a key of a few columns at once (two uuids take 40 bytes), rather than a
    // reallocation at each part.
    if out.capacity() == 0 {
        out.reserve(BINDING_ROOM);
    }
    // The value is encoded in place, after room for its length.
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    value.encode(out);
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// The room a row key's buffer is made with.
const BINDING_ROOM: usize = 64;

/// The tenant's bytes: the tenant column's value, encoded.
#[doc(hidden)]
pub fn tenant_bytes<T: Plaintext>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    value.encode(&mut bytes);
    bytes
}

/// Appends the tenant's bytes (as [`tenant_bytes`] makes them) to `out`.
#[doc(hidden)]
pub fn push_tenant_bytes<T: Plaintext>(out: &mut Vec<u8>, value: &T) {
    value.encode(out);
}

/// The binding of column `column` of `table` for a row.
fn bound<'a>(
    table: &'static TableDef,
    column: usize,
    tenant: &'a [u8],
    row_key: &'a [u8],
) -> Binding<'a> {
    Binding {
        schema: table.schema.unwrap_or(""),
        table: table.name,
        column: table.columns.get(column).map_or("", |c| c.name),
        tenant,
        row_key,
    }
}

/// The room an envelope's buffer is made with for a field's value: a longer value moves it once.
const SEAL_ROOM: usize = 64;

/// Seals the field of column `column` of `table` for its row; `None` for NULL.
#[doc(hidden)]
pub fn seal_field<F: EncryptedField>(
    keys: &Keys,
    table: &'static TableDef,
    column: usize,
    tenant: &[u8],
    row_key: &[u8],
    value: &F,
) -> Result<Option<Vec<u8>>, CryptoError> {
    let binding = bound(table, column, tenant, row_key);
    let Some(plain) = value.plaintext() else {
        return Ok(None);
    };
    keys.seal_encoded(&binding, SEAL_ROOM, |out| plain.encode_dyn(out))
        .map(Some)
}

/// The blind index of the field of encrypted column `column` of `table` for its tenant: the
/// first `bits` bits of an HMAC of the value's bytes; `None` for NULL.
#[doc(hidden)]
pub fn blind_field<F: EncryptedField>(
    keys: &Keys,
    table: &'static TableDef,
    column: usize,
    tenant: &[u8],
    value: &F,
    bits: u32,
) -> Result<Option<Vec<u8>>, CryptoError> {
    let Some(plain) = value.plaintext() else {
        return Ok(None);
    };
    let mut bytes = Zeroizing::new(Vec::new());
    plain.encode_dyn(&mut bytes);
    let def = table.columns.get(column);
    let name = def.map_or("", |c| c.name);
    let normalized = def
        .and_then(|c| c.encryption?.blind_index)
        .and_then(|index| index.normalize.apply(&bytes))
        .map(Zeroizing::new);
    let value = normalized.as_deref().unwrap_or(&bytes);
    keys.blind_index(table.name, name, tenant, value, bits)
        .map(Some)
}

/// Opens the stored bytes of column `column` of `table` for its row, with the keys of
/// [`with_keys`].
#[doc(hidden)]
pub fn open_field<F: EncryptedField>(
    table: &'static TableDef,
    column: usize,
    tenant: &[u8],
    row_key: &[u8],
    stored: Option<&[u8]>,
) -> Result<F, CryptoError> {
    let binding = bound(table, column, tenant, row_key);
    let Some(stored) = stored else {
        return F::from_plaintext(None).map_err(|e| binding.error(CryptoProblem::Plaintext(e)));
    };
    let migrating = table
        .columns
        .get(column)
        .and_then(|c| c.encryption)
        .is_some_and(|e| e.accepts_plaintext);
    if migrating && !envelope::is_envelope(stored) {
        // A row not encrypted yet: its bytes are the value's.
        return F::from_plaintext(Some(stored))
            .map_err(|e| binding.error(CryptoProblem::Plaintext(e)));
    }
    OPENING.with(|opening| {
        let keys = opening.keys.borrow();
        let keys = keys
            .as_ref()
            .ok_or_else(|| binding.error(CryptoProblem::NoKeys))?;
        // Both borrowed while the value opens, as the keys always were: a key store must not
        // decode rows with `with_keys` on this thread while it answers.
        keys.open_row_field(&mut opening.row.borrow_mut(), table, &binding, stored)
            .map_err(|problem| binding.error(problem))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ColumnDef;
    use chrono::NaiveDate;

    fn keys() -> Keys {
        Keys::new(
            StaticKeyring::new(SecretKey::from_bytes([7; KEY_LEN])),
            Arc::new(MemoryKeyStore::default()),
        )
    }

    fn binding<'a>(column: &'static str, tenant: &'a [u8], row: &'a [u8]) -> Binding<'a> {
        Binding {
            schema: "billing",
            table: "patients",
            column,
            tenant,
            row_key: row,
        }
    }

    #[test]
    fn a_sealed_value_opens_only_where_it_was_bound() {
        let keys = keys();
        let sealed = keys
            .seal(&binding("name", b"t1", b"r1"), b"Jane Doe")
            .unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"Jane Doe"));
        assert_eq!(
            &keys.open(&binding("name", b"t1", b"r1"), &sealed).unwrap()[..],
            b"Jane Doe"
        );
        for elsewhere in [
            binding("name", b"t1", b"r2"),
            binding("address", b"t1", b"r1"),
        ] {
            assert_eq!(
                keys.open(&elsewhere, &sealed).unwrap_err().problem,
                CryptoProblem::NotAuthentic
            );
        }
        // Another tenant has no key of that version yet, then a key that does not open it.
        keys.seal(&binding("name", b"t2", b"r1"), b"x").unwrap();
        assert_eq!(
            keys.open(&binding("name", b"t2", b"r1"), &sealed)
                .unwrap_err()
                .problem,
            CryptoProblem::NotAuthentic
        );
        // A header edited in place does not open either.
        let mut edited = sealed.clone();
        edited[4] = envelope::FLAG_PADDED;
        assert_eq!(
            keys.open(&binding("name", b"t1", b"r1"), &edited)
                .unwrap_err()
                .problem,
            CryptoProblem::NotAuthentic
        );
    }

    #[test]
    fn shredding_a_tenant_leaves_its_values_unreadable_and_others_readable() {
        let keys = keys();
        let a = keys.seal(&binding("name", b"t1", b"r"), b"a").unwrap();
        let b = keys.seal(&binding("name", b"t2", b"r"), b"b").unwrap();
        assert_eq!(keys.shred_tenant(b"t1").unwrap(), 1);
        assert_eq!(
            keys.open(&binding("name", b"t1", b"r"), &a)
                .unwrap_err()
                .problem,
            CryptoProblem::DataKeyMissing { version: 1 }
        );
        assert_eq!(
            &keys.open(&binding("name", b"t2", b"r"), &b).unwrap()[..],
            b"b"
        );
    }

    #[test]
    fn rotation_reseals_with_the_new_version_and_old_ones_still_open() {
        let keys = keys();
        let at = binding("name", b"t1", b"r");
        let old = keys.seal(&at, b"value").unwrap();
        assert_eq!(keys.rotate_data_key(b"t1", Purpose::Fields).unwrap(), 2);
        assert_eq!(&keys.open(&at, &old).unwrap()[..], b"value");
        let new = keys.reseal(&at, &old).unwrap().unwrap();
        assert_eq!(Envelope::parse(&new).unwrap().key_version, 2);
        assert_eq!(keys.reseal(&at, &new).unwrap(), None);
        assert_eq!(&keys.open(&at, &new).unwrap()[..], b"value");
    }

    #[test]
    fn a_master_rotation_rewraps_data_keys_without_touching_ciphertexts() {
        let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::default());
        let v1 = StaticKeyring::new(SecretKey::from_bytes([1; KEY_LEN]));
        let keys = Keys::new(v1, store.clone());
        let at = binding("name", b"t1", b"r");
        let sealed = keys.seal(&at, b"value").unwrap();
        let both = StaticKeyring::new(SecretKey::from_bytes([1; KEY_LEN]))
            .with_version(2, SecretKey::from_bytes([2; KEY_LEN]));
        let rotated = Keys::new(both, store.clone());
        assert_eq!(rotated.rewrap().unwrap(), 1);
        // Only master version 2 is left, and it opens the old ciphertext.
        let only_new = StaticKeyring::new(SecretKey::from_bytes([9; KEY_LEN]))
            .with_version(2, SecretKey::from_bytes([2; KEY_LEN]));
        assert_eq!(
            &Keys::new(only_new, store).open(&at, &sealed).unwrap()[..],
            b"value"
        );
    }

    #[test]
    fn the_cache_unwraps_again_after_its_uses_and_padding_hides_lengths() {
        let keys = keys()
            .with_cache_limits(CacheLimits {
                max_age: Duration::from_secs(3600),
                max_uses: 3,
            })
            .with_padding(16);
        let at = binding("name", b"t1", b"r");
        let short = keys.seal(&at, b"a").unwrap();
        let longer = keys.seal(&at, b"abcdefghijklm").unwrap();
        assert_eq!(short.len(), longer.len());
        for _ in 0..6 {
            keys.open(&at, &short).unwrap();
        }
        assert!(keys.unwraps() >= 3, "unwrapped {} times", keys.unwraps());
        assert_eq!(&keys.open(&at, &longer).unwrap()[..], b"abcdefghijklm");
    }

    #[test]
    fn blind_indexes_are_keyed_per_tenant_and_column() {
        let keys = keys();
        let t = "patients";
        let a = keys
            .blind_index(t, "member_id", b"t1", b"M123", 32)
            .unwrap();
        assert_eq!(
            a,
            keys.blind_index(t, "member_id", b"t1", b"M123", 32)
                .unwrap()
        );
        assert_ne!(
            a,
            keys.blind_index(t, "member_id", b"t2", b"M123", 32)
                .unwrap()
        );
        assert_ne!(a, keys.blind_index(t, "name", b"t1", b"M123", 32).unwrap());
    }

    /// Keys whose data keys for tenant `t1` are fixed (0x11 for fields, 0x22 for blind
    /// indexes), wrapped by master key 3.
    fn fixed_keys() -> (StaticKeyring, Arc<MemoryKeyStore>) {
        let store = Arc::new(MemoryKeyStore::default());
        let master = StaticKeyring::new(SecretKey::from_bytes([3; KEY_LEN]));
        for (purpose, byte) in [(Purpose::Fields, 0x11), (Purpose::BlindIndex, 0x22)] {
            let id = DataKeyId {
                tenant: b"t1".to_vec(),
                purpose,
                version: 1,
            };
            let bytes = master
                .wrap(1, &id.context(), &SecretKey::from_bytes([byte; KEY_LEN]))
                .unwrap();
            store
                .insert(
                    id,
                    WrappedKey {
                        master_version: 1,
                        bytes,
                    },
                )
                .unwrap();
        }
        (master, store)
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn envelopes_and_blind_indexes_written_by_earlier_versions_still_read() {
        // Sealed (unpadded, then padded to 16) and indexed by the first release of the format:
        // the envelope, its authenticated data and the blind index's key derivation are fixed.
        let sealed = unhex("504501010000000001e62800432c5c32a8571d6b336a5f273a081d162d100514de1437c1b946622abd70d4dc96");
        let padded = unhex("504501010100000001fc7f30ba381a3a5edc6117b50103f41dbfe44a548d6b7c3cb701cff465c4e05b1d42269f9fe385fc314e3839");
        let (master, store) = fixed_keys();
        let keys = Keys::new(master, store);
        let at = Binding {
            schema: "billing",
            table: "patients",
            column: "name",
            tenant: b"t1",
            row_key: b"r1",
        };
        for stored in [&sealed, &padded] {
            assert_eq!(&keys.open(&at, stored).unwrap()[..], b"Jane Doe");
        }
        assert_eq!(
            keys.blind_index("patients", "member_id", b"t1", b"M123", 32)
                .unwrap(),
            unhex("34f10c17")
        );
        // What this version seals, the same keys open, padded or not.
        let (master, store) = fixed_keys();
        let padding = Keys::new(master, store).with_padding(16);
        for keys in [&keys, &padding] {
            let fresh = keys.seal(&at, b"Jane Doe").unwrap();
            assert_eq!(
                fresh.len(),
                sealed.len() + usize::from(keys.padding.is_some()) * 8
            );
            assert_eq!(&keys.open(&at, &fresh).unwrap()[..], b"Jane Doe");
        }
    }

    const fn column(name: &'static str, encryption: Option<crate::EncryptionDef>) -> ColumnDef {
        ColumnDef {
            name,
            renamed_from: None,
            field: name,
            rust_type: "String",
            sql_type: crate::SqlType::Bytea,
            nullable: true,
            default: None,
            update_sql: None,
            unique: false,
            allowed_values: None,
            renamed_values: &[],
            range: None,
            comment: None,
            sensitive: false,
            internal: false,
            immutable: false,
            generation: None,
            encryption,
            using: None,
        }
    }

    const SEALED: Option<crate::EncryptionDef> = Some(crate::EncryptionDef {
        blind_index: None,
        blind_index_of: None,
        accepts_plaintext: false,
    });

    /// A table with two encrypted columns (`name`, `born`) and the blind index of one, which
    /// holds no envelope.
    static PATIENTS: TableDef = TableDef {
        name: "patients",
        schema: Some("billing"),
        renamed_from: None,
        comment: None,
        columns: &[
            column("tenant", None),
            column("id", None),
            column("name", SEALED),
            column("born", SEALED),
            column(
                "name_bidx",
                Some(crate::EncryptionDef {
                    blind_index: None,
                    blind_index_of: Some("name"),
                    accepts_plaintext: false,
                }),
            ),
        ],
        primary_key: &["tenant", "id"],
        unique_keys: &[],
        foreign_keys: &[],
        checks: &[],
        indexes: &[],
        row_level_security: false,
        policies: &[],
        column_grants: &[],
        tenant: None,
        reference: false,
    };

    /// A row of [`PATIENTS`] as the drivers decode it: its two fields opened inside one
    /// `with_keys`, bound to its tenant and key.
    fn read_row(
        keys: &Arc<Keys>,
        tenant: &[u8],
        row: &[u8],
        name: &[u8],
        born: Option<&[u8]>,
    ) -> Result<(String, Option<NaiveDate>), CryptoError> {
        with_keys(Some(keys), || {
            Ok((
                open_field::<String>(&PATIENTS, 2, tenant, row, Some(name))?,
                open_field::<Option<NaiveDate>>(&PATIENTS, 3, tenant, row, born)?,
            ))
        })
    }

    #[test]
    fn fields_open_as_they_were_sealed_one_row_at_a_time() {
        let (_, store) = fixed_keys();
        let day = NaiveDate::from_ymd_opt(1980, 2, 3).unwrap();
        let mut rows = Vec::new();
        // Sealed unpadded, then padded (the padding removed on the stack and from a `String`).
        for padding in [None, Some(16)] {
            let sealing = keys_over(fixed_keys().0, store.clone(), 1_000_000, padding);
            rows = (0..6u8)
                .map(|i| {
                    let row = vec![i];
                    let name = format!("Patient {i}");
                    let name = seal_field(&sealing, &PATIENTS, 2, b"t1", &row, &name).unwrap();
                    let born = (i % 3 != 0).then_some(day);
                    let born = seal_field(&sealing, &PATIENTS, 3, b"t1", &row, &born).unwrap();
                    (row, name.unwrap(), born)
                })
                .collect();
            let padded = Envelope::parse(&rows[1].1).unwrap().flags & envelope::FLAG_PADDED;
            assert_eq!(padded != 0, padding.is_some());
            let keys = Arc::new(keys_over(fixed_keys().0, store.clone(), 2, None));
            for (i, (row, name, born)) in rows.iter().enumerate() {
                let (name, opened_born) =
                    read_row(&keys, b"t1", row, name, born.as_deref()).unwrap();
                assert_eq!(name, format!("Patient {i}"));
                assert_eq!(opened_born, born.as_ref().map(|_| day));
            }
            // Ten values (two NULLs are not opened), two uses a key: five unwraps.
            assert_eq!(keys.unwraps(), 5, "padding {padding:?}");
            // Moved to another row, or to the other column, a value does not open.
            let (row, name, born) = &rows[1];
            let moved = read_row(&keys, b"t1", b"elsewhere", name, born.as_deref());
            assert_eq!(moved.unwrap_err().problem, CryptoProblem::NotAuthentic);
            let swapped = read_row(&keys, b"t1", row, born.as_deref().unwrap(), Some(name));
            assert_eq!(swapped.unwrap_err().problem, CryptoProblem::NotAuthentic);
            // Outside `with_keys`, nothing opens.
            assert_eq!(
                open_field::<String>(&PATIENTS, 2, b"t1", row, Some(name))
                    .unwrap_err()
                    .problem,
                CryptoProblem::NoKeys
            );
        }
        // A tenant without that key does not open the row's values.
        let keys = Arc::new(keys_over(fixed_keys().0, store, 100, None));
        let (row, name, born) = &rows[2];
        assert_eq!(
            read_row(&keys, b"t2", row, name, born.as_deref())
                .unwrap_err()
                .problem,
            CryptoProblem::DataKeyMissing { version: 1 }
        );
    }

    #[test]
    fn a_row_keeps_its_key_only_for_its_own_tenant_version_and_values() {
        let (master, store) = fixed_keys();
        let keys = Arc::new(keys_over(master, store, 1_000_000, None));
        let name = keys
            .seal(&bound(&PATIENTS, 2, b"t1", b"r"), b"Jane Doe")
            .unwrap();
        // Version 2 of the tenant's key: the row's next value needs it, not the kept one.
        assert_eq!(keys.rotate_data_key(b"t1", Purpose::Fields).unwrap(), 2);
        let mut born = Vec::new();
        NaiveDate::from_ymd_opt(1980, 2, 3)
            .unwrap()
            .encode(&mut born);
        let born = keys.seal(&bound(&PATIENTS, 3, b"t1", b"r"), &born).unwrap();
        assert_eq!(Envelope::parse(&born).unwrap().key_version, 2);
        let (opened, day) = read_row(&keys, b"t1", b"r", &name, Some(&born)).unwrap();
        assert_eq!(opened, "Jane Doe");
        assert_eq!(day, NaiveDate::from_ymd_opt(1980, 2, 3));
        // The kept key is dropped when the row is decoded; an outer row's is restored.
        with_keys(Some(&keys), || {
            open_field::<String>(&PATIENTS, 2, b"t1", b"r", Some(&name)).unwrap();
            let inner = read_row(&keys, b"t1", b"r", &name, Some(&born)).unwrap();
            assert_eq!(inner.0, "Jane Doe");
            OPENING.with(|opening| {
                let kept = opening.row.borrow();
                assert!(kept.as_ref().is_some_and(|k| k.is_for(b"t1", 1)));
            });
        });
        OPENING.with(|opening| assert!(opening.row.borrow().is_none()));
    }

    /// A row of [`PATIENTS`] to seal: its tenant, its key's bytes, its name and birth date.
    type PatientRow = (&'static [u8], Vec<u8>, String, Option<NaiveDate>);

    /// Seals rows of [`PATIENTS`] into `sealer` as the generated `seal_into` does, then the
    /// name's blind index.
    fn seal_batch(sealer: &mut Sealer<'_>, rows: &[PatientRow]) -> Result<(), CryptoError> {
        sealer.start(rows.len());
        for (tenant, row, name, born) in rows {
            let (t, k) = sealer.next_row();
            t.extend_from_slice(tenant);
            k.extend_from_slice(row);
            sealer.seal(&PATIENTS, 2, name)?;
            sealer.seal(&PATIENTS, 3, born)?;
            sealer.blind(&PATIENTS, 2, name, 12)?;
        }
        Ok(())
    }

    #[test]
    fn a_batch_seals_what_opens_as_values_sealed_one_at_a_time() {
        let day = NaiveDate::from_ymd_opt(1980, 2, 3).unwrap();
        let rows: Vec<PatientRow> = (0..7u8)
            .map(|i| {
                let tenant: &'static [u8] = if i % 2 == 0 { b"t1" } else { b"t2" };
                (
                    tenant,
                    vec![i],
                    format!("Patient {i}"),
                    (i % 3 != 0).then_some(day),
                )
            })
            .collect();
        for padding in [None, Some(16)] {
            let (master, store) = fixed_keys();
            let keys = Arc::new(keys_over(master, store, 1_000_000, padding));
            let mut sealer = Sealer::new(&keys);
            seal_batch(&mut sealer, &rows).unwrap();
            assert_eq!(sealer.rows(), rows.len());
            let values = sealer.values();
            for (i, (tenant, row, name, born)) in rows.iter().enumerate() {
                let sealed = &values[sealer.row(i)];
                assert_eq!(sealed.len(), 3);
                let (sealed_name, sealed_born) = (sealed[0].unwrap(), sealed[1]);
                let envelope = Envelope::parse(sealed_name).unwrap();
                assert_eq!(
                    envelope.flags & envelope::FLAG_PADDED != 0,
                    padding.is_some()
                );
                let (opened, opened_born) =
                    read_row(&keys, tenant, row, sealed_name, sealed_born).unwrap();
                assert_eq!((&opened, opened_born), (name, *born));
                // The same authenticated data as `Keys::seal`'s: it opens with `Keys::open`.
                let at = bound(&PATIENTS, 2, tenant, row);
                assert_eq!(&keys.open(&at, sealed_name).unwrap()[..], name.as_bytes());
                let index = keys
                    .blind_index("patients", "name", tenant, name.as_bytes(), 12)
                    .unwrap();
                assert_eq!(sealed[2], Some(index.as_slice()));
                // Moved to another row or column, it does not open.
                let moved = read_row(&keys, tenant, b"elsewhere", sealed_name, sealed_born);
                assert_eq!(moved.unwrap_err().problem, CryptoProblem::NotAuthentic);
                let other = if *tenant == b"t1" { b"t2" } else { b"t1" };
                let other_tenant = read_row(&keys, other, row, sealed_name, sealed_born);
                assert_eq!(
                    other_tenant.unwrap_err().problem,
                    CryptoProblem::NotAuthentic
                );
            }
            // A NULL is no value, and takes no key.
            assert_eq!(values[sealer.row(0)][1], None);
            assert!(format!("{sealer:?}").starts_with("Sealer { rows: 7, values: 21"));
        }
    }

    /// The uses counted on the tenant's cached key of `purpose`, version `version`.
    fn uses(keys: &Keys, tenant: &[u8], purpose: Purpose, version: u32) -> Option<u64> {
        let cache = keys.lock();
        let cached = cache.tenants.get(tenant)?;
        let key = cached
            .keys
            .iter()
            .find(|k| k.purpose == purpose && k.version == version)?;
        Some(key.uses)
    }

    #[test]
    fn a_batch_counts_the_uses_it_makes_and_no_more_than_a_key_has() {
        let day = NaiveDate::from_ymd_opt(1980, 2, 3);
        let row = |i: u8| -> PatientRow { (b"t1", vec![i], format!("Patient {i}"), day) };
        let (master, store) = fixed_keys();
        let keys = keys_over(master, store.clone(), 1_000_000, None);
        let mut sealer = Sealer::new(&keys);
        // Expected 100 rows, three sealed: the uses the look-ups counted ahead are given back.
        sealer.start(100);
        for i in 0..3 {
            let (tenant, key, name, born) = row(i);
            let (t, k) = sealer.next_row();
            t.extend_from_slice(tenant);
            k.extend_from_slice(&key);
            sealer.seal(&PATIENTS, 2, &name).unwrap();
            sealer.seal(&PATIENTS, 3, &born).unwrap();
            sealer.blind(&PATIENTS, 2, &name, 12).unwrap();
        }
        assert!(uses(&keys, b"t1", Purpose::Fields, 1).unwrap() > 6);
        sealer.release();
        assert_eq!(uses(&keys, b"t1", Purpose::Fields, 1), Some(6));
        assert_eq!(uses(&keys, b"t1", Purpose::BlindIndex, 1), Some(3));
        drop(sealer);
        // Five uses a key: sixteen values of eight rows take four keys, as one at a time.
        let keys = keys_over(fixed_keys().0, store, 5, None);
        let mut sealer = Sealer::new(&keys);
        let rows: Vec<_> = (0..8).map(row).collect();
        seal_batch(&mut sealer, &rows).unwrap();
        // Sixteen fields over five uses a key: four unwraps; eight indexes: two.
        assert_eq!(keys.unwraps(), 4 + 2);
        let values = sealer.values();
        for (i, (tenant, key, name, _)) in rows.iter().enumerate() {
            let sealed = values[sealer.row(i)][0].unwrap();
            let at = bound(&PATIENTS, 2, tenant, key);
            assert_eq!(&keys.open(&at, sealed).unwrap()[..], name.as_bytes());
        }
    }

    /// Keys over `store` with fields' keys used at most `max_uses` times.
    fn keys_over(
        master: StaticKeyring,
        store: Arc<MemoryKeyStore>,
        max_uses: u64,
        padding: Option<usize>,
    ) -> Keys {
        let keys = Keys::new(master, store).with_cache_limits(CacheLimits {
            max_age: Duration::from_secs(3600),
            max_uses,
        });
        match padding {
            Some(block) => keys.with_padding(block),
            None => keys,
        }
    }

    #[test]
    fn debug_output_prints_no_key() {
        let key = SecretKey::from_bytes([0x41; KEY_LEN]);
        assert_eq!(format!("{key:?}"), "SecretKey(redacted)");
        let printed = format!("{:?}", keys());
        assert!(!printed.contains("65, 65"), "{printed}");
    }
}
