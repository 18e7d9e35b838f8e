//! Typed queries to SQL text: one text per query shape, every value a numbered parameter.

use std::fmt;
use std::fmt::Write as _;

use super::{Expr, OrderTerm, QueryError, QueryValue, Select, Value};
use crate::sql::{push_quoted_ident, quote_ident};
use crate::{NullsOrder, SortOrder, TableDef};

/// A statement's text and the values of its parameters, `$1` first: what the drivers run,
/// and what any other client can.
pub struct QuerySql<'q> {
    /// The statement.
    pub sql: String,
    /// The values of `$1`, `$2`, ..., in order.
    pub params: Vec<&'q dyn QueryValue>,
}

impl fmt::Debug for QuerySql<'_> {
    /// The text and the number of parameters, never their values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuerySql")
            .field("sql", &self.sql)
            .field("params", &self.params.len())
            .finish()
    }
}

/// A statement being written: its text and the parameters numbered so far.
struct Writer<'q> {
    sql: String,
    params: Vec<&'q dyn QueryValue>,
}

impl<'q> Writer<'q> {
    fn new(sql: String) -> Self {
        Writer {
            sql,
            params: Vec::new(),
        }
    }

    /// Writes the next parameter's `$n`.
    fn bind(&mut self, value: &'q dyn QueryValue) {
        self.params.push(value);
        write!(self.sql, "${}", self.params.len()).unwrap();
    }

    fn finish(self) -> QuerySql<'q> {
        QuerySql {
            sql: self.sql,
            params: self.params,
        }
    }
}

/// The quoted names of `columns`, comma-separated.
pub(crate) fn column_list<'a>(columns: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    write_column_list(&mut out, columns);
    out
}

/// Appends the quoted names of `columns`, comma-separated.
fn write_column_list<'a>(out: &mut String, columns: impl IntoIterator<Item = &'a str>) {
    for (i, column) in columns.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_quoted_ident(out, column);
    }
}

/// Every column of the table, in order, for `SELECT` and `RETURNING`.
pub(crate) fn every_column(table: &TableDef) -> String {
    column_list(table.columns.iter().map(|c| c.name))
}

fn write_expr<'q>(w: &mut Writer<'q>, expr: &'q Expr) {
    match expr {
        Expr::Compare { column, op, value } => {
            push_quoted_ident(&mut w.sql, column);
            w.sql.push(' ');
            w.sql.push_str(op.as_sql());
            w.sql.push(' ');
            w.bind(value.get());
        }
        Expr::Between { column, low, high } => {
            write!(w.sql, "{} BETWEEN ", quote_ident(column)).unwrap();
            w.bind(low.get());
            w.sql.push_str(" AND ");
            w.bind(high.get());
        }
        Expr::InList { column, values } => {
            push_quoted_ident(&mut w.sql, column);
            w.sql.push_str(" = ANY(");
            w.bind(values.get());
            w.sql.push(')');
        }
        Expr::IsNull { column, negated } => {
            let not = if *negated { " NOT" } else { "" };
            write!(w.sql, "{} IS{not} NULL", quote_ident(column)).unwrap();
        }
        Expr::And(terms) => write_terms(w, terms, " AND ", "TRUE"),
        Expr::Or(terms) => write_terms(w, terms, " OR ", "FALSE"),
        Expr::Not(inner) => {
            w.sql.push_str("NOT (");
            write_expr(w, inner);
            w.sql.push(')');
        }
    }
}

/// `terms` joined by `joint`, a term of several parts in parentheses; `empty` for none.
fn write_terms<'q>(w: &mut Writer<'q>, terms: &'q [Expr], joint: &str, empty: &str) {
    if terms.is_empty() {
        w.sql.push_str(empty);
    }
    for (i, term) in terms.iter().enumerate() {
        if i > 0 {
            w.sql.push_str(joint);
        }
        write_term(w, term);
    }
}

/// A term of an `AND` or `OR`: in parentheses when it is one itself.
fn write_term<'q>(w: &mut Writer<'q>, term: &'q Expr) {
    if matches!(term, Expr::And(_) | Expr::Or(_)) {
        w.sql.push('(');
        write_expr(w, term);
        w.sql.push(')');
    } else {
        write_expr(w, term);
    }
}

