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

use std::collections::{BTreeSet, HashMap};
use std::fmt;

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

/// The PostgreSQL schemas to create, and the roles to grant `USAGE` on them or revoke it from.
fn diff_namespaces(from: &SchemaModel, to: &SchemaModel, out: &mut SchemaDiff) {
    for new in &to.namespaces {
        let old = from.namespace(&new.name);
        if old.is_none() {
            out.changes.push(Change::CreateNamespace(new.name.clone()));
        }
        let had = old.map_or(&[][..], |n| &n.usage[..]);
        for role in &new.usage {
            if !had.contains(role) {
                out.changes.push(Change::NamespaceUsage {
                    namespace: new.name.clone(),
                    role: role.clone(),
                    grant: true,
                });
            }
        }
        for role in had {
            if !new.usage.contains(role) {
                out.changes.push(Change::NamespaceUsage {
                    namespace: new.name.clone(),
                    role: role.clone(),
                    grant: false,
                });
            }
        }
    }
}

/// The native enum types to create, and the labels to rename, add, or remove by replacing the
/// type.
fn diff_enums(from: &SchemaModel, to: &SchemaModel, out: &mut SchemaDiff) {
    for new in &to.enums {
        let Some(old) = from.enum_type(&new.name) else {
            out.changes.push(Change::CreateEnum(new.clone()));
            continue;
        };
        let mut current = old.values.clone();
        for (was, now) in &new.renamed_values {
            if let Some(position) = current.iter().position(|v| v == was) {
                if !current.contains(now) {
                    current[position] = now.clone();
                    out.changes.push(Change::RenameEnumValue {
                        name: new.name.clone(),
                        from: was.clone(),
                        to: now.clone(),
                    });
                }
            }
        }
        let removed: Vec<String> = current
            .iter()
            .filter(|v| !new.values.contains(v))
            .cloned()
            .collect();
        let kept_order = |values: &[String]| -> Vec<String> {
            values
                .iter()
                .filter(|v| current.contains(v) && new.values.contains(v))
                .cloned()
                .collect()
        };
        if !removed.is_empty() || kept_order(&current) != kept_order(&new.values) {
            out.changes.push(Change::ReplaceEnum {
                from: EnumModel {
                    values: current,
                    ..old.clone()
                },
                to: new.clone(),
                removed,
                columns: enum_columns(from, to, new),
            });
            continue;
        }
        for (position, value) in new.values.iter().enumerate() {
            if current.contains(value) {
                continue;
            }
            out.changes.push(Change::AddEnumValue {
                name: new.name.clone(),
                value: value.clone(),
                after: position.checked_sub(1).map(|p| new.values[p].clone()),
                before: (position == 0)
                    .then(|| new.values.get(1).cloned())
                    .flatten(),
            });
        }
    }
}

