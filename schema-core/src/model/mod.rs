//! An owned model of everything the crate manages in a database: tables, columns, keys, foreign
//! keys, checks, indexes, the immutable-column guard, row-level security, policies, the roles the
//! schema creates and the privileges it grants, and comments.
//!
//! The model is built two ways, from a [`Schema`](crate::Schema) ([`SchemaModel::from_schema`])
//! and from a live database's catalog (`pg::introspect`, feature `postgres`), so that two
//! states can be compared ([`diff`](crate::diff)) and a plan made from one to the other
//! ([`plan`](crate::plan)). The DDL script ([`Schema::to_ddl`](crate::Schema::to_ddl)) is
//! rendered from the model too, so the model holds everything the script says.
//!
//! With the `serde` feature the model reads and writes JSON (`SchemaModel::to_json`,
//! `SchemaModel::from_json`), stamped with [`FORMAT_VERSION`].
//!
//! Expressions (defaults, checks, policy predicates) are SQL text: as the code writes them in
//! a model built from code, as the server prints them in a model read from a database. Compare
//! like with like: two models from code, or two read from a database (the code's DDL applied to
//! a shadow database first; see `pg::drift`).

mod from_schema;
mod mermaid;

use crate::def::{PolicyCommand, ReferentialAction};

/// The version of the model's JSON format; `SchemaModel::from_json` (feature `serde`) refuses
/// another.
pub const FORMAT_VERSION: u32 = 1;

/// Everything the crate manages in one database.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SchemaModel {
    /// The JSON format's version: [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The roles the schema creates (as the deployment names them), in creation order.
    pub roles: Vec<String>,
    /// The tables, in an order that creates every referenced table first.
    pub tables: Vec<TableModel>,
    /// Tables found in a live database that the schema does not declare: reported, never
    /// touched. Always empty in a model built from code.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub unmanaged_tables: Vec<String>,
    /// The native enum types (`CREATE TYPE ... AS ENUM`), created before the tables.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub enums: Vec<EnumModel>,
    /// The PostgreSQL schemas the tables are in, other than the current one (`CREATE SCHEMA`),
    /// created after the roles and before everything else.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub namespaces: Vec<NamespaceModel>,
    /// The extensions the schema declares (`CREATE EXTENSION`), created first: `citext`
    /// for `#[pg(citext)]` columns.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub extensions: Vec<String>,
}

/// A PostgreSQL schema (a namespace) the tables are in, and the roles that may use it: every
/// role with a privilege on one of its tables needs `USAGE` on the schema to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NamespaceModel {
    /// The schema's name.
    pub name: String,
    /// The roles granted `USAGE` on it (`public` for every role), in name order.
    pub usage: Vec<String>,
}

/// A native enum type: its name and its labels, in sort order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EnumModel {
    /// The type's name, qualified with its PostgreSQL schema where it has one
    /// (`ledger.entry_kind`), as a table's is: `ledger.entry_kind` and `entry_kind` are two types.
    pub name: String,
    /// The labels, in the order the type sorts them.
    pub values: Vec<String>,
    /// Labels renamed by the code (`(old, new)`, from a variant's `renamed_from`): a plan
    /// renames the label rather than dropping one and adding another.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub renamed_values: Vec<(String, String)>,
}

impl EnumModel {
    /// The type as a column's SQL type names it: quoted, with its schema where it has one, as
    /// `"ticket_status"` or `"ledger"."entry_kind"`.
    pub fn column_type(&self) -> String {
        crate::sql::quote_qualified(&self.name)
    }
}

/// The type of `enums` a column of `sql_type` holds, if it holds one (or an array of it).
pub(crate) fn enum_of_column<'a>(enums: &'a [EnumModel], sql_type: &str) -> Option<&'a EnumModel> {
    let element = sql_type.strip_suffix("[]").unwrap_or(sql_type);
    enums.iter().find(|e| e.column_type() == element)
}

