//! `#[pg(...)]` attributes parsed into plain data. Every key is checked here: an unknown key,
//! a repeated key or a value of the wrong shape is an error at that token, and parsing goes on
//! so that every mistake is reported in one build.

use proc_macro2::{Literal, Span, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::{token, Attribute, Expr, Ident, LitInt, LitStr, Path, Token};

use super::ctxt::Ctxt;
use super::suggest::did_you_mean;
use super::symbol::*;

/// A value together with the key token it was given at, for errors and spanned checks.
pub struct Keyed<T> {
    pub key: Ident,
    pub value: T,
}

/// The attributes of a `#[derive(PgTable)]` struct.
#[derive(Default)]
pub struct TableAttrs {
    pub table: Option<LitStr>,
    pub schema: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
    pub insert: Option<Ident>,
    pub select: Option<Ident>,
    pub update: Option<Ident>,
    pub derive: Vec<Path>,
    pub insert_derive: Vec<Path>,
    pub select_derive: Vec<Path>,
    pub update_derive: Vec<Path>,
    pub primary_key: Option<Keyed<Vec<Ident>>>,
    pub unique_keys: Vec<UniqueAttr>,
    pub foreign_keys: Vec<ForeignKeyAttr>,
    pub indexes: Vec<IndexAttr>,
    pub checks: Vec<CheckAttr>,
    pub row_level_security: Option<Ident>,
    pub policies: Vec<PolicyAttr>,
    pub grants: Vec<GrantAttr>,
    pub tenant_root: Option<Ident>,
    pub reference: Option<Ident>,
    pub krate: Option<Path>,
}

/// One `unique(field, ..., name = "...", nulls_not_distinct)` on the struct.
pub struct UniqueAttr {
    pub key: Ident,
    pub name: Option<LitStr>,
    pub columns: Vec<Ident>,
    pub nulls_not_distinct: Option<Ident>,
}

/// One `foreign_key(columns(a, b), references(Other::x, Other::y), on_delete = "...",
/// on_update = "...", name = "...")` on the struct.
pub struct ForeignKeyAttr {
    pub key: Ident,
    pub name: Option<LitStr>,
    pub columns: Option<Keyed<Vec<Ident>>>,
    pub references: Option<Keyed<Vec<Path>>>,
    pub on_delete: Option<Keyed<Ident>>,
    pub on_update: Option<Keyed<Ident>>,
}

/// One `grant(to = "role", insert(field, ...), update(field, ...))`: the columns a role may
/// write.
pub struct GrantAttr {
    pub key: Ident,
    pub to: Option<LitStr>,
    pub insert: Option<Keyed<Vec<Ident>>>,
    pub update: Option<Keyed<Vec<Ident>>>,
}

/// One `policy(name = "...", command = "...", to = "...", using = "...", with_check = "...")`,
/// with an optional `renamed_from = "..."`.
pub struct PolicyAttr {
    pub key: Ident,
    pub name: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
    /// The command's variant name (`All`, `Select`, ...), spanned on its literal.
    pub command: Option<Ident>,
    pub to: Option<LitStr>,
    pub using: Option<SqlAttr>,
    pub with_check: Option<SqlAttr>,
}

/// SQL written in an attribute, split at its placeholders.
pub struct SqlAttr {
    pub lit: LitStr,
    pub parts: Vec<TemplatePart>,
}

/// One `index(...)`.
pub struct IndexAttr {
    pub key: Ident,
    pub name: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
    /// The `unique` flag, when given.
    pub unique: Option<Ident>,
    /// `using = "gin"`: the literal and the `IndexMethod` variant it names.
    pub method: Option<(LitStr, Ident)>,
    pub columns: Vec<IndexColumnAttr>,
    /// `include(a, b)`.
    pub include: Option<Keyed<Vec<Ident>>>,
    /// `where = "..."`.
    pub predicate: Option<SqlAttr>,
}

impl IndexAttr {
    /// The method's name as PostgreSQL spells it.
    pub fn method_name(&self) -> String {
        self.method
            .as_ref()
            .map_or_else(|| "btree".into(), |(lit, _)| lit.value().to_lowercase())
    }
}

/// One key of an `index(...)`: a column with its options, or `expr = "..."`.
pub struct IndexColumnAttr {
    /// The column, or the `expr` key of an expression.
    pub ident: Ident,
    /// The expression's SQL, for `expr = "..."`.
    pub expression: Option<SqlAttr>,
    /// `opclass = "..."`.
    pub opclass: Option<LitStr>,
    /// The first `asc`/`desc`/`nulls_first`/`nulls_last` given, for errors about order.
    pub order_key: Option<Ident>,
    pub descending: Option<bool>,
    pub nulls_first: Option<bool>,
}

/// One `check(name = "...", sql = "...")`, with an optional `renamed_from = "..."`;
/// `{field}` in the SQL names a column.
pub struct CheckAttr {
    pub key: Ident,
    pub name: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
    pub sql: Option<LitStr>,
    /// The SQL split at its `{field}` placeholders, when it parsed.
    pub parts: Vec<TemplatePart>,
}

/// A piece of SQL written in an attribute: text, a `{field}` placeholder, or a
/// `{setting:name}` placeholder.
pub enum TemplatePart {
    Sql(String),
    Field(String),
    Setting(String),
}

/// `sql` split at its `{field}` and `{setting:name}` placeholders; `{{` and `}}` stand for
/// literal braces.
pub fn sql_template(sql: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => field.push(c),
                        None => {
                            return Err("a `{` is not closed; write `{{` for a literal brace".into())
                        }
                    }
                }
                let field = field.trim().to_string();
                if let Some(setting) = field.strip_prefix("setting:") {
                    let setting = setting.trim();
                    // The rule of schema-core's `sql::setting_name_problem`, which this crate
                    // cannot call: two or more parts, each of ASCII letters, digits and `_`, not
                    // starting with a digit, at most 63 bytes.
                    let valid = setting.split('.').count() >= 2
                        && setting.split('.').all(|part| {
                            part.bytes().next().is_some_and(|b| !b.is_ascii_digit())
                                && part.len() <= 63
                                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        });
                    if !valid {
                        return Err(format!(
                            "`{{setting:{setting}}}` is not a setting name; settings of your own are named `prefix.name`, as `{{setting:app.provider_id}}`"
                        ));
                    }
                    if !text.is_empty() {
                        parts.push(TemplatePart::Sql(std::mem::take(&mut text)));
                    }
                    parts.push(TemplatePart::Setting(setting.to_string()));
                    continue;
                }
                if syn::parse_str::<Ident>(&field).is_err() {
                    return Err(format!(
                        "`{{{field}}}` is not a field name; write `{{field}}` to name a column, `{{{{` for a literal brace"
                    ));
                }
                if !text.is_empty() {
                    parts.push(TemplatePart::Sql(std::mem::take(&mut text)));
                }
                parts.push(TemplatePart::Field(field));
            }
            '}' => return Err("a `}` has no `{`; write `}}` for a literal brace".into()),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(TemplatePart::Sql(text));
    }
    Ok(parts)
}

