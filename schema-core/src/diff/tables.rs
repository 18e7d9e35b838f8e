//! Differences of tables as a whole: created, dropped, renamed (in `super::diff`, which matches
//! them), their replica identity, comment, immutable-column guard and row-level security
//! switches; and of extensions and PostgreSQL schemas.

use super::*;

/// The PostgreSQL schemas to create, and the roles to grant `USAGE` on them or revoke it from.
pub(super) fn diff_namespaces(from: &SchemaModel, to: &SchemaModel, out: &mut SchemaDiff) {
    for new in &to.namespaces {
        let old = from.namespace(&new.name);
        if old.is_none() {
            out.changes.push(Change::CreateNamespace(new.name.clone()));
        }
        let had = old.map_or(&[][..], |n| &n.usage[..]);
        for role in &new.usage {
            if !had.contains(role) {
                out.changes.push(Change::NamespaceUsage {
                    namespace: new.name.clone(),
                    role: role.clone(),
                    grant: true,
                });
            }
        }
        for role in had {
            if !new.usage.contains(role) {
                out.changes.push(Change::NamespaceUsage {
                    namespace: new.name.clone(),
                    role: role.clone(),
                    grant: false,
                });
            }
        }
    }
}

/// The table-wide attributes of `new` that differ from `old`'s: replica identity, comment,
/// immutable-column guard, row-level security.
pub(super) fn diff_attributes(old: &TableModel, new: &TableModel, out: &mut SchemaDiff) {
    let t = || new.name.clone();
    if old.replica_identity != new.replica_identity {
        out.changes.push(Change::ReplicaIdentity {
            table: t(),
            from: old.replica_identity.clone(),
            to: new.replica_identity.clone(),
        });
    }
    if old.comment != new.comment {
        out.changes.push(Change::TableComment {
            table: t(),
            from: old.comment.clone(),
            to: new.comment.clone(),
        });
    }
    if old.immutable != new.immutable {
        out.changes.push(Change::Guard {
            table: t(),
            from: old.immutable.clone(),
            to: new.immutable.clone(),
        });
    }
    let security = |t: &TableModel| (t.row_level_security, t.force_row_level_security);
    if security(old) != security(new) {
        out.changes.push(Change::RowLevelSecurity {
            table: t(),
            from: security(old),
            to: security(new),
        });
    }
}

/// The readable line of `change`, one of this kind of object's.
pub(super) fn describe(change: &Change, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match change {
        Change::CreateExtension(name) => write!(f, "extension `{name}`: missing"),
        Change::DropExtension(name) => write!(f, "extension `{name}`: no longer declared"),
        Change::CreateNamespace(name) => write!(f, "schema `{name}`: missing"),
        Change::DropNamespace(name) => {
            write!(f, "schema `{name}`: no table is declared in it")
        }
        Change::CreateTable(t) => write!(f, "table `{}`: missing", t.name),
        Change::DropTable(t) => write!(f, "table `{}`: no longer declared", t.name),
        Change::RenameTable { from, to } => write!(f, "table `{from}`: renamed to `{to}`"),
        Change::ReplicaIdentity { table, from, to } => write!(
            f,
            "table `{table}`: replica identity {to:?}, database has {from:?}"
        ),
        Change::TableComment { table, from, to } => write!(
            f,
            "comment of table `{table}`: code says {}, database has {}",
            opt(to),
            opt(from)
        ),
        Change::Guard { table, from, to } => {
            let g = |g: &Option<ImmutableGuard>| {
                g.as_ref().map_or("none".into(), |g| {
                    format!(
                        "guarding {}{}",
                        g.columns.join(", "),
                        if g.trigger_enabled {
                            ""
                        } else {
                            " (trigger missing or disabled)"
                        }
                    )
                })
            };
            write!(
                f,
                "immutable-column guard of `{table}`: code says {}, database has {}{}",
                g(to),
                g(from),
                if from.is_some() && to.is_some() && g(from) == g(to) {
                    " (function differs)"
                } else {
                    ""
                }
            )
        }
        Change::RowLevelSecurity { table, from, to } => {
            let s = |(e, fo): (bool, bool)| {
                format!(
                    "{}{}",
                    if e { "enabled" } else { "disabled" },
                    if fo { ", forced" } else { "" }
                )
            };
            write!(
                f,
                "row-level security of `{table}`: code says {}, database has {}",
                s(*to),
                s(*from)
            )
        }
        _ => Ok(()),
    }
}
