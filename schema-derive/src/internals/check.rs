//! Rules that span several fields or attributes: one function per rule, each recording its
//! errors at the token the user must change.

use std::collections::HashMap;

use proc_macro2::Span;
use quote::ToTokens;

use super::ast::Table;
use super::attr::{IndexAttr, TemplatePart};
use super::ctxt::Ctxt;
use super::suggest::did_you_mean;
use super::symbol::ON_UPDATE;

/// PostgreSQL truncates identifiers longer than this many bytes (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER_BYTES: usize = 63;

pub fn check(cx: &Ctxt, table: &Table) {
    check_names_fit(cx, table);
    check_schema(cx, table);
    check_column_names_unique(cx, table);
    check_one_primary_key(cx, table);
    check_primary_key_not_nullable(cx, table);
    check_attribute_conflicts(cx, table);
    check_ranges_hold_values(cx, table);
    check_indexes(cx, table);
    check_unique_keys(cx, table);
    check_foreign_keys(cx, table);
    check_checks(cx, table);
    check_policies(cx, table);
    check_internal_is_optional(cx, table);
    check_encrypted(cx, table);
    check_immutable(cx, table);
    check_grants(cx, table);
    check_no_nul(cx, table);
    check_renames(cx, table);
    check_tenancy(cx, table);
}

/// A table belongs to the tenants in one way: it is the root (its single-column key is the
/// tenant's key), or one NOT NULL column holds the tenant, or it is shared; a reference table
/// is shared by every tenant, so it holds no tenant column.
fn check_tenancy(cx: &Ctxt, table: &Table) {
    let tenant_columns: Vec<_> = table
        .columns
        .iter()
        .filter_map(|c| c.attrs.tenant.as_ref().map(|t| (c, t)))
        .collect();
    if let Some(root) = &table.attrs.tenant_root {
        if table.primary_key().len() != 1 {
            cx.error_spanned_by(
                root,
                "the tenant root is named by its key: give the table a primary key of one column (`#[pg(primary_key)]` on the tenant's key field)",
            );
        }
        if let Some((_, tenant)) = tenant_columns.first() {
            cx.error_spanned_by(
                &tenant.key,
                "the tenant root's rows are the tenants; its key is the tenant's key: remove `tenant` from this field or `tenant_root` from the struct",
            );
        }
    }
    for (_, tenant) in tenant_columns.iter().skip(1) {
        cx.error_spanned_by(
            &tenant.key,
            format!(
                "a table belongs to its tenant through one column; `{}` is already the tenant column",
                tenant_columns[0].0.ident
            ),
        );
    }
    if let Some((column, tenant)) = tenant_columns.first() {
        if column.is_option {
            cx.error_spanned_by(
                &tenant.key,
                "a tenant column is NOT NULL: every row belongs to a tenant; remove the `Option`",
            );
        }
        if column.attrs.generated.is_some() || column.attrs.identity.is_some() {
            cx.error_spanned_by(
                &tenant.key,
                "the tenant column holds the tenant's key as written; it cannot be computed by the database",
            );
        }
        if let Some(reference) = &table.attrs.reference {
            cx.error_spanned_by(
                reference,
                "a reference table is shared by every tenant; remove `reference`, or the field's `tenant`",
            );
        }
    }
}

/// Names written by the user reach PostgreSQL as they are, so one it would truncate (or one
/// that is empty) is refused rather than silently changed.
fn check_names_fit(cx: &Ctxt, table: &Table) {
    let mut names: Vec<(&str, Span, &str)> = vec![(&table.name, table.name_span, "table")];
    names.extend(
        table
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.name_span, "column")),
    );
    let literal_names = table
        .attrs
        .indexes
        .iter()
        .filter_map(|i| i.name.as_ref().map(|n| (n, "index")))
        .chain(
            table
                .attrs
                .checks
                .iter()
                .filter_map(|c| c.name.as_ref().map(|n| (n, "check"))),
        )
        .map(|(lit, what)| (lit.value(), lit.span(), what))
        .collect::<Vec<_>>();
    for (name, span, what) in names
        .into_iter()
        .map(|(n, s, w)| (n.to_string(), s, w))
        .chain(literal_names)
    {
        check_name_fits(cx, &name, span, what);
    }
}

/// The PostgreSQL schema a table is in is one of the user's own: not `public` (where a table
/// without `schema` already is) nor a system one; and the table's own name holds no `.`, which
/// would read as a schema.
fn check_schema(cx: &Ctxt, table: &Table) {
    if table.name.contains('.') {
        cx.error_at(
            table.name_span,
            format!(
                "a table name holds no `.`; for a table in another PostgreSQL schema write \
                 `#[pg(schema = \"{}\", table = \"{}\")]`",
                table.name.split('.').next().unwrap_or_default(),
                table.name.split('.').skip(1).collect::<Vec<_>>().join("_"),
            ),
        );
    }
    if let Some(schema) = &table.attrs.schema {
        check_schema_name(cx, schema, "table");
    }
}

/// The PostgreSQL schema an object (`what`: a table, an enum type) is declared in is one of
/// the user's own: a name PostgreSQL keeps whole, not `public` (where an object without
/// `schema` already is) nor a system one, without a `.`.
pub fn check_schema_name(cx: &Ctxt, schema: &syn::LitStr, what: &str) {
    let name = schema.value();
    if !name_fits(
        cx,
        &name,
        schema.span(),
        "schema",
        "so choose a shorter one",
    ) {
        return;
    }
    let public;
    let problem: &str = if name == "public" {
        public = format!(
            "a {what} without `schema` is in `public` already; remove `schema = \"public\"`"
        );
        &public
    } else if name.starts_with("pg_") {
        "PostgreSQL keeps the schemas starting with `pg_` for itself; choose another name"
    } else if name.contains('.') {
        "a schema name holds no `.`"
    } else {
        return;
    };
    cx.error_at(schema.span(), problem);
}