/// The attributes of a field of a `#[derive(PgTable)]` struct.
#[derive(Default)]
pub struct FieldAttrs {
    pub rename: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
    pub primary_key: Option<Ident>,
    pub unique: Option<Ident>,
    pub varchar: Option<Keyed<u32>>,
    pub sql_type: Option<Keyed<LitStr>>,
    pub default: Option<Keyed<Expr>>,
    pub default_sql: Option<Keyed<LitStr>>,
    pub update_sql: Option<Keyed<LitStr>>,
    pub references: Option<Keyed<Path>>,
    pub on_delete: Option<Keyed<Ident>>,
    pub on_update: Option<Keyed<Ident>>,
    pub range: Option<Keyed<RangeAttr>>,
    pub sensitive: Option<Ident>,
    pub internal: Option<Ident>,
    pub immutable: Option<Ident>,
    pub identity: Option<Keyed<IdentityAttr>>,
    pub generated: Option<Keyed<SqlAttr>>,
    /// `using = "{field}::integer"`: how the column's values convert from its former type.
    pub using: Option<Keyed<SqlAttr>>,
    pub default_fn: Option<Keyed<Path>>,
    /// `numeric(precision = P, scale = S)`.
    pub numeric: Option<Keyed<NumericAttr>>,
    /// `char = N`.
    pub char: Option<Keyed<u32>>,
    /// `precision = P` on a timestamp or time field.
    pub precision: Option<Keyed<u8>>,
    pub citext: Option<Ident>,
    /// `encrypted`: the application seals the column's values (schema-core's `encrypt`).
    pub encrypted: Option<Ident>,
    /// `encrypted(migrating)`: the column still holds plaintext rows, which reads accept.
    pub encrypted_migrating: Option<Ident>,
    /// `blind_index(bits = N, population = M)` on an encrypted field.
    pub blind_index: Option<Keyed<BlindIndexAttr>>,
    /// `tenant = Provider`: the column holds the key of that tenant root.
    pub tenant: Option<Keyed<Path>>,
}

/// `identity(always | by_default, start = N, increment = N, min = N, max = N, cache = N, cycle)`.
#[derive(Default)]
pub struct IdentityAttr {
    /// The `always` or `by_default` word, when given.
    pub mode: Option<Ident>,
    pub start: Option<i64>,
    pub increment: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub cache: Option<i64>,
    pub cycle: bool,
}

/// `blind_index(bits = 16, population = 50_000)`: a truncated HMAC of the value, kept in a
/// column of its own for exact-match lookups; `unique` is parsed to be refused;
/// `normalize(trim, lowercase)` says what is done to a text before it is indexed.
pub struct BlindIndexAttr {
    pub bits: LitInt,
    pub population: LitInt,
    pub unique: Option<Ident>,
    /// The `normalize` key and its words.
    pub normalize: Option<(Ident, Vec<Ident>)>,
}

/// `numeric(precision = P, scale = S)`: the scale defaults to 0.
pub struct NumericAttr {
    pub precision: u16,
    pub scale: i16,
}

/// `range = a..=b`, normalised to inclusive bounds; the bound tokens keep their spans.
pub struct RangeAttr {
    pub min: Option<(i64, Literal)>,
    pub max: Option<(i64, Literal)>,
}

/// The attributes of a `#[derive(PgEnum)]` enum.
#[derive(Default)]
pub struct EnumAttrs {
    pub rename_all: Option<LitStr>,
    pub krate: Option<Path>,
    /// `native` (the key) or `native = "name"` (the key and the name).
    pub native: Option<(Ident, Option<LitStr>)>,
    /// `schema = "ledger"`: the PostgreSQL schema a native enum type is in.
    pub schema: Option<(Ident, LitStr)>,
}

/// The attributes of a variant of a `#[derive(PgEnum)]` enum.
#[derive(Default)]
pub struct VariantAttrs {
    pub rename: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
}

impl TableAttrs {
    pub fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = TableAttrs::default();
        for_each_key(cx, attrs, TABLE_KEYS, "struct", |key, meta| {
            match key.to_string().as_str() {
                TABLE => set_once(cx, &mut out.table, &key, lit_str(meta, "table = \"name\"")?),
                SCHEMA => set_once(
                    cx,
                    &mut out.schema,
                    &key,
                    lit_str(meta, "schema = \"billing\"")?,
                ),
                RENAMED_FROM => set_once(
                    cx,
                    &mut out.renamed_from,
                    &key,
                    lit_str(meta, "renamed_from = \"old_name\"")?,
                ),
                INSERT => set_once(cx, &mut out.insert, &key, type_name(meta)?),
                SELECT => set_once(cx, &mut out.select, &key, type_name(meta)?),
                UPDATE => set_once(cx, &mut out.update, &key, type_name(meta)?),
                DERIVE => out.derive.extend(paths(meta)?),
                INSERT_DERIVE => out.insert_derive.extend(paths(meta)?),
                SELECT_DERIVE => out.select_derive.extend(paths(meta)?),
                UPDATE_DERIVE => out.update_derive.extend(paths(meta)?),
                CRATE => {
                    let path = crate_path(meta)?;
                    set_once(cx, &mut out.krate, &key, path)
                }
                PRIMARY_KEY => {
                    if !meta.input.peek(token::Paren) {
                        return Err(meta.error(
                            "on the struct, `primary_key` lists the key's columns: \
                             `primary_key(a, b)`; for one column, put `primary_key` on its field",
                        ));
                    }
                    let columns = idents(meta)?;
                    set_once(
                        cx,
                        &mut out.primary_key,
                        &key.clone(),
                        Keyed {
                            key,
                            value: columns,
                        },
                    )
                }
                UNIQUE => out.unique_keys.push(unique_key(cx, key, meta)?),
                FOREIGN_KEY => out.foreign_keys.push(foreign_key(cx, key, meta)?),
                INDEX => out.indexes.push(index(cx, key, meta)?),
                CHECK => out.checks.push(check(cx, key, meta)?),
                ROW_LEVEL_SECURITY => {
                    set_once(cx, &mut out.row_level_security, &key, flag(meta, &key)?)
                }
                POLICY => out.policies.push(policy(cx, key, meta)?),
                GRANT => out.grants.push(grant(cx, key, meta)?),
                TENANT_ROOT => set_once(cx, &mut out.tenant_root, &key, flag(meta, &key)?),
                REFERENCE => set_once(cx, &mut out.reference, &key, flag(meta, &key)?),
                _ => unreachable!("every key of TABLE_KEYS is handled"),
            }
            Ok(())
        });
        out
    }
}

