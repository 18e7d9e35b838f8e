//! A PostgreSQL schema kept in Rust.
//!
//! Annotate a plain struct with `#[derive(PgTable)]` and get, from that one declaration, the
//! table's exact DDL, a row type to read (`SelectX`), a row type to write (`InsertX`), and
//! const metadata ([`TableDef`]) that tools read.
//!
//! ```
//! use schema_core::{PgEnum, PgTable, Schema, Table};
//! use uuid::Uuid;
//!
//! #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
//! #[pg(rename_all = "UPPERCASE")]
//! pub enum Priority { Low, High }
//!
//! /// Things to do.
//! #[derive(PgTable)]
//! #[pg(table = "tasks", index(priority, title(desc)))]
//! pub struct Task {
//!     #[pg(primary_key, default_sql = "gen_random_uuid()")]
//!     pub task_id: Uuid,
//!     /// What to do.
//!     #[pg(varchar = 100)]
//!     pub title: String,
//!     #[pg(varchar = 4, default = Priority::Low)]
//!     pub priority: Priority,
//!     #[pg(range = 0..=100)]
//!     pub percent_done: Option<i16>,
//! }
//!
//! let ddl = Schema::new().table::<Task>().to_ddl().unwrap();
//! assert_eq!(ddl, r#"SET client_encoding = 'UTF8';
//! SET search_path = "public", pg_temp;
//!
//! CREATE TABLE "tasks" (
//!     "task_id" uuid NOT NULL DEFAULT gen_random_uuid(),
//!     "title" varchar(100) NOT NULL,
//!     "priority" varchar(4) NOT NULL DEFAULT 'LOW',
//!     "percent_done" smallint,
//!     CONSTRAINT "tasks_pkey" PRIMARY KEY ("task_id"),
//!     CONSTRAINT "tasks_priority_check" CHECK ("priority" IN ('LOW', 'HIGH')),
//!     CONSTRAINT "tasks_percent_done_check" CHECK ("percent_done" BETWEEN 0 AND 100)
//! );
//!
//! CREATE INDEX "tasks_priority_title_idx" ON "tasks" ("priority", "title" DESC);
//!
//! COMMENT ON TABLE "tasks" IS 'Things to do.';
//! COMMENT ON COLUMN "tasks"."title" IS 'What to do.';
//! "#);
//!
//! // Only the NOT NULL columns without a default are required to insert.
//! let new_task = InsertTask::new("Write the docs".to_string());
//! assert_eq!(new_task.priority, None);
//! assert_eq!(<Task as Table>::TABLE.primary_key, ["task_id"]);
//! ```
//!
#![cfg_attr(
    feature = "derive",
    doc = "The attribute grammar is documented on [`PgTable`] and [`PgEnum`](derive@PgEnum)."
)]
#![cfg_attr(
    not(feature = "derive"),
    doc = "The attribute grammar is documented on the derives `PgTable` and `PgEnum` (feature `derive`)."
)]
//!
//! # Depending on it
//!
//! schema-core is not published on crates.io: a crate depends on it by git
//! (`schema-core = { git = "...", features = [...] }`) or by path (`{ path =
//! ".../schema-core" }`). The default feature, `derive`, is enough to declare tables and
//! render their DDL; `serde`, `postgres`, `sqlx`, `migrate`, `cli`, `deadpool`, `bb8` and `tls`
//! add the rest (the README's Install section says what each brings in).
//!
//! The Rust types of columns that come from other crates are re-exported at the versions
//! schema-core is built with: [`uuid`] (1), [`chrono`] (0.4) and [`serde_json`] (1). A crate
//! can name them through schema-core (`schema_core::uuid::Uuid`,
//! `schema_core::chrono::{DateTime, Utc}`, `schema_core::serde_json::Value`) without a
//! dependency of its own, or depend on the same majors itself: Cargo builds one version per
//! major, so both paths name one type.
//!
//! ```
//! use schema_core::chrono::{DateTime, Utc};
//! use schema_core::uuid::Uuid;
//! use schema_core::{PgTable, SqlType, Table};
//!
//! #[derive(PgTable)]
//! #[pg(table = "events")]
//! pub struct Event {
//!     #[pg(primary_key)]
//!     pub event_id: Uuid,
//!     pub payload: schema_core::serde_json::Value,
//!     pub at: DateTime<Utc>,
//! }
//!
//! let types: Vec<SqlType> = Event::TABLE.columns.iter().map(|c| c.sql_type).collect();
//! assert_eq!(types, [SqlType::Uuid, SqlType::Jsonb, SqlType::Timestamptz]);
//! ```

#![deny(missing_docs)]

extern crate self as schema_core;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "encrypt")]
pub mod crypto;
mod def;
pub mod diff;
// What the tokio-postgres and sqlx sides share: statements, batches, errors.
#[cfg(any(feature = "postgres", feature = "sqlx"))]
mod driver;
mod enums;
mod error;
mod literal;
#[cfg(feature = "migrate")]
pub mod migrate;
pub mod model;
mod named_query;
mod names;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod plan;
pub mod query;
pub mod render;
mod schema;
pub mod sql;
#[cfg(feature = "sqlx")]
pub mod sqlx;
pub mod target;
pub mod tenant;
mod types;
mod validate;
mod values;

