//! Typed reads and writes over tokio-postgres (feature `postgres`).
//!
//! The generated row types implement the traits here: `InsertX` binds its values
//! ([`InsertRow`]), `UpdateX` its changes ([`UpdateRow`]), `SelectX` decodes from a row by
//! column name ([`FromRow`]), and the table names its key ([`KeyedTable`]). [`Db`] and
//! [`DbTransaction`] run the statements, each prepared once per shape and reused; values are
//! always bound as parameters.
//!
//! The same `ToSql` / `FromSql` impls serve the synchronous `postgres` crate, whose `Row` is
//! tokio-postgres's.
//!
//! # Values other clients write
//!
//! The database may hold values that the row type cannot: another SQL client may store a
//! `timestamptz` of `infinity`, or a jsonb number such as `1e400` or a 30-digit integer. The
//! reads never panic on them and never change them silently:
//!
//! - every [`DecodeError`] names the table, the column and, when the row holds its primary key,
//!   the key (`row with key ...`);
//! - a `json`/`jsonb` number is read into `serde_json::Value` exactly or not at all: a number
//!   that would not come back as the same decimal value (beyond `f64`, or with more digits
//!   than `f64`, `i64` or `u64` keep) is a [`DecodeProblem::InexactNumber`]; `1.10`, `0.1`,
//!   `1e2` and every `i64` and `u64` read as they are;
//! - `select_all` fails on the first such row, while
//!   [`select_all_results`](Db::select_all_results) decodes each row on its own, so one bad
//!   row does not hide the others.
//!
//! # Connecting
//!
//! [`connect`](fn@connect), [`ConnectConfig`] and [`Db::connect`] open every connection
//! schema-core opens (the drift check and the command line too), reading the connection
//! string's `sslmode` and `sslrootcert`. With the `tls` feature they use TLS through rustls,
//! verifying the server's certificate in every mode that requires TLS (`require` included);
//! without it, a connection string that asks for TLS is refused with [`TlsError::NotBuilt`]
//! before anything is sent. See [`connect`](mod@connect) for each mode.

mod codec;
pub mod connect;
mod db;
mod error;
pub mod evolve;
pub mod explain;
pub mod introspect;
#[cfg(any(feature = "deadpool", feature = "bb8"))]
pub mod pool;
#[cfg(feature = "tls")]
mod tls;

pub use crate::driver::{
    ConstraintKind, ConstraintViolation, DecodeError, DecodeProblem, RequestScope, ScopeProblem,
    ServerError, SettingProblem, UnknownValue,
};
#[cfg(feature = "encrypt")]
pub use codec::decode_encrypted;
pub use codec::{
    decode, enum_accepts, enum_accepts_type, enum_from_sql, enum_to_sql, enum_to_sql_checked,
};
pub use connect::{connect, CertificateProblem, ConnectConfig, SslMode, TlsError};
pub use db::{Db, DbTransaction, Rows};
pub use error::PgError;
/// rustls, for [`TlsOptions::client_config`] (feature `tls`).
#[cfg(feature = "tls")]
#[doc(no_inline)]
pub use rustls;
#[cfg(feature = "tls")]
pub use tls::TlsOptions;
#[doc(no_inline)]
pub use tokio_postgres;

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::{Table, Validate};

/// A value bound as a statement parameter.
pub type Param<'a> = &'a (dyn ToSql + Sync);

/// A row to insert: the generated `InsertX`.
pub trait InsertRow: Validate + Sync {
    /// The table the row goes into.
    type Table: Table;

    /// The value of every column, in column order; `None` where the database's default applies.
    /// An encrypted column gives a placeholder that refuses to be sent, which the driver
    /// replaces with `seal`'s value (feature `encrypt`).
    fn push_values<'a>(&'a self, out: &mut Vec<Option<Param<'a>>>);

    /// Seals the row into `sealer`: starts a row there, then appends the sealed value of every
    /// encrypted column, in column order, then every blind index (none for a table without
    /// encrypted columns). What the drivers write, a part of a batch at a time.
    #[cfg(feature = "encrypt")]
    fn seal_into(
        &self,
        sealer: &mut crate::crypto::Sealer<'_>,
    ) -> Result<(), crate::crypto::CryptoError> {
        sealer.next_row();
        Ok(())
    }

