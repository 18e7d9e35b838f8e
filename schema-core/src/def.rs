//! The schema as plain data: what `#[derive(PgTable)]` fills in as `&'static` constants and
//! what the DDL renderer, and tools, read.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use crate::literal::SqlLiteral;
use crate::sql::constraint_name;
use crate::types::SqlType;

/// A table: its columns, keys, constraints, indexes and comments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TableDef {
    /// The table's name, without its schema.
    pub name: &'static str,
    /// The PostgreSQL schema the table is in (`#[pg(schema = "billing")]`); `None`: the
    /// current schema (`public` unless the search path says otherwise).
    pub schema: Option<&'static str>,
    /// The table's former name: the name this object had before; a schema diff renames it
    /// instead of dropping and re-creating it.
    pub renamed_from: Option<&'static str>,
    /// `COMMENT ON TABLE`, from the struct's doc comment.
    pub comment: Option<&'static str>,
    /// The columns, in declaration order.
    pub columns: &'static [ColumnDef],
    /// The primary key's columns, in key order; empty when the table has none.
    pub primary_key: &'static [&'static str],
    /// Unique constraints declared on the struct (`unique(a, b)`); a field's own `unique` is
    /// on its column (see [`ColumnDef::unique`]).
    pub unique_keys: &'static [UniqueDef],
    /// Foreign keys to other tables (or this one).
    pub foreign_keys: &'static [ForeignKeyDef],
    /// Table-level `CHECK` constraints written in SQL; the checks that come from a column's
    /// type or range are on the column (see [`TableDef::checks`] for all of them).
    pub checks: &'static [CheckDef],
    /// Indexes, created after the table.
    pub indexes: &'static [IndexDef],
    /// Whether row-level security is enabled and forced (the table's owner is not exempt).
    pub row_level_security: bool,
    /// Row-level security policies.
    pub policies: &'static [PolicyDef],
    /// Which columns a role may write: each narrows the `INSERT` and/or `UPDATE` privilege the
    /// role's policies give it to those columns (`GRANT UPDATE (a, b)`); a role without one
    /// may write every column its policies let it.
    pub column_grants: &'static [ColumnGrantDef],
    /// Whose rows the table holds: the tenant root (`#[pg(tenant_root)]`, each row a tenant),
    /// a tenant table (`#[pg(tenant = Provider)]` on its tenant column), or `None` for a table
    /// shared by every tenant.
    pub tenant: Option<TenantDef>,
    /// Whether the table is a reference table (`#[pg(reference)]`): rows every tenant shares,
    /// such as code lists. On plain PostgreSQL nothing changes; the Citus target copies it to
    /// every node (`create_reference_table`).
    pub reference: bool,
}

/// How a table belongs to the tenants, declared once on the table: the key the row-level
/// security policies compare with the scope's setting, the leading column of every tenant
/// query, and the distribution column of the Citus target.
///
/// ```
/// use schema_core::{PgTable, Table, TenantDef};
/// use uuid::Uuid;
///
/// #[derive(PgTable)]
/// #[pg(table = "providers", tenant_root)]
/// pub struct Provider {
///     #[pg(primary_key)]
///     pub provider_id: Uuid,
/// }
///
/// #[derive(PgTable)]
/// #[pg(table = "notes")]
/// pub struct Note {
///     #[pg(primary_key)]
///     pub note_id: Uuid,
///     #[pg(tenant = Provider)]
///     pub provider_id: Uuid,
/// }
///
/// assert_eq!(Provider::TABLE.tenant, Some(TenantDef::Root { key: "provider_id" }));
/// assert_eq!(Note::TABLE.tenant_column(), Some("provider_id"));
/// assert_eq!(Note::TABLE.tenant_root().as_deref(), Some("providers"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantDef {
    /// The tenant root: each row is a tenant, named by its single-column primary key `key`.
    Root {
        /// The key column (`provider_id`).
        key: &'static str,
    },
    /// A tenant table: each row belongs to the tenant whose key is in `column`.
    Member {
        /// The column holding the tenant's key (`provider_id`), of the root key's type.
        column: &'static str,
        /// The tenant root's table, qualified with its schema where it has one.
        root: &'static str,
        /// The tenant root's key column.
        root_key: &'static str,
    },
}

