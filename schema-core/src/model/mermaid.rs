//! A Mermaid ER diagram of a model: tables, columns with their types, keys and foreign keys; it
//! renders on GitHub inside a ```` ```mermaid ```` block.

use std::fmt::Write as _;

use super::SchemaModel;

/// A name as Mermaid reads it: letters, digits and `_` (anything else becomes `_`).
fn word(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.ends_with('_') && out.len() > 1 {
        out.pop();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

impl SchemaModel {
    /// The model as a Mermaid `erDiagram`: one entity per table, each column with its type
    /// (`varchar(10)` written `varchar_10`), `PK`, `FK` and `UK` marks and the first line of its
    /// comment; one relationship per foreign key, optional where a referencing column is
    /// nullable.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("erDiagram\n");
        for table in &self.tables {
            writeln!(out, "    {} {{", word(&table.name)).unwrap();
            for column in &table.columns {
                let mut keys = Vec::new();
                if table
                    .primary_key
                    .as_ref()
                    .is_some_and(|k| k.columns.contains(&column.name))
                {
                    keys.push("PK");
                }
                if table
                    .foreign_keys
                    .iter()
                    .any(|f| f.columns.contains(&column.name))
                {
                    keys.push("FK");
                }
                if table
                    .unique
                    .iter()
                    .any(|k| k.columns.contains(&column.name))
                {
                    keys.push("UK");
                }
                write!(
                    out,
                    "        {} {}",
                    word(&column.sql_type),
                    word(&column.name)
                )
                .unwrap();
                if !keys.is_empty() {
                    write!(out, " {}", keys.join(", ")).unwrap();
                }
                if let Some(comment) = column.comment.as_deref().and_then(|c| c.lines().next()) {
                    write!(out, " \"{}\"", comment.replace('"', "'")).unwrap();
                }
                out.push('\n');
            }
            out.push_str("    }\n");
        }
        for table in &self.tables {
            for fk in &table.foreign_keys {
                let optional = fk
                    .columns
                    .iter()
                    .any(|c| table.column(c).is_some_and(|c| c.nullable));
                writeln!(
                    out,
                    "    {} {}--o{{ {} : \"{}\"",
                    word(&fk.references_table),
                    if optional { "|o" } else { "||" },
                    word(&table.name),
                    fk.columns.join(", ")
                )
                .unwrap();
            }
        }
        out
    }
}
