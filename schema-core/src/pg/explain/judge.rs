//! Judging plans: the reads and sorts a plan's JSON holds, each query's verdict, each index's
//! use, and the index to declare.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::conditions::{condition, conjuncts, sort_key, Condition, Operand};
use super::report::{IndexFinding, IndexStatus, Note, Problem, QueryFinding, QueryReport};
use super::{Catalog, CatalogIndex, PlanResult};
use crate::Schema;

/// One read of a table in a plan.
#[derive(Debug, Default)]
struct Scan {
    /// `Relation Name`.
    relation: String,
    /// `None` for a sequential scan.
    index: Option<String>,
    /// `Index Cond`, as printed.
    index_cond: Option<String>,
    /// `Filter`, as printed.
    filter: Option<String>,
    /// The filter of a `Bitmap Heap Scan`, whose index reads are scans of their own.
    heap_only: bool,
}

/// One sort in a plan.
#[derive(Debug, Default)]
struct SortFact {
    /// `Sort Key`, as printed (`created_at DESC`).
    keys: Vec<String>,
    /// An `Incremental Sort`'s `Presorted Key`: the first keys, which its input already has in
    /// order; empty for a `Sort`.
    presorted: Vec<String>,
}

/// The facts of a plan the check reads: every read of a table, every sort.
#[derive(Debug, Default)]
struct PlanFacts {
    scans: Vec<Scan>,
    sorts: Vec<SortFact>,
}