impl FieldAttrs {
    pub fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = FieldAttrs::default();
        for_each_key(cx, attrs, FIELD_KEYS, "field", |key, meta| {
            match key.to_string().as_str() {
                RENAME => set_once(
                    cx,
                    &mut out.rename,
                    &key,
                    lit_str(meta, "rename = \"name\"")?,
                ),
                RENAMED_FROM => set_once(
                    cx,
                    &mut out.renamed_from,
                    &key,
                    lit_str(meta, "renamed_from = \"old_name\"")?,
                ),
                PRIMARY_KEY => set_once(cx, &mut out.primary_key, &key, flag(meta, &key)?),
                UNIQUE => set_once(cx, &mut out.unique, &key, flag(meta, &key)?),
                VARCHAR => set_once(
                    cx,
                    &mut out.varchar,
                    &key,
                    keyed(&key, varchar_length(meta)?),
                ),
                SQL_TYPE => {
                    let sql = lit_str(meta, "sql_type = \"character varying(320)\"")?;
                    if sql.value().trim().is_empty() {
                        return Err(syn::Error::new(
                            sql.span(),
                            "`sql_type` is empty; write the column's SQL type",
                        ));
                    }
                    set_once(cx, &mut out.sql_type, &key, keyed(&key, sql))
                }
                DEFAULT => {
                    let expr =
                        value(meta, "a Rust value: `default = TicketPriority::Medium`")?.parse()?;
                    set_once(cx, &mut out.default, &key, keyed(&key, expr))
                }
                DEFAULT_SQL => {
                    let sql = lit_str(meta, "default_sql = \"now()\"")?;
                    if sql.value().trim().is_empty() {
                        return Err(syn::Error::new(
                            sql.span(),
                            "`default_sql` is empty; write a SQL expression such as \"now()\"",
                        ));
                    }
                    set_once(cx, &mut out.default_sql, &key, keyed(&key, sql))
                }
                UPDATE_SQL => {
                    let sql = lit_str(meta, "update_sql = \"now()\"")?;
                    if sql.value().trim().is_empty() {
                        return Err(syn::Error::new(
                            sql.span(),
                            "`update_sql` is empty; write a SQL expression such as \"now()\"",
                        ));
                    }
                    set_once(cx, &mut out.update_sql, &key, keyed(&key, sql))
                }
                REFERENCES => {
                    let path: Path = value(
                        meta,
                        "the referenced column: `references = Provider::provider_id`",
                    )?
                    .parse()?;
                    if path.segments.len() < 2 {
                        return Err(syn::Error::new_spanned(
                            path,
                            "name the referenced table's type and column: `references = Provider::provider_id`",
                        ));
                    }
                    set_once(cx, &mut out.references, &key, keyed(&key, path))
                }
                ON_DELETE => set_once(
                    cx,
                    &mut out.on_delete,
                    &key,
                    keyed(&key, referential_action(meta)?),
                ),
                ON_UPDATE => set_once(
                    cx,
                    &mut out.on_update,
                    &key,
                    keyed(&key, referential_action(meta)?),
                ),
                SENSITIVE => set_once(cx, &mut out.sensitive, &key, flag(meta, &key)?),
                INTERNAL => set_once(cx, &mut out.internal, &key, flag(meta, &key)?),
                IMMUTABLE => set_once(cx, &mut out.immutable, &key, flag(meta, &key)?),
                RANGE => set_once(
                    cx,
                    &mut out.range,
                    &key,
                    keyed(&key, range(value(meta, "a range: `range = 1..=5`")?)?),
                ),
                IDENTITY => {
                    let identity = identity(cx, &key, meta)?;
                    set_once(cx, &mut out.identity, &key, keyed(&key, identity))
                }
                GENERATED => {
                    let sql = sql_attr(cx, meta, "generated = \"{quantity} * {unit_price}\"")?;
                    if sql.lit.value().trim().is_empty() {
                        return Err(syn::Error::new(
                            sql.lit.span(),
                            "`generated` is empty; write the SQL expression that computes the column",
                        ));
                    }
                    set_once(cx, &mut out.generated, &key, keyed(&key, sql))
                }
                USING => {
                    let sql = sql_attr(cx, meta, "using = \"{age}::integer\"")?;
                    if sql.lit.value().trim().is_empty() {
                        return Err(syn::Error::new(
                            sql.lit.span(),
                            "`using` is empty; write the SQL expression that converts the column's values from the type it had before",
                        ));
                    }
                    set_once(cx, &mut out.using, &key, keyed(&key, sql))
                }
                DEFAULT_FN => {
                    let path: Path = value(
                        meta,
                        "a function that makes the value: `default_fn = Uuid::now_v7`",
                    )?
                    .parse()?;
                    set_once(cx, &mut out.default_fn, &key, keyed(&key, path))
                }
                NUMERIC => set_once(cx, &mut out.numeric, &key, keyed(&key, numeric(cx, meta)?)),
                CHAR => set_once(cx, &mut out.char, &key, keyed(&key, char_length(meta)?)),
                CITEXT => set_once(cx, &mut out.citext, &key, flag(meta, &key)?),
                ENCRYPTED => {
                    if meta.input.peek(token::Paren) {
                        meta.parse_nested_meta(|inner| {
                            if inner.path.is_ident("migrating") {
                                out.encrypted_migrating = inner.path.get_ident().cloned();
                                Ok(())
                            } else {
                                Err(inner.error(
                                    "`encrypted` takes `migrating` (the column still holds \
                                     plaintext rows, which reads accept): `encrypted(migrating)`",
                                ))
                            }
                        })?;
                    }
                    set_once(cx, &mut out.encrypted, &key, key.clone())
                }
                BLIND_INDEX => {
                    let index = blind_index(meta)?;
                    set_once(cx, &mut out.blind_index, &key, keyed(&key, index))
                }
                TENANT => {
                    let path: Path =
                        value(meta, "the tenant root's type: `tenant = Provider`")?.parse()?;
                    set_once(cx, &mut out.tenant, &key, keyed(&key, path))
                }
                PRECISION => set_once(
                    cx,
                    &mut out.precision,
                    &key,
                    keyed(&key, timestamp_precision(meta)?),
                ),
                _ => unreachable!("every key of FIELD_KEYS is handled"),
            }
            Ok(())
        });
        out
    }
}

