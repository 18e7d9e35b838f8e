//! The text of every statement the typed reads and writes run, for both drivers; values are
//! always parameters, but for a scope's `SET LOCAL`, whose value is an escaped literal.

use std::fmt::Write as _;

use super::SettingProblem;
use crate::query::render::{assignments, column_list, every_column};
use crate::sql::{quote_ident, quote_literal};
use crate::TableDef;

/// Whether the session may insert into every column of the table named (quoted) by `$1`.
pub(crate) const HAS_TABLE_INSERT: &str = "SELECT has_table_privilege($1::text, 'INSERT')";

/// Where the session's user (the login) and the role named by `$1` stand with row-level
/// security, for a scoped transaction: the login's name, whether it is a superuser, whether it
/// has `BYPASSRLS`; whether the role exists, is a superuser, has `BYPASSRLS`; and whether the
/// login may act as it (`SET ROLE`: a member, with or without `INHERIT`; from PostgreSQL 16, a
/// membership with the `SET` option, which `pg_has_role` knows from that version on).
pub(crate) const ROLE_STANDING: &str = "SELECT l.rolname::text, l.rolsuper, l.rolbypassrls, \
     r.oid IS NOT NULL, COALESCE(r.rolsuper, false), COALESCE(r.rolbypassrls, false), \
     COALESCE(pg_catalog.pg_has_role(l.oid, r.oid, CASE \
         WHEN pg_catalog.current_setting('server_version_num')::int >= 160000 THEN 'SET' \
         ELSE 'MEMBER' END), false) \
     FROM pg_catalog.pg_roles l LEFT JOIN pg_catalog.pg_roles r ON r.rolname = $1::text \
     WHERE l.rolname = session_user";

/// `SET LOCAL "prefix"."name" = '<value>'`, or why the setting cannot be sent: a name that is
/// not `prefix.name` ([`setting_name_problem`](crate::sql::setting_name_problem)), a value
/// holding a NUL character.
pub(crate) fn set_local(setting: &str, value: &str) -> Result<String, SettingProblem> {
    if crate::sql::setting_name_problem(setting).is_some() {
        return Err(SettingProblem::Name);
    }
    if value.contains('\0') {
        return Err(SettingProblem::NulInValue);
    }
    let name: Vec<String> = setting.split('.').map(quote_ident).collect();
    Ok(format!(
        "SET LOCAL {} = {}",
        name.join("."),
        quote_literal(value)
    ))
}

/// Which columns a statement writes: bit `i` stands for column `i` of the table.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ColumnSet(Vec<u64>);

impl ColumnSet {
    pub(crate) fn from_present<T>(values: &[Option<T>]) -> Self {
        let mut words = vec![0_u64; values.len().div_ceil(64)];
        for (i, value) in values.iter().enumerate() {
            if value.is_some() {
                words[i / 64] |= 1 << (i % 64);
            }
        }
        ColumnSet(words)
    }

    /// Whether exactly the columns of this set are present in `values`.
    pub(crate) fn matches<T>(&self, values: &[Option<T>]) -> bool {
        values
            .iter()
            .enumerate()
            .all(|(i, value)| value.is_some() == self.contains(i))
    }

    pub(crate) fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    pub(crate) fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

fn chosen_columns<'a>(table: &'a TableDef, set: &'a ColumnSet) -> impl Iterator<Item = &'a str> {
    table
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| set.contains(*i))
        .map(|(_, c)| c.name)
}

/// `INSERT INTO t (set) VALUES (...), ... [RETURNING every column]` for `rows` rows; columns not
/// in the set take their defaults.
pub(crate) fn insert(table: &TableDef, set: &ColumnSet, rows: usize, returning: bool) -> String {
    let mut sql = format!("INSERT INTO {} ", table.quoted_name());
    let width = set.count();
    if width == 0 {
        // Every column takes its default: name one and give it DEFAULT on each row.
        let first = quote_ident(table.columns[0].name);
        write!(sql, "({first}) VALUES ").unwrap();
        sql.push_str(&vec!["(DEFAULT)"; rows].join(", "));
    } else {
        write!(sql, "({}) VALUES ", column_list(chosen_columns(table, set))).unwrap();
        let mut n = 0;
        for row in 0..rows {
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for col in 0..width {
                if col > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                write!(sql, "${n}").unwrap();
            }
            sql.push(')');
        }
    }
    if returning {
        write!(sql, " RETURNING {}", every_column(table)).unwrap();
    }
    sql
}

/// `COPY t (set) FROM STDIN (FORMAT binary)`.
pub(crate) fn copy_in(table: &TableDef, set: &ColumnSet) -> String {
    format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        table.quoted_name(),
        column_list(chosen_columns(table, set))
    )
}

/// `SELECT set FROM t`, prepared only to learn the columns' types.
pub(crate) fn select_columns(table: &TableDef, set: &ColumnSet) -> String {
    format!(
        "SELECT {} FROM {}",
        column_list(chosen_columns(table, set)),
        table.quoted_name()
    )
}

/// `SELECT every column FROM t`.
pub(crate) fn select_all(table: &TableDef) -> String {
    format!(
        "SELECT {} FROM {}",
        every_column(table),
        table.quoted_name()
    )
}