    /// The sealed value of every encrypted column, in column order, then of every blind index
    /// (`None`: NULL); empty for a table without any: the row alone through
    /// [`seal_into`](Self::seal_into).
    #[cfg(feature = "encrypt")]
    fn seal(
        &self,
        keys: &crate::crypto::Keys,
    ) -> Result<Vec<Option<Vec<u8>>>, crate::crypto::CryptoError> {
        crate::crypto::Sealer::seal_one(keys, |sealer| self.seal_into(sealer))
    }
}

/// A patch of a row: the generated `UpdateX`.
pub trait UpdateRow: Validate + Sync {
    /// The table the patch applies to.
    type Table: KeyedTable;

    /// One entry per column of the table, in column order: `Some` to set the column, `None` to
    /// leave it as it is (always `None` for a column `UpdateX` has no field for: key,
    /// `update_sql`, `immutable` and, under column grants, ungranted columns).
    fn push_changes<'a>(&'a self, out: &mut Vec<Option<Param<'a>>>);

    /// For every encrypted column, in column order: `Some` with the sealed value (`None`:
    /// NULL) bound to the row of `key` where the patch sets it, `None` where it leaves it.
    #[cfg(feature = "encrypt")]
    #[allow(clippy::type_complexity)]
    fn seal_changes(
        &self,
        _key: &<Self::Table as KeyedTable>::Key,
        _keys: &crate::crypto::Keys,
    ) -> Result<Vec<Option<Option<Vec<u8>>>>, crate::crypto::CryptoError> {
        Ok(Vec::new())
    }
}

/// A row type decoded from a database row: the generated `SelectX`.
pub trait FromRow: Sized {
    /// The table whose columns the row holds.
    type Table: Table;

    /// Decodes a row whose column `i` of the table is at `indexes[i]`.
    fn from_row_at(row: &Row, indexes: &[usize]) -> Result<Self, DecodeError>;

    /// Decodes a row, finding each column by name.
    fn from_row(row: &Row) -> Result<Self, DecodeError> {
        Self::from_row_at(
            row,
            &codec::column_indexes(<Self::Table as Table>::TABLE, row)?,
        )
    }

    /// The bytes the ciphertexts of a row are bound to, its tenant's then its key's: the key
    /// column `i` read at `key_at[i]` of `row` as its field's type, then encoded as an insert
    /// encodes it (feature `encrypt`; empty for a table without encrypted columns).
    #[cfg(feature = "encrypt")]
    fn row_binding(_row: &Row, _key_at: &[usize]) -> Result<(Vec<u8>, Vec<u8>), DecodeError> {
        Ok((Vec::new(), Vec::new()))
    }

    /// Decodes rows that share one set of columns, finding each column by name once.
    fn from_rows(rows: &[Row]) -> Result<Vec<Self>, DecodeError> {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let indexes = codec::column_indexes(<Self::Table as Table>::TABLE, first)?;
        rows.iter()
            .map(|row| Self::from_row_at(row, &indexes))
            .collect()
    }
}

/// Chosen columns of a row, decoded into a tuple of their Rust types: what
/// [`Db::fetch_columns`] reads for a [`Projection`](crate::query::Projection).
pub trait FromColumns: Sized {
    /// Decodes the row's values in order; value `i` is the table's column `columns[i]`.
    fn from_columns(
        row: &Row,
        table: &'static crate::TableDef,
        columns: &[usize],
    ) -> Result<Self, DecodeError>;
}

macro_rules! from_columns_tuple {
    ($($r:ident $i:tt),+) => {
        impl<$($r),+> FromColumns for ($($r,)+)
        where
            $($r: crate::PgType + for<'a> tokio_postgres::types::FromSql<'a>),+
        {
            fn from_columns(
                row: &Row,
                table: &'static crate::TableDef,
                columns: &[usize],
            ) -> Result<Self, DecodeError> {
                Ok(($(
                    codec::decode::<$r>(row, $i, table, columns[$i], $r::ROUNDS_JSON_NUMBERS)?,
                )+))
            }
        }
    };
}

from_columns_tuple!(A 0);
from_columns_tuple!(A 0, B 1);
from_columns_tuple!(A 0, B 1, C 2);
from_columns_tuple!(A 0, B 1, C 2, D 3);
from_columns_tuple!(A 0, B 1, C 2, D 3, E 4);
from_columns_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A table with a primary key: rows can be read, updated and deleted by it.
pub trait KeyedTable: Table {
    /// The key: the key column's type, or a tuple for a key of several columns.
    type Key: Sync;

    /// The key's values, in key column order.
    fn push_key<'a>(key: &'a Self::Key, out: &mut Vec<Param<'a>>);
}
