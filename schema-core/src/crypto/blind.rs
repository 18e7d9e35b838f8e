//! Blind indexes: a truncated HMAC of a normalized value, keyed per tenant and column, stored
//! beside the ciphertext so that exact-match lookups need no deterministic encryption; and
//! the planner that says how many bits a population can afford (CipherSweet's formula).

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::KEY_LEN;

/// The most bits a blind index may keep: one HMAC-SHA-256 output.
pub const MAX_BLIND_INDEX_BITS: u32 = 256;

/// The HMAC-SHA-256 of one column's blind index, keyed by a key derived (HKDF-SHA-256) from
/// the tenant's blind-index data key for this table and column alone. It is made once per
/// cached data key and cloned for each value (keying an HMAC hashes two blocks); it wipes its
/// state when dropped (the `zeroize` features of `hmac` and `sha2`).
pub(crate) fn column_mac(
    data_key: &[u8; KEY_LEN],
    table: &str,
    column: &str,
) -> Option<Hmac<Sha256>> {
    let mut info = Vec::new();
    super::push_part(&mut info, table.as_bytes());
    super::push_part(&mut info, column.as_bytes());
    let mut column_key = zeroize::Zeroizing::new([0u8; KEY_LEN]);
    Hkdf::<Sha256>::new(Some(b"schema-core blind index"), data_key)
        .expand(&info, column_key.as_mut())
        .ok()?;
    <Hmac<Sha256> as KeyInit>::new_from_slice(column_key.as_ref()).ok()
}

/// The truncated HMAC of `value` under the column's keyed `mac`, keeping its first `bits`
/// bits (the trailing bits of the last byte set to zero), so that the index holds
/// `ceil(bits / 8)` bytes.
pub(crate) fn blind_index(mac: Hmac<Sha256>, value: &[u8], bits: u32) -> Vec<u8> {
    let mut out = Vec::new();
    blind_index_onto(mac, value, bits, &mut out);
    out
}

/// [`blind_index`], appended to `out`.
pub(crate) fn blind_index_onto(mut mac: Hmac<Sha256>, value: &[u8], bits: u32, out: &mut Vec<u8>) {
    let bits = bits.clamp(1, MAX_BLIND_INDEX_BITS);
    mac.update(value);
    let full = mac.finalize().into_bytes();
    let bytes = bits.div_ceil(8) as usize;
    out.extend_from_slice(&full[..bytes]);
    let spare = (bytes as u32) * 8 - bits;
    if spare > 0 {
        if let Some(last) = out.last_mut() {
            *last &= 0xFFu8 << spare;
        }
    }
}

/// Another blind index on the same rows: its bits (`L`) and the bits of the values it covers
/// (`K`: the domain, `u32::MAX` when unbounded). Together the indexes of a row must not tell
/// rows apart, or they identify the plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExistingIndex {
    /// Its bits.
    pub bits: u32,
    /// The bits of its input's domain (`u32::MAX`: unbounded).
    pub domain_bits: u32,
}

/// The range of bits a new blind index may have: `min` gives each index value at most
/// `sqrt(population)` rows, `max` still gives at least two rows per value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitsRange {
    /// The fewest bits worth having.
    pub min: u32,
    /// The most bits that keep rows indistinct.
    pub max: u32,
}

/// `population >= 2^exponent`, without overflow (a population is below 2^64).
const fn at_least(population: u64, exponent: u32) -> bool {
    exponent < 64 && population >= 1u64 << exponent
}

/// `population > 2^exponent`.
const fn more_than(population: u64, exponent: u32) -> bool {
    exponent < 64 && population > 1u64 << exponent
}