/// The columns one role may write: rendered as `GRANT INSERT (columns)` and
/// `GRANT UPDATE (columns)` in place of table-wide `INSERT` and `UPDATE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnGrantDef {
    /// The role, by its name in the code; a [`Schema`](crate::Schema) may map it to the
    /// deployment's role.
    pub role: &'static str,
    /// The columns it may give values on insert (the others take their defaults); `None`
    /// leaves its `INSERT` privilege table-wide.
    pub insert: Option<&'static [&'static str]>,
    /// The columns it may update; `None` leaves its `UPDATE` privilege table-wide. Columns
    /// refreshed by `update_sql` are added when rendering, since every update sets them.
    pub update: Option<&'static [&'static str]>,
}

/// A row-level security policy: which rows a role may see or write with one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyDef {
    /// The policy's name.
    pub name: &'static str,
    /// The policy's former name: the name this object had before; a schema diff renames it
    /// instead of dropping and re-creating it.
    pub renamed_from: Option<&'static str>,
    /// The command it applies to.
    pub command: PolicyCommand,
    /// The role it applies to, by its name in the code; a [`Schema`](crate::Schema) may map it
    /// to the deployment's role. `public` applies to every role.
    pub role: &'static str,
    /// Which existing rows the role may see, update or delete.
    pub using: Option<&'static [SqlPart]>,
    /// Which new or changed rows the role may write.
    pub with_check: Option<&'static [SqlPart]>,
}

/// The command a policy applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "UPPERCASE"))]
pub enum PolicyCommand {
    /// Every command.
    All,
    /// `SELECT`
    Select,
    /// `INSERT`
    Insert,
    /// `UPDATE`
    Update,
    /// `DELETE`
    Delete,
}

impl PolicyCommand {
    /// The command as SQL (`ALL`, `SELECT`, ...).
    pub fn as_sql(self) -> &'static str {
        match self {
            PolicyCommand::All => "ALL",
            PolicyCommand::Select => "SELECT",
            PolicyCommand::Insert => "INSERT",
            PolicyCommand::Update => "UPDATE",
            PolicyCommand::Delete => "DELETE",
        }
    }

    /// The table privileges a role needs for the policy to let anything through.
    pub fn privileges(self) -> &'static [&'static str] {
        match self {
            PolicyCommand::All => &["SELECT", "INSERT", "UPDATE", "DELETE"],
            PolicyCommand::Select => &["SELECT"],
            PolicyCommand::Insert => &["INSERT"],
            PolicyCommand::Update => &["UPDATE"],
            PolicyCommand::Delete => &["DELETE"],
        }
    }
}

/// A column of a table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColumnDef {
    /// The column's name in the database.
    pub name: &'static str,
    /// The column's former name: the name this object had before; a schema diff renames it
    /// instead of dropping and re-creating it.
    pub renamed_from: Option<&'static str>,
    /// The name of the Rust field it comes from.
    pub field: &'static str,
    /// The Rust field's type, as written (`Option<String>`), for messages.
    pub rust_type: &'static str,
    /// Its SQL type.
    pub sql_type: SqlType,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Its default, if any.
    pub default: Option<ColumnDefault>,
    /// A SQL expression every update through the generated `UpdateX` type sets the column to
    /// (`now()` for an `updated_at` column); such a column is not part of `UpdateX`.
    pub update_sql: Option<&'static str>,
    /// Whether it carries a single-column `UNIQUE` constraint.
    pub unique: bool,
    /// The only values it may hold (a text enum's variants): rendered as `CHECK (col IN (...))`,
    /// or for an array of a text enum as a check that every element is one of them.
    pub allowed_values: Option<&'static [&'static str]>,
    /// Values that were stored as another text before, as `(old, new)` pairs (a text enum's
    /// [`PgType::RENAMED_VALUES`](crate::PgType::RENAMED_VALUES)): a schema diff turns the
    /// stored `old` into `new` instead of dropping one value and adding another. Empty for
    /// most columns.
    pub renamed_values: &'static [(&'static str, &'static str)],
    /// The integer range it must stay in: rendered as a `CHECK`.
    pub range: Option<IntRange>,
    /// `COMMENT ON COLUMN`, from the field's doc comment.
    pub comment: Option<&'static str>,
    /// Whether the column may hold sensitive data (PHI): the generated types' `Debug` redacts
    /// it, and tools can ask which columns to keep out of logs and exports.
    pub sensitive: bool,
    /// Whether the column is internal: the generated types never serialize it nor accept it
    /// from deserialized input; the application reads it through the Rust field only.
    pub internal: bool,
    /// Whether the column never changes after insert: a trigger refuses any `UPDATE` that
    /// changes it, whatever the role (the table's owner included; DDL that disables the trigger
    /// is not an update), and the generated `UpdateX` has no field for it.
    pub immutable: bool,
    /// Whether the database computes the column: an identity, or a stored generated column.
    pub generation: Option<Generation>,
    /// How the column's values convert from the type it had before (`using = "..."`,
    /// `{field}` placeholders naming columns): the `USING` of the `ALTER COLUMN ... TYPE` a
    /// plan writes when the type changes to one PostgreSQL does not convert to by itself
    /// (text to integer, say). Read by nothing else; `None` for most columns.
    pub using: Option<&'static [SqlPart]>,
    /// Whether the application encrypts the column (`#[pg(encrypted)]`): it is `bytea`
    /// holding an envelope, with a `CHECK` on the envelope's header.
    pub encryption: Option<EncryptionDef>,
}

