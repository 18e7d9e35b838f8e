//! The application's keys for its encrypted columns (`billing.patients`): the master key given
//! by the environment (in production a KMS's, behind `schema_core::crypto::MasterKeys`), the
//! wrapped data keys kept in the database beside the data (`schema_core.data_keys`, through
//! `PgKeyStore`), so that a restart reads them back.

use std::sync::Arc;

use schema_core::crypto::{CryptoProblem, Keys, PgKeyStore, SecretKey, StaticKeyring, KEY_LEN};

/// The variable the command line (`cargo run --example schema`) reads the master key from: 64
/// hexadecimal digits.
pub const MASTER_KEY_VAR: &str = "APP_MASTER_KEY";

/// Keys whose master key is `master_hex` (64 hexadecimal digits, version 1) and whose wrapped
/// data keys live in the database at `database_url`. A malformed key is refused without being
/// repeated in the error.
pub async fn app_keys(master_hex: &str, database_url: &str) -> Result<Arc<Keys>, CryptoProblem> {
    let master = parse_master(master_hex.trim()).ok_or_else(|| {
        CryptoProblem::Provider(format!(
            "{MASTER_KEY_VAR} must be {} hexadecimal digits",
            2 * KEY_LEN
        ))
    })?;
    let store = PgKeyStore::connect(database_url).await?;
    Ok(Arc::new(Keys::new(
        StaticKeyring::new(master),
        Arc::new(store),
    )))
}

/// The key of 64 hexadecimal digits.
fn parse_master(hex: &str) -> Option<SecretKey> {
    if hex.len() != 2 * KEY_LEN || !hex.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; KEY_LEN];
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(SecretKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_master_key_is_64_hexadecimal_digits() {
        let key = parse_master(&"0a".repeat(KEY_LEN)).unwrap();
        assert_eq!(key.expose_secret(), &[0x0a; KEY_LEN]);
        assert!(parse_master(&"0a".repeat(KEY_LEN - 1)).is_none());
        assert!(parse_master(&"zz".repeat(KEY_LEN)).is_none());
        assert!(parse_master(&"é".repeat(KEY_LEN)).is_none());
    }
}