/// CipherSweet's planner for a new blind index of `domain_bits` (`u32::MAX`: unbounded) over
/// `population` rows, next to `existing` indexes. The coincidences of a choice of `l` bits are
/// `R / 2^(sum of min(L, K))`; `min` is the smallest `l` whose coincidences are between 2 and
/// `sqrt(R)`, `max` the largest `l` such that one bit fewer would leave more coincidences than
/// the boundary (2, or what the domain itself leaves if that is more).
pub const fn recommended_bits(
    population: u64,
    existing: &[ExistingIndex],
    domain_bits: u32,
) -> BitsRange {
    let population = if population == 0 { 1 } else { population };
    let mut used = 0u32;
    let mut i = 0;
    while i < existing.len() {
        let e = existing[i];
        used += if e.bits < e.domain_bits {
            e.bits
        } else {
            e.domain_bits
        };
        i += 1;
    }
    // The boundary: 2 coincidences, or the coincidences the domain leaves at any length.
    let whole = used + if domain_bits < 257 { domain_bits } else { 257 };
    let boundary_is_domain = more_than(population, whole + 1);
    let mut min = 0u32;
    let mut max = 0u32;
    let mut l = MAX_BLIND_INDEX_BITS;
    while l >= 1 {
        let e = used + if l < domain_bits { l } else { domain_bits };
        // coincidences = R / 2^e; "more than the boundary"
        let above_boundary = if boundary_is_domain {
            e < whole
        } else {
            // R / 2^e > 2  <=>  R > 2^(e+1)
            more_than(population, e + 1)
        };
        if max == 0 && above_boundary {
            max = l + 1;
        }
        // 2 <= R / 2^e <= sqrt(R)  <=>  R >= 2^(e+1)  and  R <= 2^(2e)
        let enough = at_least(population, e + 1);
        let not_too_many = !more_than(population, 2 * e);
        if enough && not_too_many {
            min = l;
        }
        l -= 1;
    }
    if max == 0 {
        max = if domain_bits < MAX_BLIND_INDEX_BITS {
            domain_bits
        } else {
            MAX_BLIND_INDEX_BITS
        };
    }
    if min == 0 {
        min = 1;
    }
    if min > max {
        min = max;
    }
    BitsRange { min, max }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planner_gives_ciphersweets_figures() {
        // 50,000 rows and no other index: 8 to 15 bits.
        assert_eq!(
            recommended_bits(50_000, &[], u32::MAX),
            BitsRange { min: 8, max: 15 }
        );
        // Next to an existing 4-bit index over a 16-bit domain: 4 to 11 bits.
        let existing = [ExistingIndex {
            bits: 4,
            domain_bits: 16,
        }];
        assert_eq!(
            recommended_bits(50_000, &existing, u32::MAX),
            BitsRange { min: 4, max: 11 }
        );
        // More rows afford more bits.
        assert_eq!(recommended_bits(1_000_000, &[], u32::MAX).max, 19);
    }

    #[test]
    fn a_blind_index_keeps_the_bits_asked_and_depends_on_key_and_value() {
        let mac = |key: &[u8]| <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        let a = blind_index(mac(b"key one"), b"value", 12);
        assert_eq!(a.len(), 2);
        assert_eq!(a[1] & 0x0F, 0);
        assert_eq!(a, blind_index(mac(b"key one"), b"value", 12));
        assert_ne!(
            blind_index(mac(b"key one"), b"value", 64),
            blind_index(mac(b"key two"), b"value", 64)
        );
        assert_ne!(
            blind_index(mac(b"key one"), b"value", 64),
            blind_index(mac(b"key one"), b"other", 64)
        );
        assert_eq!(blind_index(mac(b"k"), b"v", 256).len(), 32);
    }

    #[test]
    fn each_column_has_its_own_key() {
        let key = [5u8; KEY_LEN];
        let index =
            |table, column| blind_index(column_mac(&key, table, column).unwrap(), b"M123", 64);
        assert_eq!(
            index("patients", "member_id"),
            index("patients", "member_id")
        );
        assert_ne!(index("patients", "member_id"), index("patients", "name"));
        // The parts are length-prefixed: moving a byte between table and column changes the key.
        assert_ne!(index("ab", "c"), index("a", "bc"));
    }
}