/// How an encrypted column is stored (see the `crypto` module, feature `encrypt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncryptionDef {
    /// Its blind index, for exact-match lookups.
    pub blind_index: Option<BlindIndexDef>,
    /// On the column that holds a blind index: the encrypted column it indexes. Such a column
    /// holds an HMAC, not an envelope, and has no field of its own.
    pub blind_index_of: Option<&'static str>,
    /// `encrypted(migrating)`: the column is being encrypted and still holds plaintext rows
    /// (its bytes, as the field's type encodes them): reads accept them, writes seal, the
    /// re-encryption job seals what remains, and the envelope `CHECK` waits for the strict
    /// state (plain `encrypted`), which a plan refuses while a plaintext row remains.
    pub accepts_plaintext: bool,
}

impl ColumnDef {
    /// Whether the column holds an envelope: encrypted, and not a blind index.
    pub fn holds_envelope(&self) -> bool {
        self.encryption.is_some_and(|e| e.blind_index_of.is_none())
    }
}

/// A blind index of an encrypted column: a column holding the first `bits` bits of an HMAC of
/// the value, keyed per tenant and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlindIndexDef {
    /// The column that holds it (`{column}_bidx`).
    pub column: &'static str,
    /// How many bits it keeps.
    pub bits: u32,
    /// How many rows the table is expected to hold, which bounds `bits`.
    pub population: u64,
    /// What is done to a text before it is indexed (`normalize(trim, lowercase)`).
    pub normalize: BlindNormalization,
}

/// What a blind index does to a text before keying it (`blind_index(.., normalize(trim,
/// lowercase))`), so that values differing only by it find each other through
/// `eq_blind`; the column itself is sealed as given. Bytes that are not UTF-8 text are left as
/// they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlindNormalization {
    /// Leading and trailing white space removed.
    pub trim: bool,
    /// Lowercased (Unicode's lowercase mapping).
    pub lowercase: bool,
}

impl BlindNormalization {
    /// The text of `bytes` normalized, or `None` when that leaves it as it is (nothing asked,
    /// or bytes that are not UTF-8).
    pub fn apply(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if !self.trim && !self.lowercase {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let text = if self.trim { text.trim() } else { text };
        Some(if self.lowercase {
            text.to_lowercase().into_bytes()
        } else {
            text.as_bytes().to_vec()
        })
    }
}

/// The SQL of the `CHECK` on an encrypted column: at least an envelope long (37 bytes: the
/// header, the nonce and the tag), starting with the magic `PE`, format version 1 and
/// algorithm 1 (AES-256-GCM-SIV). A plaintext written by raw SQL is refused by the
/// database itself.
pub fn envelope_check_sql(quoted_column: &str) -> String {
    format!(
        "octet_length({quoted_column}) >= 37 AND substring({quoted_column} FROM 1 FOR 4) = '\\x50450101'::bytea"
    )
}

/// How the database fills a column by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// `GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY (...)`: numbered from a sequence.
    Identity(Identity),
    /// `GENERATED ALWAYS AS (...) STORED`: computed from the row's other columns on every
    /// write; `{field}` placeholders name them.
    Stored(&'static [SqlPart]),
}

/// An identity column's mode and sequence options; `None` keeps PostgreSQL's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// `GENERATED ALWAYS` (an insert cannot give the value) rather than `BY DEFAULT`.
    pub always: bool,
    /// `START WITH`.
    pub start: Option<i64>,
    /// `INCREMENT BY`.
    pub increment: Option<i64>,
    /// `MINVALUE`.
    pub min_value: Option<i64>,
    /// `MAXVALUE`.
    pub max_value: Option<i64>,
    /// `CACHE`.
    pub cache: Option<i64>,
    /// `CYCLE`.
    pub cycle: bool,
}

