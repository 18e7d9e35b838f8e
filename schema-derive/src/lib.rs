//! The derives of `schema-core`: `#[derive(PgTable)]` and `#[derive(PgEnum)]`.
//!
//! Use them through `schema_core` (`use schema_core::{PgTable, PgEnum};`); the attribute
//! grammar is documented there. This crate parses Rust syntax and emits const metadata, row
//! types and checks; it formats no SQL.

mod enums;
mod internals;
mod table;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Declares a PostgreSQL table on a struct with named fields.
///
/// Generates `impl schema_core::Table`, the row types `InsertX` and `SelectX`, and one
/// associated constant per column (`X::field`) for foreign keys.
///
/// # On the struct: `#[pg(...)]`
///
/// | key | takes | example |
/// |---|---|---|
/// | `table` | the table's name (default: the struct's name in snake_case) | `table = "support_tickets"` |
/// | `primary_key` | the columns of a key of several columns | `primary_key(tenant_id, ticket_id)` |
/// | `index` | columns, each optionally `(asc \| desc, nulls_first \| nulls_last)`; `unique`; `name = "..."` | `index(provider_id, created_at(desc))` |
/// | `check` | a named SQL check; `{field}` names a column (quoted in the DDL), `{{` / `}}` are literal braces | `check(name = "resolved_after_created", sql = "{resolved_at} >= {created_at}")` |
/// | `insert` / `select` | the generated types' names | `insert = "NewTicket"` |
/// | `derive` | more derives on both generated types | `derive(Eq, Hash)` |
/// | `insert_derive` / `select_derive` | more derives on one of them | `select_derive(Eq)` |
/// | `crate` | the path to `schema_core`, when it is not `::schema_core` | `crate = "my::schema_core"` |
///
/// # On a field: `#[pg(...)]`
///
/// | key | takes | example |
/// |---|---|---|
/// | `rename` | the column's name (default: the field's name) | `rename = "type"` |
/// | `primary_key` | nothing: this column is the key | `primary_key` |
/// | `unique` | nothing: a `UNIQUE` constraint | `unique` |
/// | `varchar` | a length: `varchar(N)` for a text field | `varchar = 200` |
/// | `sql_type` | a SQL type written as is; one of another kind than the field's Rust type (`integer` on a `String`) does not compile | `sql_type = "citext"` |
/// | `default` | a Rust value of the field's type, written as a literal | `default = TicketPriority::Medium` |
/// | `default_sql` | a SQL expression | `default_sql = "now()"` |
/// | `references` | the referenced column, as `Type::field` | `references = Provider::provider_id` |
/// | `on_delete` / `on_update` | `"no action"`, `"restrict"`, `"cascade"`, `"set null"`, `"set default"` | `on_delete = "cascade"` |
/// | `range` | an integer range, checked by the database | `range = 1..=5` |
///
/// Doc comments on the struct and its fields become `COMMENT ON TABLE` / `COMMENT ON COLUMN`.
/// A field of type `Option<T>` is nullable; every other column is `NOT NULL`.
///
/// An index column named `unique` must be renamed: inside `index(...)`, `unique` is the flag.
/// Column constants are named after the fields, so an inherent method of the same name on the
/// struct conflicts with them.
#[proc_macro_derive(PgTable, attributes(pg))]
pub fn derive_pg_table(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    table::expand(&input).into()
}

/// Stores a fieldless enum as text: implements `PgEnum`, `PgType` (as `text`, with the variants
/// as the only allowed values), `TextColumn` and `ToSqlLiteral`.
///
/// | where | key | takes | example |
/// |---|---|---|---|
/// | enum | `rename_all` | `"lowercase"`, `"UPPERCASE"`, `"PascalCase"`, `"camelCase"`, `"snake_case"`, `"SCREAMING_SNAKE_CASE"`, `"kebab-case"`, `"SCREAMING-KEBAB-CASE"` | `rename_all = "SCREAMING_SNAKE_CASE"` |
/// | enum | `crate` | the path to `schema_core` | `crate = "my::schema_core"` |
/// | variant | `rename` | the variant's text | `rename = "FEATURE_REQUEST"` |
#[proc_macro_derive(PgEnum, attributes(pg))]
pub fn derive_pg_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    enums::expand(&input).into()
}
