//! DDL from the metadata: the one renderer, and the checks a table must pass before it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write as _;

use crate::def::{
    CheckRule, ColumnDefault, IndexDef, NullsOrder, ReferentialAction, SortOrder, SqlPart, TableDef,
};
use crate::error::SchemaError;
use crate::literal::SqlLiteral;
use crate::names::Names;
use crate::sql::{dollar_quote, identifier_problem, quote_ident, quote_literal};

/// The statements that create one table: `CREATE TABLE` (with its keys, foreign keys and
/// checks), then `CREATE INDEX` for each index, then the comments. Statements carry no `;`.
///
/// The referenced tables must exist first; [`Schema`](crate::Schema) orders whole schemas.
pub fn table_statements(table: &TableDef) -> Result<Vec<String>, SchemaError> {
    table_statements_with(table, &Names::new())
}

/// [`table_statements`] with roles and settings named as the deployment has them, followed by
/// the table's row-level security: `ENABLE` and `FORCE`, its policies, and the privileges their
/// roles need.
pub fn table_statements_with(table: &TableDef, names: &Names) -> Result<Vec<String>, SchemaError> {
    validate(table)?;
    validate_names(table, names)?;
    let mut statements = vec![create_table(table, names)?];
    statements.extend(table.indexes.iter().map(|index| create_index(table, index)));
    statements.extend(comments(table));
    statements.extend(immutable_columns(table));
    statements.extend(row_level_security(table, names));
    Ok(statements)
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

/// A role name in a statement: `PUBLIC` is the keyword, every other name is quoted.
fn role_sql(role: &str) -> String {
    if role.eq_ignore_ascii_case("public") {
        "PUBLIC".into()
    } else {
        quote_ident(role)
    }
}

/// Creates the role unless `pg_roles` already has it, as a group role that cannot log in; so a
/// deployer without `CREATEROLE` applies the script where the roles exist.
pub fn create_role(role: &str) -> String {
    let body = format!(
        " BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {}) THEN \
         CREATE ROLE {} NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END ",
        quote_literal(role),
        quote_ident(role)
    );
    format!("DO {}", dollar_quote("role", &body))
}

/// The function and trigger that refuse an update changing an `immutable` column, for every
/// role including the table's owner (it stops `UPDATE` statements; DDL such as
/// `ALTER TABLE ... DISABLE TRIGGER` by the owner is not an update). The trigger runs after the
/// row is updated, so no other trigger can change the column after the check. The values are
/// compared as text: `pg_catalog.text`, bytewise (`COLLATE "C"`), floats in full
/// (`extra_float_digits = 3`), with `search_path = pg_catalog, pg_temp`, so no type, operator or
/// setting of the session's choosing takes part.
fn immutable_columns(table: &TableDef) -> Vec<String> {
    let columns: Vec<_> = table.immutable_columns().collect();
    if columns.is_empty() {
        return Vec::new();
    }
    let name = quote_ident(&table.immutable_trigger_name());
    let mut body = String::from("\nBEGIN\n");
    for column in columns {
        let quoted = quote_ident(column.name);
        write!(
            body,
            "    IF NEW.{quoted}::pg_catalog.text COLLATE pg_catalog.\"C\" \
             IS DISTINCT FROM OLD.{quoted}::pg_catalog.text THEN\n        \
             RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = {}, \
             COLUMN = {}, TABLE = {}, CONSTRAINT = {};\n    END IF;\n",
            quote_literal(&format!(
                "column \"{}\" of table \"{}\" never changes after insert",
                column.name, table.name
            )),
            quote_literal(column.name),
            quote_literal(table.name),
            quote_literal(&table.immutable_name(column)),
        )
        .unwrap();
    }
    body.push_str("    RETURN NULL;\nEND\n");
    vec![
        format!(
            "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql \
             SET search_path = pg_catalog, pg_temp SET extra_float_digits = 3 AS {}",
            dollar_quote("fn", &body)
        ),
        format!(
            "CREATE TRIGGER {name} AFTER UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {name}()",
            quote_ident(table.name)
        ),
    ]
}

fn row_level_security(table: &TableDef, names: &Names) -> Vec<String> {
    let name = quote_ident(table.name);
    let mut statements = Vec::new();
    if table.row_level_security {
        statements.push(format!("ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"));
        statements.push(format!("ALTER TABLE {name} FORCE ROW LEVEL SECURITY"));
    }
    for policy in table.policies {
        let mut sql = format!(
            "CREATE POLICY {} ON {name} FOR {} TO {}",
            quote_ident(policy.name),
            policy.command.as_sql(),
            role_sql(names.role_name(policy.role))
        );
        if let Some(using) = policy.using {
            write!(sql, " USING ({})", sql_parts(using, names)).unwrap();
        }
        if let Some(check) = policy.with_check {
            write!(sql, " WITH CHECK ({})", sql_parts(check, names)).unwrap();
        }
        statements.push(sql);
    }
    // Each role gets the privileges of its policies' commands, once, in the order first named.
    let mut grants: Vec<(&str, Vec<&str>)> = Vec::new();
    for policy in table.policies {
        let role = names.role_name(policy.role);
        let index = match grants.iter().position(|(r, _)| *r == role) {
            Some(index) => index,
            None => {
                grants.push((role, Vec::new()));
                grants.len() - 1
            }
        };
        for privilege in policy.command.privileges() {
            if !grants[index].1.contains(privilege) {
                grants[index].1.push(privilege);
            }
        }
    }
    // A role with a column grant may write only those columns (and update the ones every
    // update refreshes), whatever its policies' commands.
    let grant_of = |role: &str| {
        table
            .column_grants
            .iter()
            .find(|g| names.role_name(g.role) == role)
    };
    let in_table_order = |listed: &[&str], refreshed: bool| -> Vec<&str> {
        table
            .columns
            .iter()
            .filter(|c| listed.contains(&c.name) || (refreshed && c.update_sql.is_some()))
            .map(|c| c.name)
            .collect()
    };
    for grant in table.column_grants {
        let role = names.role_name(grant.role);
        if !grants.iter().any(|(r, _)| *r == role) {
            grants.push((role, Vec::new()));
        }
    }
    for (role, privileges) in grants {
        let grant = grant_of(role);
        let insert = grant.and_then(|g| g.insert);
        let update = grant.and_then(|g| g.update);
        let ordered: Vec<&str> = ["SELECT", "INSERT", "UPDATE", "DELETE"]
            .into_iter()
            .filter(|p| privileges.contains(p))
            .filter(|p| !(*p == "INSERT" && insert.is_some() || *p == "UPDATE" && update.is_some()))
            .collect();
        if !ordered.is_empty() {
            statements.push(format!(
                "GRANT {} ON {name} TO {}",
                ordered.join(", "),
                role_sql(role)
            ));
        }
        for (privilege, listed, refreshed) in [("INSERT", insert, false), ("UPDATE", update, true)]
        {
            if let Some(listed) = listed {
                statements.push(format!(
                    "GRANT {privilege} ({}) ON {name} TO {}",
                    column_list(&in_table_order(listed, refreshed)),
                    role_sql(role)
                ));
            }
        }
    }
    statements
}

/// SQL written in an attribute: its text as given, columns quoted, settings read.
fn sql_parts(parts: &[SqlPart], names: &Names) -> String {
    parts
        .iter()
        .map(|part| match part {
            SqlPart::Sql(sql) => (*sql).to_string(),
            SqlPart::Column(column) => quote_ident(column),
            SqlPart::Setting(setting) => format!(
                "NULLIF(current_setting({}, true), '')",
                quote_literal(names.setting_name(setting))
            ),
        })
        .collect()
}

fn create_table(table: &TableDef, names: &Names) -> Result<String, SchemaError> {
    let mut lines = Vec::new();
    for column in table.columns {
        let mut line = format!("{} {}", quote_ident(column.name), column.sql_type);
        if !column.nullable {
            line.push_str(" NOT NULL");
        }
        match &column.default {
            Some(ColumnDefault::Sql(sql)) => write!(line, " DEFAULT {sql}").unwrap(),
            Some(ColumnDefault::Value(value)) => {
                let literal = value.literal();
                if matches!(&literal, SqlLiteral::Text(text) if text.contains('\0')) {
                    return Err(SchemaError::InvalidDefault {
                        table: table.name.into(),
                        column: column.name.into(),
                        problem: "contains a NUL character, which PostgreSQL text cannot hold",
                    });
                }
                write!(line, " DEFAULT {literal}").unwrap();
            }
            None => {}
        }
        lines.push(line);
    }
    if !table.primary_key.is_empty() {
        lines.push(format!(
            "CONSTRAINT {} PRIMARY KEY ({})",
            quote_ident(&table.primary_key_name()),
            column_list(table.primary_key)
        ));
    }
    for column in table.columns.iter().filter(|c| c.unique) {
        lines.push(format!(
            "CONSTRAINT {} UNIQUE ({})",
            quote_ident(&table.unique_name(column)),
            quote_ident(column.name)
        ));
    }
    for fk in table.foreign_keys {
        let mut line = format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
            quote_ident(&table.foreign_key_name(fk)),
            column_list(fk.columns),
            quote_ident(fk.references_table),
            column_list(fk.references_columns)
        );
        for (clause, action) in [("ON DELETE", fk.on_delete), ("ON UPDATE", fk.on_update)] {
            if action != Default::default() {
                write!(line, " {clause} {}", action.as_sql()).unwrap();
            }
        }
        lines.push(line);
    }
    for check in table.checks() {
        lines.push(format!(
            "CONSTRAINT {} CHECK ({})",
            quote_ident(&check.name),
            check_expression(&check.rule, names)
        ));
    }
    Ok(format!(
        "CREATE TABLE {} (\n    {}\n)",
        quote_ident(table.name),
        lines.join(",\n    ")
    ))
}