/// A column default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColumnDefault {
    /// A SQL expression, written as given: `gen_random_uuid()`, `now()`.
    Sql(&'static str),
    /// A Rust value written as a literal: `TicketPriority::Medium` → `'MEDIUM'`.
    Value(DefaultValue),
}

/// A Rust default value, kept as a function so that it can live in a constant; call
/// [`DefaultValue::literal`] for the value.
#[derive(Clone, Copy)]
pub struct DefaultValue(pub fn() -> SqlLiteral);

impl DefaultValue {
    /// The literal this default writes.
    pub fn literal(&self) -> SqlLiteral {
        (self.0)()
    }
}

impl PartialEq for DefaultValue {
    fn eq(&self, other: &Self) -> bool {
        self.literal() == other.literal()
    }
}

impl fmt::Debug for DefaultValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DefaultValue")
            .field(&self.literal())
            .finish()
    }
}

/// An inclusive integer range a column must stay in; either end may be open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntRange {
    /// The smallest allowed value.
    pub min: Option<i64>,
    /// The largest allowed value.
    pub max: Option<i64>,
}

/// A unique constraint over one or more columns, declared on the struct.
///
/// `#[pg(unique(a, b))]` on a `#[derive(PgTable)]` struct declares one, with
/// `nulls_not_distinct` and `name = "..."` as options; `#[pg(foreign_key(...))]` declares a
/// foreign key over several columns, which must reference a key of that kind (or the primary
/// key) of the referenced table:
///
/// ```
/// use schema_core::{PgTable, Schema};
///
/// #[derive(PgTable)]
/// #[pg(
///     table = "clinics",
///     primary_key(tenant_id, clinic_id),
///     unique(tenant_id, code),
///     unique(tenant_id, email, nulls_not_distinct),
/// )]
/// pub struct Clinic {
///     pub tenant_id: i32,
///     pub clinic_id: i32,
///     pub code: String,
///     pub email: Option<String>,
/// }
///
/// #[derive(PgTable)]
/// #[pg(
///     table = "visits",
///     foreign_key(
///         columns(tenant_id, clinic_code),
///         references(Clinic::tenant_id, Clinic::code),
///         on_delete = "cascade",
///     ),
/// )]
/// pub struct Visit {
///     #[pg(primary_key)]
///     pub visit_id: i64,
///     pub tenant_id: i32,
///     pub clinic_code: String,
/// }
///
/// let ddl = Schema::new().table::<Clinic>().table::<Visit>().to_ddl().unwrap();
/// assert!(ddl.contains(r#"CONSTRAINT "clinics_tenant_id_code_key" UNIQUE ("tenant_id", "code")"#));
/// assert!(ddl.contains(
///     r#"CONSTRAINT "clinics_tenant_id_email_key" UNIQUE NULLS NOT DISTINCT ("tenant_id", "email")"#
/// ));
/// assert!(ddl.contains(
///     r#"CONSTRAINT "visits_tenant_id_clinic_code_fkey" FOREIGN KEY ("tenant_id", "clinic_code") REFERENCES "clinics" ("tenant_id", "code") ON DELETE CASCADE"#
/// ));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UniqueDef {
    /// The constraint's name; `None` takes PostgreSQL's convention, `{table}_{columns}_key`.
    pub name: Option<&'static str>,
    /// Its columns, in key order.
    pub columns: &'static [&'static str],
    /// Whether NULLs are equal to each other for this key (`UNIQUE NULLS NOT DISTINCT`,
    /// PostgreSQL 15 and later): two rows with NULL in the same key column and equal values in
    /// the others conflict. By default (`false`) such rows never conflict.
    pub nulls_not_distinct: bool,
}