/// Collects the reads and sorts of a plan node and the nodes under it. A `Bitmap Index Scan`
/// names no table: it reads for the `Bitmap Heap Scan` above it, whose table is passed down.
fn collect(node: &Value, heap: Option<&str>, facts: &mut PlanFacts) {
    let text = |key: &str| node.get(key).and_then(Value::as_str).map(str::to_string);
    let kind = node.get("Node Type").and_then(Value::as_str).unwrap_or("");
    let relation = text("Relation Name");
    match kind {
        "Seq Scan" | "Index Scan" | "Index Only Scan" => facts.scans.push(Scan {
            relation: relation.clone().unwrap_or_default(),
            index: text("Index Name"),
            index_cond: text("Index Cond"),
            filter: text("Filter"),
            heap_only: false,
        }),
        "Bitmap Heap Scan" => {
            if let Some(filter) = text("Filter") {
                facts.scans.push(Scan {
                    relation: relation.clone().unwrap_or_default(),
                    filter: Some(filter),
                    heap_only: true,
                    ..Scan::default()
                });
            }
        }
        "Bitmap Index Scan" => facts.scans.push(Scan {
            relation: heap.unwrap_or_default().to_string(),
            index: text("Index Name"),
            index_cond: text("Index Cond"),
            filter: None,
            heap_only: false,
        }),
        "Sort" | "Incremental Sort" => {
            let list = |key: &str| -> Vec<String> {
                node.get(key)
                    .and_then(Value::as_array)
                    .map(|keys| {
                        keys.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            facts.sorts.push(SortFact {
                keys: list("Sort Key"),
                presorted: list("Presorted Key"),
            });
        }
        _ => {}
    }
    let heap = if kind == "Bitmap Heap Scan" {
        relation.as_deref()
    } else {
        heap
    };
    for child in node
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect(child, heap, facts);
    }
}

/// Judges each query's plan and each index of the tables the queries read.
pub(super) fn judge(schema: &Schema, plans: &[PlanResult], catalog: &Catalog) -> QueryReport {
    let mut used: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut read_relations = BTreeSet::new();
    let mut queries = Vec::new();
    for (registered, plan) in schema.registered_queries().iter().zip(plans) {
        let name = registered.query.name.to_string();
        let role = registered.role.role.to_string();
        let plan = match plan {
            Ok(plan) => plan,
            Err(message) => {
                queries.push(QueryFinding {
                    name,
                    role,
                    indexes: Vec::new(),
                    problems: vec![Problem::NotPlanned(message.clone())],
                    notes: Vec::new(),
                    declare: None,
                });
                continue;
            }
        };
        let mut facts = PlanFacts::default();
        if let Some(root) = plan.get(0).and_then(|p| p.get("Plan")) {
            collect(root, None, &mut facts);
        }
        let finding = judge_query(name, role, &facts, catalog);
        for scan in &facts.scans {
            read_relations.insert(scan.relation.clone());
        }
        for (relation, index) in served_indexes(&facts, catalog) {
            let users = used.entry((relation, index)).or_default();
            if !users.contains(&finding.name) {
                users.push(finding.name.clone());
            }
        }
        queries.push(finding);
    }

    let mut indexes = Vec::new();
    let mut tables_not_read = Vec::new();
    let mut tables_without_statistics = Vec::new();
    for table in schema.tables() {
        let qualified = table.qualified_name().into_owned();
        let of_table: Vec<&CatalogIndex> = catalog
            .indexes
            .iter()
            .filter(|i| i.table == qualified)
            .collect();
        if !read_relations.contains(table.name) {
            if !of_table.is_empty() {
                tables_not_read.push(qualified);
            }
            continue;
        }
        if catalog.without_statistics.contains(&qualified) {
            tables_without_statistics.push(qualified.clone());
        }
        let foreign_keys = catalog
            .foreign_keys
            .get(&qualified)
            .cloned()
            .unwrap_or_default();
        for index in &of_table {
            let status = index_status(index, &of_table, &foreign_keys, &used);
            indexes.push(IndexFinding {
                table: index.table.clone(),
                index: index.name.clone(),
                columns: index.columns.clone(),
                status,
            });
        }
    }
    QueryReport {
        queries,
        indexes,
        tables_not_read,
        tables_without_statistics,
    }
}

/// How `index` stands: redundant first (whatever uses it, the longer index serves), then used,
/// then behind a constraint or a foreign key, else unused.
fn index_status(
    index: &CatalogIndex,
    of_table: &[&CatalogIndex],
    foreign_keys: &[Vec<String>],
    used: &BTreeMap<(String, String), Vec<String>>,
) -> IndexStatus {
    if !index.constraint && !index.special {
        let longer = of_table.iter().find(|other| {
            other.name != index.name
                && !other.special
                && other.columns.len() >= index.columns.len()
                && other.columns[..index.columns.len()] == index.columns[..]
                // Of two indexes with the same columns, the one named later is reported.
                && (other.columns.len() > index.columns.len() || other.name < index.name)
        });
        if let Some(longer) = longer {
            return IndexStatus::Redundant {
                of: longer.name.clone(),
            };
        }
    }
    if let Some(queries) = used.get(&(index.relation.clone(), index.name.clone())) {
        return IndexStatus::Used(queries.clone());
    }
    if index.constraint {
        return IndexStatus::Key;
    }
    let covers = foreign_keys.iter().any(|key| {
        key.len() <= index.column_names.len()
            && key
                .iter()
                .all(|c| index.column_names[..key.len()].contains(c))
    });
    if covers {
        IndexStatus::ForeignKey
    } else {
        IndexStatus::Unused
    }
}

/// The catalog's entry for an index a plan read on `relation`.
fn find_index<'a>(catalog: &'a Catalog, relation: &str, name: &str) -> Option<&'a CatalogIndex> {
    catalog
        .indexes
        .iter()
        .find(|i| i.relation == relation && i.name == name)
}

/// How an index's leading column is matched in a read: by the query, only by a policy, or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leading {
    ByQuery,
    ThroughPolicy,
    Unmatched,
}

fn leading(scan: &Scan, index: &CatalogIndex) -> Leading {
    let Some(first) = index.column_names.first() else {
        return Leading::Unmatched;
    };
    let conditions: Vec<Condition> = scan
        .index_cond
        .as_deref()
        .map(conjuncts)
        .unwrap_or_default()
        .into_iter()
        .filter_map(condition)
        .filter(|c| c.column.as_deref() == Some(first.as_str()))
        .collect();
    if conditions.iter().any(|c| c.operand != Operand::Setting) {
        Leading::ByQuery
    } else if conditions.is_empty() {
        Leading::Unmatched
    } else {
        Leading::ThroughPolicy
    }
}

/// The (relation, index) pairs a plan reads with their leading column matched.
fn served_indexes(facts: &PlanFacts, catalog: &Catalog) -> Vec<(String, String)> {
    facts
        .scans
        .iter()
        .filter_map(|scan| {
            let name = scan.index.as_ref()?;
            let index = find_index(catalog, &scan.relation, name)?;
            (leading(scan, index) != Leading::Unmatched)
                .then(|| (scan.relation.clone(), name.clone()))
        })
        .collect()
}

