//! The errors of reads and writes: each names what it is about, none panics.

use std::error::Error;
use std::fmt;

use crate::driver::{ConstraintKind, DecodeError, SettingProblem};
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
    Constraint(ConstraintViolation),
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
    /// TLS could not secure the connection, or was asked for by a build without it.
    Tls(super::TlsError),
    /// Any other failure of the connection or the statement.
    Database(tokio_postgres::Error),
}

/// A row the database refused by one of its rules.
#[derive(Debug)]
pub struct ConstraintViolation {
    /// Which kind of rule.
    pub kind: ConstraintKind,
    /// The table, as the server reports it.
    pub table: Option<String>,
    /// The constraint's name, as the server reports it.
    pub constraint: Option<String>,
    /// The column, as the server reports it (NOT NULL violations).
    pub column: Option<String>,
    /// The server's message.
    pub message: String,
    /// The server's error.
    pub source: tokio_postgres::Error,
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
    fn from(error: tokio_postgres::Error) -> Self {
        let Some(db) = error.as_db_error() else {
            return PgError::Database(error);
        };
        let Some(kind) =
            ConstraintKind::of(db.code().code(), db.table(), db.column(), db.constraint())
        else {
            return PgError::Database(error);
        };
        let (table, constraint, column, message) = (
            db.table().map(str::to_string),
            db.constraint().map(str::to_string),
            db.column().map(str::to_string),
            db.message().to_string(),
        );
        PgError::Constraint(ConstraintViolation {
            kind,
            table,
            constraint,
            column,
            message,
            source: error,
        })
    }
}

impl From<ValidationError> for PgError {
    fn from(error: ValidationError) -> Self {
        PgError::Validation(error)
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
            PgError::Tls(e) => e.fmt(f),
            PgError::Constraint(v) => crate::driver::write_violation(
                f,
                v.kind,
                v.constraint.as_deref(),
                v.column.as_deref(),
                &v.message,
            ),
            PgError::Database(e) => match e.as_db_error() {
                // tokio-postgres's own text is only "db error"; the server's says what.
                Some(db) => {
                    write!(f, "database error {}: {}", db.code().code(), db.message())?;
                    if let Some(detail) = db.detail() {
                        write!(f, " ({detail})")?;
                    }
                    Ok(())
                }
                None => match std::error::Error::source(e) {
                    Some(cause) => write!(f, "{e}: {cause}"),
                    None => e.fmt(f),
                },
            },
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
            PgError::Tls(e) => Some(e),
            PgError::InvalidSetting { .. } => None,
        }
    }
}
