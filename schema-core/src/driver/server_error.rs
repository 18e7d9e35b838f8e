//! The server's report of a statement it refused, as both drivers keep it: every field that
//! names something (the SQLSTATE, the table, the column, the constraint) as sent, and the
//! values the server echoes (a refused row, a duplicate key, text that did not parse) left out.
//!
//! A row can hold PHI (a ticket's `description`), and the server quotes a refused row whole in
//! its DETAIL ("Failing row contains (...)"), a duplicate or missing key's values ("Key
//! (col)=(...) already exists"), the text a type could not read in a data exception's message
//! ("invalid input syntax for type uuid: \"...\""), and a JSON document's line in its CONTEXT.
//! The drivers' own errors keep all of it, and print it in `Debug`: so neither is kept, only
//! this copy, whose `Display`, `Debug` and `source()` can carry no value of a row.

use std::fmt;

use super::ConstraintKind;

/// What stands in for the values the server echoed.
pub(crate) const LEFT_OUT: &str = "<values left out>";

/// The server's error for a statement it refused, without the values of any row.
///
/// Kept: the SQLSTATE, the severity, the message (for a data exception, SQLSTATE class `22`,
/// without the quoted text it could not read), the hint, and the schema, table, column, data
/// type and constraint it names. The DETAIL is kept with the values it quotes left out
/// (`Failing row contains (<values left out>)`, `Key (email)=(<values left out>) already
/// exists.`). The CONTEXT (which can quote a value, a JSON document's line for one) and the
/// statement's text are not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerError {
    /// The SQLSTATE (`23505`).
    pub code: String,
    /// `ERROR`, `FATAL` or `PANIC`.
    pub severity: String,
    /// The primary message, without the values it quoted.
    pub message: String,
    /// The DETAIL, without the values it quoted.
    pub detail: Option<String>,
    /// The HINT.
    pub hint: Option<String>,
    /// The schema of the object the error is about.
    pub schema: Option<String>,
    /// The table the error is about.
    pub table: Option<String>,
    /// The column the error is about.
    pub column: Option<String>,
    /// The data type the error is about.
    pub datatype: Option<String>,
    /// The constraint the error is about.
    pub constraint: Option<String>,
}

/// A row the database refused by one of its rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstraintViolation {
    /// Which kind of rule.
    pub kind: ConstraintKind,
    /// The table, as the server reports it.
    pub table: Option<String>,
    /// The constraint's name, as the server reports it.
    pub constraint: Option<String>,
    /// The column, as the server reports it (NOT NULL violations).
    pub column: Option<String>,
    /// The server's message.
    pub message: String,
    /// The server's error, without the values of the row (see [`ServerError`]).
    pub source: ServerError,
}

impl ConstraintViolation {
    /// The broken rule of a row that the server's error reports (by SQLSTATE, see
    /// [`ConstraintKind`]), or the error as it is when it reports none.
    pub(crate) fn classify(mut server: ServerError) -> Result<Box<Self>, Box<ServerError>> {
        server.fill_in_relayed();
        match ConstraintKind::of(
            &server.code,
            server.table.as_deref(),
            server.column.as_deref(),
            server.constraint.as_deref(),
        ) {
            Some(kind) => Ok(Box::new(ConstraintViolation {
                kind,
                table: server.table.clone(),
                constraint: server.constraint.clone(),
                column: server.column.clone(),
                message: server.message.clone(),
                source: server,
            })),
            None => Err(Box::new(server)),
        }
    }
}

impl fmt::Display for ConstraintViolation {
    /// `refused by the database (Kind `constraint` on column `column`): message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused by the database ({:?}", self.kind)?;
        if let Some(constraint) = &self.constraint {
            write!(f, " `{constraint}`")?;
        }
        if let Some(column) = &self.column {
            write!(f, " on column `{column}`")?;
        }
        write!(f, "): {}", self.message)
    }
}

