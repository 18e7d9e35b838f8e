//! The check's report: a finding per query and per index, and the table it prints.

use std::fmt;

/// What a query's plan says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryFinding {
    /// The query's name.
    pub name: String,
    /// The role it ran as, as the schema names it.
    pub role: String,
    /// The indexes its plan reads, in plan order.
    pub indexes: Vec<String>,
    /// Why the indexes do not serve it; empty when they do.
    pub problems: Vec<Problem>,
    /// What a served query still does besides reading its index: a sort of the few rows the
    /// index cannot order. Reported, not a failure.
    pub notes: Vec<Note>,
    /// The `index(...)` attribute that would serve it, when no declared index starts with the
    /// columns it needs.
    pub declare: Option<String>,
}

impl QueryFinding {
    /// Whether the declared indexes serve the query.
    pub fn served(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Why a query is not served by its indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The server could not plan the query (its text, a missing privilege): the server's
    /// message.
    NotPlanned(String),
    /// A table is read whole.
    SequentialScan {
        /// The table.
        table: String,
    },
    /// An index is read without a condition on its leading column: the whole index is read
    /// (a skip scan on PostgreSQL 18 reads it in as many descents as the column has values).
    LeadingColumnUnmatched {
        /// The index.
        index: String,
        /// Its leading column.
        column: String,
        /// The conditions the index is read with (`Index Cond`), if any.
        condition: Option<String>,
    },
    /// An index's leading column is matched only by a row-level security policy's qual, not by
    /// the query: the query does not say which rows it wants (a distributed table cannot route
    /// it to one shard).
    ThroughPolicy {
        /// The index.
        index: String,
        /// Its leading column, which the query should compare with a parameter.
        column: String,
    },
    /// Rows are read and then thrown away by a condition no index applies.
    Filter {
        /// The table.
        table: String,
        /// The condition, as the plan prints it.
        condition: String,
    },
    /// The rows are sorted after they are read: no index gives the query's order.
    Sort {
        /// The sort's keys, as the plan prints them.
        keys: Vec<String>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotPlanned(message) => write!(f, "not planned: {message}"),
            Problem::SequentialScan { table } => write!(f, "sequential scan on {table}"),
            Problem::LeadingColumnUnmatched {
                index,
                column,
                condition,
            } => {
                write!(
                    f,
                    "{index} read without its leading column {column}: the whole index is read"
                )?;
                if let Some(condition) = condition {
                    write!(f, " (Index Cond: {condition})")?;
                }
                Ok(())
            }
            Problem::ThroughPolicy { index, column } => write!(
                f,
                "{index}'s leading column {column} is matched only through the row-level \
                 security policy: add `{column} = $n` to the query"
            ),
            Problem::Filter { table, condition } => {
                write!(f, "Filter on {table}: {condition}")
            }
            Problem::Sort { keys } => write!(f, "Sort left over: {}", keys.join(", ")),
        }
    }
}

/// A sort the check accepts, because it orders only rows the index cannot tell apart; the
/// verdict names it, with the index that would read them in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// The query matches every key column of the index with an equality of its own, and the
    /// rows of that one key (exactly the rows the index finds) are sorted.
    SortsOneKey {
        /// The index.
        index: String,
        /// The sort's keys, as the plan prints them.
        keys: Vec<String>,
    },
    /// The index gives the order's first keys; only rows equal in those are sorted, by the
    /// primary key that breaks their ties (an `Incremental Sort`).
    SortsTies {
        /// The keys the index gives (`Presorted Key`).
        presorted: Vec<String>,
        /// The primary key's columns that order the ties.
        keys: Vec<String>,
    },
    /// A keyset page's row comparison left as a filter: the index bounds its first column,
    /// so the rows read and thrown away are only those equal to the previous page's last row
    /// in that column (the index does not hold the primary key that breaks their ties).
    FiltersTies {
        /// The column the index bounds.
        bound: String,
        /// The row comparison, as the plan prints it.
        condition: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::SortsOneKey { index, keys } => write!(
                f,
                "sorts the rows of one key of {index} by {}",
                keys.join(", ")
            ),
            Note::SortsTies { presorted, keys } => write!(
                f,
                "sorts only rows equal in {} by {}",
                presorted.join(", "),
                keys.join(", ")
            ),
            Note::FiltersTies { bound, condition } => {
                write!(f, "filters only rows equal in {bound} by {condition}")
            }
        }
    }
}

/// What the registered queries make of a declared index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFinding {
    /// The table, as the model names it (`billing.invoices`).
    pub table: String,
    /// The index.
    pub index: String,
    /// Its key columns as the server prints them (`created_at DESC`).
    pub columns: Vec<String>,
    /// What it is to the registered queries.
    pub status: IndexStatus,
}