/// A table and everything that belongs to it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TableModel {
    /// The table's name.
    pub name: String,
    /// The name it had before (`renamed_from`): a plan renames it rather than dropping it.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub renamed_from: Option<String>,
    /// `COMMENT ON TABLE`.
    pub comment: Option<String>,
    /// The columns, in table order.
    pub columns: Vec<ColumnModel>,
    /// The primary key, if any.
    pub primary_key: Option<KeyModel>,
    /// Unique constraints.
    pub unique: Vec<KeyModel>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKeyModel>,
    /// Check constraints.
    pub checks: Vec<CheckModel>,
    /// Indexes other than those behind the primary key and unique constraints.
    pub indexes: Vec<IndexModel>,
    /// The trigger that keeps `immutable` columns as inserted, if any column is.
    pub immutable: Option<ImmutableGuard>,
    /// Whether row-level security is enabled.
    pub row_level_security: bool,
    /// Whether it is forced, so the table's owner is not exempt.
    pub force_row_level_security: bool,
    /// Row-level security policies.
    pub policies: Vec<PolicyModel>,
    /// Privileges granted on the table to the schema's roles and `public`.
    pub grants: Vec<GrantModel>,
    /// The foreign keys and checks of the table left `NOT VALID` (added without checking the
    /// rows, or after a failed `VALIDATE CONSTRAINT`), by name: the database does not vouch
    /// for the rows until they are validated. Also the keys and indexes of a partitioned table
    /// that a partition has no part of (an index built `ON ONLY` the table, its parts not all
    /// attached). Always empty in a model built from code.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub not_valid: Vec<String>,
    /// How a partitioned table splits its rows (`PARTITION BY`, as the server prints it:
    /// `RANGE (created_at)`). Read from a database, which may hold partitioned tables the code
    /// does not declare; always `None` in a model built from code.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub partition_by: Option<String>,
    /// The partitioned table this one is a partition of, and its bound. Its columns, and the
    /// keys, foreign keys, checks and indexes it has from its parent, are the parent's: a plan
    /// changes them there. Always `None` in a model built from code.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub partition_of: Option<PartitionOf>,
    /// On a partition: the names of its parts of its partitioned table's indexes (other than
    /// keys'), by the index's name, in that order. Read from a database; always empty in a
    /// model built from code.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub index_parts: Vec<IndexPart>,
    /// What the database holds on the table that the model does not manage, one note each
    /// (`trigger audit calls log_change`): listed by the drift check, never changed by a plan.
    /// Always empty in a model built from code.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub unmanaged: Vec<String>,
    /// What identifies a row to logical replication, when not its primary key (the
    /// default): read from a database; always `None` in a model built from code.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub replica_identity: Option<ReplicaIdentity>,
}

/// A table's `REPLICA IDENTITY` other than the default.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ReplicaIdentity {
    /// `FULL`: the whole old row.
    Full,
    /// `NOTHING`.
    Nothing,
    /// `USING INDEX`: the columns of this unique index.
    Index(String),
}

/// A partition's part of an index of its partitioned table, and the part's own name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IndexPart {
    /// The partitioned table's index.
    pub index: String,
    /// The name of the partition's index that is its part.
    pub name: String,
}

/// Where a partition sits in its partitioned table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PartitionOf {
    /// The partitioned table.
    pub parent: String,
    /// Its bound, as the server prints it: `FOR VALUES IN ('a')`, `DEFAULT`.
    pub bound: String,
}

