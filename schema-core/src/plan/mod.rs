//! A plan from a [`SchemaDiff`]: ordered steps, each a typed [`Statement`] with its SQL, whether
//! it may run inside a transaction, the lock it takes, its hazards and its timeouts.
//!
//! Plans are online by default: indexes are built and dropped `CONCURRENTLY` (outside a
//! transaction); foreign keys and checks are added `NOT VALID` and validated in a later step;
//! `SET NOT NULL` goes through a validated check; a column with a constant default is added
//! without a rewrite; `varchar` is widened in place. A plan holding a step that loses data
//! (dropping a table or a column, narrowing a type, removing an enum value) is refused by
//! [`Plan::check_allowed`] unless the caller allows that object by name.

use std::fmt;
use std::time::Duration;

use crate::diff::{Change, SchemaDiff};
use crate::model::{CheckModel, ColumnModel, EnumModel, KeyModel, SchemaModel};
use crate::render::{
    create_table_statements, grant_statements, guard_statements, Constraint, Statement,
};
use crate::sql::{
    constraint_name, qualify, quote_ident, quote_literal, quote_qualified, quoted_values,
    split_qualified,
};

/// The strongest table lock a step takes (PostgreSQL's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lock {
    /// No table lock (roles, privileges, functions).
    None,
    /// `ROW EXCLUSIVE`: what `UPDATE` takes; reads and writes go on.
    RowExclusive,
    /// `SHARE UPDATE EXCLUSIVE`: reads and writes go on (concurrent index builds, validation).
    ShareUpdateExclusive,
    /// `SHARE`: reads go on, writes wait (a plain index build).
    Share,
    /// `SHARE ROW EXCLUSIVE`: reads go on, writes wait (foreign keys, triggers).
    ShareRowExclusive,
    /// `ACCESS EXCLUSIVE`: everything waits, for as long as the statement runs.
    AccessExclusive,
}

/// What a step may do to a running application or its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hazard {
    /// Rows or values are lost.
    DeletesData,
    /// The table is rewritten: as long as it takes, under its lock.
    RewritesTable,
    /// Reads and writes of the table wait while it runs, not just for an instant.
    BlocksReadsAndWrites,
    /// Writes to the table (or the rows it changes) wait while it runs.
    BlocksWrites,
    /// An index is built: time and I/O in proportion to the table.
    BuildsIndex,
    /// Every row is read to validate a constraint.
    ScansToValidate,
    /// Code still running against the old schema breaks (a rename, a drop).
    BreaksRunningCode,
    /// It fails if the table has rows (a `NOT NULL` column without a default).
    FailsIfRowsExist,
    /// Rows are updated.
    UpdatesRows,
    /// An index is dropped: queries that used it may get slower.
    DropsIndex,
    /// Who may read or write the table changes (a privilege granted or revoked).
    ChangesPrivileges,
    /// It fails if rows hold values the new type compares equal under a unique key or index
    /// (text made case-insensitive: `citext` sees `A@x.org` and `a@x.org` as one value).
    FailsIfValuesCollide,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The statement.
    pub statement: Statement,
    /// Its SQL, without `;`.
    pub sql: String,
    /// Whether it may run inside a transaction (a `CONCURRENTLY` step may not: it runs on its
    /// own).
    pub transactional: bool,
    /// Whether it runs in a transaction of its own: a `VALIDATE CONSTRAINT`, which in the
    /// transaction that added the constraint `NOT VALID` would hold that lock while it scans.
    pub isolated: bool,
    /// The strongest table lock it takes.
    pub lock: Lock,
    /// What it may do.
    pub hazards: Vec<Hazard>,
    /// How long it may wait for its lock before giving up (`lock_timeout`).
    pub lock_timeout: Duration,
    /// How long it may run (`statement_timeout`); `None` for steps whose time grows with the
    /// table (builds, scans, rewrites), which hold no lock that blocks the application.
    pub statement_timeout: Option<Duration>,
    /// For a step that loses data: the object to allow (`table` or `table.column`) and why.
    pub destructive: Option<Destructive>,
}

/// What a destructive step loses, and the name that allows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destructive {
    /// The object: `table`, or `table.column`.
    pub object: String,
    /// What is lost.
    pub reason: String,
}

/// An ordered plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in the order they run.
    pub steps: Vec<Step>,
    /// Dropped and added objects that look like an undeclared rename.
    pub suggestions: Vec<String>,
    /// Tables of the database the schema does not declare: never touched.
    pub unmanaged_tables: Vec<String>,
    /// Changes the plan cannot make as declared, each with what to declare or change: a plan
    /// holding one is refused whatever is allowed ([`Plan::check_allowed`]), before anything
    /// runs, rather than failing half-way on the server.
    pub blocked: Vec<Blocked>,
}

/// A change a plan cannot make as declared, found when the plan is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// A column's type changes to one PostgreSQL does not convert its values to by itself
    /// (text to integer): the field must say how, with `using = "..."`.
    NoConversion {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The type it has.
        from_type: String,
        /// The type it is to have.
        to_type: String,
    },
    /// Objects the schema does not manage (views, materialized views, functions) depend on a
    /// table or column the plan drops or changes the type of: PostgreSQL refuses the step.
    Dependents {
        /// The table, or `table.column`, the plan drops or changes.
        object: String,
        /// What depends on it, each as `kind name` (`view public.open_tickets`).
        dependents: Vec<String>,
    },
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocked::NoConversion {
                table,
                column,
                from_type,
                to_type,
            } => write!(
                f,
                "{table}.{column}: PostgreSQL does not convert {from_type} to {to_type} by \
                 itself; declare the conversion on the field, as \
                 `using = \"{{{column}}}::{to_type}\"`"
            ),
            Blocked::Dependents { object, dependents } => write!(
                f,
                "{object}: {} depend{} on it and the schema does not manage them; drop or \
                 change them first, or keep {object}",
                dependents.join(", "),
                if dependents.len() == 1 { "s" } else { "" }
            ),
        }
    }
}

