//! Differences of roles, privileges and policies: roles created and dropped, privileges
//! granted and revoked one column at a time, policies added, dropped, renamed and altered.

use super::*;

/// The policies and privileges of `new` that differ from `old`'s.
pub(super) fn diff(old: &TableModel, new: &TableModel, out: &mut SchemaDiff) {
    let table = &new.name;
    let t = || table.clone();
    // Policies: a declared rename, then compared by name.
    let mut old_policies = old.policies.clone();
    for policy in &new.policies {
        if let Some(from) = &policy.renamed_from {
            let taken = new.policies.iter().any(|p| p.name == *from);
            if let Some(old) = old_policies.iter_mut().find(|p| p.name == *from) {
                if !taken {
                    out.changes.push(Change::RenamePolicy {
                        table: t(),
                        from: old.name.clone(),
                        to: policy.name.clone(),
                    });
                    old.name = policy.name.clone();
                }
            }
        }
    }
    for policy in &new.policies {
        match old_policies.iter().find(|p| p.name == policy.name) {
            None => out.changes.push(Change::AddPolicy {
                table: t(),
                policy: policy.clone(),
            }),
            Some(current) if !same_policy(current, policy) => {
                out.changes.push(Change::AlterPolicy {
                    table: t(),
                    from: current.clone(),
                    to: policy.clone(),
                })
            }
            Some(_) => {}
        }
    }
    for policy in &old_policies {
        if !new.policies.iter().any(|p| p.name == policy.name) {
            out.changes.push(Change::DropPolicy {
                table: t(),
                policy: policy.clone(),
            });
        }
    }
    for (old_p, new_p) in unmatched_pairs(&old_policies, &new.policies, |p| &p.name) {
        if old_p.command == new_p.command
            && old_p.using == new_p.using
            && old_p.with_check == new_p.with_check
        {
            out.suggestions
                .push(suggest("policy", table, &old_p.name, &new_p.name));
        }
    }
    // Privileges, one column at a time.
    let old_grants = grant_atoms(&old.grants);
    let new_grants = grant_atoms(&new.grants);
    for grant in regroup(new_grants.difference(&old_grants), &new.columns) {
        out.changes.push(Change::Grant { table: t(), grant });
    }
    for grant in regroup(old_grants.difference(&new_grants), &old.columns) {
        out.changes.push(Change::Revoke { table: t(), grant });
    }
}

pub(super) fn same_policy(a: &PolicyModel, b: &PolicyModel) -> bool {
    let mut roles_a = a.roles.clone();
    let mut roles_b = b.roles.clone();
    roles_a.sort();
    roles_b.sort();
    a.command == b.command
        && a.permissive == b.permissive
        && roles_a == roles_b
        && a.using == b.using
        && a.with_check == b.with_check
}

pub(super) fn suggest(kind: &str, table: &str, old: &str, new: &str) -> String {
    format!(
        "{kind} `{old}` of table `{table}` is dropped and `{new}` added with the same \
         definition: if it was renamed, declare `renamed_from = \"{old}\"` on `{new}`"
    )
}

/// Pairs of a dropped and an added object of the same list.
pub(super) fn unmatched_pairs<'a, T>(
    old: &'a [T],
    new: &'a [T],
    name: impl Fn(&T) -> &String,
) -> Vec<(&'a T, &'a T)> {
    let dropped: Vec<&T> = old
        .iter()
        .filter(|o| !new.iter().any(|n| name(n) == name(o)))
        .collect();
    let added: Vec<&T> = new
        .iter()
        .filter(|n| !old.iter().any(|o| name(o) == name(n)))
        .collect();
    dropped
        .iter()
        .flat_map(|d| added.iter().map(move |a| (*d, *a)))
        .collect()
}

/// A privilege of one role on the table (`None`) or one column, and whether it is grantable.
type GrantAtom = (String, String, Option<String>, bool);