/// Judges one query's plan.
fn judge_query(name: String, role: String, facts: &PlanFacts, catalog: &Catalog) -> QueryFinding {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut indexes = Vec::new();
    for scan in &facts.scans {
        match &scan.index {
            None if scan.heap_only => {}
            None => problems.push(Problem::SequentialScan {
                table: scan.relation.clone(),
            }),
            Some(index_name) => {
                if !indexes.contains(index_name) {
                    indexes.push(index_name.clone());
                }
                if let Some(index) = find_index(catalog, &scan.relation, index_name) {
                    let column = index.column_names.first().cloned().unwrap_or_default();
                    match leading(scan, index) {
                        Leading::ByQuery => {}
                        Leading::ThroughPolicy => problems.push(Problem::ThroughPolicy {
                            index: index_name.clone(),
                            column,
                        }),
                        Leading::Unmatched => problems.push(Problem::LeadingColumnUnmatched {
                            index: index_name.clone(),
                            column,
                            condition: scan.index_cond.clone(),
                        }),
                    }
                }
            }
        }
        if let Some(filter) = &scan.filter {
            let mut rest = Vec::new();
            for part in conjuncts(filter) {
                match filters_ties(part, scan, catalog) {
                    Some(note) => notes.push(note),
                    None => rest.push(part),
                }
            }
            if !rest.is_empty() {
                problems.push(Problem::Filter {
                    table: scan.relation.clone(),
                    condition: if rest.len() == 1 {
                        filter.clone()
                    } else {
                        rest.iter()
                            .map(|part| format!("({part})"))
                            .collect::<Vec<_>>()
                            .join(" AND ")
                    },
                });
            }
        }
    }
    for sort in &facts.sorts {
        match bounded_sort(sort, facts, catalog) {
            Some(note) => notes.push(note),
            None => problems.push(Problem::Sort {
                keys: sort.keys.clone(),
            }),
        }
    }
    let declare = if problems.is_empty() && notes.is_empty() {
        None
    } else {
        index_to_declare(facts, catalog)
    };
    QueryFinding {
        name,
        role,
        indexes,
        problems,
        notes,
        declare,
    }
}

/// Whether the filter part `part` of `scan` throws away only rows equal in what the index
/// reads them by: a keyset page's row comparison (`ROW(created_at, ticket_id) < ROW($2, $3)`)
/// whose first column the index bounds itself (`created_at <= $2` in its `Index Cond`) and
/// whose other columns are the table's primary key, so only rows of the bound's instant are
/// read and compared further.
fn filters_ties(part: &str, scan: &Scan, catalog: &Catalog) -> Option<Note> {
    let inside = part.strip_prefix("ROW(")?;
    let (columns, rest) = inside.split_once(')')?;
    let columns: Vec<&str> = columns.split(", ").map(str::trim).collect();
    let rest = rest.trim_start();
    if !["<", ">", "<=", ">="]
        .iter()
        .any(|op| rest.starts_with(&format!("{op} ROW(")))
    {
        return None;
    }
    let (first, others) = columns.split_first()?;
    let primary = catalog
        .indexes
        .iter()
        .find(|i| i.relation == scan.relation && i.primary)?;
    if others.is_empty()
        || !others
            .iter()
            .all(|c| primary.column_names.iter().any(|p| p == c))
    {
        return None;
    }
    let bounded = scan
        .index_cond
        .as_deref()
        .map(conjuncts)
        .unwrap_or_default()
        .into_iter()
        .filter_map(condition)
        .any(|c| {
            c.column.as_deref() == Some(*first)
                && matches!(c.operator.as_str(), "<" | "<=" | ">" | ">=")
                && c.operand != Operand::Setting
        });
    bounded.then(|| Note::FiltersTies {
        bound: first.to_string(),
        condition: part.to_string(),
    })
}

