//! A whole schema: its tables in foreign-key order, rendered as one DDL script.

use std::collections::{HashMap, HashSet};

use crate::def::TableDef;
use crate::error::SchemaError;
use crate::model::SchemaModel;
use crate::named_query::{NamedQuery, QueryRole, RegisteredQuery};
use crate::names::Names;
use crate::render::{create_statements, psql_script, script, Statement};
use crate::target::Target;
use crate::tenant::{scoped_tables, Tenancy};
use crate::types::SqlType;
use crate::{PgType, Table};

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
    enums: Vec<EnumDecl>,
    extensions: Vec<&'static str>,
    queries: Vec<RegisteredQuery>,
    tenancy: Tenancy,
    target: Target,
}

/// A native enum type declared on its own (see [`Schema::enum_type`]): the Rust type's name,
/// and its `PgType` constants.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EnumDecl {
    pub(crate) rust_type: &'static str,
    pub(crate) sql_type: SqlType,
    pub(crate) values: Option<&'static [&'static str]>,
    pub(crate) renamed: &'static [(&'static str, &'static str)],
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

    /// Declares the native enum type of a `#[derive(PgEnum)]` with `#[pg(native)]`, whether a
    /// table uses it or not: the schema creates it, and a plan keeps it. A type the tables use
    /// needs no declaration. A text enum (not native) is a [`SchemaError::InvalidEnum`] when
    /// the model is built.
    pub fn enum_type<E: PgType>(mut self) -> Self {
        self.enums.push(EnumDecl {
            rust_type: std::any::type_name::<E>(),
            sql_type: E::SQL_TYPE,
            values: E::ALLOWED_VALUES,
            renamed: E::RENAMED_VALUES,
        });
        self
    }

    /// The enum types declared with [`Schema::enum_type`], in order.
    pub(crate) fn declared_enums(&self) -> &[EnumDecl] {
        &self.enums
    }

    /// Declares a PostgreSQL extension the schema needs (`CREATE EXTENSION IF NOT EXISTS`,
    /// before everything else): `citext` for `#[pg(citext)]` columns. A column whose type
    /// comes from an extension the schema does not declare is a
    /// [`SchemaError::MissingExtension`]. The objects an extension creates are its own:
    /// introspection and drift checks leave them alone.
    ///
    /// ```
    /// # use schema_core::{PgTable, Schema};
    /// #[derive(PgTable)]
    /// pub struct Login {
    ///     #[pg(primary_key, citext)]
    ///     pub email: String,
    /// }
    ///
    /// assert!(Schema::new().table::<Login>().to_ddl().is_err());
    /// let ddl = Schema::new().extension("citext").table::<Login>().to_ddl().unwrap();
    /// // First, after the lines that say the script's encoding and search path.
    /// assert_eq!(ddl.lines().nth(3), Some(r#"CREATE EXTENSION IF NOT EXISTS "citext";"#));
    /// ```
    pub fn extension(mut self, name: &'static str) -> Self {
        if !self.extensions.contains(&name) {
            self.extensions.push(name);
        }
        self
    }

    /// The extensions declared with [`Schema::extension`], in order.
    pub(crate) fn declared_extensions(&self) -> &[&'static str] {
        &self.extensions
    }

    /// Names the roles and settings of the tables' policies as the deployment has them.
    pub fn with_names(mut self, names: Names) -> Self {
        self.names = names;
        self
    }

    /// Declares the setting a tenant scope carries the tenant's key in (`app.provider_id`),
    /// once for every tenant table: their tenant-isolation policies compare the tenant column
    /// with it (see [`tenant`](crate::tenant)). A [`Names`] maps it to the deployment's name.
    ///
    /// ```
    /// # use schema_core::{PgTable, Schema};
    /// # use uuid::Uuid;
    /// #[derive(PgTable)]
    /// #[pg(table = "providers", tenant_root)]
    /// pub struct Provider {
    ///     #[pg(primary_key)]
    ///     pub provider_id: Uuid,
    /// }
    ///
    /// #[derive(PgTable)]
    /// #[pg(table = "notes")]
    /// pub struct Note {
    ///     #[pg(primary_key)]
    ///     pub note_id: Uuid,
    ///     #[pg(tenant = Provider)]
    ///     pub provider_id: Uuid,
    /// }
    ///
    /// let schema = Schema::new().table::<Provider>().table::<Note>();
    /// // A tenant table with no tenant setting is a hole: refused.
    /// assert!(schema.to_ddl().is_err());
    /// let ddl = schema
    ///     .tenant_setting("app.provider_id")
    ///     .tenant_role("physician")
    ///     .to_ddl()
    ///     .unwrap();
    /// assert!(ddl.contains(
    ///     r#"CREATE POLICY "notes_physician_own" ON "notes" FOR ALL TO "physician" USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid)"#
    /// ));
    /// ```
    pub fn tenant_setting(mut self, setting: &'static str) -> Self {
        self.tenancy.setting = Some(setting);
        self
    }

    /// Declares a role a tenant scope acts as (`physician`): every tenant table gets row-level
    /// security and, unless it has a policy of its own for the role, the tenant-isolation
    /// policy `{table}_{role}_own` for all commands.
    pub fn tenant_role(mut self, role: &'static str) -> Self {
        if !self.tenancy.roles.contains(&role) {
            self.tenancy.roles.push(role);
        }
        self
    }

    /// The schema rendered for `target`: its DDL ([`to_ddl`](Schema::to_ddl)), its model (what
    /// `check`, `diff` and `migrate new` compare) and the rules checked before anything is
    /// sent follow the target. [`Target::Plain`], the default, is the DDL as declared; see
    /// [`target::citus`](crate::target::citus) for what Citus changes.
    ///
    /// ```
    /// # use schema_core::{PgTable, Schema, Target};
    /// # use uuid::Uuid;
    /// #[derive(PgTable)]
    /// #[pg(table = "providers", tenant_root, reference)]
    /// pub struct Provider {
    ///     #[pg(primary_key)]
    ///     pub provider_id: Uuid,
    /// }
    ///
    /// #[derive(PgTable)]
    /// #[pg(table = "notes")]
    /// pub struct Note {
    ///     #[pg(primary_key)]
    ///     pub note_id: Uuid,
    ///     #[pg(tenant = Provider, references = Provider::provider_id)]
    ///     pub provider_id: Uuid,
    /// }
    ///
    /// let schema = Schema::new()
    ///     .table::<Provider>()
    ///     .table::<Note>()
    ///     .tenant_setting("app.provider_id")
    ///     .tenant_role("physician");
    /// let ddl = schema.for_target(Target::Citus).to_ddl().unwrap();
    /// assert!(ddl.contains("SELECT create_reference_table('\"providers\"');"));
    /// assert!(ddl.contains(r#"CONSTRAINT "notes_pkey" PRIMARY KEY ("provider_id", "note_id")"#));
    /// assert!(ddl.contains(
    ///     "SELECT create_distributed_table('\"notes\"', 'provider_id', colocate_with => 'default');"
    /// ));
    /// ```
    pub fn for_target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// The target the schema renders for.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The tenant setting and roles declared.
    pub fn tenancy(&self) -> &Tenancy {
        &self.tenancy
    }

    /// How roles and settings are named in the deployment.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Registers queries the application asks, run as `role`: the plan check
    /// (`pg::explain::check_queries` with the feature `postgres`, the command line's `queries`
    /// and `check`) reads each one's plan and reports whether the declared indexes serve it, and
    /// which declared indexes no registered query uses. Registering changes nothing else: the
    /// DDL, the model and every plan of changes stay as they are.
    ///
    /// ```
    /// # use schema_core::{NamedQuery, QueryRole, Schema};
    /// let schema = Schema::new().queries(
    ///     QueryRole::new("support_team"),
    ///     [NamedQuery::new(
    ///         "triage_queue",
    ///         "SELECT * FROM support_tickets WHERE status = $1 ORDER BY priority",
    ///     )],
    /// );
    /// assert_eq!(schema.registered_queries()[0].query.name, "triage_queue");
    /// ```
    pub fn queries(
        mut self,
        role: QueryRole,
        queries: impl IntoIterator<Item = NamedQuery>,
    ) -> Self {
        self.queries
            .extend(queries.into_iter().map(|query| RegisteredQuery {
                query,
                role: role.clone(),
            }));
        self
    }

    /// The queries registered with [`Schema::queries`], in order.
    pub fn registered_queries(&self) -> &[RegisteredQuery] {
        &self.queries
    }

    /// The tables, in the order they were added.
    pub fn tables(&self) -> &[&'static TableDef] {
        &self.tables
    }

    /// The tables in an order that creates every referenced table before the tables that
    /// reference it; tables without such a constraint keep the order they were added in.
    ///
    /// Tenant tables come as rendered: with row-level security and the tenant-isolation
    /// policies the schema's tenancy generates (see [`Schema::tenant_setting`]).
    pub fn ordered(&self) -> Result<Vec<&'static TableDef>, SchemaError> {
        let tables = scoped_tables(&self.tables, &self.tenancy)?;
        let mut by_name = HashMap::new();
        for (position, table) in tables.iter().enumerate() {
            if by_name.insert(table.qualified_name(), position).is_some() {
                return Err(SchemaError::DuplicateTable {
                    table: table.qualified_name().into_owned(),
                });
            }
        }
        let mut depends_on: Vec<Vec<usize>> = Vec::with_capacity(tables.len());
        for table in &tables {
            let mut targets = Vec::new();
            for fk in table.foreign_keys {
                let Some(&target) = by_name.get(fk.references_table) else {
                    return Err(SchemaError::MissingTable {
                        table: table.qualified_name().into_owned(),
                        references: fk.references_table.into(),
                    });
                };
                // A table may reference itself; that needs no order.
                if fk.references_table != table.qualified_name() {
                    targets.push(target);
                }
            }
            depends_on.push(targets);
        }

        let mut placed = vec![false; tables.len()];
        let mut order = Vec::with_capacity(tables.len());
        while order.len() < tables.len() {
            let next =
                (0..tables.len()).find(|&i| !placed[i] && depends_on[i].iter().all(|&d| placed[d]));
            match next {
                Some(i) => {
                    placed[i] = true;
                    order.push(tables[i]);
                }
                None => {
                    return Err(SchemaError::ForeignKeyCycle {
                        tables: cycle(&depends_on, &placed)
                            .into_iter()
                            .map(|i| tables[i].qualified_name().into_owned())
                            .collect(),
                    })
                }
            }
        }
        Ok(order)
    }

    /// The DDL statements of every table, in foreign-key order, without `;`.
    pub fn ddl_statements(&self) -> Result<Vec<String>, SchemaError> {
        if self.target == Target::Citus {
            return Ok(crate::target::citus::ddl_statements(self)?
                .into_iter()
                .map(|(_, sql)| sql)
                .collect());
        }
        Ok(self
            .statements()?
            .iter()
            .map(Statement::to_string)
            .collect())
    }

    /// The typed statements that create the schema from nothing, in order: the roles, then
    /// each table with its indexes, comments, immutable guard, row-level security, policies and
    /// privileges.
    pub fn statements(&self) -> Result<Vec<Statement>, SchemaError> {
        Ok(create_statements(&self.model()?))
    }

    /// The schema as an owned [`SchemaModel`], the form diffs and plans read.
    pub fn model(&self) -> Result<SchemaModel, SchemaError> {
        if self.target == Target::Citus {
            return crate::target::citus::model(self);
        }
        SchemaModel::from_schema(self)
    }

    /// The whole DDL script: the encoding it is written in and its search path first
    /// ([`ENCODING_HEADER`](crate::render::ENCODING_HEADER)), then every statement ended by
    /// `;`, a blank line between them. It applies to an empty database with
    /// `psql -v ON_ERROR_STOP=1`, whatever the client's encoding and the login's search path,
    /// its unqualified names in `public`.
    pub fn to_ddl(&self) -> Result<String, SchemaError> {
        if self.target == Target::Citus {
            return crate::target::citus::to_ddl(self);
        }
        Ok(psql_script(&script(&self.statements()?)))
    }
}

/// Tables, indexes and the indexes behind primary keys and unique constraints share one
/// namespace in PostgreSQL, so two of them with one name fail at `CREATE` time.
pub(crate) fn check_relation_names(tables: &[&TableDef]) -> Result<(), SchemaError> {
    let mut seen = HashSet::new();
    for table in tables {
        // Each PostgreSQL schema has its own.
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
                .unique_keys
                .iter()
                .map(|k| table.unique_key_name(k).into_owned()),
        );
        names.extend(
            table
                .indexes
                .iter()
                .map(|i| table.index_name(i).into_owned()),
        );
        for name in names {
            if !seen.insert((table.schema, name.clone())) {
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