/// Privileges as `(role, privilege, column, grantable)` atoms; `None` is table-wide. A
/// privilege whose grant option changes is revoked and granted again.
pub(super) fn grant_atoms(grants: &[GrantModel]) -> BTreeSet<GrantAtom> {
    let mut atoms = BTreeSet::new();
    for g in grants {
        let atom = |column| (g.role.clone(), g.privilege.clone(), column, g.grantable);
        if g.columns.is_empty() {
            atoms.insert(atom(None));
        } else {
            for c in &g.columns {
                atoms.insert(atom(Some(c.clone())));
            }
        }
    }
    atoms
}

/// Atoms back into grants: one per role and privilege for table-wide ones, one per role and
/// privilege with its columns in table order for column ones.
pub(super) fn regroup<'a>(
    atoms: impl Iterator<Item = &'a GrantAtom>,
    columns: &[ColumnModel],
) -> Vec<GrantModel> {
    let mut grants: Vec<GrantModel> = Vec::new();
    for (role, privilege, column, grantable) in atoms {
        let existing = grants.iter_mut().find(|g| {
            g.role == *role
                && g.privilege == *privilege
                && g.grantable == *grantable
                && g.columns.is_empty() == column.is_none()
        });
        match (existing, column) {
            (Some(g), Some(column)) => g.columns.push(column.clone()),
            (Some(_), None) => {}
            (None, column) => grants.push(GrantModel {
                role: role.clone(),
                privilege: privilege.clone(),
                columns: column.iter().cloned().collect(),
                grantable: *grantable,
            }),
        }
    }
    let position = |name: &String| columns.iter().position(|c| c.name == *name);
    for g in &mut grants {
        g.columns.sort_by_key(position);
    }
    grants
}

/// The readable line of `change`, one of this kind of object's.
pub(super) fn describe(change: &Change, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match change {
        Change::NamespaceUsage {
            namespace,
            role,
            grant: true,
        } => write!(f, "schema `{namespace}`: role `{role}` lacks USAGE"),
        Change::NamespaceUsage {
            namespace,
            role,
            grant: false,
        } => write!(
            f,
            "schema `{namespace}`: role `{role}` has USAGE it is not declared to have"
        ),
        Change::CreateRole(role) => write!(f, "role `{role}`: missing"),
        Change::DropRole(role) => write!(f, "role `{role}`: no longer declared"),
        Change::AddPolicy { table, policy } => {
            write!(f, "policy `{}` on `{table}`: missing", policy.name)
        }
        Change::DropPolicy { table, policy } => {
            write!(f, "policy `{}` on `{table}`: not declared", policy.name)
        }
        Change::RenamePolicy { table, from, to } => {
            write!(f, "policy `{from}` on `{table}`: renamed to `{to}`")
        }
        Change::AlterPolicy { table, from, to } => {
            let p = |p: &PolicyModel| {
                format!(
                    "{} TO {} USING ({}) WITH CHECK ({})",
                    p.command.as_sql(),
                    p.roles.join(", "),
                    opt(&p.using),
                    opt(&p.with_check)
                )
            };
            write!(
                f,
                "policy `{}` on `{table}`: code says {}, database has {}",
                to.name,
                p(to),
                p(from)
            )
        }
        Change::Grant { table, grant } => write!(
            f,
            "privilege {} on `{table}` to `{}`: missing",
            grant_text(grant),
            grant.role
        ),
        Change::Revoke { table, grant } => write!(
            f,
            "privilege {} on `{table}` to `{}`: not declared",
            grant_text(grant),
            grant.role
        ),
        _ => Ok(()),
    }
}

pub(super) fn grant_text(grant: &GrantModel) -> String {
    let option = if grant.grantable {
        " WITH GRANT OPTION"
    } else {
        ""
    };
    if grant.columns.is_empty() {
        format!("{}{option}", grant.privilege)
    } else {
        format!("{} ({}){option}", grant.privilege, grant.columns.join(", "))
    }
}
