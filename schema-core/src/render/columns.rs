//! The SQL of columns: added, dropped, renamed, their type, default, identity, collation,
//! generation and nullability changed, their sequences, their stored values rewritten.

use super::*;

pub(super) fn write_column(f: &mut fmt::Formatter<'_>, column: &ColumnModel) -> fmt::Result {
    write!(f, "{} {}", quote_ident(&column.name), column.sql_type)?;
    if let Some(collation) = &column.collation {
        write!(f, " COLLATE {}", quote_ident(collation))?;
    }
    if !column.nullable {
        f.write_str(" NOT NULL")?;
    }
    if let Some(default) = &column.default {
        write!(f, " DEFAULT {default}")?;
    }
    if let Some(identity) = &column.identity {
        let mode = if identity.always {
            "ALWAYS"
        } else {
            "BY DEFAULT"
        };
        write!(f, " GENERATED {mode} AS IDENTITY")?;
        let options = identity.options(&column.sql_type);
        if !options.is_empty() {
            write!(f, " ({})", options.join(" "))?;
        }
    }
    if let Some(expression) = &column.generated {
        write!(f, " GENERATED ALWAYS AS ({expression}) STORED")?;
    }
    Ok(())
}

/// The type of the sequence a column of `sql_type` draws its numbers from: `smallint`,
/// `integer`, or `bigint` for any other.
pub(crate) fn sequence_type(sql_type: &str) -> String {
    match sql_type {
        "smallint" | "int2" => "smallint",
        "integer" | "int" | "int4" => "integer",
        _ => "bigint",
    }
    .into()
}

/// Whether a sequence named as SQL (`"s"."seq"`, `seq`) is in the PostgreSQL schema of
/// `table` (a model's name): a sequence is owned only by a column of a table of its own
/// schema.
pub(crate) fn same_schema(sequence: &str, table: &str) -> bool {
    let schema_of = |name: &str| {
        name.rsplit_once('.')
            .map(|(schema, _)| schema.trim_matches('"').to_string())
    };
    schema_of(sequence) == split_qualified(table).0.map(String::from)
}

