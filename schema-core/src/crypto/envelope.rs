//! The envelope an encrypted column holds: a versioned header, the nonce, and the ciphertext
//! with its tag. Parsing is total: every malformed input is an [`EnvelopeProblem`].
//!
//! ```text
//! offset  size  field
//!      0     2  magic "PE"
//!      2     1  format version (1)
//!      3     1  algorithm (1: AES-256-GCM-SIV)
//!      4     1  flags (bit 0: the plaintext is padded to a block)
//!      5     4  data key version, big-endian (the key itself is the tenant's for the purpose)
//!      9    12  nonce
//!     21     n  ciphertext, then the 16-byte tag
//! ```

/// The first bytes of every envelope: `PE`.
pub const MAGIC: [u8; 2] = *b"PE";
/// The envelope format this version writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Algorithm 1: AES-256-GCM-SIV (RustCrypto's `aes-gcm-siv`).
pub const AES_256_GCM_SIV: u8 = 1;
/// Bytes before the nonce.
pub const HEADER_LEN: usize = 9;
/// AES-GCM-SIV's nonce.
pub const NONCE_LEN: usize = 12;
/// Poly1305's tag.
pub const TAG_LEN: usize = 16;
/// The shortest envelope: an empty plaintext.
pub const MIN_LEN: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
/// Flag: the plaintext was padded (ISO/IEC 7816-4: a 0x80 byte, then zeros) to a block.
pub const FLAG_PADDED: u8 = 1;

/// What is wrong with bytes that should be an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeProblem {
    /// Shorter than the header, nonce and tag.
    TooShort,
    /// Does not start with the magic bytes: not an envelope (a plaintext written by other means).
    NotAnEnvelope,
    /// A format version this build does not read.
    UnknownVersion(u8),
    /// An algorithm this build does not know.
    UnknownAlgorithm(u8),
    /// Flags this build does not know.
    UnknownFlags(u8),
    /// The padding of a padded plaintext is malformed (only after decryption).
    BadPadding,
}

impl std::fmt::Display for EnvelopeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeProblem::TooShort => write!(f, "shorter than an envelope ({MIN_LEN} bytes)"),
            EnvelopeProblem::NotAnEnvelope => f.write_str("not an envelope (no \"PE\" header)"),
            EnvelopeProblem::UnknownVersion(v) => write!(f, "unknown envelope version {v}"),
            EnvelopeProblem::UnknownAlgorithm(a) => write!(f, "unknown algorithm {a}"),
            EnvelopeProblem::UnknownFlags(x) => write!(f, "unknown flags {x:#04x}"),
            EnvelopeProblem::BadPadding => f.write_str("malformed padding"),
        }
    }
}

/// A parsed envelope, borrowing its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The algorithm.
    pub algorithm: u8,
    /// The flags.
    pub flags: u8,
    /// The version of the tenant's data key that sealed it.
    pub key_version: u32,
    /// The nonce.
    pub nonce: &'a [u8; NONCE_LEN],
    /// The ciphertext followed by its tag.
    pub sealed: &'a [u8],
}

impl std::fmt::Debug for Envelope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("algorithm", &self.algorithm)
            .field("flags", &self.flags)
            .field("key_version", &self.key_version)
            .field("sealed_len", &self.sealed.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Envelope<'a> {
    /// Reads an envelope; every malformed input is a problem, never a panic.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EnvelopeProblem> {
        if bytes.len() < 2 || bytes[..2] != MAGIC {
            return Err(if bytes.len() < MIN_LEN {
                EnvelopeProblem::TooShort
            } else {
                EnvelopeProblem::NotAnEnvelope
            });
        }
        if bytes.len() < MIN_LEN {
            return Err(EnvelopeProblem::TooShort);
        }
        if bytes[2] != FORMAT_VERSION {
            return Err(EnvelopeProblem::UnknownVersion(bytes[2]));
        }
        if bytes[3] != AES_256_GCM_SIV {
            return Err(EnvelopeProblem::UnknownAlgorithm(bytes[3]));
        }
        if bytes[4] & !FLAG_PADDED != 0 {
            return Err(EnvelopeProblem::UnknownFlags(bytes[4]));
        }
        let key_version = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
        let nonce = bytes[HEADER_LEN..HEADER_LEN + NONCE_LEN]
            .try_into()
            .map_err(|_| EnvelopeProblem::TooShort)?;
        Ok(Envelope {
            algorithm: bytes[3],
            flags: bytes[4],
            key_version,
            nonce,
            sealed: &bytes[HEADER_LEN + NONCE_LEN..],
        })
    }

    /// The ciphertext, without its tag.
    pub(crate) fn ciphertext(&self) -> &'a [u8] {
        // `parse` guarantees the tag is there.
        &self.sealed[..self.sealed.len() - TAG_LEN]
    }

    /// The tag ([`TAG_LEN`] bytes).
    pub(crate) fn tag(&self) -> &'a [u8] {
        &self.sealed[self.sealed.len() - TAG_LEN..]
    }

    /// The header and nonce: what the authenticated data covers besides the binding, so that
    /// a header edited in place fails to open.
    pub(crate) fn header(bytes: &[u8]) -> &[u8] {
        &bytes[..HEADER_LEN.min(bytes.len())]
    }
}

