//! SQL text from typed statements: the one renderer, used by the DDL script of a whole schema
//! and by every step of a migration plan; and the checks a table must pass before it.
//!
//! The SQL of each kind of object is written in the module of its kind: `tables` (tables as a
//! whole, guards, extensions, PostgreSQL schemas), `columns`, `constraints` (keys, foreign keys,
//! checks), `indexes`, `security` (roles, privileges, policies) and `enums`; this one holds the
//! statement types, hands each statement to its module, and checks a table before it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

mod columns;
mod constraints;
mod enums;
mod indexes;
mod security;
mod tables;

pub use security::{create_role, policy_roles};
pub use tables::{create_statements, create_table_statements};

pub(crate) use columns::{same_schema, sequence_type};
pub(crate) use indexes::default_part_name;
pub(crate) use security::grant_statements;
pub(crate) use tables::{attach_partition_statements, guard_statements};

use columns::write_column;
use constraints::write_constraint;
use security::validate_grants;

use crate::def::{
    CheckRule, ColumnDefault, Generation, IndexDef, IndexKey, IndexMethod, ReferentialAction,
    SqlPart, TableDef,
};
use crate::error::SchemaError;
use crate::model::{
    CheckModel, ColumnModel, EnumModel, ForeignKeyModel, GrantModel, IdentityModel, ImmutableGuard,
    IndexModel, KeyModel, PolicyModel, SchemaModel, TableModel,
};
use crate::names::Names;
use crate::sql::{
    dollar_quote, identifier_problem, quote_ident, quote_in_schema, quote_literal, quote_qualified,
    split_qualified,
};

