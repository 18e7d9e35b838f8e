//! The typed differences between two [`SchemaModel`]s: what changes to go from one to the other.
//!
//! Objects are matched by name. A table, column, index, check or policy whose new declaration
//! says `renamed_from = "old"` is matched with the object of the old name and renamed; nothing
//! else is ever taken for a rename. Where a dropped and an added object look alike, the diff
//! says so in [`SchemaDiff::suggestions`] and names the attribute to declare.
//!
//! Objects that follow a renamed table or column (its keys, indexes, constraints, privileges)
//! are compared under the new names, so a rename alone changes nothing else; a constraint or
//! index of a renamed table whose definition stays is renamed with it.
//!
//! The differences of each kind of object are found in the module of its kind: `tables`
//! (tables as a whole, extensions, PostgreSQL schemas), `columns`, `constraints` (keys, foreign
//! keys, checks), `indexes`, `security` (roles, privileges, policies) and `enums`; this one
//! matches the tables of the two models, follows renames, and hands each pair to them.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

mod columns;
mod constraints;
mod enums;
mod indexes;
mod security;
mod tables;

use columns::without_dependents;
use enums::diff_enums;
use tables::diff_namespaces;

use crate::model::{
    CheckModel, ColumnModel, EnumModel, ForeignKeyModel, GrantModel, ImmutableGuard, IndexModel,
    KeyModel, PolicyModel, SchemaModel, TableModel,
};

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A native enum type to create.
    CreateEnum(EnumModel),
    /// A native enum type no longer declared nor used: dropped once no column uses it.
    DropEnum(EnumModel),
    /// A label to add to a native enum type, in its declared place.
    AddEnumValue {
        /// The type.
        name: String,
        /// The new label.
        value: String,
        /// The label it follows, or `None` when it goes first.
        after: Option<String>,
        /// The label it precedes, when it goes first.
        before: Option<String>,
    },
    /// A label of a native enum type renamed (a variant's `renamed_from`).
    RenameEnumValue {
        /// The type.
        name: String,
        /// The old label.
        from: String,
        /// The new label.
        to: String,
    },
    /// A native enum type whose labels are removed or reordered: a new type takes its place and
    /// every column using it is converted; rows holding a removed label make that fail.
    ReplaceEnum {
        /// The type as it is (after any label renames).
        from: EnumModel,
        /// The type as it becomes.
        to: EnumModel,
        /// The labels removed.
        removed: Vec<String>,
        /// The columns that use it, `(table, column, default, array)` under their new names,
        /// where `array` says the column is an array of the type.
        columns: Vec<(String, String, Option<String>, bool)>,
    },
    /// An extension to create (`Schema::extension`).
    CreateExtension(String),
    /// An extension the schema no longer declares.
    DropExtension(String),
    /// A PostgreSQL schema to create, for tables declared in it.
    CreateNamespace(String),
    /// A PostgreSQL schema no table is declared in any more: dropped after its tables.
    DropNamespace(String),
    /// `USAGE` on a PostgreSQL schema to grant to a role, or revoke from it.
    NamespaceUsage {
        /// The schema.
        namespace: String,
        /// The role.
        role: String,
        /// Whether the role gets it (`true`) or loses it.
        grant: bool,
    },
    /// A role to create.
    CreateRole(String),
    /// A role the schema no longer names.
    DropRole(String),
    /// A table to create, with everything in it.
    CreateTable(Box<TableModel>),
    /// A table to drop, with its rows.
    DropTable(Box<TableModel>),
    /// A table renamed (declared with `renamed_from`).
    RenameTable {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A column to add.
    AddColumn {
        /// The table.
        table: String,
        /// The column.
        column: ColumnModel,
    },
    /// A column to drop, with its values.
    DropColumn {
        /// The table.
        table: String,
        /// The column as it is.
        column: ColumnModel,
    },
    /// A column renamed (declared with `renamed_from`).
    RenameColumn {
        /// The table.
        table: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A column the database computes from an expression it does not have yet (an ordinary
    /// column that becomes generated, or a generated column whose expression changes): dropped
    /// and added again, with the indexes and constraints on it.
    RecomputeColumn {
        /// The table.
        table: String,
        /// The column as it is.
        from: ColumnModel,
        /// The column as it becomes.
        to: ColumnModel,
    },
    /// A column whose type, nullability, default, comment, identity or generation changes.
    AlterColumn {
        /// The table.
        table: String,
        /// The column as it is.
        from: ColumnModel,
        /// The column as it becomes.
        to: ColumnModel,
    },
    /// Stored text values to rewrite (enum variants renamed with `renamed_from`).
    RenameValues {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// `(old, new)` pairs.
        renames: Vec<(String, String)>,
    },
    /// The primary key changes.
    PrimaryKey {
        /// The table.
        table: String,
        /// The key as it is.
        from: Option<KeyModel>,
        /// The key as it becomes.
        to: Option<KeyModel>,
    },
    /// A unique constraint to add.
    AddUnique {
        /// The table.
        table: String,
        /// The constraint.
        key: KeyModel,
    },
    /// A unique constraint to drop.
    DropUnique {
        /// The table.
        table: String,
        /// The constraint.
        key: KeyModel,
    },
    /// A foreign key to add.
    AddForeignKey {
        /// The table.
        table: String,
        /// The foreign key.
        foreign_key: ForeignKeyModel,
    },
    /// A foreign key to drop.
    DropForeignKey {
        /// The table.
        table: String,
        /// The foreign key.
        foreign_key: ForeignKeyModel,
    },
    /// A check to add.
    AddCheck {
        /// The table.
        table: String,
        /// The check.
        check: CheckModel,
    },
    /// A check to drop.
    DropCheck {
        /// The table.
        table: String,
        /// The check.
        check: CheckModel,
    },
    /// A constraint (key, foreign key or check) renamed; its definition stays.
    RenameConstraint {
        /// The table.
        table: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// An index to build.
    AddIndex {
        /// The table.
        table: String,
        /// The index.
        index: IndexModel,
    },
    /// An index to drop.
    DropIndex {
        /// The table.
        table: String,
        /// The index.
        index: IndexModel,
    },
    /// An index renamed; its definition stays.
    RenameIndex {
        /// The table.
        table: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A partition's part of its partitioned table's index `index` is to be named `name`
    /// (it has another name, or it is built by the plan and takes PostgreSQL's).
    NamePart {
        /// The partition.
        table: String,
        /// The partitioned table's index.
        index: String,
        /// The part's name.
        name: String,
    },
    /// The table's comment changes.
    TableComment {
        /// The table.
        table: String,
        /// The comment as it is.
        from: Option<String>,
        /// The comment as it becomes.
        to: Option<String>,
    },
    /// The immutable-column guard changes.
    Guard {
        /// The table.
        table: String,
        /// The guard as it is.
        from: Option<ImmutableGuard>,
        /// The guard as it becomes.
        to: Option<ImmutableGuard>,
    },
    /// Row-level security is enabled or disabled, forced or not.
    RowLevelSecurity {
        /// The table.
        table: String,
        /// `(enabled, forced)` as it is.
        from: (bool, bool),
        /// `(enabled, forced)` as it becomes.
        to: (bool, bool),
    },
    /// A policy to create.
    AddPolicy {
        /// The table.
        table: String,
        /// The policy.
        policy: PolicyModel,
    },
    /// A policy to drop.
    DropPolicy {
        /// The table.
        table: String,
        /// The policy.
        policy: PolicyModel,
    },
    /// A policy renamed (declared with `renamed_from`).
    RenamePolicy {
        /// The table.
        table: String,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A policy whose roles or predicates change.
    AlterPolicy {
        /// The table.
        table: String,
        /// The policy as it is.
        from: PolicyModel,
        /// The policy as it becomes.
        to: PolicyModel,
    },
    /// A privilege to grant.
    Grant {
        /// The table.
        table: String,
        /// The privilege.
        grant: GrantModel,
    },
    /// A privilege to revoke.
    Revoke {
        /// The table.
        table: String,
        /// The privilege.
        grant: GrantModel,
    },
    /// A table's replica identity to change.
    ReplicaIdentity {
        /// The table.
        table: String,
        /// As it is (`None`: the default).
        from: Option<crate::model::ReplicaIdentity>,
        /// As it becomes.
        to: Option<crate::model::ReplicaIdentity>,
    },
    /// A foreign key or check the database holds `NOT VALID` (its rows never checked): to
    /// validate.
    ValidateConstraint {
        /// The table.
        table: String,
        /// The constraint.
        name: String,
    },
}

/// The differences between two models, and what looks like an undeclared rename.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemaDiff {
    /// The changes, grouped by table.
    pub changes: Vec<Change>,
    /// A dropped and an added object that look alike: if it is a rename, declare it.
    pub suggestions: Vec<String>,
    /// Tables of the database that the schema does not declare: never touched.
    pub unmanaged_tables: Vec<String>,
    /// What the first database holds on its tables that the model does not manage and the
    /// second does not hold (`TableModel::unmanaged`), as `table: note`: listed, never
    /// planned.
    pub unmanaged: Vec<String>,
}

impl SchemaDiff {
    /// Whether the two models are the same.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// What it takes to go from `from` to `to`.
pub fn diff(from: &SchemaModel, to: &SchemaModel) -> SchemaDiff {
    let mut out = SchemaDiff {
        unmanaged_tables: from.unmanaged_tables.clone(),
        ..SchemaDiff::default()
    };
    for extension in &to.extensions {
        if !from.extensions.contains(extension) {
            out.changes.push(Change::CreateExtension(extension.clone()));
        }
    }
    for role in &to.roles {
        if !from.roles.contains(role) {
            out.changes.push(Change::CreateRole(role.clone()));
        }
    }
    diff_namespaces(from, to, &mut out);
    diff_enums(from, to, &mut out);
    // Which old table each new one continues, and the renames of tables, for foreign keys.
    let mut matched: Vec<(Option<&TableModel>, &TableModel)> = Vec::new();
    let mut table_renames: HashMap<&str, &str> = HashMap::new();
    // A table partitioned otherwise, or a partition placed otherwise, is created again (with
    // the partitions of a table created again): PostgreSQL changes neither in place.
    let mut recreated: Vec<&str> = Vec::new();
    for table in &to.tables {
        let Some(old) = from.table(&table.name) else {
            continue;
        };
        let parent_recreated = table
            .partition_of
            .as_ref()
            .is_some_and(|of| recreated.contains(&of.parent.as_str()));
        if old.partition_by != table.partition_by
            || old.partition_of != table.partition_of
            || parent_recreated
        {
            recreated.push(&table.name);
        }
    }
    // Partitions after their partitioned tables, whatever order the model lists them in.
    for table in to.tables_partitions_last() {
        if recreated.contains(&table.name.as_str()) {
            matched.push((None, table));
            continue;
        }
        let old = from.table(&table.name).or_else(|| {
            let old_name = table.renamed_from.as_deref()?;
            if to.table(old_name).is_some() {
                return None;
            }
            let old = from.table(old_name)?;
            table_renames.insert(&old.name, &table.name);
            Some(old)
        });
        matched.push((old, table));
    }
    let column_renames: HashMap<&str, HashMap<&str, &str>> = matched
        .iter()
        .filter_map(|(old, new)| old.map(|old| (old, new)))
        .map(|(old, new)| (old.name.as_str(), column_renames(old, new)))
        .collect();
    let dropped: Vec<&TableModel> = from
        .tables
        .iter()
        .filter(|t| {
            !matched
                .iter()
                .any(|(old, _)| old.map(|o| &o.name) == Some(&t.name))
        })
        .collect();
    let added: Vec<&TableModel> = matched
        .iter()
        .filter(|(old, _)| old.is_none())
        .map(|(_, new)| *new)
        .collect();
    // Tables come referenced first; those referencing them are dropped before them.
    for table in dropped.iter().rev() {
        out.changes
            .push(Change::DropTable(Box::new((*table).clone())));
    }
    for (old, new) in &matched {
        match old {
            None => out
                .changes
                .push(Change::CreateTable(Box::new((*new).clone()))),
            Some(old) => {
                let renamed = renamed_view(old, new, &table_renames, &column_renames);
                if old.name != new.name {
                    out.changes.push(Change::RenameTable {
                        from: old.name.clone(),
                        to: new.name.clone(),
                    });
                }
                for column in &old.columns {
                    if let Some(to) = column_renames[old.name.as_str()].get(column.name.as_str()) {
                        out.changes.push(Change::RenameColumn {
                            table: new.name.clone(),
                            from: column.name.clone(),
                            to: (*to).to_string(),
                        });
                    }
                }
                let follows_rename = old.name != new.name
                    || column_renames
                        .get(old.name.as_str())
                        .is_some_and(|r| !r.is_empty());
                diff_table(&renamed, new, follows_rename, &mut out);
            }
        }
    }
    indexes::parts(&matched, to, &mut out);
    for old in &dropped {
        for new in &added {
            let shape = |t: &TableModel| -> Vec<(String, String)> {
                t.columns
                    .iter()
                    .map(|c| (c.name.clone(), c.sql_type.clone()))
                    .collect()
            };
            if old.name != new.name && shape(old) == shape(new) {
                out.suggestions.push(format!(
                    "table `{}` is dropped and `{}` added with the same columns: if it was \
                     renamed, declare `renamed_from = \"{}\"` on `{}` to keep its rows",
                    old.name,
                    new.name,
                    crate::sql::split_qualified(&old.name).1,
                    new.name
                ));
            }
        }
    }
    // A table declared in another PostgreSQL schema with no former place looks new, and the
    // one in its old place is left as it is.
    for new in &added {
        let (schema, bare) = crate::sql::split_qualified(&new.name);
        let moved = from
            .unmanaged_tables
            .iter()
            .chain(dropped.iter().map(|t| &t.name))
            .find(|old| {
                let (old_schema, old_bare) = crate::sql::split_qualified(old);
                old_bare == bare && old_schema != schema
            });
        if let Some(old) = moved {
            let place = match crate::sql::split_qualified(old) {
                (Some(_), _) => old.clone(),
                (None, bare) => format!("public.{bare}"),
            };
            out.suggestions.push(format!(
                "table `{}` is created while `{old}` is left in its place: if it moved to \
                 another PostgreSQL schema, declare `renamed_from = \"{place}\"` on `{}` to \
                 move it with its rows",
                new.name, new.name
            ));
        }
    }
    for old in &from.tables {
        let kept = to
            .table(&old.name)
            .map(|t| t.unmanaged.as_slice())
            .unwrap_or(&[]);
        for note in old.unmanaged.iter().filter(|n| !kept.contains(n)) {
            out.unmanaged.push(format!("{}: {note}", old.name));
        }
    }
    for role in &from.roles {
        if !to.roles.contains(role) {
            out.changes.push(Change::DropRole(role.clone()));
        }
    }
    for e in &from.enums {
        if to.enum_type(&e.name).is_none() {
            out.changes.push(Change::DropEnum(e.clone()));
        }
    }
    for namespace in &from.namespaces {
        if to.namespace(&namespace.name).is_none() {
            out.changes
                .push(Change::DropNamespace(namespace.name.clone()));
        }
    }
    for extension in &from.extensions {
        if !to.extensions.contains(extension) {
            out.changes.push(Change::DropExtension(extension.clone()));
        }
    }
    out
}

/// Columns of `new` declared as renamed from a column of `old`: old name → new name.
fn column_renames<'a>(old: &'a TableModel, new: &'a TableModel) -> HashMap<&'a str, &'a str> {
    new.columns
        .iter()
        .filter_map(|c| {
            let from = c.renamed_from.as_deref()?;
            (old.column(&c.name).is_none() && new.column(from).is_none())
                .then(|| old.column(from))
                .flatten()
                .map(|o| (o.name.as_str(), c.name.as_str()))
        })
        .collect()
}

/// `old` as it is after the declared renames: its name, its columns' names, and every column
/// and table its keys, indexes, foreign keys, privileges and guard name.
fn renamed_view(
    old: &TableModel,
    new: &TableModel,
    table_renames: &HashMap<&str, &str>,
    column_renames: &HashMap<&str, HashMap<&str, &str>>,
) -> TableModel {
    let empty = HashMap::new();
    let own = column_renames.get(old.name.as_str()).unwrap_or(&empty);
    let rename = |names: &[String], renames: &HashMap<&str, &str>| -> Vec<String> {
        names
            .iter()
            .map(|n| {
                renames
                    .get(n.as_str())
                    .map_or(n.clone(), |r| (*r).to_string())
            })
            .collect()
    };
    let mut view = old.clone();
    view.name = new.name.clone();
    for column in &mut view.columns {
        if let Some(to) = own.get(column.name.as_str()) {
            column.name = (*to).to_string();
        }
    }
    for key in view.primary_key.iter_mut().chain(view.unique.iter_mut()) {
        key.columns = rename(&key.columns, own);
    }
    for fk in &mut view.foreign_keys {
        fk.columns = rename(&fk.columns, own);
        let target = column_renames
            .get(fk.references_table.as_str())
            .unwrap_or(&empty);
        fk.references_columns = rename(&fk.references_columns, target);
        if let Some(to) = table_renames.get(fk.references_table.as_str()) {
            fk.references_table = (*to).to_string();
        }
    }
    for index in &mut view.indexes {
        for key in index.keys.iter_mut().filter(|k| !k.expression) {
            if let Some(to) = own.get(key.column.as_str()) {
                key.column = (*to).to_string();
            }
        }
        for column in &mut index.include {
            if let Some(to) = own.get(column.as_str()) {
                *column = (*to).to_string();
            }
        }
    }
    for grant in &mut view.grants {
        grant.columns = rename(&grant.columns, own);
    }
    // The server prints a renamed column's new name in every expression that uses it.
    for (from, to) in own {
        let respell = |sql: &mut String| *sql = crate::sql::rename_column(sql, from, to);
        for index in &mut view.indexes {
            index
                .keys
                .iter_mut()
                .filter(|k| k.expression)
                .for_each(|k| respell(&mut k.column));
            index.predicate.iter_mut().for_each(respell);
        }
        view.checks
            .iter_mut()
            .for_each(|c| respell(&mut c.expression));
        for policy in &mut view.policies {
            policy
                .using
                .iter_mut()
                .chain(policy.with_check.iter_mut())
                .for_each(respell);
        }
        for column in &mut view.columns {
            column
                .default
                .iter_mut()
                .chain(column.generated.iter_mut())
                .for_each(respell);
        }
    }
    view
}

/// Whether `sql` names the column `name` (quoted, or bare as the server prints it).
pub(crate) fn mentions(sql: &str, name: &str) -> bool {
    if sql.contains(&crate::sql::quote_ident(name)) {
        return true;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    sql.match_indices(name).any(|(at, _)| {
        let before = sql[..at].chars().next_back();
        let after = sql[at + name.len()..].chars().next();
        !before.is_some_and(is_word) && before != Some('"') && !after.is_some_and(is_word)
    })
}

/// The differences between two versions of one table, `old` seen under the renames `new`
/// declares.
fn diff_table(old: &TableModel, new: &TableModel, follows_rename: bool, out: &mut SchemaDiff) {
    // Columns. One the database must compute anew is dropped and added again: so are the
    // objects on it, which are compared as if they were gone.
    let recomputed = columns::recomputed(old, new);
    let dependents_dropped;
    let old = if recomputed.is_empty() {
        old
    } else {
        dependents_dropped = without_dependents(old, &recomputed);
        &dependents_dropped
    };
    columns::diff(old, new, &recomputed, out);
    constraints::diff(old, new, follows_rename, out);
    indexes::diff(old, new, follows_rename, out);
    constraints::diff_validity(old, new, out);
    tables::diff_attributes(old, new, out);
    security::diff(old, new, out);
}

/// How two lists of named objects pair up.
enum Paired<T> {
    Added(T),
    Dropped(T),
    Renamed(T, T),
}

/// Pairs two lists by name, then by a declared `renamed_from` (or, where the names follow a
/// renamed table or column, by an equal definition), and reports the rest as added and dropped;
/// an object whose definition changed is dropped and added again.
#[allow(clippy::too_many_arguments)]
fn pair_up<T: Clone>(
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> &String,
    same: impl Fn(&T, &T) -> bool,
    renamed_from: impl Fn(&T) -> Option<&str>,
    follows_rename: bool,
    change: impl Fn(Paired<T>) -> Change,
    out: &mut SchemaDiff,
) {
    let mut old_left: Vec<&T> = old.iter().collect();
    let mut new_left: Vec<&T> = Vec::new();
    let mut changes = Vec::new();
    for item in new {
        match old_left.iter().position(|o| name(o) == name(item)) {
            Some(i) => {
                let current = old_left.remove(i);
                if !same(current, item) {
                    changes.push(Paired::Dropped(current.clone()));
                    changes.push(Paired::Added(item.clone()));
                }
            }
            None => new_left.push(item),
        }
    }
    let mut added = Vec::new();
    for item in new_left {
        let declared = renamed_from(item).and_then(|from| {
            old_left
                .iter()
                .position(|o| name(o) == from && !new.iter().any(|n| name(n) == from))
        });
        let follows = || {
            follows_rename
                .then(|| old_left.iter().position(|o| same(o, item)))
                .flatten()
        };
        match declared.or_else(follows) {
            Some(i) => {
                // Renamed as it is; renamed and changed is built anew under the new name.
                let current = old_left.remove(i);
                if same(current, item) {
                    changes.push(Paired::Renamed(current.clone(), item.clone()));
                } else {
                    changes.push(Paired::Dropped(current.clone()));
                    changes.push(Paired::Added(item.clone()));
                }
            }
            None => added.push(item),
        }
    }
    for item in &added {
        if let Some(current) = old_left.iter().find(|o| same(o, item)) {
            if let Some(kind) = change(Paired::Added((*item).clone())).kind() {
                out.suggestions
                    .push(format!("{kind} `{}` is dropped and `{}` added with the same definition: if it was renamed, declare `renamed_from = \"{}\"` on `{}`", name(current), name(item), name(current), name(item)));
            }
        }
    }
    out.changes.extend(changes.into_iter().map(&change));
    out.changes.extend(
        old_left
            .into_iter()
            .map(|o| change(Paired::Dropped(o.clone()))),
    );
    out.changes
        .extend(added.into_iter().map(|a| change(Paired::Added(a.clone()))));
}

impl Change {
    /// The kind of object an added index or check is, for suggestions.
    fn kind(&self) -> Option<&'static str> {
        match self {
            Change::AddIndex { .. } => Some("index"),
            Change::AddCheck { .. } => Some("check"),
            _ => None,
        }
    }
}

/// The kind of object a change is about: which module of `diff` describes it and which module
/// of `plan` writes its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    /// Tables, their comments, guards and row-level security, extensions and schemas.
    Tables,
    /// Columns.
    Columns,
    /// Keys, foreign keys, checks.
    Constraints,
    /// Indexes.
    Indexes,
    /// Policies, grants, roles, schema usage.
    Security,
    /// Native enum types.
    Enums,
}

impl Change {
    /// The kind of object the change is about.
    pub(crate) fn object(&self) -> ObjectKind {
        match self {
            Change::CreateTable(_)
            | Change::DropTable(_)
            | Change::RenameTable { .. }
            | Change::TableComment { .. }
            | Change::Guard { .. }
            | Change::RowLevelSecurity { .. }
            | Change::ReplicaIdentity { .. }
            | Change::CreateExtension(_)
            | Change::DropExtension(_)
            | Change::CreateNamespace(_)
            | Change::DropNamespace(_) => ObjectKind::Tables,
            Change::AddColumn { .. }
            | Change::DropColumn { .. }
            | Change::RecomputeColumn { .. }
            | Change::AlterColumn { .. }
            | Change::RenameColumn { .. }
            | Change::RenameValues { .. } => ObjectKind::Columns,
            Change::PrimaryKey { .. }
            | Change::AddUnique { .. }
            | Change::DropUnique { .. }
            | Change::AddForeignKey { .. }
            | Change::DropForeignKey { .. }
            | Change::AddCheck { .. }
            | Change::DropCheck { .. }
            | Change::RenameConstraint { .. }
            | Change::ValidateConstraint { .. } => ObjectKind::Constraints,
            Change::AddIndex { .. }
            | Change::DropIndex { .. }
            | Change::RenameIndex { .. }
            | Change::NamePart { .. } => ObjectKind::Indexes,
            Change::AddPolicy { .. }
            | Change::DropPolicy { .. }
            | Change::RenamePolicy { .. }
            | Change::AlterPolicy { .. }
            | Change::Grant { .. }
            | Change::Revoke { .. }
            | Change::CreateRole(_)
            | Change::DropRole(_)
            | Change::NamespaceUsage { .. } => ObjectKind::Security,
            Change::CreateEnum(_)
            | Change::DropEnum(_)
            | Change::AddEnumValue { .. }
            | Change::RenameEnumValue { .. }
            | Change::ReplaceEnum { .. } => ObjectKind::Enums,
        }
    }
}

impl fmt::Display for Change {
    /// One readable line: the object, what it is, what it becomes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.object() {
            ObjectKind::Tables => tables::describe(self, f),
            ObjectKind::Columns => columns::describe(self, f),
            ObjectKind::Constraints => constraints::describe(self, f),
            ObjectKind::Indexes => indexes::describe(self, f),
            ObjectKind::Security => security::describe(self, f),
            ObjectKind::Enums => enums::describe(self, f),
        }
    }
}

/// An optional text as a readable line shows it.
fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(none)".into())
}