/// The fields of a server's error, as a driver gives them, borrowed.
#[derive(Default)]
pub(crate) struct ServerFields<'a> {
    pub(crate) code: &'a str,
    pub(crate) severity: &'a str,
    pub(crate) message: &'a str,
    pub(crate) detail: Option<&'a str>,
    pub(crate) hint: Option<&'a str>,
    pub(crate) schema: Option<&'a str>,
    pub(crate) table: Option<&'a str>,
    pub(crate) column: Option<&'a str>,
    pub(crate) datatype: Option<&'a str>,
    pub(crate) constraint: Option<&'a str>,
}

impl ServerError {
    /// The copy of a server's error that keeps no value of a row.
    pub(crate) fn redacted(fields: ServerFields<'_>) -> Self {
        let data_exception = fields.code.starts_with("22");
        let owned = |s: Option<&str>| s.map(str::to_string);
        ServerError {
            code: fields.code.to_string(),
            severity: fields.severity.to_string(),
            message: if data_exception {
                without_quoted(fields.message)
            } else {
                fields.message.to_string()
            },
            detail: fields.detail.map(|detail| {
                if data_exception {
                    without_quoted(detail)
                } else {
                    without_row_values(fields.code, detail)
                }
            }),
            hint: owned(fields.hint),
            schema: owned(fields.schema),
            table: owned(fields.table),
            column: owned(fields.column),
            datatype: owned(fields.datatype),
            constraint: owned(fields.constraint),
        }
    }
}

impl ServerError {
    /// An error Citus relayed from a worker: Citus passes on the SQLSTATE and the texts but not
    /// the table, column and constraint fields, and the texts name the shard
    /// (`support_tickets_102021`, `support_tickets_status_check_102021`). Those fields are
    /// read back from the message, with the shard's number taken off the names: the immutable
    /// guard's refusal (`column "c" of table "t" never changes after insert`), a check, a
    /// foreign key, a unique key and a `NOT NULL`. An error that names its table is left as it
    /// is.
    pub(crate) fn fill_in_relayed(&mut self) {
        if self.table.is_some() || self.constraint.is_some() {
            return;
        }
        let message = self.message.clone();
        let quoted: Vec<&str> = message.split('"').skip(1).step_by(2).collect();
        let (table, column, constraint) = match (self.code.as_str(), quoted.as_slice()) {
            ("23000", [column, table]) if self.message.ends_with("never changes after insert") => {
                let constraint = crate::def::immutable_constraint_name(table, column);
                (
                    table.to_string(),
                    Some(column.to_string()),
                    Some(constraint.into_owned()),
                )
            }
            ("23514" | "23503", [table, constraint]) => {
                let Some((table, shard)) = without_shard(table) else {
                    return;
                };
                let constraint = constraint
                    .strip_suffix(shard)
                    .and_then(|c| c.strip_suffix('_'))
                    .unwrap_or(constraint);
                (table.to_string(), None, Some(constraint.to_string()))
            }
            ("23505", [constraint]) => {
                let Some((constraint, _)) = without_shard(constraint) else {
                    return;
                };
                self.constraint = Some(constraint.to_string());
                self.message = self.message.replace(quoted[0], constraint);
                return;
            }
            ("23502", [column, table]) => {
                let Some((table, _)) = without_shard(table) else {
                    return;
                };
                (table.to_string(), Some(column.to_string()), None)
            }
            _ => return,
        };
        for name in &quoted {
            if let Some((bare, _)) = without_shard(name) {
                self.message = self
                    .message
                    .replace(&format!("\"{name}\""), &format!("\"{bare}\""));
            }
        }
        self.table = Some(table);
        self.column = column;
        self.constraint = constraint;
    }
}

/// A shard's name without its shard number (`support_tickets_102021`: `support_tickets` and
/// `102021`); `None` for a name that ends in no number.
fn without_shard(name: &str) -> Option<(&str, &str)> {
    let (bare, shard) = name.rsplit_once('_')?;
    (!bare.is_empty() && shard.len() >= 6 && shard.bytes().all(|b| b.is_ascii_digit()))
        .then_some((bare, shard))
}