/// One DDL statement, typed: which object it touches and how. [`fmt::Display`] writes it as
/// SQL, without the closing `;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// Creates a group role that cannot log in, unless `pg_roles` already has it.
    CreateRole {
        /// The role.
        role: String,
    },
    /// Drops a role the schema no longer names.
    DropRole {
        /// The role.
        role: String,
    },
    /// `CREATE EXTENSION IF NOT EXISTS`: an extension the schema declares.
    CreateExtension {
        /// The extension.
        name: String,
    },
    /// `DROP EXTENSION`: an extension the schema no longer declares (refused by the server
    /// while a column still uses one of its types).
    DropExtension {
        /// The extension.
        name: String,
    },
    /// `CREATE SCHEMA IF NOT EXISTS`: a PostgreSQL schema tables are declared in.
    CreateNamespace {
        /// The schema.
        name: String,
    },
    /// `DROP SCHEMA` (without `CASCADE`: the server refuses while anything is left in it).
    DropNamespace {
        /// The schema.
        name: String,
    },
    /// `GRANT USAGE ON SCHEMA` (`grant` true) or `REVOKE USAGE ON SCHEMA`: what a role needs to
    /// reach the tables of a schema it holds privileges on.
    NamespaceUsage {
        /// The schema.
        namespace: String,
        /// The role (`public` for every role).
        role: String,
        /// Whether it is granted (`GRANT`) or revoked (`REVOKE`).
        grant: bool,
    },
    /// `CREATE TABLE` with its columns, keys, foreign keys and checks.
    CreateTable(Box<TableModel>),
    /// `CREATE TABLE ... PARTITION BY LIST (column)`: a table without storage of its own. A
    /// shadow uses it to have the server print a table's types, defaults and checks at little
    /// cost; plans never write it.
    CreatePartitionedTable {
        /// The table.
        table: Box<TableModel>,
        /// The partition key's column.
        list_key: String,
    },
    /// `ALTER TABLE ... ATTACH PARTITION`: a table created on its own made a partition, its
    /// indexes taken as the parts of the partitioned table's matching ones.
    AttachPartition {
        /// The partitioned table.
        parent: String,
        /// The partition.
        table: String,
        /// Its bound: `FOR VALUES ...` or `DEFAULT`.
        bound: String,
    },
    /// `DROP TABLE`.
    DropTable {
        /// The table.
        table: String,
    },
    /// `ALTER TABLE ... SET SCHEMA`: a table moved to another PostgreSQL schema, with its
    /// rows, indexes, constraints and privileges.
    SetSchema {
        /// The table, where it is now.
        table: String,
        /// The schema it moves to.
        schema: String,
    },
    /// `ALTER TABLE ... RENAME TO`.
    RenameTable {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `ALTER TABLE ... ADD COLUMN`.
    AddColumn {
        /// The table.
        table: String,
        /// The column.
        column: ColumnModel,
    },
    /// `ALTER TABLE ... DROP COLUMN`.
    DropColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// `ALTER TABLE ... RENAME COLUMN`.
    RenameColumn {
        /// The table.
        table: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `ALTER TABLE ... ALTER COLUMN ... TYPE`.
    AlterColumnType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The type it has (not written; it tells what the change costs).
        from_type: String,
        /// The new type.
        sql_type: String,
    },
    /// `ALTER TABLE ... ALTER COLUMN ... TYPE ... COLLATE`: the column's collation (`None`:
    /// its type's), its type as it is.
    SetCollation {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its type.
        sql_type: String,
        /// The collation.
        collation: Option<String>,
    },
    /// `ALTER TABLE ... REPLICA IDENTITY`.
    ReplicaIdentity {
        /// The table.
        table: String,
        /// The identity; `None`: `DEFAULT` (the primary key).
        identity: Option<crate::model::ReplicaIdentity>,
    },
    /// `ALTER TABLE ... ALTER COLUMN ... SET DEFAULT` (or `DROP DEFAULT` for `None`).
    SetDefault {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The new default.
        default: Option<String>,
    },
    /// An identity added to a column (`ADD GENERATED ... AS IDENTITY`), changed
    /// (`SET GENERATED ...`, `SET INCREMENT BY ...`, ...) or removed (`DROP IDENTITY`).
    AlterIdentity {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The column's type, which PostgreSQL's defaults for the sequence depend on.
        sql_type: String,
        /// The identity it has.
        from: Option<IdentityModel>,
        /// The identity it gets.
        to: Option<IdentityModel>,
    },
    /// `ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION`: a generated column becomes an
    /// ordinary one, keeping its values.
    DropExpression {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// `ALTER TABLE ... ALTER COLUMN ... SET NOT NULL` (`true`) or `DROP NOT NULL`.
    SetNotNull {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Whether the column becomes `NOT NULL`.
        not_null: bool,
    },
    /// `ALTER TABLE ... ADD CONSTRAINT`, optionally `NOT VALID` (checks and foreign keys).
    AddConstraint {
        /// The table.
        table: String,
        /// The constraint.
        constraint: Constraint,
        /// Whether existing rows are left to a later `VALIDATE CONSTRAINT`.
        not_valid: bool,
    },
    /// `ALTER TABLE ... VALIDATE CONSTRAINT`.
    ValidateConstraint {
        /// The table.
        table: String,
        /// The constraint.
        name: String,
    },
    /// `ALTER TABLE ... DROP CONSTRAINT`.
    DropConstraint {
        /// The table.
        table: String,
        /// The constraint.
        name: String,
    },
    /// `ALTER TABLE ... RENAME CONSTRAINT`.
    RenameConstraint {
        /// The table.
        table: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `CREATE INDEX`, optionally `CONCURRENTLY`.
    CreateIndex {
        /// The table.
        table: String,
        /// The index.
        index: IndexModel,
        /// Whether it is built without blocking writes (outside a transaction).
        concurrently: bool,
    },
    /// `DROP INDEX`, optionally `CONCURRENTLY`.
    DropIndex {
        /// The PostgreSQL schema of the index's table; `None`: the current one.
        schema: Option<String>,
        /// The index.
        name: String,
        /// Whether it is dropped without blocking reads and writes (outside a transaction).
        concurrently: bool,
        /// The partitions' keys built on the index's parts that go with it (`CASCADE`), each
        /// as (partition, constraint): PostgreSQL drops such an index only with them. Empty:
        /// a plain drop. [`apply`](crate::pg::evolve::apply) refuses the step if anything
        /// else depends on the index.
        cascade: Vec<(String, String)>,
    },
    /// `ALTER INDEX ... RENAME TO`.
    RenameIndex {
        /// The PostgreSQL schema of the index's table; `None`: the current one.
        schema: Option<String>,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A partition's part of its partitioned table's index renamed, whatever its name now (a
    /// part the plan builds takes PostgreSQL's): a `DO` block finds it in `pg_inherits` and
    /// renames it unless it has the name already.
    NamePart {
        /// The PostgreSQL schema of the partitioned table; `None`: the current one.
        schema: Option<String>,
        /// The partitioned table's index.
        index: String,
        /// The partition.
        table: String,
        /// The part's name.
        name: String,
    },
    /// `ALTER INDEX ... ATTACH PARTITION`: a partition's index made its part of the
    /// partitioned table's index (or key's index) of the same definition.
    AttachIndex {
        /// The PostgreSQL schema of the partitioned table; `None`: the current one.
        schema: Option<String>,
        /// The partitioned table's index (a key's has the key's name).
        name: String,
        /// The PostgreSQL schema of the partition; `None`: the current one.
        part_schema: Option<String>,
        /// The partition's index.
        part: String,
    },
    /// `COMMENT ON TABLE` / `COMMENT ON COLUMN`; `None` removes the comment.
    Comment {
        /// The table.
        table: String,
        /// The column, for a column's comment.
        column: Option<String>,
        /// The comment.
        text: Option<String>,
    },
    /// `CREATE [OR REPLACE] FUNCTION` of an immutable-column guard.
    CreateGuardFunction {
        /// The guard.
        guard: ImmutableGuard,
        /// `OR REPLACE`: the function exists already.
        replace: bool,
    },
    /// `CREATE TRIGGER` that calls the guard's function after every update of the table.
    CreateGuardTrigger {
        /// The table.
        table: String,
        /// The guard's name (the trigger's and the function's).
        name: String,
    },
    /// `DROP TRIGGER IF EXISTS` (a trigger dropped by hand is no obstacle).
    DropTrigger {
        /// The table.
        table: String,
        /// The trigger.
        name: String,
    },
    /// `CREATE SEQUENCE IF NOT EXISTS ... AS ...`: the sequence a column's
    /// `nextval('...')` default draws from (a `serial` column's), created before the column.
    CreateSequence {
        /// The sequence, as the default names it: SQL identifiers, checked by
        /// [`Statement::sequence_of_default`].
        name: String,
        /// Its type: the column's, `smallint`, `integer` or `bigint`.
        sql_type: String,
    },
    /// `ALTER SEQUENCE ... OWNED BY`: the sequence goes with the column.
    SequenceOwnedBy {
        /// The sequence, as in [`Statement::CreateSequence`].
        name: String,
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// `DROP SEQUENCE IF EXISTS`: the sequence a `nextval('...')` default drew from, once no
    /// column's default draws from it.
    DropSequence {
        /// The sequence, as in [`Statement::CreateSequence`].
        name: String,
    },
    /// `DROP FUNCTION` of a guard, taking no arguments.
    DropFunction {
        /// The function.
        name: String,
    },
    /// `ALTER TABLE ... ENABLE` / `DISABLE ROW LEVEL SECURITY`.
    RowLevelSecurity {
        /// The table.
        table: String,
        /// Whether it is enabled.
        enable: bool,
    },
    /// `ALTER TABLE ... FORCE` / `NO FORCE ROW LEVEL SECURITY`.
    ForceRowLevelSecurity {
        /// The table.
        table: String,
        /// Whether it is forced.
        force: bool,
    },
    /// `CREATE POLICY`.
    CreatePolicy {
        /// The table.
        table: String,
        /// The policy.
        policy: PolicyModel,
    },
    /// `ALTER POLICY`: new roles and predicates for a policy whose command stays.
    AlterPolicy {
        /// The table.
        table: String,
        /// The policy as it becomes.
        policy: PolicyModel,
    },
    /// `DROP POLICY`.
    DropPolicy {
        /// The table.
        table: String,
        /// The policy.
        name: String,
    },
    /// `ALTER POLICY ... RENAME TO`.
    RenamePolicy {
        /// The table.
        table: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A statement of the deployment target, as written: Citus's distribution calls and
    /// settings ([`target::citus`](crate::target::citus)).
    Target {
        /// The table it places, if any.
        table: Option<String>,
        /// Its SQL, without `;`.
        sql: String,
        /// Whether it may run inside a transaction block
        /// (`create_distributed_table_concurrently` may not).
        transactional: bool,
    },
    /// `GRANT` of table privileges, or of one privilege on columns.
    Grant {
        /// The table.
        table: String,
        /// The role.
        role: String,
        /// The privileges, table-wide; or one privilege on `columns`.
        privileges: Vec<String>,
        /// The columns, for a column privilege.
        columns: Vec<String>,
        /// Whether the role may grant them onwards (`WITH GRANT OPTION`).
        grantable: bool,
    },
    /// `REVOKE` of table privileges, or of one privilege on columns.
    Revoke {
        /// The table.
        table: String,
        /// The role.
        role: String,
        /// The privileges.
        privileges: Vec<String>,
        /// The columns, for a column privilege.
        columns: Vec<String>,
    },
    /// `UPDATE` rewriting a stored text value to another (an enum variant renamed); in an
    /// array column, every element holding it (`array_replace`).
    RewriteValue {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Whether the column is an array of the values.
        array: bool,
        /// The text stored today.
        from: String,
        /// The text it becomes.
        to: String,
    },
    /// `CREATE TYPE ... AS ENUM (...)`.
    CreateEnum(EnumModel),
    /// `DROP TYPE` of a native enum type no column uses any more.
    DropEnum {
        /// The type.
        name: String,
    },
    /// `ALTER TYPE ... RENAME TO`: the old type set aside while a new one takes its name.
    RenameEnum {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `ALTER TYPE ... ADD VALUE ... BEFORE`/`AFTER`, outside a transaction: PostgreSQL refuses
    /// to use a label in the transaction that added it.
    AddEnumValue {
        /// The type.
        name: String,
        /// The new label.
        value: String,
        /// The label it goes after, or `None` to go first.
        after: Option<String>,
        /// The label it goes before, when it goes first.
        before: Option<String>,
    },
    /// `ALTER TYPE ... RENAME VALUE`: every row holding the label holds the new one.
    RenameEnumValue {
        /// The type.
        name: String,
        /// The old label.
        from: String,
        /// The new label.
        to: String,
    },
    /// `ALTER TABLE ... ALTER COLUMN ... TYPE ... USING`: a change the server does not convert
    /// by itself (text to a native enum, one enum type to another).
    AlterColumnTypeUsing {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The type it has.
        from_type: String,
        /// The new type.
        sql_type: String,
        /// The expression computing the new value from the column.
        using: String,
        /// Labels of the old type the new one does not have: rows holding them fail the change.
        lost_values: Vec<String>,
    },
    /// `CREATE UNIQUE INDEX CONCURRENTLY` named as a key and on its columns, `NULLS NOT
    /// DISTINCT` where the key says so: the index a primary key or unique constraint is then
    /// made from (`USING INDEX`), so that a table with rows keeps taking writes while it builds.
    CreateKeyIndex {
        /// The table.
        table: String,
        /// The key the index is built for.
        key: KeyModel,
    },
}

impl Statement {
    /// The index a `CONCURRENTLY` statement builds, which a failed build leaves behind
    /// invalid: its table's PostgreSQL schema (`None`: the current one) and its name; `None`
    /// for every other statement.
    pub fn concurrently_built_index(&self) -> Option<(Option<&str>, &str)> {
        let (table, name) = match self {
            Statement::CreateIndex {
                table,
                index,
                concurrently: true,
            } => (table, &index.name),
            Statement::CreateKeyIndex { table, key } => (table, &key.name),
            _ => return None,
        };
        Some((split_qualified(table).0, name))
    }

    /// The table and name of the index a step builds in one plain statement, inside a
    /// transaction: `CREATE INDEX` without `CONCURRENTLY`, or a primary key or unique constraint
    /// added with its own index (on a partitioned table, say).
    pub fn plainly_built_index(&self) -> Option<(&str, &str)> {
        match self {
            Statement::CreateIndex {
                table,
                index,
                concurrently: false,
            } => Some((table, &index.name)),
            Statement::AddConstraint {
                table,
                constraint:
                    Constraint::PrimaryKey {
                        key,
                        using_index: false,
                    }
                    | Constraint::Unique {
                        key,
                        using_index: false,
                    },
                ..
            } => Some((table, &key.name)),
            _ => None,
        }
    }
}

/// The plain unique index a key is built on: ascending keys, NULLs where PostgreSQL puts them.
fn key_index(key: &KeyModel) -> IndexModel {
    IndexModel {
        name: key.name.clone(),
        renamed_from: None,
        unique: true,
        method: "btree".into(),
        keys: key
            .columns
            .iter()
            .map(|c| crate::model::IndexKeyModel::new(c.clone(), false, None))
            .collect(),
        include: Vec::new(),
        predicate: None,
    }
}

/// A table constraint added on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// `PRIMARY KEY`; with `using_index`, made from a unique index built before.
    PrimaryKey {
        /// The key.
        key: KeyModel,
        /// Whether the index of the same name exists already (`USING INDEX`).
        using_index: bool,
    },
    /// `UNIQUE`; with `using_index`, made from a unique index built before.
    Unique {
        /// The key.
        key: KeyModel,
        /// Whether the index of the same name exists already (`USING INDEX`).
        using_index: bool,
    },
    /// `FOREIGN KEY`.
    ForeignKey(ForeignKeyModel),
    /// `CHECK`.
    Check(CheckModel),
}

/// Which part of a DDL script a statement belongs to: the script leaves a blank line between
/// parts, and between two tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatementGroup {
    /// Roles, extensions and PostgreSQL schemas.
    Role,
    /// Native enum types.
    Type,
    /// A table and its structure.
    Table,
    /// Indexes.
    Index,
    /// Comments.
    Comment,
    /// Triggers and their functions.
    Trigger,
    /// Row-level security, policies and privileges.
    Security,
    /// Changes to rows.
    Data,
}

impl Statement {
    /// The sequence a column default `nextval('name'::regclass)` draws from, as SQL: one or
    /// two identifiers (bare, or quoted with `""` for a quote), dot-separated; `None` for any
    /// other default or name.
    pub fn sequence_of_default(default: &str) -> Option<String> {
        let inner = default
            .trim()
            .strip_prefix("nextval('")?
            .strip_suffix("'::regclass)")?;
        let mut rest = inner;
        let mut parts = 0;
        loop {
            if let Some(quoted) = rest.strip_prefix('"') {
                let mut end = None;
                let bytes = quoted.as_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'"' {
                        if bytes.get(i + 1) == Some(&b'"') {
                            i += 2;
                            continue;
                        }
                        end = Some(i);
                        break;
                    }
                    i += 1;
                }
                let end = end?;
                if quoted[..end].contains('\'') {
                    return None;
                }
                rest = &quoted[end + 1..];
            } else {
                let len = rest
                    .bytes()
                    .take_while(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'$'
                    })
                    .count();
                if len == 0 || rest.as_bytes()[0].is_ascii_digit() {
                    return None;
                }
                rest = &rest[len..];
            }
            parts += 1;
            match rest.strip_prefix('.') {
                Some(next) if parts < 2 => rest = next,
                Some(_) => return None,
                None if rest.is_empty() => return Some(inner.to_string()),
                None => return None,
            }
        }
    }

    /// The part of a script it belongs to.
    pub fn group(&self) -> StatementGroup {
        use Statement::*;
        match self {
            CreateRole { .. }
            | DropRole { .. }
            | CreateExtension { .. }
            | DropExtension { .. }
            | CreateNamespace { .. }
            | DropNamespace { .. }
            | NamespaceUsage { .. } => StatementGroup::Role,
            CreateEnum(_)
            | DropEnum { .. }
            | RenameEnum { .. }
            | AddEnumValue { .. }
            | RenameEnumValue { .. } => StatementGroup::Type,
            CreateIndex { .. }
            | DropIndex { .. }
            | RenameIndex { .. }
            | AttachIndex { .. }
            | NamePart { .. } => StatementGroup::Index,
            Comment { .. } => StatementGroup::Comment,
            CreateGuardFunction { .. }
            | CreateGuardTrigger { .. }
            | DropTrigger { .. }
            | DropFunction { .. } => StatementGroup::Trigger,
            RowLevelSecurity { .. }
            | ForceRowLevelSecurity { .. }
            | CreatePolicy { .. }
            | AlterPolicy { .. }
            | DropPolicy { .. }
            | RenamePolicy { .. }
            | Grant { .. }
            | Revoke { .. } => StatementGroup::Security,
            RewriteValue { .. } => StatementGroup::Data,
            CreateKeyIndex { .. } => StatementGroup::Index,
            _ => StatementGroup::Table,
        }
    }

    /// Whether it runs inside a transaction block: everything but the `CONCURRENTLY` forms of
    /// `CREATE INDEX` and `DROP INDEX`, and `ALTER TYPE ... ADD VALUE` (whose label PostgreSQL
    /// refuses to use before the transaction that added it commits).
    pub fn transactional(&self) -> bool {
        !matches!(
            self,
            Statement::AddEnumValue { .. }
                | Statement::CreateIndex {
                    concurrently: true,
                    ..
                }
                | Statement::DropIndex {
                    concurrently: true,
                    ..
                }
                | Statement::CreateKeyIndex { .. }
                | Statement::Target {
                    transactional: false,
                    ..
                }
        )
    }
}

/// The lines every script written for `psql` opens with (the DDL of a schema, a plan's script,
/// a migration's `up.sql`).
///
/// First the encoding of its text, UTF-8 as every Rust string is, as `pg_dump`'s output
/// declares its own. Without it `psql` reads the script in the client's encoding
/// (`PGCLIENTENCODING`, the terminal's locale): with LATIN1, `×` in a comment is stored as
/// `Ã\u{97}`; with SJIS, whose two-byte characters can end in the byte of `\`, a literal can
/// end somewhere else than where it was written.
///
/// Then its search path: on [`APPLICATION_SCHEMA`](crate::sql::APPLICATION_SCHEMA) alone,
/// where `migrate apply` creates the names the script leaves unqualified and where `check`
/// reads them. Without it `psql` creates them in the first schema of the login's search path:
/// a schema of the login's own name, first on PostgreSQL's default `"$user", public`, or none
/// at all for a login whose search path is empty.
pub const ENCODING_HEADER: &str =
    "SET client_encoding = 'UTF8';\nSET search_path = \"public\", pg_temp;\n";

/// `body` as a script for `psql`: [`ENCODING_HEADER`], a blank line, then `body`.
pub fn psql_script(body: &str) -> String {
    format!("{ENCODING_HEADER}\n{body}")
}

/// Statements as one script: each ended by `;`, a blank line between groups of statements
/// (a run of indexes or of comments stays together) and between two tables.
pub fn script(statements: &[Statement]) -> String {
    let mut script = String::new();
    let mut previous = None;
    for statement in statements {
        let group = statement.group();
        if previous.is_some() && (previous != Some(group) || group == StatementGroup::Table) {
            script.push('\n');
        }
        script.push_str(&statement.to_string());
        script.push_str(";\n");
        previous = Some(group);
    }
    script
}

/// The statements that create one table: `CREATE TABLE` (with its keys, foreign keys and
/// checks), then `CREATE INDEX` for each index, then the comments. Statements carry no `;`.
///
/// The referenced tables must exist first; [`Schema`](crate::Schema) orders whole schemas.
pub fn table_statements(table: &TableDef) -> Result<Vec<String>, SchemaError> {
    table_statements_with(table, &Names::new())
}

/// [`table_statements`] with roles and settings named as the deployment has them, followed by
/// the table's immutable-column guard and row-level security: `ENABLE` and `FORCE`, its
/// policies, and the privileges their roles need.
pub fn table_statements_with(table: &TableDef, names: &Names) -> Result<Vec<String>, SchemaError> {
    let model = TableModel::from_def(table, names)?;
    Ok(create_table_statements(&model)
        .iter()
        .map(Statement::to_string)
        .collect())
}

fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Statement::*;
        match self {
            CreateExtension { .. }
            | DropExtension { .. }
            | CreateNamespace { .. }
            | DropNamespace { .. }
            | CreateTable { .. }
            | CreatePartitionedTable { .. }
            | AttachPartition { .. }
            | DropTable { .. }
            | SetSchema { .. }
            | RenameTable { .. }
            | Comment { .. }
            | CreateGuardFunction { .. }
            | CreateGuardTrigger { .. }
            | DropTrigger { .. }
            | DropFunction { .. }
            | ReplicaIdentity { .. }
            | RowLevelSecurity { .. }
            | ForceRowLevelSecurity { .. } => tables::write(self, f),
            AlterColumnTypeUsing { .. }
            | AddColumn { .. }
            | DropColumn { .. }
            | RenameColumn { .. }
            | AlterColumnType { .. }
            | SetDefault { .. }
            | AlterIdentity { .. }
            | DropExpression { .. }
            | SetNotNull { .. }
            | SetCollation { .. }
            | CreateSequence { .. }
            | SequenceOwnedBy { .. }
            | DropSequence { .. }
            | RewriteValue { .. } => columns::write(self, f),
            AddConstraint { .. }
            | ValidateConstraint { .. }
            | DropConstraint { .. }
            | RenameConstraint { .. } => constraints::write(self, f),
            CreateIndex { .. }
            | DropIndex { .. }
            | RenameIndex { .. }
            | AttachIndex { .. }
            | NamePart { .. }
            | CreateKeyIndex { .. } => indexes::write(self, f),
            NamespaceUsage { .. }
            | CreateRole { .. }
            | DropRole { .. }
            | CreatePolicy { .. }
            | AlterPolicy { .. }
            | DropPolicy { .. }
            | RenamePolicy { .. }
            | Grant { .. }
            | Revoke { .. } => security::write(self, f),
            CreateEnum { .. }
            | DropEnum { .. }
            | RenameEnum { .. }
            | AddEnumValue { .. }
            | RenameEnumValue { .. } => enums::write(self, f),
            Target { sql, .. } => f.write_str(sql),
        }
    }
}

/// A name, quoted.
fn q(name: &str) -> String {
    quote_ident(name)
}

/// A table, a function or a type: qualified with its PostgreSQL schema where it has one.
fn qt(name: &str) -> String {
    quote_qualified(name)
}

/// Every column an attribute's SQL names must be a column of the table.
fn require_parts(table: &TableDef, parts: &[SqlPart], used_in: &str) -> Result<(), SchemaError> {
    for part in parts {
        if let SqlPart::Column(column) = part {
            if table.column(column).is_none() {
                return Err(SchemaError::UnknownColumn {
                    table: table.name.into(),
                    column: (*column).into(),
                    used_in: used_in.into(),
                });
            }
        }
    }
    Ok(())
}

/// Checks what the DDL needs of a table: usable names, no duplicates, every named column
/// present; and that its declared renames (which the DDL does not use) say one thing each. The
/// derive refuses these mistakes at compile time; this catches tables built by hand. The rules
/// of each kind of object are in its module, checked in this order.
pub fn validate(table: &TableDef) -> Result<(), SchemaError> {
    tables::validate_name(table)?;
    let mut seen = columns::validate_columns(table)?;
    constraints::validate_constraints(table, &mut seen)?;
    security::validate_policies(table)?;
    columns::validate_generation(table)?;
    indexes::validate_indexes(table, &mut seen)?;
    validate_grants(table)?;
    validate_renames(table)?;
    validate_text(table)
}

/// What [`validate`] has seen of a table: its columns, and the names of its constraints and
/// indexes so far (one namespace in PostgreSQL).
struct Seen<'a> {
    table: &'a TableDef,
    columns: HashSet<&'static str>,
    names: HashSet<String>,
}

