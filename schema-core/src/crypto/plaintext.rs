//! How a field's value becomes the bytes that are sealed, and back: one fixed encoding per
//! Rust type, the same for both drivers (a row written through sqlx opens through
//! tokio-postgres). No compression: it would leak the plaintext's content through its length.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use uuid::Uuid;
use zeroize::Zeroizing;

/// A type an encrypted column may hold: it has a byte encoding.
pub trait Plaintext: Sized {
    /// Whether [`decode_owned`](Self::decode_owned) keeps the opened buffer as the value's own
    /// bytes (`String`, `Vec<u8>`), so that it is worth opening the value in a buffer of its own.
    const KEEPS_OPENED: bool = false;
    /// Appends the value's bytes.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads back what [`encode`](Self::encode) wrote.
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError>;
    /// Reads back what [`encode`](Self::encode) wrote, from a buffer the value may keep as its
    /// own bytes instead of copying them; whatever it does not keep is wiped when dropped. By
    /// default, [`decode`](Self::decode).
    fn decode_owned(bytes: Zeroizing<Vec<u8>>) -> Result<Self, PlaintextError> {
        Self::decode(&bytes)
    }
}

/// Bytes that do not decode as the field's type (an envelope of another column's type, say).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaintextError {
    /// The Rust type.
    pub rust_type: &'static str,
}

impl std::fmt::Display for PlaintextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the opened bytes are not a `{}`", self.rust_type)
    }
}

fn fixed<const N: usize>(bytes: &[u8], rust_type: &'static str) -> Result<[u8; N], PlaintextError> {
    bytes.try_into().map_err(|_| PlaintextError { rust_type })
}

impl Plaintext for String {
    const KEEPS_OPENED: bool = true;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| PlaintextError {
            rust_type: "String",
        })
    }
    /// The buffer becomes the `String` (checked to be UTF-8), or is wiped.
    fn decode_owned(mut bytes: Zeroizing<Vec<u8>>) -> Result<Self, PlaintextError> {
        String::from_utf8(std::mem::take(&mut *bytes)).map_err(|refused| {
            drop(Zeroizing::new(refused.into_bytes()));
            PlaintextError {
                rust_type: "String",
            }
        })
    }
}

impl Plaintext for Vec<u8> {
    const KEEPS_OPENED: bool = true;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
        Ok(bytes.to_vec())
    }
    /// The buffer becomes the value.
    fn decode_owned(mut bytes: Zeroizing<Vec<u8>>) -> Result<Self, PlaintextError> {
        Ok(std::mem::take(&mut *bytes))
    }
}

impl Plaintext for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
        match bytes {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(PlaintextError { rust_type: "bool" }),
        }
    }
}

macro_rules! big_endian {
    ($($t:ty),*) => {$(
        impl Plaintext for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
            fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
                Ok(<$t>::from_be_bytes(fixed(bytes, stringify!($t))?))
            }
        }
    )*};
}
big_endian!(i16, i32, i64, f64);

impl Plaintext for Uuid {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
        Ok(Uuid::from_bytes(fixed(bytes, "Uuid")?))
    }
}

/// Days from 0001-01-01 (CE day 1), as an `i32`.
impl Plaintext for NaiveDate {
    fn encode(&self, out: &mut Vec<u8>) {
        use chrono::Datelike;
        self.num_days_from_ce().encode(out);
    }
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
        NaiveDate::from_num_days_from_ce_opt(i32::decode(bytes)?).ok_or(PlaintextError {
            rust_type: "NaiveDate",
        })
    }
}

/// Microseconds from the Unix epoch, as an `i64` (PostgreSQL's own precision).
impl Plaintext for DateTime<Utc> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.timestamp_micros().encode(out);
    }
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
        DateTime::from_timestamp_micros(i64::decode(bytes)?).ok_or(PlaintextError {
            rust_type: "DateTime<Utc>",
        })
    }
}

/// Microseconds from the Unix epoch, as an `i64`.
impl Plaintext for NaiveDateTime {
    fn encode(&self, out: &mut Vec<u8>) {
        self.and_utc().timestamp_micros().encode(out);
    }
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
        DateTime::from_timestamp_micros(i64::decode(bytes)?)
            .map(|t| t.naive_utc())
            .ok_or(PlaintextError {
                rust_type: "NaiveDateTime",
            })
    }
}

/// The JSON text.
impl Plaintext for serde_json::Value {
    fn encode(&self, out: &mut Vec<u8>) {
        // Writing JSON to a Vec cannot fail: every key of a `Value` is a string.
        let _ = serde_json::to_writer(&mut *out, self);
    }
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
        serde_json::from_slice(bytes).map_err(|_| PlaintextError {
            rust_type: "serde_json::Value",
        })
    }
}

/// The 16 bytes of `Decimal::serialize`.
#[cfg(feature = "decimal")]
impl Plaintext for rust_decimal::Decimal {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.serialize());
    }
    fn decode(bytes: &[u8]) -> Result<Self, PlaintextError> {
        Ok(rust_decimal::Decimal::deserialize(fixed(bytes, "Decimal")?))
    }
}