/// One key of the order a query runs in, the primary key's tie-breakers included.
struct Key {
    column: &'static str,
    index: usize,
    order: SortOrder,
    nulls: Option<NullsOrder>,
}

/// The query's order followed by the primary key's columns it does not name, in the last
/// term's direction; nothing when the query has no order.
fn order_keys<T>(table: &TableDef, order: &[OrderTerm<T>]) -> Vec<Key> {
    let Some(last) = order.last() else {
        return Vec::new();
    };
    let position = |column: &str| table.columns.iter().position(|c| c.name == column);
    let mut keys: Vec<Key> = order
        .iter()
        .filter_map(|term| {
            Some(Key {
                column: term.column,
                index: position(term.column)?,
                order: term.order,
                nulls: term.nulls,
            })
        })
        .collect();
    for column in table.primary_key {
        if !order.iter().any(|term| term.column == *column) {
            if let Some(index) = position(column) {
                keys.push(Key {
                    column,
                    index,
                    order: last.order,
                    nulls: None,
                });
            }
        }
    }
    keys
}

/// The condition that keeps the rows after `row` in the order of `keys`. With more than one
/// key it starts with a bound on the first key alone (`"created_at" <= $2 AND ...`), implied
/// by the rest: an index that holds the first key but not the tie-breaker reads from the
/// bound on, and only rows equal in the first key are compared further.
fn write_keyset<'q>(w: &mut Writer<'q>, keys: &[Key], row: &'q [Value]) {
    let op = |order: SortOrder| match order {
        SortOrder::Asc => ">",
        SortOrder::Desc => "<",
    };
    if keys.len() == 1 {
        write!(
            w.sql,
            "{} {} ",
            quote_ident(keys[0].column),
            op(keys[0].order)
        )
        .unwrap();
        w.bind(row[keys[0].index].get());
        return;
    }
    // Each value is bound once and named again by its number.
    let first = w.params.len() + 1;
    for key in keys {
        w.params.push(row[key.index].get());
    }
    write!(
        w.sql,
        "{} {}= ${first} AND ",
        quote_ident(keys[0].column),
        op(keys[0].order)
    )
    .unwrap();
    let same_direction = keys.windows(2).all(|pair| pair[0].order == pair[1].order);
    if same_direction {
        let names: Vec<&str> = keys.iter().map(|k| k.column).collect();
        write!(
            w.sql,
            "({}) {} (",
            column_list(names.iter().copied()),
            op(keys[0].order)
        )
        .unwrap();
        for i in 0..keys.len() {
            if i > 0 {
                w.sql.push_str(", ");
            }
            write!(w.sql, "${}", first + i).unwrap();
        }
        w.sql.push(')');
    } else {
        // A row comparison has one direction; with several, each key decides only where the
        // keys before it are equal.
        w.sql.push('(');
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                w.sql.push_str(" OR ");
            }
            if i > 0 {
                w.sql.push('(');
            }
            for (j, equal) in keys[..i].iter().enumerate() {
                write!(w.sql, "{} = ${} AND ", quote_ident(equal.column), first + j).unwrap();
            }
            write!(
                w.sql,
                "{} {} ${}",
                quote_ident(key.column),
                op(key.order),
                first + i
            )
            .unwrap();
            if i > 0 {
                w.sql.push(')');
            }
        }
        w.sql.push(')');
    }
}

/// Checks that the page's keys can be compared with a row: an order, NOT NULL columns, a
/// primary key to break ties.
fn check_keyset(table: &'static TableDef, keys: &[Key]) -> Result<(), QueryError> {
    if keys.is_empty() {
        return Err(QueryError::AfterWithoutOrder { table: table.name });
    }
    if table.primary_key.is_empty() {
        return Err(QueryError::NoPrimaryKey { table: table.name });
    }
    if let Some(key) = keys.iter().find(|k| table.columns[k.index].nullable) {
        return Err(QueryError::NullableKeysetColumn {
            table: table.name,
            column: key.column,
        });
    }
    Ok(())
}

