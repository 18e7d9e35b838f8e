//! The Citus target: what it changes in the DDL, the rules Citus enforces (checked before
//! anything is sent, in Citus's own words), and what the drivers send on it.
//!
//! One model, rendered for Citus:
//!
//! - **Reference tables** (`#[pg(reference)]`: code lists, and the tenant root when it keeps
//!   global unique keys, as `providers` keeps `npi` and `email`) are copied to every node:
//!   `SELECT create_reference_table('providers')` right after their `CREATE TABLE`.
//! - **Tenant tables** are distributed by their tenant column, all colocated with the first
//!   one (so joins and foreign keys between them stay on one node): `SELECT
//!   create_distributed_table('support_tickets', 'provider_id', colocate_with => ...)` right
//!   after their `CREATE TABLE`, in foreign-key order. A tenant root that is not a reference
//!   table is distributed by its key the same way.
//! - **Keys.** Citus refuses a primary key without the distribution column, so the target
//!   widens a tenant table's primary key to start with it (`(provider_id, ticket_id)`, as
//!   activerecord-multi-tenant does): a typed `get` in a tenant scope keeps working, since the
//!   scope adds `"provider_id" = $n` itself. A unique constraint or unique index is not
//!   widened, because that would change what it means (unique per tenant rather than
//!   everywhere): one without the tenant column is refused with Citus's message; declare it
//!   with the tenant column, or make the table a reference table.
//! - **Triggers.** Citus distributes no table that has triggers and creates triggers on
//!   distributed tables only with `citus.enable_unsafe_triggers`: the script turns it on
//!   first. The immutable guard and the insert guard below are row-level triggers that read
//!   only the row they fire for, so they are safe on the shards (Citus's warning is about
//!   triggers that reach other shards).
//! - **Inserts by a role with column grants.** The coordinator fills in a row's defaults
//!   itself and sends them to the shard explicitly, so a role allowed to insert only some
//!   columns (a physician) would be refused on the shard. On Citus, such a role is granted
//!   `INSERT` on the defaulted columns too, and a `BEFORE INSERT` trigger,
//!   `{table}_insert_defaults`, puts those columns back to their defaults when the current
//!   role is that role: a physician still cannot backdate or close a ticket.
//!
//! - **Roles.** Citus opens its connections to the workers as the current role, which inside a
//!   scoped transaction is the scope's role (`SET LOCAL ROLE physician`): a `NOLOGIN` role is
//!   refused there ("role \"physician\" is not permitted to log in"). The Citus script gives
//!   the roles it creates `LOGIN` (still without a password): the deployment's `pg_hba.conf`
//!   must let them in only from the cluster's own nodes, never from clients.
//!
//! Everything else (policies, grants, comments, indexes, the immutable guard) is the plain
//! target's DDL: Citus propagates it to the shards.

use std::borrow::Cow;

use crate::def::{PolicyDef, ReferentialAction, SqlPart, TableDef, TenantDef};
use crate::error::SchemaError;
use crate::model::{GrantModel, SchemaModel, TableModel};
use crate::render::{psql_script, Statement, StatementGroup};
use crate::sql::{quote_ident, quote_literal};
use crate::Schema;

/// What a tenant transaction sends first on Citus, alone in its query: with it, the
/// transaction's `SET LOCAL`s (its role and tenant setting) reach the workers.
pub const PROPAGATE_SET_LOCAL: &str = "SET LOCAL citus.propagate_set_commands = 'local'";

/// What the Citus script sets first: triggers on distributed tables (the immutable guard, the
/// insert guard) are created only with it.
pub const ENABLE_TRIGGERS: &str = "SET citus.enable_unsafe_triggers = on";

/// Citus's message for a key or unique constraint without the distribution column
/// (`commands/table.c`).
pub const KEY_WITHOUT_DISTRIBUTION_COLUMN: &str = "Distributed relations cannot have UNIQUE, EXCLUDE, or PRIMARY KEY constraints that do not include the partition column (with an equality operator if EXCLUDE).";