/// `identity(always, start = 1000, ...)`: the mode is required, the sequence options are not.
fn identity(cx: &Ctxt, key: &Ident, meta: &ParseNestedMeta) -> syn::Result<IdentityAttr> {
    let usage = "`identity` says who may give the value: `identity(always)` (only the database) \
                 or `identity(by_default)` (an insert may give it), then any sequence options: \
                 `identity(always, start = 1000)`";
    if !meta.input.peek(token::Paren) {
        return Err(syn::Error::new(key.span(), usage));
    }
    let mut out = IdentityAttr::default();
    if empty_list(meta)? {
        return Err(syn::Error::new(key.span(), usage));
    }
    let (mut start, mut increment, mut min, mut max, mut cache, mut cycle) =
        (None, None, None, None, None, None);
    meta.parse_nested_meta(|option| {
        let result = key_of(&option, IDENTITY_KEYS, "identity").and_then(|k| {
            match k.to_string().as_str() {
                ALWAYS | BY_DEFAULT => {
                    let word = flag(&option, &k)?;
                    if let Some(previous) = &out.mode {
                        cx.error_spanned_by(
                            &word,
                            format!("`{word}` conflicts with `{previous}` given before; keep one"),
                        );
                    } else {
                        out.mode = Some(word);
                    }
                }
                CYCLE => set_once(cx, &mut cycle, &k, flag(&option, &k)?),
                _ => {
                    let lit: syn::LitInt = value(&option, "a number: `start = 1000`")?
                        .parse::<syn::ExprLit>()
                        .ok()
                        .and_then(|e| match e.lit {
                            syn::Lit::Int(int) => Some(int),
                            _ => None,
                        })
                        .ok_or_else(|| {
                            syn::Error::new(
                                k.span(),
                                format!("`{k}` takes a whole number: `{k} = 1`"),
                            )
                        })?;
                    let number: i64 = lit.base10_parse().map_err(|_| {
                        syn::Error::new(lit.span(), "this number does not fit in a bigint")
                    })?;
                    let slot = match k.to_string().as_str() {
                        START => &mut start,
                        INCREMENT => &mut increment,
                        MIN => &mut min,
                        MAX => &mut max,
                        _ => &mut cache,
                    };
                    set_once(cx, slot, &k, (number, lit));
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.syn_error(e);
            skip_value(option.input)?;
        }
        Ok(())
    })?;
    if out.mode.is_none() {
        cx.error_spanned_by(key, usage);
    }
    if let Some((0, lit)) = &increment {
        cx.error_spanned_by(lit, "an identity cannot increment by 0");
    }
    if let Some((..=0, lit)) = &cache {
        cx.error_spanned_by(lit, "an identity's cache holds at least 1 value");
    }
    if let (Some((low, _)), Some((high, lit))) = (&min, &max) {
        if high <= low {
            cx.error_spanned_by(lit, format!("`max = {high}` is not above `min = {low}`"));
        }
    }
    out.start = start.map(|(n, _)| n);
    out.increment = increment.map(|(n, _)| n);
    out.min = min.map(|(n, _)| n);
    out.max = max.map(|(n, _)| n);
    out.cache = cache.map(|(n, _)| n);
    out.cycle = cycle.is_some();
    Ok(out)
}

impl EnumAttrs {
    pub fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = EnumAttrs::default();
        for_each_key(cx, attrs, ENUM_KEYS, "enum", |key, meta| {
            match key.to_string().as_str() {
                RENAME_ALL => set_once(
                    cx,
                    &mut out.rename_all,
                    &key,
                    lit_str(meta, "rename_all = \"SCREAMING_SNAKE_CASE\"")?,
                ),
                CRATE => {
                    let path = crate_path(meta)?;
                    set_once(cx, &mut out.krate, &key, path)
                }
                NATIVE => {
                    let name = if meta.input.peek(Token![=]) {
                        Some(lit_str(meta, "native = \"ticket_status\"")?)
                    } else if meta.input.peek(token::Paren) {
                        return Err(meta.error(
                            "`native` takes no list; write `native` (a type named after the \
                             enum) or `native = \"ticket_status\"`, and put the type in a \
                             PostgreSQL schema with `schema = \"ledger\"` beside it",
                        ));
                    } else {
                        None
                    };
                    set_once(cx, &mut out.native, &key, (key.clone(), name))
                }
                SCHEMA => {
                    let schema = lit_str(meta, "schema = \"ledger\"")?;
                    set_once(cx, &mut out.schema, &key, (key.clone(), schema))
                }
                _ => unreachable!("every key of ENUM_KEYS is handled"),
            }
            Ok(())
        });
        out
    }
}

impl VariantAttrs {
    pub fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = VariantAttrs::default();
        for_each_key(cx, attrs, VARIANT_KEYS, "variant", |key, meta| {
            match key.to_string().as_str() {
                RENAME => set_once(
                    cx,
                    &mut out.rename,
                    &key,
                    lit_str(meta, "rename = \"TEXT\"")?,
                ),
                RENAMED_FROM => set_once(
                    cx,
                    &mut out.renamed_from,
                    &key,
                    lit_str(meta, "renamed_from = \"OLD_TEXT\"")?,
                ),
                _ => unreachable!("every key of VARIANT_KEYS is handled"),
            }
            Ok(())
        });
        out
    }
}

/// The text of the `///` doc comments among `attrs`, one line each, or `None` when there are
/// none.
pub fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|text| {
            text.split('\n')
                .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let text = lines.join("\n").trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// Calls `f` with each key of every `#[pg(...)]` among `attrs`. A key not in `known` is an
/// error at the key; an error from `f` is recorded and parsing goes on after that key's value.
fn for_each_key(
    cx: &Ctxt,
    attrs: &[Attribute],
    known: &[&str],
    place: &str,
    mut f: impl FnMut(Ident, &ParseNestedMeta) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(PG)) {
        let parsed = attr.parse_nested_meta(|meta| {
            let result = match key_of(&meta, known, place) {
                Ok(key) => f(key, &meta),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                cx.syn_error(e);
                skip_value(meta.input)?;
            }
            Ok(())
        });
        if let Err(e) = parsed {
            cx.syn_error(e);
        }
    }
}

/// The key of `meta` when it is one of `known`; otherwise an error naming the closest key.
fn key_of(meta: &ParseNestedMeta, known: &[&str], place: &str) -> syn::Result<Ident> {
    let Some(key) = meta.path.get_ident() else {
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!("expected a `pg` {place} attribute key, found a path"),
        ));
    };
    let name = key.to_string();
    if known.contains(&name.as_str()) {
        Ok(key.clone())
    } else {
        Err(syn::Error::new(
            key.span(),
            format!(
                "unknown `pg` {place} attribute `{name}`{}",
                suggestion_or_list(&name, known)
            ),
        ))
    }
}