/// ` WHERE filter AND keyset`, the filter's own `AND` terms laid out at the top; nothing when
/// there is neither.
fn write_where<'q>(
    w: &mut Writer<'q>,
    table: &'static TableDef,
    filter: Option<&'q Expr>,
    after: Option<(&'q [Value], &[Key])>,
) -> Result<(), QueryError> {
    if let Some((_, keys)) = after {
        check_keyset(table, keys)?;
    }
    let filter_terms: &[Expr] = match filter {
        Some(Expr::And(terms)) if !terms.is_empty() => terms,
        Some(other) => std::slice::from_ref(other),
        None => &[],
    };
    if filter_terms.is_empty() && after.is_none() {
        return Ok(());
    }
    w.sql.push_str(" WHERE ");
    for (i, term) in filter_terms.iter().enumerate() {
        if i > 0 {
            w.sql.push_str(" AND ");
        }
        if filter_terms.len() > 1 || after.is_some() {
            write_term(w, term);
        } else {
            write_expr(w, term);
        }
    }
    if let Some((row, keys)) = after {
        if !filter_terms.is_empty() {
            w.sql.push_str(" AND ");
        }
        write_keyset(w, keys, row);
    }
    Ok(())
}

/// `SELECT columns FROM t [WHERE ...] [ORDER BY ...] [LIMIT $n] [OFFSET $n]`.
pub(crate) fn select<'q, 'c, T>(
    table: &'static TableDef,
    query: &'q Select<T>,
    columns: impl IntoIterator<Item = &'c str>,
) -> Result<QuerySql<'q>, QueryError> {
    // Room for most statements, so that the text is not copied as it grows.
    let mut sql = String::with_capacity(512);
    sql.push_str("SELECT ");
    write_column_list(&mut sql, columns);
    sql.push_str(" FROM ");
    sql.push_str(&table.quoted_name());
    let mut w = Writer::new(sql);
    let keys = order_keys(table, &query.order);
    let after = query.after.as_deref().map(|row| (row, keys.as_slice()));
    write_where(&mut w, table, query.filter.as_ref(), after)?;
    if !keys.is_empty() {
        w.sql.push_str(" ORDER BY ");
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                w.sql.push_str(", ");
            }
            push_quoted_ident(&mut w.sql, key.column);
            if key.order == SortOrder::Desc {
                w.sql.push_str(" DESC");
            }
            match key.nulls {
                Some(NullsOrder::First) => w.sql.push_str(" NULLS FIRST"),
                Some(NullsOrder::Last) => w.sql.push_str(" NULLS LAST"),
                None => {}
            }
        }
    }
    if let Some(limit) = &query.limit {
        w.sql.push_str(" LIMIT ");
        w.bind(limit);
    }
    if let Some(offset) = &query.offset {
        w.sql.push_str(" OFFSET ");
        w.bind(offset);
    }
    Ok(w.finish())
}

/// `SELECT count(*) FROM t [WHERE ...]`.
pub(crate) fn count<'q, T>(
    table: &'static TableDef,
    query: &'q Select<T>,
) -> Result<QuerySql<'q>, QueryError> {
    let mut w = Writer::new(format!("SELECT count(*) FROM {}", table.quoted_name()));
    let keys = order_keys(table, &query.order);
    let after = query.after.as_deref().map(|row| (row, keys.as_slice()));
    write_where(&mut w, table, query.filter.as_ref(), after)?;
    Ok(w.finish())
}

/// `SELECT EXISTS (SELECT FROM t [WHERE ...])`.
pub(crate) fn exists<'q, T>(
    table: &'static TableDef,
    query: &'q Select<T>,
) -> Result<QuerySql<'q>, QueryError> {
    let mut w = Writer::new(format!(
        "SELECT EXISTS (SELECT FROM {}",
        table.quoted_name()
    ));
    let keys = order_keys(table, &query.order);
    let after = query.after.as_deref().map(|row| (row, keys.as_slice()));
    write_where(&mut w, table, query.filter.as_ref(), after)?;
    w.sql.push(')');
    Ok(w.finish())
}

