//! Keys: master keys (the provider trait a KMS implements, and a static keyring for tests and
//! development), the wrapped data keys per tenant and purpose (the store trait, and a store in
//! memory), and the unwrapped keys in memory, zeroized on drop.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use aes_gcm_siv::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm_siv::Nonce;
use zeroize::Zeroizing;

use super::{Aes256GcmSiv, CryptoProblem};

/// The length of every key here: 256 bits.
pub const KEY_LEN: usize = 32;

/// A data key or master key in memory: zeroized when dropped, never printed.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl SecretKey {
    /// A key from its bytes (a master key read from a secret store).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        SecretKey(Zeroizing::new(bytes))
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let key = Aes256GcmSiv::generate_key(&mut OsRng);
        let mut bytes = [0u8; KEY_LEN];
        bytes.copy_from_slice(&key);
        SecretKey::from_bytes(bytes)
    }

    /// The key's bytes, for the cipher.
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key's bytes, asked for by name (a KMS implementation that sends them to be wrapped,
    /// a test that looks for them in a dump): nothing prints them by accident.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(redacted)")
    }
}

/// What a data key is for: each tenant has one per purpose, so that the key that opens its
/// fields never also keys its blind indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// Sealing and opening encrypted columns.
    Fields,
    /// Keying the blind indexes (one HMAC key per column is derived from it).
    BlindIndex,
}

impl Purpose {
    /// The purpose's name, in the authenticated data of its wrapping.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Fields => "fields",
            Purpose::BlindIndex => "blind_index",
        }
    }

    /// The purpose whose [`as_str`](Self::as_str) is `name`, if any.
    pub fn from_name(name: &str) -> Option<Purpose> {
        [Purpose::Fields, Purpose::BlindIndex]
            .into_iter()
            .find(|p| p.as_str() == name)
    }
}

/// Which data key: a tenant's (by the tenant column's value, encoded), for a purpose, at a
/// version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataKeyId {
    /// The tenant column's value, encoded as [`Plaintext`](super::Plaintext) encodes it.
    pub tenant: Vec<u8>,
    /// The purpose.
    pub purpose: Purpose,
    /// The version: 1 for the first key, one more at each rotation.
    pub version: u32,
}

impl DataKeyId {
    /// The authenticated data of the key's wrapping: a wrapped key copied to another tenant,
    /// purpose or version does not unwrap.
    pub fn context(&self) -> Vec<u8> {
        let mut out = b"schema-core data key\0".to_vec();
        super::push_part(&mut out, &self.tenant);
        super::push_part(&mut out, self.purpose.as_str().as_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out
    }
}

/// A data key as it is stored: wrapped by a master key, useless without it.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The version of the master key that wrapped it.
    pub master_version: u32,
    /// What the master key's provider returned.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("master_version", &self.master_version)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The master keys: a KMS, an HSM, or a [`StaticKeyring`]. The database never sees them; they
/// only wrap and unwrap data keys.
///
/// A KMS is the user's implementation: `wrap` calls its Encrypt with `context` as the
/// encryption context, `unwrap` its Decrypt; the keys it returns are cached by [`Keys`](super::Keys).
pub trait MasterKeys: Send + Sync {
    /// The version new data keys are wrapped with.
    fn current_version(&self) -> u32;

    /// Wraps `key` with master key `version`, binding it to `context`.
    fn wrap(&self, version: u32, context: &[u8], key: &SecretKey)
        -> Result<Vec<u8>, CryptoProblem>;

    /// Unwraps what [`wrap`](Self::wrap) returned for the same version and context.
    fn unwrap(
        &self,
        version: u32,
        context: &[u8],
        wrapped: &[u8],
    ) -> Result<SecretKey, CryptoProblem>;
}

/// Master keys held in memory, for tests and development: each version a 256-bit key that
/// wraps with AES-256-GCM-SIV. In production the master key lives in a KMS.
pub struct StaticKeyring {
    keys: BTreeMap<u32, SecretKey>,
    current: u32,
}

impl fmt::Debug for StaticKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeyring")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .finish()
    }
}

impl StaticKeyring {
    /// A keyring with one master key, version 1.
    pub fn new(master: SecretKey) -> Self {
        StaticKeyring {
            keys: BTreeMap::from([(1, master)]),
            current: 1,
        }
    }

    /// Adds master key `version` and makes it the current one (a rotation of the master key);
    /// the older versions still unwrap what they wrapped.
    pub fn with_version(mut self, version: u32, master: SecretKey) -> Self {
        self.keys.insert(version, master);
        self.current = version;
        self
    }

    fn cipher(&self, version: u32) -> Result<Aes256GcmSiv, CryptoProblem> {
        let key = self
            .keys
            .get(&version)
            .ok_or(CryptoProblem::MasterKeyMissing { version })?;
        Ok(Aes256GcmSiv::new(key.bytes().into()))
    }
}

impl MasterKeys for StaticKeyring {
    fn current_version(&self) -> u32 {
        self.current
    }

