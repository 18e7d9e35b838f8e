//! A request's scope, for both drivers: the role a scoped transaction acts as, the setting its
//! policies read, and the checks that make the scope hold whatever the login is.
//!
//! Row-level security policies add up over every role the current user is a member of: a
//! login that holds both `physician` and `support_team` sees, in a "physician" transaction,
//! what the support team's policy shows too, the whole queue. So a scoped transaction acts as
//! the scope's role alone (`SET LOCAL ROLE`), whatever else its login holds; and since no policy
//! holds for a superuser or a role with `BYPASSRLS`, a login or a role that is one is refused
//! before anything runs in the transaction.

use super::statements;
use super::SettingProblem;
use crate::sql::{identifier_problem, quote_ident};

/// Whom a scoped transaction acts as, and what it is scoped to: the role the row-level
/// security policies name (`physician`, as the deployment names it, see
/// [`Names::role_name`](crate::Names::role_name)), and the setting they read with the value
/// the application derived from its own authentication of the user
/// ([`Names::setting_name`](crate::Names::setting_name)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestScope<'a> {
    /// The role the transaction acts as (`SET LOCAL ROLE`): the login must be a member of it
    /// (with `INHERIT` or not), and neither may be a superuser or have `BYPASSRLS`.
    pub role: &'a str,
    /// The setting the policies read: `prefix.name`.
    pub setting: &'a str,
    /// The setting's value for this transaction (`SET LOCAL`).
    pub value: &'a str,
}

/// Why a scoped transaction was not opened for its role; nothing ran in it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeProblem {
    /// The role's name cannot name a role (empty, a NUL character, over 63 bytes); nothing was
    /// sent.
    RoleName(&'static str),
    /// The login (the session's user) is a superuser or has `BYPASSRLS`: no policy holds for
    /// it, so it could leave the scope with a `RESET ROLE`, and a deployment that connects as
    /// one has no row-level security at all outside the scoped transactions.
    LoginBypassesRowSecurity {
        /// The login's name.
        login: String,
        /// Whether it is a superuser (else it has `BYPASSRLS`).
        superuser: bool,
    },
    /// The role is a superuser or has `BYPASSRLS`: no policy would hold inside the scope.
    RoleBypassesRowSecurity {
        /// Whether it is a superuser (else it has `BYPASSRLS`).
        superuser: bool,
    },
    /// No role has that name.
    UnknownRole,
    /// The login may not act as the role: it is not a member of it (from PostgreSQL 16: not
    /// one granted with the `SET` option).
    NotMember {
        /// The login's name.
        login: String,
    },
}

impl ScopeProblem {
    /// The message of an error about acting as `role`.
    pub(crate) fn describe(&self, role: &str) -> String {
        let bypasses = |superuser: bool| {
            if superuser {
                "a superuser"
            } else {
                "a role with BYPASSRLS"
            }
        };
        match self {
            ScopeProblem::RoleName(problem) => format!("the scope's role name {role:?} {problem}"),
            ScopeProblem::LoginBypassesRowSecurity { login, superuser } => format!(
                "the login `{login}` is {}, for which no row-level security policy holds: \
                 scoped transactions refuse it; connect as a login that is neither a superuser \
                 nor BYPASSRLS and is granted the role `{role}`",
                bypasses(*superuser)
            ),
            ScopeProblem::RoleBypassesRowSecurity { superuser } => format!(
                "the scope's role `{role}` is {}, for which no row-level security policy holds",
                bypasses(*superuser)
            ),
            ScopeProblem::UnknownRole => format!("the scope's role `{role}` does not exist"),
            ScopeProblem::NotMember { login } => format!(
                "the login `{login}` may not act as the scope's role `{role}`: grant it \
                 (`GRANT \"{role}\" TO \"{login}\"`)"
            ),
        }
    }
}

/// Why a scope cannot be sent as given.
pub(crate) enum InvalidScope {
    /// Its setting.
    Setting(SettingProblem),
    /// Its role.
    Role(ScopeProblem),
}

