//! Identifier quoting, literal escaping and constraint naming: the one place each rule lives.

use std::borrow::Cow;

/// The longest identifier PostgreSQL keeps (`NAMEDATALEN - 1`); longer ones are truncated.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// The PostgreSQL schema the code's unqualified tables and types are in, whatever a login's
/// search path says: migrations are applied there, and the database is read there to compare
/// it with the code.
pub const APPLICATION_SCHEMA: &str = "public";

/// The statement that puts a session's search path on `schema` alone (then `pg_temp`), for the
/// rest of the session.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn set_search_path(schema: &str) -> String {
    format!("SET search_path = {}, pg_temp", quote_ident(schema))
}

/// Quotes an identifier: `support_tickets` → `"support_tickets"`, doubling embedded quotes.
///
/// Every identifier in the DDL goes through here, so case and reserved words are kept as written.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_quoted_ident(&mut out, name);
    out
}

/// Appends `name` quoted as [`quote_ident`] quotes it, without a `String` of its own: the
/// typed queries write every identifier of a statement this way.
pub(crate) fn push_quoted_ident(out: &mut String, name: &str) {
    out.push('"');
    for (i, part) in name.split('"').enumerate() {
        if i > 0 {
            out.push_str("\"\"");
        }
        out.push_str(part);
    }
    out.push('"');
}

/// Splits the name of an object that lives in a PostgreSQL schema (a table, a function) into
/// its schema and its own name: `billing.invoices` → `(Some("billing"), "invoices")`,
/// `support_tickets` → `(None, "support_tickets")`, for an object in the current schema.
///
/// Such names are qualified with a dot in the model; a table's own name cannot hold one (the
/// derive and [`validate`](crate::Schema::to_ddl) refuse it), so the split is unambiguous.
pub fn split_qualified(name: &str) -> (Option<&str>, &str) {
    match name.split_once('.') {
        Some((schema, name)) => (Some(schema), name),
        None => (None, name),
    }
}

/// The model's name of an object in `schema` (`None`: the current schema): `billing.invoices`,
/// or `invoices`.
pub fn qualify(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(schema) => format!("{schema}.{name}"),
        None => name.to_string(),
    }
}

/// The model's name of an object in a PostgreSQL schema, made at compile time from two string
/// literals as [`qualify`] makes it at run time: `("ledger", "entry_kind")` gives
/// `"ledger.entry_kind"`. What `#[derive(PgEnum)]` names a native enum type of a schema with.
#[doc(hidden)]
#[macro_export]
macro_rules! __qualified_name {
    ($schema:literal, $name:literal) => {
        ::core::concat!($schema, ".", $name)
    };
}

/// Quotes the name of an object of `schema` (`None`: the current schema), such as an index of
/// a table in that schema: `"billing"."invoices_unpaid_idx"`. The name is taken whole, dots
/// and all.
pub fn quote_in_schema(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(name)),
        None => quote_ident(name),
    }
}

/// Quotes a name that may be qualified with its schema: `billing.invoices` →
/// `"billing"."invoices"`, `support_tickets` → `"support_tickets"`.
pub fn quote_qualified(name: &str) -> String {
    let (schema, name) = split_qualified(name);
    quote_in_schema(schema, name)
}

/// The model's name of a type name as written in SQL, `None` where it is not a plain name:
/// `"ledger"."entry_kind"` and `ledger.entry_kind` → `ledger.entry_kind`, `Entry_Kind` →
/// `entry_kind` (an unquoted name is folded to lowercase, as PostgreSQL folds it).
pub fn parse_type_name(written: &str) -> Option<String> {
    let mut parts = Vec::new();
    let mut rest = written.trim();
    loop {
        let (part, after) = if let Some(quoted) = rest.strip_prefix('"') {
            // A quoted part ends at the first quote not doubled.
            let mut end = None;
            let bytes = quoted.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    end = Some(i);
                    break;
                }
                i += 1;
            }
            let end = end?;
            (quoted[..end].replace("\"\"", "\""), &quoted[end + 1..])
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let part = &rest[..end];
            if part.is_empty()
                || !part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            {
                return None;
            }
            (part.to_ascii_lowercase(), &rest[end..])
        };
        parts.push(part);
        match after.strip_prefix('.') {
            Some(next) => rest = next,
            None if after.is_empty() => break,
            None => return None,
        }
    }
    match parts.as_slice() {
        [name] => Some(name.clone()),
        [schema, name] => Some(qualify(Some(schema), name)),
        _ => None,
    }
}