/// Whether stored bytes are an envelope as the column's `CHECK` sees it: long enough, with
/// the magic, the format version and the algorithm (a column being encrypted holds others,
/// which are plaintext).
pub fn is_envelope(stored: &[u8]) -> bool {
    stored.len() >= MIN_LEN
        && stored[..2] == MAGIC
        && stored[2] == FORMAT_VERSION
        && stored[3] == AES_256_GCM_SIV
}

/// The header of a new envelope.
pub(crate) fn header(flags: u8, key_version: u32) -> [u8; HEADER_LEN] {
    let v = key_version.to_be_bytes();
    [
        MAGIC[0],
        MAGIC[1],
        FORMAT_VERSION,
        AES_256_GCM_SIV,
        flags,
        v[0],
        v[1],
        v[2],
        v[3],
    ]
}

/// Pads the plaintext in `buffer` from `start` on to a multiple of `block` bytes (ISO/IEC
/// 7816-4), always adding at least one byte.
pub(crate) fn pad(buffer: &mut Vec<u8>, start: usize, block: usize) {
    buffer.push(0x80);
    while !(buffer.len() - start).is_multiple_of(block.max(1)) {
        buffer.push(0);
    }
}

/// Removes the padding [`pad`] added.
#[cfg(test)]
pub(crate) fn unpad(plain: &mut Vec<u8>) -> Result<(), EnvelopeProblem> {
    let len = unpadded_len(plain)?;
    plain.truncate(len);
    Ok(())
}

/// The length of the plaintext in `plain` without the padding [`pad`] added.
pub(crate) fn unpadded_len(plain: &[u8]) -> Result<usize, EnvelopeProblem> {
    let mut end = plain.len();
    while end > 0 {
        end -= 1;
        match plain[end] {
            0 => continue,
            0x80 => return Ok(end),
            _ => break,
        }
    }
    Err(EnvelopeProblem::BadPadding)
}

/// The SQL of the `CHECK` on an encrypted column's header: at least an envelope long, and
/// starting with the magic, the format version and the algorithm. A plaintext written by raw
/// SQL (or by a client without the keys) is refused by the database itself.
pub fn header_check_sql(quoted_column: &str) -> String {
    format!(
        "octet_length({quoted_column}) >= {MIN_LEN} AND substring({quoted_column} FROM 1 FOR 4) = '\\x{:02x}{:02x}{:02x}{:02x}'::bytea",
        MAGIC[0], MAGIC[1], FORMAT_VERSION, AES_256_GCM_SIV
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut bytes = header(0, 7).to_vec();
        bytes.extend([9u8; NONCE_LEN]);
        bytes.extend([1u8; TAG_LEN + 3]);
        bytes
    }

    #[test]
    fn envelopes_parse_and_every_malformed_input_is_a_problem() {
        let bytes = sample();
        let e = Envelope::parse(&bytes).unwrap();
        assert_eq!(
            (e.key_version, e.flags, e.sealed.len()),
            (7, 0, TAG_LEN + 3)
        );
        assert_eq!(Envelope::parse(b""), Err(EnvelopeProblem::TooShort));
        assert_eq!(
            Envelope::parse(&bytes[..MIN_LEN - 1]),
            Err(EnvelopeProblem::TooShort)
        );
        let plaintext = b"Jane Doe, 1980-02-03, member 123456789012345678901234567890";
        assert_eq!(
            Envelope::parse(plaintext),
            Err(EnvelopeProblem::NotAnEnvelope)
        );
        for (at, value, problem) in [
            (2, 9, EnvelopeProblem::UnknownVersion(9)),
            (3, 5, EnvelopeProblem::UnknownAlgorithm(5)),
            (4, 6, EnvelopeProblem::UnknownFlags(6)),
        ] {
            let mut bad = bytes.clone();
            bad[at] = value;
            assert_eq!(Envelope::parse(&bad), Err(problem));
        }
        // Every prefix of a valid envelope is refused or parsed; none panics.
        for end in 0..bytes.len() {
            let _ = Envelope::parse(&bytes[..end]);
        }
    }

    #[test]
    fn padding_round_trips_and_hides_the_length_within_a_block() {
        for len in 0..40 {
            let mut plain = vec![0xAB; len];
            pad(&mut plain, 0, 16);
            assert_eq!(plain.len() % 16, 0);
            unpad(&mut plain).unwrap();
            assert_eq!(plain, vec![0xAB; len]);
            // After a header of 5 bytes: the plaintext alone is padded.
            let mut buffer = vec![1; 5 + len];
            pad(&mut buffer, 5, 16);
            assert_eq!((buffer.len() - 5) % 16, 0);
        }
        let mut no_marker = vec![1, 0, 0];
        assert_eq!(unpad(&mut no_marker), Err(EnvelopeProblem::BadPadding));
    }

    #[test]
    fn the_header_check_names_the_magic_version_and_algorithm() {
        assert_eq!(
            header_check_sql("\"name\""),
            "octet_length(\"name\") >= 37 AND substring(\"name\" FROM 1 FOR 4) = '\\x50450101'::bytea"
        );
    }
}