impl Seen<'_> {
    /// `name` is not an identifier PostgreSQL takes, for `problem`.
    fn invalid(&self, name: &str, problem: &'static str) -> SchemaError {
        invalid_identifier(self.table, name, problem)
    }

    /// Every name of `names` is a column of the table, and there is at least one.
    fn require<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
        used_in: &dyn Fn() -> String,
    ) -> Result<(), SchemaError> {
        let mut any = false;
        for name in names {
            any = true;
            if !self.columns.contains(name) {
                return Err(SchemaError::UnknownColumn {
                    table: self.table.name.into(),
                    column: name.into(),
                    used_in: used_in(),
                });
            }
        }
        if any {
            Ok(())
        } else {
            Err(SchemaError::NoColumns {
                table: self.table.name.into(),
                used_in: used_in(),
            })
        }
    }

    /// `name` is an identifier no other constraint or index of the table has.
    fn claim(&mut self, name: String) -> Result<(), SchemaError> {
        if let Some(problem) = identifier_problem(&name) {
            return Err(self.invalid(&name, problem));
        }
        if self.names.insert(name.clone()) {
            Ok(())
        } else {
            Err(SchemaError::DuplicateName {
                table: self.table.name.into(),
                name,
            })
        }
    }
}

/// [`SchemaError::InvalidIdentifier`] for `name` on `table`.
fn invalid_identifier(table: &TableDef, name: &str, problem: &'static str) -> SchemaError {
    SchemaError::InvalidIdentifier {
        table: table.name.into(),
        name: name.into(),
        problem,
    }
}