/// A write by filter must have one, or say `all_rows()`: it would change every row.
fn require_filter(
    table: &TableDef,
    filter: Option<&Expr>,
    all_rows: bool,
) -> Result<(), QueryError> {
    if filter.is_none() && !all_rows {
        return Err(QueryError::Unfiltered { table: table.name });
    }
    Ok(())
}

/// `DELETE FROM t WHERE ... RETURNING every column`.
pub(crate) fn delete<'q>(
    table: &'static TableDef,
    filter: Option<&'q Expr>,
    all_rows: bool,
) -> Result<QuerySql<'q>, QueryError> {
    require_filter(table, filter, all_rows)?;
    let mut w = Writer::new(format!("DELETE FROM {}", table.quoted_name()));
    write_where(&mut w, table, filter, None)?;
    write!(w.sql, " RETURNING {}", every_column(table)).unwrap();
    Ok(w.finish())
}

/// The `SET` list of an update: `"a" = $n` for each column `set` says (one entry per column
/// of the table, in order, numbered from `first_param`), and `"at" = <update_sql>` for each
/// column every update refreshes; empty when nothing would be set.
pub(crate) fn assignments(
    table: &TableDef,
    set: impl Fn(usize) -> bool,
    first_param: usize,
) -> Vec<String> {
    let mut n = first_param;
    let mut out = Vec::new();
    for (i, column) in table.columns.iter().enumerate() {
        if set(i) {
            out.push(format!("{} = ${n}", quote_ident(column.name)));
            n += 1;
        } else if let Some(sql) = column.update_sql {
            out.push(format!("{} = {sql}", quote_ident(column.name)));
        }
    }
    out
}

/// `UPDATE t SET ... WHERE ... RETURNING every column`: the patch's values first.
pub(crate) fn update<'q>(
    table: &'static TableDef,
    changes: Vec<Option<&'q dyn QueryValue>>,
    filter: Option<&'q Expr>,
    all_rows: bool,
) -> Result<QuerySql<'q>, QueryError> {
    require_filter(table, filter, all_rows)?;
    let set = assignments(table, |i| changes.get(i).is_some_and(Option::is_some), 1);
    if set.is_empty() {
        return Err(QueryError::EmptyPatch { table: table.name });
    }
    let mut w = Writer::new(format!(
        "UPDATE {} SET {}",
        table.quoted_name(),
        set.join(", ")
    ));
    w.params.extend(changes.into_iter().flatten());
    write_where(&mut w, table, filter, None)?;
    write!(w.sql, " RETURNING {}", every_column(table)).unwrap();
    Ok(w.finish())
}

/// The name, in an update by keys, of the `unnest` column holding the `i`-th key column's
/// values (`k`) or the `i`-th sealed column's (`s`), or of the `i`-th key column as text in
/// [`lock_keys`] (`t`): a prefix no derived column starts with.
fn unnested(kind: char, i: usize) -> String {
    format!("\"__schema_core_{kind}{i}\"")
}

/// `SELECT key columns, then each as text FROM t [WHERE ...] FOR UPDATE`: the rows an update
/// by filter of encrypted columns seals for, their key read as typed values (what the
/// driver binds each ciphertext to, as an insert does) and as text (sent back to find the
/// row; named apart, so that a read by name finds the key column itself), locked until the
/// transaction ends.
pub(crate) fn lock_keys<'q>(
    table: &'static TableDef,
    filter: Option<&'q Expr>,
    all_rows: bool,
) -> Result<QuerySql<'q>, QueryError> {
    require_filter(table, filter, all_rows)?;
    let keys = column_list(table.primary_key.iter().copied());
    let texts: Vec<String> = table
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{}::text AS {}", quote_ident(k), unnested('t', i)))
        .collect();
    let mut w = Writer::new(format!(
        "SELECT {keys}, {} FROM {}",
        texts.join(", "),
        table.quoted_name()
    ));
    write_where(&mut w, table, filter, None)?;
    w.sql.push_str(" FOR UPDATE");
    Ok(w.finish())
}