/// `SET LOCAL ROLE "role"; SET LOCAL "prefix"."name" = '<value>'`: what a scoped transaction
/// runs once [`ROLE_STANDING`](statements::ROLE_STANDING) allowed it, or why the scope cannot
/// be sent.
pub(crate) fn set_scope(scope: &RequestScope<'_>) -> Result<String, InvalidScope> {
    let setting =
        statements::set_local(scope.setting, scope.value).map_err(InvalidScope::Setting)?;
    if let Some(problem) = identifier_problem(scope.role) {
        return Err(InvalidScope::Role(ScopeProblem::RoleName(problem)));
    }
    Ok(format!(
        "SET LOCAL ROLE {}; {setting}",
        quote_ident(scope.role)
    ))
}

/// The answer of [`ROLE_STANDING`](statements::ROLE_STANDING), in its column order.
pub(crate) struct RoleStanding {
    pub(crate) login: String,
    pub(crate) login_superuser: bool,
    pub(crate) login_bypassrls: bool,
    pub(crate) role_exists: bool,
    pub(crate) role_superuser: bool,
    pub(crate) role_bypassrls: bool,
    pub(crate) may_set_role: bool,
}

impl RoleStanding {
    /// Why the login may not open the scope, if it may not.
    pub(crate) fn problem(self) -> Option<ScopeProblem> {
        if self.login_superuser || self.login_bypassrls {
            return Some(ScopeProblem::LoginBypassesRowSecurity {
                login: self.login,
                superuser: self.login_superuser,
            });
        }
        if !self.role_exists {
            return Some(ScopeProblem::UnknownRole);
        }
        if self.role_superuser || self.role_bypassrls {
            return Some(ScopeProblem::RoleBypassesRowSecurity {
                superuser: self.role_superuser,
            });
        }
        if !self.may_set_role {
            return Some(ScopeProblem::NotMember { login: self.login });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope<'a>(role: &'a str, value: &'a str) -> RequestScope<'a> {
        RequestScope {
            role,
            setting: "app.provider_id",
            value,
        }
    }

    #[test]
    fn a_scope_acts_as_its_role_quoted_and_sets_its_setting_local() {
        assert_eq!(
            set_scope(&scope("Physician\"; RESET ROLE; --", "it's")).ok(),
            Some(
                r#"SET LOCAL ROLE "Physician""; RESET ROLE; --"; SET LOCAL "app"."provider_id" = 'it''s'"#
                    .to_string()
            )
        );
        assert!(matches!(
            set_scope(&scope("", "x")),
            Err(InvalidScope::Role(ScopeProblem::RoleName("is empty")))
        ));
        assert!(matches!(
            set_scope(&scope("physician", "a\0b")),
            Err(InvalidScope::Setting(SettingProblem::NulInValue))
        ));
    }

    #[test]
    fn a_login_or_role_that_bypasses_row_security_is_refused_first() {
        let standing = |login_superuser, login_bypassrls, role_exists, may_set_role| RoleStanding {
            login: "app".into(),
            login_superuser,
            login_bypassrls,
            role_exists,
            role_superuser: false,
            role_bypassrls: false,
            may_set_role,
        };
        assert_eq!(
            standing(true, false, true, true).problem(),
            Some(ScopeProblem::LoginBypassesRowSecurity {
                login: "app".into(),
                superuser: true
            })
        );
        assert_eq!(
            standing(false, true, false, false).problem(),
            Some(ScopeProblem::LoginBypassesRowSecurity {
                login: "app".into(),
                superuser: false
            })
        );
        assert_eq!(
            standing(false, false, false, false).problem(),
            Some(ScopeProblem::UnknownRole)
        );
        assert_eq!(
            standing(false, false, true, false).problem(),
            Some(ScopeProblem::NotMember {
                login: "app".into()
            })
        );
        assert_eq!(standing(false, false, true, true).problem(), None);
    }
}
