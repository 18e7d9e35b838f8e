//! Which cases hold what schema-core's model does not manage at all, read from their DDL:
//! functions and procedures, triggers, views and materialized views, a sequence no column
//! default draws from, extensions, domains and types other than enums. Such a case is left out
//! of the measure.

use crate::corpus::Case;

/// Why a case is left out: the first kind of unmanaged object its DDL creates, or `None` when
/// it creates none.
pub fn unmanaged(case: &Case) -> Option<String> {
    let words: Vec<Vec<String>> = case.all_ddl().map(|ddl| words(ddl)).collect();
    let joined: Vec<String> = case
        .all_ddl()
        .map(|ddl| strip_comments(ddl).to_lowercase())
        .collect();
    for w in &words {
        for (i, word) in w.iter().enumerate() {
            if word != "create" {
                continue;
            }
            let mut rest = w[i + 1..].iter().map(String::as_str);
            let mut next = rest.next();
            if next == Some("or") {
                rest.next(); // replace
                next = rest.next();
            }
            while matches!(
                next,
                Some("temp" | "temporary" | "recursive" | "constraint" | "unique" | "trusted")
            ) {
                next = rest.next();
            }
            let kind = match next {
                Some("function") => "a function",
                Some("procedure") => "a procedure",
                Some("aggregate") => "an aggregate",
                Some("trigger") => "a trigger",
                Some("event") => "an event trigger",
                Some("view") => "a view",
                Some("materialized") => "a materialized view",
                Some("extension") => "an extension",
                Some("domain") => "a domain",
                Some("rule") => "a rule",
                Some("collation") => "a collation",
                Some("operator") => "an operator",
                Some("cast") => "a cast",
                Some("statistics") => "extended statistics",
                Some("publication") => "a publication",
                Some("type") => {
                    let name = rest.next().unwrap_or_default();
                    let is_enum = rest.next() == Some("as") && rest.next() == Some("enum");
                    if is_enum {
                        continue;
                    }
                    return Some(format!("a type other than an enum ({name})"));
                }
                Some("sequence") => {
                    let mut name = rest.next().unwrap_or_default();
                    if name == "if" {
                        rest.next(); // not
                        rest.next(); // exists
                        name = rest.next().unwrap_or_default();
                    }
                    if !drawn_by_default(&joined, name) {
                        return Some(format!("a sequence no column default draws from ({name})"));
                    }
                    continue;
                }
                _ => continue,
            };
            return Some(kind.to_string());
        }
    }
    None
}

/// Whether a column default of the DDL draws from the sequence `name` (as the DDL writes it,
/// lower-cased): `DEFAULT nextval('name')`.
fn drawn_by_default(ddl: &[String], name: &str) -> bool {
    let name = name.trim_end_matches([';', '(']);
    let needle = format!("nextval('{name}'");
    ddl.iter().any(|text| {
        text.match_indices(&needle).any(|(at, _)| {
            let before = text[..at].trim_end();
            before.ends_with("default")
        })
    })
}

/// The DDL's words, lower-cased, outside comments and string literals: runs of characters
/// other than white space, `(`, `)`, `,` and `;` (a quoted identifier stays one word).
fn words(ddl: &str) -> Vec<String> {
    let text = strip_comments(ddl);
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_string = false;
    for c in text.chars() {
        if in_string {
            if c == '\'' {
                in_string = false;
            }
            continue;
        }
        if c == '\'' {
            in_string = true;
        }
        if c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';' | '\'') {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word).to_lowercase());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        words.push(word.to_lowercase());
    }
    words
}

/// The DDL without its `--` comments (outside single-quoted strings) and `/* */` comments.
fn strip_comments(ddl: &str) -> String {
    let chars: Vec<char> = ddl.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut in_string = false;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\'' {
                in_string = false;
            }
            i += 1;
        } else if c == '\'' {
            in_string = true;
            out.push(c);
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(ddl: &str) -> Case {
        Case {
            old_ddl: vec![ddl.to_string()],
            ..Case::default()
        }
    }

    #[test]
    fn finds_what_the_model_does_not_manage() {
        assert_eq!(
            unmanaged(&case("CREATE TABLE t(id int); -- create function")),
            None
        );
        assert_eq!(unmanaged(&case("CREATE TYPE c AS ENUM ('a');")), None);
        assert_eq!(
            unmanaged(&case(
                "CREATE TYPE evil AS ENUM ('x''); DROP TABLE foo; --');"
            )),
            None
        );
        assert!(unmanaged(&case("CREATE TYPE c AS (a int);")).is_some());
        assert!(unmanaged(&case("CREATE OR REPLACE FUNCTION f() ...")).is_some());
        assert!(unmanaged(&case("CREATE MATERIALIZED VIEW v AS SELECT 1")).is_some());
        assert!(unmanaged(&case("create sequence s; create table t(id int)")).is_some());
        assert_eq!(
            unmanaged(&case(
                "CREATE SEQUENCE s; CREATE TABLE t(id int DEFAULT nextval('s'))"
            )),
            None
        );
    }
}