/// The columns of `to` that hold `e` (or an array of it) and held it in `from` already (under
/// the names they had before, if renamed), with their defaults as `to` has them and whether
/// they are arrays.
fn enum_columns(
    from: &SchemaModel,
    to: &SchemaModel,
    e: &EnumModel,
) -> Vec<(String, String, Option<String>, bool)> {
    let scalar = e.column_type();
    let array = format!("{scalar}[]");
    let mut columns = Vec::new();
    for table in &to.tables {
        let Some(old_table) = from.table(&table.name).or_else(|| {
            table
                .renamed_from
                .as_deref()
                .and_then(|name| from.table(name))
        }) else {
            continue;
        };
        for column in table.columns.iter() {
            let sql_type = &column.sql_type;
            if *sql_type != scalar && *sql_type != array {
                continue;
            }
            let old = old_table.column(&column.name).or_else(|| {
                column
                    .renamed_from
                    .as_deref()
                    .and_then(|name| old_table.column(name))
            });
            if old.is_some_and(|c| c.sql_type == *sql_type) {
                columns.push((
                    table.name.clone(),
                    column.name.clone(),
                    column.default.clone(),
                    *sql_type == array,
                ));
            }
        }
    }
    columns
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

/// `table` without the indexes and constraints that name one of `columns`: what dropping
/// those columns drops with them.
fn without_dependents(table: &TableModel, columns: &[&str]) -> TableModel {
    let names = |list: &[String]| list.iter().any(|c| columns.contains(&c.as_str()));
    let sql = |text: &str| columns.iter().any(|c| mentions(text, c));
    let mut table = table.clone();
    table.indexes.retain(|i| {
        !i.keys.iter().any(|k| {
            if k.expression {
                sql(&k.column)
            } else {
                columns.contains(&k.column.as_str())
            }
        }) && !names(&i.include)
            && !i.predicate.as_deref().is_some_and(sql)
    });
    table.unique.retain(|k| !names(&k.columns));
    table.foreign_keys.retain(|k| !names(&k.columns));
    table.checks.retain(|c| !sql(&c.expression));
    if table
        .primary_key
        .as_ref()
        .is_some_and(|k| names(&k.columns))
    {
        table.primary_key = None;
    }
    table
}

fn diff_table(old: &TableModel, new: &TableModel, follows_rename: bool, out: &mut SchemaDiff) {
    let table = &new.name;
    let t = || table.clone();
    // Columns. One the database must compute anew is dropped and added again: so are the
    // objects on it, which are compared as if they were gone.
    let recomputed: Vec<&str> = new
        .columns
        .iter()
        .filter(|c| {
            old.column(&c.name)
                .is_some_and(|current| c.generated.is_some() && current.generated != c.generated)
        })
        .map(|c| c.name.as_str())
        .collect();
    let dependents_dropped;
    let old = if recomputed.is_empty() {
        old
    } else {
        dependents_dropped = without_dependents(old, &recomputed);
        &dependents_dropped
    };
    for column in &new.columns {
        match old.column(&column.name) {
            None => out.changes.push(Change::AddColumn {
                table: t(),
                column: column.clone(),
            }),
            Some(current) if recomputed.contains(&column.name.as_str()) => {
                out.changes.push(Change::RecomputeColumn {
                    table: t(),
                    from: current.clone(),
                    to: column.clone(),
                })
            }
            Some(current) => {
                let same = current.sql_type == column.sql_type
                    && current.collation == column.collation
                    && current.nullable == column.nullable
                    && current.default == column.default
                    && current.comment == column.comment
                    && current.identity == column.identity
                    && current.generated == column.generated;
                if !same {
                    out.changes.push(Change::AlterColumn {
                        table: t(),
                        from: current.clone(),
                        to: column.clone(),
                    });
                }
            }
        }
    }
    for column in &old.columns {
        if new.column(&column.name).is_none() {
            out.changes.push(Change::DropColumn {
                table: t(),
                column: column.clone(),
            });
        }
    }
    out.suggestions.extend(column_suggestions(old, new));
    for column in &new.columns {
        let renames = value_renames(old, new, column);
        if !renames.is_empty() {
            out.changes.push(Change::RenameValues {
                table: t(),
                column: column.name.clone(),
                renames,
            });
        }
    }
    // Keys and constraints: a definition that stays under a new name is a rename when the
    // table or its columns were renamed (the name follows them); otherwise drop and add.
    if old.primary_key != new.primary_key {
        match (&old.primary_key, &new.primary_key) {
            (Some(a), Some(b)) if a.columns == b.columns && follows_rename => {
                out.changes.push(Change::RenameConstraint {
                    table: t(),
                    from: a.name.clone(),
                    to: b.name.clone(),
                })
            }
            _ => out.changes.push(Change::PrimaryKey {
                table: t(),
                from: old.primary_key.clone(),
                to: new.primary_key.clone(),
            }),
        }
    }
    let renamed = |a: &str, b: &str| Change::RenameConstraint {
        table: t(),
        from: a.into(),
        to: b.into(),
    };
    pair_up(
        &old.unique,
        &new.unique,
        |k| &k.name,
        |a, b| a.columns == b.columns && a.nulls_not_distinct == b.nulls_not_distinct,
        |_| None,
        follows_rename,
        |change| match change {
            Paired::Added(key) => Change::AddUnique { table: t(), key },
            Paired::Dropped(key) => Change::DropUnique { table: t(), key },
            Paired::Renamed(a, b) => renamed(&a.name, &b.name),
        },
        out,
    );
    pair_up(
        &old.foreign_keys,
        &new.foreign_keys,
        |k| &k.name,
        |a, b| {
            ForeignKeyModel {
                name: String::new(),
                ..a.clone()
            } == ForeignKeyModel {
                name: String::new(),
                ..b.clone()
            }
        },
        |_| None,
        follows_rename,
        |change| match change {
            Paired::Added(foreign_key) => Change::AddForeignKey {
                table: t(),
                foreign_key,
            },
            Paired::Dropped(foreign_key) => Change::DropForeignKey {
                table: t(),
                foreign_key,
            },
            Paired::Renamed(a, b) => renamed(&a.name, &b.name),
        },
        out,
    );
    pair_up(
        &old.checks,
        &new.checks,
        |c| &c.name,
        |a, b| a.expression == b.expression,
        |c| c.renamed_from.as_deref(),
        follows_rename,
        |change| match change {
            Paired::Added(check) => Change::AddCheck { table: t(), check },
            Paired::Dropped(check) => Change::DropCheck { table: t(), check },
            Paired::Renamed(a, b) => renamed(&a.name, &b.name),
        },
        out,
    );
    pair_up(
        &old.indexes,
        &new.indexes,
        |i| &i.name,
        |a, b| {
            a.unique == b.unique
                && a.method == b.method
                && a.keys == b.keys
                && a.include == b.include
                && a.predicate == b.predicate
        },
        |i| i.renamed_from.as_deref(),
        follows_rename,
        |change| match change {
            Paired::Added(index) => Change::AddIndex { table: t(), index },
            Paired::Dropped(index) => Change::DropIndex { table: t(), index },
            Paired::Renamed(a, b) => Change::RenameIndex {
                table: t(),
                from: a.name,
                to: b.name,
            },
        },
        out,
    );
    // A constraint the target holds NOT VALID that is valid here is added again so: a
    // validated constraint cannot be made NOT VALID in place.
    for name in &new.not_valid {
        if old.not_valid.contains(name) {
            continue;
        }
        let planned = |name: &str| {
            out.changes.iter().any(|c| match c {
                Change::AddForeignKey { table, foreign_key } => {
                    *table == new.name && foreign_key.name == name
                }
                Change::AddCheck { table, check } => *table == new.name && check.name == name,
                _ => false,
            })
        };
        if planned(name) {
            continue;
        }
        if let (Some(a), Some(b)) = (
            old.foreign_keys.iter().find(|k| k.name == *name),
            new.foreign_keys.iter().find(|k| k.name == *name),
        ) {
            out.changes.push(Change::DropForeignKey {
                table: t(),
                foreign_key: a.clone(),
            });
            out.changes.push(Change::AddForeignKey {
                table: t(),
                foreign_key: b.clone(),
            });
        } else if let (Some(a), Some(b)) = (
            old.checks.iter().find(|c| c.name == *name),
            new.checks.iter().find(|c| c.name == *name),
        ) {
            out.changes.push(Change::DropCheck {
                table: t(),
                check: a.clone(),
            });
            out.changes.push(Change::AddCheck {
                table: t(),
                check: b.clone(),
            });
        }
    }
    // A constraint left NOT VALID is validated, unless it is dropped or added again anyway.
    for name in &old.not_valid {
        let kept = new.foreign_keys.iter().any(|k| k.name == *name)
            || new.checks.iter().any(|c| c.name == *name);
        let replaced = out.changes.iter().any(|c| match c {
            Change::AddForeignKey { table, foreign_key } => {
                *table == new.name && foreign_key.name == *name
            }
            Change::AddCheck { table, check } => *table == new.name && check.name == *name,
            Change::RenameConstraint { table, from, .. } => *table == new.name && from == name,
            _ => false,
        });
        if kept && !replaced && !new.not_valid.contains(name) {
            out.changes.push(Change::ValidateConstraint {
                table: t(),
                name: name.clone(),
            });
        }
    }
    if old.replica_identity != new.replica_identity {
        out.changes.push(Change::ReplicaIdentity {
            table: t(),
            from: old.replica_identity.clone(),
            to: new.replica_identity.clone(),
        });
    }
    if old.comment != new.comment {
        out.changes.push(Change::TableComment {
            table: t(),
            from: old.comment.clone(),
            to: new.comment.clone(),
        });
    }
    if old.immutable != new.immutable {
        out.changes.push(Change::Guard {
            table: t(),
            from: old.immutable.clone(),
            to: new.immutable.clone(),
        });
    }
    let security = |t: &TableModel| (t.row_level_security, t.force_row_level_security);
    if security(old) != security(new) {
        out.changes.push(Change::RowLevelSecurity {
            table: t(),
            from: security(old),
            to: security(new),
        });
    }
    // Policies: a declared rename, then compared by name.
    let mut old_policies = old.policies.clone();
    for policy in &new.policies {
        if let Some(from) = &policy.renamed_from {
            let taken = new.policies.iter().any(|p| p.name == *from);
            if let Some(old) = old_policies.iter_mut().find(|p| p.name == *from) {
                if !taken {
                    out.changes.push(Change::RenamePolicy {
                        table: t(),
                        from: old.name.clone(),
                        to: policy.name.clone(),
                    });
                    old.name = policy.name.clone();
                }
            }
        }
    }
    for policy in &new.policies {
        match old_policies.iter().find(|p| p.name == policy.name) {
            None => out.changes.push(Change::AddPolicy {
                table: t(),
                policy: policy.clone(),
            }),
            Some(current) if !same_policy(current, policy) => {
                out.changes.push(Change::AlterPolicy {
                    table: t(),
                    from: current.clone(),
                    to: policy.clone(),
                })
            }
            Some(_) => {}
        }
    }
    for policy in &old_policies {
        if !new.policies.iter().any(|p| p.name == policy.name) {
            out.changes.push(Change::DropPolicy {
                table: t(),
                policy: policy.clone(),
            });
        }
    }
    for (old_p, new_p) in unmatched_pairs(&old_policies, &new.policies, |p| &p.name) {
        if old_p.command == new_p.command
            && old_p.using == new_p.using
            && old_p.with_check == new_p.with_check
        {
            out.suggestions
                .push(suggest("policy", table, &old_p.name, &new_p.name));
        }
    }
    // Privileges, one column at a time.
    let old_grants = grant_atoms(&old.grants);
    let new_grants = grant_atoms(&new.grants);
    for grant in regroup(new_grants.difference(&old_grants), &new.columns) {
        out.changes.push(Change::Grant { table: t(), grant });
    }
    for grant in regroup(old_grants.difference(&new_grants), &old.columns) {
        out.changes.push(Change::Revoke { table: t(), grant });
    }
}

fn same_policy(a: &PolicyModel, b: &PolicyModel) -> bool {
    let mut roles_a = a.roles.clone();
    let mut roles_b = b.roles.clone();
    roles_a.sort();
    roles_b.sort();
    a.command == b.command
        && a.permissive == b.permissive
        && roles_a == roles_b
        && a.using == b.using
        && a.with_check == b.with_check
}

fn suggest(kind: &str, table: &str, old: &str, new: &str) -> String {
    format!(
        "{kind} `{old}` of table `{table}` is dropped and `{new}` added with the same \
         definition: if it was renamed, declare `renamed_from = \"{old}\"` on `{new}`"
    )
}

fn column_suggestions(old: &TableModel, new: &TableModel) -> Vec<String> {
    let dropped = old.columns.iter().filter(|c| new.column(&c.name).is_none());
    let mut out = Vec::new();
    for gone in dropped {
        for added in new.columns.iter().filter(|c| old.column(&c.name).is_none()) {
            if gone.sql_type == added.sql_type && gone.nullable == added.nullable {
                out.push(format!(
                    "column `{}` of table `{}` is dropped and `{}` added with the same type: if \
                     it was renamed, declare `renamed_from = \"{}\"` on its field to keep its \
                     values",
                    gone.name, new.name, added.name, gone.name
                ));
            }
        }
    }
    out
}

/// The enum values of `column` to rewrite: the declared `(old, new)` renames whose old text a
/// check of the old table still allows and no check of the new one does.
fn value_renames(
    old: &TableModel,
    new: &TableModel,
    column: &ColumnModel,
) -> Vec<(String, String)> {
    let allowed = |t: &TableModel, value: &str| {
        let name = crate::sql::quote_ident(&column.name);
        let bare = format!("({}", column.name);
        t.checks.iter().any(|c| {
            crate::sql::quoted_values(&c.expression)
                .iter()
                .any(|v| v == value)
                && (c.expression.contains(&name) || c.expression.contains(&bare))
        })
    };
    column
        .renamed_values
        .iter()
        .filter(|(from, _)| allowed(old, from) && !allowed(new, from))
        .cloned()
        .collect()
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

/// Pairs of a dropped and an added object of the same list.
fn unmatched_pairs<'a, T>(
    old: &'a [T],
    new: &'a [T],
    name: impl Fn(&T) -> &String,
) -> Vec<(&'a T, &'a T)> {
    let dropped: Vec<&T> = old
        .iter()
        .filter(|o| !new.iter().any(|n| name(n) == name(o)))
        .collect();
    let added: Vec<&T> = new
        .iter()
        .filter(|n| !old.iter().any(|o| name(o) == name(n)))
        .collect();
    dropped
        .iter()
        .flat_map(|d| added.iter().map(move |a| (*d, *a)))
        .collect()
}

/// Privileges as `(role, privilege, column)` atoms; `None` is table-wide.
fn grant_atoms(grants: &[GrantModel]) -> BTreeSet<(String, String, Option<String>)> {
    let mut atoms = BTreeSet::new();
    for g in grants {
        if g.columns.is_empty() {
            atoms.insert((g.role.clone(), g.privilege.clone(), None));
        } else {
            for c in &g.columns {
                atoms.insert((g.role.clone(), g.privilege.clone(), Some(c.clone())));
            }
        }
    }
    atoms
}

/// Atoms back into grants: one per role and privilege for table-wide ones, one per role and
/// privilege with its columns in table order for column ones.
fn regroup<'a>(
    atoms: impl Iterator<Item = &'a (String, String, Option<String>)>,
    columns: &[ColumnModel],
) -> Vec<GrantModel> {
    let mut grants: Vec<GrantModel> = Vec::new();
    for (role, privilege, column) in atoms {
        let existing = grants.iter_mut().find(|g| {
            g.role == *role && g.privilege == *privilege && g.columns.is_empty() == column.is_none()
        });
        match (existing, column) {
            (Some(g), Some(column)) => g.columns.push(column.clone()),
            (Some(_), None) => {}
            (None, column) => grants.push(GrantModel {
                role: role.clone(),
                privilege: privilege.clone(),
                columns: column.iter().cloned().collect(),
            }),
        }
    }
    let position = |name: &String| columns.iter().position(|c| c.name == *name);
    for g in &mut grants {
        g.columns.sort_by_key(position);
    }
    grants
}

