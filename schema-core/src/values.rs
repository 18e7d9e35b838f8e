//! Column values PostgreSQL has and neither std nor chrono holds exactly: [`Interval`] (an
//! `interval`, kept as PostgreSQL keeps it) and [`Cidr`] (a `cidr` network). Each is encoded
//! and decoded by tokio-postgres (feature `postgres`) and sqlx (feature `sqlx`), and
//! serialized by serde (feature `serde`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An `interval` value: months, days and microseconds, kept apart as PostgreSQL stores them
/// (a month is not a fixed number of days, nor a day of hours across a daylight-saving change),
/// so what is written is what is read back.
///
/// ```
/// use schema_core::Interval;
///
/// let grace = Interval::new(1, 15, 0); // 1 mon 15 days
/// assert_eq!(Interval::days(3).days, 3);
/// assert_eq!(grace.to_string(), "1 mons 15 days 0 microseconds");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Interval {
    /// Whole months (a year is 12).
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds (of a day or more: PostgreSQL keeps them as given).
    pub microseconds: i64,
}

impl Interval {
    /// An interval of `months`, `days` and `microseconds`.
    pub const fn new(months: i32, days: i32, microseconds: i64) -> Self {
        Interval {
            months,
            days,
            microseconds,
        }
    }

    /// An interval of whole days.
    pub const fn days(days: i32) -> Self {
        Interval::new(0, days, 0)
    }

    /// An interval of whole months.
    pub const fn months(months: i32) -> Self {
        Interval::new(months, 0, 0)
    }

    /// An interval of microseconds.
    pub const fn microseconds(microseconds: i64) -> Self {
        Interval::new(0, 0, microseconds)
    }
}

impl fmt::Display for Interval {
    /// The interval in PostgreSQL's input syntax (`1 mons 15 days 0 microseconds`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} mons {} days {} microseconds",
            self.months, self.days, self.microseconds
        )
    }
}

/// A `cidr` value: an IPv4 or IPv6 network, its address with no bit set after the prefix
/// (PostgreSQL refuses such a value, so [`Cidr::new`] does too).
///
/// ```
/// use schema_core::Cidr;
///
/// let net: Cidr = "10.1.0.0/16".parse().unwrap();
/// assert_eq!(net.prefix(), 16);
/// assert!("10.1.0.1/16".parse::<Cidr>().is_err()); // a host bit set
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    address: IpAddr,
    prefix: u8,
}

/// Why a network is not a `cidr` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidrError {
    /// The prefix is longer than the address (32 bits for IPv4, 128 for IPv6).
    PrefixTooLong {
        /// The prefix given.
        prefix: u8,
    },
    /// The address has bits set after the prefix.
    HostBitsSet,
    /// The text is not `address/prefix`.
    Syntax(String),
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::PrefixTooLong { prefix } => {
                write!(f, "a prefix of {prefix} bits is longer than the address")
            }
            CidrError::HostBitsSet => f.write_str("the address has bits set after the prefix"),
            CidrError::Syntax(text) => write!(f, "{text:?} is not a network (`10.0.0.0/8`)"),
        }
    }
}

impl std::error::Error for CidrError {}

impl Cidr {
    /// The network of `address` with a `prefix` of that many bits.
    pub fn new(address: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        let bits = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > bits {
            return Err(CidrError::PrefixTooLong { prefix });
        }
        let host_bits = u32::from(bits - prefix);
        let host_set = match address {
            IpAddr::V4(v4) => u32::from(v4).checked_shl(32 - host_bits).unwrap_or(0) != 0,
            IpAddr::V6(v6) => u128::from(v6).checked_shl(128 - host_bits).unwrap_or(0) != 0,
        };
        if host_bits > 0 && host_set {
            return Err(CidrError::HostBitsSet);
        }
        Ok(Cidr { address, prefix })
    }

    /// The network's address.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The prefix's length, in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The value in PostgreSQL's binary format of `inet` and `cidr`.
    #[cfg(any(feature = "postgres", feature = "sqlx"))]
    pub(crate) fn to_binary(self, out: &mut Vec<u8>) {
        match self.address {
            IpAddr::V4(v4) => {
                out.extend_from_slice(&[PGSQL_AF_INET, self.prefix, 1, 4]);
                out.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                out.extend_from_slice(&[PGSQL_AF_INET6, self.prefix, 1, 16]);
                out.extend_from_slice(&v6.octets());
            }
        }
    }

