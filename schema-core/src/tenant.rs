//! The tenant, declared once: the schema names the setting a tenant scope carries the tenant's
//! key in and the roles that are scoped by it ([`Schema::tenant_setting`],
//! [`Schema::tenant_role`]); each tenant table names its tenant column (`#[pg(tenant =
//! Provider)]`). From that, each tenant table gets row-level security and, for every tenant
//! role without a policy of its own on the table, the tenant-isolation policy
//! `{table}_{role}_own`:
//!
//! ```sql
//! CREATE POLICY "support_tickets_physician_own" ON "support_tickets" FOR ALL
//!     TO "physician"
//!     USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid)
//!     WITH CHECK ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid)
//! ```
//!
//! A policy written for a tenant role is kept as written (a read-only one, say), and must
//! compare the tenant column with the tenant setting in each of its clauses: one that does not
//! is a [`SchemaError::Tenancy`], as is a tenant table whose schema declares no tenant setting
//! or role, or whose root is not in the schema.
//!
//! [`Schema::tenant_setting`]: crate::Schema::tenant_setting
//! [`Schema::tenant_role`]: crate::Schema::tenant_role

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Mutex, OnceLock};

use crate::def::{PolicyCommand, PolicyDef, SqlPart, TableDef, TenantDef};
use crate::error::SchemaError;
use crate::query::{CompareOp, Expr, QueryValue, Value};
use crate::target::Target;
use crate::{Schema, TenantRoot};

/// A tenant scope of a schema, for the tenant root `R`: the role a tenant transaction acts as
/// and the setting it carries the tenant's key in, both as the deployment names them, checked
/// against the schema's declaration. Made once (it is cheap to clone) and opened per request
/// with the tenant's key, typed as the root's key (`Db::tenant`,
/// `schema_core::sqlx::tenant_transaction`).
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
/// let schema = Schema::new()
///     .table::<Provider>()
///     .tenant_setting("app.provider_id")
///     .tenant_role("physician");
/// let scope = schema.tenant_scope::<Provider>("physician").unwrap();
/// assert_eq!(scope.setting(), "app.provider_id");
/// assert!(schema.tenant_scope::<Provider>("support_team").is_err());
/// ```
pub struct TenantScope<R> {
    role: String,
    setting: String,
    target: Target,
    root: PhantomData<fn() -> R>,
}

impl<R> Clone for TenantScope<R> {
    fn clone(&self) -> Self {
        TenantScope {
            role: self.role.clone(),
            setting: self.setting.clone(),
            target: self.target,
            root: PhantomData,
        }
    }
}

impl<R> fmt::Debug for TenantScope<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantScope")
            .field("role", &self.role)
            .field("setting", &self.setting)
            .field("target", &self.target)
            .finish()
    }
}

impl<R: TenantRoot> TenantScope<R> {
    /// The role the scope acts as, as the deployment names it.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The setting the scope carries the tenant's key in, as the deployment names it.
    pub fn setting(&self) -> &str {
        &self.setting
    }

    /// The target the scope runs on.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The same scope on another target: on [`Target::Citus`], a tenant transaction first asks
    /// for `citus.propagate_set_commands = 'local'`, in a query of its own, so that its
    /// `SET LOCAL`s reach the workers.
    pub fn for_target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// The pin of one tenant: what typed queries of its tables carry (`Select::in_tenant`).
    pub fn pin(&self, key: R::Key) -> TenantPin
    where
        R::Key: QueryValue,
    {
        TenantPin {
            root: R::TABLE_NAME,
            value: Value::new(key),
        }
    }
}

/// One tenant's key, for the tables of its tenant root: typed queries of those tables carry
/// `"tenant_column" = $n` first (`Select::in_tenant`). Its `Debug` does not show the key.
#[derive(Clone, Debug)]
pub struct TenantPin {
    root: &'static str,
    value: Value,
}

impl TenantPin {
    /// The tenant root's table (qualified).
    pub fn root(&self) -> &'static str {
        self.root
    }

    /// The key, to bind.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// `"tenant_column" = key` for a table of this tenant root; `None` for any other table.
    pub(crate) fn filter_for(&self, table: &TableDef) -> Option<Expr> {
        if table.tenant_root().as_deref() != Some(self.root) {
            return None;
        }
        Some(Expr::Compare {
            column: table.tenant_column()?,
            op: CompareOp::Eq,
            value: self.value.clone(),
        })
    }
}