/// Citus's detail for a foreign key between distributed tables without the distribution
/// column at the same position (`commands/foreign_constraint.c`).
pub const FOREIGN_KEY_TWO_CASES: &str = "Foreign keys are supported in two cases, either in between two colocated tables including partition column in the same ordinal in the both tables or from distributed to reference tables";

/// Citus's message for a foreign key from a reference or local table to a distributed one.
pub const FOREIGN_KEY_TO_DISTRIBUTED: &str = "cannot create foreign key constraint since foreign keys from reference tables and local tables to distributed tables are not supported";

/// Citus's detail for `ON DELETE SET NULL / SET DEFAULT` on a foreign key holding the
/// distribution column.
pub const SET_NULL_ON_DISTRIBUTION_KEY: &str = "SET NULL or SET DEFAULT is not supported in ON DELETE operation when distribution key is included in the foreign key constraint";

/// Citus's detail for a policy holding a subquery on a distributed table (`commands/policy.c`).
pub const SUBQUERY_IN_POLICY: &str =
    "Subqueries are not supported in policies on distributed tables";

/// How the Citus target places a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Copied to every node (`create_reference_table`).
    Reference,
    /// Distributed by `column`, colocated with `colocate_with` (the first distributed table
    /// takes Citus's default group).
    Distributed {
        /// The distribution column (the tenant column).
        column: &'static str,
        /// The table it is colocated with.
        colocate_with: Option<String>,
    },
    /// Left on the coordinator as a plain table.
    Local,
}

