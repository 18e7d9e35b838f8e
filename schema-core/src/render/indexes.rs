//! The SQL of indexes: built (at once or `CONCURRENTLY`), dropped, renamed; the unique index a
//! key is then added on.

use super::*;

/// The SQL of `statement`, one of this kind of object's.
pub(super) fn write(statement: &Statement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use Statement::*;
    match statement {
        CreateIndex {
            table,
            index,
            concurrently,
        } => {
            let keys = index
                .keys
                .iter()
                .map(|key| {
                    let mut item = if key.expression {
                        format!("({})", key.column)
                    } else {
                        q(&key.column)
                    };
                    if let Some(opclass) = &key.opclass {
                        item.push(' ');
                        item.push_str(&q(opclass));
                    }
                    if key.descending {
                        item.push_str(" DESC");
                    }
                    if key.nulls_first != key.descending {
                        item.push_str(if key.nulls_first {
                            " NULLS FIRST"
                        } else {
                            " NULLS LAST"
                        });
                    }
                    item
                })
                .collect::<Vec<_>>()
                .join(", ");
            // A concurrent build may be run again after a failure: the runner drops the
            // invalid index the failure left first, and a valid one is kept.
            write!(
                f,
                "CREATE {}INDEX {}{} ON {}",
                if index.unique { "UNIQUE " } else { "" },
                if *concurrently {
                    "CONCURRENTLY IF NOT EXISTS "
                } else {
                    ""
                },
                q(&index.name),
                qt(table)
            )?;
            if index.method != "btree" {
                write!(f, " USING {}", index.method)?;
            }
            write!(f, " ({keys})")?;
            if !index.include.is_empty() {
                let include: Vec<String> = index.include.iter().map(|c| q(c)).collect();
                write!(f, " INCLUDE ({})", include.join(", "))?;
            }
            if let Some(predicate) = &index.predicate {
                write!(f, " WHERE {predicate}")?;
            }
            Ok(())
        }
        // A concurrent drop may be run again (it commits on its own, before the history
        // records it): an index already gone is no error.
        DropIndex {
            schema,
            name,
            concurrently,
            cascade,
        } => write!(
            f,
            "DROP INDEX {}{}{}",
            if *concurrently {
                "CONCURRENTLY IF EXISTS "
            } else {
                ""
            },
            quote_in_schema(schema.as_deref(), name),
            if cascade.is_empty() { "" } else { " CASCADE" }
        ),
        NamePart {
            schema,
            index,
            table,
            name,
        } => write!(
            f,
            "DO $part$ DECLARE part regclass; BEGIN \
             SELECT h.inhrelid INTO part FROM pg_catalog.pg_inherits h \
             JOIN pg_catalog.pg_index x ON x.indexrelid = h.inhrelid \
             WHERE h.inhparent = {}::regclass AND x.indrelid = {}::regclass; \
             IF (SELECT relname FROM pg_catalog.pg_class WHERE oid = part) <> {} THEN \
             EXECUTE pg_catalog.format('ALTER INDEX %s RENAME TO %I', part, {}); \
             END IF; END $part$",
            crate::sql::quote_literal(&quote_in_schema(schema.as_deref(), index)),
            crate::sql::quote_literal(&crate::sql::quote_qualified(table)),
            crate::sql::quote_literal(name),
            crate::sql::quote_literal(name),
        ),
        AttachIndex {
            schema,
            name,
            part_schema,
            part,
        } => write!(
            f,
            "ALTER INDEX {} ATTACH PARTITION {}",
            quote_in_schema(schema.as_deref(), name),
            quote_in_schema(part_schema.as_deref(), part)
        ),
        RenameIndex { schema, from, to } => write!(
            f,
            "ALTER INDEX {} RENAME TO {}",
            quote_in_schema(schema.as_deref(), from),
            q(to)
        ),
        CreateKeyIndex { table, key } => {
            let index = CreateIndex {
                table: table.clone(),
                index: key_index(key),
                concurrently: true,
            };
            write!(f, "{index}")?;
            if key.nulls_not_distinct {
                f.write_str(" NULLS NOT DISTINCT")?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What the index asks of its method that the method cannot do, if anything.
fn index_method_problem(index: &IndexDef) -> Option<&'static str> {
    let method = index.method;
    if index.unique && !method.is_ordered() {
        Some("is UNIQUE, which only a btree index can be")
    } else if !method.is_ordered()
        && index
            .columns
            .iter()
            .any(|c| c.order.is_some() || c.nulls.is_some())
    {
        Some("orders a key, which only a btree index keeps in order")
    } else if !index.include.is_empty() && !method.supports_include() {
        Some("has INCLUDE columns, which only btree, gist and spgist indexes store")
    } else if method == IndexMethod::Hash && index.columns.len() > 1 {
        Some("has several keys, and a hash index takes one")
    } else {
        None
    }
}

/// Each index has keys, on columns of the table or expressions naming them, operator classes
/// PostgreSQL takes, a method its keys suit, and a name of its own.
pub(super) fn validate_indexes(table: &TableDef, seen: &mut Seen<'_>) -> Result<(), SchemaError> {
    for index in table.indexes {
        let name = table.index_name(index).into_owned();
        let used_in = format!("index `{name}`");
        if index.columns.is_empty() {
            return Err(SchemaError::NoColumns {
                table: table.name.into(),
                used_in,
            });
        }
        for key in index.columns {
            match key.key {
                IndexKey::Column(column) => seen.require([column], &|| used_in.clone())?,
                IndexKey::Expression(parts) => require_parts(table, parts, &used_in)?,
            }
            if let Some(opclass) = key.opclass {
                if let Some(problem) = identifier_problem(opclass) {
                    return Err(seen.invalid(opclass, problem));
                }
            }
        }
        if !index.include.is_empty() {
            seen.require(index.include.iter().copied(), &|| used_in.clone())?;
        }
        if let Some(parts) = index.predicate {
            require_parts(table, parts, &used_in)?;
        }
        if let Some(problem) = index_method_problem(index) {
            return Err(SchemaError::InvalidIndex {
                table: table.name.into(),
                index: name,
                problem,
            });
        }
        seen.claim(name)?;
    }
    Ok(())
}

/// The name PostgreSQL gives the part of `parent`'s index `index` it builds on `partition`
/// when its keys are columns and the name fits: `{partition}_{columns}_idx`.
pub(crate) fn default_part_name(
    to: &SchemaModel,
    partition: &str,
    parent: &str,
    index: &str,
) -> Option<String> {
    let index = to.table(parent)?.indexes.iter().find(|i| i.name == index)?;
    let columns: Option<Vec<&str>> = index
        .keys
        .iter()
        .map(|k| (!k.expression).then_some(k.column.as_str()))
        .collect();
    let name = format!(
        "{}_{}_idx",
        crate::sql::split_qualified(partition).1,
        columns?.join("_")
    );
    (name.len() < 64).then_some(name)
}