fn suggestion_or_list(name: &str, known: &[&str]) -> String {
    let hint = did_you_mean(name, known.iter().copied());
    if hint.is_empty() {
        format!(
            "; expected one of {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        hint
    }
}

/// Skips what is left of a key's value, up to the next `,` of its list.
fn skip_value(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

fn keyed<T>(key: &Ident, value: T) -> Keyed<T> {
    Keyed {
        key: key.clone(),
        value,
    }
}

/// Stores `value` unless the key was given before, which is an error at this second key.
fn set_once<T>(cx: &Ctxt, slot: &mut Option<T>, key: &Ident, value: T) {
    if slot.is_some() {
        cx.error_spanned_by(
            key,
            format!("duplicate `pg` attribute `{key}`; it is already given, remove this one"),
        );
    } else {
        *slot = Some(value);
    }
}

fn flag(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<Ident> {
    if meta.input.peek(Token![=]) || meta.input.peek(token::Paren) {
        Err(meta.error(format!("`{key}` takes no value; write just `{key}`")))
    } else {
        Ok(key.clone())
    }
}

/// The stream after `key =`, or an error saying what the key takes.
fn value<'a>(meta: &'a ParseNestedMeta, takes: &str) -> syn::Result<ParseStream<'a>> {
    if meta.input.peek(Token![=]) {
        meta.value()
    } else {
        Err(meta.error(format!("`{}` takes {takes}", meta.path.to_token_stream())))
    }
}

/// A string value. A bare word or number where the string belongs is echoed back quoted
/// (`on_delete = restrict` suggests `on_delete = "restrict"`); anything else gets `example`.
fn lit_str(meta: &ParseNestedMeta, example: &str) -> syn::Result<LitStr> {
    let input = value(meta, &format!("a string: `{example}`"))?;
    if input.peek(LitStr) {
        return input.parse();
    }
    let fork = input.fork();
    let bare = match fork.parse::<TokenTree>() {
        Ok(TokenTree::Ident(word)) => Some(word.to_string()),
        Ok(TokenTree::Literal(lit)) => Some(lit.to_string()),
        _ => None,
    };
    let span = input.span();
    let message = match bare {
        // Only when the word is the whole value: `a::b` or `x + 1` get the example.
        Some(word) if fork.is_empty() || fork.peek(Token![,]) => format!(
            "expected a string: `{} = \"{}\"`",
            meta.path.to_token_stream(),
            word.trim_start_matches("r#")
        ),
        _ => format!("expected a string: `{example}`"),
    };
    Err(syn::Error::new(span, message))
}

fn crate_path(meta: &ParseNestedMeta) -> syn::Result<Path> {
    let lit = lit_str(meta, "crate = \"path::to::schema_core\"")?;
    lit.parse().map_err(|_| {
        syn::Error::new(
            lit.span(),
            "`crate` takes the path schema-core is reached by: `crate = \"my::schema_core\"`",
        )
    })
}

fn type_name(meta: &ParseNestedMeta) -> syn::Result<Ident> {
    let lit = lit_str(meta, "insert = \"NewTicket\"")?;
    lit.parse::<Ident>()
        .map_err(|_| syn::Error::new(lit.span(), "expected the name of a type: `\"NewTicket\"`"))
}

/// Whether `meta` is followed by `()` with nothing inside, which syn's list parser would refuse
/// with a message of its own; the empty list is consumed so the caller can say what is missing.
fn empty_list(meta: &ParseNestedMeta) -> syn::Result<bool> {
    let fork = meta.input.fork();
    let content;
    syn::parenthesized!(content in fork);
    if content.is_empty() {
        meta.input.parse::<TokenTree>()?;
        Ok(true)
    } else {
        Ok(false)
    }
}

fn paths(meta: &ParseNestedMeta) -> syn::Result<Vec<Path>> {
    let mut out = Vec::new();
    if empty_list(meta)? {
        return Ok(out);
    }
    meta.parse_nested_meta(|inner| {
        out.push(inner.path.clone());
        Ok(())
    })?;
    Ok(out)
}

fn idents(meta: &ParseNestedMeta) -> syn::Result<Vec<Ident>> {
    let mut out = Vec::new();
    if empty_list(meta)? {
        return Ok(out);
    }
    meta.parse_nested_meta(|inner| {
        out.push(column_ident(&inner)?);
        Ok(())
    })?;
    Ok(out)
}

fn column_ident(meta: &ParseNestedMeta) -> syn::Result<Ident> {
    meta.path
        .get_ident()
        .cloned()
        .ok_or_else(|| syn::Error::new_spanned(&meta.path, "expected a field name"))
}

fn varchar_length(meta: &ParseNestedMeta) -> syn::Result<u32> {
    let lit: LitInt = value(meta, "a length: `varchar = 200`")?
        .parse()
        .map_err(|e| {
            syn::Error::new(
                e.span(),
                "`varchar` takes a length as a number: `varchar = 200`",
            )
        })?;
    match lit.base10_parse::<u32>() {
        // PostgreSQL's limit for varchar(n).
        Ok(n @ 1..=10_485_760) => Ok(n),
        _ => Err(syn::Error::new(
            lit.span(),
            "a varchar length is a whole number from 1 to 10485760",
        )),
    }
}

/// `char = N`: a length PostgreSQL's `char(n)` takes.
fn char_length(meta: &ParseNestedMeta) -> syn::Result<u32> {
    let lit: LitInt = value(meta, "a length: `char = 3`")?
        .parse()
        .map_err(|e| syn::Error::new(e.span(), "`char` takes a length as a number: `char = 3`"))?;
    match lit.base10_parse::<u32>() {
        // PostgreSQL's limit for char(n), as for varchar(n).
        Ok(n @ 1..=10_485_760) => Ok(n),
        _ => Err(syn::Error::new(
            lit.span(),
            "a char length is a whole number from 1 to 10485760",
        )),
    }
}

/// `precision = P`: the fractional digits of seconds a timestamp or time keeps.
fn timestamp_precision(meta: &ParseNestedMeta) -> syn::Result<u8> {
    let lit: LitInt = value(meta, "a number of digits: `precision = 3`")?
        .parse()
        .map_err(|e| {
            syn::Error::new(
                e.span(),
                "`precision` takes a number of digits: `precision = 3`",
            )
        })?;
    match lit.base10_parse::<u8>() {
        Ok(p @ 0..=6) => Ok(p),
        _ => Err(syn::Error::new(
            lit.span(),
            "a timestamp or time precision is a whole number from 0 to 6 (fractional digits of seconds)",
        )),
    }
}

/// `numeric(precision = P, scale = S)`, the scale 0 when left out.
fn numeric(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<NumericAttr> {
    let usage = "`numeric` takes a precision and a scale: `numeric(precision = 12, scale = 2)`";
    if !meta.input.peek(token::Paren) {
        return Err(meta.error(usage));
    }
    if empty_list(meta)? {
        return Err(meta.error(usage));
    }
    let (mut precision, mut scale) = (None, None);
    let mut broken = false;
    meta.parse_nested_meta(|inner| {
        if let Err(e) = numeric_item(&inner, &mut precision, &mut scale) {
            cx.syn_error(e);
            skip_value(inner.input)?;
            broken = true;
        }
        Ok(())
    })?;
    if broken && precision.is_none() {
        // The precision's own error is reported; this stands in for it, never rendered.
        return Ok(NumericAttr {
            precision: 1000,
            scale: 0,
        });
    }
    let Some((precision, _)) = precision else {
        return Err(
            meta.error("`numeric` needs its precision: `numeric(precision = 12, scale = 2)`")
        );
    };
    let scale = match scale {
        Some((s, lit)) if i32::from(s) > i32::from(precision) => {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "a scale of {s} is larger than the precision {precision}: the scale counts the digits after the point among the precision's"
                ),
            ))
        }
        Some((s, _)) => s,
        None => 0,
    };
    Ok(NumericAttr { precision, scale })
}