/// Each table's placement, in the schema's creation order.
pub fn placements(tables: &[&'static TableDef]) -> Vec<(&'static TableDef, Placement)> {
    let mut first: Option<String> = None;
    tables
        .iter()
        .map(|&table| {
            let placement = if table.reference {
                Placement::Reference
            } else if let Some(column) = table.tenant_column() {
                let colocate_with = first.clone();
                first.get_or_insert_with(|| table.qualified_name().into_owned());
                Placement::Distributed {
                    column,
                    colocate_with,
                }
            } else {
                Placement::Local
            };
            (table, placement)
        })
        .collect()
}

fn citus_error(table: &TableDef, message: String, hint: &str) -> SchemaError {
    SchemaError::Citus {
        table: table.qualified_name().into_owned(),
        message,
        hint: hint.into(),
    }
}

/// Checks every rule Citus enforces on the schema's tables, before anything is sent; the first
/// broken one is a [`SchemaError::Citus`] carrying Citus's own message.
pub fn check(tables: &[(&'static TableDef, Placement)]) -> Result<(), SchemaError> {
    let placement_of = |name: &str| {
        tables
            .iter()
            .find(|(t, _)| t.qualified_name() == name)
            .map(|(t, p)| (*t, p))
    };
    for (table, placement) in tables {
        let Placement::Distributed { column, .. } = placement else {
            // Reference and local tables: no foreign key to a distributed table.
            for fk in table.foreign_keys {
                if let Some((_, Placement::Distributed { .. })) = placement_of(fk.references_table)
                {
                    return Err(citus_error(
                        table,
                        format!("{FOREIGN_KEY_TO_DISTRIBUTED} (Reference tables and local tables can only have foreign keys to reference tables and local tables)"),
                        "reference a reference table, or declare this table a tenant table",
                    ));
                }
            }
            continue;
        };
        let name = table.name;
        let key_error = || {
            citus_error(
                table,
                format!("cannot create constraint on \"{name}\": {KEY_WITHOUT_DISTRIBUTION_COLUMN}"),
                "add the tenant column to the unique key (`unique(provider_id, ...)`), or make the table `reference` to keep it unique across tenants",
            )
        };
        if table.columns.iter().any(|c| c.unique && c.name != *column) {
            return Err(key_error());
        }
        if table
            .unique_keys
            .iter()
            .any(|k| !k.columns.contains(column))
        {
            return Err(key_error());
        }
        if table.indexes.iter().any(|i| {
            i.unique
                && !i
                    .columns
                    .iter()
                    .any(|c| c.key == crate::def::IndexKey::Column(column))
        }) {
            return Err(key_error());
        }
        let own = table.column(column).expect("a tenant column is a column");
        if matches!(own.generation, Some(crate::def::Generation::Stored(_))) {
            return Err(citus_error(
                table,
                format!("cannot distribute relation: {name}: Distribution column must not use GENERATED ALWAYS AS (...) STORED."),
                "the tenant column holds the tenant's key as written",
            ));
        }
        if let Some(TenantDef::Member { root, root_key, .. }) = table.tenant {
            if let Some((root_table, _)) = placement_of(root) {
                if let Some(key) = root_table.column(root_key) {
                    if key.sql_type != own.sql_type {
                        return Err(citus_error(
                            table,
                            format!(
                                "cannot colocate tables {} and {name}: Distribution column types don't match for {} and {name}.",
                                root_table.name, root_table.name
                            ),
                            "declare the tenant column with the root key's type",
                        ));
                    }
                }
            }
        }
        for fk in table.foreign_keys {
            let Some((target, target_placement)) = placement_of(fk.references_table) else {
                continue;
            };
            match target_placement {
                Placement::Reference => {}
                Placement::Local => {
                    return Err(citus_error(
                        table,
                        format!(
                            "referenced table \"{}\" must be a distributed table or a reference table (To enforce foreign keys, the referencing and referenced rows need to be stored on the same node.)",
                            target.name
                        ),
                        "declare the referenced table `reference`, or a tenant table",
                    ));
                }
                Placement::Distributed {
                    column: target_column,
                    ..
                } => {
                    let at = fk.columns.iter().position(|c| c == column);
                    let target_at = fk
                        .references_columns
                        .iter()
                        .position(|c| c == target_column);
                    if at.is_none() || at != target_at {
                        return Err(citus_error(
                            table,
                            format!("cannot create foreign key constraint: {FOREIGN_KEY_TWO_CASES}"),
                            "a foreign key between tenant tables carries the tenant column on both sides, at the same position: `foreign_key(columns(invoice_id, provider_id), references(Invoice::invoice_id, Invoice::provider_id))`",
                        ));
                    }
                }
            }
            let holds_distribution = fk.columns.contains(column);
            if holds_distribution
                && matches!(
                    fk.on_delete,
                    ReferentialAction::SetNull | ReferentialAction::SetDefault
                )
            {
                return Err(citus_error(
                    table,
                    format!("cannot create foreign key constraint: {SET_NULL_ON_DISTRIBUTION_KEY}"),
                    "use on_delete = \"cascade\", \"restrict\" or \"no action\"",
                ));
            }
        }
        if let Some(policy) = table.policies.iter().find(|p| has_subquery(p)) {
            return Err(citus_error(
                table,
                format!("cannot create policy: {SUBQUERY_IN_POLICY}"),
                &format!(
                    "policy `{}`: compare the row's own columns only (a tenant table's policy needs no join: it holds the tenant column)",
                    policy.name
                ),
            ));
        }
    }
    Ok(())
}

/// Whether a policy's SQL holds a subquery (`SELECT` or `EXISTS` as a word).
fn has_subquery(policy: &PolicyDef) -> bool {
    [policy.using, policy.with_check]
        .into_iter()
        .flatten()
        .flatten()
        .any(|part| match part {
            SqlPart::Sql(sql) => sql
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|word| {
                    word.eq_ignore_ascii_case("select") || word.eq_ignore_ascii_case("exists")
                }),
            _ => false,
        })
}

/// The schema's model as the Citus target creates it: each distributed table's primary key
/// widened to start with its tenant column, and each role whose inserts are narrowed to
/// columns granted `INSERT` on the defaulted columns too (see the module's documentation).
pub fn model(schema: &Schema) -> Result<SchemaModel, SchemaError> {
    let tables = placements(&schema.ordered()?);
    check(&tables)?;
    Ok(widened(SchemaModel::from_schema(schema)?, &tables))
}

/// The plain model with the Citus target's changes (see [`model`]).
fn widened(mut model: SchemaModel, tables: &[(&'static TableDef, Placement)]) -> SchemaModel {
    for (table, placement) in tables {
        let Placement::Distributed { column, .. } = placement else {
            continue;
        };
        let Some(table_model) = model
            .tables
            .iter_mut()
            .find(|t| t.name == table.qualified_name())
        else {
            continue;
        };
        if let Some(key) = &mut table_model.primary_key {
            if !key.columns.iter().any(|c| c == column) {
                key.columns.insert(0, column.to_string());
            }
        }
        widen_insert_grants(table_model);
    }
    model
}

/// The roles whose `INSERT` is narrowed to columns, each with the columns it may not give that
/// have a default: what the coordinator sends for it anyway.
fn insert_guards(table: &TableModel) -> Vec<(String, Vec<(String, String)>)> {
    table
        .grants
        .iter()
        .filter(|g| g.privilege == "INSERT" && !g.columns.is_empty())
        .map(|grant| {
            let defaulted = table
                .columns
                .iter()
                .filter(|c| !grant.columns.contains(&c.name))
                .filter_map(|c| c.default.clone().map(|d| (c.name.clone(), d)))
                .collect();
            (grant.role.clone(), defaulted)
        })
        .filter(|(_, defaulted): &(String, Vec<(String, String)>)| !defaulted.is_empty())
        .collect()
}

fn widen_insert_grants(table: &mut TableModel) {
    let guards = insert_guards(table);
    let order: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    for grant in table.grants.iter_mut() {
        let GrantModel {
            role,
            privilege,
            columns,
            ..
        } = grant;
        if privilege != "INSERT" {
            continue;
        }
        if let Some((_, defaulted)) = guards.iter().find(|(r, _)| r == role) {
            columns.extend(defaulted.iter().map(|(c, _)| c.clone()));
            columns.sort_by_key(|c| order.iter().position(|o| o == c));
        }
    }
}

/// The insert guard's function and trigger for a table of `model` (already widened): for each
/// role whose inserts were narrowed, its defaulted columns back to their defaults.
fn insert_guard_statements(plain: &TableModel) -> Vec<String> {
    let guards = insert_guards(plain);
    if guards.is_empty() {
        return Vec::new();
    }
    let (schema, bare) = match plain.name.split_once('.') {
        Some((schema, bare)) => (Some(schema), bare),
        None => (None, plain.name.as_str()),
    };
    let function_name = format!("{bare}_insert_defaults");
    let function = crate::sql::quote_in_schema(schema, &function_name);
    let table = crate::sql::quote_in_schema(schema, bare);
    let mut body = String::from("BEGIN\n");
    for (role, defaulted) in &guards {
        body.push_str(&format!(
            "    IF current_user = {} THEN\n",
            quote_literal(role)
        ));
        for (column, default) in defaulted {
            body.push_str(&format!(
                "        NEW.{} := {};\n",
                quote_ident(column),
                default
            ));
        }
        body.push_str("    END IF;\n");
    }
    body.push_str("    RETURN NEW;\nEND\n");
    vec![
        format!(
            "CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $citus_insert_defaults$\n{body}$citus_insert_defaults$"
        ),
        format!(
            "CREATE TRIGGER {} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()",
            quote_ident(&function_name)
        ),
    ]
}

/// The distribution call of a table, right after its `CREATE TABLE`.
pub fn distribution_call(table: &TableDef, placement: &Placement) -> Option<String> {
    let name = quote_literal(&table.quoted_name());
    match placement {
        Placement::Reference => Some(format!("SELECT create_reference_table({name})")),
        Placement::Distributed {
            column,
            colocate_with,
        } => Some(format!(
            "SELECT create_distributed_table({name}, {}, colocate_with => {})",
            quote_literal(column),
            quote_literal(&match colocate_with {
                Some(first) => {
                    let (schema, bare) = match first.split_once('.') {
                        Some((s, b)) => (Some(s), b),
                        None => (None, first.as_str()),
                    };
                    crate::sql::quote_in_schema(schema, bare)
                }
                None => "default".to_string(),
            })
        )),
        Placement::Local => None,
    }
}

/// The statements that create the schema on Citus from nothing, as text without `;`: the
/// trigger setting first, then the plain target's statements with each table's distribution
/// call right after its `CREATE TABLE` and its insert guard after that.
pub fn ddl_statements(schema: &Schema) -> Result<Vec<(StatementGroup, String)>, SchemaError> {
    let tables = placements(&schema.ordered()?);
    check(&tables)?;
    let plain = SchemaModel::from_schema(schema)?;
    let model = widened(plain.clone(), &tables);
    let statements = crate::render::create_statements(&model);
    let mut out: Vec<(StatementGroup, String)> =
        vec![(StatementGroup::Role, ENABLE_TRIGGERS.to_string())];
    for statement in &statements {
        out.push((statement.group(), statement.to_string()));
        if let Statement::CreateRole { role } = statement {
            out.push((
                StatementGroup::Role,
                format!("ALTER ROLE {} LOGIN", quote_ident(role)),
            ));
        }
        let Statement::CreateTable(created) = statement else {
            continue;
        };
        let Some((table, placement)) = tables
            .iter()
            .find(|(t, _)| t.qualified_name() == created.name.as_str())
        else {
            continue;
        };
        if let Some(call) = distribution_call(table, placement) {
            out.push((StatementGroup::Table, call));
        }
        if matches!(placement, Placement::Distributed { .. }) {
            if let Some(plain_table) = plain.tables.iter().find(|t| t.name == created.name) {
                out.extend(
                    insert_guard_statements(plain_table)
                        .into_iter()
                        .map(|s| (StatementGroup::Trigger, s)),
                );
            }
        }
    }
    Ok(out)
}

/// The whole Citus script, as [`Schema::to_ddl`] writes the plain one.
pub fn to_ddl(schema: &Schema) -> Result<String, SchemaError> {
    let statements = ddl_statements(schema)?;
    let mut script = String::new();
    let mut previous: Option<StatementGroup> = None;
    for (group, sql) in &statements {
        let starts_table = sql.starts_with("CREATE TABLE");
        if previous.is_some() && (previous != Some(*group) || starts_table) {
            script.push('\n');
        }
        script.push_str(sql);
        script.push_str(";\n");
        previous = Some(*group);
    }
    Ok(psql_script(&script))
}

/// The tables' placements by name, for tools: `("support_tickets", "distributed by
/// provider_id")`.
pub fn describe(schema: &Schema) -> Result<Vec<(String, Cow<'static, str>)>, SchemaError> {
    Ok(placements(&schema.ordered()?)
        .into_iter()
        .map(|(t, p)| {
            let what = match p {
                Placement::Reference => Cow::Borrowed("reference"),
                Placement::Distributed { column, .. } => {
                    Cow::Owned(format!("distributed by {column}"))
                }
                Placement::Local => Cow::Borrowed("local"),
            };
            (t.qualified_name().into_owned(), what)
        })
        .collect())
}

/// Citus's message for an `ALTER TABLE` that changes or drops the distribution column
/// (`commands/table.c`).
pub const ALTER_DISTRIBUTION_COLUMN: &str =
    "cannot execute ALTER TABLE command involving partition column";

/// Citus's message for an `ALTER TABLE` subcommand it does not propagate (`commands/table.c`),
/// with its detail.
pub const ALTER_UNSUPPORTED: &str = "alter table command is currently unsupported: Only ADD|DROP COLUMN, SET|DROP NOT NULL, SET|DROP DEFAULT, ADD|DROP|VALIDATE CONSTRAINT, SET (), RESET (), ENABLE|DISABLE|NO FORCE|FORCE ROW LEVEL SECURITY, ATTACH|DETACH PARTITION and TYPE subcommands are supported.";

/// Citus's message for a unique index without the distribution column (`commands/index.c`).
pub const UNIQUE_INDEX_WITHOUT_DISTRIBUTION_COLUMN: &str =
    "creating unique indexes on non-partition columns is currently unsupported";

/// What the database holds of a table the Citus target places, for a plan made against it
/// (`diff`): whether Citus already placed it (`pg_dist_partition`), and whether it has rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Existing {
    /// The table, as the model names it (`billing.invoices`).
    pub table: String,
    /// Whether Citus has placed it (distributed, reference, or a Citus local table).
    pub placed: bool,
    /// Whether it holds rows.
    pub has_rows: bool,
}

/// The tables of the database that Citus has not placed yet, among those `schema` places, with
/// whether each holds rows: what [`plan`] distributes (with
/// `create_distributed_table_concurrently` when it holds rows). A table absent from the
/// database is left out: the plan creates it.
#[cfg(feature = "postgres")]
pub async fn existing<C: tokio_postgres::GenericClient>(
    client: &C,
    schema: &Schema,
) -> Result<Vec<Existing>, tokio_postgres::Error> {
    let mut out = Vec::new();
    for (table, placement) in placements(&schema.ordered().unwrap_or_default()) {
        if placement == Placement::Local {
            continue;
        }
        let name = table.quoted_name();
        let row = client
            .query_one(
                "SELECT pg_catalog.to_regclass($1) IS NOT NULL, \
                        EXISTS (SELECT FROM pg_catalog.pg_dist_partition \
                                WHERE logicalrelid = pg_catalog.to_regclass($1))",
                &[&name.to_string()],
            )
            .await?;
        if !row.get::<_, bool>(0) {
            continue;
        }
        let placed: bool = row.get(1);
        let has_rows = !placed
            && client
                .query_one(&format!("SELECT EXISTS (SELECT FROM {name})"), &[])
                .await?
                .get::<_, bool>(0);
        out.push(Existing {
            table: table.qualified_name().into_owned(),
            placed,
            has_rows,
        });
    }
    Ok(out)
}

/// `plan` (made from the Citus model, [`Schema::model`] of a schema `for_target(Citus)`) as it
/// runs on Citus:
///
/// - a table it creates gets its distribution (or reference) call right after its
///   `CREATE TABLE`, then its insert guard; a role it creates gets `LOGIN` (see the module's
///   documentation); each immutable guard's trigger is preceded by
///   `SET citus.enable_unsafe_triggers = on`;
/// - a table of `existing` that Citus has not placed is distributed at the end, in
///   foreign-key order: with `create_distributed_table_concurrently` (outside a transaction,
///   writes go on) when it holds rows, then the table's comments again (Citus leaves the
///   coordinator's behind), `create_distributed_table` otherwise (a reference table with
///   `create_reference_table`, which has no concurrent form);
/// - a step Citus would refuse on a table it places is refused here, with Citus's message: an
///   `ALTER TABLE` subcommand it does not support (identity, `DROP EXPRESSION`), a change of
///   the distribution column's type or its removal, and a unique key or index without the
///   distribution column.
pub fn plan(
    schema: &Schema,
    plan: crate::plan::Plan,
    existing: &[Existing],
) -> Result<crate::plan::Plan, SchemaError> {
    use crate::render::Constraint;
    let tables = placements(&schema.ordered()?);
    let plain = SchemaModel::from_schema(schema)?;
    let placed = |name: &str| {
        tables
            .iter()
            .find(|(t, _)| t.qualified_name() == name)
            .filter(|(_, p)| *p != Placement::Local)
    };
    let refuse =
        |table: &TableDef, message: String, hint: &str| Err(citus_error(table, message, hint));
    let mut steps = Vec::with_capacity(plan.steps.len());
    for step in plan.steps {
        let statement = step.statement.clone();
        let table_name = match &statement {
            Statement::AlterColumnType { table, .. }
            | Statement::DropColumn { table, .. }
            | Statement::SetNotNull { table, .. }
            | Statement::AlterIdentity { table, .. }
            | Statement::DropExpression { table, .. }
            | Statement::AddConstraint { table, .. }
            | Statement::CreateIndex { table, .. }
            | Statement::CreateKeyIndex { table, .. }
            | Statement::CreateGuardTrigger { table, .. } => Some(table.as_str()),
            _ => None,
        };
        // A table Citus has not placed yet is a plain table until the plan's end.
        let unplaced = |name: &str| existing.iter().any(|e| e.table == name && !e.placed);
        if let Some((table, placement)) = table_name.filter(|t| !unplaced(t)).and_then(placed) {
            let column = match placement {
                Placement::Distributed { column, .. } => Some(*column),
                _ => None,
            };
            let holds =
                |columns: &[&String]| column.is_none_or(|c| columns.iter().any(|k| *k == c));
            match &statement {
                Statement::AlterColumnType { column: c, .. }
                | Statement::DropColumn { column: c, .. }
                | Statement::SetNotNull {
                    column: c,
                    not_null: false,
                    ..
                } if Some(c.as_str()) == column => {
                    return refuse(
                        table,
                        ALTER_DISTRIBUTION_COLUMN.to_string(),
                        "the tenant column stays as it is on a distributed table",
                    );
                }
                Statement::AlterIdentity { .. } | Statement::DropExpression { .. } => {
                    return refuse(
                        table,
                        ALTER_UNSUPPORTED.to_string(),
                        &format!(
                            "`{}`: create a new column and copy the values instead",
                            step.sql
                        ),
                    );
                }
                Statement::CreateIndex { index, .. }
                    if index.unique
                        && !holds(&index.keys.iter().map(|k| &k.column).collect::<Vec<_>>()) =>
                {
                    return refuse(
                        table,
                        UNIQUE_INDEX_WITHOUT_DISTRIBUTION_COLUMN.to_string(),
                        "add the tenant column to the unique index",
                    );
                }
                Statement::CreateKeyIndex { key, .. }
                | Statement::AddConstraint {
                    constraint: Constraint::PrimaryKey { key, .. } | Constraint::Unique { key, .. },
                    ..
                } if !holds(&key.columns.iter().collect::<Vec<_>>()) => {
                    return refuse(
                        table,
                        format!(
                            "cannot create constraint on \"{}\": {KEY_WITHOUT_DISTRIBUTION_COLUMN}",
                            table.name
                        ),
                        "add the tenant column to the key",
                    );
                }
                Statement::CreateGuardTrigger { .. } => {
                    steps.push(target_step(None, ENABLE_TRIGGERS.to_string(), true));
                }
                _ => {}
            }
        }
        steps.push(step);
        match &statement {
            Statement::CreateRole { role } => steps.push(target_step(
                None,
                format!("ALTER ROLE {} LOGIN", quote_ident(role)),
                true,
            )),
            Statement::CreateTable(created) => {
                let Some((table, placement)) = placed(&created.name) else {
                    continue;
                };
                if let Some(call) = distribution_call(table, placement) {
                    steps.push(target_step(Some(&created.name), call, true));
                }
                if matches!(placement, Placement::Distributed { .. }) {
                    if let Some(plain_table) = plain.tables.iter().find(|t| t.name == created.name)
                    {
                        for sql in insert_guard_statements(plain_table) {
                            if sql.starts_with("CREATE TRIGGER") {
                                steps.push(target_step(None, ENABLE_TRIGGERS.to_string(), true));
                            }
                            steps.push(target_step(Some(&created.name), sql, true));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for found in existing.iter().filter(|e| !e.placed) {
        let Some((table, placement)) = placed(&found.table) else {
            continue;
        };
        let Some(call) = distribution_call(table, placement) else {
            continue;
        };
        let concurrently = found.has_rows && matches!(placement, Placement::Distributed { .. });
        let call = if concurrently {
            call.replacen(
                "create_distributed_table(",
                "create_distributed_table_concurrently(",
                1,
            )
        } else {
            call
        };
        steps.push(target_step(Some(&found.table), call, !concurrently));
        if concurrently {
            // Citus moves the table to a new one of the same name, and the coordinator's
            // comments are left behind: written again.
            if let Some(declared) = plain.tables.iter().find(|t| t.name == found.table) {
                let comments = std::iter::once((None, &declared.comment)).chain(
                    declared
                        .columns
                        .iter()
                        .map(|c| (Some(c.name.clone()), &c.comment)),
                );
                for (column, text) in comments {
                    if let Some(text) = text {
                        steps.push(crate::plan::step(Statement::Comment {
                            table: found.table.clone(),
                            column,
                            text: Some(text.clone()),
                        }));
                    }
                }
            }
        }
    }
    Ok(crate::plan::Plan { steps, ..plan })
}

fn target_step(table: Option<&str>, sql: String, transactional: bool) -> crate::plan::Step {
    crate::plan::step(Statement::Target {
        table: table.map(str::to_string),
        sql,
        transactional,
    })
}

/// An `= ANY (ARRAY[...])` check (what a text enum's column is checked with) written without
/// its casts, parentheses and spaces outside literals; `None` for any other expression.
fn in_list_meaning(expression: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = expression.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                out.push(c);
                while let Some(c) = chars.next() {
                    out.push(c);
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            out.push(chars.next().expect("peeked"));
                        } else {
                            break;
                        }
                    }
                }
            }
            '(' | ')' | ' ' | '\n' | '\t' => {}
            ':' if chars.peek() == Some(&':') => {
                chars.next();
                // The cast's type: a word, `character varying`, with `[]` after it.
                let mut name = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        name.push(c);
                        chars.next();
                    } else if c == '[' {
                        // `[]`, never the `]` that closes the array.
                        chars.next();
                        if chars.next() != Some(']') {
                            return None;
                        }
                        name.push_str("[]");
                    } else if c == ' ' && name == "character" {
                        name.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if !matches!(
                    name.as_str(),
                    "text" | "text[]" | "character varying" | "character varying[]" | "varchar"
                ) {
                    return None;
                }
            }
            _ => out.push(c),
        }
    }
    let (column, list) = out.split_once("=ANYARRAY[")?;
    let simple = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '"')
    };
    (simple(column) && list.ends_with(']')).then_some(out)
}

/// Whether a check read back from the coordinator means what the code's check means: the
/// same text, or the same `= ANY (ARRAY[...])` list with other casts. Citus creates the
/// table's checks again when it distributes it, and PostgreSQL prints the cast of a text
/// enum's list of values on each value (`('OPEN'::character varying)::text`) rather than on the
/// array (`(ARRAY['OPEN'::character varying])::text[]`).
pub fn same_check(live: &str, code: &str) -> bool {
    live == code || in_list_meaning(live).is_some_and(|l| Some(l) == in_list_meaning(code))
}

/// The `live` model read from a coordinator, with each check that means what `code`'s check of
/// the same name means ([`same_check`]) written as `code` writes it: no false drift from
/// Citus's rewritten checks.
pub fn align_checks(live: &mut SchemaModel, code: &SchemaModel) {
    for table in &mut live.tables {
        let Some(declared) = code.tables.iter().find(|t| t.name == table.name) else {
            continue;
        };
        for check in &mut table.checks {
            if let Some(same) = declared
                .checks
                .iter()
                .find(|c| c.name == check.name && same_check(&check.expression, &c.expression))
            {
                check.expression = same.expression.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_check;

    #[test]
    fn a_check_citus_rewrote_means_what_the_code_says() {
        let live = "((status)::text = ANY (ARRAY[('OPEN'::character varying)::text, ('CLOSED'::character varying)::text]))";
        let code = "((status)::text = ANY ((ARRAY['OPEN'::character varying, 'CLOSED'::character varying])::text[]))";
        assert!(same_check(live, code));
        // Another list, another column, or another operator is another meaning.
        assert!(!same_check(live, &code.replace("CLOSED", "OPEN ")));
        assert!(!same_check(live, &code.replace("(status)", "(state)")));
        assert!(!same_check(
            "((status)::text = ANY (ARRAY[('OPEN'::character varying)::text])) OR (x > 1)",
            "((status)::text = ANY ((ARRAY['OPEN'::character varying])::text[])) OR x > 1"
        ));
        assert!(!same_check(
            "((status)::integer = ANY (ARRAY[1, 2]))",
            "((status)::integer = ANY (ARRAY[1, 2, 3]))"
        ));
    }
}