impl fmt::Display for Change {
    /// One readable line: the object, what it is, what it becomes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        match self {
            Change::CreateEnum(e) => write!(
                f,
                "enum type `{}`: missing ({})",
                e.name,
                e.values.join(", ")
            ),
            Change::DropEnum(e) => write!(f, "enum type `{}`: no longer declared", e.name),
            Change::AddEnumValue { name, value, .. } => {
                write!(f, "enum type `{name}`: value {value:?} missing")
            }
            Change::RenameEnumValue { name, from, to } => {
                write!(f, "enum type `{name}`: value {from:?} renamed to {to:?}")
            }
            Change::ReplaceEnum { from, to, .. } => write!(
                f,
                "enum type `{}`: values ({}) become ({})",
                to.name,
                from.values.join(", "),
                to.values.join(", ")
            ),
            Change::CreateExtension(name) => write!(f, "extension `{name}`: missing"),
            Change::DropExtension(name) => write!(f, "extension `{name}`: no longer declared"),
            Change::CreateNamespace(name) => write!(f, "schema `{name}`: missing"),
            Change::DropNamespace(name) => {
                write!(f, "schema `{name}`: no table is declared in it")
            }
            Change::NamespaceUsage {
                namespace,
                role,
                grant: true,
            } => write!(f, "schema `{namespace}`: role `{role}` lacks USAGE"),
            Change::NamespaceUsage {
                namespace,
                role,
                grant: false,
            } => write!(
                f,
                "schema `{namespace}`: role `{role}` has USAGE it is not declared to have"
            ),
            Change::CreateRole(role) => write!(f, "role `{role}`: missing"),
            Change::DropRole(role) => write!(f, "role `{role}`: no longer declared"),
            Change::CreateTable(t) => write!(f, "table `{}`: missing", t.name),
            Change::DropTable(t) => write!(f, "table `{}`: no longer declared", t.name),
            Change::RenameTable { from, to } => write!(f, "table `{from}`: renamed to `{to}`"),
            Change::AddColumn { table, column } => write!(
                f,
                "column `{table}.{}`: missing ({})",
                column.name, column.sql_type
            ),
            Change::DropColumn { table, column } => {
                write!(f, "column `{table}.{}`: no longer declared", column.name)
            }
            Change::RenameColumn { table, from, to } => {
                write!(f, "column `{table}.{from}`: renamed to `{to}`")
            }
            Change::AlterColumn { table, from, to } => {
                let mut parts = Vec::new();
                if from.sql_type != to.sql_type {
                    parts.push(format!(
                        "type: code says {}, database has {}",
                        to.sql_type, from.sql_type
                    ));
                }
                if from.nullable != to.nullable {
                    let n = |b: bool| if b { "NULL" } else { "NOT NULL" };
                    parts.push(format!(
                        "nullability: code says {}, database has {}",
                        n(to.nullable),
                        n(from.nullable)
                    ));
                }
                if from.default != to.default {
                    parts.push(format!(
                        "default: code says {}, database has {}",
                        opt(&to.default),
                        opt(&from.default)
                    ));
                }
                if from.comment != to.comment {
                    parts.push(format!(
                        "comment: code says {}, database has {}",
                        opt(&to.comment),
                        opt(&from.comment)
                    ));
                }
                if from.identity != to.identity {
                    let identity = |i: &Option<crate::model::IdentityModel>| match i {
                        None => "(none)".to_string(),
                        Some(i) => format!(
                            "{} {}",
                            if i.always { "ALWAYS" } else { "BY DEFAULT" },
                            i.options(&to.sql_type).join(" ")
                        )
                        .trim_end()
                        .to_string(),
                    };
                    parts.push(format!(
                        "identity: code says {}, database has {}",
                        identity(&to.identity),
                        identity(&from.identity)
                    ));
                }
                if from.generated != to.generated {
                    parts.push(format!(
                        "generated: code says {}, database has {}",
                        opt(&to.generated),
                        opt(&from.generated)
                    ));
                }
                write!(f, "column `{table}.{}`: {}", to.name, parts.join("; "))
            }
            Change::RecomputeColumn { table, from, to } => write!(
                f,
                "column `{table}.{}`: generated: code says {}, database has {}",
                to.name,
                opt(&to.generated),
                opt(&from.generated)
            ),
            Change::RenameValues {
                table,
                column,
                renames,
            } => {
                let list: Vec<String> =
                    renames.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
                write!(
                    f,
                    "column `{table}.{column}`: stored values renamed: {}",
                    list.join(", ")
                )
            }
            Change::PrimaryKey { table, from, to } => {
                let k = |k: &Option<KeyModel>| {
                    k.as_ref().map_or("(none)".into(), |k| {
                        format!("{} ({})", k.name, k.columns.join(", "))
                    })
                };
                write!(
                    f,
                    "primary key of `{table}`: code says {}, database has {}",
                    k(to),
                    k(from)
                )
            }
            Change::AddUnique { table, key } => write!(
                f,
                "unique constraint `{}` on `{table}`: missing ({}){}",
                key.name,
                key.columns.join(", "),
                if key.nulls_not_distinct {
                    " NULLS NOT DISTINCT"
                } else {
                    ""
                }
            ),
            Change::DropUnique { table, key } => write!(
                f,
                "unique constraint `{}` on `{table}`: not declared ({}){}",
                key.name,
                key.columns.join(", "),
                if key.nulls_not_distinct {
                    " NULLS NOT DISTINCT"
                } else {
                    ""
                }
            ),
            Change::AddForeignKey { table, foreign_key } => write!(
                f,
                "foreign key `{}` on `{table}`: missing",
                foreign_key.name
            ),
            Change::DropForeignKey { table, foreign_key } => write!(
                f,
                "foreign key `{}` on `{table}`: not declared",
                foreign_key.name
            ),
            Change::AddCheck { table, check } => write!(
                f,
                "check `{}` on `{table}`: code says {}",
                check.name, check.expression
            ),
            Change::DropCheck { table, check } => write!(
                f,
                "check `{}` on `{table}`: database has {}",
                check.name, check.expression
            ),
            Change::RenameConstraint { table, from, to } => {
                write!(f, "constraint `{from}` on `{table}`: renamed to `{to}`")
            }
            Change::ReplicaIdentity { table, from, to } => write!(
                f,
                "table `{table}`: replica identity {to:?}, database has {from:?}"
            ),
            Change::ValidateConstraint { table, name } => write!(
                f,
                "constraint `{name}` on `{table}`: NOT VALID in the database (its rows are not \
                 checked); validate it"
            ),
            Change::AddIndex { table, index } => {
                write!(f, "index `{}` on `{table}`: missing", index.name)
            }
            Change::DropIndex { table, index } => write!(
                f,
                "index `{}` on `{table}`: not declared as it is",
                index.name
            ),
            Change::RenameIndex { table, from, to } => {
                write!(f, "index `{from}` on `{table}`: renamed to `{to}`")
            }
            Change::TableComment { table, from, to } => write!(
                f,
                "comment of table `{table}`: code says {}, database has {}",
                opt(to),
                opt(from)
            ),
            Change::Guard { table, from, to } => {
                let g = |g: &Option<ImmutableGuard>| {
                    g.as_ref().map_or("none".into(), |g| {
                        format!(
                            "guarding {}{}",
                            g.columns.join(", "),
                            if g.trigger_enabled {
                                ""
                            } else {
                                " (trigger missing or disabled)"
                            }
                        )
                    })
                };
                write!(
                    f,
                    "immutable-column guard of `{table}`: code says {}, database has {}{}",
                    g(to),
                    g(from),
                    if from.is_some() && to.is_some() && g(from) == g(to) {
                        " (function differs)"
                    } else {
                        ""
                    }
                )
            }
            Change::RowLevelSecurity { table, from, to } => {
                let s = |(e, fo): (bool, bool)| {
                    format!(
                        "{}{}",
                        if e { "enabled" } else { "disabled" },
                        if fo { ", forced" } else { "" }
                    )
                };
                write!(
                    f,
                    "row-level security of `{table}`: code says {}, database has {}",
                    s(*to),
                    s(*from)
                )
            }
            Change::AddPolicy { table, policy } => {
                write!(f, "policy `{}` on `{table}`: missing", policy.name)
            }
            Change::DropPolicy { table, policy } => {
                write!(f, "policy `{}` on `{table}`: not declared", policy.name)
            }
            Change::RenamePolicy { table, from, to } => {
                write!(f, "policy `{from}` on `{table}`: renamed to `{to}`")
            }
            Change::AlterPolicy { table, from, to } => {
                let p = |p: &PolicyModel| {
                    format!(
                        "{} TO {} USING ({}) WITH CHECK ({})",
                        p.command.as_sql(),
                        p.roles.join(", "),
                        opt(&p.using),
                        opt(&p.with_check)
                    )
                };
                write!(
                    f,
                    "policy `{}` on `{table}`: code says {}, database has {}",
                    to.name,
                    p(to),
                    p(from)
                )
            }
            Change::Grant { table, grant } => write!(
                f,
                "privilege {} on `{table}` to `{}`: missing",
                grant_text(grant),
                grant.role
            ),
            Change::Revoke { table, grant } => write!(
                f,
                "privilege {} on `{table}` to `{}`: not declared",
                grant_text(grant),
                grant.role
            ),
        }
    }
}

fn grant_text(grant: &GrantModel) -> String {
    if grant.columns.is_empty() {
        grant.privilege.clone()
    } else {
        format!("{} ({})", grant.privilege, grant.columns.join(", "))
    }
}
