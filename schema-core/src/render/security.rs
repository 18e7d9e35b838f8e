//! The SQL of roles, privileges and policies.

use super::*;

/// `GRANT` (`grant` true) or `REVOKE` statements for the privileges: one statement for a role's
/// run of table-wide privileges, one for each column privilege.
pub(crate) fn grant_statements(table: &str, grants: &[GrantModel], grant: bool) -> Vec<Statement> {
    let mut statements: Vec<Statement> = Vec::new();
    for g in grants {
        let same_option = !matches!(
            statements.last(),
            Some(Statement::Grant { grantable, .. }) if *grantable != g.grantable
        );
        if g.columns.is_empty() && same_option {
            if let Some(
                Statement::Grant {
                    role,
                    privileges,
                    columns,
                    ..
                }
                | Statement::Revoke {
                    role,
                    privileges,
                    columns,
                    ..
                },
            ) = statements.last_mut()
            {
                if *role == g.role && columns.is_empty() {
                    privileges.push(g.privilege.clone());
                    continue;
                }
            }
        }
        let (table, role, privileges, columns) = (
            table.to_string(),
            g.role.clone(),
            vec![g.privilege.clone()],
            g.columns.clone(),
        );
        statements.push(if grant {
            Statement::Grant {
                table,
                role,
                privileges,
                columns,
                grantable: g.grantable,
            }
        } else {
            Statement::Revoke {
                table,
                role,
                privileges,
                columns,
            }
        });
    }
    statements
}

/// The roles the table's policies and column grants name, as deployed, without `public`.
pub fn policy_roles<'a>(table: &'a TableDef, names: &'a Names) -> impl Iterator<Item = &'a str> {
    table
        .policies
        .iter()
        .map(|p| names.role_name(p.role))
        .chain(table.column_grants.iter().map(|g| names.role_name(g.role)))
        .filter(|role| !role.eq_ignore_ascii_case("public"))
}

/// Creates the role unless `pg_roles` already has it, as a group role that cannot log in; so a
/// deployer without `CREATEROLE` applies the script where the roles exist.
pub fn create_role(role: &str) -> String {
    Statement::CreateRole { role: role.into() }.to_string()
}

/// A role name in a statement: `PUBLIC` is the keyword, every other name is quoted.
pub(super) fn role_sql(role: &str) -> String {
    if role.eq_ignore_ascii_case("public") {
        "PUBLIC".into()
    } else {
        quote_ident(role)
    }
}

pub(super) fn write_policy_body(f: &mut fmt::Formatter<'_>, policy: &PolicyModel) -> fmt::Result {
    let roles = policy
        .roles
        .iter()
        .map(|r| role_sql(r))
        .collect::<Vec<_>>()
        .join(", ");
    write!(f, " TO {roles}")?;
    if let Some(using) = &policy.using {
        write!(f, " USING ({using})")?;
    }
    if let Some(check) = &policy.with_check {
        write!(f, " WITH CHECK ({check})")?;
    }
    Ok(())
}

/// The SQL of `statement`, one of this kind of object's.
pub(super) fn write(statement: &Statement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use Statement::*;
    match statement {
        NamespaceUsage {
            namespace,
            role,
            grant: true,
        } => write!(
            f,
            "GRANT USAGE ON SCHEMA {} TO {}",
            q(namespace),
            role_sql(role)
        ),
        NamespaceUsage {
            namespace,
            role,
            grant: false,
        } => write!(
            f,
            "REVOKE USAGE ON SCHEMA {} FROM {}",
            q(namespace),
            role_sql(role)
        ),
        CreateRole { role } => {
            let body = format!(
                " BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {}) THEN \
                 CREATE ROLE {} NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END ",
                quote_literal(role),
                q(role)
            );
            write!(f, "DO {}", dollar_quote("role", &body))
        }
        DropRole { role } => write!(f, "DROP ROLE IF EXISTS {}", q(role)),
        CreatePolicy { table, policy } => {
            write!(f, "CREATE POLICY {} ON {}", q(&policy.name), qt(table))?;
            if !policy.permissive {
                f.write_str(" AS RESTRICTIVE")?;
            }
            write!(f, " FOR {}", policy.command.as_sql())?;
            write_policy_body(f, policy)
        }
        AlterPolicy { table, policy } => {
            write!(f, "ALTER POLICY {} ON {}", q(&policy.name), qt(table))?;
            write_policy_body(f, policy)
        }
        DropPolicy { table, name } => write!(f, "DROP POLICY {} ON {}", q(name), qt(table)),
        RenamePolicy { table, from, to } => write!(
            f,
            "ALTER POLICY {} ON {} RENAME TO {}",
            q(from),
            qt(table),
            q(to)
        ),
        Grant {
            table,
            role,
            privileges,
            columns,
            grantable,
        } => {
            write!(f, "GRANT {}", privileges.join(", "))?;
            if !columns.is_empty() {
                write!(f, " ({})", column_list(columns))?;
            }
            write!(f, " ON {} TO {}", qt(table), role_sql(role))?;
            if *grantable {
                f.write_str(" WITH GRANT OPTION")?;
            }
            Ok(())
        }
        Revoke {
            table,
            role,
            privileges,
            columns,
        } => {
            write!(f, "REVOKE {}", privileges.join(", "))?;
            if !columns.is_empty() {
                write!(f, " ({})", column_list(columns))?;
            }
            write!(f, " ON {} FROM {}", qt(table), role_sql(role))
        }
        _ => Ok(()),
    }
}