fn check_name_fits(cx: &Ctxt, name: &str, span: Span, what: &str) {
    name_fits(cx, name, span, what, "so choose a shorter one");
}

/// A former name (`renamed_from`) is one the object could have had in PostgreSQL; `false`
/// (and an error) when it is not.
fn check_former_name_fits(cx: &Ctxt, name: &str, span: Span, what: &str) -> bool {
    name_fits(
        cx,
        name,
        span,
        &format!("former {what}"),
        &format!("so no {what} can have had it; write the name as the database has it"),
    )
}

/// Whether `name` is a name PostgreSQL keeps as written; otherwise an error at `span`, a too
/// long one ending with `advice`.
fn name_fits(cx: &Ctxt, name: &str, span: Span, what: &str, advice: &str) -> bool {
    if name.is_empty() {
        cx.error_at(span, format!("the {what} name is empty"));
    } else if name.contains('\0') {
        cx.error_at(span, format!("the {what} name contains a NUL character"));
    } else if name.len() > MAX_IDENTIFIER_BYTES {
        cx.error_at(
            span,
            format!(
                "the {what} name `{name}` is {} bytes long; PostgreSQL would truncate it to 63, \
                 {advice}",
                name.len()
            ),
        );
    } else {
        return true;
    }
    false
}

/// Two fields cannot become one column, which a `rename` can cause.
fn check_column_names_unique(cx: &Ctxt, table: &Table) {
    let mut seen = HashMap::new();
    for column in &table.columns {
        if let Some(first) = seen.insert(column.name.as_str(), column.ident) {
            cx.error_at(
                column.name_span,
                format!(
                    "two fields make the column `{}`: `{first}` and `{}`; rename one of them",
                    column.name, column.ident
                ),
            );
        }
    }
}

/// A table has one primary key: declared on one field, or on the struct for several columns.
fn check_one_primary_key(cx: &Ctxt, table: &Table) {
    let marked: Vec<_> = table
        .columns
        .iter()
        .filter_map(|c| c.attrs.primary_key.as_ref())
        .collect();
    if let Some(list) = &table.attrs.primary_key {
        for key in &marked {
            cx.error_spanned_by(
                key,
                "the struct already declares `primary_key(...)`; remove this one or list the column there",
            );
        }
        if list.value.is_empty() {
            cx.error_spanned_by(&list.key, "`primary_key()` lists no column");
        }
        for ident in &list.value {
            if table.column(ident).is_none() {
                unknown_column(cx, table, ident, "the primary key");
            }
        }
    } else {
        for key in marked.iter().skip(1) {
            cx.error_spanned_by(
                key,
                "a table has one primary key; for a key of several columns write \
                 `#[pg(primary_key(a, b))]` on the struct",
            );
        }
    }
}

/// Key columns are NOT NULL in PostgreSQL, so an `Option` field would never read back `None`;
/// and an update never changes the key, so a key column cannot be refreshed by `update_sql`.
fn check_primary_key_not_nullable(cx: &Ctxt, table: &Table) {
    for column in table.primary_key() {
        if let Some(update_sql) = &column.attrs.update_sql {
            cx.error_spanned_by(
                &update_sql.key,
                "a key column is never changed by an update; remove `update_sql`",
            );
        }
        if column.is_option {
            cx.error_spanned_by(
                column.ty,
                format!(
                    "primary key column `{}` cannot be an `Option`: key columns are NOT NULL",
                    column.name
                ),
            );
        }
    }
}

/// The keys that set a column's type (`numeric`, `char`, `precision` with each other
/// and with `varchar` and `sql_type`): one per column.
fn check_type_keys(cx: &Ctxt, a: &crate::internals::attr::FieldAttrs) {
    let keys = [
        a.varchar.as_ref().map(|k| &k.key),
        a.sql_type.as_ref().map(|k| &k.key),
        a.numeric.as_ref().map(|k| &k.key),
        a.char.as_ref().map(|k| &k.key),
        a.precision.as_ref().map(|k| &k.key),
        a.citext.as_ref(),
    ];
    let mut given = keys.into_iter().flatten();
    let Some(first) = given.next() else { return };
    for key in given {
        // `varchar` with `sql_type` has its own message.
        if a.varchar.is_some() && a.sql_type.as_ref().is_some_and(|s| &s.key == key) {
            continue;
        }
        cx.error_spanned_by(
            key,
            format!("`{first}` and `{key}` both set the column's type; keep one"),
        );
    }
}

/// Keys that say two different things about one column.
fn check_attribute_conflicts(cx: &Ctxt, table: &Table) {
    for column in &table.columns {
        let a = &column.attrs;
        if let (Some(_), Some(sql)) = (&a.default, &a.default_sql) {
            cx.error_spanned_by(
                &sql.key,
                "a column has one default: `default` (a Rust value) and `default_sql` (a SQL expression) are both given; keep one",
            );
        }
        if let (Some(_), Some(sql_type)) = (&a.varchar, &a.sql_type) {
            cx.error_spanned_by(
                &sql_type.key,
                "`varchar` and `sql_type` both set the column's type; keep one",
            );
        }
        check_type_keys(cx, a);
        if a.references.is_none() {
            for action in [&a.on_delete, &a.on_update].into_iter().flatten() {
                cx.error_spanned_by(
                    &action.key,
                    format!(
                        "`{}` applies to a foreign key; add `references = Table::column` or remove it",
                        action.key
                    ),
                );
            }
        }
        if let (Some(_), Some(unique)) = (&a.primary_key, &a.unique) {
            cx.error_spanned_by(unique, "a primary key is already unique; remove `unique`");
        }
    }
    check_generation(cx, table);
    check_conversions(cx, table);
}