impl Schema {
    /// The tenant scope of the tenant root `R` acting as `role`: refused unless the schema
    /// declares a tenant setting, `role` among its tenant roles, and `R`'s table. Names are
    /// mapped by the schema's [`Names`](crate::Names).
    pub fn tenant_scope<R: TenantRoot>(&self, role: &str) -> Result<TenantScope<R>, SchemaError> {
        let problem = |problem: String| SchemaError::Tenancy {
            table: R::TABLE_NAME.into(),
            problem,
        };
        let Some(setting) = self.tenancy().setting else {
            return Err(problem(
                "the schema declares no tenant setting: add `.tenant_setting(\"app.tenant_id\")` to the `Schema`".into(),
            ));
        };
        if !self.tenancy().roles.contains(&role) {
            return Err(problem(format!(
                "`{role}` is not a tenant role of the schema: add `.tenant_role(\"{role}\")` to the `Schema`"
            )));
        }
        if !self
            .tables()
            .iter()
            .any(|t| t.qualified_name() == R::TABLE_NAME)
        {
            return Err(problem(
                "the tenant root is not in the schema: add its table to the `Schema`".into(),
            ));
        }
        Ok(TenantScope {
            role: self.names().role_name(role).to_string(),
            setting: self.names().setting_name(setting).to_string(),
            target: Target::Plain,
            root: PhantomData,
        })
    }
}

/// The tenant scoping of a schema: the setting a tenant scope carries the tenant's key in, and
/// the roles scoped by it; both by their names in the code (a [`Names`](crate::Names) maps them
/// to the deployment's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tenancy {
    pub(crate) setting: Option<&'static str>,
    pub(crate) roles: Vec<&'static str>,
}

impl Tenancy {
    /// The tenant setting (`app.provider_id`), if declared.
    pub fn setting(&self) -> Option<&'static str> {
        self.setting
    }

    /// The tenant roles (`physician`), in the order declared.
    pub fn roles(&self) -> &[&'static str] {
        &self.roles
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.setting.is_none() && self.roles.is_empty()
    }
}

/// The name of the tenant-isolation policy generated for `role` on `table`.
pub fn policy_name(table: &str, role: &str) -> String {
    format!("{table}_{role}_own")
}

