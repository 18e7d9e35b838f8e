//! The SQL of tables as a whole: created (with their columns and constraints), dropped,
//! moved, renamed, commented; their immutable-column guard, replica identity and row-level
//! security switches; extensions and PostgreSQL schemas.

use super::*;

/// The statements that create a whole model from nothing: the extensions, the roles, the
/// PostgreSQL schemas with their `USAGE` grants, the native enum types, then each table in
/// order with its indexes, comments, immutable guard, row-level security, policies and
/// privileges.
pub fn create_statements(model: &SchemaModel) -> Vec<Statement> {
    let mut statements: Vec<Statement> = model
        .extensions
        .iter()
        .map(|name| Statement::CreateExtension { name: name.clone() })
        .collect();
    statements.extend(
        model
            .roles
            .iter()
            .map(|role| Statement::CreateRole { role: role.clone() }),
    );
    for namespace in &model.namespaces {
        statements.push(Statement::CreateNamespace {
            name: namespace.name.clone(),
        });
        statements.extend(
            namespace
                .usage
                .iter()
                .map(|role| Statement::NamespaceUsage {
                    namespace: namespace.name.clone(),
                    role: role.clone(),
                    grant: true,
                }),
        );
    }
    statements.extend(model.enums.iter().cloned().map(Statement::CreateEnum));
    // A partition with keys of its own is created on its own and attached, as a plan does.
    for table in model.tables_partitions_last() {
        let parent = table
            .partition_of
            .as_ref()
            .and_then(|of| model.table(&of.parent));
        statements.extend(
            parent
                .and_then(|parent| attach_partition_statements(table, parent))
                .unwrap_or_else(|| create_table_statements(table)),
        );
    }
    // A partition's parts of its table's indexes, built with it, named as the model has them
    // where PostgreSQL would name them otherwise.
    for table in &model.tables {
        let Some(of) = &table.partition_of else {
            continue;
        };
        for part in &table.index_parts {
            if default_part_name(model, &table.name, &of.parent, &part.index).as_deref()
                != Some(part.name.as_str())
            {
                statements.push(Statement::NamePart {
                    schema: crate::sql::split_qualified(&of.parent).0.map(Into::into),
                    index: part.index.clone(),
                    table: table.name.clone(),
                    name: part.name.clone(),
                });
            }
        }
    }
    statements
}

/// The statements that create one table as the model has it, in the order of
/// [`create_statements`]; its indexes are built at once (the table is new and empty).
pub fn create_table_statements(table: &TableModel) -> Vec<Statement> {
    table_statements(table, None)
}

/// The statements that create a partition with keys of its own, of `parent`: the table on its
/// own (with the partitioned table's checks, which PostgreSQL requires of it), then attached.
/// Created as a partition, it would get a copy of each index of the partitioned table before
/// its keys, and a key matching one of those would build a second index instead of being its
/// part. `None` for any other table; for a partition with identity or generated columns
/// (which only a partition's creation takes from the partitioned table); and for a partition
/// with a key on the columns of a key of the partitioned table: attached, it would become that
/// key's part, no longer a key of its own.
pub(crate) fn attach_partition_statements(
    table: &TableModel,
    parent: &TableModel,
) -> Option<Vec<Statement>> {
    let of = table.partition_of.as_ref()?;
    let keys = |t: &TableModel| -> Vec<Vec<String>> {
        t.primary_key
            .iter()
            .chain(&t.unique)
            .map(|k| k.columns.clone())
            .collect()
    };
    let own = keys(table);
    let parents = keys(parent);
    let plain = table
        .columns
        .iter()
        .all(|c| c.identity.is_none() && c.generated.is_none());
    if own.is_empty() || !plain || own.iter().any(|k| parents.contains(k)) {
        return None;
    }
    let mut statements = table_statements(table, Some(parent));
    statements.insert(
        statements
            .iter()
            .position(|s| matches!(s, Statement::CreateTable(_)))
            .map_or(0, |at| at + 1),
        Statement::AttachPartition {
            parent: of.parent.clone(),
            table: table.name.clone(),
            bound: of.bound.clone(),
        },
    );
    Some(statements)
}

