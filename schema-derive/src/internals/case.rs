//! `rename_all` rules: from a Rust variant name (PascalCase) to its stored text.

/// Every rule `rename_all` accepts.
pub const RULES: &[&str] = &[
    "lowercase",
    "UPPERCASE",
    "PascalCase",
    "camelCase",
    "snake_case",
    "SCREAMING_SNAKE_CASE",
    "kebab-case",
    "SCREAMING-KEBAB-CASE",
];

/// `name` (PascalCase) under `rule`; `None` for an unknown rule.
pub fn apply(rule: &str, name: &str) -> Option<String> {
    let snake = || {
        let mut out = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        }
        out
    };
    Some(match rule {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "PascalCase" => name.to_string(),
        "camelCase" => {
            let mut chars = name.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
        "snake_case" => snake(),
        "SCREAMING_SNAKE_CASE" => snake().to_uppercase(),
        "kebab-case" => snake().replace('_', "-"),
        "SCREAMING-KEBAB-CASE" => snake().to_uppercase().replace('_', "-"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::apply;

    #[test]
    fn rules_convert_pascal_case() {
        let convert = |rule| apply(rule, "WaitingOnCustomer").unwrap();
        assert_eq!(convert("SCREAMING_SNAKE_CASE"), "WAITING_ON_CUSTOMER");
        assert_eq!(convert("snake_case"), "waiting_on_customer");
        assert_eq!(convert("kebab-case"), "waiting-on-customer");
        assert_eq!(convert("SCREAMING-KEBAB-CASE"), "WAITING-ON-CUSTOMER");
        assert_eq!(convert("camelCase"), "waitingOnCustomer");
        assert_eq!(convert("lowercase"), "waitingoncustomer");
        assert_eq!(convert("UPPERCASE"), "WAITINGONCUSTOMER");
        assert_eq!(convert("PascalCase"), "WaitingOnCustomer");
        assert_eq!(apply("Title Case", "A"), None);
    }
}