/// The tables as rendered: each tenant table with row-level security on and its generated
/// policies, the others as declared. Checks every hole of the declaration.
pub(crate) fn scoped_tables(
    tables: &[&'static TableDef],
    tenancy: &Tenancy,
) -> Result<Vec<&'static TableDef>, SchemaError> {
    let mut out = Vec::with_capacity(tables.len());
    for &table in tables {
        let Some(TenantDef::Member {
            column,
            root,
            root_key,
        }) = table.tenant
        else {
            out.push(table);
            continue;
        };
        let problem = |problem: String| SchemaError::Tenancy {
            table: table.qualified_name().into_owned(),
            problem,
        };
        let Some(root_table) = tables.iter().find(|t| t.qualified_name() == root) else {
            return Err(problem(format!(
                "its tenant root `{root}` is not in the schema: add its table to the `Schema`"
            )));
        };
        if !matches!(root_table.tenant, Some(TenantDef::Root { .. })) {
            return Err(problem(format!(
                "`{root}` is not a tenant root: add `tenant_root` to its `#[pg(...)]`"
            )));
        }
        let (Some(key), Some(own)) = (root_table.column(root_key), table.column(column)) else {
            return Err(problem(format!(
                "its tenant column `{column}` or the root's key `{root}.{root_key}` does not exist"
            )));
        };
        if key.sql_type != own.sql_type {
            return Err(problem(format!(
                "its tenant column `{column}` is of type {}, the tenant root's key `{root}.{root_key}` of type {}: declare it with the root's key type",
                own.sql_type, key.sql_type
            )));
        }
        let Some(setting) = tenancy.setting else {
            return Err(problem(
                "the schema declares no tenant setting: add `.tenant_setting(\"app.tenant_id\")` to the `Schema`, the setting a tenant scope carries the tenant's key in".into(),
            ));
        };
        if tenancy.roles.is_empty() {
            return Err(problem(
                "the schema declares no tenant role: add `.tenant_role(\"...\")` to the `Schema` for each role a tenant scope acts as".into(),
            ));
        }
        for policy in table.policies {
            if !tenancy.roles.contains(&policy.role) {
                continue;
            }
            let scopes = |clause: Option<&[SqlPart]>| match clause {
                None => true,
                Some(parts) => {
                    parts.contains(&SqlPart::Column(column))
                        && parts.contains(&SqlPart::Setting(setting))
                }
            };
            if (policy.using.is_none() && policy.with_check.is_none())
                || !scopes(policy.using)
                || !scopes(policy.with_check)
            {
                return Err(problem(format!(
                    "the policy `{}` for the tenant role `{}` does not compare the tenant column `{column}` with the tenant setting `{setting}` in each clause, so it lets the role reach other tenants' rows: write `{{{column}}} = {{setting:{setting}}}::{}`, or remove it to have the tenant-isolation policy generated",
                    policy.name, policy.role, key.sql_type
                )));
            }
        }
        let scoped = with_policies(
            table,
            column,
            setting,
            &tenancy.roles,
            key.sql_type.to_string(),
        );
        for grant in scoped.column_grants {
            for (granted, command) in [
                (grant.insert.is_some(), PolicyCommand::Insert),
                (grant.update.is_some(), PolicyCommand::Update),
            ] {
                let allowed = scoped.policies.iter().any(|p| {
                    (p.role == grant.role || p.role.eq_ignore_ascii_case("public"))
                        && (p.command == PolicyCommand::All || p.command == command)
                });
                if granted && scoped.row_level_security && !allowed {
                    return Err(problem(format!(
                        "under row-level security `{}` can {} no row without a policy: declare it a tenant role (`Schema::tenant_role`) or add a `policy` with `command = \"{}\"` (or \"all\") for it",
                        grant.role,
                        command.as_sql().to_lowercase(),
                        command.as_sql().to_lowercase()
                    )));
                }
            }
        }
        out.push(scoped);
    }
    Ok(out)
}

/// Key of a generated table: the declared table's address, the setting, the roles, the cast.
type CacheKey = (usize, &'static str, Vec<&'static str>, String);

/// `table` with row-level security on and the tenant-isolation policy of every tenant role it
/// has no policy for, first; built once per declaration and kept, as the derive's constants
/// are.
fn with_policies(
    table: &'static TableDef,
    column: &'static str,
    setting: &'static str,
    roles: &[&'static str],
    cast: String,
) -> &'static TableDef {
    static BUILT: OnceLock<Mutex<HashMap<CacheKey, &'static TableDef>>> = OnceLock::new();
    let key = (
        table as *const TableDef as usize,
        setting,
        roles.to_vec(),
        cast.clone(),
    );
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(table) = built.get(&key) {
        return table;
    }
    let missing: Vec<&'static str> = roles
        .iter()
        .copied()
        .filter(|role| !table.policies.iter().any(|p| p.role == *role))
        .collect();
    let made: &'static TableDef = if missing.is_empty() && table.row_level_security {
        table
    } else {
        let cast: &'static str = Box::leak(format!("::{cast}").into_boxed_str());
        let clause: &'static [SqlPart] = Box::leak(Box::new([
            SqlPart::Column(column),
            SqlPart::Sql(" = "),
            SqlPart::Setting(setting),
            SqlPart::Sql(cast),
        ]));
        let mut policies: Vec<PolicyDef> = missing
            .iter()
            .map(|role| PolicyDef {
                name: Box::leak(policy_name(table.name, role).into_boxed_str()),
                renamed_from: None,
                command: PolicyCommand::All,
                role,
                using: Some(clause),
                with_check: Some(clause),
            })
            .collect();
        policies.extend_from_slice(table.policies);
        Box::leak(Box::new(TableDef {
            row_level_security: true,
            policies: Box::leak(policies.into_boxed_slice()),
            ..*table
        }))
    };
    built.insert(key, made);
    made
}
