//! `pg_dump --schema-only` of a database as a sorted list of statements: comment lines, `SET`
//! lines and psql meta-commands left out, each statement's text kept whole (so that a column
//! order still counts), the list sorted (so that the order pg_dump writes objects in does not).

use std::process::Stdio;

use crate::Error;

/// The statements of `pg_dump --schema-only` of the database at `url`, sorted.
pub async fn statements(pg_dump: &str, url: &str) -> Result<Vec<String>, Error> {
    let output = tokio::process::Command::new(pg_dump)
        .args(["--schema-only", "-d", url])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| format!("cannot run {pg_dump}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "pg_dump failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(split(&String::from_utf8_lossy(&output.stdout)))
}

/// The statements of a dump, sorted: lines that open with `--`, `SET ` or `\` left out, the
/// others joined until one ends with `;`.
pub fn split(dump: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in dump.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty()
            || trimmed.starts_with("--")
            || trimmed.starts_with("SET ")
            || trimmed.starts_with('\\')
        {
            continue;
        }
        current.push(line.trim_end());
        if line.trim_end().ends_with(';') {
            statements.push(current.join("\n"));
            current.clear();
        }
    }
    if !current.is_empty() {
        statements.push(current.join("\n"));
    }
    statements.sort();
    statements
}

/// The first difference between two sorted statement lists, in one line: a statement only
/// the first holds, else one only the second holds; `None` when they are equal.
pub fn first_difference(after: &[String], expected: &[String]) -> Option<String> {
    let only = |a: &[String], b: &[String]| -> Vec<String> {
        let mut rest: Vec<&String> = b.iter().collect();
        let mut only = Vec::new();
        for s in a {
            match rest.iter().position(|r| *r == s) {
                Some(at) => {
                    rest.remove(at);
                }
                None => only.push(s.clone()),
            }
        }
        only
    };
    let extra = only(after, expected);
    let missing = only(expected, after);
    if extra.is_empty() && missing.is_empty() {
        return None;
    }
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut parts = Vec::new();
    if let Some(s) = missing.first() {
        parts.push(format!("B has `{}`", one_line(s)));
    }
    if let Some(s) = extra.first() {
        parts.push(format!("A after the plan has `{}`", one_line(s)));
    }
    Some(format!(
        "{} ({} statement(s) only in B, {} only in A)",
        parts.join("; "),
        missing.len(),
        extra.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_statements_whole_and_sorted() {
        let dump = "--\n-- Name: t\n--\nSET x = 1;\n\\restrict abc\nSELECT pg_catalog.set_config('search_path', '', false);\n\nCREATE TABLE public.t (\n    b int,\n    a int\n);\nALTER TABLE public.t OWNER TO postgres;\n";
        let s = split(dump);
        assert_eq!(s.len(), 3);
        assert_eq!(s[1], "CREATE TABLE public.t (\n    b int,\n    a int\n);");
        let other = split(&dump.replace("b int,\n    a int", "a int,\n    b int"));
        assert!(first_difference(&s, &other).is_some());
        assert!(first_difference(&s, &s).is_none());
    }
}
