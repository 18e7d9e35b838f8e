//! The conditions a plan prints (`Index Cond`, `Filter`, `Sort Key`), read as far as the check
//! needs: the `AND`ed parts, each as `column op operand`, and what the operand is.

/// What the right side of a condition is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Operand {
    /// Holds a parameter of the query (`$2`).
    Parameter,
    /// A constant the query wrote (`'OPEN'::text`, `42`).
    Constant,
    /// A setting read at run time (`current_setting(...)`): a policy's qual.
    Setting,
    /// Another expression (a column of another table, in a join).
    Expression,
}

/// One condition of an `AND` list, read as `column op operand`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Condition {
    /// The column on the left, casts and parentheses removed; `None` when the left side is
    /// not a plain column.
    pub(super) column: Option<String>,
    /// The operator (`=`, `<`, `= ANY`, ...).
    pub(super) operator: String,
    /// What the right side is.
    pub(super) operand: Operand,
}

/// The bytes of `text` outside its quoted literals, each with its position and how many
/// parentheses are open before it: the one walk every reading below makes.
fn unquoted(text: &str) -> impl Iterator<Item = (usize, u8, usize)> + '_ {
    let mut depth = 0usize;
    let mut quoted = false;
    text.bytes().enumerate().filter_map(move |(i, b)| {
        if b == b'\'' {
            quoted = !quoted;
            return None;
        }
        if quoted {
            return None;
        }
        let open = depth;
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        Some((i, b, open))
    })
}

/// Splits a printed condition into its top-level `AND`ed parts, each without its outer
/// parentheses.
pub(super) fn conjuncts(text: &str) -> Vec<&str> {
    let text = strip_parens(text.trim());
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, b, open) in unquoted(text) {
        if b == b' ' && open == 0 && i >= start && text[i..].starts_with(" AND ") {
            parts.push(strip_parens(text[start..i].trim()));
            start = i + " AND ".len();
        }
    }
    parts.push(strip_parens(text[start..].trim()));
    parts
}

/// `text` without the parentheses that wrap all of it, as many pairs as there are.
pub(super) fn strip_parens(mut text: &str) -> &str {
    while text.starts_with('(') && text.ends_with(')') {
        // `(a) = (b)` starts and ends with parentheses that do not wrap the whole: its first
        // one closes before the end.
        let closes_early =
            unquoted(text).any(|(i, b, open)| b == b')' && open == 1 && i + 1 < text.len());
        if closes_early {
            break;
        }
        text = text[1..text.len() - 1].trim();
    }
    text
}

/// Reads one condition as `column op operand`, where it has that shape; `column IS NULL` and
/// `column IS NOT NULL` read as the operator `IS NULL` or `IS NOT NULL` with a constant.
pub(super) fn condition(text: &str) -> Option<Condition> {
    for test in ["IS NOT NULL", "IS NULL"] {
        if let Some(left) = text.strip_suffix(test).and_then(|t| t.strip_suffix(' ')) {
            return Some(Condition {
                column: column_of(left),
                operator: test.to_string(),
                operand: Operand::Constant,
            });
        }
    }
    for (i, b, open) in unquoted(text) {
        if b != b' ' || open != 0 {
            continue;
        }
        let rest = &text[i + 1..];
        let operator: String = rest
            .chars()
            .take_while(|c| "=<>!~*+-/%^&|#@?".contains(*c))
            .collect();
        if operator.is_empty() || !rest[operator.len()..].starts_with(' ') {
            continue;
        }
        let mut right = rest[operator.len()..].trim();
        let mut operator = operator;
        for quantifier in ["ANY ", "ALL "] {
            if let Some(inner) = right.strip_prefix(quantifier) {
                operator = format!("{operator} {}", quantifier.trim());
                right = inner;
            }
        }
        return Some(Condition {
            column: column_of(&text[..i]),
            operator,
            operand: operand(right),
        });
    }
    None
}