/// A foreign key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForeignKeyDef {
    /// The constraint's name; `None` takes PostgreSQL's convention, `{table}_{columns}_fkey`.
    pub name: Option<&'static str>,
    /// The referencing columns of this table.
    pub columns: &'static [&'static str],
    /// The referenced table.
    pub references_table: &'static str,
    /// The referenced columns, in the same order.
    pub references_columns: &'static [&'static str],
    /// What happens to this row when the referenced row is deleted.
    pub on_delete: ReferentialAction,
    /// What happens to this row when the referenced key changes.
    pub on_update: ReferentialAction,
}

/// `ON DELETE` / `ON UPDATE` actions of a foreign key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum ReferentialAction {
    /// `NO ACTION`, PostgreSQL's default: the change fails if rows still reference the key
    /// (checked at the end of the statement).
    #[default]
    NoAction,
    /// `RESTRICT`: the change fails at once if rows still reference the key.
    Restrict,
    /// `CASCADE`: referencing rows are deleted or updated along.
    Cascade,
    /// `SET NULL`: the referencing columns are set to NULL.
    SetNull,
    /// `SET DEFAULT`: the referencing columns are set to their defaults.
    SetDefault,
}

impl ReferentialAction {
    /// The action as SQL.
    pub fn as_sql(self) -> &'static str {
        match self {
            ReferentialAction::NoAction => "NO ACTION",
            ReferentialAction::Restrict => "RESTRICT",
            ReferentialAction::Cascade => "CASCADE",
            ReferentialAction::SetNull => "SET NULL",
            ReferentialAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// A table-level check constraint written in SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckDef {
    /// The constraint's name.
    pub name: &'static str,
    /// The constraint's former name: the name this object had before; a schema diff renames
    /// it instead of dropping and re-creating it.
    pub renamed_from: Option<&'static str>,
    /// The boolean SQL expression, as pieces of SQL and the columns between them.
    pub sql: &'static [SqlPart],
}

/// A piece of a SQL expression written in an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlPart {
    /// SQL text, written as given.
    Sql(&'static str),
    /// A column of the table, by its name; rendered quoted.
    Column(&'static str),
    /// A setting of the session or transaction, by its name in the code (a
    /// [`Schema`](crate::Schema) may map it to the deployment's); rendered as
    /// `NULLIF(current_setting('name', true), '')`, NULL when it is not set.
    Setting(&'static str),
}

/// An index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexDef {
    /// The index's name; `None` takes PostgreSQL's convention, `{table}_{columns}_idx` (an
    /// expression key counts as `expr`).
    pub name: Option<&'static str>,
    /// The index's former name: the name this object had before; a schema diff renames it
    /// instead of dropping and re-creating it. It may be given whether the current name is
    /// declared or generated.
    pub renamed_from: Option<&'static str>,
    /// Whether it is a `UNIQUE` index.
    pub unique: bool,
    /// The access method (`USING ...`).
    pub method: IndexMethod,
    /// The index's keys, in index order.
    pub columns: &'static [IndexColumn],
    /// Columns stored in the index without being keys (`INCLUDE (...)`).
    pub include: &'static [&'static str],
    /// The predicate of a partial index (`WHERE ...`).
    pub predicate: Option<&'static [SqlPart]>,
}

/// An index's access method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndexMethod {
    /// `btree`, the default: ordered keys, unique indexes, `INCLUDE`.
    Btree,
    /// `hash`: equality on one key.
    Hash,
    /// `gin`: containment in arrays, jsonb and full-text documents.
    Gin,
    /// `gist`: ranges, geometry, nearest-neighbour searches; `INCLUDE`.
    Gist,
    /// `spgist`: space-partitioned trees; `INCLUDE`.
    SpGist,
    /// `brin`: block ranges of naturally ordered columns (timestamps of an append-only table).
    Brin,
}

