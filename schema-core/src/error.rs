//! Errors a schema can have that no single derive can see.

use std::fmt;

/// A schema that cannot be rendered as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaError {
    /// Two tables share one name.
    DuplicateTable {
        /// The name.
        table: String,
    },
    /// Tables reference each other in a loop, so no order creates them all.
    ForeignKeyCycle {
        /// The tables of the loop.
        tables: Vec<String>,
    },
    /// A foreign key references a table that is not part of the schema.
    MissingTable {
        /// The referencing table.
        table: String,
        /// The table it references.
        references: String,
    },
    /// A name that PostgreSQL cannot take as it is.
    InvalidIdentifier {
        /// The table it belongs to.
        table: String,
        /// The name.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two columns of a table share one name.
    DuplicateColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A key, index or foreign key names a column the table does not have.
    UnknownColumn {
        /// The table.
        table: String,
        /// The name that was not found.
        column: String,
        /// Where it was named (`primary key`, `index "…"`, …).
        used_in: String,
    },
    /// A constraint or index has no columns.
    NoColumns {
        /// The table.
        table: String,
        /// The constraint or index.
        used_in: String,
    },
    /// Two constraints or indexes of a table share one name.
    DuplicateName {
        /// The table.
        table: String,
        /// The name.
        name: String,
    },
    /// An index asks its access method for what it cannot do (`UNIQUE` or `DESC` on a gin
    /// index, `INCLUDE` on a hash index, ...).
    InvalidIndex {
        /// The table.
        table: String,
        /// The index.
        index: String,
        /// What the method cannot do.
        problem: &'static str,
    },
    /// A column the database computes (an identity or a generated column) that cannot be one.
    InvalidGeneration {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A default value PostgreSQL cannot store.
    InvalidDefault {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Text that reaches the DDL holds a NUL character: PostgreSQL cannot store it, and `psql`
    /// cuts the line there, so the rest of the script would be read differently.
    NulCharacter {
        /// The table.
        table: String,
        /// Where the text is (`the comment of column "x"`, `check "y"`, ...).
        used_in: String,
    },
    /// A column's declaration says two things that cannot both hold.
    InvalidColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A column grant that cannot be rendered as declared.
    InvalidGrant {
        /// The table.
        table: String,
        /// The role, as named in the code.
        role: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Two enums with different values claim one native type name.
    EnumConflict {
        /// The type's name.
        name: String,
    },
    /// A column whose type comes from an extension the schema does not declare.
    MissingExtension {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The extension (`citext`).
        extension: &'static str,
    },
    /// An extension name that cannot be created as written.
    InvalidExtension {
        /// The name.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A native enum type that cannot be created as declared.
    InvalidEnum {
        /// The type's name, or the Rust type's where it has none.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A column of a Rust enum whose written type (`sql_type = "..."`) is neither a text type
    /// nor a native enum type the schema creates: the script would fail where it is applied.
    UncreatedEnumType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The type as written.
        sql_type: String,
    },
    /// A tenant table's declaration leaves a hole: no tenant setting or role on the schema,
    /// a root missing from the schema, a tenant role's policy that does not scope to the
    /// tenant, a tenant column of another type than the root's key.
    Tenancy {
        /// The table.
        table: String,
        /// What is wrong, and what to do.
        problem: String,
    },
    /// A rule of the Citus target the table breaks, in Citus's own words (the message the
    /// cluster would answer with), before anything is sent.
    Citus {
        /// The table.
        table: String,
        /// Citus's message.
        message: String,
        /// Why, and what to change in the declaration.
        hint: String,
    },
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaError::DuplicateTable { table } => {
                write!(f, "two tables are named `{table}`")
            }
            SchemaError::ForeignKeyCycle { tables } => write!(
                f,
                "foreign keys form a cycle between tables {}; no creation order satisfies them",
                tables
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            SchemaError::MissingTable { table, references } => write!(
                f,
                "table `{table}` references table `{references}`, which is not in the schema"
            ),
            SchemaError::InvalidIdentifier {
                table,
                name,
                problem,
            } => write!(f, "in table `{table}`, the name `{name}` {problem}"),
            SchemaError::DuplicateColumn { table, column } => {
                write!(f, "table `{table}` has two columns named `{column}`")
            }
            SchemaError::UnknownColumn {
                table,
                column,
                used_in,
            } => write!(
                f,
                "{used_in} of table `{table}` names column `{column}`, which the table does not have"
            ),
            SchemaError::NoColumns { table, used_in } => {
                write!(f, "{used_in} of table `{table}` has no columns")
            }
            SchemaError::DuplicateName { table, name } => {
                write!(f, "table `{table}` has two constraints or indexes named `{name}`")
            }
            SchemaError::InvalidIndex {
                table,
                index,
                problem,
            } => write!(f, "index `{index}` of table `{table}` {problem}"),
            SchemaError::InvalidGeneration {
                table,
                column,
                problem,
            } => write!(f, "column `{table}.{column}` {problem}"),
            SchemaError::InvalidDefault {
                table,
                column,
                problem,
            } => write!(f, "the default of column `{table}.{column}` {problem}"),
            SchemaError::NulCharacter { table, used_in } => write!(
                f,
                "{used_in} of table `{table}` contains a NUL character, which PostgreSQL cannot \
                 store and which would cut the script short where psql reads it"
            ),
            SchemaError::InvalidColumn {
                table,
                column,
                problem,
            } => write!(f, "column `{table}.{column}` {problem}"),
            SchemaError::InvalidGrant {
                table,
                role,
                problem,
            } => write!(f, "the column grant of table `{table}` to role `{role}` {problem}"),
            SchemaError::EnumConflict { name } => write!(
                f,
                "two enums with different values are both the native type `{name}`; name one of \
                 them otherwise with `#[pg(native = \"...\")]`"
            ),
            SchemaError::MissingExtension {
                table,
                column,
                extension,
            } => write!(
                f,
                "column `{table}.{column}` is of a type from the extension `{extension}`, which \
                 the schema does not declare: add `.extension(\"{extension}\")` to the `Schema`"
            ),
            SchemaError::InvalidExtension { name, problem } => {
                write!(f, "the extension name `{name}` {problem}")
            }
            SchemaError::InvalidEnum { name, problem } => {
                write!(f, "the enum type `{name}` {problem}")
            }
            SchemaError::UncreatedEnumType {
                table,
                column,
                sql_type,
            } => write!(
                f,
                "column `{table}.{column}` holds an enum but is of type `{sql_type}`, which the \
                 schema does not create: a native enum's column is of its own type (remove \
                 `sql_type`, and put the type in a PostgreSQL schema with \
                 `#[pg(native, schema = \"...\")]` on the enum), or declare the type with \
                 `Schema::enum_type`"
            ),
            SchemaError::Tenancy { table, problem } => {
                write!(f, "tenant table `{table}`: {problem}")
            }
            SchemaError::Citus {
                table,
                message,
                hint,
            } => write!(f, "table `{table}` on Citus: {message} ({hint})"),
        }
    }
}

impl std::error::Error for SchemaError {}