pub use def::{
    envelope_check_sql, BlindIndexDef, BlindNormalization, Check, CheckDef, CheckRule, ColumnDef,
    ColumnDefault, ColumnGrantDef, ColumnRef, DefaultValue, EncryptionDef, ForeignKeyDef,
    Generation, Identity, IndexColumn, IndexDef, IndexKey, IndexMethod, IntRange, NullsOrder,
    PolicyCommand, PolicyDef, ReferentialAction, SortOrder, SqlPart, TableDef, TenantDef,
    UniqueDef,
};
pub use enums::PgEnum;
pub use error::SchemaError;
pub use literal::{SqlLiteral, ToSqlLiteral};
pub use named_query::{NamedQuery, QueryRole, RegisteredQuery};
pub use names::Names;
pub use schema::Schema;
pub use target::Target;
pub use tenant::{Tenancy, TenantPin, TenantScope};
pub use types::{
    ArrayElement, DefaultFor, IdentityColumn, IntegerColumn, NumberDefault, NumericColumn, PgType,
    ReferenceCompatible, SqlType, TextColumn, TimestampColumn,
};
pub use validate::{Rule, Validate, ValidationError, Violation, ViolationSink};
pub use values::{Cidr, CidrError, Interval};

/// The `uuid` crate (1.x) schema-core is built with: `Uuid` columns (`uuid`).
pub use ::uuid;

/// The `chrono` crate (0.4) schema-core is built with: `DateTime<Utc>` (`timestamptz`),
/// `NaiveDateTime`, `NaiveDate` and `NaiveTime` columns.
pub use ::chrono;

/// The `rust_decimal` crate (1.x) schema-core is built with (feature `decimal`): `Decimal`
/// columns (`numeric`).
#[cfg(feature = "decimal")]
pub use ::rust_decimal;

/// The `serde_json` crate (1.x) schema-core is built with: `serde_json::Value` columns
/// (`jsonb`).
pub use ::serde_json;

#[cfg(all(feature = "derive", feature = "migrate"))]
pub use schema_derive::embed_migrations;
#[cfg(feature = "derive")]
pub use schema_derive::{PgEnum, PgTable};

/// A table declared with `#[derive(PgTable)]`.
pub trait Table {
    /// The table's metadata.
    const TABLE: &'static TableDef;
    /// The row type to write (`InsertX`): NOT NULL columns without a default are required,
    /// every other column is an `Option` where `None` lets the database decide.
    type Insert;
    /// The row type to read (`SelectX`): every column, `Option` where nullable.
    type Select;
    /// The patch type (`UpdateX`): every column some role may change (see
    /// [`TableDef::is_updatable`]), each an `Option` where `None` leaves the column as it is; a
    /// nullable column's field is an `Option<Option<T>>`, where `Some(None)` sets it to NULL.
    type Update;
}

/// The tenant root of a schema (`#[pg(tenant_root)]`): each row is a tenant, and its key is
/// what the tenant tables' tenant columns hold (`#[pg(tenant = Provider)]`), what a tenant
/// scope takes (`Db::tenant`), and the Citus target's distribution value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tenant root",
    label = "a tenant column names the tenant root's type",
    note = "add `tenant_root` to the `#[pg(...)]` attribute of `{Self}`'s struct (its primary key is the tenant's key)"
)]
pub trait TenantRoot: Table {
    /// The Rust type of the key (`Uuid`).
    type Key: Clone + Send + Sync + 'static;
    /// The key column's name.
    const KEY: &'static str;
    /// The root table's name, qualified with its schema where it has one.
    const TABLE_NAME: &'static str;
}