/// A column.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ColumnModel {
    /// The column's name.
    pub name: String,
    /// The name it had before (`renamed_from`): a plan renames it and keeps its values.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub renamed_from: Option<String>,
    /// Its type, as SQL (`varchar(200)` from code, `character varying(200)` from a database).
    pub sql_type: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Its default expression.
    pub default: Option<String>,
    /// `COMMENT ON COLUMN`.
    pub comment: Option<String>,
    /// Stored values renamed by the code (`(old, new)`, from an enum variant's
    /// `renamed_from`): a plan rewrites the rows holding the old text.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub renamed_values: Vec<(String, String)>,
    /// The identity the column is numbered by, if any.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub identity: Option<IdentityModel>,
    /// The expression of a stored generated column (`GENERATED ALWAYS AS (...) STORED`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub generated: Option<String>,
    /// How its values convert from the type the column had before, when PostgreSQL does not
    /// convert them by itself (`USING` of `ALTER COLUMN ... TYPE`, from the field's
    /// `using = "..."`): SQL naming the column quoted, as `"age"::integer`. Read only by a
    /// plan that changes the column's type; never read from a database.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub using: Option<String>,
    /// Its collation, when not its type's (`C`): read from a database; always `None` in a
    /// model built from code.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub collation: Option<String>,
}

impl ColumnModel {
    /// A column of `sql_type`, nothing else said: no default, comment, identity or expression.
    pub fn new(name: impl Into<String>, sql_type: impl Into<String>, nullable: bool) -> Self {
        ColumnModel {
            name: name.into(),
            renamed_from: None,
            sql_type: sql_type.into(),
            nullable,
            default: None,
            comment: None,
            renamed_values: Vec::new(),
            identity: None,
            generated: None,
            using: None,
            collation: None,
        }
    }
}

/// An identity column's sequence, every option spelled out (PostgreSQL's defaults filled in).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IdentityModel {
    /// `GENERATED ALWAYS` rather than `BY DEFAULT`.
    pub always: bool,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min_value: i64,
    /// `MAXVALUE`.
    pub max_value: i64,
    /// `CACHE`.
    pub cache: i64,
    /// `CYCLE`.
    pub cycle: bool,
}

impl IdentityModel {
    /// The identity `GENERATED ... AS IDENTITY` gives a column of `sql_type` with no options but
    /// `increment`: PostgreSQL's defaults, which depend on the type and the direction.
    pub fn defaults(sql_type: &str, always: bool, increment: i64) -> Self {
        let (lowest, highest) = match sql_type {
            "smallint" => (i64::from(i16::MIN), i64::from(i16::MAX)),
            "integer" => (i64::from(i32::MIN), i64::from(i32::MAX)),
            _ => (i64::MIN, i64::MAX),
        };
        let (min_value, max_value) = if increment < 0 {
            (lowest, -1)
        } else {
            (1, highest)
        };
        IdentityModel {
            always,
            start: if increment < 0 { max_value } else { min_value },
            increment,
            min_value,
            max_value,
            cache: 1,
            cycle: false,
        }
    }

    /// The sequence options that differ from [`IdentityModel::defaults`], as `CREATE`/`ALTER`
    /// write them (`START WITH 1000 INCREMENT BY 10`); empty when none does.
    pub fn options(&self, sql_type: &str) -> Vec<String> {
        let defaults = IdentityModel::defaults(sql_type, self.always, self.increment);
        let mut options = Vec::new();
        if self.start != defaults.start {
            options.push(format!("START WITH {}", self.start));
        }
        if self.increment != 1 {
            options.push(format!("INCREMENT BY {}", self.increment));
        }
        if self.min_value != defaults.min_value {
            options.push(format!("MINVALUE {}", self.min_value));
        }
        if self.max_value != defaults.max_value {
            options.push(format!("MAXVALUE {}", self.max_value));
        }
        if self.cache != 1 {
            options.push(format!("CACHE {}", self.cache));
        }
        if self.cycle {
            options.push("CYCLE".into());
        }
        options
    }
}

/// A primary key or unique constraint.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KeyModel {
    /// The constraint's name.
    pub name: String,
    /// Its columns, in key order.
    pub columns: Vec<String>,
    /// Whether NULLs are equal to each other for the key (`UNIQUE NULLS NOT DISTINCT`,
    /// PostgreSQL 15 and later). Always `false` for a primary key, whose columns are NOT NULL.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
    pub nulls_not_distinct: bool,
}