/// A column grant names a role once, lists columns of the table, and none that no update may
/// change.
pub(super) fn validate_grants(table: &TableDef) -> Result<(), SchemaError> {
    let mut roles = HashSet::new();
    for grant in table.column_grants {
        let invalid = |problem: String| SchemaError::InvalidGrant {
            table: table.name.into(),
            role: grant.role.into(),
            problem,
        };
        if let Some(problem) = identifier_problem(grant.role) {
            return Err(invalid(format!("names a role that {problem}")));
        }
        if !roles.insert(grant.role) {
            return Err(invalid("is declared twice".into()));
        }
        if grant.insert.is_none() && grant.update.is_none() {
            return Err(invalid("lists no column".into()));
        }
        for (listed, update) in [(grant.insert, false), (grant.update, true)] {
            let Some(listed) = listed else { continue };
            if listed.is_empty() {
                return Err(invalid("lists no column".into()));
            }
            if !update {
                if let Some(required) = table
                    .columns
                    .iter()
                    .find(|c| !c.nullable && c.default.is_none() && !listed.contains(&c.name))
                {
                    return Err(invalid(format!(
                        "leaves out column `{}`, which every insert must give (NOT NULL, no default)",
                        required.name
                    )));
                }
            }
            for name in listed {
                let Some(column) = table.column(name) else {
                    return Err(SchemaError::UnknownColumn {
                        table: table.name.into(),
                        column: (*name).into(),
                        used_in: format!("the column grant to `{}`", grant.role),
                    });
                };
                let why = if !update {
                    None
                } else if column.immutable {
                    Some("is immutable")
                } else if table.primary_key.contains(name) {
                    Some("is part of the primary key, which updates never change")
                } else if column.update_sql.is_some() {
                    Some("is refreshed by every update (`update_sql`), so it is granted already")
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(invalid(format!("lists column `{name}`, which {why}")));
                }
            }
        }
    }
    for column in table.immutable_columns() {
        let invalid = |problem| SchemaError::InvalidColumn {
            table: table.name.into(),
            column: column.name.into(),
            problem,
        };
        if column.update_sql.is_some() {
            return Err(invalid(
                "is immutable but refreshed by every update (`update_sql`); keep one",
            ));
        }
        let rewrites = |action| {
            matches!(
                action,
                ReferentialAction::SetNull | ReferentialAction::SetDefault
            )
        };
        let rewritten = table.foreign_keys.iter().any(|fk| {
            fk.columns.contains(&column.name)
                && (rewrites(fk.on_delete)
                    || rewrites(fk.on_update)
                    || fk.on_update == ReferentialAction::Cascade)
        });
        if rewritten {
            return Err(invalid(
                "is immutable but a foreign key action would rewrite it, which its trigger refuses",
            ));
        }
    }
    Ok(())
}

/// Each policy has a name of its own and a role PostgreSQL takes, and its expressions name
/// columns of the table.
pub(super) fn validate_policies(table: &TableDef) -> Result<(), SchemaError> {
    let mut policies = HashSet::new();
    for policy in table.policies {
        let used_in = format!("policy `{}`", policy.name);
        if let Some(problem) =
            identifier_problem(policy.name).or_else(|| identifier_problem(policy.role))
        {
            return Err(invalid_identifier(table, policy.name, problem));
        }
        if !policies.insert(policy.name) {
            return Err(SchemaError::DuplicateName {
                table: table.name.into(),
                name: policy.name.into(),
            });
        }
        for parts in [policy.using, policy.with_check].into_iter().flatten() {
            require_parts(table, parts, &used_in)?;
        }
    }
    Ok(())
}