/// Why a name cannot be the PostgreSQL schema a table is declared in, or `None` when it can:
/// a usable identifier without `.`, not `public` (a table without a schema is there already)
/// and not starting with `pg_` (reserved for the system).
pub fn schema_name_problem(name: &str) -> Option<&'static str> {
    if let Some(problem) = identifier_problem(name) {
        Some(problem)
    } else if name.contains('.') {
        Some("holds a `.`")
    } else if name == "public" {
        Some("is `public`, where a table without `schema` already is; leave `schema` out")
    } else if name.starts_with("pg_") {
        Some("starts with `pg_`, which PostgreSQL keeps for its own schemas")
    } else {
        None
    }
}

/// Quotes a string literal: `it's` → `'it''s'`.
///
/// A string holding a backslash is written in the escape form (`E'a\\b'`), so it reads the same
/// whatever `standard_conforming_strings` says.
pub fn quote_literal(value: &str) -> String {
    let doubled = value.replace('\'', "''");
    if value.contains('\\') {
        format!("E'{}'", doubled.replace('\\', "\\\\"))
    } else {
        format!("'{doubled}'")
    }
}

/// Quotes a body with dollar quotes whose tag cannot occur in it: `$tag$body$tag$`, with
/// `tag`, then `tag_1`, `tag_2`, ... until neither the opening nor a closing tag appears inside.
///
/// A body holding `$role$` (say, in a role's name) would otherwise end the quote early and run
/// the rest as SQL.
pub fn dollar_quote(tag: &str, body: &str) -> String {
    let mut n = 0;
    loop {
        let candidate = if n == 0 {
            format!("${tag}$")
        } else {
            format!("${tag}_{n}$")
        };
        // The quote ends at the first occurrence of its tag: that must be the closing one,
        // including where the body's last characters and the tag overlap (`...$role` + `$role$`).
        let quoted = format!("{candidate}{body}{candidate}");
        if quoted[candidate.len()..].find(&candidate) == Some(body.len()) {
            return quoted;
        }
        n += 1;
    }
}

/// Why a name cannot be a setting of one's own (a custom option, as `app.provider_id`), or
/// `None` when it can: two or more parts separated by dots, each of ASCII letters, digits and
/// `_`, not starting with a digit, and at most 63 bytes (PostgreSQL would truncate it).
pub fn setting_name_problem(name: &str) -> Option<&'static str> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() < 2 {
        return Some("is not `prefix.name`");
    }
    for part in parts {
        let Some(first) = part.bytes().next() else {
            return Some("has an empty part");
        };
        if first.is_ascii_digit() || !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Some(
                "has a part that is not ASCII letters, digits and `_`, or starts with a digit",
            );
        }
        if part.len() > MAX_IDENTIFIER_BYTES {
            return Some("has a part longer than 63 bytes, which PostgreSQL would truncate");
        }
    }
    None
}

/// Why a name cannot be used as a PostgreSQL identifier, or `None` when it can.
pub fn identifier_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.contains('\0') {
        Some("contains a NUL character")
    } else if name.len() > MAX_IDENTIFIER_BYTES {
        Some("is longer than 63 bytes, which PostgreSQL would truncate")
    } else {
        None
    }
}

/// The name PostgreSQL itself would give a constraint or index: `{table}_{columns}_{suffix}`
/// (`support_tickets_pkey`, `support_tickets_provider_id_fkey`,
/// `support_tickets_provider_id_status_idx`).
///
/// Where that name would pass 63 bytes, PostgreSQL truncates it silently; here it is shortened
/// deterministically instead: cut at a character boundary and ended with eight hex digits of a
/// hash of the full name, so two long names do not collide and the same schema always gets the
/// same names.
pub fn constraint_name<'a>(
    table: &str,
    columns: impl IntoIterator<Item = &'a str>,
    suffix: &str,
) -> Cow<'static, str> {
    let mut name = String::from(table);
    for column in columns {
        name.push('_');
        name.push_str(column);
    }
    name.push('_');
    name.push_str(suffix);
    Cow::Owned(shorten(name))
}