/// How an index stands against the registered queries.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexStatus {
    /// Read by these queries with its leading column matched.
    Used(Vec<String>),
    /// Its key columns are the first columns of another index, which serves whatever it
    /// serves: a failure.
    Redundant {
        /// The index that holds its columns first.
        of: String,
    },
    /// Behind a primary key or unique constraint, which needs it: listed apart, not a failure.
    Key,
    /// Its first columns are a foreign key's, which `DELETE`s and key updates of the
    /// referenced table look up: listed apart, not a failure.
    ForeignKey,
    /// No registered query reads it: a failure.
    Unused,
}

impl IndexStatus {
    /// Whether the status fails the check.
    pub fn fails(&self) -> bool {
        matches!(self, IndexStatus::Redundant { .. } | IndexStatus::Unused)
    }
}

impl fmt::Display for IndexStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexStatus::Used(queries) => write!(f, "used by {}", queries.join(", ")),
            IndexStatus::Redundant { of } => {
                write!(f, "redundant: its columns are the first columns of {of}")
            }
            IndexStatus::Key => write!(f, "primary key or unique constraint"),
            IndexStatus::ForeignKey => write!(f, "covers a foreign key"),
            IndexStatus::Unused => write!(f, "unused: no registered query reads it"),
        }
    }
}

/// The check's report: one finding per registered query, one per index of the tables they
/// read. Its `Display` is the table the command line prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryReport {
    /// One per registered query, in registration order.
    pub queries: Vec<QueryFinding>,
    /// One per index of the tables the registered queries read, by table then index name.
    pub indexes: Vec<IndexFinding>,
    /// The schema's tables that no registered query reads (their indexes are not judged).
    pub tables_not_read: Vec<String>,
    /// The tables the registered queries read that are empty or were never analyzed: the
    /// planner's choice among their indexes says nothing until they hold representative rows
    /// and are analyzed.
    pub tables_without_statistics: Vec<String>,
}

impl QueryReport {
    /// Whether every query is served and no index is unused or redundant.
    pub fn passed(&self) -> bool {
        self.queries.iter().all(QueryFinding::served)
            && !self.indexes.iter().any(|i| i.status.fails())
    }

    /// The finding of the query named `name`.
    pub fn query(&self, name: &str) -> Option<&QueryFinding> {
        self.queries.iter().find(|q| q.name == name)
    }

    /// The finding of the index named `name`.
    pub fn index(&self, name: &str) -> Option<&IndexFinding> {
        self.indexes.iter().find(|i| i.index == name)
    }
}

impl fmt::Display for QueryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 4]> = self
            .queries
            .iter()
            .map(|q| {
                let verdict = if q.served() {
                    let mut text = "served".to_string();
                    for note in &q.notes {
                        text.push_str(&format!("; {note}"));
                    }
                    if let (false, Some(declare)) = (q.notes.is_empty(), &q.declare) {
                        text.push_str(&format!(" (to read them in order: #[pg({declare})])"));
                    }
                    text
                } else {
                    let mut text = format!(
                        "NOT SERVED: {}",
                        q.problems
                            .iter()
                            .map(Problem::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    );
                    if let Some(declare) = &q.declare {
                        text.push_str(&format!("; declare #[pg({declare})]"));
                    }
                    text
                };
                let indexes = if q.indexes.is_empty() {
                    "-".to_string()
                } else {
                    q.indexes.join(", ")
                };
                [q.name.clone(), q.role.clone(), indexes, verdict]
            })
            .collect();
        write_table(f, ["query", "role", "index", "verdict"], &rows)?;
        if !self.indexes.is_empty() {
            writeln!(f)?;
            let rows: Vec<[String; 3]> = self
                .indexes
                .iter()
                .map(|i| [i.table.clone(), i.index.clone(), i.status.to_string()])
                .collect();
            write_table(f, ["table", "index", "use"], &rows)?;
        }
        if !self.tables_not_read.is_empty() {
            writeln!(
                f,
                "\nno registered query reads: {}",
                self.tables_not_read.join(", ")
            )?;
        }
        if !self.tables_without_statistics.is_empty() {
            writeln!(
                f,
                "\nwarning: empty or never analyzed, so the planner's choice among their \
                 indexes is arbitrary: {} (check on representative rows, analyzed)",
                self.tables_without_statistics.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Writes `rows` under `header`, each column as wide as its widest cell (the last one left
/// ragged).
fn write_table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: [&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: [&str; N]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 < N {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            } else {
                text.push_str(cell);
            }
        }
        writeln!(f, "{}", text.trim_end())
    };
    line(f, header)?;
    for row in rows {
        line(f, std::array::from_fn(|i| row[i].as_str()))?;
    }
    Ok(())
}
