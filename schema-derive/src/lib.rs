//! The derives of `schema-core`: `#[derive(PgTable)]` and `#[derive(PgEnum)]`.
//!
//! Use them through `schema_core` (`use schema_core::{PgTable, PgEnum};`); the attribute
//! grammar is documented there. This crate parses Rust syntax and emits const metadata, row
//! types and checks; it formats no SQL.

#![deny(missing_docs)]

mod enums;
mod internals;
mod table;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Declares a PostgreSQL table on a struct with named fields.
///
/// Generates `impl schema_core::Table` (the const metadata), the row types `InsertX`,
/// `SelectX` and `UpdateX`, `Validate` for the Insert and Update types, one associated
/// constant per column (`X::field`) for foreign keys, with schema-core's `postgres` feature
/// the binding and decoding for `schema_core::pg`, and with its `sqlx` feature
/// `sqlx::FromRow` for `SelectX` and the binding of `InsertX` for `schema_core::sqlx`.
///
/// Every key below is checked: an unknown key (with a suggestion when one is close), a repeated
/// key, a value of the wrong shape or a rule two keys break together is a compile error at the
/// token to change, and every such mistake is reported in one build.
///
/// # On the struct: `#[pg(...)]`
///
/// | key | takes | example |
/// |---|---|---|
/// | `table` | the table's name (default: the struct's name in snake_case) | `table = "support_tickets"` |
/// | `schema` | the PostgreSQL schema the table is in (default: the current one, `public`): the DDL creates it (`CREATE SCHEMA IF NOT EXISTS`), grants `USAGE` on it to every role with a privilege on its tables, and qualifies the table everywhere (`"billing"."invoices"`), foreign keys from other schemas included; not `public`, not `pg_...` | `schema = "billing"` |
/// | `renamed_from` | the table's former name (see Renames below) | `renamed_from = "tickets"` |
/// | `primary_key` | the columns of a key of several columns (one column: `primary_key` on its field) | `primary_key(tenant_id, ticket_id)` |
/// | `unique` | fields, and optionally `nulls_not_distinct` (`UNIQUE NULLS NOT DISTINCT`, PostgreSQL 15 and later: rows whose key holds NULL in the same columns and equal values in the others conflict) and `name = "..."` (default `{table}_{columns}_key`): a unique constraint over those columns (one column: `unique` on its field). An unknown or repeated field, an empty list, or the same columns in the same order as the primary key or another unique key does not compile | `unique(tenant_id, email, nulls_not_distinct)` |
/// | `foreign_key` | `columns(fields)`, `references(Type::field, ...)` (one referenced column per column, in the same order, all of one table), optionally `on_delete` / `on_update` (as on a field) and `name = "..."` (default `{table}_{columns}_fkey`): a foreign key over several columns. Each column's type must match the one it references (the error is at that referenced column), and the referenced columns must be the primary key or a unique key of their table, checked on its metadata when the crate compiles | `foreign_key(columns(tenant_id, clinic_id), references(Clinic::tenant_id, Clinic::clinic_id), on_delete = "cascade")` |
/// | `index` | keys, and options (see Indexes below) | `index(provider_id, created_at(desc))` |
/// | `check` | a named SQL check, optionally with `renamed_from = "..."`, its former name; `{field}` names a column (quoted in the DDL), `{{` / `}}` are literal braces | `check(name = "resolved_after_created", sql = "{resolved_at} >= {created_at}")` |
/// | `row_level_security` | nothing: enables and forces row-level security (the owner is not exempt) | `row_level_security` |
/// | `policy` | `name`, optionally `renamed_from` (its former name), `to` (a role, or `"public"`), `command` (`"all"` by default, `"select"`, `"insert"`, `"update"`, `"delete"`), `using` and/or `with_check` SQL, where `{field}` names a column and `{setting:prefix.name}` reads a setting (NULL when unset) | `policy(name = "own", to = "physician", using = "{provider_id} = {setting:app.provider_id}::uuid")` |
/// | `grant` | `to` (a role), `insert(fields)` and/or `update(fields)`: the only columns that role may give on insert (every NOT NULL field without a default must be listed) or change (`GRANT INSERT (...)` / `GRANT UPDATE (...)` in place of table-wide ones; `update_sql` columns are added to updates). Under row-level security the role needs a policy for that command (or `"all"`); once a grant narrows a command, every role a policy lets run it (`public` too) needs a grant for it. Once a grant has `update(...)`, `UpdateX` has only the fields some `update(...)` lists | `grant(to = "support_team", update(status, assigned_to))` |
/// | `insert` / `select` / `update` | the generated types' names (default `InsertX`, `SelectX`, `UpdateX`) | `insert = "NewTicket"` |
/// | `derive` | more derives on every generated type | `derive(Eq, Hash)` |
/// | `insert_derive` / `select_derive` / `update_derive` | more derives on one of them | `select_derive(Eq)` |
/// | `crate` | the path to `schema_core`, when it is not `::schema_core` | `crate = "my::schema_core"` |
///
/// # On a field: `#[pg(...)]`
///
/// | key | takes | example |
/// |---|---|---|
/// | `rename` | the column's name (default: the field's name) | `rename = "type"` |
/// | `renamed_from` | the column's former name (see Renames below) | `renamed_from = "kind"` |
/// | `primary_key` | nothing: this column is the key | `primary_key` |
/// | `unique` | nothing: a `UNIQUE` constraint | `unique` |
/// | `varchar` | a length: `varchar(N)` for a text field (and every value of a text enum must fit) | `varchar = 200` |
/// | `char` | a length: `char(N)` for a text field; PostgreSQL pads shorter values with spaces, so every value of a text enum must have exactly N characters | `char = 3` |
/// | `numeric` | a precision (1 to 1000) and a scale (-1000 to the precision, default 0): `numeric(P,S)` for a `rust_decimal::Decimal` field (feature `decimal`). A negative scale (PostgreSQL 15 and later; older servers refuse the DDL) rounds to tens, hundreds, ...: `numeric(2,-3)` holds multiples of 1000 below 100 000 | `numeric(precision = 12, scale = 2)`, `numeric(precision = 2, scale = -3)` |
/// | `precision` | the fractional digits of seconds (0 to 6) of a `DateTime<Utc>`, `NaiveDateTime` or `NaiveTime` field: `timestamptz(P)`, `timestamp(P)`, `time(P)` | `precision = 3` |
/// | `citext` | nothing: `citext`, text compared without regard to case, for a text field; the `Schema` must declare the extension (`.extension("citext")`) | `citext` |
/// | `sql_type` | a SQL type written as is; one of another kind than the field's Rust type (`integer` on a `String`) does not compile, nor does any on a native enum (its column is of the type the schema creates) | `sql_type = "character varying(320)"` |
/// | `default` | a Rust value of the field's type, written as a literal: a `Decimal` as its digits (a bare whole number, or a value such as `Decimal::ZERO`, `Decimal::new(1995, 2)`), a `Vec<T>` as the text of an array value (`'{}'`, `'{"URGENT"}'`) | `default = TicketPriority::Medium`, `default = Decimal::ZERO`, `default = vec![]` |
/// | `default_sql` | a SQL expression | `default_sql = "now()"` |
/// | `update_sql` | a SQL expression every update through `UpdateX` sets the column to; the column leaves `UpdateX` | `update_sql = "now()"` |
/// | `references` | the referenced column, as `Type::field`; its type must match | `references = Provider::provider_id` |
/// | `on_delete` / `on_update` | `"no action"`, `"restrict"`, `"cascade"`, `"set null"`, `"set default"` | `on_delete = "cascade"` |
/// | `range` | an integer range the database checks; its bounds must fit the field's type | `range = 1..=5` |
/// | `sensitive` | nothing: `Debug` of the generated types prints `<redacted>`, the metadata and the column comment say so | `sensitive` |
/// | `internal` | nothing: never serialized, never read from deserialized input (the field must be an `Option`) | `internal` |
/// | `identity` | `always` (no insert may give the value) or `by_default` (an insert may), then optionally `start`, `increment`, `min`, `max`, `cache` (whole numbers) and `cycle`: `GENERATED ... AS IDENTITY`, on an `i16`, `i32` or `i64` field. An `always` identity is in neither `InsertX` nor `UpdateX`; a `by_default` one is an `Option` in `InsertX` | `identity(always, start = 1000)` |
/// | `generated` | SQL computing the column from the row's other columns, where `{field}` names one (not another generated column): `GENERATED ALWAYS AS (...) STORED`. The column is in neither `InsertX` nor `UpdateX` | `generated = "{quantity} * {unit_cents}"` |
/// | `default_fn` | a function `fn() -> T` (the column's type) that `InsertX::new` calls to fill the field; the DDL is unchanged (add `default_sql` for inserts written in SQL) | `default_fn = Uuid::now_v7` |
/// | `immutable` | nothing: the column never changes after insert; a trigger (`{table}_immutable_columns`) refuses an `UPDATE` that changes it whatever the role, the table's owner included (DDL disabling the trigger is not an update), with SQLSTATE 23000 naming the column, and `UpdateX` has no field for it; a foreign key action that would rewrite it (`on_update = "cascade"`, `"set null"`, `"set default"`) does not compile | `immutable` |
///
/// # Column types
///
/// The field's Rust type gives the column's type: `bool` (`boolean`), `i16` / `i32` / `i64`
/// (`smallint` / `integer` / `bigint`), `f32` / `f64` (`real` / `double precision`), `String`
/// (`text`), `Uuid`, `serde_json::Value` (`jsonb`), `DateTime<Utc>` (`timestamptz`),
/// `NaiveDateTime` (`timestamp`), `NaiveDate` (`date`), `NaiveTime` (`time`), `Vec<u8>`
/// (`bytea`), `rust_decimal::Decimal` (`numeric`, feature `decimal`), `std::net::IpAddr`
/// (`inet`), `schema_core::Cidr` (`cidr`), `schema_core::Interval` (`interval`), a text enum
/// (`text`), a native enum (its type), and `Vec<T>` of any of these (but `Vec<u8>`) as `T[]`,
/// where `Vec<Option<T>>` holds NULL elements. `varchar`, `char`, `numeric` and `precision` on
/// a `Vec<T>` field narrow its elements, and `validate()` checks each element. A key on a
/// field of another kind (`numeric` on an `f64`, `precision` on a `String`) does not compile,
/// nor do two keys that set one column's type.
///
/// An array of a text enum (`Vec<E>`, `Vec<Option<E>>`) is `text[]` (`varchar(N)[]` with
/// `varchar = N`) with the check `{table}_{column}_check`,
/// `CHECK (array_remove("col"::text[], NULL) <@ ARRAY['A', 'B']::text[])`: every element is
/// one of the enum's values, NULL elements pass (as a NULL passes a text enum column's
/// `IN (...)`). An array of a native enum is an array of its type, `"type_name"[]`, without a
/// check. Both bind and read as arrays through tokio-postgres and sqlx, and a variant's
/// `renamed_from` rewrites the stored text in every element (`array_replace`).
///
/// ```
/// # use schema_core::{PgEnum, PgTable};
/// #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
/// #[pg(rename_all = "SCREAMING_SNAKE_CASE")]
/// pub enum Topic { Urgent, Billing }
///
/// #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
/// #[pg(native = "channel")]
/// pub enum Channel { Email, Phone }
///
/// #[derive(PgTable)]
/// #[pg(table = "cases")]
/// pub struct Case {
///     #[pg(primary_key)]
///     pub case_id: i64,
///     pub topics: Vec<Topic>,
///     #[pg(varchar = 10)]
///     pub labels: Vec<Option<Topic>>,
///     pub channels: Option<Vec<Channel>>,
/// }
///
/// let ddl = schema_core::Schema::new().table::<Case>().to_ddl().unwrap();
/// assert!(ddl.contains(r#""topics" text[] NOT NULL,"#));
/// assert!(ddl.contains(r#""labels" varchar(10)[] NOT NULL,"#));
/// assert!(ddl.contains(r#""channels" "channel"[],"#));
/// assert!(ddl.contains(
///     r#"CONSTRAINT "cases_topics_check" CHECK (array_remove("topics"::text[], NULL) <@ ARRAY['URGENT', 'BILLING']::text[])"#
/// ));
/// ```
///
/// `validate()` refuses, before anything is sent: text longer than `varchar(N)` or `char(N)`;
/// a decimal with more digits before the point than `numeric(P,S)` holds (`P - S`), which
/// PostgreSQL would refuse, or more after it than `S`, which PostgreSQL would round (with a
/// negative `S`, one that is not a multiple of `10^-S`: `numeric(2,-3)` takes 12000, not
/// 12345 nor 100000).
///
/// ```
/// # use schema_core::PgTable;
/// use schema_core::chrono::{DateTime, NaiveTime, Utc};
/// use schema_core::rust_decimal::Decimal;
/// use schema_core::{Cidr, Interval, Rule, Validate};
///
/// #[derive(PgTable)]
/// #[pg(table = "payments")]
/// pub struct Payment {
///     #[pg(primary_key)]
///     pub payment_id: i64,
///     #[pg(numeric(precision = 12, scale = 2))]
///     pub amount: Decimal,
///     #[pg(char = 3)]
///     pub currency: String,
///     #[pg(precision = 3)]
///     pub paid_at: DateTime<Utc>,
///     #[pg(precision = 0)]
///     pub cutoff: Option<NaiveTime>,
///     #[pg(varchar = 20)]
///     pub labels: Vec<String>,
///     pub attempts: Vec<Option<i32>>,
///     pub grace: Interval,
///     pub client_ip: Option<std::net::IpAddr>,
///     pub network: Option<Cidr>,
/// }
///
/// let ddl = schema_core::Schema::new().table::<Payment>().to_ddl().unwrap();
/// assert!(ddl.contains(r#""amount" numeric(12,2) NOT NULL,"#));
/// assert!(ddl.contains(r#""currency" char(3) NOT NULL,"#));
/// assert!(ddl.contains(r#""paid_at" timestamptz(3) NOT NULL,"#));
/// assert!(ddl.contains(r#""cutoff" time(0),"#));
/// assert!(ddl.contains(r#""labels" varchar(20)[] NOT NULL,"#));
/// assert!(ddl.contains(r#""attempts" integer[] NOT NULL,"#));
/// assert!(ddl.contains(r#""grace" interval NOT NULL,"#));
/// assert!(ddl.contains(r#""client_ip" inet,"#));
/// assert!(ddl.contains(r#""network" cidr,"#));
///
/// let mut payment = InsertPayment::new(
///     1,
///     "12345678901.5".parse().unwrap(),
///     "EUR".into(),
///     DateTime::UNIX_EPOCH,
///     vec!["refund".into()],
///     vec![Some(1), None],
///     Interval::days(30),
/// );
/// let error = payment.validate().unwrap_err();
/// assert!(matches!(error.violations[0].rule, Rule::NumericOverflow { precision: 12, scale: 2, .. }));
/// payment.amount = "1234567890.50".parse().unwrap();
/// assert_eq!(payment.validate(), Ok(()));
/// ```
///
/// Doc comments on the struct and its fields become `COMMENT ON TABLE` / `COMMENT ON COLUMN`.
/// No text that reaches the DDL (doc comments, names, SQL, types, defaults) may hold a NUL
/// character: PostgreSQL cannot store one, and `psql` would cut the script there.
/// A field of type `Option<T>` is nullable; every other column is `NOT NULL`.
///
/// # Indexes
///
/// `index(...)` lists its keys in order, then any options, separated by commas:
///
/// | item | means | example |
/// |---|---|---|
/// | a field | a key on its column | `index(provider_id)` |
/// | a field with options | `asc` or `desc`, `nulls_first` or `nulls_last` (btree only), `opclass = "..."` (an operator class, by its name in `pg_opclass`) | `created_at(desc, nulls_last)`, `payload(opclass = "jsonb_path_ops")` |
/// | `expr = "..."` | a key on an SQL expression, where `{field}` names a column; the index needs a `name` | `expr = "lower({email})"` |
/// | `unique` | a `UNIQUE` index (btree only) | `unique` |
/// | `using = "..."` | the access method: `"btree"` (the default), `"hash"` (one key), `"gin"`, `"gist"`, `"spgist"`, `"brin"` | `using = "gin"` |
/// | `include(...)` | columns stored in the index without being keys (`INCLUDE`; btree, gist and spgist) | `include(subject)` |
/// | `where = "..."` | a partial index's predicate, where `{field}` names a column | `where = "{deleted_at} IS NULL"` |
/// | `name = "..."` | the index's name (default `{table}_{columns}_idx`) | `name = "tickets_open_idx"` |
/// | `renamed_from = "..."` | the index's former name (see Renames) | `renamed_from = "tickets_queue_idx"` |
///
/// ```
/// # use schema_core::PgTable;
/// #[derive(PgTable)]
/// #[pg(
///     table = "claims",
///     index(payload(opclass = "jsonb_path_ops"), using = "gin"),
///     index(provider_id, include(status), where = "{deleted_at} IS NULL", name = "claims_open_idx"),
///     index(expr = "lower({email})", unique, name = "claims_email_lower_key"),
///     index(submitted_at, using = "brin"),
/// )]
/// pub struct Claim {
///     #[pg(primary_key)]
///     pub claim_id: i64,
///     pub provider_id: i64,
///     pub email: String,
///     pub status: String,
///     pub payload: schema_core::serde_json::Value,
///     pub submitted_at: schema_core::chrono::DateTime<schema_core::chrono::Utc>,
///     pub deleted_at: Option<schema_core::chrono::DateTime<schema_core::chrono::Utc>>,
/// }
///
/// let ddl = schema_core::Schema::new().table::<Claim>().to_ddl().unwrap();
/// assert!(ddl.contains(r#"CREATE INDEX "claims_payload_idx" ON "claims" USING gin ("payload" "jsonb_path_ops");"#));
/// assert!(ddl.contains(r#"CREATE INDEX "claims_open_idx" ON "claims" ("provider_id") INCLUDE ("status") WHERE "deleted_at" IS NULL;"#));
/// assert!(ddl.contains(r#"CREATE UNIQUE INDEX "claims_email_lower_key" ON "claims" ((lower("email")));"#));
/// ```
///
/// What a method cannot do does not compile, at the token that asks for it: `unique` or an
/// ordered key on a non-btree index, `include` on gin, hash or brin, several keys on hash. A
/// predicate or expression naming an unknown field does not compile either; one cannot read a
/// `{setting:...}`. The drift check compares predicates and expressions as the server prints
/// them; an expression key does not follow a column rename (the index is built again).
///
/// # Renames
///
/// `renamed_from = "old_name"` on the struct, a field, an `index(...)`, a `check(...)` or a
/// `policy(...)` gives the name that object had before, so that a schema diff renames it
/// instead of dropping and re-creating it; on a `PgEnum` variant it gives the text the variant
/// was stored as before (see `PgEnum`). They fill the metadata's `renamed_from` (and a
/// column's `renamed_values`) and nothing else: the DDL creates every object under its current
/// name only. A former name that is empty or longer than 63 bytes, that is the object's
/// current name or the current name of another object of its kind, or that two objects of one
/// kind share, does not compile (a table's is not compared with the other tables of a
/// schema); nor does `renamed_from` given twice on one object. An index whose name is
/// generated is compared with its former name when the DDL is rendered.
///
/// # The generated types
///
/// - `InsertX`: the NOT NULL columns without a default (or `default_fn`) are required
///   (`InsertX::new` takes them, and calls each `default_fn`); every other field is an
///   `Option`, where `None` lets the database decide (for a nullable column with a default,
///   `None` is the default: write NULL with an update). Columns only the database writes
///   (`identity(always)`, `generated`) are not in it.
/// - `SelectX`: every column, `Option` where nullable.
/// - `UpdateX`: every column some role may change: not the key, not the `update_sql`,
///   `immutable`, `identity(always)` or `generated` ones and, when the table has `grant`s, only the granted ones; each an `Option`
///   (`None` leaves it); a nullable column's is `Option<Option<T>>` (`Some(None)` sets NULL).
///   `UpdateX::default()` changes nothing.
///
/// All derive `Clone` and `PartialEq`, implement `Debug` (redacting sensitive fields), and with
/// schema-core's `serde` feature `Serialize` and `Deserialize`.
///
/// # Generated names
///
/// For a struct `X` stored as the table `{table}`, where `{columns}` are the columns' names
/// joined with `_` in the order declared (PostgreSQL's own convention):
///
/// | what | name |
/// |---|---|
/// | table | `table = "..."`, else the struct's name in snake_case |
/// | column | the field's name, else `rename = "..."` |
/// | primary key (one column or several) | `{table}_pkey` |
/// | `unique` column, or `unique(...)` on the struct | `{table}_{column}_key` / `{table}_{columns}_key`, else `name = "..."` |
/// | foreign key (`references`, or `foreign_key(...)` on the struct) | `{table}_{column}_fkey` / `{table}_{columns}_fkey`, else `name = "..."` |
/// | check of a text enum column's values, or of a `range` | `{table}_{column}_check` |
/// | `check(name = "...", sql = "...")` | the name as written |
/// | index, `unique` or not | `{table}_{columns}_idx`, else `name = "..."` (an expression key needs a name) |
/// | policy | the name as written |
/// | the `immutable` columns' trigger, and its function | `{table}_immutable_columns` |
/// | the constraint an immutable column's refusal names | `{table}_{column}_immutable` |
/// | roles of policies and grants | the `to = "..."` as written, else as `schema_core::Names::role` maps it |
/// | row types | `InsertX`, `SelectX`, `UpdateX`, else `insert = "..."`, `select = "..."`, `update = "..."` |
/// | column constants | `X::{field}` |
///
/// A text enum (`PgEnum`) creates no PostgreSQL type: its column is `text` (or `varchar(N)`)
/// with the `{table}_{column}_check` above; a `varchar = N` length is the column's type, not a
/// check. A native enum (`PgEnum` with `#[pg(native)]`) is its own type, created once before
/// the tables: its column is of that type, without a check, and takes no `varchar`. A generated name that would pass 63 bytes is cut to 54 bytes (at a character
/// boundary) and ended with `_` and eight hex digits of a hash of the full name, instead of
/// being truncated by PostgreSQL.
///
/// An index column named `unique` must be renamed: inside `index(...)`, `unique` is the flag
/// (and a column named `include` can be a key, but not one with options); likewise a column
/// named `nulls_not_distinct` inside a struct's `unique(...)`.
/// Column constants are named after the fields, so an inherent method of the same name on the
/// struct conflicts with them.
#[proc_macro_derive(PgTable, attributes(pg))]
pub fn derive_pg_table(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    table::expand(&input).into()
}

