//! Steps for roles, privileges and row-level security policies: a policy naming a column the
//! plan drops or retypes is dropped before and created again after.

use super::*;

/// The steps of `change`, one of this kind of object's.
pub(super) fn plan(change: &Change, diff: &SchemaDiff, _to: &SchemaModel, add: &mut Steps) {
    use Phase::*;
    match change {
        // Revoked before any role is dropped: a role holding a privilege cannot be.
        Change::NamespaceUsage {
            namespace,
            role,
            grant,
        } => add.push(
            if *grant { Namespaces } else { Finish },
            Statement::NamespaceUsage {
                namespace: namespace.clone(),
                role: role.clone(),
                grant: *grant,
            },
        ),
        Change::CreateRole(role) => add.push(Roles, Statement::CreateRole { role: role.clone() }),
        Change::DropRole(role) => add.push(DropRoles, Statement::DropRole { role: role.clone() }),
        Change::AddPolicy { table, policy } => add.push(
            Finish,
            Statement::CreatePolicy {
                table: table.clone(),
                policy: policy.clone(),
            },
        ),
        Change::DropPolicy { table, policy } => add.push(
            Unhook,
            Statement::DropPolicy {
                table: table.clone(),
                name: policy.name.clone(),
            },
        ),
        Change::RenamePolicy { table, from, to } => add.push(
            Renames,
            Statement::RenamePolicy {
                table: table.clone(),
                from: from.clone(),
                to: to.clone(),
            },
        ),
        Change::AlterPolicy { table, from, to } => {
            // ALTER POLICY changes roles and predicates, and cannot take a predicate away nor
            // change the command: otherwise the policy is dropped and created again.
            // Nor can it stay while a column it names is dropped or changes type: it is dropped
            // before, and created again after.
            let alterable = from.command == to.command
                && from.permissive == to.permissive
                && (to.using.is_some() || from.using.is_none())
                && (to.with_check.is_some() || from.with_check.is_none())
                && !columns_going(diff, table)
                    .iter()
                    .any(|c| policy_mentions(from, c));
            if alterable {
                add.push(
                    Finish,
                    Statement::AlterPolicy {
                        table: table.clone(),
                        policy: to.clone(),
                    },
                );
            } else {
                add.push(
                    Unhook,
                    Statement::DropPolicy {
                        table: table.clone(),
                        name: from.name.clone(),
                    },
                );
                add.push(
                    Finish,
                    Statement::CreatePolicy {
                        table: table.clone(),
                        policy: to.clone(),
                    },
                );
            }
        }
        // On a table that stays: who may use it changes (a new table's are part of it).
        Change::Grant { table, grant } => {
            for statement in grant_statements(table, std::slice::from_ref(grant), true) {
                add.push(Finish, statement);
                add.hazard(Hazard::ChangesPrivileges);
            }
        }
        Change::Revoke { table, grant } => {
            for statement in grant_statements(table, std::slice::from_ref(grant), false) {
                add.push(Unhook, statement);
                add.hazard(Hazard::ChangesPrivileges);
            }
        }
        _ => {}
    }
}

/// Whether a policy's predicates name `column`.
pub(super) fn policy_mentions(policy: &crate::model::PolicyModel, column: &str) -> bool {
    policy
        .using
        .iter()
        .chain(policy.with_check.iter())
        .any(|sql| crate::diff::mentions(sql, column))
}

/// The policies of `table` the diff leaves as they are but that name `column`, whose type
/// changes: PostgreSQL refuses to change the type of a column a policy uses, so each is
/// dropped before the change and created again after it.
pub(super) fn recreate_policies_on(
    table: &str,
    column: &str,
    diff: &SchemaDiff,
    to: &SchemaModel,
    add: &mut Steps,
) {
    let Some(model) = to.table(table) else {
        return;
    };
    for policy in &model.policies {
        let changed = diff.changes.iter().any(|c| match c {
            Change::AddPolicy {
                table: t,
                policy: p,
            }
            | Change::DropPolicy {
                table: t,
                policy: p,
            } => t == table && p.name == policy.name,
            Change::AlterPolicy {
                table: t, to: p, ..
            } => t == table && p.name == policy.name,
            Change::RenamePolicy { table: t, to, .. } => t == table && *to == policy.name,
            _ => false,
        });
        let planned = add.0.iter().any(|(_, s)| {
            matches!(&s.statement, Statement::DropPolicy { table: t, name } if t == table && *name == policy.name)
        });
        if !changed && !planned && policy_mentions(policy, column) {
            add.push(
                Phase::Unhook,
                Statement::DropPolicy {
                    table: table.into(),
                    name: policy.name.clone(),
                },
            );
            add.push(
                Phase::Finish,
                Statement::CreatePolicy {
                    table: table.into(),
                    policy: policy.clone(),
                },
            );
        }
    }
}