fn shorten(name: String) -> String {
    if name.len() <= MAX_IDENTIFIER_BYTES {
        return name;
    }
    let hash = fnv1a(name.as_bytes());
    let mut cut = MAX_IDENTIFIER_BYTES - 9;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hash:08x}", &name[..cut])
}

/// FNV-1a, 32 bits: small, stable across versions and platforms, enough to tell names apart.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The string literals of an expression, as written or as the server prints them
/// (`'A'::character varying`).
pub(crate) fn quoted_values(expression: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut chars = expression.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    value.push('\'');
                } else {
                    break;
                }
            } else {
                value.push(c);
            }
        }
        values.push(value);
    }
    values
}

/// A qualified name [`requalify`] found in SQL text: its schema and its own name as the server
/// reads them (unquoted, folded to lower case; quoted, as written), and whether the schema was
/// written quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QualifiedName<'a> {
    /// The schema: `ledger` for `LEDGER.entry_kind` and `"ledger".entry_kind` alike.
    pub schema: &'a str,
    /// The name qualified, read the same way.
    pub name: &'a str,
    /// Whether the schema was written quoted (`"ledger"`).
    pub schema_quoted: bool,
}

/// `expression` with the schema of each qualified name (`public.owners`, `"ledger".accounts`)
/// replaced by the text `rename` gives for it, where it gives one. Names in string literals,
/// quoted identifiers, dollar quotes and comments are left alone, and so is a name that follows
/// a dot (`o.owner_id` is passed as `("o", "owner_id")`; in `a.b.c`, only `a` is a schema).
pub(crate) fn requalify(
    expression: &str,
    rename: &dyn Fn(QualifiedName<'_>) -> Option<String>,
) -> String {
    let tokens = sql_tokens(expression);
    let mut out = String::with_capacity(expression.len());
    let mut copied = 0;
    let words: Vec<&SqlToken> = tokens
        .iter()
        .filter(|t| !matches!(t.kind, TokenKind::Space))
        .collect();
    for (i, window) in words.windows(3).enumerate() {
        let [schema, dot, name] = window else {
            continue;
        };
        let after_dot = i > 0 && matches!(words[i - 1].kind, TokenKind::Dot);
        let (
            TokenKind::Word {
                name: schema_name,
                quoted,
            },
            TokenKind::Dot,
            TokenKind::Word { name: own_name, .. },
        ) = (&schema.kind, &dot.kind, &name.kind)
        else {
            continue;
        };
        if after_dot {
            continue;
        }
        let found = QualifiedName {
            schema: schema_name,
            name: own_name,
            schema_quoted: *quoted,
        };
        if let Some(new) = rename(found) {
            out.push_str(&expression[copied..schema.start]);
            out.push_str(&new);
            copied = schema.end;
        }
    }
    out.push_str(&expression[copied..]);
    out
}

/// `expression` with each reference to the column `from` renamed `to`: an identifier (bare or
/// quoted) that is not qualified by another (`t.from` names another table's column), is not a
/// qualifier itself and is not called as a function. Literals, comments and dollar quotes are
/// left alone; the new name is written as the old one was, quoted or bare.
pub(crate) fn rename_column(expression: &str, from: &str, to: &str) -> String {
    let tokens = sql_tokens(expression);
    let words: Vec<&SqlToken> = tokens
        .iter()
        .filter(|t| !matches!(t.kind, TokenKind::Space))
        .collect();
    let mut out = String::with_capacity(expression.len());
    let mut copied = 0;
    for (i, token) in words.iter().enumerate() {
        let TokenKind::Word { name, quoted } = &token.kind else {
            continue;
        };
        let after_dot = i > 0 && matches!(words[i - 1].kind, TokenKind::Dot);
        let next = words.get(i + 1).map(|t| &expression[t.start..t.end]);
        if name != from || after_dot || next == Some(".") || next == Some("(") {
            continue;
        }
        out.push_str(&expression[copied..token.start]);
        out.push_str(&ident_in_manner_of(to, *quoted));
        copied = token.end;
    }
    out.push_str(&expression[copied..]);
    out
}

/// `name` written as an identifier in the manner of one that was `quoted` or not: quoted where
/// that one was (as the code writes names: `"ledger"`), and bare where it was bare and `name`
/// reads back as itself bare (lower-case ASCII letters, digits and `_`, not starting with a
/// digit), as the server prints names; quoted otherwise. Key words are not told apart: a bare
/// key word stays bare, where the server would quote it.
pub(crate) fn ident_in_manner_of(name: &str, quoted: bool) -> String {
    let reads_bare = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if quoted || !reads_bare {
        quote_ident(name)
    } else {
        name.to_string()
    }
}

/// What a piece of SQL text is, as far as [`requalify`] needs to know.
#[derive(Debug, PartialEq)]
enum TokenKind {
    /// An identifier or key word, as the server reads it (unquoted: lower case), and whether
    /// it was written quoted.
    Word { name: String, quoted: bool },
    /// `.`
    Dot,
    /// White space or a comment.
    Space,
    /// Anything else: literals, operators, numbers, parameters.
    Other,
}

/// A token and its byte range.
#[derive(Debug)]
struct SqlToken {
    start: usize,
    end: usize,
    kind: TokenKind,
}

/// The tokens of SQL text, as PostgreSQL's lexer splits it (with `standard_conforming_strings`
/// on): enough to tell names from literals and comments.
fn sql_tokens(sql: &str) -> Vec<SqlToken> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let is_word_start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b >= 0x80;
    let is_word = |b: u8| is_word_start(b) || b.is_ascii_digit() || b == b'$';
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let kind = if b.is_ascii_whitespace() {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            TokenKind::Space
        } else if bytes[i..].starts_with(b"--") {
            i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
            TokenKind::Space
        } else if bytes[i..].starts_with(b"/*") {
            // Block comments nest.
            let mut depth = 0;
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            TokenKind::Space
        } else if b == b'\'' || ((b == b'e' || b == b'E') && bytes.get(i + 1) == Some(&b'\'')) {
            let escapes = b != b'\'';
            i += if escapes { 2 } else { 1 };
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if escapes => i += 2,
                    b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                    b'\'' => {
                        i += 1;
                        break;
                    }
                    _ => i += 1,
                }
            }
            TokenKind::Other
        } else if b == b'"' {
            let mut name = String::new();
            i += 1;
            let mut from = i;
            while i < bytes.len() {
                if bytes[i] == b'"' {
                    name.push_str(&sql[from..i]);
                    if bytes.get(i + 1) == Some(&b'"') {
                        name.push('"');
                        i += 2;
                        from = i;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            TokenKind::Word { name, quoted: true }
        } else if b == b'$' && dollar_tag(&sql[i..]).is_some() {
            let tag = dollar_tag(&sql[i..]).expect("checked");
            i += tag.len();
            i = sql[i..]
                .find(tag)
                .map_or(bytes.len(), |n| i + n + tag.len());
            TokenKind::Other
        } else if is_word_start(b) {
            while i < bytes.len() && is_word(bytes[i]) {
                i += 1;
            }
            TokenKind::Word {
                name: sql[start..i].to_lowercase(),
                quoted: false,
            }
        } else if b.is_ascii_digit() {
            // A number, `1.5` included, so its dot is not a qualifier's.
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            TokenKind::Other
        } else if b == b'.' {
            i += 1;
            TokenKind::Dot
        } else {
            i += sql[i..].chars().next().map_or(1, char::len_utf8);
            TokenKind::Other
        };
        // An unterminated literal or comment ends with the text.
        i = i.min(bytes.len());
        tokens.push(SqlToken {
            start,
            end: i,
            kind,
        });
    }
    tokens
}

/// The opening tag of a dollar quote at the start of `s` (`$$`, `$fn$`), if one is there (`$1`
/// is a parameter).
fn dollar_tag(s: &str) -> Option<&str> {
    let rest = s.strip_prefix('$')?;
    let end = rest.find('$')?;
    let tag = &rest[..end];
    let valid = tag.bytes().enumerate().all(|(n, b)| {
        b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 || (n > 0 && b.is_ascii_digit())
    });
    valid.then(|| &s[..end + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_rename_respells_its_references_only() {
        let renamed = |sql: &str| rename_column(sql, "email", "Mail");
        assert_eq!(renamed("lower(email)"), r#"lower("Mail")"#);
        assert_eq!(renamed(r#"lower("email")"#), r#"lower("Mail")"#);
        // Another table's column, a literal, a comment, a longer name and a function stay.
        assert_eq!(
            renamed("o.email = 'email' /* email */ AND emails > 0 AND email(x)"),
            "o.email = 'email' /* email */ AND emails > 0 AND email(x)"
        );
        assert_eq!(rename_column("email <> ''", "email", "mail"), "mail <> ''");
    }

    #[test]
    fn scripts_for_psql_set_the_search_path_sessions_set() {
        assert!(crate::render::ENCODING_HEADER
            .ends_with(&format!("\n{};\n", set_search_path(APPLICATION_SCHEMA))));
    }

    #[test]
    fn qualified_names_quote_each_part() {
        assert_eq!(
            quote_qualified("billing.invoices"),
            r#""billing"."invoices""#
        );
        assert_eq!(quote_qualified("support_tickets"), r#""support_tickets""#);
        assert_eq!(
            split_qualified("billing.invoices"),
            (Some("billing"), "invoices")
        );
        assert_eq!(qualify(Some("billing"), "invoices"), "billing.invoices");
        assert_eq!(qualify(None, "invoices"), "invoices");
    }

    #[test]
    fn identifiers_are_always_quoted_and_escaped() {
        assert_eq!(quote_ident("order"), r#""order""#);
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_ident(r#""end""#), r#""""end""""#);
        assert_eq!(quote_ident("Ticket"), r#""Ticket""#);
    }

    #[test]
    fn literals_are_escaped() {
        assert_eq!(quote_literal("MEDIUM"), "'MEDIUM'");
        assert_eq!(quote_literal("O'Brien"), "'O''Brien'");
        assert_eq!(quote_literal(r"C:\path"), r"E'C:\\path'");
        assert_eq!(quote_literal(""), "''");
    }

    #[test]
    fn names_follow_postgres_conventions() {
        assert_eq!(constraint_name("t", [], "pkey"), "t_pkey");
        assert_eq!(
            constraint_name("support_tickets", ["provider_id", "status"], "idx"),
            "support_tickets_provider_id_status_idx"
        );
    }

    #[test]
    fn long_names_are_shortened_deterministically() {
        let long = "a_table_with_a_rather_long_name_for_the_test";
        let a = constraint_name(long, ["first_long_column", "second_long_column"], "idx");
        let b = constraint_name(long, ["first_long_column", "second_long_columns"], "idx");
        assert_eq!(a.len(), 63);
        assert!(a.starts_with("a_table_with_a_rather_long_name_for_the_test_first_lon"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            constraint_name(long, ["first_long_column", "second_long_column"], "idx")
        );
    }

    #[test]
    fn dollar_quotes_never_occur_in_their_body() {
        assert_eq!(dollar_quote("role", " x "), "$role$ x $role$");
        assert_eq!(
            dollar_quote("role", " a$role$b "),
            "$role_1$ a$role$b $role_1$"
        );
        assert_eq!(
            dollar_quote("role", " $role$ $role_1$ "),
            "$role_2$ $role$ $role_1$ $role_2$"
        );
        assert_eq!(dollar_quote("role", "x$role"), "$role_1$x$role$role_1$");
    }

    #[test]
    fn setting_names_are_prefix_dot_name() {
        assert_eq!(setting_name_problem("app.provider_id"), None);
        assert_eq!(setting_name_problem("app.tenant.id"), None);
        for bad in [
            "provider_id",
            "app.",
            ".x",
            "app.1st",
            "app.x;y",
            "app.x y",
            "app.x'",
        ] {
            assert!(setting_name_problem(bad).is_some(), "{bad}");
        }
        assert!(setting_name_problem(&format!("app.{}", "x".repeat(64))).is_some());
    }

    #[test]
    fn names_qualified_at_compile_time_match_those_made_at_run_time() {
        assert_eq!(
            crate::__qualified_name!("ledger", "entry_kind"),
            qualify(Some("ledger"), "entry_kind")
        );
    }

    #[test]
    fn type_names_are_read_as_postgresql_reads_them() {
        let read = |w: &str| parse_type_name(w);
        assert_eq!(
            read("\"ledger\".\"entry_kind\""),
            Some("ledger.entry_kind".into())
        );
        assert_eq!(read("Ledger.Entry_Kind"), Some("ledger.entry_kind".into()));
        assert_eq!(read("entry_kind"), Some("entry_kind".into()));
        assert_eq!(read("\"a\"\"b\""), Some("a\"b".into()));
        assert_eq!(read("numeric(10, 2)"), None);
        assert_eq!(read("a.b.c"), None);
    }

    #[test]
    fn identifier_problems_are_named() {
        assert_eq!(identifier_problem("ok"), None);
        assert_eq!(identifier_problem(""), Some("is empty"));
        assert!(identifier_problem(&"x".repeat(64)).is_some());
        assert!(identifier_problem(&"é".repeat(31)).is_none());
        assert!(identifier_problem(&"é".repeat(32)).is_some());
    }

    #[test]
    fn requalify_renames_schemas_of_qualified_names_only() {
        let rename = |q: QualifiedName<'_>| {
            (q.schema == "public" && q.name == "owners").then(|| "shadow".to_string())
        };
        assert_eq!(
            requalify(
                "EXISTS (SELECT 1 FROM public.owners o WHERE o.owner_id = pets.owner_id)",
                &rename
            ),
            "EXISTS (SELECT 1 FROM shadow.owners o WHERE o.owner_id = pets.owner_id)"
        );
        // Case folded, quoted, spaced, and a column of the table named.
        assert_eq!(
            requalify(
                r#"PUBLIC.Owners.login = "public" . "owners".login"#,
                &rename
            ),
            r#"shadow.Owners.login = shadow . "owners".login"#
        );
        // Not in literals, comments, dollar quotes, other quoted names, nor after a dot.
        for untouched in [
            "'public.owners' = E'\\'public.owners'",
            "x /* public.owners /* nested */ public.owners */ -- public.owners",
            "$q$ public.owners $q$ = $1",
            r#""Public".owners = "public.owners""#,
            "a.public.owners = 1.5",
            "public.other = public.f(owners)",
        ] {
            assert_eq!(requalify(untouched, &rename), untouched);
        }
        // Text that is not ASCII, or not finished, is walked without a panic.
        assert_eq!(
            requalify("'é' = public.owners AND 'unfinished", &rename),
            "'é' = shadow.owners AND 'unfinished"
        );
        assert_eq!(
            requalify("/* é unfinished public.owners", &rename),
            "/* é unfinished public.owners"
        );
        // The callback learns how the schema was written.
        let keep_quoting = |q: QualifiedName<'_>| {
            (q.schema == "ledger").then(|| ident_in_manner_of("Shadow", q.schema_quoted))
        };
        assert_eq!(
            requalify(r#"'A'::"ledger"."entry_kind" = ledger.f(x)"#, &keep_quoting),
            r#"'A'::"Shadow"."entry_kind" = "Shadow".f(x)"#
        );
    }

    #[test]
    fn a_name_is_written_quoted_as_the_code_writes_or_bare_as_the_server_prints() {
        assert_eq!(ident_in_manner_of("ledger", true), r#""ledger""#);
        assert_eq!(ident_in_manner_of("ledger", false), "ledger");
        assert_eq!(ident_in_manner_of("_ledger_2", false), "_ledger_2");
        for needs_quotes in ["Ledger", "2ledger", "led ger", "led$ger", r#"a"b"#, ""] {
            assert_eq!(
                ident_in_manner_of(needs_quotes, false),
                quote_ident(needs_quotes),
                "{needs_quotes}"
            );
        }
    }
}