/// Declared renames: every former name is one PostgreSQL could have had, is not the object's
/// name now, and is the former name of one object of its kind, which no other object of that
/// kind has now; every renamed value of a column is renamed once, to a value the column allows,
/// from one it no longer allows.
fn validate_renames(table: &TableDef) -> Result<(), SchemaError> {
    let invalid = |name: &str, problem| invalid_identifier(table, name, problem);
    let former_name = |old: &str, current: &str| match identifier_problem(old) {
        Some(problem) => Err(invalid(old, problem)),
        None if old == current => Err(invalid(
            old,
            "is the current name of the object renamed from it",
        )),
        None => Ok(()),
    };
    if let Some(old) = table.renamed_from {
        // `schema.name`: the place the table had in another PostgreSQL schema.
        match old.split_once('.') {
            Some((schema, name)) => {
                if let Some(problem) = identifier_problem(schema) {
                    return Err(invalid(old, problem));
                }
                if name.contains('.') {
                    return Err(invalid(
                        old,
                        "holds two `.`: a former name is `name`, or `schema.name` for a table \
                         that moves from another PostgreSQL schema",
                    ));
                }
                if Some(schema) == table.schema && name == table.name {
                    return Err(invalid(
                        old,
                        "is the current place of the table moved from it",
                    ));
                }
                former_name(name, "")?;
            }
            None => former_name(old, table.name)?,
        }
    }
    // Each kind's objects as (current name, former name).
    let kinds: [Vec<(Cow<'static, str>, Option<&str>)>; 4] = [
        table
            .columns
            .iter()
            .map(|c| (Cow::Borrowed(c.name), c.renamed_from))
            .collect(),
        table
            .indexes
            .iter()
            .map(|i| (table.index_name(i), i.renamed_from))
            .collect(),
        table
            .checks
            .iter()
            .map(|c| (Cow::Borrowed(c.name), c.renamed_from))
            .collect(),
        table
            .policies
            .iter()
            .map(|p| (Cow::Borrowed(p.name), p.renamed_from))
            .collect(),
    ];
    for objects in &kinds {
        let mut former = HashSet::new();
        for (current, old) in objects {
            let Some(old) = *old else { continue };
            former_name(old, current)?;
            if objects.iter().any(|(other, _)| other == old) {
                return Err(invalid(
                    old,
                    "is the former name of one object and the current name of another of its kind",
                ));
            }
            if !former.insert(old) {
                return Err(invalid(
                    old,
                    "is the former name of two objects of one kind",
                ));
            }
        }
    }
    for column in table.columns {
        let invalid = |problem| SchemaError::InvalidColumn {
            table: table.name.into(),
            column: column.name.into(),
            problem,
        };
        let mut former = HashSet::new();
        for &(old, new) in column.renamed_values {
            if old.contains('\0') || new.contains('\0') {
                return Err(SchemaError::NulCharacter {
                    table: table.name.into(),
                    used_in: format!("a renamed value of column `{}`", column.name),
                });
            }
            let allowed = |value| column.allowed_values.map(|values| values.contains(&value));
            let problem = if old.is_empty() {
                Some("renames a value from empty text")
            } else if old == new {
                Some("renames a value to itself")
            } else if allowed(old) == Some(true) {
                Some("renames a value from one it still allows")
            } else if allowed(new) == Some(false) {
                Some("renames a value to one it does not allow")
            } else if !former.insert(old) {
                Some("renames one former value twice")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(invalid(problem));
            }
        }
    }
    Ok(())
}

/// No text that reaches the DDL holds a NUL: comments, SQL written in attributes, types,
/// enumerated values.
fn validate_text(table: &TableDef) -> Result<(), SchemaError> {
    let nul = |used_in: String| SchemaError::NulCharacter {
        table: table.name.into(),
        used_in,
    };
    let parts_have_nul = |parts: &[SqlPart]| {
        parts.iter().any(|part| match part {
            SqlPart::Sql(sql) => sql.contains('\0'),
            SqlPart::Column(_) => false,
            SqlPart::Setting(setting) => setting.contains('\0'),
        })
    };
    if table.comment.is_some_and(|c| c.contains('\0')) {
        return Err(nul("the comment".into()));
    }
    for column in table.columns {
        let texts = [
            ("comment", column.comment),
            (
                "default",
                match column.default {
                    Some(ColumnDefault::Sql(sql)) => Some(sql),
                    _ => None,
                },
            ),
            ("update_sql", column.update_sql),
            (
                "type",
                match column.sql_type {
                    crate::SqlType::Custom(sql) => Some(sql),
                    _ => None,
                },
            ),
        ];
        for (what, text) in texts {
            if text.is_some_and(|t| t.contains('\0')) {
                return Err(nul(format!("the {what} of column `{}`", column.name)));
            }
        }
        if column
            .allowed_values
            .is_some_and(|values| values.iter().any(|v| v.contains('\0')))
        {
            return Err(nul(format!("a value allowed in column `{}`", column.name)));
        }
    }
    for check in table.checks {
        if parts_have_nul(check.sql) {
            return Err(nul(format!("check `{}`", check.name)));
        }
    }
    for policy in table.policies {
        for parts in [policy.using, policy.with_check].into_iter().flatten() {
            if parts_have_nul(parts) {
                return Err(nul(format!("policy `{}`", policy.name)));
            }
        }
    }
    for index in table.indexes {
        let expressions = index.columns.iter().filter_map(|c| match c.key {
            IndexKey::Expression(parts) => Some(parts),
            IndexKey::Column(_) => None,
        });
        if expressions.chain(index.predicate).any(&parts_have_nul) {
            return Err(nul(format!("index `{}`", table.index_name(index))));
        }
    }
    Ok(())
}

/// The roles and settings as the deployment names them are usable in the DDL.
pub(crate) fn validate_names(table: &TableDef, names: &Names) -> Result<(), SchemaError> {
    for policy in table.policies {
        for part in [policy.using, policy.with_check]
            .into_iter()
            .flatten()
            .flatten()
        {
            if let SqlPart::Setting(setting) = part {
                let deployed = names.setting_name(setting);
                if deployed.contains('\0') {
                    return Err(SchemaError::NulCharacter {
                        table: table.name.into(),
                        used_in: format!("the setting read by policy `{}`", policy.name),
                    });
                }
                if let Some(problem) = crate::sql::setting_name_problem(deployed) {
                    return Err(invalid_identifier(table, deployed, problem));
                }
            }
        }
    }
    for (i, grant) in table.column_grants.iter().enumerate() {
        let deployed = names.role_name(grant.role);
        if let Some(other) = table.column_grants[..i]
            .iter()
            .find(|g| names.role_name(g.role) == deployed)
        {
            return Err(SchemaError::InvalidGrant {
                table: table.name.into(),
                role: grant.role.into(),
                problem: format!(
                    "is deployed as `{deployed}`, as is `{}`, which has a grant of its own",
                    other.role
                ),
            });
        }
    }
    let roles = policy_roles(table, names);
    for role in roles {
        if let Some(problem) = identifier_problem(role) {
            return Err(invalid_identifier(table, role, problem));
        }
    }
    Ok(())
}