/// What generated code calls; not part of the public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "sqlx")]
    pub use ::sqlx;
    #[cfg(feature = "postgres")]
    pub use bytes;
    pub use core;
    #[cfg(feature = "serde")]
    pub use serde;

    #[cfg(feature = "serde")]
    pub mod serde_rows;
    pub use std::string::String;

    pub use crate::__qualified_name as qualified_name;

    #[cfg(feature = "encrypt")]
    pub use crate::crypto::unsealed::{is_set, UNSEALED};
    /// Compiles only for a tenant column whose type is the tenant root's key type.
    pub const fn tenant_column<F: TenantKeyOf<K>, K>() {}

    /// Implemented only for a type and itself: a tenant column of another type than the tenant
    /// root's key is reported with this trait's message.
    #[diagnostic::on_unimplemented(
        message = "a tenant column of type `{Self}` cannot hold the tenant root's key, of type `{K}`",
        label = "this column's type is not the tenant root's key type",
        note = "declare the tenant column with the root's key type `{K}`"
    )]
    pub trait TenantKeyOf<K> {}

    impl<T> TenantKeyOf<T> for T {}

    /// Compiles only for a field stored as text (`varchar = N`).
    pub const fn text_column<T: crate::TextColumn>() {}

    /// Compiles only for a field stored as a decimal (`numeric(...)`).
    pub const fn numeric_column<T: crate::NumericColumn>() {}

    /// Compiles only for a timestamp or time field (`precision = P`).
    pub const fn timestamp_column<T: crate::TimestampColumn>() {}

    /// The SQL type of a field whose type `base` an attribute narrows to `narrowed` (an array
    /// stays an array of the narrowed element).
    pub const fn narrow(base: crate::SqlType, narrowed: &'static crate::SqlType) -> crate::SqlType {
        crate::types::narrow(base, narrowed)
    }

    /// The SQL type of a timestamp or time field of type `base` with a precision: `choices`
    /// are that precision's `timestamp(p)`, `timestamptz(p)` and `time(p)`.
    pub const fn with_precision(
        base: crate::SqlType,
        choices: &'static [crate::SqlType; 3],
    ) -> crate::SqlType {
        crate::types::with_precision(base, choices)
    }

    /// Whether every value is exactly `chars` characters long: a `char(n)` column pads a
    /// shorter one with spaces, which a text enum would not read back.
    pub const fn values_fill(values: Option<&[&str]>, chars: u32) -> bool {
        let Some(values) = values else { return true };
        let mut i = 0;
        while i < values.len() {
            if char_count(values[i]) != chars {
                return false;
            }
            i += 1;
        }
        true
    }

    /// The characters of `text`, counted as PostgreSQL counts them.
    const fn char_count(text: &str) -> u32 {
        let bytes = text.as_bytes();
        let (mut chars, mut j) = (0_u32, 0);
        while j < bytes.len() {
            // Count every byte that starts a UTF-8 character.
            if bytes[j] & 0xC0 != 0x80 {
                chars += 1;
            }
            j += 1;
        }
        chars
    }

    /// Whether both bounds of a `range = a..=b` fit in the field's integer type; compiles only
    /// for an integer field. (A field written as `i16`, `i32` or `i64`, or an `Option` of one,
    /// has its bounds checked as typed constants instead, which rustc reports at the bound.)
    pub const fn range_fits<T: crate::IntegerColumn>(min: Option<i64>, max: Option<i64>) -> bool {
        const fn fits(bound: Option<i64>, lowest: i64, highest: i64) -> bool {
            match bound {
                Some(value) => value >= lowest && value <= highest,
                None => true,
            }
        }
        fits(min, T::MIN, T::MAX) && fits(max, T::MIN, T::MAX)
    }

    /// Calls a field's `default_fn`: the function must make a value of the column's type.
    pub fn call_default_fn<T>(make: fn() -> T) -> T {
        make()
    }

    /// Compiles only for a field an identity may number (`i16`, `i32`, `i64`).
    pub const fn identity_column<T: crate::IdentityColumn>() {}

    /// Prints as `<redacted>`: what the generated `Debug` shows for a sensitive field.
    pub struct Redacted;

    impl core::fmt::Debug for Redacted {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("<redacted>")
        }
    }

    /// Whether `sql_type = "..."` names a type that can hold the field's values.
    pub const fn sql_type_fits(stored: crate::SqlType, written: &str) -> bool {
        crate::types::sql_type_fits(stored, written)
    }

    /// Whether a field of SQL type `stored` may have its type written out (`sql_type = "..."`):
    /// not a native enum (or an array of one), whose column is of the type the schema creates
    /// for it; written out, the type would not be created.
    pub const fn sql_type_writable(stored: crate::SqlType) -> bool {
        !matches!(stored.element(), crate::SqlType::Enum(_))
    }

    /// Whether every value fits in `varchar(max_chars)`, counting characters as PostgreSQL.
    pub const fn values_fit(values: Option<&[&str]>, max_chars: u32) -> bool {
        let Some(values) = values else { return true };
        let mut i = 0;
        while i < values.len() {
            let bytes = values[i].as_bytes();
            let (mut chars, mut j) = (0_u32, 0);
            while j < bytes.len() {
                // Count every byte that starts a UTF-8 character.
                if bytes[j] & 0xC0 != 0x80 {
                    chars += 1;
                }
                j += 1;
            }
            if chars > max_chars {
                return false;
            }
            i += 1;
        }
        true
    }

    /// The metadata of a table whose declaration has a compile error: what its `Table` impl
    /// points at, so that code using the table reports nothing but that error. Never read: the
    /// crate does not build.
    pub const UNUSABLE_TABLE: crate::TableDef = crate::TableDef {
        name: "",
        schema: None,
        renamed_from: None,
        comment: None,
        columns: &[],
        primary_key: &[],
        unique_keys: &[],
        foreign_keys: &[],
        checks: &[],
        indexes: &[],
        row_level_security: false,
        policies: &[],
        column_grants: &[],
        tenant: None,
        reference: false,
    };
}
