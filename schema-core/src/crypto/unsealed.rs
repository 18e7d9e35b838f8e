//! What the generated row types bind for an encrypted column until the driver replaces it
//! with the sealed value: a parameter that refuses to be sent, so that a write path that
//! forgot to seal fails instead of sending the plaintext.

use super::EncryptedField;

/// The parameter of an encrypted column before it is sealed.
#[derive(Clone, Copy, Debug)]
pub struct Unsealed;

/// The one placeholder.
pub static UNSEALED: Unsealed = Unsealed;

/// Whether an encrypted field holds a value (not NULL).
pub fn is_set<F: EncryptedField>(field: &F) -> bool {
    field.plaintext().is_some()
}

/// The error of a driver asked to send [`Unsealed`].
#[cfg(any(feature = "postgres", feature = "sqlx"))]
const REFUSAL: &str = "an encrypted column's value was not sealed: write it through a Db with \
                       keys (Db::with_keys) or the sqlx inserts given keys";

#[cfg(feature = "postgres")]
impl tokio_postgres::types::ToSql for Unsealed {
    fn to_sql(
        &self,
        _: &tokio_postgres::types::Type,
        _: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Err(REFUSAL.into())
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

#[cfg(feature = "sqlx")]
impl sqlx::Type<sqlx::Postgres> for Unsealed {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Vec<u8> as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

#[cfg(feature = "sqlx")]
impl sqlx::Encode<'_, sqlx::Postgres> for Unsealed {
    fn encode_by_ref(
        &self,
        _: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Err(REFUSAL.into())
    }
}
