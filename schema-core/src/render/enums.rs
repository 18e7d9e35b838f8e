//! The SQL of native enum types: created, dropped, renamed, their labels added and renamed.

use super::*;

/// The SQL of `statement`, one of this kind of object's.
pub(super) fn write(statement: &Statement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use Statement::*;
    match statement {
        CreateEnum(e) => write!(
            f,
            "CREATE TYPE {} AS ENUM ({})",
            qt(&e.name),
            e.values
                .iter()
                .map(|v| quote_literal(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DropEnum { name } => write!(f, "DROP TYPE {}", qt(name)),
        RenameEnum { from, to } => write!(
            f,
            "ALTER TYPE {} RENAME TO {}",
            qt(from),
            q(split_qualified(to).1)
        ),
        AddEnumValue {
            name,
            value,
            after,
            before,
        } => {
            write!(
                f,
                "ALTER TYPE {} ADD VALUE {}",
                qt(name),
                quote_literal(value)
            )?;
            match (after, before) {
                (Some(after), _) => write!(f, " AFTER {}", quote_literal(after)),
                (None, Some(before)) => write!(f, " BEFORE {}", quote_literal(before)),
                (None, None) => Ok(()),
            }
        }
        RenameEnumValue { name, from, to } => write!(
            f,
            "ALTER TYPE {} RENAME VALUE {} TO {}",
            qt(name),
            quote_literal(from),
            quote_literal(to)
        ),
        _ => Ok(()),
    }
}