impl IndexMethod {
    /// The method's name, as `USING` takes it and `pg_am` lists it.
    pub const fn sql(self) -> &'static str {
        match self {
            IndexMethod::Btree => "btree",
            IndexMethod::Hash => "hash",
            IndexMethod::Gin => "gin",
            IndexMethod::Gist => "gist",
            IndexMethod::SpGist => "spgist",
            IndexMethod::Brin => "brin",
        }
    }

    /// Whether the method keeps its keys in order: only then do `DESC` and `NULLS FIRST`/`LAST`
    /// mean anything, and only then can the index be `UNIQUE`.
    pub const fn is_ordered(self) -> bool {
        matches!(self, IndexMethod::Btree)
    }

    /// Whether the method stores `INCLUDE` columns.
    pub const fn supports_include(self) -> bool {
        matches!(
            self,
            IndexMethod::Btree | IndexMethod::Gist | IndexMethod::SpGist
        )
    }
}

/// One key of an index, with its operator class and sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexColumn {
    /// What is indexed: a column, or an expression over the columns.
    pub key: IndexKey,
    /// The operator class (`jsonb_path_ops`, `text_pattern_ops`, ...); `None` takes the
    /// default class of the key's type for the method.
    pub opclass: Option<&'static str>,
    /// `ASC` / `DESC`; `None` is ascending. The DDL writes only `DESC`, as PostgreSQL prints it.
    pub order: Option<SortOrder>,
    /// `NULLS FIRST` / `NULLS LAST`; `None` keeps PostgreSQL's default for the order
    /// (NULLs last ascending, first descending).
    pub nulls: Option<NullsOrder>,
}

/// What an index key indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKey {
    /// A column, by name.
    Column(&'static str),
    /// An expression (`lower({email})`), written in parentheses in the DDL.
    Expression(&'static [SqlPart]),
}

impl IndexKey {
    /// The column's name, or `expr` for an expression: the word PostgreSQL puts in a name it
    /// makes up for the index.
    pub const fn name_part(&self) -> &'static str {
        match self {
            IndexKey::Column(name) => name,
            IndexKey::Expression(_) => "expr",
        }
    }
}

/// The sort order of an index column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    /// `ASC`
    Asc,
    /// `DESC`
    Desc,
}

/// Where NULLs sort in an index column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullsOrder {
    /// `NULLS FIRST`
    First,
    /// `NULLS LAST`
    Last,
}

/// A check constraint of a table, from whichever declaration it came.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// The constraint's name.
    pub name: Cow<'static, str>,
    /// What it checks.
    pub rule: CheckRule,
}

/// What a check constraint checks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CheckRule {
    /// The column holds one of the values (NULL passes).
    OneOf {
        /// The column.
        column: &'static str,
        /// The allowed values.
        values: &'static [&'static str],
    },
    /// Every element of the array column is one of the values (NULL elements, and a NULL
    /// array, pass): an array of a text enum.
    EachOneOf {
        /// The column.
        column: &'static str,
        /// The allowed values.
        values: &'static [&'static str],
    },
    /// The column stays within the range (NULL passes).
    Range {
        /// The column.
        column: &'static str,
        /// The range.
        range: IntRange,
    },
    /// A SQL expression: its text written as given, its columns quoted.
    Sql(&'static [SqlPart]),
    /// The column holds an envelope ([`envelope_check_sql`]); NULL passes.
    Envelope {
        /// The encrypted column.
        column: &'static str,
    },
}