/// A conversion (`using`) names fields of the struct, and reads no session setting: it runs once
/// over every row, whoever applies the plan.
fn check_conversions(cx: &Ctxt, table: &Table) {
    for column in &table.columns {
        let a = &column.attrs;
        if let Some(using) = &a.using {
            check_template(
                cx,
                table,
                &using.value.lit,
                &using.value.parts,
                "the conversion",
            );
            if let Some(TemplatePart::Setting(setting)) = using
                .value
                .parts
                .iter()
                .find(|p| matches!(p, TemplatePart::Setting(_)))
            {
                cx.error_spanned_by(
                    &using.value.lit,
                    format!(
                        "a conversion cannot read `{{setting:{setting}}}`: it converts every row once, whatever the session; write the conversion from the row's own values"
                    ),
                );
            }
        }
    }
}

/// A column the database computes (`identity`, `generated`) takes no value of its own: no
/// default, no update, no `default_fn` where no insert may give it; a generated column's SQL
/// names fields that are not generated themselves.
fn check_generation(cx: &Ctxt, table: &Table) {
    for column in &table.columns {
        let a = &column.attrs;
        let (what, key) = match (&a.identity, &a.generated) {
            (Some(_), Some(generated)) => {
                cx.error_spanned_by(
                    &generated.key,
                    "a column is an `identity` or `generated`, not both; keep one",
                );
                continue;
            }
            (Some(identity), None) => ("an identity", &identity.key),
            (None, Some(generated)) => ("a generated column", &generated.key),
            (None, None) => continue,
        };
        let conflicts = [
            a.default.as_ref().map(|k| &k.key),
            a.default_sql.as_ref().map(|k| &k.key),
            a.update_sql.as_ref().map(|k| &k.key),
        ];
        for conflict in conflicts.into_iter().flatten() {
            cx.error_spanned_by(
                conflict,
                format!("`{key}` makes this {what}, whose value the database computes; remove `{conflict}`"),
            );
        }
        if let Some(default_fn) = &a.default_fn {
            if column.filled_by_database() {
                cx.error_spanned_by(
                    &default_fn.key,
                    format!("`{key}` makes this {what}, which no insert may give a value; remove `default_fn`"),
                );
            }
        }
        if let Some(generated) = &a.generated {
            if let Some(immutable) = &a.immutable {
                cx.error_spanned_by(
                    immutable,
                    "a generated column changes only with the columns it is computed from; remove `immutable`",
                );
            }
            check_template(
                cx,
                table,
                &generated.value.lit,
                &generated.value.parts,
                "the generated column",
            );
            for part in &generated.value.parts {
                if let TemplatePart::Field(field) = part {
                    let other = table.columns.iter().find(|c| c.ident == field.as_str());
                    if other.is_some_and(|c| c.attrs.generated.is_some()) {
                        cx.error_spanned_by(
                            &generated.value.lit,
                            format!("`{{{field}}}` is a generated column, and PostgreSQL computes a generated column only from ordinary ones"),
                        );
                    }
                }
            }
        }
    }
}

/// A range check must allow some value and say something.
fn check_ranges_hold_values(cx: &Ctxt, table: &Table) {
    for column in &table.columns {
        let Some(range) = &column.attrs.range else {
            continue;
        };
        match (&range.value.min, &range.value.max) {
            (None, None) => cx.error_spanned_by(
                &range.key,
                "`range = ..` allows every value; give a bound (`range = 1..=5`) or remove it",
            ),
            (Some((min, _)), Some((max, lit))) if min > max => cx.error_at(
                lit.span(),
                format!("this range holds no value: its last value {max} is below its start {min}"),
            ),
            _ => {}
        }
    }
}

/// Every index names known columns, has at least one, and no two share an explicit name.
fn check_indexes(cx: &Ctxt, table: &Table) {
    let mut names = HashMap::new();
    for index in &table.attrs.indexes {
        if index.columns.is_empty() {
            cx.error_spanned_by(
                &index.key,
                "this index has no column; list at least one: `index(status)`",
            );
        }
        for column in &index.columns {
            match &column.expression {
                Some(sql) => check_template(cx, table, &sql.lit, &sql.parts, "the index"),
                None if table.column(&column.ident).is_none() => {
                    unknown_column(cx, table, &column.ident, "the index")
                }
                None => {}
            }
            if let Some(opclass) = &column.opclass {
                let value = opclass.value();
                let plain = value.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && value
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !plain || value.len() > 63 {
                    cx.error_spanned_by(
                        opclass,
                        "an operator class is a lowercase name, as `pg_opclass` lists it: \
                         `opclass = \"jsonb_path_ops\"`",
                    );
                }
            }
        }
        if let Some(include) = &index.include {
            if include.value.is_empty() {
                cx.error_spanned_by(
                    &include.key,
                    "`include` lists the columns stored in the index: `include(subject)`",
                );
            }
            for ident in &include.value {
                if table.column(ident).is_none() {
                    unknown_column(cx, table, ident, "the index");
                }
            }
        }
        if let Some(sql) = &index.predicate {
            check_template(cx, table, &sql.lit, &sql.parts, "the index");
        }
        if index.name.is_none() {
            if let Some(expr) = index.columns.iter().find(|c| c.expression.is_some()) {
                cx.error_spanned_by(
                    &expr.ident,
                    "an index with an expression key needs a name: add `name = \"...\"`",
                );
            }
        }
        check_index_method(cx, index);
        if let Some(name) = &index.name {
            if names.insert(name.value(), ()).is_some() {
                cx.error_spanned_by(
                    name,
                    format!(
                        "two indexes are named `{}`; rename one of them",
                        name.value()
                    ),
                );
            }
        }
    }
}

