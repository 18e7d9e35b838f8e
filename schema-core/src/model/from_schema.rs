//! The model of a [`Schema`]: the derive's metadata with every name resolved as the deployment
//! has it and every expression written out as SQL.

use std::fmt::Write as _;

use super::{
    CheckModel, ColumnModel, EnumModel, ForeignKeyModel, GrantModel, IdentityModel, ImmutableGuard,
    IndexKeyModel, IndexModel, KeyModel, NamespaceModel, PolicyModel, SchemaModel, TableModel,
    FORMAT_VERSION,
};
use crate::def::{
    CheckRule, ColumnDefault, Generation, IndexKey, NullsOrder, SortOrder, SqlPart, TableDef,
};
use crate::error::SchemaError;
use crate::names::Names;
use crate::render::{policy_roles, validate, validate_names};
use crate::sql::{identifier_problem, qualify, quote_ident, quote_literal, split_qualified};
use crate::types::SqlType;
use crate::Schema;

/// The settings the immutable guard's function runs with, as PostgreSQL keeps them
/// (`pg_proc.proconfig`).
pub(crate) const IMMUTABLE_GUARD_SETTINGS: [&str; 2] =
    ["search_path=pg_catalog, pg_temp", "extra_float_digits=3"];

impl SchemaModel {
    /// The model of a schema: its tables in foreign-key order, each checked as the DDL
    /// renderer checks it, roles and settings named as the schema's [`Names`] say.
    pub fn from_schema(schema: &Schema) -> Result<Self, SchemaError> {
        let names = schema.names();
        let tables = schema.ordered()?;
        crate::schema::check_relation_names(&tables)?;
        // The roles the policies name must exist before the policies do.
        let mut roles: Vec<String> = Vec::new();
        for table in &tables {
            for role in policy_roles(table, names) {
                if let Some(problem) = identifier_problem(role) {
                    return Err(SchemaError::InvalidIdentifier {
                        table: table.name.into(),
                        name: role.into(),
                        problem,
                    });
                }
                if !roles.iter().any(|r| r == role) {
                    roles.push(role.to_string());
                }
            }
        }
        let enums = enum_models(schema, &tables)?;
        check_enum_columns(&tables, &enums)?;
        let extensions = extensions(schema, &tables)?;
        let tables: Vec<TableModel> = tables
            .into_iter()
            .map(|table| TableModel::from_def(table, names))
            .collect::<Result<_, _>>()?;
        Ok(SchemaModel {
            format_version: FORMAT_VERSION,
            roles,
            namespaces: namespaces(&tables, &enums),
            tables,
            unmanaged_tables: Vec::new(),
            enums,
            extensions,
        })
    }
}

/// The PostgreSQL schemas the tables and the native enum types are in, in table order (then
/// those only a type is in), each with the roles that hold a privilege on one of its tables or
/// on a table with a column of one of its types: they need `USAGE` on the schema to reach the
/// table, or to name the type (a cast, a parameter sent as the type by name).
fn namespaces(tables: &[TableModel], enums: &[EnumModel]) -> Vec<NamespaceModel> {
    let mut namespaces: Vec<NamespaceModel> = Vec::new();
    let mut add = |schema: &str, grants: &[GrantModel]| {
        let index = match namespaces.iter().position(|n| n.name == schema) {
            Some(index) => index,
            None => {
                namespaces.push(NamespaceModel {
                    name: schema.into(),
                    usage: Vec::new(),
                });
                namespaces.len() - 1
            }
        };
        let usage = &mut namespaces[index].usage;
        for grant in grants {
            if !usage.contains(&grant.role) {
                usage.push(grant.role.clone());
            }
        }
        usage.sort();
    };
    for table in tables {
        if let (Some(schema), _) = split_qualified(&table.name) {
            add(schema, &table.grants);
        }
        for column in &table.columns {
            if let Some((Some(schema), _)) =
                super::enum_of_column(enums, &column.sql_type).map(|e| split_qualified(&e.name))
            {
                add(schema, &table.grants);
            }
        }
    }
    for e in enums {
        if let (Some(schema), _) = split_qualified(&e.name) {
            add(schema, &[]);
        }
    }
    namespaces
}