impl TableDef {
    /// The column that holds the tenant's key: the root's key on the tenant root, the tenant
    /// column on a tenant table; `None` on a shared table.
    pub fn tenant_column(&self) -> Option<&'static str> {
        match self.tenant {
            Some(TenantDef::Root { key }) => Some(key),
            Some(TenantDef::Member { column, .. }) => Some(column),
            None => None,
        }
    }

    /// The tenant root's table (qualified): the table itself for the root, the declared root
    /// for a tenant table; `None` on a shared table.
    pub fn tenant_root(&self) -> Option<Cow<'static, str>> {
        match self.tenant {
            Some(TenantDef::Root { .. }) => Some(self.qualified_name()),
            Some(TenantDef::Member { root, .. }) => Some(Cow::Borrowed(root)),
            None => None,
        }
    }

    /// Whether the table is a tenant table (not the root): its rows belong to one tenant each.
    pub fn is_tenant_table(&self) -> bool {
        matches!(self.tenant, Some(TenantDef::Member { .. }))
    }

    /// The table's name as the model and every statement use it: qualified with its schema
    /// where it has one (`billing.invoices`), else as written (`support_tickets`).
    pub fn qualified_name(&self) -> Cow<'static, str> {
        match self.schema {
            Some(schema) => Cow::Owned(crate::sql::qualify(Some(schema), self.name)),
            None => Cow::Borrowed(self.name),
        }
    }

    /// The table's name quoted for SQL, with its schema: `"billing"."invoices"`.
    pub fn quoted_name(&self) -> String {
        crate::sql::quote_in_schema(self.schema, self.name)
    }

    /// The columns marked `sensitive`.
    pub fn sensitive_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns.iter().filter(|c| c.sensitive)
    }

    /// The column named `name` (its database name).
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The columns marked `immutable`.
    pub fn immutable_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns.iter().filter(|c| c.immutable)
    }

    /// The name of the trigger, and of its function, that keeps the `immutable` columns as
    /// inserted: `{table}_immutable_columns`.
    pub fn immutable_trigger_name(&self) -> Cow<'static, str> {
        constraint_name(self.name, [], "immutable_columns")
    }

    /// The name an immutable column's refusal reports as its constraint:
    /// `{table}_{column}_immutable`.
    pub fn immutable_name(&self, column: &ColumnDef) -> Cow<'static, str> {
        immutable_constraint_name(self.name, column.name)
    }

    /// Whether a role may change the column through an update, as far as the declaration
    /// says: not a key column, not the tenant column, not `immutable`, not refreshed by `update_sql`, and, where the
    /// table narrows updates to columns with grants, granted to some role. The generated
    /// `UpdateX` has a field for exactly these columns.
    pub fn is_updatable(&self, column: &ColumnDef) -> bool {
        let mut updates = self.column_grants.iter().filter_map(|g| g.update);
        let narrowed = self.column_grants.iter().any(|g| g.update.is_some());
        !column.immutable
            && self.tenant_column() != Some(column.name)
            && column.update_sql.is_none()
            && !self.primary_key.contains(&column.name)
            && (!narrowed || updates.any(|columns| columns.contains(&column.name)))
    }

    /// The primary key constraint's name: `{table}_pkey`.
    pub fn primary_key_name(&self) -> Cow<'static, str> {
        constraint_name(self.name, [], "pkey")
    }

    /// A single-column unique constraint's name: `{table}_{column}_key`.
    pub fn unique_name(&self, column: &ColumnDef) -> Cow<'static, str> {
        constraint_name(self.name, [column.name], "key")
    }

    /// A struct-level unique constraint's name: the declared one, or `{table}_{columns}_key`.
    pub fn unique_key_name(&self, key: &UniqueDef) -> Cow<'static, str> {
        match key.name {
            Some(name) => Cow::Borrowed(name),
            None => constraint_name(self.name, key.columns.iter().copied(), "key"),
        }
    }

    /// A foreign key's name: the declared one, or `{table}_{columns}_fkey`.
    pub fn foreign_key_name(&self, fk: &ForeignKeyDef) -> Cow<'static, str> {
        match fk.name {
            Some(name) => Cow::Borrowed(name),
            None => constraint_name(self.name, fk.columns.iter().copied(), "fkey"),
        }
    }

    /// Whether `columns` (database names, in any order) are exactly the columns of the
    /// table's primary key or of one of its unique constraints: what PostgreSQL requires of
    /// the columns a foreign key references. A `const fn`, so that the derive checks a
    /// foreign key against the referenced table's metadata at compile time.
    pub const fn has_key(&self, columns: &[&str]) -> bool {
        if same_set(self.primary_key, columns) {
            return true;
        }
        let mut i = 0;
        while i < self.unique_keys.len() {
            if same_set(self.unique_keys[i].columns, columns) {
                return true;
            }
            i += 1;
        }
        if columns.len() == 1 {
            let mut i = 0;
            while i < self.columns.len() {
                if self.columns[i].unique && str_eq(self.columns[i].name, columns[0]) {
                    return true;
                }
                i += 1;
            }
        }
        false
    }

    /// An index's name: the declared one, or `{table}_{columns}_idx`.
    pub fn index_name(&self, index: &IndexDef) -> Cow<'static, str> {
        match index.name {
            Some(name) => Cow::Borrowed(name),
            None => constraint_name(
                self.name,
                index.columns.iter().map(|c| c.key.name_part()),
                "idx",
            ),
        }
    }

    /// Every check constraint of the table: first the columns' (enumerated values, ranges;
    /// named `{table}_{column}_check`), then the table-level SQL checks.
    pub fn checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        for column in self.columns {
            if column.encryption.is_some() {
                if !column.holds_envelope()
                    || column.encryption.is_some_and(|e| e.accepts_plaintext)
                {
                    continue;
                }
                checks.push(Check {
                    name: constraint_name(self.name, [column.name], "envelope"),
                    rule: CheckRule::Envelope {
                        column: column.name,
                    },
                });
                continue;
            }
            let rule = match (column.allowed_values, column.range) {
                // A native enum's type holds the values itself.
                (Some(_), _) if matches!(column.sql_type.element(), SqlType::Enum(_)) => continue,
                (Some(values), _) if matches!(column.sql_type, SqlType::Array(_)) => {
                    CheckRule::EachOneOf {
                        column: column.name,
                        values,
                    }
                }
                (Some(values), _) => CheckRule::OneOf {
                    column: column.name,
                    values,
                },
                (None, Some(range)) => CheckRule::Range {
                    column: column.name,
                    range,
                },
                (None, None) => continue,
            };
            checks.push(Check {
                name: constraint_name(self.name, [column.name], "check"),
                rule,
            });
        }
        checks.extend(self.checks.iter().map(|c| Check {
            name: Cow::Borrowed(c.name),
            rule: CheckRule::Sql(c.sql),
        }));
        checks
    }
}