/// What the index asks of its method: only btree is ordered and unique, `INCLUDE` needs
/// btree, gist or spgist, and hash takes one key.
fn check_index_method(cx: &Ctxt, index: &IndexAttr) {
    let method = index.method_name();
    let ordered = method == "btree";
    if let (false, Some(unique)) = (ordered, &index.unique) {
        cx.error_spanned_by(
            unique,
            format!("a `{method}` index cannot be unique; only a btree index can"),
        );
    }
    if !ordered {
        for key in index.columns.iter().filter_map(|c| c.order_key.as_ref()) {
            cx.error_spanned_by(
                key,
                format!("a `{method}` index keeps no order; remove `{key}`, or index with btree"),
            );
        }
    }
    if let Some(include) = &index.include {
        if !matches!(method.as_str(), "btree" | "gist" | "spgist") {
            cx.error_spanned_by(
                &include.key,
                format!(
                    "a `{method}` index stores no `include` columns; only btree, gist and spgist do"
                ),
            );
        }
    }
    if let (true, Some((lit, _))) = (method == "hash", &index.method) {
        if index.columns.len() > 1 {
            cx.error_spanned_by(lit, "a hash index takes one key");
        }
    }
}

/// A struct-level unique key lists fields of the struct, each once, and says something no
/// other key of the table says already; a name given to it must be one PostgreSQL keeps.
fn check_unique_keys(cx: &Ctxt, table: &Table) {
    let mut names = HashMap::new();
    // The keys declared before, by their columns: the primary key, the fields marked `unique`.
    let mut declared: Vec<(Vec<String>, &str)> = Vec::new();
    let primary_key: Vec<String> = table
        .primary_key()
        .iter()
        .map(|c| c.ident.to_string())
        .collect();
    if !primary_key.is_empty() {
        declared.push((primary_key, "the primary key"));
    }
    for column in table.columns.iter().filter(|c| c.attrs.unique.is_some()) {
        declared.push((vec![column.ident.to_string()], "the field's own `unique`"));
    }
    for key in &table.attrs.unique_keys {
        if key.columns.is_empty() {
            cx.error_spanned_by(
                &key.key,
                "this unique key lists no column: `unique(tenant_id, email)`",
            );
        }
        let complete = list_fields(cx, table, &key.columns, "the unique key");
        if let Some(name) = &key.name {
            check_name_fits(cx, &name.value(), name.span(), "unique constraint");
            if names.insert(name.value(), ()).is_some() {
                cx.error_spanned_by(
                    name,
                    format!(
                        "two unique keys are named `{}`; rename one of them",
                        name.value()
                    ),
                );
            }
        }
        if !complete || key.columns.is_empty() {
            continue;
        }
        let columns: Vec<String> = key.columns.iter().map(ToString::to_string).collect();
        if let Some((_, by)) = declared.iter().find(|(d, _)| *d == columns) {
            cx.error_spanned_by(
                &key.key,
                format!("{by} already makes these columns unique; remove this one"),
            );
        } else {
            declared.push((columns, "another `unique(...)`"));
        }
    }
}

/// Every field of a key's list is a field of the struct, listed once; `false` when one is not.
fn list_fields(cx: &Ctxt, table: &Table, list: &[syn::Ident], used_in: &str) -> bool {
    let mut complete = true;
    for (i, ident) in list.iter().enumerate() {
        if table.column(ident).is_none() {
            unknown_column(cx, table, ident, used_in);
            complete = false;
        } else if list[..i].contains(ident) {
            cx.error_spanned_by(ident, format!("`{ident}` is listed twice; remove one"));
            complete = false;
        }
    }
    complete
}

/// A struct-level foreign key names its fields and one referenced column for each, all of one
/// table; the column types are compared, and the referenced columns checked to be a key of
/// that table, where the generated code is compiled.
fn check_foreign_keys(cx: &Ctxt, table: &Table) {
    let mut names = HashMap::new();
    for fk in &table.attrs.foreign_keys {
        let Some(columns) = &fk.columns else {
            cx.error_spanned_by(
                &fk.key,
                "this foreign key has no `columns(...)`: list this table's fields, as `columns(tenant_id, provider_id)`",
            );
            continue;
        };
        let Some(references) = &fk.references else {
            cx.error_spanned_by(
                &fk.key,
                "this foreign key has no `references(...)`: list the referenced columns, as `references(Provider::tenant_id, Provider::provider_id)`",
            );
            continue;
        };
        if columns.value.is_empty() {
            cx.error_spanned_by(&columns.key, "`columns()` lists no field");
        }
        if references.value.is_empty() {
            cx.error_spanned_by(&references.key, "`references()` lists no column");
        }
        list_fields(cx, table, &columns.value, "the foreign key");
        let (n, m) = (columns.value.len(), references.value.len());
        if n != m && n > 0 && m > 0 {
            cx.error_spanned_by(
                &references.key,
                format!(
                    "the foreign key has {n} column{} and references {m}; list one referenced column per column, in the same order",
                    if n == 1 { "" } else { "s" }
                ),
            );
        }
        let table_of = |path: &syn::Path| {
            let segments = path.segments.iter().rev().skip(1).collect::<Vec<_>>();
            segments
                .iter()
                .rev()
                .map(|s| s.to_token_stream().to_string())
                .collect::<Vec<_>>()
                .join("::")
        };
        if let Some(first) = references.value.first() {
            let target = table_of(first);
            for path in &references.value[1..] {
                if table_of(path) != target {
                    cx.error_spanned_by(
                        path,
                        format!(
                            "a foreign key references columns of one table; this column is not of `{target}`"
                        ),
                    );
                }
            }
            let written: Vec<String> = references
                .value
                .iter()
                .map(|p| p.to_token_stream().to_string().replace(' ', ""))
                .collect();
            for (i, path) in references.value.iter().enumerate() {
                if written[..i].contains(&written[i]) {
                    cx.error_spanned_by(
                        path,
                        format!(
                            "`{}` is referenced twice; reference each column of the key once",
                            written[i]
                        ),
                    );
                }
            }
        }
        if let Some(name) = &fk.name {
            check_name_fits(cx, &name.value(), name.span(), "foreign key");
            if names.insert(name.value(), ()).is_some() {
                cx.error_spanned_by(
                    name,
                    format!(
                        "two foreign keys are named `{}`; rename one of them",
                        name.value()
                    ),
                );
            }
        }
        // An action that rewrites the referencing columns would be refused by the trigger of
        // an `immutable` one, and the referenced row's update or delete with it.
        let immutable = columns
            .value
            .iter()
            .filter_map(|ident| table.column(ident))
            .find(|c| c.attrs.immutable.is_some());
        if let Some(column) = immutable {
            for action in [&fk.on_update, &fk.on_delete].into_iter().flatten() {
                if rewrites_columns(action) {
                    cx.error_spanned_by(
                        &action.key,
                        format!(
                            "`{}` would rewrite `{}`, an `immutable` column, which its trigger refuses; use \"restrict\" or \"no action\", or drop `immutable`",
                            action.key, column.ident
                        ),
                    );
                }
            }
        }
    }
}

