//! The SQL of keys, foreign keys and checks: added, validated, dropped, renamed.

use super::*;

pub(super) fn write_constraint(f: &mut fmt::Formatter<'_>, constraint: &Constraint) -> fmt::Result {
    let named =
        |f: &mut fmt::Formatter<'_>, name: &str| write!(f, "CONSTRAINT {} ", quote_ident(name));
    match constraint {
        Constraint::PrimaryKey { key, using_index } | Constraint::Unique { key, using_index } => {
            named(f, &key.name)?;
            f.write_str(if matches!(constraint, Constraint::PrimaryKey { .. }) {
                "PRIMARY KEY"
            } else {
                "UNIQUE"
            })?;
            if *using_index {
                write!(f, " USING INDEX {}", quote_ident(&key.name))
            } else {
                if key.nulls_not_distinct {
                    f.write_str(" NULLS NOT DISTINCT")?;
                }
                write!(f, " ({})", column_list(&key.columns))
            }
        }
        Constraint::ForeignKey(fk) => {
            named(f, &fk.name)?;
            write!(
                f,
                "FOREIGN KEY ({}) REFERENCES {} ({})",
                column_list(&fk.columns),
                quote_qualified(&fk.references_table),
                column_list(&fk.references_columns)
            )?;
            for (clause, action) in [("ON DELETE", fk.on_delete), ("ON UPDATE", fk.on_update)] {
                if action != ReferentialAction::default() {
                    write!(f, " {clause} {}", action.as_sql())?;
                }
            }
            Ok(())
        }
        Constraint::Check(check) => {
            named(f, &check.name)?;
            write!(f, "CHECK ({})", check.expression)?;
            if check.no_inherit {
                f.write_str(" NO INHERIT")?;
            }
            Ok(())
        }
    }
}

/// The SQL of `statement`, one of this kind of object's.
pub(super) fn write(statement: &Statement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use Statement::*;
    match statement {
        AddConstraint {
            table,
            constraint,
            not_valid,
        } => {
            write!(f, "ALTER TABLE {} ADD ", qt(table))?;
            write_constraint(f, constraint)?;
            if *not_valid {
                f.write_str(" NOT VALID")?;
            }
            Ok(())
        }
        ValidateConstraint { table, name } => write!(
            f,
            "ALTER TABLE {} VALIDATE CONSTRAINT {}",
            qt(table),
            q(name)
        ),
        DropConstraint { table, name } => {
            write!(f, "ALTER TABLE {} DROP CONSTRAINT {}", qt(table), q(name))
        }
        RenameConstraint { table, from, to } => write!(
            f,
            "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
            qt(table),
            q(from),
            q(to)
        ),
        _ => Ok(()),
    }
}

/// The primary key, unique constraints, foreign keys and checks name columns of the table, and
/// each has a name of its own.
pub(super) fn validate_constraints(
    table: &TableDef,
    seen: &mut Seen<'_>,
) -> Result<(), SchemaError> {
    if !table.primary_key.is_empty() {
        seen.require(table.primary_key.iter().copied(), &|| {
            "the primary key".into()
        })?;
        seen.claim(table.primary_key_name().into_owned())?;
    }
    for column in table.columns.iter().filter(|c| c.unique) {
        seen.claim(table.unique_name(column).into_owned())?;
    }
    for key in table.unique_keys {
        let name = table.unique_key_name(key).into_owned();
        seen.require(key.columns.iter().copied(), &|| {
            format!("unique constraint `{name}`")
        })?;
        seen.claim(name)?;
    }
    for fk in table.foreign_keys {
        let name = table.foreign_key_name(fk).into_owned();
        seen.require(fk.columns.iter().copied(), &|| {
            format!("foreign key `{name}`")
        })?;
        if fk.columns.len() != fk.references_columns.len() {
            return Err(SchemaError::NoColumns {
                table: table.name.into(),
                used_in: format!("the referenced side of foreign key `{name}`"),
            });
        }
        seen.claim(name)?;
    }
    for check in table.checks() {
        if let CheckRule::Sql(parts) = check.rule {
            require_parts(table, parts, &format!("check `{}`", check.name))?;
        }
        seen.claim(check.name.into_owned())?;
    }
    Ok(())
}