/// Stores a fieldless enum as text (or as a native enum type, with `native`): implements
/// `PgEnum`, `PgType` (as `text`, with the variants
/// as the only allowed values), `TextColumn` and `ToSqlLiteral`; with schema-core's `serde`
/// feature `Serialize` / `Deserialize` as the same text (unknown text is refused with the list
/// of values), with its `postgres` feature `ToSql` / `FromSql`, and with its `sqlx` feature
/// sqlx's `Type` (as `text`, read from `varchar` too), `Encode` and `Decode` (unknown text is a
/// decode error naming it).
///
/// With `#[pg(native)]` the enum is a native PostgreSQL enum type instead: `PgType::SQL_TYPE`
/// is `SqlType::Enum(name)`, the DDL says `CREATE TYPE "name" AS ENUM (...)` (once, however
/// many tables use it, before them), its columns are of that type and have no `CHECK`, and
/// `PgEnum::NATIVE_TYPE` names it; it is not a `TextColumn`. With `schema = "ledger"` beside
/// `native`, the type is in that PostgreSQL schema: its name is `ledger.entry_kind`
/// everywhere (`SqlType::Enum`, `NATIVE_TYPE`, the model), rendered `"ledger"."entry_kind"`,
/// and the DDL creates the schema before it. `ToSql` / `FromSql` accept that
/// type (and text), sqlx sends it as that type by name. Either form is an `ArrayElement`, so a
/// `Vec` of it is an array column (see Column types under `PgTable`), and sqlx's
/// `PgHasArrayType` is implemented (`text[]`, or an array of the native type). A plan adds a new variant with
/// `ALTER TYPE ... ADD VALUE` in its place (outside a transaction), renames one declared with
/// `renamed_from` with `ALTER TYPE ... RENAME VALUE`, and removes one by replacing the type (a
/// destructive step: rows holding the removed value make it fail). Declare a type no table uses
/// with `Schema::enum_type`.
///
/// A variant carrying data, an enum without variants, a generic enum, two variants stored as
/// one text, an unknown `rename_all` rule, and a `renamed_from` that is empty, that is the
/// text the variant or another one is stored as now, or that two variants share are compile
/// errors at the offending token; so are an empty `native` name, one that is not a plain
/// lowercase identifier (lowercase ASCII letters, digits, `_`, not starting with a digit), one
/// holding a `.` (the schema goes in `schema`) or longer than 63 bytes, a `schema` on a text
/// enum, a `schema` that is `public`, starts with `pg_` or is not a plain lowercase
/// identifier, and a native enum's variant text longer than 63 bytes. An enum with such an
/// error still implements its traits, so its uses report nothing more.
///
/// | where | key | takes | example |
/// |---|---|---|---|
/// | enum | `rename_all` | `"lowercase"`, `"UPPERCASE"`, `"PascalCase"`, `"camelCase"`, `"snake_case"`, `"SCREAMING_SNAKE_CASE"`, `"kebab-case"`, `"SCREAMING-KEBAB-CASE"` | `rename_all = "SCREAMING_SNAKE_CASE"` |
/// | enum | `native` | nothing (the type is named after the enum, in snake_case), or the type's name | `native`, `native = "ticket_status"` |
/// | enum | `schema` | the PostgreSQL schema a native type is in (default: the current one) | `native, schema = "ledger"` |
/// | enum | `crate` | the path to `schema_core` | `crate = "my::schema_core"` |
/// | variant | `rename` | the variant's text | `rename = "FEATURE_REQUEST"` |
/// | variant | `renamed_from` | the text the variant was stored as before: `PgType::RENAMED_VALUES` lists it as `(old, new)`, and so does the `renamed_values` of every column of this type, for a schema diff to turn the stored old text into the new; the `CHECK` lists only current texts | `renamed_from = "FEATURE"` |
#[proc_macro_derive(PgEnum, attributes(pg))]
pub fn derive_pg_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    enums::expand(&input).into()
}