/// A table check needs its name and its SQL, and two checks cannot share a name.
fn check_checks(cx: &Ctxt, table: &Table) {
    let mut names = HashMap::new();
    for check in &table.attrs.checks {
        if check.name.is_none() {
            cx.error_spanned_by(&check.key, "this check has no `name = \"...\"`");
        }
        match &check.sql {
            None => cx.error_spanned_by(&check.key, "this check has no `sql = \"...\"`"),
            Some(sql) if sql.value().trim().is_empty() => {
                cx.error_spanned_by(sql, "the check's SQL is empty")
            }
            Some(_) => {}
        }
        if let Some(name) = &check.name {
            if names.insert(name.value(), ()).is_some() {
                cx.error_spanned_by(
                    name,
                    format!(
                        "two checks are named `{}`; rename one of them",
                        name.value()
                    ),
                );
            }
        }
        if let Some(sql) = &check.sql {
            check_template(cx, table, sql, &check.parts, "the check");
        }
    }
}

/// Every `{field}` of an attribute's SQL names a field; settings are read only by policies,
/// since a check must hold whatever the session says.
fn check_template(cx: &Ctxt, table: &Table, lit: &syn::LitStr, parts: &[TemplatePart], what: &str) {
    for part in parts {
        match part {
            TemplatePart::Field(field) if !table.columns.iter().any(|c| c.ident == field.as_str()) => {
                let fields: Vec<String> =
                    table.columns.iter().map(|c| c.ident.to_string()).collect();
                cx.error_spanned_by(
                    lit,
                    format!(
                        "{what} names `{{{field}}}`, but `{field}` is not a field of `{}`{}",
                        table.ident,
                        did_you_mean(field, fields.iter().map(String::as_str))
                    ),
                );
            }
            TemplatePart::Setting(setting) if what == "the check" => cx.error_spanned_by(
                lit,
                format!(
                    "a check cannot read `{{setting:{setting}}}`: a row must pass it whatever the session's settings; read settings in a `policy`"
                ),
            ),
            TemplatePart::Setting(setting) if what == "the generated column" => cx.error_spanned_by(
                lit,
                format!(
                    "a generated column cannot read `{{setting:{setting}}}`: its value is stored for every session; read settings in a `policy`"
                ),
            ),
            TemplatePart::Setting(setting) if what == "the index" => cx.error_spanned_by(
                lit,
                format!(
                    "an index cannot read `{{setting:{setting}}}`: it holds rows whatever the session's settings; read settings in a `policy`"
                ),
            ),
            _ => {}
        }
    }
}

/// Policies need row-level security on, a name, a role, and the clauses their command allows
/// (PostgreSQL refuses `USING` on INSERT and `WITH CHECK` on SELECT and DELETE).
fn check_policies(cx: &Ctxt, table: &Table) {
    let mut names = HashMap::new();
    for policy in &table.attrs.policies {
        if table.attrs.row_level_security.is_none() {
            cx.error_spanned_by(
                &policy.key,
                "a policy applies only with row-level security on: add `row_level_security` to the struct's `pg` attribute",
            );
        }
        match &policy.name {
            None => cx.error_spanned_by(&policy.key, "this policy has no `name = \"...\"`"),
            Some(name) => {
                if names.insert(name.value(), ()).is_some() {
                    cx.error_spanned_by(
                        name,
                        format!(
                            "two policies are named `{}`; rename one of them",
                            name.value()
                        ),
                    );
                }
                check_name_fits(cx, &name.value(), name.span(), "policy");
            }
        }
        match &policy.to {
            None => cx.error_spanned_by(
                &policy.key,
                "this policy has no role: add `to = \"role\"` (`to = \"public\"` for every role)",
            ),
            Some(role) => check_name_fits(cx, &role.value(), role.span(), "role"),
        }
        let command = policy.command.as_ref().map(|c| c.to_string());
        if let (Some("Insert"), Some(using)) = (command.as_deref(), &policy.using) {
            cx.error_spanned_by(
                &using.lit,
                "an INSERT policy has no `using` (there are no existing rows to see); write `with_check`",
            );
        }
        if let (Some("Select" | "Delete"), Some(check)) = (command.as_deref(), &policy.with_check) {
            cx.error_spanned_by(
                &check.lit,
                "a SELECT or DELETE policy has no `with_check` (it writes no rows); write `using`",
            );
        }
        if policy.using.is_none() && policy.with_check.is_none() {
            cx.error_spanned_by(
                &policy.key,
                "this policy lets every row through unsaid: give `using = \"...\"` and/or `with_check = \"...\"` (\"true\" to allow all)",
            );
        }
        for sql in [&policy.using, &policy.with_check].into_iter().flatten() {
            check_template(cx, table, &sql.lit, &sql.parts, "the policy");
        }
    }
}

/// An internal field is never read from deserialized input, so it must be able to be absent.
fn check_internal_is_optional(cx: &Ctxt, table: &Table) {
    for column in &table.columns {
        if let (Some(internal), false) = (&column.attrs.internal, column.is_option) {
            cx.error_spanned_by(
                internal,
                "an `internal` field is never read from deserialized input, so it must be an `Option`",
            );
        }
    }
}