/// One `precision = P` or `scale = S` of `numeric(...)`.
fn numeric_item(
    inner: &ParseNestedMeta,
    precision: &mut Option<(u16, LitInt)>,
    scale: &mut Option<(i16, LitInt)>,
) -> syn::Result<()> {
    let key = key_of(inner, NUMERIC_KEYS, "numeric")?;
    let lit: LitInt = value(inner, &format!("a number: `{key} = 2`"))?
        .parse()
        .map_err(|e| syn::Error::new(e.span(), format!("`{key}` takes a number: `{key} = 2`")))?;
    if key == PRECISION {
        match lit.base10_parse::<u16>() {
            // PostgreSQL's limit for numeric(p, s).
            Ok(p @ 1..=1000) => *precision = Some((p, lit)),
            _ => {
                return Err(syn::Error::new(
                    lit.span(),
                    "a numeric precision is a whole number from 1 to 1000",
                ))
            }
        }
    } else {
        // PostgreSQL 15 and later take a negative scale, down to -1000.
        match lit.base10_parse::<i16>() {
            Ok(s @ -1000..=1000) => *scale = Some((s, lit)),
            _ => {
                return Err(syn::Error::new(
                    lit.span(),
                    "a numeric scale is a whole number from -1000 to the precision",
                ))
            }
        }
    }
    Ok(())
}

/// `blind_index(bits = 16, population = 50_000)`: both numbers are required.
fn blind_index(meta: &ParseNestedMeta) -> syn::Result<BlindIndexAttr> {
    let usage = "`blind_index` takes its bits and the rows the table is expected to hold: \
                 `blind_index(bits = 16, population = 50_000)`";
    if !meta.input.peek(token::Paren) || empty_list(meta)? {
        return Err(meta.error(usage));
    }
    let (mut bits, mut population, mut unique, mut normalize) = (None, None, None, None);
    meta.parse_nested_meta(|inner| {
        let key = key_of(&inner, BLIND_INDEX_KEYS, "blind_index")?;
        if key == UNIQUE {
            unique = Some(flag(&inner, &key)?);
            return Ok(());
        }
        if key == NORMALIZE {
            let usage = "`normalize` takes what is done to a text before it is indexed: \
                         `normalize(trim, lowercase)`";
            if !inner.input.peek(token::Paren) || empty_list(&inner)? {
                return Err(inner.error(usage));
            }
            let mut words: Vec<Ident> = Vec::new();
            inner.parse_nested_meta(|word| {
                let name = key_of(&word, NORMALIZATIONS, "normalize")?;
                if words.contains(&name) {
                    return Err(word.error(format!("`{name}` is given twice")));
                }
                words.push(flag(&word, &name)?);
                Ok(())
            })?;
            normalize = Some((key, words));
            return Ok(());
        }
        let lit: LitInt = value(&inner, &format!("a number: `{key} = 16`"))?.parse()?;
        if key == BITS {
            match lit.base10_parse::<u32>() {
                Ok(1..=256) => bits = Some(lit),
                _ => {
                    return Err(syn::Error::new(
                        lit.span(),
                        "a blind index keeps from 1 to 256 bits (one HMAC-SHA-256)",
                    ))
                }
            }
        } else {
            match lit.base10_parse::<u64>() {
                Ok(1..) => population = Some(lit),
                _ => {
                    return Err(syn::Error::new(
                        lit.span(),
                        "a population is at least 1 row",
                    ))
                }
            }
        }
        Ok(())
    })?;
    match (bits, population) {
        (Some(bits), Some(population)) => Ok(BlindIndexAttr {
            bits,
            population,
            unique,
            normalize,
        }),
        _ => Err(meta.error(usage)),
    }
}

fn referential_action(meta: &ParseNestedMeta) -> syn::Result<Ident> {
    let lit = lit_str(meta, "on_delete = \"cascade\"")?;
    one_of(&lit, REFERENTIAL_ACTIONS, "referential action")
}