/// Whether `sort` orders only rows an index cannot tell apart, and which kind of rows:
/// - an `Incremental Sort` whose keys after the presorted ones are the table's primary key
///   sorts only the rows equal in the presorted keys (rows inserted in the same instant, for a
///   tie-breaker after a timestamp);
/// - a `Sort` over index reads whose every key column the query itself matches with an
///   equality sorts only the rows of one key: exactly the rows the index finds.
///
/// Any other sort orders rows an index reads in another order, or all of a range: a problem.
fn bounded_sort(sort: &SortFact, facts: &PlanFacts, catalog: &Catalog) -> Option<Note> {
    let relation = &facts.scans.first()?.relation;
    if !sort.presorted.is_empty() {
        let primary = catalog
            .indexes
            .iter()
            .find(|i| i.relation == *relation && i.primary)?;
        let rest: Vec<String> = sort
            .keys
            .iter()
            .skip(sort.presorted.len())
            .cloned()
            .collect();
        let ties_only = !rest.is_empty()
            && rest
                .iter()
                .all(|key| primary.column_names.contains(&sort_key(key).0));
        return ties_only.then(|| Note::SortsTies {
            presorted: sort.presorted.clone(),
            keys: rest,
        });
    }
    let reads: Vec<&Scan> = facts.scans.iter().filter(|s| !s.heap_only).collect();
    let [read] = reads.as_slice() else {
        return None;
    };
    let index = find_index(catalog, &read.relation, read.index.as_deref()?)?;
    let equalities: Vec<String> = read
        .index_cond
        .as_deref()
        .map(conjuncts)
        .unwrap_or_default()
        .into_iter()
        .filter_map(condition)
        .filter(|c| {
            c.operator == "=" && matches!(c.operand, Operand::Parameter | Operand::Constant)
        })
        .filter_map(|c| c.column)
        .collect();
    let whole_key = index
        .column_names
        .iter()
        .all(|column| equalities.contains(column));
    whole_key.then(|| Note::SortsOneKey {
        index: index.name.clone(),
        keys: sort.keys.clone(),
    })
}