/// An encrypted column holds an envelope the application seals, bound to the row's tenant and
/// primary key: so the feature must be on, the key must be known before the insert (made in
/// Rust, never by the database) and holds the tenant column, and nothing the database
/// would compute or compare on the plaintext may be declared on the column.
fn check_encrypted(cx: &Ctxt, table: &Table) {
    for column in &table.columns {
        let Some(index) = &column.attrs.blind_index else {
            continue;
        };
        if column.attrs.encrypted.is_none() {
            cx.error_spanned_by(
                &index.key,
                "a blind index is kept for an encrypted column, for exact-match lookups without \
                 deterministic encryption: add `encrypted`, or query the plain column itself",
            );
        }
        if let Some(unique) = &index.value.unique {
            cx.error_spanned_by(
                unique,
                "a blind index cannot be unique: it is truncated so that different values share \
                 each of its values (or it would tell the values apart); keep uniqueness in the \
                 application",
            );
        }
        let name = format!("{}_bidx", column.name);
        if let Some(clash) = table.columns.iter().find(|c| c.name == name) {
            cx.error_spanned_by(
                &index.key,
                format!(
                    "the blind index's column is named `{name}`, which is the column of field `{}` \
                     already; rename that field's column",
                    clash.ident
                ),
            );
        }
    }
    let Some(first) = table
        .columns
        .iter()
        .find_map(|c| c.attrs.encrypted.as_ref())
    else {
        return;
    };
    if !cfg!(feature = "encrypt") {
        cx.error_spanned_by(
            first,
            "`encrypted` needs schema-core's `encrypt` feature: `schema-core = { features = [\"encrypt\"] }`",
        );
    }
    for column in &table.columns {
        let a = &column.attrs;
        if a.encrypted.is_none() {
            continue;
        }
        let keyed = [
            a.varchar.as_ref().map(|k| &k.key),
            a.sql_type.as_ref().map(|k| &k.key),
            a.default.as_ref().map(|k| &k.key),
            a.default_sql.as_ref().map(|k| &k.key),
            a.update_sql.as_ref().map(|k| &k.key),
            a.references.as_ref().map(|k| &k.key),
            a.range.as_ref().map(|k| &k.key),
            a.identity.as_ref().map(|k| &k.key),
            a.generated.as_ref().map(|k| &k.key),
            a.default_fn.as_ref().map(|k| &k.key),
            a.numeric.as_ref().map(|k| &k.key),
            a.char.as_ref().map(|k| &k.key),
            a.precision.as_ref().map(|k| &k.key),
        ];
        let flags = [a.primary_key.as_ref(), a.unique.as_ref(), a.citext.as_ref()];
        for key in keyed.into_iter().chain(flags).flatten() {
            cx.error_spanned_by(
                key,
                format!(
                    "`{key}` cannot apply to an encrypted column: the database holds only its \
                     ciphertext (bytea), which it cannot compare, compute or constrain"
                ),
            );
        }
    }
    let key = table.primary_key();
    match table.columns.iter().find(|c| c.attrs.tenant.is_some()) {
        None => cx.error_spanned_by(
            first,
            "an encrypted column is bound to its row's tenant, whose data key seals it: declare \
             the tenant column, `#[pg(tenant = Provider)]`",
        ),
        Some(tenant) if !key.iter().any(|k| k.ident == tenant.ident) => cx.error_spanned_by(
            first,
            format!(
                "an encrypted column is bound to its row's tenant and primary key, so the key must \
                 hold the tenant column `{}`: `#[pg(primary_key({}, ...))]`",
                tenant.ident, tenant.ident
            ),
        ),
        Some(_) => {}
    }
    for column in key {
        let a = &column.attrs;
        let generated = a
            .default_sql
            .as_ref()
            .map(|k| &k.key)
            .or(a.default.as_ref().map(|k| &k.key))
            .or(a.identity.as_ref().map(|k| &k.key));
        if let Some(by_database) = generated {
            cx.error_spanned_by(
                by_database,
                format!(
                    "`{}` is part of the row key that each encrypted column's ciphertext is bound \
                     to, so it must be known before the insert, and the database makes it here; \
                     make it in Rust instead: `default_fn = Uuid::new_v4`",
                    column.ident
                ),
            );
        }
    }
}

/// An immutable column never changes after insert, so nothing may refresh it on update.
fn check_immutable(cx: &Ctxt, table: &Table) {
    for column in &table.columns {
        let a = &column.attrs;
        if a.immutable.is_none() {
            continue;
        }
        if let Some(update_sql) = &a.update_sql {
            cx.error_spanned_by(
                &update_sql.key,
                "an `immutable` column never changes after insert; remove `update_sql` or `immutable`",
            );
        }
        // A foreign key action that rewrites the column would be refused by the trigger, and
        // the referenced row's update or delete with it.
        for action in [&a.on_update, &a.on_delete].into_iter().flatten() {
            if rewrites_columns(action) {
                cx.error_spanned_by(
                    &action.key,
                    format!(
                        "`{}` would rewrite this `immutable` column, which its trigger refuses; use \"restrict\" or \"no action\", or drop `immutable`",
                        action.key
                    ),
                );
            }
        }
    }
}

/// Whether a foreign key's `on_delete` / `on_update` action writes to the referencing
/// columns: `set null`, `set default`, and `cascade` on update.
fn rewrites_columns(action: &super::attr::Keyed<syn::Ident>) -> bool {
    matches!(action.value.to_string().as_str(), "SetNull" | "SetDefault")
        || (action.key == ON_UPDATE && action.value == "Cascade")
}