/// A field of an encrypted column: a [`Plaintext`], or an `Option` of one whose `None` is the
/// column's NULL (left NULL, not sealed).
pub trait EncryptedField: Sized {
    /// Whether [`from_opened`](Self::from_opened) keeps the opened buffer (see
    /// [`Plaintext::KEEPS_OPENED`]).
    const KEEPS_OPENED: bool = false;
    /// The value to seal; `None` for NULL.
    fn plaintext(&self) -> Option<&dyn PlaintextDyn>;
    /// The field from the opened bytes; `None` for a NULL column.
    fn from_plaintext(bytes: Option<&[u8]>) -> Result<Self, PlaintextError>;
    /// The field from an opened value's buffer, which it may keep (see
    /// [`Plaintext::decode_owned`]). By default, [`from_plaintext`](Self::from_plaintext).
    fn from_opened(bytes: Zeroizing<Vec<u8>>) -> Result<Self, PlaintextError> {
        Self::from_plaintext(Some(&bytes))
    }
}

/// A text field, which a blind index may normalize (`normalize(trim, lowercase)`).
#[diagnostic::on_unimplemented(
    message = "`normalize` is for a text: `{Self}` is not a `String`",
    label = "only a `String` (or an `Option<String>`) field is trimmed or lowercased before it is indexed",
    note = "remove `normalize(..)`, or normalize the value in the application before writing it"
)]
pub trait TextField {}

impl TextField for String {}
impl TextField for Option<String> {}

/// [`Plaintext::encode`] behind a reference, for [`EncryptedField`].
pub trait PlaintextDyn {
    /// Appends the value's bytes.
    fn encode_dyn(&self, out: &mut Vec<u8>);
}

impl<T: Plaintext> PlaintextDyn for T {
    fn encode_dyn(&self, out: &mut Vec<u8>) {
        self.encode(out)
    }
}

impl<T: Plaintext> EncryptedField for T {
    const KEEPS_OPENED: bool = T::KEEPS_OPENED;
    fn plaintext(&self) -> Option<&dyn PlaintextDyn> {
        Some(self)
    }
    fn from_opened(bytes: Zeroizing<Vec<u8>>) -> Result<Self, PlaintextError> {
        T::decode_owned(bytes)
    }
    fn from_plaintext(bytes: Option<&[u8]>) -> Result<Self, PlaintextError> {
        match bytes {
            Some(bytes) => T::decode(bytes),
            None => Err(PlaintextError {
                rust_type: "a value (the column is NULL)",
            }),
        }
    }
}

impl<T: Plaintext> EncryptedField for Option<T> {
    fn plaintext(&self) -> Option<&dyn PlaintextDyn> {
        self.as_ref().map(|v| v as &dyn PlaintextDyn)
    }
    fn from_plaintext(bytes: Option<&[u8]>) -> Result<Self, PlaintextError> {
        bytes.map(T::decode).transpose()
    }
    fn from_opened(bytes: Zeroizing<Vec<u8>>) -> Result<Self, PlaintextError> {
        T::decode_owned(bytes).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Plaintext + PartialEq + std::fmt::Debug>(value: T) {
        let mut bytes = Vec::new();
        value.encode(&mut bytes);
        assert_eq!(T::decode(&bytes).unwrap(), value);
    }

    #[test]
    fn every_supported_type_round_trips() {
        round_trip("Jane Doe".to_string());
        round_trip(vec![0u8, 1, 255]);
        round_trip(true);
        round_trip(-7i16);
        round_trip(i32::MIN);
        round_trip(i64::MAX);
        round_trip(1.5f64);
        round_trip(Uuid::from_u128(42));
        round_trip(NaiveDate::from_ymd_opt(1980, 2, 3).unwrap());
        round_trip(DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap());
        round_trip(serde_json::json!({"street": "1 Main St", "zip": "02139"}));
        assert_eq!(
            i32::decode(&[1, 2]),
            Err(PlaintextError { rust_type: "i32" })
        );
        assert!(String::decode(&[0xFF]).is_err());
    }

    #[test]
    fn values_decoded_from_an_opened_buffer_are_those_decoded_from_its_bytes() {
        let opened = |bytes: &[u8]| Zeroizing::new(bytes.to_vec());
        assert_eq!(
            String::decode_owned(opened(b"Jane Doe")).unwrap(),
            "Jane Doe"
        );
        assert_eq!(
            String::decode_owned(opened(&[b'a', 0xFF])),
            Err(PlaintextError {
                rust_type: "String"
            })
        );
        assert_eq!(
            Vec::<u8>::decode_owned(opened(&[0, 1, 255])).unwrap(),
            [0, 1, 255]
        );
        assert_eq!(
            <Option<String>>::from_opened(opened(b"x")).unwrap(),
            Some("x".to_string())
        );
        let mut date = Vec::new();
        NaiveDate::from_ymd_opt(1980, 2, 3)
            .unwrap()
            .encode(&mut date);
        assert_eq!(
            <NaiveDate as EncryptedField>::from_opened(opened(&date)).unwrap(),
            NaiveDate::from_ymd_opt(1980, 2, 3).unwrap()
        );
        const { assert!(<String as EncryptedField>::KEEPS_OPENED) };
        const { assert!(!<NaiveDate as EncryptedField>::KEEPS_OPENED) };
    }
}