/// A column of a Rust enum whose type is written out (`sql_type = "..."`) names a type that
/// can hold its values: a text type, or a native enum type the schema creates. A column of
/// a type nothing creates would make the script fail where it is applied (`type ... does not
/// exist`), so it is refused here, before anything is rendered.
fn check_enum_columns(tables: &[&TableDef], enums: &[EnumModel]) -> Result<(), SchemaError> {
    for table in tables {
        for column in table.columns {
            let SqlType::Custom(written) = column.sql_type.element() else {
                continue;
            };
            if column.allowed_values.is_none() || crate::types::is_text_type(written) {
                continue;
            }
            let element = written.trim().strip_suffix("[]").unwrap_or(written).trim();
            let named = crate::sql::parse_type_name(element);
            if !named.is_some_and(|name| enums.iter().any(|e| e.name == name)) {
                return Err(SchemaError::UncreatedEnumType {
                    table: table.qualified_name().into_owned(),
                    column: column.name.into(),
                    sql_type: written.into(),
                });
            }
        }
    }
    Ok(())
}

/// The extensions a schema declares, checked against what its columns need: a `citext`
/// column in a schema that does not declare `citext` is an error.
fn extensions(schema: &Schema, tables: &[&TableDef]) -> Result<Vec<String>, SchemaError> {
    let declared = schema.declared_extensions();
    for table in tables {
        for column in table.columns {
            if let Some(extension) = column.sql_type.extension() {
                if !declared.contains(&extension) {
                    return Err(SchemaError::MissingExtension {
                        table: table.qualified_name().into_owned(),
                        column: column.name.into(),
                        extension,
                    });
                }
            }
        }
    }
    for extension in declared {
        if let Some(problem) = identifier_problem(extension) {
            return Err(SchemaError::InvalidExtension {
                name: (*extension).into(),
                problem,
            });
        }
    }
    Ok(declared.iter().map(|e| (*e).into()).collect())
}

/// The native enum types of a schema, each once: those declared on their own first, then
/// those the tables' columns use, in table order. Two enums with different values (or renames)
/// under one name are an error.
fn enum_models(schema: &Schema, tables: &[&TableDef]) -> Result<Vec<EnumModel>, SchemaError> {
    let declared = schema.declared_enums().iter().map(|d| {
        (
            d.rust_type,
            d.sql_type,
            d.values.unwrap_or_default(),
            d.renamed,
        )
    });
    let used = tables.iter().flat_map(|t| t.columns).map(|c| {
        (
            c.rust_type,
            c.sql_type,
            c.allowed_values.unwrap_or_default(),
            c.renamed_values,
        )
    });
    let mut enums: Vec<EnumModel> = Vec::new();
    for (rust_type, sql_type, values, renamed) in declared.clone().chain(used) {
        // A column of an array of a native enum uses its type too.
        let SqlType::Enum(name) = sql_type.element() else {
            if declared.clone().any(|d| d.0 == rust_type) {
                return Err(SchemaError::InvalidEnum {
                    name: rust_type.into(),
                    problem: "is not a native enum: declare it with `#[pg(native)]`".into(),
                });
            }
            continue;
        };
        let invalid = |problem: String| SchemaError::InvalidEnum {
            name: name.into(),
            problem,
        };
        let (namespace, bare) = split_qualified(name);
        if let Some(problem) = identifier_problem(bare) {
            return Err(invalid(format!(
                "cannot be a type name: the name {problem}"
            )));
        }
        if let Some(problem) = namespace.and_then(crate::sql::schema_name_problem) {
            return Err(invalid(format!(
                "cannot be in that PostgreSQL schema: its name {problem}"
            )));
        }
        if values.is_empty() {
            return Err(invalid("has no values".into()));
        }
        if let Some(v) = values.iter().find(|v| v.is_empty() || v.len() > 63) {
            return Err(invalid(format!(
                "has the value {v:?}; a label of a PostgreSQL enum is 1 to 63 bytes long"
            )));
        }
        let model = EnumModel {
            name: name.into(),
            values: values.iter().map(|v| (*v).into()).collect(),
            renamed_values: renamed
                .iter()
                .map(|(old, new)| ((*old).into(), (*new).into()))
                .collect(),
        };
        match enums.iter().find(|e| e.name == name) {
            Some(existing) if *existing != model => {
                return Err(SchemaError::EnumConflict { name: name.into() })
            }
            Some(_) => {}
            None => enums.push(model),
        }
    }
    Ok(enums)
}

