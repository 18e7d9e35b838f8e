//! A whole schema: its tables in foreign-key order, rendered as one DDL script.

use std::collections::{HashMap, HashSet};

use crate::def::TableDef;
use crate::error::SchemaError;
use crate::names::Names;
use crate::render::{create_role, policy_roles, table_statements_with};
use crate::sql::identifier_problem;
use crate::Table;

/// The tables of an application, rendered together.
///
/// ```
/// # use schema_core::{PgTable, Schema};
/// # use uuid::Uuid;
/// #[derive(PgTable)]
/// #[pg(table = "authors")]
/// pub struct Author {
///     #[pg(primary_key)]
///     pub author_id: Uuid,
/// }
///
/// #[derive(PgTable)]
/// #[pg(table = "books")]
/// pub struct Book {
///     #[pg(primary_key)]
///     pub book_id: Uuid,
///     #[pg(references = Author::author_id)]
///     pub author_id: Uuid,
/// }
///
/// // Declared in any order, created in foreign-key order.
/// let ddl = Schema::new().table::<Book>().table::<Author>().to_ddl().unwrap();
/// assert!(ddl.find(r#"CREATE TABLE "authors""#) < ddl.find(r#"CREATE TABLE "books""#));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Schema {
    tables: Vec<&'static TableDef>,
    names: Names,
}

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the table of a `#[derive(PgTable)]` type.
    pub fn table<T: Table>(self) -> Self {
        self.with_def(T::TABLE)
    }

    /// Adds a table given by its definition.
    pub fn with_def(mut self, table: &'static TableDef) -> Self {
        self.tables.push(table);
        self
    }

    /// Names the roles and settings of the tables' policies as the deployment has them.
    pub fn with_names(mut self, names: Names) -> Self {
        self.names = names;
        self
    }

    /// How roles and settings are named in the deployment.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The tables, in the order they were added.
    pub fn tables(&self) -> &[&'static TableDef] {
        &self.tables
    }

    /// The tables in an order that creates every referenced table before the tables that
    /// reference it; tables without such a constraint keep the order they were added in.
    pub fn ordered(&self) -> Result<Vec<&'static TableDef>, SchemaError> {
        let mut by_name = HashMap::new();
        for (position, table) in self.tables.iter().enumerate() {
            if by_name.insert(table.name, position).is_some() {
                return Err(SchemaError::DuplicateTable {
                    table: table.name.into(),
                });
            }
        }
        let mut depends_on: Vec<Vec<usize>> = Vec::with_capacity(self.tables.len());
        for table in &self.tables {
            let mut targets = Vec::new();
            for fk in table.foreign_keys {
                let Some(&target) = by_name.get(fk.references_table) else {
                    return Err(SchemaError::MissingTable {
                        table: table.name.into(),
                        references: fk.references_table.into(),
                    });
                };
                // A table may reference itself; that needs no order.
                if fk.references_table != table.name {
                    targets.push(target);
                }
            }
            depends_on.push(targets);
        }

        let mut placed = vec![false; self.tables.len()];
        let mut order = Vec::with_capacity(self.tables.len());
        while order.len() < self.tables.len() {
            let next = (0..self.tables.len())
                .find(|&i| !placed[i] && depends_on[i].iter().all(|&d| placed[d]));
            match next {
                Some(i) => {
                    placed[i] = true;
                    order.push(self.tables[i]);
                }
                None => {
                    return Err(SchemaError::ForeignKeyCycle {
                        tables: cycle(&depends_on, &placed)
                            .into_iter()
                            .map(|i| self.tables[i].name.to_string())
                            .collect(),
                    })
                }
            }
        }
        Ok(order)
    }

    /// The DDL statements of every table, in foreign-key order, without `;`.
    pub fn ddl_statements(&self) -> Result<Vec<String>, SchemaError> {
        let tables = self.ordered()?;
        check_relation_names(&tables)?;
        // The roles the policies name must exist before the policies do.
        let mut roles: Vec<&str> = Vec::new();
        for table in &tables {
            for role in policy_roles(table, &self.names) {
                if let Some(problem) = identifier_problem(role) {
                    return Err(SchemaError::InvalidIdentifier {
                        table: table.name.into(),
                        name: role.into(),
                        problem,
                    });
                }
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
        }
        let mut statements: Vec<String> = roles.into_iter().map(create_role).collect();
        for table in tables {
            statements.extend(table_statements_with(table, &self.names)?);
        }
        Ok(statements)
    }

    /// The whole DDL script: every statement ended by `;`, a blank line between them. It
    /// applies to an empty database with `psql -v ON_ERROR_STOP=1`.
    pub fn to_ddl(&self) -> Result<String, SchemaError> {
        let mut script = String::new();
        let mut previous_kind = None;
        for statement in self.ddl_statements()? {
            // A blank line between groups; a run of indexes or of comments stays together.
            let kind = statement_group(&statement);
            if previous_kind.is_some() && (previous_kind != Some(kind) || kind == "table") {
                script.push('\n');
            }
            script.push_str(&statement);
            script.push_str(";\n");
            previous_kind = Some(kind);
        }
        Ok(script)
    }
}

fn statement_group(statement: &str) -> &'static str {
    if statement.starts_with("COMMENT") {
        "comment"
    } else if statement.starts_with("DO ") {
        "role"
    } else if ["ALTER TABLE", "CREATE POLICY", "GRANT"]
        .iter()
        .any(|prefix| statement.starts_with(prefix))
    {
        "security"
    } else if statement.starts_with("CREATE FUNCTION") || statement.starts_with("CREATE TRIGGER") {
        "trigger"
    } else if statement.starts_with("CREATE INDEX") || statement.starts_with("CREATE UNIQUE INDEX")
    {
        "index"
    } else {
        "table"
    }
}

/// Tables, indexes and the indexes behind primary keys share one namespace in PostgreSQL, so
/// two of them with one name fail at `CREATE` time.
fn check_relation_names(tables: &[&TableDef]) -> Result<(), SchemaError> {
    let mut seen = HashSet::new();
    for table in tables {
        let mut names = vec![table.name.to_string()];
        if !table.primary_key.is_empty() {
            names.push(table.primary_key_name().into_owned());
        }
        names.extend(
            table
                .columns
                .iter()
                .filter(|c| c.unique)
                .map(|c| table.unique_name(c).into_owned()),
        );
        names.extend(
            table
                .indexes
                .iter()
                .map(|i| table.index_name(i).into_owned()),
        );
        for name in names {
            if !seen.insert(name.clone()) {
                return Err(SchemaError::DuplicateName {
                    table: table.name.into(),
                    name,
                });
            }
        }
    }
    Ok(())
}

/// One loop among the tables not yet placed: every one of them waits on another, so walking
/// from any of them must come back to a table already visited.
fn cycle(depends_on: &[Vec<usize>], placed: &[bool]) -> Vec<usize> {
    let start = (0..placed.len()).find(|&i| !placed[i]).unwrap_or(0);
    let mut path = vec![start];
    let mut current = start;
    loop {
        let Some(&next) = depends_on[current].iter().find(|&&d| !placed[d]) else {
            return path;
        };
        if let Some(position) = path.iter().position(|&p| p == next) {
            return path.split_off(position);
        }
        path.push(next);
        current = next;
    }
}
