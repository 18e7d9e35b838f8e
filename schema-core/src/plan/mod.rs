//! A plan from a [`SchemaDiff`]: ordered steps, each a typed [`Statement`] with its SQL, whether
//! it may run inside a transaction, the lock it takes, its hazards and its timeouts.
//!
//! Plans are online by default: indexes are built and dropped `CONCURRENTLY` (outside a
//! transaction); foreign keys and checks are added `NOT VALID` and validated in a later step;
//! `SET NOT NULL` goes through a validated check; a column with a constant default is added
//! without a rewrite; `varchar` is widened in place. A plan holding a step that loses data
//! (dropping a table or a column, narrowing a type, removing an enum value) is refused by
//! [`Plan::check_allowed`] unless the caller allows that object by name.
//!
//! The steps of each kind of change are in the module of its kind of object: `tables`,
//! `columns`, `constraints` (keys, foreign keys, checks), `indexes`, `security` (roles,
//! privileges, policies) and `enums`; this one orders them and says what each step costs.

use std::fmt;
use std::time::Duration;

mod columns;
mod constraints;
mod enums;
mod indexes;
mod security;
mod tables;

use columns::*;
use constraints::*;
use indexes::*;
use security::*;
use tables::*;

use crate::diff::{Change, ObjectKind, SchemaDiff};
use crate::model::{CheckModel, ColumnModel, EnumModel, KeyModel, SchemaModel};
use crate::render::{
    attach_partition_statements, create_table_statements, grant_statements, guard_statements,
    Constraint, Statement,
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
    /// Functions whose bodies PostgreSQL does not track name what it drops, renames or
    /// retypes: they fail when next called (found by
    /// [`untracked_dependents`](crate::pg::evolve::untracked_dependents), which notes them).
    UntrackedDependencies,
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
    /// Notes for the reader: dropped and added objects that look like an undeclared rename,
    /// functions that may use what the plan changes.
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
    /// A partition's own keys and indexes, before the partitioned table's: an index built on
    /// the partitioned table then takes a partition's matching one as its part rather than
    /// building another.
    PartitionIndexes,
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
    match change.object() {
        ObjectKind::Tables => tables::plan(change, diff, to, add),
        ObjectKind::Columns => columns::plan(change, diff, to, add),
        ObjectKind::Constraints => constraints::plan(change, diff, to, add),
        ObjectKind::Indexes => indexes::plan(change, diff, to, add),
        ObjectKind::Security => security::plan(change, diff, to, add),
        ObjectKind::Enums => enums::plan(change, diff, to, add),
    }
}

fn target_table<'a>(to: &'a SchemaModel, table: &str) -> Option<&'a crate::model::TableModel> {
    to.table(table)
}

/// A statement as a step: its lock, hazards and timeouts.
pub(crate) fn step(statement: Statement) -> Step {
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
        // The table is new and empty: checking its rows against the bound takes no time.
        S::AttachPartition { .. } => (Lock::ShareUpdateExclusive, vec![], None),
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
        S::RenameIndex { .. } | S::AttachIndex { .. } | S::NamePart { .. } => {
            (Lock::AccessExclusive, vec![], None)
        }
        S::Comment { .. } => (Lock::ShareUpdateExclusive, vec![], None),
        S::CreateGuardFunction { .. } | S::DropFunction { .. } => (Lock::None, vec![], None),
        S::CreateSequence { .. } => (Lock::None, vec![], None),
        // Code that still calls nextval() on it breaks.
        S::DropSequence { .. } => (Lock::None, vec![BreaksRunningCode], None),
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
        // Citus's distribution calls move the table's rows into shards: writes wait (the
        // concurrent form lets them go on, outside a transaction).
        S::Target {
            transactional: false,
            ..
        } => (Lock::ShareUpdateExclusive, vec![], None),
        S::Target { table: None, .. } => (Lock::None, vec![], None),
        S::Target { .. } => (Lock::AccessExclusive, vec![], None),
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