/// Embeds a migrations folder in the binary, for applying at start-up without the files:
/// `schema_core::embed_migrations!("migrations")` is a `&'static [EmbeddedMigration]` of every
/// `<name>/up.sql` and `<name>/snapshot.json` under that folder (relative to the crate's
/// `Cargo.toml`), in name order; read it with `Migrations::embedded`. The files are included
/// with `include_str!`, so editing one rebuilds the crate; a new migration folder needs a
/// rebuild of its own (`cargo` does not watch folders), as with sqlx's `migrate!`.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let dir = parse_macro_input!(input as syn::LitStr);
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let path = std::path::Path::new(&root).join(dir.value());
    let mut names: Vec<String> = match std::fs::read_dir(&path) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.path().join("up.sql").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(error) => {
            let message = format!(
                "cannot read the migrations folder {}: {error}",
                path.display()
            );
            return syn::Error::new(dir.span(), message)
                .to_compile_error()
                .into();
        }
    };
    names.sort();
    let items = names.iter().map(|name| {
        let up = path.join(name).join("up.sql").display().to_string();
        let snapshot = path.join(name).join("snapshot.json").display().to_string();
        quote::quote! {
            ::schema_core::migrate::EmbeddedMigration {
                name: #name,
                up_sql: ::core::include_str!(#up),
                snapshot: ::core::include_str!(#snapshot),
            }
        }
    });
    quote::quote!(&[#(#items),*] as &'static [::schema_core::migrate::EmbeddedMigration]).into()
}