/// The variant a string names among `choices` (`(text, variant)` pairs), compared without
/// case and with `_` read as a space; otherwise an error listing the choices.
fn one_of(lit: &LitStr, choices: &[(&str, &str)], what: &str) -> syn::Result<Ident> {
    let wanted = lit.value().to_lowercase().replace('_', " ");
    choices
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|(_, variant)| Ident::new(variant, lit.span()))
        .ok_or_else(|| {
            syn::Error::new(
                lit.span(),
                format!(
                    "unknown {what} {:?}; expected one of {}",
                    lit.value(),
                    choices
                        .iter()
                        .map(|(n, _)| format!("\"{n}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

/// `a..=b`, `a..b`, `a..`, `..=b` with integer bounds, optionally negative.
fn range(input: ParseStream) -> syn::Result<RangeAttr> {
    let shape = "expected an integer range: `1..=5`, `1..6`, `0..` or `..=100`";
    let bound = |input: ParseStream| -> syn::Result<(i64, Literal)> {
        let negative = input.parse::<Option<Token![-]>>()?.is_some();
        let lit: LitInt = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), shape))?;
        let digits = if negative {
            format!("-{}", lit.base10_digits())
        } else {
            lit.base10_digits().to_string()
        };
        let value: i64 = digits
            .parse()
            .map_err(|_| syn::Error::new(lit.span(), "this bound does not fit in an i64"))?;
        Ok((value, spanned_literal(value, lit.span())))
    };
    let min = if input.peek(Token![..]) {
        None
    } else {
        Some(bound(input)?)
    };
    let max = if input.parse::<Option<Token![..=]>>()?.is_some() {
        Some(bound(input)?)
    } else if input.parse::<Option<Token![..]>>()?.is_some() {
        if input.is_empty() || input.peek(Token![,]) {
            None
        } else {
            let (end, lit) = bound(input)?;
            let last = end
                .checked_sub(1)
                .ok_or_else(|| syn::Error::new(lit.span(), "this range holds no value"))?;
            Some((last, spanned_literal(last, lit.span())))
        }
    } else {
        return Err(input.error(shape));
    };
    Ok(RangeAttr { min, max })
}

fn spanned_literal(value: i64, span: Span) -> Literal {
    let mut lit = Literal::i64_unsuffixed(value);
    lit.set_span(span);
    lit
}

fn index(cx: &Ctxt, key: Ident, meta: &ParseNestedMeta) -> syn::Result<IndexAttr> {
    let mut out = IndexAttr {
        key,
        name: None,
        renamed_from: None,
        unique: None,
        method: None,
        columns: Vec::new(),
        include: None,
        predicate: None,
    };
    if !meta.input.peek(token::Paren) {
        return Err(meta.error("`index` lists its columns: `index(provider_id, created_at(desc))`"));
    }
    if empty_list(meta)? {
        return Ok(out);
    }
    meta.parse_nested_meta(|inner| {
        let result = index_item(cx, &inner, &mut out);
        if let Err(e) = result {
            cx.syn_error(e);
            skip_value(inner.input)?;
        }
        Ok(())
    })?;
    Ok(out)
}

/// SQL with `{field}` placeholders, as `where = "..."` and `expr = "..."` take it.
fn sql_attr(cx: &Ctxt, meta: &ParseNestedMeta, example: &str) -> syn::Result<SqlAttr> {
    let lit = lit_str(meta, example)?;
    let parts = match sql_template(&lit.value()) {
        Ok(parts) => parts,
        Err(message) => {
            cx.error_spanned_by(&lit, message);
            Vec::new()
        }
    };
    Ok(SqlAttr { lit, parts })
}

fn index_item(cx: &Ctxt, inner: &ParseNestedMeta, out: &mut IndexAttr) -> syn::Result<()> {
    let ident = column_ident(inner)?;
    if inner.input.peek(Token![=]) {
        if ident == NAME {
            let name = lit_str(inner, "name = \"index_name\"")?;
            set_once(cx, &mut out.name, &ident, name);
        } else if ident == RENAMED_FROM {
            let old = lit_str(inner, "renamed_from = \"old_index_name\"")?;
            set_once(cx, &mut out.renamed_from, &ident, old);
        } else if ident == USING {
            let lit = lit_str(inner, "using = \"gin\"")?;
            let variant = one_of(&lit, INDEX_METHODS, "index method")?;
            set_once(cx, &mut out.method, &ident, (lit, variant));
        } else if ident == WHERE {
            let sql = sql_attr(cx, inner, "where = \"{deleted_at} IS NULL\"")?;
            set_once(cx, &mut out.predicate, &ident, sql);
        } else if ident == EXPR {
            let sql = sql_attr(cx, inner, "expr = \"lower({email})\"")?;
            out.columns.push(IndexColumnAttr {
                ident,
                expression: Some(sql),
                opclass: None,
                order_key: None,
                descending: None,
                nulls_first: None,
            });
        } else {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "unknown `index` option `{ident}`{}",
                    suggestion_or_list(&ident.to_string(), INDEX_KEYS)
                ),
            ));
        }
    } else if ident == UNIQUE && !inner.input.peek(token::Paren) {
        set_once(cx, &mut out.unique, &ident, ident.clone());
    } else if ident == INCLUDE && inner.input.peek(token::Paren) {
        let columns = idents(inner)?;
        set_once(cx, &mut out.include, &ident, keyed(&ident, columns));
    } else {
        let mut column = IndexColumnAttr {
            ident,
            expression: None,
            opclass: None,
            order_key: None,
            descending: None,
            nulls_first: None,
        };
        if inner.input.peek(token::Paren) {
            let (mut order, mut nulls): (Option<Ident>, Option<Ident>) = (None, None);
            let mut opclass: Option<LitStr> = None;
            // Parsed apart from the index's list, so that a mistake inside the parentheses (a
            // missing comma) is one error and the column stays in the index.
            let options: proc_macro2::Group = inner.input.parse()?;
            let parsed = syn::meta::parser(|option| {
                let key = key_of(&option, INDEX_COLUMN_KEYS, "index column");
                if let Ok(key) = &key {
                    if key == OPCLASS {
                        match lit_str(&option, "opclass = \"jsonb_path_ops\"") {
                            Ok(lit) => set_once(cx, &mut opclass, key, lit),
                            Err(e) => {
                                cx.syn_error(e);
                                skip_value(option.input)?;
                            }
                        }
                        return Ok(());
                    }
                }
                let key = key.and_then(|key| flag(&option, &key));
                match key {
                    Ok(key) => {
                        let slot = if key == ASC || key == DESC {
                            &mut order
                        } else {
                            &mut nulls
                        };
                        if let Some(previous) = slot {
                            cx.error_spanned_by(
                                &key,
                                format!(
                                    "`{key}` conflicts with `{previous}` given before; keep one"
                                ),
                            );
                        } else {
                            *slot = Some(key);
                        }
                    }
                    Err(e) => {
                        cx.syn_error(e);
                        skip_value(option.input)?;
                    }
                }
                Ok(())
            })
            .parse2(options.stream());
            if let Err(e) = parsed {
                let message = if e.to_string() == "expected `,`" {
                    format!(
                        "expected `,` between a column's options: `{}(desc, nulls_last)`",
                        column.ident
                    )
                } else {
                    e.to_string()
                };
                cx.syn_error(syn::Error::new(e.span(), message));
            }
            column.order_key = order.clone().or_else(|| nulls.clone());
            column.descending = order.map(|o| o == DESC);
            column.nulls_first = nulls.map(|n| n == NULLS_FIRST);
            column.opclass = opclass;
        }
        out.columns.push(column);
    }
    Ok(())
}

/// Parses `key(k = ..., k2 = ..., ...)`, a list of keys among `known`, calling `f` with each;
/// a missing list is an error saying `usage`, an empty one gives no call, and an error from `f`
/// is recorded and parsing goes on after that key's value.
fn keyed_list(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    known: &[&str],
    place: &str,
    usage: &str,
    mut f: impl FnMut(Ident, &ParseNestedMeta) -> syn::Result<()>,
) -> syn::Result<()> {
    if !meta.input.peek(token::Paren) {
        return Err(meta.error(usage));
    }
    if empty_list(meta)? {
        return Ok(());
    }
    meta.parse_nested_meta(|inner| {
        if let Err(e) = key_of(&inner, known, place).and_then(|key| f(key, &inner)) {
            cx.syn_error(e);
            skip_value(inner.input)?;
        }
        Ok(())
    })
}

fn check(cx: &Ctxt, key: Ident, meta: &ParseNestedMeta) -> syn::Result<CheckAttr> {
    let mut out = CheckAttr {
        key,
        name: None,
        renamed_from: None,
        sql: None,
        parts: Vec::new(),
    };
    keyed_list(
        cx,
        meta,
        CHECK_KEYS,
        "check",
        "`check` takes a name and a SQL expression: `check(name = \"...\", sql = \"...\")`",
        |key, inner| {
            let lit = lit_str(inner, "sql = \"{resolved_at} >= {created_at}\"")?;
            if key == SQL {
                match sql_template(&lit.value()) {
                    Ok(parts) => out.parts = parts,
                    Err(message) => cx.error_spanned_by(&lit, message),
                }
            }
            let slot = match key.to_string().as_str() {
                NAME => &mut out.name,
                RENAMED_FROM => &mut out.renamed_from,
                _ => &mut out.sql,
            };
            set_once(cx, slot, &key, lit);
            Ok(())
        },
    )?;
    Ok(out)
}