fn key_condition(table: &TableDef, first_param: usize) -> String {
    table
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{} = ${}", quote_ident(column), first_param + i))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `SELECT every column FROM t WHERE key = $1 ...`.
pub(crate) fn select_by_key(table: &TableDef) -> String {
    format!("{} WHERE {}", select_all(table), key_condition(table, 1))
}

/// `DELETE FROM t WHERE key = $1 ...`.
pub(crate) fn delete_by_key(table: &TableDef) -> String {
    format!(
        "DELETE FROM {} WHERE {}",
        table.quoted_name(),
        key_condition(table, 1)
    )
}

/// A statement by key, with the tenant's equality added to its `WHERE` (before `RETURNING`)
/// when `pin` is a tenant of `table`'s root, and its value pushed after the others: a keyed
/// read or write in a tenant transaction names the tenant itself, so Citus routes it to one
/// shard.
#[cfg(feature = "postgres")]
pub(crate) fn with_tenant<'a>(
    sql: String,
    table: &TableDef,
    pin: Option<&'a crate::TenantPin>,
    params: &mut Vec<crate::pg::Param<'a>>,
) -> String {
    let Some((pin, column)) = pin.and_then(|pin| {
        (table.tenant_root().as_deref() == Some(pin.root()))
            .then_some(())
            .and(table.tenant_column().map(|c| (pin, c)))
    }) else {
        return sql;
    };
    params.push(pin.value().get().as_pg());
    let condition = format!(" AND {} = ${}", quote_ident(column), params.len());
    match sql.find(" RETURNING ") {
        Some(at) => format!("{}{condition}{}", &sql[..at], &sql[at..]),
        None => format!("{sql}{condition}"),
    }
}

/// `UPDATE t SET a = $1, ..., refreshed = <update_sql> WHERE key = $n RETURNING every column`,
/// or `None` when nothing would be set.
pub(crate) fn update_by_key(table: &TableDef, set: &ColumnSet) -> Option<String> {
    let assignments = assignments(table, |i| set.contains(i), 1);
    if assignments.is_empty() {
        return None;
    }
    Some(format!(
        "UPDATE {} SET {} WHERE {} RETURNING {}",
        table.quoted_name(),
        assignments.join(", "),
        key_condition(table, set.count() + 1),
        every_column(table)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnDef, SqlType};

    const fn column(name: &'static str, update_sql: Option<&'static str>) -> ColumnDef {
        ColumnDef {
            name,
            renamed_from: None,
            field: name,
            rust_type: "i32",
            sql_type: SqlType::Integer,
            nullable: false,
            default: None,
            update_sql,
            unique: false,
            allowed_values: None,
            renamed_values: &[],
            range: None,
            comment: None,
            sensitive: false,
            internal: false,
            immutable: false,
            generation: None,
            encryption: None,
            using: None,
        }
    }

    static TABLE: TableDef = TableDef {
        name: "t",
        schema: None,
        renamed_from: None,
        comment: None,
        columns: &[
            column("id", None),
            column("a", None),
            column("b", None),
            column("at", Some("now()")),
        ],
        primary_key: &["id"],
        unique_keys: &[],
        foreign_keys: &[],
        checks: &[],
        indexes: &[],
        row_level_security: false,
        policies: &[],
        column_grants: &[],
        tenant: None,
        reference: false,
    };

    fn set(present: &[bool]) -> ColumnSet {
        ColumnSet::from_present(&present.iter().map(|p| p.then_some(())).collect::<Vec<_>>())
    }

    #[test]
    fn inserts_name_the_given_columns_and_number_every_row() {
        assert_eq!(
            insert(&TABLE, &set(&[false, true, true, false]), 2, true),
            r#"INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4) RETURNING "id", "a", "b", "at""#
        );
        assert_eq!(
            insert(&TABLE, &set(&[false; 4]), 2, false),
            r#"INSERT INTO "t" ("id") VALUES (DEFAULT), (DEFAULT)"#
        );
    }

    #[test]
    fn updates_set_the_patch_and_refresh_columns() {
        assert_eq!(
            update_by_key(&TABLE, &set(&[false, false, true, false])).unwrap(),
            r#"UPDATE "t" SET "b" = $1, "at" = now() WHERE "id" = $2 RETURNING "id", "a", "b", "at""#
        );
        assert_eq!(
            select_by_key(&TABLE),
            r#"SELECT "id", "a", "b", "at" FROM "t" WHERE "id" = $1"#
        );
        assert_eq!(delete_by_key(&TABLE), r#"DELETE FROM "t" WHERE "id" = $1"#);
        assert_eq!(
            copy_in(&TABLE, &set(&[true, true, false, false])),
            r#"COPY "t" ("id", "a") FROM STDIN (FORMAT binary)"#
        );
    }

    #[test]
    fn a_scope_is_set_local_with_its_name_quoted_and_its_value_escaped() {
        assert_eq!(
            set_local("app.provider_id", "it's").unwrap(),
            r#"SET LOCAL "app"."provider_id" = 'it''s'"#
        );
        assert_eq!(set_local("provider_id", "x"), Err(SettingProblem::Name));
        assert_eq!(
            set_local("app.x; RESET ALL", "x"),
            Err(SettingProblem::Name)
        );
        assert_eq!(set_local("app.x", "a\0b"), Err(SettingProblem::NulInValue));
    }
}