/// [`create_table_statements`], or with `standalone_of` the statements that create a partition
/// of it as a table on its own ([`attach_partition_statements`]).
fn table_statements(table: &TableModel, standalone_of: Option<&TableModel>) -> Vec<Statement> {
    let name = || table.name.clone();
    // The sequences the columns' `nextval('...')` defaults draw from (`serial` columns'),
    // made before the table and owned by their columns after; a partition's defaults are its
    // partitioned table's, which has them.
    let sequences: Vec<(&str, String)> = table
        .columns
        .iter()
        .filter(|_| table.partition_of.is_none())
        .filter_map(|c| {
            Some((
                c.name.as_str(),
                Statement::sequence_of_default(c.default.as_deref()?)?,
            ))
        })
        .collect();
    let mut statements: Vec<Statement> = sequences
        .iter()
        .map(|(column, sequence)| Statement::CreateSequence {
            name: sequence.clone(),
            sql_type: sequence_type(
                &table
                    .column(column)
                    .expect("a column of the table")
                    .sql_type,
            ),
        })
        .collect();
    statements.push(Statement::CreateTable(Box::new(match standalone_of {
        Some(parent) => TableModel {
            partition_of: None,
            checks: parent
                .checks
                .iter()
                .filter(|c| !c.no_inherit)
                .chain(&table.checks)
                .cloned()
                .collect(),
            ..table.clone()
        },
        None => table.clone(),
    })));
    statements.extend(
        sequences
            .into_iter()
            .filter(|(_, sequence)| same_schema(sequence, &table.name))
            .map(|(column, sequence)| Statement::SequenceOwnedBy {
                name: sequence,
                table: name(),
                column: column.into(),
            }),
    );
    statements.extend(table.indexes.iter().map(|index| Statement::CreateIndex {
        table: name(),
        index: index.clone(),
        concurrently: false,
    }));
    if let Some(identity) = &table.replica_identity {
        statements.push(Statement::ReplicaIdentity {
            table: name(),
            identity: Some(identity.clone()),
        });
    }
    if let Some(comment) = &table.comment {
        statements.push(Statement::Comment {
            table: name(),
            column: None,
            text: Some(comment.clone()),
        });
    }
    for column in &table.columns {
        if let Some(comment) = &column.comment {
            statements.push(Statement::Comment {
                table: name(),
                column: Some(column.name.clone()),
                text: Some(comment.clone()),
            });
        }
    }
    if let Some(guard) = &table.immutable {
        statements.extend(guard_statements(&table.name, guard, false));
    }
    if table.row_level_security {
        statements.push(Statement::RowLevelSecurity {
            table: name(),
            enable: true,
        });
    }
    if table.force_row_level_security {
        statements.push(Statement::ForceRowLevelSecurity {
            table: name(),
            force: true,
        });
    }
    statements.extend(table.policies.iter().map(|policy| Statement::CreatePolicy {
        table: name(),
        policy: policy.clone(),
    }));
    statements.extend(grant_statements(&table.name, &table.grants, true));
    statements
}

/// The function and, when the guard has it enabled, the trigger of an immutable-column guard.
pub(crate) fn guard_statements(
    table: &str,
    guard: &ImmutableGuard,
    replace: bool,
) -> Vec<Statement> {
    let mut statements = vec![Statement::CreateGuardFunction {
        guard: guard.clone(),
        replace,
    }];
    if guard.trigger_enabled {
        statements.push(Statement::CreateGuardTrigger {
            table: table.into(),
            name: guard.name.clone(),
        });
    }
    statements
}

pub(super) fn write_create_table(f: &mut fmt::Formatter<'_>, table: &TableModel) -> fmt::Result {
    struct Item<'a>(&'a dyn Fn(&mut fmt::Formatter<'_>) -> fmt::Result);
    impl fmt::Display for Item<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            (self.0)(f)
        }
    }
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| Item(&|f| write_column(f, c)).to_string())
        .collect();
    let constraints = table
        .primary_key
        .iter()
        .map(|key| Constraint::PrimaryKey {
            key: key.clone(),
            using_index: false,
        })
        .chain(table.unique.iter().map(|key| Constraint::Unique {
            key: key.clone(),
            using_index: false,
        }))
        .chain(
            table
                .foreign_keys
                .iter()
                .cloned()
                .map(Constraint::ForeignKey),
        )
        .chain(table.checks.iter().cloned().map(Constraint::Check));
    let mut constraint_lines = Vec::new();
    for constraint in constraints {
        constraint_lines.push(Item(&|f| write_constraint(f, &constraint)).to_string());
    }
    // A partition has its parent's columns; only its own constraints are listed, and NOT NULL
    // on its columns (which may be its own: a column nullable in the parent).
    if let Some(of) = &table.partition_of {
        write!(
            f,
            "CREATE TABLE {} PARTITION OF {}",
            quote_qualified(&table.name),
            quote_qualified(&of.parent)
        )?;
        let own: Vec<String> = table
            .columns
            .iter()
            .filter(|c| !c.nullable)
            .map(|c| format!("{} WITH OPTIONS NOT NULL", quote_ident(&c.name)))
            .chain(constraint_lines)
            .collect();
        if !own.is_empty() {
            write!(f, " (\n    {}\n)", own.join(",\n    "))?;
        }
        write!(f, " {}", of.bound)?;
    } else {
        lines.extend(constraint_lines);
        write!(
            f,
            "CREATE TABLE {} (\n    {}\n)",
            quote_qualified(&table.name),
            lines.join(",\n    ")
        )?;
    }
    if let Some(key) = &table.partition_by {
        write!(f, " PARTITION BY {key}")?;
    }
    Ok(())
}