/// The column a left side names: `(status)::text` → `status`; `None` for an expression.
pub(super) fn column_of(left: &str) -> Option<String> {
    let mut text = strip_parens(left.trim());
    // Casts, outermost last: `((status)::text)::varchar`.
    while let Some(position) = top_level_cast(text) {
        text = strip_parens(text[..position].trim());
    }
    let plain = text.starts_with('"')
        || text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    (plain && !text.is_empty() && !text.starts_with('$')).then(|| text.to_string())
}

/// Where the last top-level `::` of `text` is.
pub(super) fn top_level_cast(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    unquoted(text)
        .filter(|&(i, b, open)| {
            b == b':'
                && open == 0
                && bytes.get(i + 1) == Some(&b':')
                && (i == 0 || bytes[i - 1] != b':')
        })
        .map(|(i, _, _)| i)
        .last()
}

/// What a right side is (see [`Operand`]).
pub(super) fn operand(right: &str) -> Operand {
    let bytes = right.as_bytes();
    let parameter = unquoted(right)
        .any(|(i, b, _)| b == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
    if parameter {
        return Operand::Parameter;
    }
    let lowered = right.to_ascii_lowercase();
    if lowered.contains("current_setting(") {
        return Operand::Setting;
    }
    let bare = strip_parens(right);
    let bare = match top_level_cast(bare) {
        Some(position) => strip_parens(bare[..position].trim()),
        None => bare,
    };
    let literal = bare.starts_with('\'')
        || bare.starts_with('-')
        || bare.starts_with(|c: char| c.is_ascii_digit())
        || bare.starts_with("'{")
        || matches!(bare, "true" | "false" | "NULL");
    if literal {
        Operand::Constant
    } else {
        Operand::Expression
    }
}

/// A sort key as the plan prints it (`created_at DESC`, `priority NULLS FIRST`): its column
/// and the attribute's options for it (`desc`, `nulls_first`).
pub(super) fn sort_key(key: &str) -> (String, Vec<&'static str>) {
    let mut text = key.trim();
    let mut options = Vec::new();
    for (suffix, option) in [
        (" NULLS FIRST", "nulls_first"),
        (" NULLS LAST", "nulls_last"),
    ] {
        if let Some(rest) = text.strip_suffix(suffix) {
            text = rest;
            options.push(option);
        }
    }
    if let Some(rest) = text.strip_suffix(" DESC") {
        text = rest;
        options.insert(0, "desc");
    }
    let column = column_of(text).unwrap_or_else(|| text.to_string());
    (column, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_read_through_parentheses_and_casts() {
        assert_eq!(
            conjuncts("((provider_id = $1) AND ((status)::text = $2))"),
            vec!["provider_id = $1", "(status)::text = $2"]
        );
        assert_eq!(
            condition("(status)::text = ANY ($1)"),
            Some(Condition {
                column: Some("status".into()),
                operator: "= ANY".into(),
                operand: Operand::Parameter,
            })
        );
        assert_eq!(
            condition(
                "provider_id = (NULLIF(current_setting('app.provider_id'::text, true), ''::text))::uuid"
            )
            .map(|c| c.operand),
            Some(Operand::Setting)
        );
        assert_eq!(
            condition("(status)::text = 'OPEN AND x = $1'::text").map(|c| c.operand),
            Some(Operand::Constant)
        );
        assert_eq!(
            condition("(assigned_to)::text IS NULL"),
            Some(Condition {
                column: Some("assigned_to".into()),
                operator: "IS NULL".into(),
                operand: Operand::Constant,
            })
        );
        assert_eq!(strip_parens("((a) = (b))"), "(a) = (b)");
        assert_eq!(strip_parens("(a) = (b)"), "(a) = (b)");
        assert_eq!(
            conjuncts("((status)::text = 'a AND b'::text)"),
            vec!["(status)::text = 'a AND b'::text"]
        );
        assert_eq!(
            condition("\"Weird Col\" >= $3").and_then(|c| c.column),
            Some("\"Weird Col\"".into())
        );
    }
}