/// serde's `skip_serializing_if` for a flag that is usually off.
#[cfg(feature = "serde")]
fn is_false(value: &bool) -> bool {
    !value
}

/// A foreign key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ForeignKeyModel {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references_table: String,
    /// The referenced columns, in the same order.
    pub references_columns: Vec<String>,
    /// `ON DELETE`.
    pub on_delete: ReferentialAction,
    /// `ON UPDATE`.
    pub on_update: ReferentialAction,
}

/// A check constraint.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CheckModel {
    /// The constraint's name.
    pub name: String,
    /// The name it had before (`renamed_from`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub renamed_from: Option<String>,
    /// The boolean expression, without `CHECK (...)`.
    pub expression: String,
    /// Whether the check holds on this table only, not on the tables that inherit from it or
    /// its partitions (`NO INHERIT`). PostgreSQL cannot change this in place: the check is
    /// dropped and added again.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
    pub no_inherit: bool,
}

/// An index.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IndexModel {
    /// The index's name.
    pub name: String,
    /// The name it had before (`renamed_from`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub renamed_from: Option<String>,
    /// Whether it is a `UNIQUE` index.
    pub unique: bool,
    /// The access method: `btree`, `hash`, `gin`, ...
    pub method: String,
    /// The index's keys, in index order.
    pub keys: Vec<IndexKeyModel>,
    /// Columns stored in the index without being keys (`INCLUDE (...)`), in order.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub include: Vec<String>,
    /// The predicate of a partial index (`WHERE ...`).
    pub predicate: Option<String>,
}

impl IndexModel {
    /// Whether the index holds SQL text the server prints its own way: a predicate or an
    /// expression key.
    pub fn has_sql_text(&self) -> bool {
        self.predicate.is_some() || self.keys.iter().any(|k| k.expression)
    }
}

/// One key of an index, its sort order spelled out (PostgreSQL's defaults made explicit).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IndexKeyModel {
    /// The column, or the expression's SQL when `expression` is set.
    pub column: String,
    /// Whether `column` holds an expression (`lower(email)`) rather than a column's name.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
    pub expression: bool,
    /// The operator class, when not the default one for the key's type and the method.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub opclass: Option<String>,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS FIRST` (the default of a descending key).
    pub nulls_first: bool,
}

/// The function and trigger that refuse an update changing an `immutable` column.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ImmutableGuard {
    /// The name of both the function and the trigger; the function's is qualified with the
    /// table's schema where the table has one (`billing.invoices_immutable_columns`), the
    /// trigger's is the part after the dot.
    pub name: String,
    /// The columns it guards, in table order.
    pub columns: Vec<String>,
    /// The function's PL/pgSQL body, exactly.
    pub body: String,
    /// The function's settings (`search_path=...`), as PostgreSQL keeps them.
    pub settings: Vec<String>,
    /// Whether the trigger that calls the function is in place and enabled.
    pub trigger_enabled: bool,
}

/// A row-level security policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PolicyModel {
    /// The policy's name.
    pub name: String,
    /// The name it had before (`renamed_from`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub renamed_from: Option<String>,
    /// The command it applies to.
    pub command: PolicyCommand,
    /// Whether it is permissive (the crate declares only permissive policies).
    pub permissive: bool,
    /// The roles it applies to (`public` for every role).
    pub roles: Vec<String>,
    /// `USING (...)`.
    pub using: Option<String>,
    /// `WITH CHECK (...)`.
    pub with_check: Option<String>,
}

/// One privilege on a table, granted to one role: table-wide, or on the listed columns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GrantModel {
    /// The grantee (`public` for every role).
    pub role: String,
    /// The privilege: `SELECT`, `INSERT`, `UPDATE`, `DELETE`, ...
    pub privilege: String,
    /// The columns, for a column privilege; empty for a table-wide one.
    pub columns: Vec<String>,
    /// Whether the role may grant the privilege onwards (`WITH GRANT OPTION`).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
    pub grantable: bool,
}