/// A DETAIL with the row values it quotes left out: a refused row (`Failing row contains
/// (...)`), the partition key of a row no partition takes (`Partition key of the failing row
/// contains (cols) = (...)`) and a key's values (`Key (cols)=(...)`), keeping the columns and,
/// for the two
/// SQLSTATEs whose DETAIL ends in a known way, what the server says of the key: `already
/// exists.` (23505), `is not present in table "t".` or `is still referenced from table "t".`
/// (23503). The server quotes values without escaping them, so what follows them is found from
/// the end, where no value can be; for any other SQLSTATE, everything after the columns is left
/// out.
fn without_row_values(code: &str, detail: &str) -> String {
    const FAILING_ROW: &str = "Failing row contains ";
    const PARTITION_KEY: &str = "Partition key of the failing row contains (";
    if detail.starts_with(FAILING_ROW) {
        return format!("{FAILING_ROW}({LEFT_OUT}).");
    }
    if let Some(rest) = detail.strip_prefix(PARTITION_KEY) {
        return match rest.find(") = (") {
            Some(end) => format!("{PARTITION_KEY}{}) = ({LEFT_OUT}).", &rest[..end]),
            None => format!("{PARTITION_KEY}{LEFT_OUT})."),
        };
    }
    let Some(columns) = detail
        .strip_prefix("Key (")
        .and_then(|rest| rest.find(")=(").map(|end| &rest[..end]))
    else {
        return detail.to_string();
    };
    let tail = match code {
        "23505" if detail.ends_with(") already exists.") => " already exists.",
        "23503" => [
            ") is not present in table \"",
            ") is still referenced from table \"",
        ]
        .iter()
        .filter_map(|tail| detail.rfind(tail))
        .max()
        .map_or("", |at| &detail[at + 1..]),
        _ => "",
    };
    format!("Key ({columns})=({LEFT_OUT}){tail}")
}