    fn wrap(
        &self,
        version: u32,
        context: &[u8],
        key: &SecretKey,
    ) -> Result<Vec<u8>, CryptoProblem> {
        let nonce = Aes256GcmSiv::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher(version)?
            .encrypt(
                &nonce,
                Payload {
                    msg: key.bytes(),
                    aad: context,
                },
            )
            .map_err(|_| CryptoProblem::Provider("wrapping failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(out)
    }

    fn unwrap(
        &self,
        version: u32,
        context: &[u8],
        wrapped: &[u8],
    ) -> Result<SecretKey, CryptoProblem> {
        if wrapped.len() != 12 + KEY_LEN + 16 {
            return Err(CryptoProblem::WrappedKeyInvalid);
        }
        let plain = Zeroizing::new(
            self.cipher(version)?
                .decrypt(
                    Nonce::from_slice(&wrapped[..12]),
                    Payload {
                        msg: &wrapped[12..],
                        aad: context,
                    },
                )
                .map_err(|_| CryptoProblem::WrappedKeyInvalid)?,
        );
        let mut bytes = [0u8; KEY_LEN];
        bytes.copy_from_slice(&plain);
        Ok(SecretKey::from_bytes(bytes))
    }
}

/// Where the wrapped data keys live: a table of the application's database (`PgKeyStore`,
/// feature `postgres`), a KMS's key store, or [`MemoryKeyStore`]. Deleting a tenant's keys
/// here shreds its data. Only wrapped keys are ever handed to a store.
///
/// The calls are synchronous: [`Keys`](super::Keys) makes them while sealing and opening, which
/// run inside the drivers' encoding and decoding of a row. `Keys` caches what they answer (a
/// tenant's newest version and its unwrapped keys, for [`CacheLimits`](super::CacheLimits)), so
/// a store is asked only on a miss, a rotation, a rewrap or a shred; a store that does I/O
/// (`PgKeyStore` does, on a connection and thread of its own) holds the calling thread for
/// that call, as a KMS behind [`MasterKeys`] does.
pub trait KeyStore: Send + Sync {
    /// The newest version of the tenant's key for the purpose, if it has one.
    fn latest(&self, tenant: &[u8], purpose: Purpose) -> Result<Option<u32>, CryptoProblem>;

    /// A wrapped key, if it exists (it does not once shredded).
    fn get(&self, id: &DataKeyId) -> Result<Option<WrappedKey>, CryptoProblem>;

    /// Stores a new wrapped key; `false` when that version exists already (another process
    /// made it first: the caller reads that one).
    fn insert(&self, id: DataKeyId, key: WrappedKey) -> Result<bool, CryptoProblem>;

    /// Replaces a wrapped key by the same key wrapped again (a master key rotation).
    fn replace(&self, id: &DataKeyId, key: WrappedKey) -> Result<(), CryptoProblem>;

    /// Every stored key's id.
    fn ids(&self) -> Result<Vec<DataKeyId>, CryptoProblem>;

    /// Deletes every key of the tenant (crypto-shredding); returns how many.
    fn delete_tenant(&self, tenant: &[u8]) -> Result<usize, CryptoProblem>;
}

/// Wrapped data keys in memory, for tests and development.
#[derive(Default)]
pub struct MemoryKeyStore {
    keys: Mutex<BTreeMap<DataKeyId, WrappedKey>>,
}

impl fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.keys.lock().map(|k| k.len()).unwrap_or(0);
        f.debug_struct("MemoryKeyStore")
            .field("keys", &count)
            .finish()
    }
}

impl MemoryKeyStore {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<DataKeyId, WrappedKey>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every wrapped key, for a test that looks for keys in a database dump.
    pub fn wrapped(&self) -> Vec<(DataKeyId, WrappedKey)> {
        self.map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl KeyStore for MemoryKeyStore {
    fn latest(&self, tenant: &[u8], purpose: Purpose) -> Result<Option<u32>, CryptoProblem> {
        Ok(self
            .map()
            .keys()
            .filter(|id| id.tenant == tenant && id.purpose == purpose)
            .map(|id| id.version)
            .max())
    }

    fn get(&self, id: &DataKeyId) -> Result<Option<WrappedKey>, CryptoProblem> {
        Ok(self.map().get(id).cloned())
    }

    fn insert(&self, id: DataKeyId, key: WrappedKey) -> Result<bool, CryptoProblem> {
        let mut map = self.map();
        if map.contains_key(&id) {
            return Ok(false);
        }
        map.insert(id, key);
        Ok(true)
    }

    fn replace(&self, id: &DataKeyId, key: WrappedKey) -> Result<(), CryptoProblem> {
        self.map().insert(id.clone(), key);
        Ok(())
    }

    fn ids(&self) -> Result<Vec<DataKeyId>, CryptoProblem> {
        Ok(self.map().keys().cloned().collect())
    }

    fn delete_tenant(&self, tenant: &[u8]) -> Result<usize, CryptoProblem> {
        let mut map = self.map();
        let before = map.len();
        map.retain(|id, _| id.tenant != tenant);
        Ok(before - map.len())
    }
}