/// `UPDATE t SET ... FROM unnest(keys, sealed values) AS v WHERE (key) = (v's key) AND
/// (filter) RETURNING every column`: an update by filter that sets encrypted columns, each
/// row's values sealed for that row. The parameters are the patch's plain values, then the
/// filter's; after them the driver binds one `text[]` per key column (the keys
/// [`lock_keys`] read) and one `bytea[]` per encrypted (or blind index) column the patch
/// sets, in column order. The filter is checked again, so a row changed since its key was
/// read (outside a transaction, where no lock holds) is updated only if it still matches.
pub(crate) fn update_by_keys<'q>(
    table: &'static TableDef,
    changes: Vec<Option<&'q dyn QueryValue>>,
    filter: Option<&'q Expr>,
    all_rows: bool,
) -> Result<QuerySql<'q>, QueryError> {
    require_filter(table, filter, all_rows)?;
    let mut set = Vec::new();
    let mut plain = Vec::new();
    let mut sealed = 0;
    for (column, change) in table.columns.iter().zip(&changes) {
        match change {
            Some(_) if column.encryption.is_some() => {
                set.push(format!(
                    "{} = v.{}",
                    quote_ident(column.name),
                    unnested('s', sealed)
                ));
                sealed += 1;
            }
            Some(value) => {
                plain.push(*value);
                set.push(format!("{} = ${}", quote_ident(column.name), plain.len()));
            }
            None => {
                if let Some(sql) = column.update_sql {
                    set.push(format!("{} = {sql}", quote_ident(column.name)));
                }
            }
        }
    }
    if set.is_empty() {
        return Err(QueryError::EmptyPatch { table: table.name });
    }
    let mut w = Writer::new(String::new());
    w.params = plain;
    write_where(&mut w, table, filter, None)?;
    let condition = w
        .sql
        .strip_prefix(" WHERE ")
        .unwrap_or_default()
        .to_string();
    let mut n = w.params.len();
    let mut arrays = Vec::new();
    let mut names = Vec::new();
    let mut matches = Vec::new();
    for (i, key) in table.primary_key.iter().enumerate() {
        n += 1;
        let sql_type = table
            .columns
            .iter()
            .find(|c| c.name == *key)
            .map_or_else(|| "text".to_string(), |c| c.sql_type.to_string());
        arrays.push(format!("${n}::text[]::{sql_type}[]"));
        names.push(unnested('k', i));
        matches.push(format!("{} = v.{}", quote_ident(key), unnested('k', i)));
    }
    for i in 0..sealed {
        n += 1;
        arrays.push(format!("${n}::bytea[]"));
        names.push(unnested('s', i));
    }
    w.sql = format!(
        "UPDATE {} SET {} FROM unnest({}) AS v({}) WHERE {}",
        table.quoted_name(),
        set.join(", "),
        arrays.join(", "),
        names.join(", "),
        matches.join(" AND ")
    );
    if !condition.is_empty() {
        write!(w.sql, " AND ({condition})").unwrap();
    }
    write!(w.sql, " RETURNING {}", every_column(table)).unwrap();
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use crate::query::{like_prefix, Delete, Select, Update};
    use schema_derive::{PgEnum, PgTable};

    #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
    #[pg(rename_all = "SCREAMING_SNAKE_CASE")]
    enum Status {
        Open,
        Closed,
    }

    // The fields are read through the column handles only.
    #[allow(dead_code)]
    #[derive(PgTable)]
    #[pg(table = "tickets")]
    struct Ticket {
        #[pg(primary_key)]
        ticket_id: i64,
        provider_id: uuid::Uuid,
        #[pg(varchar = 10)]
        status: Status,
        subject: String,
        rating: Option<i32>,
        tags: Vec<String>,
        meta: serde_json::Value,
        #[pg(immutable)]
        created_at: chrono::DateTime<chrono::Utc>,
        #[pg(default_sql = "now()", update_sql = "now()")]
        updated_at: chrono::DateTime<chrono::Utc>,
    }

    const ALL: &str = r#""ticket_id", "provider_id", "status", "subject", "rating", "tags", "meta", "created_at", "updated_at""#;

    fn sql<T: crate::Table>(query: &Select<T>) -> String {
        query.to_sql().unwrap().sql.replace(ALL, "*")
    }

    fn row(id: i64) -> SelectTicket {
        SelectTicket {
            ticket_id: id,
            provider_id: uuid::Uuid::nil(),
            status: Status::Open,
            subject: "s".into(),
            rating: None,
            tags: Vec::new(),
            meta: serde_json::Value::Null,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn every_operator_renders_with_numbered_parameters() {
        let query = Select::<Ticket>::new().filter(
            Ticket::ticket_id
                .eq(1)
                .and(Ticket::ticket_id.ne(2))
                .and(Ticket::ticket_id.lt(3))
                .and(Ticket::ticket_id.le(4))
                .and(Ticket::ticket_id.gt(5))
                .and(Ticket::ticket_id.ge(6))
                .and(Ticket::rating.between(1, 5))
                .and(Ticket::status.in_list([Status::Open, Status::Closed]))
                .and(Ticket::rating.is_null())
                .and(Ticket::rating.is_not_null())
                .and(Ticket::rating.is_distinct_from(3))
                .and(Ticket::subject.like("a%"))
                .and(Ticket::subject.ilike("b%"))
                .and(Ticket::subject.starts_with("c"))
                .and(Ticket::tags.contains(vec!["x".to_string()]))
                .and(Ticket::tags.overlaps(vec!["y".to_string()]))
                .and(Ticket::meta.contains(serde_json::json!({"k": 1}))),
        );
        let rendered = query.to_sql().unwrap();
        assert_eq!(
            rendered.sql.replace(ALL, "*"),
            r#"SELECT * FROM "tickets" WHERE "ticket_id" = $1 AND "ticket_id" <> $2 AND "ticket_id" < $3 AND "ticket_id" <= $4 AND "ticket_id" > $5 AND "ticket_id" >= $6 AND "rating" BETWEEN $7 AND $8 AND "status" = ANY($9) AND "rating" IS NULL AND "rating" IS NOT NULL AND "rating" IS DISTINCT FROM $10 AND "subject" LIKE $11 AND "subject" ILIKE $12 AND "subject" LIKE $13 AND "tags" @> $14 AND "tags" && $15 AND "meta" @> $16"#
        );
        assert_eq!(rendered.params.len(), 16);
    }

    #[test]
    fn and_or_not_nest_in_parentheses() {
        let status = Ticket::status.eq(Status::Open);
        let either = Ticket::rating.eq(5).or(Ticket::rating.is_null());
        let query = Select::<Ticket>::new().filter(status.clone().and(either.clone()).not());
        assert_eq!(
            sql(&query),
            r#"SELECT * FROM "tickets" WHERE NOT ("status" = $1 AND ("rating" = $2 OR "rating" IS NULL))"#
        );
        let query = Select::<Ticket>::new().filter(either.clone().or(status.clone()));
        assert_eq!(
            sql(&query),
            r#"SELECT * FROM "tickets" WHERE "rating" = $1 OR "rating" IS NULL OR "status" = $2"#
        );
        let query = Select::<Ticket>::new()
            .filter(either.clone())
            .filter(status.or(either));
        assert_eq!(
            sql(&query),
            r#"SELECT * FROM "tickets" WHERE ("rating" = $1 OR "rating" IS NULL) AND ("status" = $2 OR ("rating" = $3 OR "rating" IS NULL))"#
        );
    }

    #[test]
    fn an_in_list_is_one_array_whatever_its_length() {
        let one = Select::<Ticket>::new().filter(Ticket::ticket_id.in_list([1]));
        let three = Select::<Ticket>::new().filter(Ticket::ticket_id.in_list([1, 2, 3]));
        assert_eq!(sql(&one), sql(&three));
        assert_eq!(
            sql(&one),
            r#"SELECT * FROM "tickets" WHERE "ticket_id" = ANY($1)"#
        );
        assert_eq!(three.to_sql().unwrap().params.len(), 1);
    }

    #[test]
    fn starts_with_escapes_the_wildcards_and_the_escape() {
        assert_eq!(like_prefix(r"50%_off\now"), r"50\%\_off\\now%");
        assert_eq!(like_prefix(""), "%");
    }

    #[test]
    fn order_takes_the_primary_key_as_tie_breaker_and_pages_bind_limit_and_offset() {
        let query = Select::<Ticket>::new()
            .filter(Ticket::provider_id.eq(uuid::Uuid::nil()))
            .order_by(Ticket::created_at.desc())
            .limit(20)
            .offset(40);
        assert_eq!(
            sql(&query),
            r#"SELECT * FROM "tickets" WHERE "provider_id" = $1 ORDER BY "created_at" DESC, "ticket_id" DESC LIMIT $2 OFFSET $3"#
        );
        let query = Select::<Ticket>::new()
            .order_by(Ticket::rating.asc().nulls_first())
            .order_by(Ticket::ticket_id.desc().nulls_last());
        assert_eq!(
            sql(&query),
            r#"SELECT * FROM "tickets" ORDER BY "rating" NULLS FIRST, "ticket_id" DESC NULLS LAST"#
        );
    }

    #[test]
    fn a_page_after_a_row_is_one_row_comparison_when_the_directions_agree() {
        let query = Select::<Ticket>::new()
            .filter(Ticket::provider_id.eq(uuid::Uuid::nil()))
            .order_by(Ticket::created_at.desc())
            .after(&row(7))
            .limit(20);
        let rendered = query.to_sql().unwrap();
        assert_eq!(
            rendered.sql.replace(ALL, "*"),
            r#"SELECT * FROM "tickets" WHERE "provider_id" = $1 AND "created_at" <= $2 AND ("created_at", "ticket_id") < ($2, $3) ORDER BY "created_at" DESC, "ticket_id" DESC LIMIT $4"#
        );
        assert_eq!(rendered.params.len(), 4);
        let by_key = Select::<Ticket>::new()
            .order_by(Ticket::ticket_id.asc())
            .after(&row(7));
        assert_eq!(
            sql(&by_key),
            r#"SELECT * FROM "tickets" WHERE "ticket_id" > $1 ORDER BY "ticket_id""#
        );
    }

    #[test]
    fn a_page_after_a_row_in_mixed_directions_is_written_out() {
        let query = Select::<Ticket>::new()
            .filter(Ticket::status.eq(Status::Open).or(Ticket::rating.gt(2)))
            .order_by(Ticket::status.asc())
            .order_by(Ticket::created_at.desc())
            .after(&row(7));
        let rendered = query.to_sql().unwrap();
        assert_eq!(
            rendered.sql.replace(ALL, "*"),
            r#"SELECT * FROM "tickets" WHERE ("status" = $1 OR "rating" > $2) AND "status" >= $3 AND ("status" > $3 OR ("status" = $3 AND "created_at" < $4) OR ("status" = $3 AND "created_at" = $4 AND "ticket_id" < $5)) ORDER BY "status", "created_at" DESC, "ticket_id" DESC"#
        );
        assert_eq!(rendered.params.len(), 5);
    }

    #[test]
    fn a_page_after_a_row_is_refused_without_an_order_or_on_a_nullable_column() {
        use crate::query::QueryError;
        let unordered = Select::<Ticket>::new().after(&row(1));
        assert_eq!(
            unordered.to_sql().unwrap_err(),
            QueryError::AfterWithoutOrder { table: "tickets" }
        );
        let nullable = Select::<Ticket>::new()
            .order_by(Ticket::rating.desc())
            .after(&row(1));
        assert_eq!(
            nullable.to_sql().unwrap_err(),
            QueryError::NullableKeysetColumn {
                table: "tickets",
                column: "rating"
            }
        );
    }

    #[test]
    fn one_optional_row_is_asked_with_limit_one() {
        let query = Select::<Ticket>::new()
            .filter(Ticket::status.eq(Status::Open))
            .order_by(Ticket::created_at.desc());
        assert_eq!(
            sql(&query.first_row()),
            r#"SELECT * FROM "tickets" WHERE "status" = $1 ORDER BY "created_at" DESC, "ticket_id" DESC LIMIT $2"#
        );
        let paged = query.clone().limit(20).offset(40);
        assert_eq!(
            sql(&paged.first_row()),
            r#"SELECT * FROM "tickets" WHERE "status" = $1 ORDER BY "created_at" DESC, "ticket_id" DESC LIMIT $2 OFFSET $3"#
        );
        let none = query.limit(0);
        assert!(matches!(none.first_row(), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn count_and_exists_keep_the_filter_only() {
        let query = Select::<Ticket>::new()
            .filter(Ticket::status.eq(Status::Open))
            .order_by(Ticket::created_at.desc())
            .limit(3);
        assert_eq!(
            query.count_sql().unwrap().sql,
            r#"SELECT count(*) FROM "tickets" WHERE "status" = $1"#
        );
        assert_eq!(
            query.exists_sql().unwrap().sql,
            r#"SELECT EXISTS (SELECT FROM "tickets" WHERE "status" = $1)"#
        );
    }

    #[test]
    fn a_projection_selects_its_columns() {
        let query = Select::<Ticket>::new()
            .filter(Ticket::rating.ge(4))
            .columns((Ticket::subject, Ticket::rating));
        assert_eq!(
            query.to_sql().unwrap().sql,
            r#"SELECT "subject", "rating" FROM "tickets" WHERE "rating" >= $1"#
        );
    }

    #[test]
    fn writes_by_filter_return_the_rows_and_need_a_filter_or_all_rows() {
        use crate::query::QueryError;
        let delete = Delete::<Ticket>::new().filter(Ticket::status.eq(Status::Closed));
        assert_eq!(
            delete.to_sql().unwrap().sql.replace(ALL, "*"),
            r#"DELETE FROM "tickets" WHERE "status" = $1 RETURNING *"#
        );
        assert_eq!(
            Delete::<Ticket>::new().to_sql().unwrap_err(),
            QueryError::Unfiltered { table: "tickets" }
        );
        assert_eq!(
            Delete::<Ticket>::new()
                .all_rows()
                .to_sql()
                .unwrap()
                .sql
                .replace(ALL, "*"),
            r#"DELETE FROM "tickets" RETURNING *"#
        );

        let patch = UpdateTicket {
            subject: Some("new".into()),
            rating: Some(None),
            ..Default::default()
        };
        let update = Update::new(&patch).filter(Ticket::status.eq(Status::Open));
        let rendered = update.to_sql().unwrap();
        assert_eq!(
            rendered.sql.replace(ALL, "*"),
            r#"UPDATE "tickets" SET "subject" = $1, "rating" = $2, "updated_at" = now() WHERE "status" = $3 RETURNING *"#
        );
        assert_eq!(rendered.params.len(), 3);
        assert_eq!(
            Update::new(&patch).to_sql().unwrap_err(),
            QueryError::Unfiltered { table: "tickets" }
        );
        assert!(Update::new(&patch).all_rows().to_sql().is_ok());

        // An update that seals: the keys locked, then one update joined by key, the filter
        // checked again (in parentheses: an `OR` stays whole); its arrays are bound after the
        // patch's and the filter's values.
        let or = Ticket::status.eq(Status::Open).or(Ticket::rating.is_null());
        let update = Update::new(&patch).filter(or);
        let lock = update.lock_keys_sql().unwrap();
        assert_eq!(
            lock.sql,
            r#"SELECT "ticket_id", "ticket_id"::text AS "__schema_core_t0" FROM "tickets" WHERE "status" = $1 OR "rating" IS NULL FOR UPDATE"#
        );
        let sealed = update.sealed_sql().unwrap();
        assert_eq!(
            sealed.sql.replace(ALL, "*"),
            r#"UPDATE "tickets" SET "subject" = $1, "rating" = $2, "updated_at" = now() FROM unnest($4::text[]::bigint[]) AS v("__schema_core_k0") WHERE "ticket_id" = v."__schema_core_k0" AND ("status" = $3 OR "rating" IS NULL) RETURNING *"#
        );
        assert_eq!(sealed.params.len(), 3);
        assert!(!update.seals());
        assert_eq!(
            Update::new(&patch).lock_keys_sql().unwrap_err(),
            QueryError::Unfiltered { table: "tickets" }
        );
    }

    #[test]
    fn debug_output_never_shows_a_value() {
        let query = Select::<Ticket>::new().filter(Ticket::subject.eq("secret words"));
        let printed = format!("{query:?} {:?}", query.to_sql().unwrap());
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("<value>"), "{printed}");
    }
}