/// A grant names its role once and the fields it may write, none of which a write of that kind
/// can never change; under row-level security, the role needs a policy that lets it write rows
/// of that kind at all. Once a grant narrows updates, every role that updates has one, so that
/// `UpdateX` (the granted fields) is what the roles may change.
fn check_grants(cx: &Ctxt, table: &Table) {
    let policy_allows = |role: &str, commands: &[&str]| {
        table.attrs.policies.iter().any(|policy| {
            let for_role = policy
                .to
                .as_ref()
                .is_some_and(|to| to.value() == role || to.value().eq_ignore_ascii_case("public"));
            let command = policy
                .command
                .as_ref()
                .map_or("All".to_string(), |c| c.to_string());
            for_role && commands.contains(&command.as_str())
        })
    };
    // On a tenant table, a tenant role without a policy of its own gets the generated
    // tenant-isolation policy (for all commands); the schema, which knows the tenant roles,
    // checks that role.
    let tenant_table = table.columns.iter().any(|c| c.attrs.tenant.is_some());
    let has_own_policy = |role: &str| {
        table
            .attrs
            .policies
            .iter()
            .any(|p| p.to.as_ref().is_some_and(|to| to.value() == role))
    };
    let mut roles = HashMap::new();
    for grant in &table.attrs.grants {
        if let Some(role) = &grant.to {
            check_name_fits(cx, &role.value(), role.span(), "role");
            if roles.insert(role.value(), ()).is_some() {
                cx.error_spanned_by(
                    role,
                    format!(
                        "role `{}` already has a grant; list all its columns in one `grant`",
                        role.value()
                    ),
                );
            }
        } else {
            cx.error_spanned_by(&grant.key, "this grant has no role: add `to = \"role\"`");
        }
        if grant.insert.is_none() && grant.update.is_none() {
            cx.error_spanned_by(
                &grant.key,
                "this grant lists no column: add `insert(field, ...)` and/or `update(field, ...)`",
            );
        }
        for (list, command) in [(&grant.insert, "Insert"), (&grant.update, "Update")] {
            let Some(list) = list else { continue };
            if let (Some(role), Some(_)) = (&grant.to, &table.attrs.row_level_security) {
                let generated = tenant_table && !has_own_policy(&role.value());
                if !generated && !policy_allows(&role.value(), &["All", command]) {
                    cx.error_spanned_by(
                        &list.key,
                        format!(
                            "under row-level security `{}` can {} no row without a policy: add a `policy` with `command = \"{}\"` (or \"all\") to it",
                            role.value(),
                            command.to_lowercase(),
                            command.to_lowercase()
                        ),
                    );
                }
            }
            check_granted_fields(cx, table, list, command == "Update");
        }
    }
    // Once a grant narrows a command to columns, every role a policy lets run it needs a
    // grant of its own: a table-wide privilege (to `public` above all) would undo the narrowing.
    for (command, narrowed) in [
        (
            "Insert",
            table.attrs.grants.iter().any(|g| g.insert.is_some()),
        ),
        (
            "Update",
            table.attrs.grants.iter().any(|g| g.update.is_some()),
        ),
    ] {
        if !narrowed {
            continue;
        }
        for policy in &table.attrs.policies {
            let Some(role) = &policy.to else { continue };
            let policy_command = policy
                .command
                .as_ref()
                .map_or("All".to_string(), |c| c.to_string());
            let granted = table.attrs.grants.iter().any(|g| {
                let list = if command == "Insert" {
                    &g.insert
                } else {
                    &g.update
                };
                list.is_some()
                    && g.to
                        .as_ref()
                        .is_some_and(|to| to.value().eq_ignore_ascii_case(&role.value()))
            });
            if (policy_command == "All" || policy_command == command) && !granted {
                let verb = command.to_lowercase();
                cx.error_spanned_by(
                    role,
                    format!(
                        "this table narrows {verb}s to granted columns, but `{}` may {verb} through this policy without a grant: add `grant(to = \"{}\", {verb}(...))`",
                        role.value(),
                        role.value()
                    ),
                );
            }
        }
    }
}

/// The fields of one `insert(...)` or `update(...)` list.
fn check_granted_fields(
    cx: &Ctxt,
    table: &Table,
    list: &super::attr::Keyed<Vec<syn::Ident>>,
    update: bool,
) {
    if list.value.is_empty() {
        cx.error_spanned_by(&list.key, format!("`{}()` lists no field", list.key));
    }
    if !update {
        // A row cannot be inserted without its NOT NULL columns that have no default.
        for column in table.columns.iter().filter(|c| c.required_on_insert()) {
            if !list.value.iter().any(|i| i == column.ident) {
                cx.error_spanned_by(
                    &list.key,
                    format!(
                        "`{}` is required on insert (NOT NULL, no default), so a role that inserts must be granted it: add it to `insert(...)`",
                        column.ident
                    ),
                );
            }
        }
    }
    let key = table.primary_key();
    for (i, ident) in list.value.iter().enumerate() {
        let Some(column) = table.column(ident) else {
            unknown_column(cx, table, ident, "the grant");
            continue;
        };
        if list.value[..i].contains(ident) {
            cx.error_spanned_by(ident, format!("`{ident}` is listed twice; remove one"));
        } else if !update {
            continue;
        } else if column.attrs.immutable.is_some() {
            cx.error_spanned_by(
                ident,
                format!("`{ident}` is `immutable`: no role may change it after insert"),
            );
        } else if key.iter().any(|k| k.ident == ident) {
            cx.error_spanned_by(
                ident,
                format!("`{ident}` is part of the primary key, which updates never change"),
            );
        } else if column.attrs.update_sql.is_some() {
            cx.error_spanned_by(
                ident,
                format!(
                    "`{ident}` is refreshed by every update (`update_sql`) and granted with it; remove it here"
                ),
            );
        }
    }
}