/// A plan refused for its destructive steps: every one of them, with the object to allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The destructive steps not allowed.
    pub steps: Vec<Step>,
    /// The changes the plan cannot make as declared ([`Plan::blocked`]).
    pub blocked: Vec<Blocked>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.blocked.is_empty() {
            writeln!(f, "the plan cannot be applied as declared:")?;
            for blocked in &self.blocked {
                writeln!(f, "  {blocked}")?;
            }
        }
        if self.steps.is_empty() {
            return Ok(());
        }
        writeln!(f, "the plan loses data:")?;
        for step in &self.steps {
            if let Some(d) = &step.destructive {
                writeln!(f, "  {}: {} ({})", d.object, d.reason, step.sql)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
const BRIEF: Option<Duration> = Some(Duration::from_secs(30));

/// Where a step falls in the plan: steps run phase by phase, in the diff's order within one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Extensions,
    Roles,
    Namespaces,
    Types,
    RenameTables,
    Renames,
    Unhook,
    DropConstraints,
    DropObjects,
    CreateTables,
    Columns,
    AddConstraints,
    Validate,
    NotNull,
    Indexes,
    ForeignKeys,
    ValidateForeignKeys,
    Finish,
    DropTypes,
    DropNamespaces,
    DropExtensions,
    DropRoles,
}

/// `change` with the definitions it creates taken from `written`, where it has them by name.
fn as_written(change: &Change, written: &SchemaModel) -> Change {
    let mut change = change.clone();
    let table_of = |name: &str| written.table(name);
    match &mut change {
        Change::CreateTable(table) => {
            if let Some(t) = table_of(&table.name) {
                **table = t.clone();
            }
        }
        Change::AddColumn { table, column } => {
            if let Some(c) = table_of(table).and_then(|t| t.column(&column.name)) {
                *column = c.clone();
            }
        }
        Change::AddCheck { table, check } => {
            if let Some(c) =
                table_of(table).and_then(|t| t.checks.iter().find(|c| c.name == check.name))
            {
                *check = c.clone();
            }
        }
        Change::AddIndex { table, index } => {
            if let Some(i) =
                table_of(table).and_then(|t| t.indexes.iter().find(|i| i.name == index.name))
            {
                *index = i.clone();
            }
        }
        Change::AddPolicy { table, policy }
        | Change::AlterPolicy {
            table, to: policy, ..
        } => {
            if let Some(p) =
                table_of(table).and_then(|t| t.policies.iter().find(|p| p.name == policy.name))
            {
                *policy = p.clone();
            }
        }
        // The defaults put back after the conversion are the code's, as every definition.
        Change::ReplaceEnum { columns, .. } => {
            for (table, column, default, _) in columns {
                if let Some(c) = table_of(table).and_then(|t| t.column(column)) {
                    default.clone_from(&c.default);
                }
            }
        }
        Change::Guard {
            table,
            to: Some(guard),
            ..
        } => {
            if let Some(g) = table_of(table).and_then(|t| t.immutable.as_ref()) {
                *guard = g.clone();
            }
        }
        _ => {}
    }
    change
}

/// Steps as planned, each with its phase, and the changes that cannot be planned.
struct Steps(Vec<(Phase, Step)>, Vec<Blocked>);

impl Steps {
    fn push(&mut self, phase: Phase, statement: Statement) {
        self.0.push((phase, step(statement)));
    }

    /// Adds `hazard` to the last step pushed.
    fn hazard(&mut self, hazard: Hazard) {
        if let Some((_, step)) = self.0.last_mut() {
            step.hazards.push(hazard);
        }
    }
}

/// The plan that turns `from` into `to`.
pub fn plan(from: &SchemaModel, to: &SchemaModel) -> Plan {
    plan_diff(&crate::diff::diff(from, to), to)
}

/// The plan of a diff whose target, as the code writes it, is `to`.
///
/// The diff may compare models read back from databases (where expressions are as the server
/// prints them); the statements take every definition they create from `to`, by name, so the
/// SQL is the code's own. A printed expression applied again may print otherwise (an `IN` list
/// becomes `= ANY (ARRAY[...])`, then prints with more casts), while the code's text always
/// prints as it did in the shadow database.
pub fn plan_diff(diff: &SchemaDiff, to: &SchemaModel) -> Plan {
    let mut steps = Steps(Vec::new(), Vec::new());
    for change in &diff.changes {
        plan_change(&as_written(change, to), diff, to, &mut steps);
    }
    repoint_foreign_keys(diff, to, &mut steps);
    let Steps(mut steps, blocked) = steps;
    steps.sort_by_key(|(phase, _)| *phase);
    Plan {
        steps: steps.into_iter().map(|(_, s)| s).collect(),
        suggestions: diff.suggestions.clone(),
        unmanaged_tables: diff.unmanaged_tables.clone(),
        blocked,
    }
}

fn plan_change(change: &Change, diff: &SchemaDiff, to: &SchemaModel, add: &mut Steps) {
    use Phase::*;
    // A partition's columns are its parent's: they change there, and the partition with it.
    if let Change::AddColumn { table, .. }
    | Change::DropColumn { table, .. }
    | Change::RenameColumn { table, .. }
    | Change::RecomputeColumn { table, .. } = change
    {
        if is_partition(to, table) {
            return;
        }
    }
    match change {
        Change::CreateEnum(e) => add.push(Types, Statement::CreateEnum(e.clone())),
        Change::DropEnum(e) => add.push(
            DropTypes,
            Statement::DropEnum {
                name: e.name.clone(),
            },
        ),
        Change::AddEnumValue {
            name,
            value,
            after,
            before,
        } => add.push(
            Types,
            Statement::AddEnumValue {
                name: name.clone(),
                value: value.clone(),
                after: after.clone(),
                before: before.clone(),
            },
        ),
        Change::RenameEnumValue { name, from, to } => add.push(
            Types,
            Statement::RenameEnumValue {
                name: name.clone(),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        Change::ReplaceEnum {
            from,
            to: new,
            removed,
            columns,
        } => {
            let checks = checks_on_columns(columns, diff, to);
            replace_enum(from, new, removed, columns, &checks, add)
        }
        Change::CreateExtension(name) => add.push(
            Extensions,
            Statement::CreateExtension { name: name.clone() },
        ),
        Change::DropExtension(name) => add.push(
            DropExtensions,
            Statement::DropExtension { name: name.clone() },
        ),
        Change::CreateNamespace(name) => add.push(
            Namespaces,
            Statement::CreateNamespace { name: name.clone() },
        ),
        Change::DropNamespace(name) => add.push(
            DropNamespaces,
            Statement::DropNamespace { name: name.clone() },
        ),
        // Revoked before any role is dropped: a role holding a privilege cannot be.
        Change::NamespaceUsage {
            namespace,
            role,
            grant,
        } => add.push(
            if *grant { Namespaces } else { Finish },
            Statement::NamespaceUsage {
                namespace: namespace.clone(),
                role: role.clone(),
                grant: *grant,
            },
        ),
        Change::CreateRole(role) => add.push(Roles, Statement::CreateRole { role: role.clone() }),
        Change::DropRole(role) => add.push(DropRoles, Statement::DropRole { role: role.clone() }),
        Change::CreateTable(table) => {
            // A foreign key to a key or column this plan adds, or to a table it creates later,
            // is added once they exist.
            let (deferred, inline): (Vec<_>, Vec<_>) = table
                .foreign_keys
                .iter()
                .cloned()
                .partition(|fk| references_what_comes_later(&table.name, fk, diff));
            let created = crate::model::TableModel {
                foreign_keys: inline,
                ..(**table).clone()
            };
            for statement in create_table_statements(&created) {
                add.push(CreateTables, statement);
            }
            for foreign_key in deferred {
                add.push(
                    ForeignKeys,
                    Statement::AddConstraint {
                        table: table.name.clone(),
                        constraint: Constraint::ForeignKey(foreign_key),
                        not_valid: false,
                    },
                );
            }
        }
        Change::DropTable(table) => {
            // Its foreign keys to other tables dropped with it go first: whichever is dropped
            // first, the other's key would still point at it.
            for fk in &table.foreign_keys {
                let other_dropped = fk.references_table != table.name
                    && diff.changes.iter().any(
                        |c| matches!(c, Change::DropTable(t) if t.name == fk.references_table),
                    );
                if other_dropped {
                    add.push(Unhook, drop_constraint(&table.name, &fk.name));
                }
            }
            // A partition goes with its partitioned table.
            let parent_dropped = table.partition_of.as_ref().is_some_and(|of| {
                diff.changes
                    .iter()
                    .any(|c| matches!(c, Change::DropTable(t) if t.name == of.parent))
            });
            if parent_dropped {
                return;
            }
            add.push(
                DropObjects,
                Statement::DropTable {
                    table: table.name.clone(),
                },
            );
            // The table's trigger goes with it; its guard's function does not.
            if let Some(guard) = &table.immutable {
                add.push(
                    DropObjects,
                    Statement::DropFunction {
                        name: guard.name.clone(),
                    },
                );
            }
        }
        Change::RenameTable { from, to } => {
            // A table declared in another PostgreSQL schema than before moves there first
            // (`SET SCHEMA` keeps its rows, indexes, constraints and privileges).
            let ((from_schema, from_bare), (to_schema, to_bare)) =
                (split_qualified(from), split_qualified(to));
            let mut current = from.clone();
            if let Some(schema) = to_schema.filter(|s| Some(*s) != from_schema) {
                add.push(
                    RenameTables,
                    Statement::SetSchema {
                        table: from.clone(),
                        schema: schema.into(),
                    },
                );
                current = qualify(Some(schema), from_bare);
            }
            if from_bare != to_bare {
                add.push(
                    RenameTables,
                    Statement::RenameTable {
                        from: current,
                        to: to.clone(),
                    },
                );
            }
        }
        Change::RenameColumn { table, from, to } => add.push(
            Renames,
            Statement::RenameColumn {
                table: table.clone(),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        Change::AddColumn { table, column } => {
            create_sequence(table, column, Columns, add);
            add.push(
                Columns,
                Statement::AddColumn {
                    table: table.clone(),
                    column: column.clone(),
                },
            );
            if column.comment.is_some() {
                add.push(
                    Finish,
                    Statement::Comment {
                        table: table.clone(),
                        column: Some(column.name.clone()),
                        text: column.comment.clone(),
                    },
                );
            }
        }
        Change::DropColumn { table, column } => add.push(
            DropObjects,
            Statement::DropColumn {
                table: table.clone(),
                column: column.name.clone(),
            },
        ),
        Change::RecomputeColumn {
            table,
            from,
            to: changed,
        } => {
            add.push(
                DropObjects,
                Statement::DropColumn {
                    table: table.clone(),
                    column: from.name.clone(),
                },
            );
            // A generated column's values are computed again from the row: none is lost.
            if from.generated.is_some() {
                if let Some((_, step)) = add.0.last_mut() {
                    step.destructive = None;
                    step.hazards.retain(|h| *h != Hazard::DeletesData);
                }
            }
            let written = target_table(to, table).and_then(|t| t.column(&changed.name));
            add.push(
                Columns,
                Statement::AddColumn {
                    table: table.clone(),
                    column: written.unwrap_or(changed).clone(),
                },
            );
        }
        Change::AlterColumn {
            table,
            from,
            to: changed,
        } => {
            // What changed is read from the diff; the values written come from the code.
            let unique_keys = target_table(to, table).map(unique_keys).unwrap_or_default();
            let written = target_table(to, table).and_then(|t| t.column(&changed.name));
            if is_partition(to, table) {
                // Only its default, NOT NULL and comment are its own.
                let own = ColumnModel {
                    default: changed.default.clone(),
                    comment: changed.comment.clone(),
                    nullable: changed.nullable,
                    ..from.clone()
                };
                let written = ColumnModel {
                    default: written.unwrap_or(changed).default.clone(),
                    comment: written.unwrap_or(changed).comment.clone(),
                    nullable: changed.nullable,
                    ..from.clone()
                };
                alter_column(table, from, &own, &written, &[], add);
                return;
            }
            let written = written.unwrap_or(changed);
            if from.sql_type != changed.sql_type {
                recreate_policies_on(table, &changed.name, diff, to, add);
            }
            if from.default != written.default {
                create_sequence(table, written, Columns, add);
            }
            if from.sql_type != changed.sql_type
                && (to.enum_of_column(&written.sql_type).is_some()
                    || from.sql_type.starts_with('"'))
            {
                switch_enum_column(table, from, written, add);
                let from = ColumnModel {
                    sql_type: changed.sql_type.clone(),
                    default: changed.default.clone(),
                    ..from.clone()
                };
                alter_column(table, &from, changed, written, &unique_keys, add)
            } else {
                alter_column(table, from, changed, written, &unique_keys, add)
            }
        }
        Change::RenameValues {
            table,
            column,
            renames,
        } => {
            // A table that forces row-level security hides its rows from its owner too: lift
            // it for the rewrite, in the same transaction, so every row is rewritten.
            let forced = target_table(to, table).is_some_and(|t| t.force_row_level_security);
            let force = |force| Statement::ForceRowLevelSecurity {
                table: table.clone(),
                force,
            };
            if forced {
                add.push(Columns, force(false));
            }
            let array = target_table(to, table)
                .and_then(|t| t.column(column))
                .is_some_and(|c| c.sql_type.ends_with("[]"));
            for (from, to) in renames {
                add.push(
                    Columns,
                    Statement::RewriteValue {
                        table: table.clone(),
                        column: column.clone(),
                        array,
                        from: from.clone(),
                        to: to.clone(),
                    },
                );
            }
            if forced {
                add.push(Columns, force(true));
            }
        }
        Change::PrimaryKey {
            table,
            from,
            to: new,
        } => {
            if let Some(key) = from {
                add.push(DropConstraints, drop_constraint(table, &key.name));
            }
            if let Some(key) = new {
                add_key(table, key, true, is_partitioned(to, table), add);
            }
        }
        Change::AddUnique { table, key } => {
            add_key(table, key, false, is_partitioned(to, table), add)
        }
        Change::DropUnique { table, key } => {
            add.push(DropConstraints, drop_constraint(table, &key.name))
        }
        // After the keys (phase `Indexes`): the key a foreign key references may be one this
        // plan adds.
        // PostgreSQL adds a foreign key to a partitioned table validated, in one step.
        Change::AddForeignKey { table, foreign_key } if is_partitioned(to, table) => add.push(
            ForeignKeys,
            Statement::AddConstraint {
                table: table.clone(),
                constraint: Constraint::ForeignKey(foreign_key.clone()),
                not_valid: false,
            },
        ),
        Change::AddForeignKey { table, foreign_key } => {
            add.push(
                ForeignKeys,
                Statement::AddConstraint {
                    table: table.clone(),
                    constraint: Constraint::ForeignKey(foreign_key.clone()),
                    not_valid: true,
                },
            );
            if left_not_valid(to, table, &foreign_key.name) {
                return;
            }
            add.push(
                ValidateForeignKeys,
                Statement::ValidateConstraint {
                    table: table.clone(),
                    name: foreign_key.name.clone(),
                },
            );
        }
        // Before the keys are dropped: a key a foreign key references cannot go while it does.
        Change::DropForeignKey { table, foreign_key } => {
            add.push(Unhook, drop_constraint(table, &foreign_key.name))
        }
        Change::AddCheck { table, check } if left_not_valid(to, table, &check.name) => add.push(
            AddConstraints,
            Statement::AddConstraint {
                table: table.clone(),
                constraint: Constraint::Check(check.clone()),
                not_valid: true,
            },
        ),
        Change::AddCheck { table, check } => {
            let removed = removed_values(diff, table, check);
            add_check(table, check, add);
            if !removed.is_empty() {
                mark_destructive(table, check, removed, add);
            }
        }
        Change::DropCheck { table, check } => {
            add.push(DropConstraints, drop_constraint(table, &check.name))
        }
        Change::RenameConstraint { table, from, to } => add.push(
            Renames,
            Statement::RenameConstraint {
                table: table.clone(),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        // PostgreSQL builds and drops an index of a partitioned table only in one plain
        // statement (on every partition), writes waiting meanwhile.
        Change::AddIndex { table, index } => {
            let partitioned = is_partitioned(to, table);
            add.push(
                Indexes,
                Statement::CreateIndex {
                    table: table.clone(),
                    index: index.clone(),
                    concurrently: !partitioned,
                },
            );
            if partitioned {
                blocks_writes_while_building(add);
            }
        }
        // An index is in its table's PostgreSQL schema.
        Change::DropIndex { table, index } => add.push(
            DropConstraints,
            Statement::DropIndex {
                schema: split_qualified(table).0.map(Into::into),
                name: index.name.clone(),
                concurrently: !is_partitioned(to, table),
            },
        ),
        Change::RenameIndex { table, from, to } => add.push(
            Renames,
            Statement::RenameIndex {
                schema: split_qualified(table).0.map(Into::into),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        Change::TableComment { table, to, .. } => add.push(
            Finish,
            Statement::Comment {
                table: table.clone(),
                column: None,
                text: to.clone(),
            },
        ),
        Change::Guard { table, from, to } => {
            let same_name = matches!((from, to), (Some(a), Some(b)) if a.name == b.name);
            if let Some(old) = from {
                // The trigger goes (it may be missing or disabled); the function is replaced
                // in place when it keeps its name.
                add.push(
                    Unhook,
                    Statement::DropTrigger {
                        table: table.clone(),
                        name: old.name.clone(),
                    },
                );
                if !same_name {
                    add.push(
                        Unhook,
                        Statement::DropFunction {
                            name: old.name.clone(),
                        },
                    );
                }
            }
            if let Some(new) = to {
                let mut guard = new.clone();
                guard.trigger_enabled = true;
                for statement in guard_statements(table, &guard, same_name) {
                    add.push(Finish, statement);
                }
            }
        }
        Change::RowLevelSecurity { table, from, to } => {
            if from.0 != to.0 {
                add.push(
                    Finish,
                    Statement::RowLevelSecurity {
                        table: table.clone(),
                        enable: to.0,
                    },
                );
            }
            if from.1 != to.1 {
                add.push(
                    Finish,
                    Statement::ForceRowLevelSecurity {
                        table: table.clone(),
                        force: to.1,
                    },
                );
            }
        }
        Change::AddPolicy { table, policy } => add.push(
            Finish,
            Statement::CreatePolicy {
                table: table.clone(),
                policy: policy.clone(),
            },
        ),
        Change::DropPolicy { table, policy } => add.push(
            Unhook,
            Statement::DropPolicy {
                table: table.clone(),
                name: policy.name.clone(),
            },
        ),
        Change::RenamePolicy { table, from, to } => add.push(
            Renames,
            Statement::RenamePolicy {
                table: table.clone(),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        Change::AlterPolicy { table, from, to } => {
            // ALTER POLICY changes roles and predicates, and cannot take a predicate away nor
            // change the command: otherwise the policy is dropped and created again.
            // Nor can it stay while a column it names is dropped or changes type: it is dropped
            // before, and created again after.
            let alterable = from.command == to.command
                && from.permissive == to.permissive
                && (to.using.is_some() || from.using.is_none())
                && (to.with_check.is_some() || from.with_check.is_none())
                && !columns_going(diff, table)
                    .iter()
                    .any(|c| policy_mentions(from, c));
            if alterable {
                add.push(
                    Finish,
                    Statement::AlterPolicy {
                        table: table.clone(),
                        policy: to.clone(),
                    },
                );
            } else {
                add.push(
                    Unhook,
                    Statement::DropPolicy {
                        table: table.clone(),
                        name: from.name.clone(),
                    },
                );
                add.push(
                    Finish,
                    Statement::CreatePolicy {
                        table: table.clone(),
                        policy: to.clone(),
                    },
                );
            }
        }
        // On a table that stays: who may use it changes (a new table's are part of it).
        Change::Grant { table, grant } => {
            for statement in grant_statements(table, std::slice::from_ref(grant), true) {
                add.push(Finish, statement);
                add.hazard(Hazard::ChangesPrivileges);
            }
        }
        // After the indexes: the identity may be one of them.
        Change::ReplicaIdentity { table, to, .. } => add.push(
            Finish,
            Statement::ReplicaIdentity {
                table: table.clone(),
                identity: to.clone(),
            },
        ),
        Change::ValidateConstraint { table, name } => add.push(
            Validate,
            Statement::ValidateConstraint {
                table: table.clone(),
                name: name.clone(),
            },
        ),
        Change::Revoke { table, grant } => {
            for statement in grant_statements(table, std::slice::from_ref(grant), false) {
                add.push(Unhook, statement);
                add.hazard(Hazard::ChangesPrivileges);
            }
        }
    }
}

/// The quoted values a replaced check allowed that the new one does not, other than values
/// renamed (and rewritten) by the same diff: rows still holding them fail validation.
fn removed_values(diff: &SchemaDiff, table: &str, check: &CheckModel) -> Vec<String> {
    let Some(old) = diff.changes.iter().find_map(|c| match c {
        Change::DropCheck {
            table: t,
            check: old,
        } if t == table && old.name == check.name => Some(old),
        _ => None,
    }) else {
        return Vec::new();
    };
    let renamed: Vec<&str> = diff
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::RenameValues {
                table: t, renames, ..
            } if t == table => Some(renames),
            _ => None,
        })
        .flatten()
        .map(|(from, _)| from.as_str())
        .collect();
    let new = quoted_values(&check.expression);
    quoted_values(&old.expression)
        .into_iter()
        .filter(|v| !new.contains(v) && !renamed.contains(&v.as_str()))
        .collect()
}

/// Makes the validation of a check that removes values a destructive step.
fn mark_destructive(table: &str, check: &CheckModel, removed: Vec<String>, add: &mut Steps) {
    if let Some((_, step)) = add.0.iter_mut().rev().find(|(_, s)| {
        matches!(&s.statement, Statement::ValidateConstraint { table: t, name } if t == table && *name == check.name)
    }) {
        step.hazards.push(Hazard::DeletesData);
        step.destructive = Some(Destructive {
            object: format!("{table}.{}", check_column(check).unwrap_or_default()),
            reason: format!(
                "removes the allowed values {}: rows still holding them fail the validation",
                removed.join(", ")
            ),
        });
    }
}

/// The column an enum check is on: the first quoted identifier of its expression, or the
/// first bare word in parentheses as the server prints it.
fn check_column(check: &CheckModel) -> Option<String> {
    let e = check.expression.trim_start_matches('(');
    if let Some(rest) = e.strip_prefix('"') {
        return rest.split('"').next().map(String::from);
    }
    e.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .map(String::from)
}

fn target_table<'a>(to: &'a SchemaModel, table: &str) -> Option<&'a crate::model::TableModel> {
    to.table(table)
}

fn drop_constraint(table: &str, name: &str) -> Statement {
    Statement::DropConstraint {
        table: table.into(),
        name: name.into(),
    }
}

/// A key on a table that has rows: its unique index built concurrently first, then the
/// constraint made from it in an instant. On a partitioned table, which has neither, the
/// constraint builds its index itself, writes waiting meanwhile.
fn add_key(table: &str, key: &KeyModel, primary: bool, partitioned: bool, add: &mut Steps) {
    if partitioned {
        let key = key.clone();
        add.push(
            Phase::Indexes,
            Statement::AddConstraint {
                table: table.into(),
                constraint: if primary {
                    Constraint::PrimaryKey {
                        key,
                        using_index: false,
                    }
                } else {
                    Constraint::Unique {
                        key,
                        using_index: false,
                    }
                },
                not_valid: false,
            },
        );
        blocks_writes_while_building(add);
        return;
    }
    add.push(
        Phase::Indexes,
        Statement::CreateKeyIndex {
            table: table.into(),
            key: key.clone(),
        },
    );
    let key = key.clone();
    add.push(
        Phase::Indexes,
        Statement::AddConstraint {
            table: table.into(),
            constraint: if primary {
                Constraint::PrimaryKey {
                    key,
                    using_index: true,
                }
            } else {
                Constraint::Unique {
                    key,
                    using_index: true,
                }
            },
            not_valid: false,
        },
    );
}

fn add_check(table: &str, check: &CheckModel, add: &mut Steps) {
    add.push(
        Phase::AddConstraints,
        Statement::AddConstraint {
            table: table.into(),
            constraint: Constraint::Check(check.clone()),
            not_valid: true,
        },
    );
    add.push(
        Phase::Validate,
        Statement::ValidateConstraint {
            table: table.into(),
            name: check.name.clone(),
        },
    );
}

/// A column converted to or from a native enum type (text to enum, enum to text, one enum type
/// to another) through its text, its default set aside for the change and put back.
fn switch_enum_column(table: &str, from: &ColumnModel, to: &ColumnModel, add: &mut Steps) {
    let set_default = |default: Option<String>| Statement::SetDefault {
        table: table.into(),
        column: to.name.clone(),
        default,
    };
    if from.default.is_some() {
        add.push(Phase::Columns, set_default(None));
    }
    // An array goes through `text[]`, element by element.
    let text = if to.sql_type.ends_with("[]") {
        "text[]"
    } else {
        "text"
    };
    let using = if to.sql_type.starts_with('"') {
        format!("{}::{text}::{}", quote_ident(&to.name), to.sql_type)
    } else {
        format!("{}::{text}", quote_ident(&to.name))
    };
    add.push(
        Phase::Columns,
        Statement::AlterColumnTypeUsing {
            table: table.into(),
            column: to.name.clone(),
            from_type: from.sql_type.clone(),
            sql_type: to.sql_type.clone(),
            using,
            lost_values: Vec::new(),
        },
    );
    if to.default.is_some() {
        add.push(Phase::Columns, set_default(to.default.clone()));
    }
}

/// The checks of `to` on the tables of `columns` that name one of those columns and that the
/// diff leaves as they are, with their tables: a check the diff changes is dropped and added
/// by the diff's own steps.
fn checks_on_columns(
    columns: &[(String, String, Option<String>, bool)],
    diff: &SchemaDiff,
    to: &SchemaModel,
) -> Vec<(String, CheckModel)> {
    let changed = |table: &str, name: &str| {
        diff.changes.iter().any(|change| match change {
            Change::AddCheck { table: t, check } | Change::DropCheck { table: t, check } => {
                t == table && check.name == name
            }
            _ => false,
        })
    };
    let mut checks: Vec<(String, CheckModel)> = Vec::new();
    for (table, column, _, _) in columns {
        let Some(model) = to.table(table) else {
            continue;
        };
        for check in &model.checks {
            let listed = checks
                .iter()
                .any(|(t, c)| t == table && c.name == check.name);
            if !listed
                && !changed(table, &check.name)
                && crate::diff::mentions(&check.expression, column)
            {
                checks.push((table.clone(), check.clone()));
            }
        }
    }
    checks
}

/// A native enum type replaced by one without some of its labels (or in another order): the
/// old type renamed aside, the new one created under the name, every column using it converted
/// through its text (its default set aside meanwhile, and the `checks` on it: PostgreSQL
/// would read them again comparing the new type with the old one), the old type dropped. Rows
/// holding a removed label make the conversion fail, so each conversion is destructive.
fn replace_enum(
    from: &EnumModel,
    to: &EnumModel,
    removed: &[String],
    columns: &[(String, String, Option<String>, bool)],
    checks: &[(String, CheckModel)],
    add: &mut Steps,
) {
    for (table, check) in checks {
        add.push(Phase::Columns, drop_constraint(table, &check.name));
    }
    // Set aside in its own PostgreSQL schema: `ALTER TYPE ... RENAME TO` keeps the schema.
    let (schema, bare) = split_qualified(&from.name);
    let aside = qualify(schema, &constraint_name(bare, [], "replaced"));
    add.push(
        Phase::Columns,
        Statement::RenameEnum {
            from: from.name.clone(),
            to: aside.clone(),
        },
    );
    add.push(Phase::Columns, Statement::CreateEnum(to.clone()));
    for (table, column, default, array) in columns {
        let set_default = |default: Option<String>| Statement::SetDefault {
            table: table.clone(),
            column: column.clone(),
            default,
        };
        // Whatever default it has now goes first (it may name a removed label, and a default
        // the code removes is dropped only after this conversion); the code's comes back after.
        add.push(Phase::Columns, set_default(None));
        let brackets = if *array { "[]" } else { "" };
        add.push(
            Phase::Columns,
            Statement::AlterColumnTypeUsing {
                table: table.clone(),
                column: column.clone(),
                from_type: format!("{}{brackets}", quote_qualified(&aside)),
                sql_type: format!("{}{brackets}", to.column_type()),
                using: format!(
                    "{}::text{brackets}::{}{brackets}",
                    quote_ident(column),
                    to.column_type()
                ),
                lost_values: removed.to_vec(),
            },
        );
        if default.is_some() {
            add.push(Phase::Columns, set_default(default.clone()));
        }
    }
    add.push(Phase::Columns, Statement::DropEnum { name: aside });
    for (table, check) in checks {
        add_check(table, check, add);
    }
}

fn alter_column(
    table: &str,
    from: &ColumnModel,
    to: &ColumnModel,
    written: &ColumnModel,
    unique_keys: &[Vec<String>],
    add: &mut Steps,
) {
    let column = || to.name.clone();
    let t = || table.to_string();
    if from.default != to.default && from.default.is_some() && from.sql_type != to.sql_type {
        // The old default may not cast to the new type.
        add.push(
            Phase::Columns,
            Statement::SetDefault {
                table: t(),
                column: column(),
                default: None,
            },
        );
    }
    if from.sql_type != to.sql_type {
        if let Some(using) = &written.using {
            add.push(
                Phase::Columns,
                Statement::AlterColumnTypeUsing {
                    table: t(),
                    column: column(),
                    from_type: from.sql_type.clone(),
                    sql_type: written.sql_type.clone(),
                    using: using.clone(),
                    lost_values: Vec::new(),
                },
            );
        } else {
            if !converts_by_itself(&from.sql_type, &written.sql_type) {
                add.1.push(Blocked::NoConversion {
                    table: t(),
                    column: column(),
                    from_type: from.sql_type.clone(),
                    to_type: written.sql_type.clone(),
                });
            }
            add.push(
                Phase::Columns,
                Statement::AlterColumnType {
                    table: t(),
                    column: column(),
                    from_type: from.sql_type.clone(),
                    sql_type: written.sql_type.clone(),
                },
            );
        }
        // Values that differ only in case become equal: a unique key on them fails the change.
        let to_citext = canonical_type(&written.sql_type) == "citext"
            && canonical_type(&from.sql_type) != "citext";
        if to_citext && unique_on(unique_keys, &to.name) {
            if let Some((_, step)) = add.0.last_mut() {
                step.hazards.push(Hazard::FailsIfValuesCollide);
            }
        }
    }
    if from.collation != to.collation {
        add.push(
            Phase::Columns,
            Statement::SetCollation {
                table: t(),
                column: column(),
                sql_type: written.sql_type.clone(),
                collation: to.collation.clone(),
            },
        );
    }
    if from.default != to.default && (to.default.is_some() || from.sql_type == to.sql_type) {
        add.push(
            Phase::Columns,
            Statement::SetDefault {
                table: t(),
                column: column(),
                default: written.default.clone(),
            },
        );
    }
    // ADD GENERATED ... AS IDENTITY needs the column NOT NULL first: no check to lean on.
    let identity_needs_not_null = from.nullable && from.identity.is_none() && to.identity.is_some();
    if identity_needs_not_null {
        add.push(
            Phase::Columns,
            Statement::SetNotNull {
                table: t(),
                column: column(),
                not_null: true,
            },
        );
    }
    if from.identity != to.identity {
        add.push(
            Phase::Columns,
            Statement::AlterIdentity {
                table: t(),
                column: column(),
                sql_type: written.sql_type.clone(),
                from: from.identity.clone(),
                to: written.identity.clone(),
            },
        );
    }
    if from.generated.is_some() && to.generated.is_none() {
        add.push(
            Phase::Columns,
            Statement::DropExpression {
                table: t(),
                column: column(),
            },
        );
    }
    if from.nullable && !to.nullable && !identity_needs_not_null {
        // Through a check validated without blocking writes: SET NOT NULL then uses it
        // instead of scanning under its exclusive lock.
        let check = CheckModel {
            name: constraint_name(
                split_qualified(table).1,
                [to.name.as_str()],
                "not_null_check",
            )
            .into_owned(),
            renamed_from: None,
            expression: format!("{} IS NOT NULL", quote_ident(&to.name)),
        };
        add_check(table, &check, add);
        add.push(
            Phase::NotNull,
            Statement::SetNotNull {
                table: t(),
                column: column(),
                not_null: true,
            },
        );
        add.push(Phase::NotNull, drop_constraint(table, &check.name));
    } else if !from.nullable && to.nullable {
        add.push(
            Phase::Columns,
            Statement::SetNotNull {
                table: t(),
                column: column(),
                not_null: false,
            },
        );
    }
    if from.comment != to.comment {
        add.push(
            Phase::Finish,
            Statement::Comment {
                table: t(),
                column: Some(column()),
                text: written.comment.clone(),
            },
        );
    }
}

/// A statement as a step: its lock, hazards and timeouts.
fn step(statement: Statement) -> Step {
    use Hazard::*;
    use Statement as S;
    let (lock, hazards, destructive): (Lock, Vec<Hazard>, Option<Destructive>) = match &statement {
        S::CreateRole { .. } => (Lock::None, vec![], None),
        S::DropRole { .. } => (Lock::None, vec![BreaksRunningCode], None),
        S::CreateExtension { .. } | S::CreateNamespace { .. } => (Lock::None, vec![], None),
        S::NamespaceUsage { grant: true, .. } => (Lock::None, vec![], None),
        S::NamespaceUsage { grant: false, .. }
        | S::DropExtension { .. }
        | S::DropNamespace { .. } => (Lock::None, vec![BreaksRunningCode], None),
        S::CreateTable(table) if table.foreign_keys.is_empty() => (Lock::None, vec![], None),
        S::CreatePartitionedTable { .. } => (Lock::None, vec![], None),
        S::CreateTable(_) => (Lock::ShareRowExclusive, vec![], None),
        S::DropTable { table } => (
            Lock::AccessExclusive,
            vec![DeletesData, BreaksRunningCode],
            Some(Destructive {
                object: table.clone(),
                reason: "drops the table and every row in it".into(),
            }),
        ),
        S::RenameTable { .. } | S::RenameColumn { .. } | S::SetSchema { .. } => {
            (Lock::AccessExclusive, vec![BreaksRunningCode], None)
        }
        S::AddColumn { column, .. } => {
            let mut hazards = Vec::new();
            let computed = column.identity.is_some() || column.generated.is_some();
            if !column.nullable && column.default.is_none() && !computed {
                hazards.push(FailsIfRowsExist);
            }
            // An identity numbers every row, a generated column computes every row's value.
            if column.default.as_deref().is_some_and(volatile_default) || computed {
                hazards.extend([RewritesTable, BlocksReadsAndWrites]);
            }
            (Lock::AccessExclusive, hazards, None)
        }
        S::AlterIdentity { to, .. } => {
            // Dropping the identity breaks inserts that leave the column to it.
            let hazards = if to.is_none() {
                vec![BreaksRunningCode]
            } else {
                vec![]
            };
            (Lock::AccessExclusive, hazards, None)
        }
        S::DropExpression { .. } => (Lock::AccessExclusive, vec![BreaksRunningCode], None),
        S::DropColumn { table, column } => (
            Lock::AccessExclusive,
            vec![DeletesData, BreaksRunningCode],
            Some(Destructive {
                object: format!("{table}.{column}"),
                reason: "drops the column and its values".into(),
            }),
        ),
        S::AlterColumnType {
            table,
            column,
            from_type,
            sql_type,
        } => match type_change(from_type, sql_type) {
            (false, _) => (Lock::AccessExclusive, vec![], None),
            (true, loss) => (
                Lock::AccessExclusive,
                vec![RewritesTable, BlocksReadsAndWrites]
                    .into_iter()
                    .chain(loss.is_some().then_some(DeletesData))
                    .collect(),
                loss.map(|reason| Destructive {
                    object: format!("{table}.{column}"),
                    reason,
                }),
            ),
        },
        S::SetDefault { .. } | S::SetNotNull { .. } => (Lock::AccessExclusive, vec![], None),
        S::AddConstraint {
            constraint: Constraint::ForeignKey(_),
            ..
        } => (Lock::ShareRowExclusive, vec![], None),
        S::AddConstraint { .. } | S::DropConstraint { .. } | S::RenameConstraint { .. } => {
            (Lock::AccessExclusive, vec![], None)
        }
        S::ValidateConstraint { .. } => (Lock::ShareUpdateExclusive, vec![ScansToValidate], None),
        S::CreateIndex {
            concurrently: true, ..
        } => (Lock::ShareUpdateExclusive, vec![BuildsIndex], None),
        S::CreateIndex { .. } => (Lock::Share, vec![], None),
        S::CreateKeyIndex { .. } => (Lock::ShareUpdateExclusive, vec![BuildsIndex], None),
        S::DropIndex {
            concurrently: true, ..
        } => (Lock::ShareUpdateExclusive, vec![DropsIndex], None),
        S::DropIndex { .. } => (Lock::AccessExclusive, vec![DropsIndex], None),
        S::RenameIndex { .. } => (Lock::AccessExclusive, vec![], None),
        S::Comment { .. } => (Lock::ShareUpdateExclusive, vec![], None),
        S::CreateGuardFunction { .. } | S::DropFunction { .. } => (Lock::None, vec![], None),
        S::CreateSequence { .. } => (Lock::None, vec![], None),
        // Indexes on the column are built again with the collation.
        S::SetCollation { .. } => (Lock::AccessExclusive, vec![BlocksReadsAndWrites], None),
        S::ReplicaIdentity { .. } => (Lock::AccessExclusive, vec![], None),
        S::SequenceOwnedBy { .. } => (Lock::AccessExclusive, vec![], None),
        S::CreateGuardTrigger { .. } => (Lock::ShareRowExclusive, vec![], None),
        S::DropTrigger { .. } => (Lock::AccessExclusive, vec![], None),
        S::RowLevelSecurity { .. }
        | S::ForceRowLevelSecurity { .. }
        | S::CreatePolicy { .. }
        | S::AlterPolicy { .. }
        | S::DropPolicy { .. }
        | S::RenamePolicy { .. } => (Lock::AccessExclusive, vec![], None),
        S::Grant { .. } | S::Revoke { .. } => (Lock::None, vec![], None),
        S::RewriteValue { .. } => (Lock::RowExclusive, vec![UpdatesRows, BlocksWrites], None),
        S::CreateEnum(_) | S::AddEnumValue { .. } => (Lock::None, vec![], None),
        S::RenameEnum { .. } | S::RenameEnumValue { .. } | S::DropEnum { .. } => {
            (Lock::None, vec![BreaksRunningCode], None)
        }
        S::AlterColumnTypeUsing {
            table,
            column,
            lost_values,
            ..
        } => {
            let mut hazards = vec![RewritesTable, BlocksReadsAndWrites];
            let reason = if !lost_values.is_empty() {
                Some(format!(
                    "removes the values {} of its enum type: rows holding them make the change fail",
                    lost_values
                        .iter()
                        .map(|v| quote_literal(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            } else {
                None
            };
            if reason.is_some() {
                hazards.push(DeletesData);
            }
            (
                Lock::AccessExclusive,
                hazards,
                reason.map(|reason| Destructive {
                    object: format!("{table}.{column}"),
                    reason,
                }),
            )
        }
    };
    let grows = hazards.iter().any(|h| {
        matches!(
            h,
            RewritesTable | BuildsIndex | ScansToValidate | UpdatesRows
        )
    });
    Step {
        sql: statement.to_string(),
        transactional: statement.transactional(),
        // A validation runs in a transaction of its own: in the one that added the constraint
        // NOT VALID it would hold that step's lock while it scans.
        isolated: matches!(statement, Statement::ValidateConstraint { .. }),
        lock,
        hazards,
        lock_timeout: LOCK_TIMEOUT,
        statement_timeout: if grows { None } else { BRIEF },
        destructive,
        statement,
    }
}

/// Whether a default is evaluated per row (so adding the column rewrites the table): a
/// function call other than the stable clock functions. Constants and `now()` are stored once.
fn volatile_default(default: &str) -> bool {
    let lower = default.to_ascii_lowercase();
    let stable = [
        "now()",
        "current_timestamp",
        "current_date",
        "transaction_timestamp()",
        "localtimestamp",
    ];
    lower.contains('(') && !stable.iter().any(|s| lower.starts_with(s))
}

/// Type names as the code and the catalog spell them, in one spelling.
fn canonical_type(sql_type: &str) -> String {
    let t = sql_type.trim().to_ascii_lowercase();
    let t = t
        .replace("character varying", "varchar")
        .replace("timestamp with time zone", "timestamptz")
        .replace("timestamp without time zone", "timestamp")
        .replace("time without time zone", "time");
    match t.as_str() {
        "int" | "int4" => "integer".into(),
        "int2" => "smallint".into(),
        "int8" => "bigint".into(),
        "float4" => "real".into(),
        "float8" => "double precision".into(),
        "bool" => "boolean".into(),
        _ => t,
    }
}

/// How a type change affects the rows: `None` when no value can be lost, else why.
fn type_change(from: &str, to: &str) -> (bool, Option<String>) {
    if let Some(change) = modifier_change(from, to) {
        return change;
    }
    let (from, to) = (canonical_type(from), canonical_type(to));
    let varchar = |t: &str| -> Option<Option<u32>> {
        if t == "text" || t == "varchar" {
            Some(None)
        } else {
            t.strip_prefix("varchar(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|n| n.parse().ok())
                .map(Some)
        }
    };
    if let (Some(a), Some(b)) = (varchar(&from), varchar(&to)) {
        // Widening text is done in place; narrowing rewrites and fails on longer values.
        return match (a, b) {
            (_, None) => (false, None),
            (Some(a), Some(b)) if b >= a => (false, None),
            _ => (
                true,
                Some(format!(
                    "narrows {from} to {to}: longer values fail the change"
                )),
            ),
        };
    }
    // Any text converts to citext (the table is rewritten), and citext to unbounded text.
    if (to == "citext" && varchar(&from).is_some())
        || (from == "citext" && varchar(&to) == Some(None))
    {
        return (true, None);
    }
    let rank = |t: &str| match t {
        "smallint" => Some((0, 1)),
        "integer" => Some((0, 2)),
        "bigint" => Some((0, 3)),
        "real" => Some((1, 1)),
        "double precision" => Some((1, 2)),
        _ => None,
    };
    match (rank(&from), rank(&to)) {
        (Some((ka, a)), Some((kb, b))) if ka == kb && b >= a => (true, None),
        _ => (
            true,
            Some(format!("changes {from} to {to}: values may not convert")),
        ),
    }
}

/// A type with its modifiers, in one spelling for the code's and the catalog's:
/// `numeric(12,2)`, `timestamp(3) with time zone` and `timestamptz(3)`, `character(3)` and
/// `char(3)`. The modifiers are `None` where the type has none (plain `numeric`) and the
/// default is written out where PostgreSQL has one (`timestamp` keeps 6 digits).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Modified {
    /// `numeric(precision,scale)`, or any precision; the scale may be negative (PostgreSQL
    /// 15 and later: values rounded to tens, hundreds, ...).
    Numeric(Option<(i64, i64)>),
    /// `timestamp`, `timestamptz`, `time` (by name) with their precision.
    Fraction(&'static str, u32),
    /// `char(n)`.
    Char(u32),
}

fn modified(sql_type: &str) -> Option<Modified> {
    let t = sql_type.trim().to_ascii_lowercase();
    let (name, args, rest) = match t.split_once('(') {
        Some((name, after)) => {
            let (args, rest) = after.split_once(')')?;
            (name.trim(), Some(args), rest.trim())
        }
        None => match t.split_once(' ') {
            Some((name, rest)) => (name, None, rest.trim()),
            None => (t.as_str(), None, ""),
        },
    };
    let numbers: Option<Vec<i64>> = args.map(|a| {
        a.split(',')
            .map(|n| n.trim().parse().ok())
            .collect::<Option<Vec<i64>>>()
            .unwrap_or_default()
    });
    let one = |default: u32| match numbers.as_deref() {
        None => Some(default),
        Some([n]) => u32::try_from(*n).ok(),
        _ => None,
    };
    Some(match (name, rest) {
        ("numeric" | "decimal", "") => Modified::Numeric(match numbers.as_deref() {
            None => None,
            Some([p]) => Some((*p, 0)),
            Some([p, s]) => Some((*p, *s)),
            _ => return None,
        }),
        ("timestamp", "" | "without time zone") => Modified::Fraction("timestamp", one(6)?),
        ("timestamptz", "") | ("timestamp", "with time zone") => {
            Modified::Fraction("timestamptz", one(6)?)
        }
        ("time", "" | "without time zone") => Modified::Fraction("time", one(6)?),
        ("char" | "character" | "bpchar", "") => Modified::Char(one(1)?),
        _ => return None,
    })
}

/// How a change of a type's modifiers (a numeric's precision and scale, a timestamp's or
/// time's precision, a char's length), or of an array's element type, affects the rows;
/// `None` for the changes [`type_change`] judges itself.
fn modifier_change(from: &str, to: &str) -> Option<(bool, Option<String>)> {
    let (from_t, to_t) = (from.trim(), to.trim());
    if let (Some(from_element), Some(to_element)) =
        (from_t.strip_suffix("[]"), to_t.strip_suffix("[]"))
    {
        // An array's elements are converted one by one: the table is rewritten, and values
        // are lost where its elements' would be.
        let (_, loss) = type_change(from_element, to_element);
        return Some((true, loss));
    }
    let (a, b) = (modified(from_t)?, modified(to_t)?);
    let lossy = |what: &str| Some((true, Some(format!("changes {from_t} to {to_t}: {what}"))));
    match (a, b) {
        (Modified::Numeric(a), Modified::Numeric(b)) => match (a, b) {
            (_, None) => Some((false, None)),
            (Some((p1, s1)), Some((p2, s2))) if s1 == s2 && p2 >= p1 => Some((false, None)),
            (Some((p1, s1)), Some((p2, s2))) if s2 >= s1 && p2 - s2 >= p1 - s1 => {
                Some((true, None))
            }
            _ => lossy("values may overflow the precision or be rounded to the scale"),
        },
        // PostgreSQL keeps the values of a more precise timestamp or time as they are.
        (Modified::Fraction(k1, p1), Modified::Fraction(k2, p2)) if k1 == k2 => {
            if p2 >= p1 {
                Some((false, None))
            } else {
                lossy("values are rounded to fewer fractional digits")
            }
        }
        (Modified::Char(n1), Modified::Char(n2)) => {
            if n2 >= n1 {
                Some((true, None))
            } else {
                lossy("longer values fail the change")
            }
        }
        _ => None,
    }
}

impl Plan {
    /// Whether the plan does nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The destructive steps whose object `allow` does not name, and the changes the plan
    /// cannot make ([`Plan::blocked`], refused whatever is allowed); `Ok` when there are none.
    /// Objects are named `table` (dropping it) or `table.column` (dropping, narrowing or
    /// removing values of it).
    pub fn check_allowed(&self, allow: &[&str]) -> Result<(), Refused> {
        let steps: Vec<Step> = self
            .steps
            .iter()
            .filter(|s| {
                s.destructive
                    .as_ref()
                    .is_some_and(|d| !allow.contains(&d.object.as_str()))
            })
            .cloned()
            .collect();
        if steps.is_empty() && self.blocked.is_empty() {
            Ok(())
        } else {
            Err(Refused {
                steps,
                blocked: self.blocked.clone(),
            })
        }
    }

    /// The plan as one SQL script for `psql -v ON_ERROR_STOP=1`: the encoding it is written in
    /// and its search path first ([`ENCODING_HEADER`](crate::render::ENCODING_HEADER)), then
    /// each run of
    /// transactional steps in one transaction, each `CONCURRENTLY` step on its own; every step
    /// preceded by its timeouts and a comment naming its lock and hazards.
    pub fn to_script(&self) -> String {
        self.to_script_with("")
    }

    /// [`Plan::to_script`] with `preamble` (comment lines, say) between the encoding header and
    /// the steps.
    pub fn to_script_with(&self, preamble: &str) -> String {
        crate::render::psql_script(&format!("{preamble}{}", self.steps_script()))
    }

    /// The steps of [`Plan::to_script`], without its encoding header.
    fn steps_script(&self) -> String {
        let mut script = String::new();
        let mut in_transaction = false;
        for step in &self.steps {
            let opens = step.transactional && (!in_transaction || step.isolated);
            if in_transaction && (!step.transactional || step.isolated) {
                script.push_str("COMMIT;\n\n");
                in_transaction = false;
            }
            if opens {
                script.push_str("BEGIN;\n");
                in_transaction = true;
            }
            script.push_str(&format!("-- lock: {:?}", step.lock));
            if !step.hazards.is_empty() {
                let hazards: Vec<String> = step.hazards.iter().map(|h| format!("{h:?}")).collect();
                script.push_str(&format!("; hazards: {}", hazards.join(", ")));
            }
            script.push('\n');
            for setting in step.settings(step.transactional) {
                script.push_str(&setting);
                script.push_str(";\n");
            }
            if let Some((schema, index)) = step.statement.concurrently_built_index() {
                // The plan builds an index the database has no valid copy of: one of that name
                // is what a failed concurrent build left, invalid, and IF NOT EXISTS would keep.
                script.push_str(&format!(
                    "DROP INDEX CONCURRENTLY IF EXISTS {};\n",
                    crate::sql::quote_in_schema(schema, index)
                ));
            }
            script.push_str(&step.sql);
            script.push_str(";\n");
            if step.isolated {
                script.push_str("COMMIT;\n\n");
                in_transaction = false;
            }
        }
        if in_transaction {
            script.push_str("COMMIT;\n");
        }
        script
    }
}

impl Step {
    /// The `SET` statements of its timeouts: `SET LOCAL` inside a transaction.
    pub fn settings(&self, local: bool) -> Vec<String> {
        let set = if local { "SET LOCAL" } else { "SET" };
        let ms = |d: Option<Duration>| d.map_or(0, |d| d.as_millis());
        vec![
            format!(
                "{set} lock_timeout = {}",
                quote_literal(&format!("{}ms", self.lock_timeout.as_millis()))
            ),
            format!(
                "{set} statement_timeout = {}",
                quote_literal(&format!("{}ms", ms(self.statement_timeout)))
            ),
        ]
    }
}

/// The sequence a new column's `nextval('...')` default draws from (a `serial` column's),
/// created before the column (if it is not there already) and owned by it after.
fn create_sequence(table: &str, column: &ColumnModel, phase: Phase, add: &mut Steps) {
    let Some(name) = column
        .default
        .as_deref()
        .and_then(Statement::sequence_of_default)
    else {
        return;
    };
    add.push(
        phase,
        Statement::CreateSequence {
            name: name.clone(),
            sql_type: crate::render::sequence_type(&canonical_type(&column.sql_type)),
        },
    );
    if crate::render::same_schema(&name, table) {
        add.push(
            Phase::Finish,
            Statement::SequenceOwnedBy {
                name,
                table: table.into(),
                column: column.name.clone(),
            },
        );
    }
}

/// Whether `table` is a partitioned table in the target.
fn is_partitioned(to: &SchemaModel, table: &str) -> bool {
    to.table(table).is_some_and(|t| t.partition_by.is_some())
}

/// Whether `table` is a partition of another in the target.
fn is_partition(to: &SchemaModel, table: &str) -> bool {
    to.table(table).is_some_and(|t| t.partition_of.is_some())
}

/// The last step builds an index in one statement: it takes time and I/O in proportion to the
/// table, and writes wait for it.
fn blocks_writes_while_building(add: &mut Steps) {
    if let Some((_, step)) = add.0.last_mut() {
        step.hazards
            .extend([Hazard::BuildsIndex, Hazard::BlocksWrites]);
        step.statement_timeout = None;
    }
}

/// Whether the target holds the constraint `NOT VALID` (a model read from a database can): it
/// is added so, and not validated.
fn left_not_valid(to: &SchemaModel, table: &str, name: &str) -> bool {
    to.table(table)
        .is_some_and(|t| t.not_valid.iter().any(|n| n == name))
}

/// The column sets of a table's primary key, unique constraints and unique indexes on columns.
fn unique_keys(table: &crate::model::TableModel) -> Vec<Vec<String>> {
    let mut keys: Vec<Vec<String>> = table
        .primary_key
        .iter()
        .chain(&table.unique)
        .map(|k| k.columns.clone())
        .collect();
    keys.extend(
        table
            .indexes
            .iter()
            .filter(|i| i.unique && i.keys.iter().all(|k| !k.expression))
            .map(|i| i.keys.iter().map(|k| k.column.clone()).collect()),
    );
    keys
}

/// Whether one of `keys` holds `column`.
fn unique_on(keys: &[Vec<String>], column: &str) -> bool {
    keys.iter().any(|k| k.iter().any(|c| c == column))
}

/// Whether PostgreSQL converts a column's values from `from` to `to` without `USING`: an
/// assignment cast between built-in types it knows (any type to text; numbers among
/// themselves; dates and times where `pg_cast` has one; `json` and `jsonb`; `inet` and `cidr`).
/// A type it does not know (an enum, a domain, an extension's) is left to the server.
fn converts_by_itself(from: &str, to: &str) -> bool {
    let base = |t: &str| {
        let t = canonical_type(t);
        let (element, array) = match t.strip_suffix("[]") {
            Some(element) => (element.to_string(), true),
            None => (t, false),
        };
        let name = element
            .split('(')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        (name, array)
    };
    let family = |t: &str| match t {
        "text" | "varchar" | "character" | "char" | "bpchar" | "citext" | "name" => Some("string"),
        "smallint" | "integer" | "bigint" | "real" | "double precision" | "numeric" | "decimal" => {
            Some("number")
        }
        "boolean" => Some("boolean"),
        "date"
        | "timestamp"
        | "timestamptz"
        | "time"
        | "timetz"
        | "time with time zone"
        | "interval" => Some("time"),
        "json" | "jsonb" => Some("json"),
        "uuid" => Some("uuid"),
        "bytea" => Some("bytea"),
        "inet" | "cidr" => Some("inet"),
        _ => None,
    };
    let ((from, from_array), (to, to_array)) = (base(from), base(to));
    let (Some(from_family), Some(to_family)) = (family(&from), family(&to)) else {
        return true;
    };
    if from_array != to_array {
        return false;
    }
    if from == to || to_family == "string" {
        return true;
    }
    if from_family != to_family {
        return false;
    }
    if from_family != "time" {
        return true;
    }
    let to = if to == "time with time zone" {
        "timetz"
    } else {
        to.as_str()
    };
    let from = if from == "time with time zone" {
        "timetz"
    } else {
        from.as_str()
    };
    matches!(
        (from, to),
        ("date", "timestamp" | "timestamptz")
            | ("timestamp", "date" | "time" | "timestamptz")
            | ("timestamptz", "date" | "time" | "timestamp" | "timetz")
            | ("time", "interval" | "timetz")
            | ("interval", "time")
            | ("timetz", "time")
    )
}

/// Whether a new table's foreign key must wait until the end of the plan's table changes: it
/// references a table whose keys or columns the plan changes, or a table the plan creates
/// after this one.
fn references_what_comes_later(
    table: &str,
    fk: &crate::model::ForeignKeyModel,
    diff: &SchemaDiff,
) -> bool {
    let target = fk.references_table.as_str();
    if target == table {
        return false;
    }
    let mut seen_self = false;
    diff.changes.iter().any(|change| match change {
        Change::CreateTable(t) if t.name == table => {
            seen_self = true;
            false
        }
        Change::CreateTable(t) => t.name == target && seen_self,
        Change::PrimaryKey { table: t, .. }
        | Change::AddUnique { table: t, .. }
        | Change::AddColumn { table: t, .. }
        | Change::AddIndex { table: t, .. } => t == target,
        _ => false,
    })
}

/// The columns of `table` the diff drops or changes the type of (or computes anew).
fn columns_going(diff: &SchemaDiff, table: &str) -> Vec<String> {
    diff.changes
        .iter()
        .filter_map(|change| match change {
            Change::DropColumn { table: t, column } if t == table => Some(column.name.clone()),
            Change::RecomputeColumn { table: t, from, .. } if t == table => Some(from.name.clone()),
            Change::AlterColumn { table: t, from, to } if t == table => {
                (from.sql_type != to.sql_type).then(|| from.name.clone())
            }
            _ => None,
        })
        .collect()
}

/// Whether a policy's predicates name `column`.
fn policy_mentions(policy: &crate::model::PolicyModel, column: &str) -> bool {
    policy
        .using
        .iter()
        .chain(policy.with_check.iter())
        .any(|sql| crate::diff::mentions(sql, column))
}

/// The policies of `table` the diff leaves as they are but that name `column`, whose type
/// changes: PostgreSQL refuses to change the type of a column a policy uses, so each is
/// dropped before the change and created again after it.
fn recreate_policies_on(
    table: &str,
    column: &str,
    diff: &SchemaDiff,
    to: &SchemaModel,
    add: &mut Steps,
) {
    let Some(model) = to.table(table) else {
        return;
    };
    for policy in &model.policies {
        let changed = diff.changes.iter().any(|c| match c {
            Change::AddPolicy {
                table: t,
                policy: p,
            }
            | Change::DropPolicy {
                table: t,
                policy: p,
            } => t == table && p.name == policy.name,
            Change::AlterPolicy {
                table: t, to: p, ..
            } => t == table && p.name == policy.name,
            Change::RenamePolicy { table: t, to, .. } => t == table && *to == policy.name,
            _ => false,
        });
        let planned = add.0.iter().any(|(_, s)| {
            matches!(&s.statement, Statement::DropPolicy { table: t, name } if t == table && *name == policy.name)
        });
        if !changed && !planned && policy_mentions(policy, column) {
            add.push(
                Phase::Unhook,
                Statement::DropPolicy {
                    table: table.into(),
                    name: policy.name.clone(),
                },
            );
            add.push(
                Phase::Finish,
                Statement::CreatePolicy {
                    table: table.into(),
                    policy: policy.clone(),
                },
            );
        }
    }
}

/// Foreign keys the diff keeps that reference a key it drops (a primary key replaced, a unique
/// constraint or index dropped): PostgreSQL refuses to drop the key while they point at it, so
/// each is dropped first and added again once the new key is there.
fn repoint_foreign_keys(diff: &SchemaDiff, to: &SchemaModel, add: &mut Steps) {
    let sorted = |columns: &[String]| {
        let mut columns = columns.to_vec();
        columns.sort();
        columns
    };
    let dropped: Vec<(&str, Vec<String>)> = diff
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::PrimaryKey {
                table,
                from: Some(key),
                ..
            }
            | Change::DropUnique { table, key } => Some((table.as_str(), sorted(&key.columns))),
            Change::DropIndex { table, index }
                if index.unique && index.keys.iter().all(|k| !k.expression) =>
            {
                let columns: Vec<String> = index.keys.iter().map(|k| k.column.clone()).collect();
                Some((table.as_str(), sorted(&columns)))
            }
            _ => None,
        })
        .collect();
    if dropped.is_empty() {
        return;
    }
    for table in &to.tables {
        for fk in &table.foreign_keys {
            let points_at_dropped = dropped.iter().any(|(t, columns)| {
                *t == fk.references_table && *columns == sorted(&fk.references_columns)
            });
            let planned = diff.changes.iter().any(|c| match c {
                Change::AddForeignKey {
                    table: t,
                    foreign_key,
                }
                | Change::DropForeignKey {
                    table: t,
                    foreign_key,
                } => *t == table.name && foreign_key.name == fk.name,
                Change::CreateTable(t) => t.name == table.name,
                _ => false,
            });
            if points_at_dropped && !planned {
                let partitioned = table.partition_by.is_some();
                add.push(Phase::Unhook, drop_constraint(&table.name, &fk.name));
                add.push(
                    Phase::ForeignKeys,
                    Statement::AddConstraint {
                        table: table.name.clone(),
                        constraint: Constraint::ForeignKey(fk.clone()),
                        not_valid: !partitioned,
                    },
                );
                if partitioned {
                    continue;
                }
                add.push(
                    Phase::ValidateForeignKeys,
                    Statement::ValidateConstraint {
                        table: table.name.clone(),
                        name: fk.name.clone(),
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod modifier_tests {
    use super::{converts_by_itself, type_change};

    #[test]
    fn only_conversions_postgresql_makes_by_itself_go_without_using() {
        for (from, to) in [
            ("integer", "text"),
            ("uuid", "character varying(36)"),
            ("text", "citext"),
            ("integer", "bigint"),
            ("numeric(10,2)", "integer"),
            ("timestamp without time zone", "timestamptz"),
            ("date", "timestamp"),
            ("json", "jsonb"),
            ("integer[]", "bigint[]"),
            // Types the plan does not know are left to the server.
            ("text", "\"ticket_status\""),
            ("text", "ltree"),
        ] {
            assert!(converts_by_itself(from, to), "{from} -> {to}");
        }
        for (from, to) in [
            ("text", "integer"),
            ("character varying(20)", "uuid"),
            ("integer", "boolean"),
            ("text", "jsonb"),
            ("date", "time"),
            ("text", "text[]"),
            ("timestamptz", "integer"),
        ] {
            assert!(!converts_by_itself(from, to), "{from} -> {to}");
        }
    }

    #[test]
    fn modifier_changes_say_whether_they_rewrite_and_what_they_lose() {
        let judged = |from: &str, to: &str| {
            let (rewrites, loss) = type_change(from, to);
            (rewrites, loss.is_some())
        };
        // The catalog's spelling on the left, the code's on the right.
        assert_eq!(judged("numeric(10,2)", "numeric(12,2)"), (false, false));
        assert_eq!(judged("numeric(10,2)", "numeric"), (false, false));
        assert_eq!(judged("numeric(10,2)", "numeric(11,3)"), (true, false));
        assert_eq!(judged("numeric(12,2)", "numeric(10,2)"), (true, true));
        assert_eq!(judged("numeric(10,2)", "numeric(10,1)"), (true, true));
        assert_eq!(judged("numeric", "numeric(10,2)"), (true, true));
        assert_eq!(
            judged("timestamp(3) without time zone", "timestamp(6)"),
            (false, false)
        );
        assert_eq!(
            judged("timestamp with time zone", "timestamptz(3)"),
            (true, true)
        );
        assert_eq!(judged("time(2) without time zone", "time"), (false, false));
        assert_eq!(judged("character(3)", "char(5)"), (true, false));
        assert_eq!(judged("character(5)", "char(3)"), (true, true));
        assert_eq!(judged("text[]", "varchar(20)[]"), (true, true));
        assert_eq!(
            judged("character varying(20)[]", "varchar(30)[]"),
            (true, false)
        );
        assert_eq!(judged("integer[]", "bigint[]"), (true, false));
        assert_eq!(judged("integer", "bigint"), (true, false));
    }
}