/// The SQL of `statement`, one of this kind of object's.
pub(super) fn write(statement: &Statement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use Statement::*;
    match statement {
        CreateExtension { name } => write!(f, "CREATE EXTENSION IF NOT EXISTS {}", q(name)),
        DropExtension { name } => write!(f, "DROP EXTENSION {}", q(name)),
        CreateNamespace { name } => write!(f, "CREATE SCHEMA IF NOT EXISTS {}", q(name)),
        DropNamespace { name } => write!(f, "DROP SCHEMA {}", q(name)),
        CreateTable(table) => write_create_table(f, table),
        CreatePartitionedTable { table, list_key } => {
            write_create_table(f, table)?;
            write!(f, " PARTITION BY LIST ({})", q(list_key))
        }
        AttachPartition {
            parent,
            table,
            bound,
        } => write!(
            f,
            "ALTER TABLE {} ATTACH PARTITION {} {bound}",
            qt(parent),
            qt(table)
        ),
        DropTable { table } => write!(f, "DROP TABLE {}", qt(table)),
        SetSchema { table, schema } => {
            write!(f, "ALTER TABLE {} SET SCHEMA {}", qt(table), q(schema))
        }
        RenameTable { from, to } => write!(
            f,
            "ALTER TABLE {} RENAME TO {}",
            qt(from),
            q(split_qualified(to).1)
        ),
        Comment {
            table,
            column,
            text,
        } => {
            match column {
                Some(column) => write!(f, "COMMENT ON COLUMN {}.{} IS ", qt(table), q(column))?,
                None => write!(f, "COMMENT ON TABLE {} IS ", qt(table))?,
            }
            match text {
                Some(text) => f.write_str(&quote_literal(text)),
                None => f.write_str("NULL"),
            }
        }
        CreateGuardFunction { guard, replace } => {
            write!(
                f,
                "CREATE {}FUNCTION {}() RETURNS trigger LANGUAGE plpgsql",
                if *replace { "OR REPLACE " } else { "" },
                qt(&guard.name)
            )?;
            for setting in &guard.settings {
                let (name, value) = setting.split_once('=').unwrap_or((setting, ""));
                write!(f, " SET {name} = {value}")?;
            }
            write!(f, " AS {}", dollar_quote("fn", &guard.body))
        }
        CreateGuardTrigger { table, name } => write!(
            f,
            "CREATE TRIGGER {} AFTER UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}()",
            q(split_qualified(name).1),
            qt(table),
            qt(name)
        ),
        DropTrigger { table, name } => {
            write!(
                f,
                "DROP TRIGGER IF EXISTS {} ON {}",
                q(split_qualified(name).1),
                qt(table)
            )
        }
        DropFunction { name } => write!(f, "DROP FUNCTION {}()", qt(name)),
        ReplicaIdentity { table, identity } => {
            use crate::model::ReplicaIdentity as R;
            write!(f, "ALTER TABLE {} REPLICA IDENTITY ", qt(table))?;
            match identity {
                None => f.write_str("DEFAULT"),
                Some(R::Full) => f.write_str("FULL"),
                Some(R::Nothing) => f.write_str("NOTHING"),
                Some(R::Index(index)) => write!(f, "USING INDEX {}", q(index)),
            }
        }
        RowLevelSecurity { table, enable } => write!(
            f,
            "ALTER TABLE {} {} ROW LEVEL SECURITY",
            qt(table),
            if *enable { "ENABLE" } else { "DISABLE" }
        ),
        ForceRowLevelSecurity { table, force } => write!(
            f,
            "ALTER TABLE {} {} ROW LEVEL SECURITY",
            qt(table),
            if *force { "FORCE" } else { "NO FORCE" }
        ),
        _ => Ok(()),
    }
}

/// The table's name and PostgreSQL schema are identifiers PostgreSQL takes, the name without
/// a `.`.
pub(super) fn validate_name(table: &TableDef) -> Result<(), SchemaError> {
    if let Some(problem) = identifier_problem(table.name) {
        return Err(invalid_identifier(table, table.name, problem));
    }
    if table.name.contains('.') {
        return Err(invalid_identifier(
            table,
            table.name,
            "holds a `.`: a table in another PostgreSQL schema names it with `schema`",
        ));
    }
    if let Some(problem) = table.schema.and_then(crate::sql::schema_name_problem) {
        return Err(invalid_identifier(
            table,
            table.schema.unwrap_or_default(),
            problem,
        ));
    }
    Ok(())
}