/// No text that reaches the DDL may hold a NUL: PostgreSQL cannot store it, and `psql` cuts the
/// line there, so the rest of the script would be read differently.
fn check_no_nul(cx: &Ctxt, table: &Table) {
    let doc_attrs = |attrs: &[syn::Attribute]| {
        for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
            if let syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) = &attr.meta
            {
                if text.value().contains('\0') {
                    cx.error_spanned_by(
                        attr,
                        "this doc comment contains a NUL character; it becomes a SQL comment, where PostgreSQL cannot store it",
                    );
                }
            }
        }
    };
    let sql = |lit: &syn::LitStr, what: &str| {
        if lit.value().contains('\0') {
            cx.error_spanned_by(
                lit,
                format!("{what} contains a NUL character, which PostgreSQL cannot read"),
            );
        }
    };
    doc_attrs(table.struct_attrs);
    for column in &table.columns {
        doc_attrs(&column.field.attrs);
        let a = &column.attrs;
        for (lit, what) in [
            (a.default_sql.as_ref().map(|k| &k.value), "`default_sql`"),
            (a.update_sql.as_ref().map(|k| &k.value), "`update_sql`"),
            (a.sql_type.as_ref().map(|k| &k.value), "`sql_type`"),
            (a.generated.as_ref().map(|k| &k.value.lit), "`generated`"),
        ] {
            if let Some(lit) = lit {
                sql(lit, what);
            }
        }
        if let Some(default) = &a.default {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) = &default.value
            {
                sql(text, "this default");
            }
        }
    }
    for check in &table.attrs.checks {
        if let Some(lit) = &check.sql {
            sql(lit, "the check's SQL");
        }
    }
    for policy in &table.attrs.policies {
        for clause in [&policy.using, &policy.with_check].into_iter().flatten() {
            sql(&clause.lit, "the policy's SQL");
        }
    }
}

/// A declared rename gives the name the object had before: one PostgreSQL could have had, not
/// its name now, the former name of no other object of its kind, and not the name another
/// object of its kind has now. An index whose name is generated is compared by schema-core
/// when rendering, which knows that name.
fn check_renames(cx: &Ctxt, table: &Table) {
    // An object's current name when it is known, and its former name.
    type Object<'a> = (Option<String>, Option<&'a syn::LitStr>);
    fn declared<'a>(name: &Option<syn::LitStr>, old: &'a Option<syn::LitStr>) -> Object<'a> {
        (name.as_ref().map(syn::LitStr::value), old.as_ref())
    }
    if let Some(old) = &table.attrs.renamed_from {
        let value = old.value();
        // `schema.name`: the place the table had in another PostgreSQL schema; a plan moves it.
        let (former_schema, former) = match value.split_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, value.as_str()),
        };
        if former_schema.is_some_and(|s| s.is_empty()) || former.contains('.') {
            cx.error_spanned_by(
                old,
                "a table's former name is `name`, in the table's own PostgreSQL schema, or \
                 `schema.name` for a table that moves from another schema (`public.invoices`)",
            );
        } else if former_schema.is_some()
            && former_schema == table.attrs.schema.as_ref().map(|s| s.value()).as_deref()
            && former == table.name
        {
            cx.error_spanned_by(
                old,
                format!(
                    "`renamed_from` gives the table's current place `{value}`; give the place it had before, or remove `renamed_from`"
                ),
            );
        } else if check_former_name_fits(cx, former, old.span(), "table")
            && former_schema.is_none()
            && value == table.name
        {
            cx.error_spanned_by(
                old,
                format!(
                    "`renamed_from` gives the table's current name `{}`; give the name it had before, or remove `renamed_from`",
                    table.name
                ),
            );
        }
    }
    let columns: Vec<Object> = table
        .columns
        .iter()
        .map(|c| (Some(c.name.clone()), c.attrs.renamed_from.as_ref()))
        .collect();
    let a = &table.attrs;
    let indexes = a.indexes.iter().map(|i| declared(&i.name, &i.renamed_from));
    let checks = a.checks.iter().map(|c| declared(&c.name, &c.renamed_from));
    let policies = a
        .policies
        .iter()
        .map(|p| declared(&p.name, &p.renamed_from));
    for (what, plural, objects) in [
        ("column", "columns", columns),
        ("index", "indexes", indexes.collect()),
        ("check", "checks", checks.collect()),
        ("policy", "policies", policies.collect()),
    ] {
        let mut former = HashMap::new();
        for (current, old) in &objects {
            let Some(old) = old else { continue };
            let value = old.value();
            if !check_former_name_fits(cx, &value, old.span(), what) {
                continue;
            }
            if current.as_deref() == Some(value.as_str()) {
                cx.error_spanned_by(
                    old,
                    format!(
                        "`renamed_from` gives this {what}'s current name `{value}`; give the name it had before, or remove `renamed_from`"
                    ),
                );
                continue;
            }
            let holder = objects
                .iter()
                .position(|(name, _)| name.as_deref() == Some(value.as_str()));
            if let Some(j) = holder {
                let holder = match what {
                    "column" => format!("the column of the field `{}`", table.columns[j].ident),
                    _ => format!("another {what}"),
                };
                cx.error_spanned_by(
                    old,
                    format!(
                        "{holder} is named `{value}` now; a {what} cannot be renamed from a name another {what} still has: give the name this {what} had before"
                    ),
                );
            }
            if former.insert(value.clone(), ()).is_some() {
                cx.error_spanned_by(
                    old,
                    format!(
                        "two {plural} are renamed from `{value}`; one {what} had that name, remove the other `renamed_from`"
                    ),
                );
            }
        }
    }
}

fn unknown_column(cx: &Ctxt, table: &Table, ident: &syn::Ident, used_in: &str) {
    let name = ident.to_token_stream().to_string();
    let renamed = table.columns.iter().find(|c| c.name == name);
    let hint = match renamed {
        Some(column) => format!(
            "; `{name}` is the column of the field `{}`: name the field here",
            column.ident
        ),
        None => {
            let fields: Vec<String> = table.columns.iter().map(|c| c.ident.to_string()).collect();
            did_you_mean(&name, fields.iter().map(String::as_str))
        }
    };
    cx.error_spanned_by(
        ident,
        format!(
            "{used_in} names `{name}`, which is not a field of `{}`{hint}",
            table.ident
        ),
    );
}