impl TableModel {
    /// The model of one table, checked as the DDL renderer checks it.
    pub fn from_def(table: &TableDef, names: &Names) -> Result<Self, SchemaError> {
        validate(table)?;
        validate_names(table, names)?;
        let mut columns = Vec::with_capacity(table.columns.len());
        for column in table.columns {
            let default = match &column.default {
                Some(ColumnDefault::Sql(sql)) => Some((*sql).to_string()),
                Some(ColumnDefault::Value(value)) => {
                    let literal = value.literal();
                    if literal.has_nul() {
                        return Err(SchemaError::InvalidDefault {
                            table: table.name.into(),
                            column: column.name.into(),
                            problem: "contains a NUL character, which PostgreSQL text cannot hold",
                        });
                    }
                    Some(literal.to_string())
                }
                None => None,
            };
            let sql_type = column.sql_type.to_string();
            let (identity, generated) = match column.generation {
                Some(Generation::Identity(identity)) => {
                    let defaults = IdentityModel::defaults(
                        &sql_type,
                        identity.always,
                        identity.increment.unwrap_or(1),
                    );
                    let min_value = identity.min_value.unwrap_or(defaults.min_value);
                    let max_value = identity.max_value.unwrap_or(defaults.max_value);
                    let start = identity.start.unwrap_or(if defaults.increment < 0 {
                        max_value
                    } else {
                        min_value
                    });
                    let model = IdentityModel {
                        start,
                        min_value,
                        max_value,
                        cache: identity.cache.unwrap_or(1),
                        cycle: identity.cycle,
                        ..defaults
                    };
                    (Some(model), None)
                }
                Some(Generation::Stored(parts)) => (None, Some(sql_parts(parts, names))),
                None => (None, None),
            };
            columns.push(ColumnModel {
                name: column.name.into(),
                renamed_from: column.renamed_from.map(Into::into),
                sql_type,
                // An identity column is NOT NULL whatever the field says.
                nullable: column.nullable && identity.is_none(),
                default,
                comment: column.comment.map(Into::into),
                // A native enum's renamed labels belong to its type, not to its columns' rows.
                renamed_values: if matches!(column.sql_type.element(), SqlType::Enum(_)) {
                    &[]
                } else {
                    column.renamed_values
                }
                .iter()
                .map(|(old, new)| ((*old).into(), (*new).into()))
                .collect(),
                identity,
                generated,
                using: column.using.map(|parts| sql_parts(parts, names)),
                collation: None,
            });
        }
        let primary_key = (!table.primary_key.is_empty())
            .then(|| KeyModel::new(table.primary_key_name(), strings(table.primary_key)));
        let unique = table
            .columns
            .iter()
            .filter(|c| c.unique)
            .map(|c| KeyModel::new(table.unique_name(c), vec![c.name.into()]))
            .chain(table.unique_keys.iter().map(|key| KeyModel {
                nulls_not_distinct: key.nulls_not_distinct,
                ..KeyModel::new(table.unique_key_name(key), strings(key.columns))
            }))
            .collect();
        let foreign_keys = table
            .foreign_keys
            .iter()
            .map(|fk| ForeignKeyModel {
                name: table.foreign_key_name(fk).into_owned(),
                columns: strings(fk.columns),
                references_table: fk.references_table.into(),
                references_columns: strings(fk.references_columns),
                on_delete: fk.on_delete,
                on_update: fk.on_update,
            })
            .collect();
        let checks = table
            .checks()
            .into_iter()
            .map(|check| CheckModel {
                renamed_from: table
                    .checks
                    .iter()
                    .find(|c| c.name == check.name)
                    .and_then(|c| c.renamed_from)
                    .map(Into::into),
                name: check.name.into_owned(),
                expression: check_expression(&check.rule, names),
                no_inherit: false,
            })
            .collect();
        let indexes = table
            .indexes
            .iter()
            .map(|index| IndexModel {
                name: table.index_name(index).into_owned(),
                renamed_from: index.renamed_from.map(Into::into),
                unique: index.unique,
                method: index.method.sql().into(),
                keys: index
                    .columns
                    .iter()
                    .map(|c| {
                        let descending = c.order == Some(SortOrder::Desc);
                        let nulls_first = c.nulls.map(|n| n == NullsOrder::First);
                        let key = match c.key {
                            IndexKey::Column(column) => {
                                IndexKeyModel::new(column, descending, nulls_first)
                            }
                            IndexKey::Expression(parts) => IndexKeyModel::expression(
                                sql_parts(parts, names),
                                descending,
                                nulls_first,
                            ),
                        };
                        key.with_opclass(c.opclass.map(Into::into))
                    })
                    .collect(),
                include: index.include.iter().map(|c| c.to_string()).collect(),
                predicate: index.predicate.map(|parts| sql_parts(parts, names)),
            })
            .collect();
        let policies = table
            .policies
            .iter()
            .map(|policy| PolicyModel {
                name: policy.name.into(),
                renamed_from: policy.renamed_from.map(Into::into),
                command: policy.command,
                permissive: true,
                roles: vec![role_name(names.role_name(policy.role))],
                using: policy.using.map(|parts| sql_parts(parts, names)),
                with_check: policy.with_check.map(|parts| sql_parts(parts, names)),
            })
            .collect();
        Ok(TableModel {
            name: table.qualified_name().into_owned(),
            // A former name is in the table's PostgreSQL schema.
            renamed_from: table.renamed_from.map(|old| match split_qualified(old) {
                // A former place in another schema: `public.invoices`, as declared.
                (Some(_), _) => old.into(),
                (None, _) => qualify(table.schema, old),
            }),
            comment: table.comment.map(Into::into),
            columns,
            primary_key,
            unique,
            foreign_keys,
            checks,
            indexes,
            immutable: immutable_guard(table),
            row_level_security: table.row_level_security,
            force_row_level_security: table.row_level_security,
            policies,
            grants: grants(table, names),
            not_valid: Vec::new(),
            partition_by: None,
            partition_of: None,
            index_parts: Vec::new(),
            unmanaged: Vec::new(),
            replica_identity: None,
        })
    }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_string()).collect()
}