fn policy(cx: &Ctxt, key: Ident, meta: &ParseNestedMeta) -> syn::Result<PolicyAttr> {
    let mut out = PolicyAttr {
        key,
        name: None,
        renamed_from: None,
        command: None,
        to: None,
        using: None,
        with_check: None,
    };
    keyed_list(
        cx,
        meta,
        POLICY_KEYS,
        "policy",
        "`policy` takes its parts: `policy(name = \"...\", command = \"select\", to = \"role\", using = \"...\")`",
        |key, inner| {
            let lit = lit_str(
                inner,
                "using = \"{provider_id} = {setting:app.provider_id}::uuid\"",
            )?;
            match key.to_string().as_str() {
                NAME => set_once(cx, &mut out.name, &key, lit),
                RENAMED_FROM => set_once(cx, &mut out.renamed_from, &key, lit),
                TO => set_once(cx, &mut out.to, &key, lit),
                COMMAND => {
                    let variant = one_of(&lit, POLICY_COMMANDS, "policy command")?;
                    set_once(cx, &mut out.command, &key, variant)
                }
                _ => {
                    let parts = match sql_template(&lit.value()) {
                        Ok(parts) => parts,
                        Err(message) => {
                            cx.error_spanned_by(&lit, message);
                            Vec::new()
                        }
                    };
                    let slot = if key == USING {
                        &mut out.using
                    } else {
                        &mut out.with_check
                    };
                    set_once(cx, slot, &key, SqlAttr { lit, parts })
                }
            }
            Ok(())
        },
    )?;
    Ok(out)
}

fn grant(cx: &Ctxt, key: Ident, meta: &ParseNestedMeta) -> syn::Result<GrantAttr> {
    let mut out = GrantAttr {
        key,
        to: None,
        insert: None,
        update: None,
    };
    keyed_list(
        cx,
        meta,
        GRANT_KEYS,
        "grant",
        "`grant` names a role and the columns it may write: `grant(to = \"role\", insert(subject), update(status))`",
        |key, inner| {
            if key == TO {
                let role = lit_str(inner, "to = \"support_team\"")?;
                set_once(cx, &mut out.to, &key, role);
                return Ok(());
            }
            if !inner.input.peek(token::Paren) {
                return Err(inner.error(format!(
                    "`{key}` lists the fields the role may write: `{key}(status, assigned_to)`"
                )));
            }
            let columns = idents(inner)?;
            let slot = if key == INSERT {
                &mut out.insert
            } else {
                &mut out.update
            };
            set_once(cx, slot, &key, keyed(&key, columns));
            Ok(())
        },
    )?;
    Ok(out)
}

fn unique_key(cx: &Ctxt, key: Ident, meta: &ParseNestedMeta) -> syn::Result<UniqueAttr> {
    let mut out = UniqueAttr {
        key,
        name: None,
        columns: Vec::new(),
        nulls_not_distinct: None,
    };
    if !meta.input.peek(token::Paren) {
        return Err(meta.error(
            "on the struct, `unique` lists the key's columns: `unique(a, b)`; for one column, \
             put `unique` on its field",
        ));
    }
    if empty_list(meta)? {
        return Ok(out);
    }
    meta.parse_nested_meta(|inner| {
        if let Err(e) = unique_item(cx, &inner, &mut out) {
            cx.syn_error(e);
            skip_value(inner.input)?;
        }
        Ok(())
    })?;
    Ok(out)
}

fn unique_item(cx: &Ctxt, inner: &ParseNestedMeta, out: &mut UniqueAttr) -> syn::Result<()> {
    let ident = column_ident(inner)?;
    if inner.input.peek(Token![=]) {
        if ident != NAME {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "unknown `unique` option `{ident}`{}",
                    suggestion_or_list(&ident.to_string(), UNIQUE_KEYS)
                ),
            ));
        }
        let name = lit_str(inner, "name = \"constraint_name\"")?;
        set_once(cx, &mut out.name, &ident, name);
    } else if ident == NULLS_NOT_DISTINCT {
        let flag = flag(inner, &ident)?;
        set_once(cx, &mut out.nulls_not_distinct, &ident, flag);
    } else if inner.input.peek(token::Paren) {
        return Err(inner.error(format!(
            "a unique key's column takes no options; write just `{ident}`"
        )));
    } else {
        out.columns.push(ident);
    }
    Ok(())
}

fn foreign_key(cx: &Ctxt, key: Ident, meta: &ParseNestedMeta) -> syn::Result<ForeignKeyAttr> {
    let mut out = ForeignKeyAttr {
        key,
        name: None,
        columns: None,
        references: None,
        on_delete: None,
        on_update: None,
    };
    keyed_list(
        cx,
        meta,
        FOREIGN_KEY_KEYS,
        "foreign_key",
        "`foreign_key` names its columns and the columns they reference: \
         `foreign_key(columns(tenant_id, provider_id), references(Provider::tenant_id, Provider::provider_id))`",
        |key, inner| {
            match key.to_string().as_str() {
                NAME => {
                    let name = lit_str(inner, "name = \"constraint_name\"")?;
                    set_once(cx, &mut out.name, &key, name)
                }
                COLUMNS => {
                    if !inner.input.peek(token::Paren) {
                        return Err(inner.error(
                            "`columns` lists this table's fields: `columns(tenant_id, provider_id)`",
                        ));
                    }
                    let columns = idents(inner)?;
                    set_once(cx, &mut out.columns, &key, keyed(&key, columns))
                }
                REFERENCES => {
                    if !inner.input.peek(token::Paren) {
                        return Err(inner.error(
                            "`references` lists the referenced columns, one per column: \
                             `references(Provider::tenant_id, Provider::provider_id)`",
                        ));
                    }
                    let paths = paths(inner)?;
                    if let Some(path) = paths.iter().find(|p| p.segments.len() < 2) {
                        return Err(syn::Error::new_spanned(
                            path,
                            "name the referenced table's type and column: `Provider::provider_id`",
                        ));
                    }
                    set_once(cx, &mut out.references, &key, keyed(&key, paths))
                }
                ON_DELETE => set_once(
                    cx,
                    &mut out.on_delete,
                    &key,
                    keyed(&key, referential_action(inner)?),
                ),
                _ => set_once(
                    cx,
                    &mut out.on_update,
                    &key,
                    keyed(&key, referential_action(inner)?),
                ),
            }
            Ok(())
        },
    )?;
    Ok(out)
}
