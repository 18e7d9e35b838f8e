//! The queries an application asks, registered by name beside its tables, so that the plan
//! check (`pg::explain`, feature `postgres`) can read each one's plan and
//! tell whether the declared indexes serve it.
//!
//! A query is registered by its SQL text alone, with `$1..$n` for its values: the text a typed
//! query renders, or SQL written by hand. The server infers the parameters' types, as it does
//! for a prepared statement.

use std::borrow::Cow;

/// A query of the application: a name that says what it asks, and its SQL text with
/// parameters `$1..$n` (never values).
///
/// ```
/// # use schema_core::NamedQuery;
/// let query = NamedQuery::new(
///     "tickets_with_status",
///     "SELECT * FROM support_tickets WHERE provider_id = $1 AND status = $2",
/// );
/// assert_eq!(query.name, "tickets_with_status");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedQuery {
    /// What the query asks, as the check's report names it.
    pub name: Cow<'static, str>,
    /// Its SQL text, parameters written `$1..$n`.
    pub sql: Cow<'static, str>,
}

impl NamedQuery {
    /// A query named `name` with the text `sql` (a `&'static str` or a `String`, such as the
    /// text a query builder renders).
    pub fn new(name: impl Into<Cow<'static, str>>, sql: impl Into<Cow<'static, str>>) -> Self {
        NamedQuery {
            name: name.into(),
            sql: sql.into(),
        }
    }
}

/// Whom the application runs a set of queries as: the role its row-level security policies
/// name (as the schema names it, mapped to the deployment's name through
/// [`Names`](crate::Names)) and, for a scoped role, the setting its policies read with a value
/// to plan with (a valid value of the setting's type: the plan does not depend on which).
///
/// ```
/// # use schema_core::QueryRole;
/// let physician = QueryRole::new("physician")
///     .setting("app.provider_id", "00000000-0000-0000-0000-000000000000");
/// let support_team = QueryRole::new("support_team");
/// # let _ = (physician, support_team);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryRole {
    /// The role, as the policies name it (`physician`).
    pub role: Cow<'static, str>,
    /// The setting the role's policies read (`app.provider_id`) and the value to plan with.
    pub setting: Option<(Cow<'static, str>, Cow<'static, str>)>,
}

impl QueryRole {
    /// Queries run as `role`, with no setting.
    pub fn new(role: impl Into<Cow<'static, str>>) -> Self {
        QueryRole {
            role: role.into(),
            setting: None,
        }
    }

    /// With the setting `name` set to `value` (local to the check's transaction).
    pub fn setting(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.setting = Some((name.into(), value.into()));
        self
    }
}

/// A registered query and the role it runs as: one entry of
/// [`Schema::registered_queries`](crate::Schema::registered_queries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredQuery {
    /// The query.
    pub query: NamedQuery,
    /// Whom it runs as.
    pub role: QueryRole,
}