/// A role as the catalog names a grantee: `public` in lower case, other names as written.
fn role_name(role: &str) -> String {
    if role.eq_ignore_ascii_case("public") {
        "public".into()
    } else {
        role.into()
    }
}

/// The privileges the table's roles get: each role those of its policies' commands, in the
/// order first named, with `INSERT` and `UPDATE` narrowed to the columns of its column grant
/// (update grants also cover the columns every update refreshes).
fn grants(table: &TableDef, names: &Names) -> Vec<GrantModel> {
    let mut by_role: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut entry = |role: &'static str| -> usize {
        let role = names.role_name(role);
        match by_role.iter().position(|(r, _)| *r == role) {
            Some(index) => index,
            None => {
                by_role.push((role, Vec::new()));
                by_role.len() - 1
            }
        }
    };
    let mut privileges_of: Vec<(usize, &'static str)> = Vec::new();
    for policy in table.policies {
        let index = entry(policy.role);
        privileges_of.extend(policy.command.privileges().iter().map(|p| (index, *p)));
    }
    for grant in table.column_grants {
        entry(grant.role);
    }
    for (index, privilege) in privileges_of {
        if !by_role[index].1.contains(&privilege) {
            by_role[index].1.push(privilege);
        }
    }
    let in_table_order = |listed: &[&str], refreshed: bool| -> Vec<String> {
        table
            .columns
            .iter()
            .filter(|c| listed.contains(&c.name) || (refreshed && c.update_sql.is_some()))
            .map(|c| c.name.to_string())
            .collect()
    };
    let mut grants = Vec::new();
    for (role, privileges) in by_role {
        let grant = table
            .column_grants
            .iter()
            .find(|g| names.role_name(g.role) == role);
        let insert = grant.and_then(|g| g.insert);
        let update = grant.and_then(|g| g.update);
        for privilege in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
            let narrowed = privilege == "INSERT" && insert.is_some()
                || privilege == "UPDATE" && update.is_some();
            if privileges.contains(&privilege) && !narrowed {
                grants.push(GrantModel {
                    role: role_name(role),
                    privilege: privilege.into(),
                    columns: Vec::new(),
                    grantable: false,
                });
            }
        }
        for (privilege, listed, refreshed) in [("INSERT", insert, false), ("UPDATE", update, true)]
        {
            if let Some(listed) = listed {
                grants.push(GrantModel {
                    role: role_name(role),
                    privilege: privilege.into(),
                    columns: in_table_order(listed, refreshed),
                    grantable: false,
                });
            }
        }
    }
    grants
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