/// Why a model could not be read from JSON.
#[derive(Debug)]
pub enum ModelError {
    /// The text is not a model.
    Json(serde_json::Error),
    /// The model was written in another format version.
    Version {
        /// The version found.
        found: u32,
    },
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::Json(error) => write!(f, "not a schema model: {error}"),
            ModelError::Version { found } => write!(
                f,
                "the schema model is format version {found}; this version reads {FORMAT_VERSION}"
            ),
        }
    }
}

impl std::error::Error for ModelError {}

impl SchemaModel {
    /// A model with nothing in it: what an empty database holds.
    pub fn empty() -> Self {
        SchemaModel {
            format_version: FORMAT_VERSION,
            roles: Vec::new(),
            tables: Vec::new(),
            unmanaged_tables: Vec::new(),
            enums: Vec::new(),
            namespaces: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// The model with its PostgreSQL schemas renamed by `rename` (which returns `None` to keep
    /// a name): in the tables' names and former names, the tables their foreign keys
    /// reference, the immutable guards' functions, the native enum types and every text that
    /// names one of those types (column types and the expressions
    /// [`with_qualifiers_renamed`](Self::with_qualifiers_renamed) rewrites), and the schemas
    /// themselves. A shadow database builds the code's tables in schemas of its own this way.
    ///
    /// A text names a type as SQL reads it (`"ledger"."entry_kind"`, `ledger.entry_kind`,
    /// `LEDGER.entry_kind` alike; not in a string literal, a comment or a longer name), and the
    /// new schema is written as the old one was: quoted where it was quoted, as the code and a
    /// column's type write it, and bare where it was bare, as the server prints it (quoted
    /// where the new name needs it), so the text still compares equal with its counterpart.
    pub fn with_namespaces_renamed(mut self, rename: &dyn Fn(&str) -> Option<String>) -> Self {
        let apply = |name: &mut String| {
            if let (Some(schema), bare) = crate::sql::split_qualified(name) {
                if let Some(new) = rename(schema) {
                    *name = crate::sql::qualify(Some(&new), bare);
                }
            }
        };
        // Each enum type of a renamed schema, as SQL reads its name, with its new schema.
        let mut moved: Vec<(String, String, String)> = Vec::new();
        for e in &mut self.enums {
            if let (Some(schema), bare) = crate::sql::split_qualified(&e.name) {
                if let Some(new) = rename(schema) {
                    moved.push((schema.to_string(), bare.to_string(), new));
                }
            }
            apply(&mut e.name);
        }
        if !moved.is_empty() {
            let respell = |text: &mut String| {
                *text = crate::sql::requalify(text, &|found| {
                    moved
                        .iter()
                        .find(|(schema, bare, _)| schema == found.schema && bare == found.name)
                        .map(|(_, _, new)| crate::sql::ident_in_manner_of(new, found.schema_quoted))
                });
            };
            for table in &mut self.tables {
                for column in &mut table.columns {
                    respell(&mut column.sql_type);
                }
            }
            self.each_expression_mut(respell);
        }
        for table in &mut self.tables {
            apply(&mut table.name);
            if let Some(old) = &mut table.renamed_from {
                apply(old);
            }
            for fk in &mut table.foreign_keys {
                apply(&mut fk.references_table);
            }
            if let Some(guard) = &mut table.immutable {
                apply(&mut guard.name);
            }
        }
        for name in &mut self.unmanaged_tables {
            apply(name);
        }
        for namespace in &mut self.namespaces {
            if let Some(new) = rename(&namespace.name) {
                namespace.name = new;
            }
        }
        self
    }

    /// The model with the schema of each qualified name in its expressions (columns' defaults
    /// and generation expressions, checks, indexes' predicates and expression keys, policies'
    /// predicates) replaced by the text `rename(schema, name)` gives, where it gives one:
    /// a shadow that builds the code's tables in schemas of its own points `public.owners` in a
    /// policy at its own `owners` this way, and reads the server's printing back.
    ///
    /// Columns' types are not expressions: the model always writes an enum type's name quoted
    /// ([`EnumModel::column_type`]), which `rename`'s text, spelled as the server prints
    /// names, would not match; [`with_namespaces_renamed`](Self::with_namespaces_renamed)
    /// renames them in that spelling.
    pub fn with_qualifiers_renamed(
        mut self,
        rename: &dyn Fn(&str, &str) -> Option<String>,
    ) -> Self {
        self.each_expression_mut(|expression| {
            *expression =
                crate::sql::requalify(expression, &|found| rename(found.schema, found.name));
        });
        self
    }

    /// Calls `f` with each SQL expression of the tables, the texts the server prints its own
    /// way and that can name a table, a type or a function: columns' defaults and generation
    /// expressions, checks, indexes' predicates and expression keys, policies' predicates.
    fn each_expression_mut(&mut self, mut f: impl FnMut(&mut String)) {
        for table in &mut self.tables {
            for column in &mut table.columns {
                column
                    .default
                    .iter_mut()
                    .chain(column.generated.iter_mut())
                    .for_each(&mut f);
            }
            for check in &mut table.checks {
                f(&mut check.expression);
            }
            for index in &mut table.indexes {
                index.predicate.iter_mut().for_each(&mut f);
                for key in index.keys.iter_mut().filter(|k| k.expression) {
                    f(&mut key.column);
                }
            }
            for policy in &mut table.policies {
                policy
                    .using
                    .iter_mut()
                    .chain(policy.with_check.iter_mut())
                    .for_each(&mut f);
            }
        }
    }

    /// The PostgreSQL schema named `name`, if the model has it.
    pub fn namespace(&self, name: &str) -> Option<&NamespaceModel> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// The native enum type named `name`.
    pub fn enum_type(&self, name: &str) -> Option<&EnumModel> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// The native enum type a column of `sql_type` holds, if it holds one (or an array of it).
    pub fn enum_of_column(&self, sql_type: &str) -> Option<&EnumModel> {
        enum_of_column(&self.enums, sql_type)
    }

    /// The tables in the model's order, but each partition after the table it is a partition
    /// of (a partition of a partition after both): the order they can be created in.
    pub fn tables_partitions_last(&self) -> Vec<&TableModel> {
        let depth = |table: &TableModel| {
            let mut depth = 0;
            let mut parent = table.partition_of.as_ref().map(|of| of.parent.as_str());
            while let Some(name) = parent.filter(|_| depth < self.tables.len()) {
                depth += 1;
                parent = self
                    .table(name)
                    .and_then(|t| t.partition_of.as_ref())
                    .map(|of| of.parent.as_str());
            }
            depth
        };
        let mut tables: Vec<&TableModel> = self.tables.iter().collect();
        tables.sort_by_key(|t| depth(t));
        tables
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&TableModel> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The model as pretty-printed JSON.
    #[cfg(feature = "serde")]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model always serializes")
    }

    /// Reads a model written by [`SchemaModel::to_json`]; another format version is refused.
    #[cfg(feature = "serde")]
    pub fn from_json(json: &str) -> Result<Self, ModelError> {
        #[derive(serde::Deserialize)]
        struct Version {
            format_version: u32,
        }
        let version: Version = serde_json::from_str(json).map_err(ModelError::Json)?;
        if version.format_version != FORMAT_VERSION {
            return Err(ModelError::Version {
                found: version.format_version,
            });
        }
        serde_json::from_str(json).map_err(ModelError::Json)
    }
}

impl SchemaModel {
    /// The model without declarations (renames) and with every list in name order: two
    /// databases holding the same objects give equal normalized models, whatever order the
    /// objects were created in (a column added later comes last in the table, say).
    pub fn normalized(&self) -> SchemaModel {
        let mut model = self.clone();
        model.roles.sort();
        model.unmanaged_tables.sort();
        model.tables.sort_by(|a, b| a.name.cmp(&b.name));
        for e in &mut model.enums {
            e.renamed_values.clear();
        }
        model.enums.sort_by(|a, b| a.name.cmp(&b.name));
        model.namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        for namespace in &mut model.namespaces {
            namespace.usage.sort();
        }
        model.extensions.sort();
        for table in &mut model.tables {
            table.renamed_from = None;
            for column in &mut table.columns {
                column.renamed_from = None;
                column.renamed_values.clear();
                column.using = None;
            }
            table.not_valid.sort();
            table.unmanaged.sort();
            table.index_parts.sort_by(|a, b| a.index.cmp(&b.index));
            table.columns.sort_by(|a, b| a.name.cmp(&b.name));
            table.unique.sort_by(|a, b| a.name.cmp(&b.name));
            table.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
            for check in &mut table.checks {
                check.renamed_from = None;
            }
            table.checks.sort_by(|a, b| a.name.cmp(&b.name));
            for index in &mut table.indexes {
                index.renamed_from = None;
            }
            table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
            for policy in &mut table.policies {
                policy.renamed_from = None;
                policy.roles.sort();
            }
            table.policies.sort_by(|a, b| a.name.cmp(&b.name));
            for grant in &mut table.grants {
                grant.columns.sort();
            }
            table.grants.sort();
        }
        model
    }
}

impl TableModel {
    /// A table with nothing in it but its name: no columns, keys, indexes, security or
    /// privileges.
    pub fn named(name: impl Into<String>) -> Self {
        TableModel {
            name: name.into(),
            renamed_from: None,
            comment: None,
            columns: Vec::new(),
            primary_key: None,
            unique: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            indexes: Vec::new(),
            immutable: None,
            row_level_security: false,
            force_row_level_security: false,
            policies: Vec::new(),
            grants: Vec::new(),
            not_valid: Vec::new(),
            partition_by: None,
            partition_of: None,
            index_parts: Vec::new(),
            unmanaged: Vec::new(),
            replica_identity: None,
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnModel> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl KeyModel {
    /// A key on `columns` named `name`, NULLs distinct (PostgreSQL's default).
    pub fn new(name: impl Into<String>, columns: Vec<String>) -> Self {
        KeyModel {
            name: name.into(),
            columns,
            nulls_not_distinct: false,
        }
    }
}

impl IndexKeyModel {
    /// A key on `column`, ascending or descending, NULLs where PostgreSQL puts them by
    /// default unless `nulls_first` says otherwise.
    pub fn new(column: impl Into<String>, descending: bool, nulls_first: Option<bool>) -> Self {
        IndexKeyModel {
            column: column.into(),
            expression: false,
            opclass: None,
            descending,
            nulls_first: nulls_first.unwrap_or(descending),
        }
    }

    /// A key on an expression (its SQL text), ordered like [`IndexKeyModel::new`].
    pub fn expression(sql: impl Into<String>, descending: bool, nulls_first: Option<bool>) -> Self {
        IndexKeyModel {
            expression: true,
            ..IndexKeyModel::new(sql, descending, nulls_first)
        }
    }

    /// The key with the operator class `opclass` (`None`: the default class).
    pub fn with_opclass(mut self, opclass: Option<String>) -> Self {
        self.opclass = opclass;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model with the enum type `ledger.entry_kind` and a table naming it in each kind of
    /// text, written as `written` spells the type.
    fn ledger(written: &str) -> SchemaModel {
        let mut table = TableModel::named("ledger.entries");
        let mut kind = ColumnModel::new("kind", format!("{written}[]"), false);
        kind.default = Some(format!("'{{A}}'::{written}[]"));
        table.columns.push(kind);
        table.checks.push(CheckModel {
            name: "entries_kind".into(),
            renamed_from: None,
            expression: format!(
                "kind <> 'A'::{written} AND x = ledger.entry_kinds(1) AND y = myledger.entry_kind"
            ),
            no_inherit: false,
        });
        table.checks.push(CheckModel {
            name: "entries_note".into(),
            renamed_from: None,
            expression: "note <> 'ledger.entry_kind' /* ledger.entry_kind */".into(),
            no_inherit: false,
        });
        table.policies.push(PolicyModel {
            name: "entries_all".into(),
            renamed_from: None,
            command: PolicyCommand::All,
            permissive: true,
            roles: vec!["public".into()],
            using: Some(format!("kind = 'B'::{written}")),
            with_check: None,
        });
        SchemaModel {
            tables: vec![table],
            enums: vec![EnumModel {
                name: "ledger.entry_kind".into(),
                values: vec!["A".into(), "B".into()],
                renamed_values: Vec::new(),
            }],
            namespaces: vec![NamespaceModel {
                name: "ledger".into(),
                usage: Vec::new(),
            }],
            ..SchemaModel::empty()
        }
    }

    /// The texts of the first table that can name a type, in a fixed order.
    fn texts(model: &SchemaModel) -> Vec<String> {
        let mut model = model.clone();
        let mut texts = vec![model.tables[0].columns[0].sql_type.clone()];
        model.each_expression_mut(|text| texts.push(text.clone()));
        texts
    }

    #[test]
    fn a_type_name_is_renamed_only_where_sql_reads_it_as_the_type() {
        let to = |new: &'static str| move |schema: &str| (schema == "ledger").then(|| new.into());
        // As the code writes it: quoted, and the column's type still names the renamed type.
        let code = ledger(r#""ledger"."entry_kind""#).with_namespaces_renamed(&to("shadow_0"));
        assert_eq!(code.enums[0].name, "shadow_0.entry_kind");
        assert_eq!(code.tables[0].name, "shadow_0.entries");
        assert_eq!(
            texts(&code),
            [
                r#""shadow_0"."entry_kind"[]"#,
                r#"'{A}'::"shadow_0"."entry_kind"[]"#,
                "kind <> 'A'::\"shadow_0\".\"entry_kind\" AND x = ledger.entry_kinds(1) \
                 AND y = myledger.entry_kind",
                "note <> 'ledger.entry_kind' /* ledger.entry_kind */",
                r#"kind = 'B'::"shadow_0"."entry_kind""#,
            ]
        );
        assert!(code
            .enum_of_column(&code.tables[0].columns[0].sql_type)
            .is_some());
        // As the server prints it: bare, and quoted where the new name needs it.
        for (new, printed) in [("shadow_0", "shadow_0"), ("Ledger", r#""Ledger""#)] {
            let read = ledger("ledger.entry_kind").with_namespaces_renamed(&to(new));
            assert_eq!(
                texts(&read),
                [
                    format!("{printed}.entry_kind[]"),
                    format!("'{{A}}'::{printed}.entry_kind[]"),
                    format!(
                        "kind <> 'A'::{printed}.entry_kind AND x = ledger.entry_kinds(1) \
                         AND y = myledger.entry_kind"
                    ),
                    "note <> 'ledger.entry_kind' /* ledger.entry_kind */".into(),
                    format!("kind = 'B'::{printed}.entry_kind"),
                ]
            );
        }
        // A schema not renamed leaves every text as it was.
        let kept = ledger("ledger.entry_kind");
        assert_eq!(
            texts(&kept.clone().with_namespaces_renamed(&|_| None)),
            texts(&kept)
        );
    }

    #[test]
    fn qualifiers_are_renamed_in_expressions_but_not_in_column_types() {
        let model = ledger(r#""ledger"."entry_kind""#)
            .with_qualifiers_renamed(&|schema, _| (schema == "ledger").then(|| "s".into()));
        assert_eq!(
            texts(&model),
            [
                r#""ledger"."entry_kind"[]"#,
                r#"'{A}'::s."entry_kind"[]"#,
                "kind <> 'A'::s.\"entry_kind\" AND x = s.entry_kinds(1) \
                 AND y = myledger.entry_kind",
                "note <> 'ledger.entry_kind' /* ledger.entry_kind */",
                r#"kind = 'B'::s."entry_kind""#,
            ]
        );
    }
}