/// The SQL of `statement`, one of this kind of object's.
pub(super) fn write(statement: &Statement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use Statement::*;
    match statement {
        AlterColumnTypeUsing {
            table,
            column,
            sql_type,
            using,
            ..
        } => write!(
            f,
            "ALTER TABLE {} ALTER COLUMN {} TYPE {sql_type} USING {using}",
            qt(table),
            q(column)
        ),
        AddColumn { table, column } => {
            write!(f, "ALTER TABLE {} ADD COLUMN ", qt(table))?;
            write_column(f, column)
        }
        DropColumn { table, column } => {
            write!(f, "ALTER TABLE {} DROP COLUMN {}", qt(table), q(column))
        }
        RenameColumn { table, from, to } => write!(
            f,
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            qt(table),
            q(from),
            q(to)
        ),
        AlterColumnType {
            table,
            column,
            sql_type,
            ..
        } => write!(
            f,
            "ALTER TABLE {} ALTER COLUMN {} TYPE {sql_type}",
            qt(table),
            q(column)
        ),
        SetDefault {
            table,
            column,
            default,
        } => {
            write!(f, "ALTER TABLE {} ALTER COLUMN {} ", qt(table), q(column))?;
            match default {
                Some(default) => write!(f, "SET DEFAULT {default}"),
                None => f.write_str("DROP DEFAULT"),
            }
        }
        AlterIdentity {
            table,
            column,
            sql_type,
            from,
            to,
        } => {
            write!(f, "ALTER TABLE {} ALTER COLUMN {}", qt(table), q(column))?;
            let mode = |always: bool| if always { "ALWAYS" } else { "BY DEFAULT" };
            match (from, to) {
                (_, None) => f.write_str(" DROP IDENTITY IF EXISTS"),
                (None, Some(to)) => {
                    write!(f, " ADD GENERATED {} AS IDENTITY", mode(to.always))?;
                    let options = to.options(sql_type);
                    if !options.is_empty() {
                        write!(f, " ({})", options.join(" "))?;
                    }
                    Ok(())
                }
                (Some(from), Some(to)) => {
                    if from.always != to.always {
                        write!(f, " SET GENERATED {}", mode(to.always))?;
                    }
                    if from.increment != to.increment {
                        write!(f, " SET INCREMENT BY {}", to.increment)?;
                    }
                    if from.min_value != to.min_value {
                        write!(f, " SET MINVALUE {}", to.min_value)?;
                    }
                    if from.max_value != to.max_value {
                        write!(f, " SET MAXVALUE {}", to.max_value)?;
                    }
                    if from.start != to.start {
                        write!(f, " SET START WITH {}", to.start)?;
                    }
                    if from.cache != to.cache {
                        write!(f, " SET CACHE {}", to.cache)?;
                    }
                    if from.cycle != to.cycle {
                        f.write_str(if to.cycle {
                            " SET CYCLE"
                        } else {
                            " SET NO CYCLE"
                        })?;
                    }
                    Ok(())
                }
            }
        }
        DropExpression { table, column } => write!(
            f,
            "ALTER TABLE {} ALTER COLUMN {} DROP EXPRESSION",
            qt(table),
            q(column)
        ),
        SetNotNull {
            table,
            column,
            not_null,
        } => write!(
            f,
            "ALTER TABLE {} ALTER COLUMN {} {} NOT NULL",
            qt(table),
            q(column),
            if *not_null { "SET" } else { "DROP" }
        ),
        SetCollation {
            table,
            column,
            sql_type,
            collation,
        } => write!(
            f,
            "ALTER TABLE {} ALTER COLUMN {} TYPE {sql_type} COLLATE {}",
            qt(table),
            q(column),
            q(collation.as_deref().unwrap_or("default"))
        ),
        CreateSequence { name, sql_type } => {
            write!(f, "CREATE SEQUENCE IF NOT EXISTS {name} AS {sql_type}")
        }
        DropSequence { name } => write!(f, "DROP SEQUENCE IF EXISTS {name}"),
        SequenceOwnedBy {
            name,
            table,
            column,
        } => write!(
            f,
            "ALTER SEQUENCE {name} OWNED BY {}.{}",
            qt(table),
            q(column)
        ),
        RewriteValue {
            table,
            column,
            array: true,
            from,
            to,
        } => write!(
            f,
            "UPDATE {} SET {} = pg_catalog.array_replace({}, {}, {}) WHERE {} = ANY ({})",
            qt(table),
            q(column),
            q(column),
            quote_literal(from),
            quote_literal(to),
            quote_literal(from),
            q(column)
        ),
        RewriteValue {
            table,
            column,
            array: false,
            from,
            to,
        } => write!(
            f,
            "UPDATE {} SET {} = {} WHERE {} = {}",
            qt(table),
            q(column),
            quote_literal(to),
            q(column),
            quote_literal(from)
        ),
        _ => Ok(()),
    }
}

/// The columns' names are identifiers PostgreSQL takes, each once: what the other checks of
/// [`validate`] then look names up in.
pub(super) fn validate_columns(table: &TableDef) -> Result<Seen<'_>, SchemaError> {
    let mut columns = HashSet::new();
    for column in table.columns {
        if let Some(problem) = identifier_problem(column.name) {
            return Err(invalid_identifier(table, column.name, problem));
        }
        if !columns.insert(column.name) {
            return Err(SchemaError::DuplicateColumn {
                table: table.name.into(),
                column: column.name.into(),
            });
        }
    }
    Ok(Seen {
        table,
        columns,
        names: HashSet::new(),
    })
}

/// A generated column has no default; an identity is an integer; a stored expression names
/// columns of the table, none of them generated.
pub(super) fn validate_generation(table: &TableDef) -> Result<(), SchemaError> {
    for column in table.columns {
        let problem = match column.generation {
            None => None,
            Some(_) if column.default.is_some() => {
                Some("has a default, and the database computes it")
            }
            Some(Generation::Identity(_)) => (!matches!(
                column.sql_type,
                crate::SqlType::SmallInt | crate::SqlType::Integer | crate::SqlType::BigInt
            ))
            .then_some("is an identity, which only smallint, integer and bigint columns can be"),
            Some(Generation::Stored(parts)) => {
                require_parts(
                    table,
                    parts,
                    &format!("the expression of column `{}`", column.name),
                )?;
                let generated = |name: &str| {
                    table
                        .column(name)
                        .is_some_and(|c| matches!(c.generation, Some(Generation::Stored(_))))
                };
                parts
                    .iter()
                    .any(|p| matches!(p, SqlPart::Column(c) if generated(c)))
                    .then_some(
                        "is computed from another generated column, which PostgreSQL refuses",
                    )
            }
        };
        if let Some(problem) = problem {
            return Err(SchemaError::InvalidGeneration {
                table: table.name.into(),
                column: column.name.into(),
                problem,
            });
        }
    }
    Ok(())
}
