//! The errors of reads and writes: each names what it is about, none panics.

use std::error::Error;
use std::fmt;

use crate::driver::{
    ConstraintViolation, DecodeError, InvalidScope, ScopeProblem, ServerError, ServerFields,
    SettingProblem,
};
use crate::ValidationError;

/// A read or write that did not happen.
#[derive(Debug)]
#[non_exhaustive]
pub enum PgError {
    /// The row breaks its table's rules; nothing was sent.
    Validation(ValidationError),
    /// A row of a batch breaks its table's rules; nothing of the batch was sent.
    InvalidRow {
        /// The row's position in the batch.
        index: usize,
        /// What it breaks.
        error: ValidationError,
    },
    /// The database refused the row by one of its constraints.
    Constraint(Box<ConstraintViolation>),
    /// A value read back could not be decoded.
    Decode(DecodeError),
    /// The setting of a [`scoped_transaction`](super::Db::scoped_transaction) cannot be set as
    /// given; nothing was sent.
    InvalidSetting {
        /// The setting's name, as given.
        setting: String,
        /// What is wrong with it.
        problem: SettingProblem,
    },
    /// A [`scoped_transaction`](super::Db::scoped_transaction) cannot act as its role: the
    /// login or the role bypasses row-level security, the role does not exist, or the login
    /// may not act as it. Nothing ran in the transaction, which is rolled back.
    InvalidScope {
        /// The scope's role, as given.
        role: String,
        /// What is wrong.
        problem: ScopeProblem,
    },
    /// TLS could not secure the connection, or was asked for by a build without it.
    Tls(super::TlsError),
    /// A typed query that cannot run as built (an update or delete without a filter, a page
    /// that cannot continue after a row); nothing was sent.
    Query(crate::query::QueryError),
    /// The server refused the statement (or the connection) for another reason: its report,
    /// without the values of any row ([`ServerError`]).
    Database(Box<ServerError>),
    /// An encrypted column could not be sealed (no keys, a key provider's failure); nothing
    /// was sent.
    #[cfg(feature = "encrypt")]
    Crypto(crate::crypto::CryptoError),
    /// A failure of the connection or of tokio-postgres itself (the connection closed, an I/O
    /// error, a value that could not be serialized), not reported by the server.
    Driver(tokio_postgres::Error),
    /// A value of a row of a `copy_in` could not be encoded for its column (its type does not
    /// take the column's, or its own encoding failed); the copy is aborted, nothing of the
    /// batch is written. Other writes report it as [`PgError::Driver`].
    Encode {
        /// The row's position in the batch.
        index: usize,
        /// The column.
        column: &'static str,
        /// What the value's encoding reported.
        source: Box<dyn Error + Send + Sync>,
    },
}

impl PgError {
    /// The constraint violation, when the database refused the row by one.
    pub fn constraint(&self) -> Option<&ConstraintViolation> {
        match self {
            PgError::Constraint(violation) => Some(violation),
            _ => None,
        }
    }
}

impl From<tokio_postgres::Error> for PgError {
    /// Classifies the server's error: a broken rule of a row becomes [`PgError::Constraint`],
    /// any other error of the server [`PgError::Database`]; both keep a [`ServerError`], never
    /// tokio-postgres's error, whose `Debug` prints the values the server quoted.
    fn from(error: tokio_postgres::Error) -> Self {
        let Some(db) = error.as_db_error() else {
            return PgError::Driver(error);
        };
        let server = ServerError::redacted(ServerFields {
            code: db.code().code(),
            severity: db.severity(),
            message: db.message(),
            detail: db.detail(),
            hint: db.hint(),
            schema: db.schema(),
            table: db.table(),
            column: db.column(),
            datatype: db.datatype(),
            constraint: db.constraint(),
        });
        match ConstraintViolation::classify(server) {
            Ok(violation) => PgError::Constraint(violation),
            Err(server) => PgError::Database(server),
        }
    }
}

impl PgError {
    /// The error of a scope that cannot be sent as given.
    pub(crate) fn invalid_scope(
        scope: &crate::driver::RequestScope<'_>,
        invalid: InvalidScope,
    ) -> Self {
        match invalid {
            InvalidScope::Setting(problem) => PgError::InvalidSetting {
                setting: scope.setting.to_string(),
                problem,
            },
            InvalidScope::Role(problem) => PgError::InvalidScope {
                role: scope.role.to_string(),
                problem,
            },
        }
    }
}

impl From<ValidationError> for PgError {
    fn from(error: ValidationError) -> Self {
        PgError::Validation(error)
    }
}

impl From<crate::query::QueryError> for PgError {
    fn from(error: crate::query::QueryError) -> Self {
        PgError::Query(error)
    }
}

impl From<DecodeError> for PgError {
    fn from(error: DecodeError) -> Self {
        PgError::Decode(error)
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgError::Validation(e) => e.fmt(f),
            PgError::InvalidRow { index, error } => write!(f, "row {index} of the batch: {error}"),
            PgError::Decode(e) => e.fmt(f),
            PgError::InvalidSetting { setting, problem } => f.write_str(&problem.describe(setting)),
            PgError::InvalidScope { role, problem } => f.write_str(&problem.describe(role)),
            PgError::Tls(e) => e.fmt(f),
            PgError::Query(e) => e.fmt(f),
            PgError::Constraint(v) => v.fmt(f),
            PgError::Database(e) => e.fmt(f),
            #[cfg(feature = "encrypt")]
            PgError::Crypto(e) => e.fmt(f),
            PgError::Driver(e) => match std::error::Error::source(e) {
                Some(cause) => write!(f, "{e}: {cause}"),
                None => e.fmt(f),
            },
            PgError::Encode {
                index,
                column,
                source,
            } => write!(
                f,
                "row {index} of the batch: column `{column}` could not be encoded: {source}"
            ),
        }
    }
}

impl Error for PgError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PgError::Validation(e) | PgError::InvalidRow { error: e, .. } => Some(e),
            PgError::Decode(e) => Some(e),
            PgError::Constraint(v) => Some(&v.source),
            PgError::Database(e) => Some(e),
            #[cfg(feature = "encrypt")]
            PgError::Crypto(e) => Some(e),
            PgError::Driver(e) => Some(e),
            PgError::Encode { source, .. } => Some(source.as_ref()),
            PgError::Tls(e) => Some(e),
            PgError::Query(e) => Some(e),
            PgError::InvalidSetting { .. } | PgError::InvalidScope { .. } => None,
        }
    }
}