/// Values as SQL string literals, separated by commas.
fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| quote_literal(v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_expression(rule: &CheckRule, names: &Names) -> String {
    match rule {
        CheckRule::OneOf { column, values } => {
            format!("{} IN ({})", quote_ident(column), quoted_list(values))
        }
        // Through `text[]`, so that a `varchar(n)[]` column compares too (`<@` wants one array
        // type on both sides); `array_remove` lets NULL elements pass, as NULL passes `IN`.
        CheckRule::EachOneOf { column, values } => format!(
            "array_remove({}::text[], NULL) <@ ARRAY[{}]::text[]",
            quote_ident(column),
            quoted_list(values)
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
        CheckRule::Envelope { column } => crate::def::envelope_check_sql(&quote_ident(column)),
    }
}

/// The guard of the table's `immutable` columns: a function run by an `AFTER UPDATE` trigger,
/// for every role including the table's owner (it stops `UPDATE` statements; DDL such as
/// `ALTER TABLE ... DISABLE TRIGGER` by the owner is not an update). It runs after the row is
/// updated, so no other trigger can change the column after the check. The values are compared
/// as text: `pg_catalog.text`, bytewise (`COLLATE "C"`), floats in full
/// (`extra_float_digits = 3`), with `search_path = pg_catalog, pg_temp`, so no type, operator or
/// setting of the session's choosing takes part.
fn immutable_guard(table: &TableDef) -> Option<ImmutableGuard> {
    let columns: Vec<_> = table.immutable_columns().collect();
    if columns.is_empty() {
        return None;
    }
    let mut body = String::from("\nBEGIN\n");
    for column in &columns {
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
    Some(ImmutableGuard {
        name: qualify(table.schema, &table.immutable_trigger_name()),
        columns: columns.iter().map(|c| c.name.to_string()).collect(),
        body,
        settings: IMMUTABLE_GUARD_SETTINGS.map(String::from).to_vec(),
        trigger_enabled: true,
    })
}