fn check_expression(rule: &CheckRule, names: &Names) -> String {
    match rule {
        CheckRule::OneOf { column, values } => format!(
            "{} IN ({})",
            quote_ident(column),
            values
                .iter()
                .map(|v| quote_literal(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CheckRule::Range { column, range } => {
            let column = quote_ident(column);
            match (range.min, range.max) {
                (Some(min), Some(max)) => format!("{column} BETWEEN {min} AND {max}"),
                (Some(min), None) => format!("{column} >= {min}"),
                (None, Some(max)) => format!("{column} <= {max}"),
                (None, None) => "true".into(),
            }
        }
        CheckRule::Sql(parts) => sql_parts(parts, names),
    }
}

fn create_index(table: &TableDef, index: &IndexDef) -> String {
    let columns = index
        .columns
        .iter()
        .map(|c| {
            let mut item = quote_ident(c.name);
            match c.order {
                Some(SortOrder::Asc) => item.push_str(" ASC"),
                Some(SortOrder::Desc) => item.push_str(" DESC"),
                None => {}
            }
            match c.nulls {
                Some(NullsOrder::First) => item.push_str(" NULLS FIRST"),
                Some(NullsOrder::Last) => item.push_str(" NULLS LAST"),
                None => {}
            }
            item
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE {}INDEX {} ON {} ({columns})",
        if index.unique { "UNIQUE " } else { "" },
        quote_ident(&table.index_name(index)),
        quote_ident(table.name)
    )
}

fn comments(table: &TableDef) -> Vec<String> {
    let on_table = table.comment.map(|comment| {
        format!(
            "COMMENT ON TABLE {} IS {}",
            quote_ident(table.name),
            quote_literal(comment)
        )
    });
    let on_columns = table.columns.iter().filter_map(|column| {
        column.comment.map(|comment| {
            format!(
                "COMMENT ON COLUMN {}.{} IS {}",
                quote_ident(table.name),
                quote_ident(column.name),
                quote_literal(comment)
            )
        })
    });
    on_table.into_iter().chain(on_columns).collect()
}

fn column_list(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every column an attribute's SQL names must be a column of the table.
fn require_parts(table: &TableDef, parts: &[SqlPart], used_in: &str) -> Result<(), SchemaError> {
    for part in parts {
        if let SqlPart::Column(column) = part {
            if table.column(column).is_none() {
                return Err(SchemaError::UnknownColumn {
                    table: table.name.into(),
                    column: (*column).into(),
                    used_in: used_in.into(),
                });
            }
        }
    }
    Ok(())
}

/// Checks what the DDL needs of a table: usable names, no duplicates, every named column
/// present; and that its declared renames (which the DDL does not use) say one thing each. The
/// derive refuses these mistakes at compile time; this catches tables built by hand.
pub fn validate(table: &TableDef) -> Result<(), SchemaError> {
    let invalid = |name: &str, problem| SchemaError::InvalidIdentifier {
        table: table.name.into(),
        name: name.into(),
        problem,
    };
    if let Some(problem) = identifier_problem(table.name) {
        return Err(invalid(table.name, problem));
    }
    let mut columns = HashSet::new();
    for column in table.columns {
        if let Some(problem) = identifier_problem(column.name) {
            return Err(invalid(column.name, problem));
        }
        if !columns.insert(column.name) {
            return Err(SchemaError::DuplicateColumn {
                table: table.name.into(),
                column: column.name.into(),
            });
        }
    }
    let require = |names: &mut dyn Iterator<Item = &str>, used_in: &dyn Fn() -> String| {
        let mut any = false;
        for name in names {
            any = true;
            if !columns.contains(name) {
                return Err(SchemaError::UnknownColumn {
                    table: table.name.into(),
                    column: name.into(),
                    used_in: used_in(),
                });
            }
        }
        if any {
            Ok(())
        } else {
            Err(SchemaError::NoColumns {
                table: table.name.into(),
                used_in: used_in(),
            })
        }
    };
    if !table.primary_key.is_empty() {
        require(&mut table.primary_key.iter().copied(), &|| {
            "the primary key".into()
        })?;
    }
    let mut names = HashSet::new();
    let mut claim = |name: String| {
        if let Some(problem) = identifier_problem(&name) {
            return Err(invalid(&name, problem));
        }
        if names.insert(name.clone()) {
            Ok(())
        } else {
            Err(SchemaError::DuplicateName {
                table: table.name.into(),
                name,
            })
        }
    };
    if !table.primary_key.is_empty() {
        claim(table.primary_key_name().into_owned())?;
    }
    for column in table.columns.iter().filter(|c| c.unique) {
        claim(table.unique_name(column).into_owned())?;
    }
    for fk in table.foreign_keys {
        let name = table.foreign_key_name(fk).into_owned();
        require(&mut fk.columns.iter().copied(), &|| {
            format!("foreign key `{name}`")
        })?;
        if fk.columns.len() != fk.references_columns.len() {
            return Err(SchemaError::NoColumns {
                table: table.name.into(),
                used_in: format!("the referenced side of foreign key `{name}`"),
            });
        }
        claim(name)?;
    }
    for check in table.checks() {
        if let CheckRule::Sql(parts) = check.rule {
            require_parts(table, parts, &format!("check `{}`", check.name))?;
        }
        claim(check.name.into_owned())?;
    }
    let mut policies = HashSet::new();
    for policy in table.policies {
        let used_in = format!("policy `{}`", policy.name);
        if let Some(problem) =
            identifier_problem(policy.name).or_else(|| identifier_problem(policy.role))
        {
            return Err(invalid(policy.name, problem));
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
    for index in table.indexes {
        let name = table.index_name(index).into_owned();
        require(&mut index.columns.iter().map(|c| c.name), &|| {
            format!("index `{name}`")
        })?;
        claim(name)?;
    }
    validate_grants(table)?;
    validate_renames(table)?;
    validate_text(table)
}

/// Declared renames: every former name is one PostgreSQL could have had, is not the object's
/// name now, and is the former name of one object of its kind, which no other object of that
/// kind has now; every renamed value of a column is renamed once, to a value the column allows,
/// from one it no longer allows.
fn validate_renames(table: &TableDef) -> Result<(), SchemaError> {
    let invalid = |name: &str, problem| SchemaError::InvalidIdentifier {
        table: table.name.into(),
        name: name.into(),
        problem,
    };
    let former_name = |old: &str, current: &str| match identifier_problem(old) {
        Some(problem) => Err(invalid(old, problem)),
        None if old == current => Err(invalid(
            old,
            "is the current name of the object renamed from it",
        )),
        None => Ok(()),
    };
    if let Some(old) = table.renamed_from {
        former_name(old, table.name)?;
    }
    // Each kind's objects as (current name, former name).
    let kinds: [Vec<(Cow<'static, str>, Option<&str>)>; 4] = [
        table
            .columns
            .iter()
            .map(|c| (Cow::Borrowed(c.name), c.renamed_from))
            .collect(),
        table
            .indexes
            .iter()
            .map(|i| (table.index_name(i), i.renamed_from))
            .collect(),
        table
            .checks
            .iter()
            .map(|c| (Cow::Borrowed(c.name), c.renamed_from))
            .collect(),
        table
            .policies
            .iter()
            .map(|p| (Cow::Borrowed(p.name), p.renamed_from))
            .collect(),
    ];
    for objects in &kinds {
        let mut former = HashSet::new();
        for (current, old) in objects {
            let Some(old) = *old else { continue };
            former_name(old, current)?;
            if objects.iter().any(|(other, _)| other == old) {
                return Err(invalid(
                    old,
                    "is the former name of one object and the current name of another of its kind",
                ));
            }
            if !former.insert(old) {
                return Err(invalid(
                    old,
                    "is the former name of two objects of one kind",
                ));
            }
        }
    }
    for column in table.columns {
        let invalid = |problem| SchemaError::InvalidColumn {
            table: table.name.into(),
            column: column.name.into(),
            problem,
        };
        let mut former = HashSet::new();
        for &(old, new) in column.renamed_values {
            if old.contains('\0') || new.contains('\0') {
                return Err(SchemaError::NulCharacter {
                    table: table.name.into(),
                    used_in: format!("a renamed value of column `{}`", column.name),
                });
            }
            let allowed = |value| column.allowed_values.map(|values| values.contains(&value));
            let problem = if old.is_empty() {
                Some("renames a value from empty text")
            } else if old == new {
                Some("renames a value to itself")
            } else if allowed(old) == Some(true) {
                Some("renames a value from one it still allows")
            } else if allowed(new) == Some(false) {
                Some("renames a value to one it does not allow")
            } else if !former.insert(old) {
                Some("renames one former value twice")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(invalid(problem));
            }
        }
    }
    Ok(())
}

/// A column grant names a role once, lists columns of the table, and none that no update may
/// change.
fn validate_grants(table: &TableDef) -> Result<(), SchemaError> {
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

/// No text that reaches the DDL holds a NUL: comments, SQL written in attributes, types,
/// enumerated values.
fn validate_text(table: &TableDef) -> Result<(), SchemaError> {
    let nul = |used_in: String| SchemaError::NulCharacter {
        table: table.name.into(),
        used_in,
    };
    let parts_have_nul = |parts: &[SqlPart]| {
        parts.iter().any(|part| match part {
            SqlPart::Sql(sql) => sql.contains('\0'),
            SqlPart::Column(_) => false,
            SqlPart::Setting(setting) => setting.contains('\0'),
        })
    };
    if table.comment.is_some_and(|c| c.contains('\0')) {
        return Err(nul("the comment".into()));
    }
    for column in table.columns {
        let texts = [
            ("comment", column.comment),
            (
                "default",
                match column.default {
                    Some(ColumnDefault::Sql(sql)) => Some(sql),
                    _ => None,
                },
            ),
            ("update_sql", column.update_sql),
            (
                "type",
                match column.sql_type {
                    crate::SqlType::Custom(sql) => Some(sql),
                    _ => None,
                },
            ),
        ];
        for (what, text) in texts {
            if text.is_some_and(|t| t.contains('\0')) {
                return Err(nul(format!("the {what} of column `{}`", column.name)));
            }
        }
        if column
            .allowed_values
            .is_some_and(|values| values.iter().any(|v| v.contains('\0')))
        {
            return Err(nul(format!("a value allowed in column `{}`", column.name)));
        }
    }
    for check in table.checks {
        if parts_have_nul(check.sql) {
            return Err(nul(format!("check `{}`", check.name)));
        }
    }
    for policy in table.policies {
        for parts in [policy.using, policy.with_check].into_iter().flatten() {
            if parts_have_nul(parts) {
                return Err(nul(format!("policy `{}`", policy.name)));
            }
        }
    }
    Ok(())
}

/// The roles and settings as the deployment names them are usable in the DDL.
fn validate_names(table: &TableDef, names: &Names) -> Result<(), SchemaError> {
    for policy in table.policies {
        for part in [policy.using, policy.with_check]
            .into_iter()
            .flatten()
            .flatten()
        {
            if let SqlPart::Setting(setting) = part {
                let deployed = names.setting_name(setting);
                if deployed.contains('\0') {
                    return Err(SchemaError::NulCharacter {
                        table: table.name.into(),
                        used_in: format!("the setting read by policy `{}`", policy.name),
                    });
                }
                if let Some(problem) = crate::sql::setting_name_problem(deployed) {
                    return Err(SchemaError::InvalidIdentifier {
                        table: table.name.into(),
                        name: deployed.into(),
                        problem,
                    });
                }
            }
        }
    }
    for (i, grant) in table.column_grants.iter().enumerate() {
        let deployed = names.role_name(grant.role);
        if let Some(other) = table.column_grants[..i]
            .iter()
            .find(|g| names.role_name(g.role) == deployed)
        {
            return Err(SchemaError::InvalidGrant {
                table: table.name.into(),
                role: grant.role.into(),
                problem: format!(
                    "is deployed as `{deployed}`, as is `{}`, which has a grant of its own",
                    other.role
                ),
            });
        }
    }
    let roles = policy_roles(table, names);
    for role in roles {
        if let Some(problem) = identifier_problem(role) {
            return Err(SchemaError::InvalidIdentifier {
                table: table.name.into(),
                name: role.into(),
                problem,
            });
        }
    }
    Ok(())
}