/// Whether `a` and `b` hold the same names, each once, in any order.
const fn same_set(a: &[&str], b: &[&str]) -> bool {
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        let (mut in_a, mut in_b, mut j) = (0, 0, 0);
        while j < a.len() {
            in_a += str_eq(a[i], a[j]) as usize;
            in_b += str_eq(a[i], b[j]) as usize;
            j += 1;
        }
        if in_a != in_b {
            return false;
        }
        i += 1;
    }
    true
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The constraint name an immutable column's refusal reports: `{table}_{column}_immutable`;
/// the driver matches errors by it.
pub(crate) fn immutable_constraint_name(table: &str, column: &str) -> Cow<'static, str> {
    constraint_name(table, [column], "immutable")
}

/// A typed handle on a column of a derived table: names it in foreign keys and in typed queries.
///
/// `#[derive(PgTable)]` gives every table one associated constant per field, named as the
/// field (`SupportTicket::status`). `T` is the table's type, so a query of one table does not
/// take a column of another; `R` is the field's Rust type as written (`Option<i32>`), whose
/// [`PgType::Base`](crate::PgType::Base) is the type of the values compared with the column,
/// so a foreign key or a filter with a value of another type does not compile.
pub struct ColumnRef<T, R> {
    /// The table's name, qualified with its schema where it has one (`billing.invoices`).
    pub table: &'static str,
    /// The column's name.
    pub column: &'static str,
    /// The column's position among the table's columns (its index in [`TableDef::columns`]).
    pub index: usize,
    types: PhantomData<fn() -> (T, R)>,
}

impl<T, R> ColumnRef<T, R> {
    /// A handle on `table.column`, the table's column number `index`.
    pub const fn new(table: &'static str, column: &'static str, index: usize) -> Self {
        ColumnRef {
            table,
            column,
            index,
            types: PhantomData,
        }
    }
}

impl<T, R: crate::PgType> ColumnRef<T, R> {
    /// This column as the target of a foreign key from a column whose base type is `F`; the
    /// derive calls it so that a foreign key of another type does not compile.
    pub const fn referenced_by<F>(self) -> Self
    where
        F: crate::ReferenceCompatible<R::Base>,
    {
        self
    }
}

impl<T, R> Clone for ColumnRef<T, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, R> Copy for ColumnRef<T, R> {}

impl<T, R> fmt::Debug for ColumnRef<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}