/// A data exception's text with what it quotes (the text a type could not read, from the
/// first `"` to the last) left out: `invalid input syntax for type uuid: "<values left out>"`.
fn without_quoted(text: &str) -> String {
    match (text.find('"'), text.rfind('"')) {
        (Some(first), Some(last)) if first < last => {
            format!("{}\"{LEFT_OUT}\"{}", &text[..first], &text[last + 1..])
        }
        // A single quote mark: everything after it.
        (Some(first), _) => format!("{}\"{LEFT_OUT}", &text[..first]),
        _ => text.to_string(),
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database error {}: {}", self.code, self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(code: &'a str, message: &'a str, detail: Option<&'a str>) -> ServerFields<'a> {
        ServerFields {
            code,
            severity: "ERROR",
            message,
            detail,
            hint: None,
            schema: Some("public"),
            table: Some("support_tickets"),
            column: Some("context_url"),
            datatype: None,
            constraint: None,
        }
    }

    #[test]
    fn an_error_citus_relayed_from_a_shard_names_the_table_and_its_rule() {
        use crate::driver::ConstraintKind;
        let relayed = |code: &str, message: &str| {
            // What Citus relays: no table, column or constraint field.
            let mut error = ServerError::redacted(ServerFields {
                code,
                severity: "ERROR",
                message,
                ..ServerFields::default()
            });
            error.fill_in_relayed();
            let kind = ConstraintKind::of(
                &error.code,
                error.table.as_deref(),
                error.column.as_deref(),
                error.constraint.as_deref(),
            );
            (
                kind,
                error.table,
                error.column,
                error.constraint,
                error.message,
            )
        };
        assert_eq!(
            relayed(
                "23000",
                "column \"created_at\" of table \"support_tickets\" never changes after insert"
            ),
            (
                Some(ConstraintKind::Immutable),
                Some("support_tickets".into()),
                Some("created_at".into()),
                Some("support_tickets_created_at_immutable".into()),
                "column \"created_at\" of table \"support_tickets\" never changes after insert"
                    .into()
            )
        );
        assert_eq!(
            relayed(
                "23514",
                "new row for relation \"support_tickets_102021\" violates check constraint \"support_tickets_status_check_102021\""
            ),
            (
                Some(ConstraintKind::Check),
                Some("support_tickets".into()),
                None,
                Some("support_tickets_status_check".into()),
                "new row for relation \"support_tickets\" violates check constraint \"support_tickets_status_check\"".into()
            )
        );
        // A 23000 of someone else's trigger stays unclassified.
        assert_eq!(relayed("23000", "no").0, None);
    }

    #[test]
    fn a_refused_rows_values_are_left_out_of_the_detail() {
        let error = ServerError::redacted(fields(
            "23502",
            "null value in column \"context_url\" of relation \"support_tickets\" violates \
             not-null constraint",
            Some("Failing row contains (1, PHI-MARKER, null)."),
        ));
        assert_eq!(
            error.detail.as_deref(),
            Some("Failing row contains (<values left out>).")
        );
        assert_eq!(error.column.as_deref(), Some("context_url"));
        assert!(!format!("{error} {error:?}").contains("PHI-MARKER"));
    }

    #[test]
    fn a_partition_keys_values_are_left_out_and_its_columns_kept() {
        assert_eq!(
            without_row_values(
                "23514",
                "Partition key of the failing row contains (patient, day) = (PHI) = (x, 1)."
            ),
            "Partition key of the failing row contains (patient, day) = (<values left out>)."
        );
    }

    #[test]
    fn a_keys_values_are_left_out_and_its_columns_and_table_kept() {
        assert_eq!(
            without_row_values("23505", "Key (description)=(PHI) already exists."),
            "Key (description)=(<values left out>) already exists."
        );
        // A value that holds what follows values: the last occurrence ends them.
        assert_eq!(
            without_row_values(
                "23505",
                "Key (a, b)=(x) already exists., PHI) already exists."
            ),
            "Key (a, b)=(<values left out>) already exists."
        );
        assert_eq!(
            without_row_values(
                "23503",
                "Key (provider_id)=(x) already exists.PHI) is not present in table \"providers\"."
            ),
            "Key (provider_id)=(<values left out>) is not present in table \"providers\"."
        );
        assert_eq!(
            without_row_values(
                "23503",
                "Key (id)=(PHI) is still referenced from table \"lines\"."
            ),
            "Key (id)=(<values left out>) is still referenced from table \"lines\"."
        );
        // An exclusion constraint's DETAIL quotes two rows' values: nothing after the columns.
        assert_eq!(
            without_row_values(
                "23P01",
                "Key (during)=(PHI) conflicts with existing key (during)=(x) already exists.)."
            ),
            "Key (during)=(<values left out>)"
        );
        assert_eq!(
            without_row_values("42501", "Role \"x\" has no privilege."),
            "Role \"x\" has no privilege."
        );
    }

    #[test]
    fn a_data_exception_keeps_no_quoted_text() {
        let error = ServerError::redacted(fields(
            "22P02",
            "invalid input syntax for type uuid: \"PHI \"quoted\" here\"",
            Some("Token \"PHI\" is invalid."),
        ));
        assert_eq!(
            error.message,
            "invalid input syntax for type uuid: \"<values left out>\""
        );
        assert_eq!(
            error.detail.as_deref(),
            Some("Token \"<values left out>\" is invalid.")
        );
        assert_eq!(
            without_quoted("value \"99999999999\" is out of range for type integer"),
            "value \"<values left out>\" is out of range for type integer"
        );
        assert_eq!(
            without_quoted("value too long for type character varying(200)"),
            "value too long for type character varying(200)"
        );
        assert_eq!(without_quoted("odd \"PHI"), "odd \"<values left out>");
        // Other classes keep their message: it names objects, not values.
        let error = ServerError::redacted(fields("42P01", "relation \"x\" does not exist", None));
        assert_eq!(error.message, "relation \"x\" does not exist");
    }
}