    /// A value in PostgreSQL's binary format of `inet` and `cidr`.
    #[cfg(any(feature = "postgres", feature = "sqlx"))]
    pub(crate) fn from_binary(
        raw: &[u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let address = match raw {
            [PGSQL_AF_INET, _, _, 4, octets @ ..] if octets.len() == 4 => {
                IpAddr::from(<[u8; 4]>::try_from(octets)?)
            }
            [PGSQL_AF_INET6, _, _, 16, octets @ ..] if octets.len() == 16 => {
                IpAddr::from(<[u8; 16]>::try_from(octets)?)
            }
            _ => return Err("not a cidr value in PostgreSQL's binary format".into()),
        };
        Ok(Cidr::new(address, raw[1])?)
    }
}

/// PostgreSQL's address families in the binary format of `inet` and `cidr`.
#[cfg(any(feature = "postgres", feature = "sqlx"))]
const PGSQL_AF_INET: u8 = 2;
#[cfg(any(feature = "postgres", feature = "sqlx"))]
const PGSQL_AF_INET6: u8 = 3;

impl fmt::Display for Cidr {
    /// `address/prefix`, as PostgreSQL prints a `cidr`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Reads `address/prefix`.
    fn from_str(text: &str) -> Result<Self, CidrError> {
        let syntax = || CidrError::Syntax(text.to_string());
        let (address, prefix) = text.split_once('/').ok_or_else(syntax)?;
        let address: IpAddr = address.parse().map_err(|_| syntax())?;
        let prefix: u8 = prefix.parse().map_err(|_| syntax())?;
        Cidr::new(address, prefix)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Cidr {
    /// As text: `10.0.0.0/8`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Cidr {
    /// From text: `10.0.0.0/8`; a network with host bits set is refused.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::error::Error;

    use bytes::{BufMut, BytesMut};
    use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

    use super::{Cidr, Interval};

    type BoxError = Box<dyn Error + Sync + Send>;

    impl ToSql for Interval {
        fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
            out.put_i64(self.microseconds);
            out.put_i32(self.days);
            out.put_i32(self.months);
            Ok(IsNull::No)
        }

        fn accepts(ty: &Type) -> bool {
            *ty == Type::INTERVAL
        }

        to_sql_checked!();
    }

    impl<'a> FromSql<'a> for Interval {
        fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
            let raw: [u8; 16] = raw
                .try_into()
                .map_err(|_| "an interval is 16 bytes in PostgreSQL's binary format")?;
            let (micros, rest) = raw.split_at(8);
            let (days, months) = rest.split_at(4);
            Ok(Interval {
                microseconds: i64::from_be_bytes(micros.try_into()?),
                days: i32::from_be_bytes(days.try_into()?),
                months: i32::from_be_bytes(months.try_into()?),
            })
        }

        fn accepts(ty: &Type) -> bool {
            *ty == Type::INTERVAL
        }
    }

    impl ToSql for Cidr {
        fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
            let mut bytes = Vec::with_capacity(20);
            self.to_binary(&mut bytes);
            out.put_slice(&bytes);
            Ok(IsNull::No)
        }

        fn accepts(ty: &Type) -> bool {
            *ty == Type::CIDR
        }

        to_sql_checked!();
    }

    impl<'a> FromSql<'a> for Cidr {
        fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
            Cidr::from_binary(raw)
        }

        fn accepts(ty: &Type) -> bool {
            *ty == Type::CIDR
        }
    }
}

#[cfg(feature = "sqlx")]
mod sqlx {
    use ::sqlx::encode::IsNull;
    use ::sqlx::error::BoxDynError;
    use ::sqlx::postgres::types::{Oid, PgInterval};
    use ::sqlx::postgres::{
        PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueFormat, PgValueRef,
    };
    use ::sqlx::{Decode, Encode, Postgres, Type};

    use super::{Cidr, Interval};

    impl Type<Postgres> for Interval {
        fn type_info() -> PgTypeInfo {
            <PgInterval as Type<Postgres>>::type_info()
        }
    }

    impl PgHasArrayType for Interval {
        fn array_type_info() -> PgTypeInfo {
            <PgInterval as PgHasArrayType>::array_type_info()
        }
    }

    impl Encode<'_, Postgres> for Interval {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            let value = PgInterval {
                months: self.months,
                days: self.days,
                microseconds: self.microseconds,
            };
            <PgInterval as Encode<Postgres>>::encode_by_ref(&value, buf)
        }
    }

    impl<'r> Decode<'r, Postgres> for Interval {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            let value = <PgInterval as Decode<Postgres>>::decode(value)?;
            Ok(Interval {
                months: value.months,
                days: value.days,
                microseconds: value.microseconds,
            })
        }
    }

    /// `cidr`'s type oid (`pg_type.oid` is fixed for built-in types).
    const CIDR: Oid = Oid(650);
    /// `cidr[]`'s type oid.
    const CIDR_ARRAY: Oid = Oid(651);

    impl Type<Postgres> for Cidr {
        fn type_info() -> PgTypeInfo {
            PgTypeInfo::with_oid(CIDR)
        }
    }

    impl PgHasArrayType for Cidr {
        fn array_type_info() -> PgTypeInfo {
            PgTypeInfo::with_oid(CIDR_ARRAY)
        }
    }

    impl Encode<'_, Postgres> for Cidr {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            let mut bytes = Vec::with_capacity(20);
            self.to_binary(&mut bytes);
            buf.extend_from_slice(&bytes);
            Ok(IsNull::No)
        }
    }

    impl<'r> Decode<'r, Postgres> for Cidr {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            match value.format() {
                PgValueFormat::Binary => Cidr::from_binary(value.as_bytes()?),
                PgValueFormat::Text => Ok(value.as_str()?.parse()?),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_with_host_bits_are_refused() {
        assert!(Cidr::new("10.0.0.0".parse().unwrap(), 8).is_ok());
        assert_eq!(
            Cidr::new("10.0.0.1".parse().unwrap(), 8),
            Err(CidrError::HostBitsSet)
        );
        assert!(Cidr::new("10.0.0.1".parse().unwrap(), 32).is_ok());
        assert!(Cidr::new("0.0.0.0".parse().unwrap(), 0).is_ok());
        assert_eq!(
            Cidr::new("::".parse().unwrap(), 129),
            Err(CidrError::PrefixTooLong { prefix: 129 })
        );
        assert_eq!(
            "2001:db8::/32".parse::<Cidr>().unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!("2001:db8::1/32".parse::<Cidr>().is_err());
    }
}
