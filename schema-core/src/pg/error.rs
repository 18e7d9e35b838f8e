//! The errors of reads and writes: each names what it is about, none panics.

use std::error::Error;
use std::fmt;

use tokio_postgres::error::SqlState;

use super::codec::DecodeError;
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

/// What is wrong with a scoped transaction's setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingProblem {
    /// The name is not `prefix.name`: two or more parts separated by dots, each of ASCII
    /// letters, digits and `_`, not starting with a digit, at most 63 bytes (see
    /// [`setting_name_problem`](crate::sql::setting_name_problem)).
    Name,
    /// The value holds a NUL character, which no PostgreSQL text can.
    NulInValue,
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

/// The kinds of rule the database enforces on a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    /// A `CHECK` constraint (SQLSTATE 23514).
    Check,
    /// A `UNIQUE` or primary key constraint (23505).
    Unique,
    /// A foreign key (23503).
    ForeignKey,
    /// `NOT NULL` (23502).
    NotNull,
    /// Text longer than its `varchar(n)` (22001).
    TooLong,
    /// A number or date outside its type (22003, 22008).
    OutOfRange,
    /// Text the database cannot store, such as a NUL character (22021, 22P05, 22P02).
    InvalidText,
    /// The role may not do this, including a row refused by a row-level security policy
    /// (42501).
    Denied,
    /// An update tried to change a column declared `immutable`, which no `UPDATE` may change
    /// after insert, whatever the role (23000, raised by the table's `{table}_immutable_columns`
    /// trigger naming the column and the constraint `{table}_{column}_immutable`; another
    /// 23000 stays a [`PgError::Database`]).
    Immutable,
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
        let code = db.code();
        let kind = if *code == SqlState::CHECK_VIOLATION {
            ConstraintKind::Check
        } else if *code == SqlState::UNIQUE_VIOLATION {
            ConstraintKind::Unique
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
            ConstraintKind::ForeignKey
        } else if *code == SqlState::NOT_NULL_VIOLATION {
            ConstraintKind::NotNull
        } else if *code == SqlState::STRING_DATA_RIGHT_TRUNCATION {
            ConstraintKind::TooLong
        } else if *code == SqlState::NUMERIC_VALUE_OUT_OF_RANGE
            || *code == SqlState::DATETIME_FIELD_OVERFLOW
        {
            ConstraintKind::OutOfRange
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            ConstraintKind::Denied
        } else if *code == SqlState::INTEGRITY_CONSTRAINT_VIOLATION && raised_by_immutable(db) {
            ConstraintKind::Immutable
        } else if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
            || *code == SqlState::UNTRANSLATABLE_CHARACTER
            || *code == SqlState::INVALID_TEXT_REPRESENTATION
        {
            ConstraintKind::InvalidText
        } else {
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

/// Whether a 23000 error is the refusal of an `immutable` column's trigger: it names the table,
/// the column and the constraint `{table}_{column}_immutable`. Any other 23000 (a trigger of
/// one's own, an extension) is left as it is.
fn raised_by_immutable(db: &tokio_postgres::error::DbError) -> bool {
    match (db.table(), db.column(), db.constraint()) {
        (Some(table), Some(column), Some(constraint)) => {
            crate::def::immutable_constraint_name(table, column) == constraint
        }
        _ => false,
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
            PgError::InvalidSetting { setting, problem } => match problem {
                SettingProblem::Name => write!(
                    f,
                    "setting name {setting:?} is not `prefix.name` (parts of ASCII letters, \
                     digits and `_`, separated by dots, none starting with a digit, none over \
                     63 bytes)"
                ),
                SettingProblem::NulInValue => {
                    write!(f, "the value for setting `{setting}` holds a NUL character")
                }
            },
            PgError::Tls(e) => e.fmt(f),
            PgError::Constraint(v) => {
                write!(f, "refused by the database ({:?}", v.kind)?;
                if let Some(constraint) = &v.constraint {
                    write!(f, " `{constraint}`")?;
                }
                if let Some(column) = &v.column {
                    write!(f, " on column `{column}`")?;
                }
                write!(f, "): {}", v.message)
            }
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