/// The `index(...)` attribute that would serve the query's reads of its first table: its own
/// equalities first, then one range, then its sort's keys; `None` when the query has no
/// condition of its own or a declared index of the table already starts with those columns
/// (then the planner's choice, not the declaration, is at fault: analyze the tables).
fn index_to_declare(facts: &PlanFacts, catalog: &Catalog) -> Option<String> {
    let relation = facts.scans.first()?.relation.clone();
    let mut equalities: Vec<String> = Vec::new();
    let mut ranges: Vec<String> = Vec::new();
    for scan in facts.scans.iter().filter(|s| s.relation == relation) {
        for text in [&scan.index_cond, &scan.filter].into_iter().flatten() {
            for condition in conjuncts(text).into_iter().filter_map(condition) {
                let Some(column) = condition.column else {
                    continue;
                };
                if condition.operand == Operand::Setting {
                    // The policy's column leads: the query should compare it too.
                    if condition.operator == "=" && !equalities.contains(&column) {
                        equalities.insert(0, column);
                    }
                    continue;
                }
                let target = match condition.operator.as_str() {
                    "=" | "= ANY" | "IS NULL" => &mut equalities,
                    "<" | "<=" | ">" | ">=" => &mut ranges,
                    _ => continue,
                };
                if !target.contains(&column) {
                    target.push(column);
                }
            }
        }
    }
    let mut columns: Vec<(String, String)> =
        equalities.iter().map(|c| (c.clone(), c.clone())).collect();
    if let Some(range) = ranges.iter().find(|r| !equalities.contains(r)) {
        // Read in the order's direction when the order starts with the range's column.
        let attribute = facts
            .sorts
            .first()
            .and_then(|sort| sort.keys.first())
            .map(|key| sort_key(key))
            .filter(|(column, options)| column == range && !options.is_empty())
            .map(|(column, options)| format!("{column}({})", options.join(", ")))
            .unwrap_or_else(|| range.clone());
        columns.push((range.clone(), attribute));
    }
    if let Some(sort) = facts.sorts.first() {
        for key in &sort.keys {
            let (column, options) = sort_key(key);
            if !columns.iter().any(|(c, _)| *c == column) {
                let attribute = if options.is_empty() {
                    column.clone()
                } else {
                    format!("{column}({})", options.join(", "))
                };
                columns.push((column, attribute));
            }
        }
    }
    if columns.is_empty() {
        return None;
    }
    // The equalities in any order, then the rest in order.
    let equal_count = equalities.len();
    let exists = catalog.indexes.iter().any(|i| {
        i.relation == relation
            && i.column_names.len() >= columns.len()
            && i.column_names[..equal_count]
                .iter()
                .all(|c| equalities.contains(c))
            && i.column_names[equal_count..columns.len()]
                .iter()
                .zip(&columns[equal_count..])
                .all(|(a, (b, _))| a == b)
    });
    if exists {
        return None;
    }
    let attributes: Vec<String> = columns.into_iter().map(|(_, a)| a).collect();
    Some(format!("index({})", attributes.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(name: &str, columns: &[&str]) -> CatalogIndex {
        CatalogIndex {
            table: "support_tickets".into(),
            relation: "support_tickets".into(),
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            column_names: columns
                .iter()
                .map(|c| c.split(' ').next().unwrap().to_string())
                .collect(),
            constraint: name.ends_with("_pkey"),
            primary: name.ends_with("_pkey"),
            special: false,
        }
    }

    fn seed_catalog() -> Catalog {
        Catalog {
            indexes: vec![
                index("support_tickets_pkey", &["ticket_id"]),
                index(
                    "support_tickets_provider_id_status_idx",
                    &["provider_id", "status"],
                ),
                index(
                    "support_tickets_provider_id_created_at_idx",
                    &["provider_id", "created_at DESC"],
                ),
                index(
                    "support_tickets_status_priority_idx",
                    &["status", "priority"],
                ),
            ],
            foreign_keys: BTreeMap::from([(
                "support_tickets".to_string(),
                vec![vec!["provider_id".to_string()]],
            )]),
            without_statistics: BTreeSet::new(),
        }
    }

    fn facts(plan: &str) -> PlanFacts {
        let value: Value = serde_json::from_str(plan).unwrap();
        let mut facts = PlanFacts::default();
        collect(&value[0]["Plan"], None, &mut facts);
        facts
    }

    fn judged(plan: &str) -> QueryFinding {
        judge_query("q".into(), "r".into(), &facts(plan), &seed_catalog())
    }

    /// What PostgreSQL 15 prints for `WHERE provider_id = $1 AND status = $2` as the physician
    /// (the query's equality and the policy's qual on one column: the qual compared with the
    /// parameter once, in a `Result`).
    const PHYSICIAN_STATUS: &str = r#"[{"Plan": {"Node Type": "Result",
        "One-Time Filter": "((NULLIF(current_setting('app.provider_id'::text, true), ''::text))::uuid = $1)",
        "Plans": [{"Node Type": "Index Scan", "Index Name": "support_tickets_provider_id_status_idx",
        "Relation Name": "support_tickets", "Index Cond": "((provider_id = $1) AND ((status)::text = $2))"}]}}]"#;

    #[test]
    fn an_index_whose_leading_column_the_query_matches_serves_it() {
        let finding = judged(PHYSICIAN_STATUS);
        assert!(finding.served(), "{:?}", finding.problems);
        assert_eq!(
            finding.indexes,
            vec!["support_tickets_provider_id_status_idx"]
        );
    }

    #[test]
    fn an_index_read_without_its_leading_column_is_not_serving_whatever_the_node() {
        // PostgreSQL 15's whole-index read and PostgreSQL 18's skip scan print alike: an index
        // scan whose condition is on the second column alone.
        for node in ["Index Scan", "Index Only Scan"] {
            let plan = format!(
                r#"[{{"Plan": {{"Node Type": "{node}", "Index Name": "support_tickets_provider_id_status_idx",
                "Relation Name": "support_tickets", "Disabled": false, "Index Cond": "((status)::text = $1)"}}}}]"#
            );
            let finding = judged(&plan);
            assert_eq!(
                finding.problems,
                vec![Problem::LeadingColumnUnmatched {
                    index: "support_tickets_provider_id_status_idx".into(),
                    column: "provider_id".into(),
                    condition: Some("((status)::text = $1)".into()),
                }]
            );
            // An index of the table starts with `status`: nothing to declare.
            assert_eq!(finding.declare, None);
        }
        let bitmap = r#"[{"Plan": {"Node Type": "Bitmap Heap Scan", "Relation Name": "support_tickets",
            "Recheck Cond": "((status)::text = $1)", "Plans": [{"Node Type": "Bitmap Index Scan",
            "Index Name": "support_tickets_provider_id_status_idx", "Index Cond": "((status)::text = $1)"}]}}]"#;
        assert!(matches!(
            judged(bitmap).problems[..],
            [Problem::LeadingColumnUnmatched { .. }]
        ));
    }

    #[test]
    fn a_leading_column_only_the_policy_matches_is_reported_as_such() {
        let plan = r#"[{"Plan": {"Node Type": "Index Scan", "Index Name": "support_tickets_provider_id_status_idx",
            "Relation Name": "support_tickets",
            "Index Cond": "((provider_id = (NULLIF(current_setting('app.provider_id'::text, true), ''::text))::uuid) AND ((status)::text = $1))"}}]"#;
        let finding = judged(plan);
        assert_eq!(
            finding.problems,
            vec![Problem::ThroughPolicy {
                index: "support_tickets_provider_id_status_idx".into(),
                column: "provider_id".into(),
            }]
        );
    }

    #[test]
    fn filters_sorts_and_sequential_scans_say_what_to_declare() {
        let plan = r#"[{"Plan": {"Node Type": "Sort", "Sort Key": ["subject DESC"], "Plans": [
            {"Node Type": "Index Scan", "Index Name": "support_tickets_provider_id_created_at_idx",
             "Relation Name": "support_tickets", "Index Cond": "(provider_id = $1)",
             "Filter": "((category)::text = $2)"}]}}]"#;
        let finding = judged(plan);
        assert_eq!(
            finding.problems,
            vec![
                Problem::Filter {
                    table: "support_tickets".into(),
                    condition: "((category)::text = $2)".into(),
                },
                Problem::Sort {
                    keys: vec!["subject DESC".into()]
                },
            ]
        );
        assert_eq!(
            finding.declare.as_deref(),
            Some("index(provider_id, category, subject(desc))")
        );

        // Equalities in another order than an index's columns: that index serves them, and the
        // planner's choice is at fault, not the declaration.
        let plan = r#"[{"Plan": {"Node Type": "Index Scan", "Index Name": "support_tickets_status_priority_idx",
            "Relation Name": "support_tickets", "Index Cond": "((status)::text = $2)",
            "Filter": "(provider_id = $1)"}}]"#;
        assert_eq!(judged(plan).declare, None);

        let plan = r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "support_tickets",
            "Filter": "((assigned_to)::text = $1)"}}]"#;
        let finding = judged(plan);
        assert_eq!(finding.problems.len(), 2);
        assert_eq!(finding.declare.as_deref(), Some("index(assigned_to)"));
    }

    #[test]
    fn indexes_are_used_redundant_keys_foreign_keys_or_unused() {
        let catalog = seed_catalog();
        let of_table: Vec<&CatalogIndex> = catalog.indexes.iter().collect();
        let keys = &catalog.foreign_keys["support_tickets"];
        let used = BTreeMap::from([(
            (
                "support_tickets".to_string(),
                "support_tickets_status_priority_idx".to_string(),
            ),
            vec!["triage".to_string()],
        )]);
        let status = |i: usize| index_status(of_table[i], &of_table, keys, &used);
        assert_eq!(status(0), IndexStatus::Key);
        assert_eq!(status(1), IndexStatus::ForeignKey);
        assert_eq!(status(3), IndexStatus::Used(vec!["triage".into()]));

        let lone_status = index("support_tickets_status_idx", &["status"]);
        let mut with_prefix = of_table.clone();
        with_prefix.push(&lone_status);
        assert_eq!(
            index_status(&lone_status, &with_prefix, keys, &used),
            IndexStatus::Redundant {
                of: "support_tickets_status_priority_idx".into()
            }
        );
        let assigned = index("support_tickets_assigned_to_idx", &["assigned_to"]);
        assert_eq!(
            index_status(&assigned, &of_table, keys, &used),
            IndexStatus::Unused
        );
        // A descending column is not the prefix of an ascending one.
        let created = index(
            "support_tickets_provider_id_created_idx",
            &["provider_id", "created_at"],
        );
        let mut both = of_table.clone();
        both.push(&created);
        assert_eq!(
            index_status(&created, &both, &[], &used),
            IndexStatus::Unused
        );
    }
}
