//! The plan check against the real server: the application's registered queries planned as the
//! physician and the support team (row-level security on, generic plans), judged by the index
//! each reads; and the declared indexes judged by the queries that read them.

mod common;

use common::{block_on, TestDb};
use schema_core::pg::explain::{check_queries, IndexStatus, Note, Problem, QueryReport};
use schema_core::{NamedQuery, QueryRole, Schema};
use shared::schemas::db::schema;
use shared::schemas::{PHYSICIAN_ROLE, PROVIDER_SETTING, SUPPORT_TEAM_ROLE};

/// The application's schema applied, with 200 providers of 50 tickets each spread over every
/// status, priority and 20 agents, analyzed: the planner chooses among indexes by statistics,
/// and on empty tables every index looks alike.
fn clinic() -> TestDb {
    let mut db = TestDb::with_schema();
    db.client()
        .batch_execute(
            "INSERT INTO providers (npi, first_name, last_name, email) \
             SELECT lpad(g::text, 10, '0'), 'Dr', 'Number' || g, 'dr' || g || '@clinic.test' \
             FROM generate_series(1, 200) g; \
             INSERT INTO support_tickets \
                 (provider_id, subject, description, status, priority, assigned_to, created_at) \
             SELECT p.provider_id, 'ticket', 'private details', \
                 (ARRAY['OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'RESOLVED', 'CLOSED'])[1 + g % 5], \
                 (ARRAY['LOW', 'MEDIUM', 'HIGH', 'URGENT'])[1 + g % 4], \
                 'agent' || (g % 20), now() - g * interval '1 minute' \
             FROM providers p, generate_series(1, 50) g; \
             ANALYZE",
        )
        .unwrap();
    db
}

/// The physician's role, scoped to a provider (any: a generic plan does not read it).
fn physician() -> QueryRole {
    QueryRole::new(PHYSICIAN_ROLE).setting(PROVIDER_SETTING, "00000000-0000-0000-0000-000000000001")
}

/// The support team's role.
fn support_team() -> QueryRole {
    QueryRole::new(SUPPORT_TEAM_ROLE)
}

/// The check of the application's tables with the one query `sql`, named `name`, asked as
/// `role`.
fn check_one(db: &TestDb, role: QueryRole, name: &'static str, sql: &'static str) -> QueryReport {
    check(db, tables_with(role, &[(name, sql)]))
}

/// The check of `schema` (named as `db` names its roles) on `db`, as the owner's login.
fn check(db: &TestDb, schema: Schema) -> QueryReport {
    let schema = schema.with_names(db.names().clone());
    block_on(async {
        let (mut client, _connection) = schema_core::pg::connect(db.url()).await.unwrap();
        check_queries(&mut client, &schema).await.unwrap()
    })
}

/// The application's tables with only `queries` registered.
fn tables_with(role: QueryRole, queries: &[(&'static str, &'static str)]) -> Schema {
    let mut tables = Schema::new();
    for table in schema().tables() {
        tables = tables.with_def(table);
    }
    tables.queries(
        role,
        queries
            .iter()
            .map(|(name, sql)| NamedQuery::new(*name, *sql)),
    )
}

#[test]
fn the_seeds_four_questions_are_served_by_their_indexes() {
    let db = clinic();
    let report = check(&db, schema());
    assert!(report.passed(), "{report}");
    let index_of = |query: &str| report.query(query).unwrap().indexes.clone();
    assert_eq!(
        index_of("tickets_with_status"),
        ["support_tickets_provider_id_status_idx"]
    );
    assert_eq!(
        index_of("recent_tickets"),
        ["support_tickets_provider_id_created_at_idx"]
    );
    assert_eq!(
        index_of("triage_queue"),
        ["support_tickets_status_priority_idx"]
    );
    assert_eq!(
        index_of("agent_workload"),
        ["support_tickets_assigned_to_status_idx"]
    );
    assert_eq!(
        report.query("triage_queue").unwrap().role,
        SUPPORT_TEAM_ROLE
    );
    assert_eq!(
        report
            .index("support_tickets_status_priority_idx")
            .unwrap()
            .status,
        IndexStatus::Used(vec!["triage_queue".into()])
    );
    assert_eq!(
        report.index("support_tickets_pkey").unwrap().status,
        IndexStatus::Key
    );
    assert!(report.tables_without_statistics.is_empty());
    // No registered query reads the providers or the invoices: their indexes are not judged.
    assert!(report.tables_not_read.contains(&"providers".to_string()));
    assert!(report.index("providers_pkey").is_none());
}

#[test]
fn a_status_alone_reads_the_index_without_its_leading_column() {
    let mut db = clinic();
    // The seed's index (provider_id, status) alone holds `status`.
    db.client()
        .batch_execute(
            "DROP INDEX support_tickets_status_priority_idx; \
             DROP INDEX support_tickets_assigned_to_status_idx",
        )
        .unwrap();
    let report = check_one(
        &db,
        support_team(),
        "by_status",
        "SELECT * FROM support_tickets WHERE status = $1",
    );
    let finding = report.query("by_status").unwrap();
    assert!(!finding.served(), "{report}");
    assert_eq!(finding.indexes, ["support_tickets_provider_id_status_idx"]);
    assert!(
        finding.problems.iter().any(|p| matches!(
            p,
            Problem::LeadingColumnUnmatched { index, column, .. }
                if index == "support_tickets_provider_id_status_idx" && column == "provider_id"
        )),
        "{report}"
    );
    assert_eq!(finding.declare.as_deref(), Some("index(status)"));
    // Read whole, the index is not counted as used.
    assert_eq!(
        report
            .index("support_tickets_provider_id_status_idx")
            .unwrap()
            .status,
        IndexStatus::ForeignKey
    );
    assert!(report.to_string().contains(
        "support_tickets_provider_id_status_idx read without its leading column provider_id"
    ));
}

#[test]
fn a_skip_scan_of_postgresql_18_is_not_taken_for_a_served_query() {
    // Few providers, few open tickets: from PostgreSQL 18 the index (provider_id, status) is
    // read for a status by one descent per provider, a skip scan, cheap enough that a planner
    // picks it.
    let mut db = TestDb::with_schema();
    db.add_providers_with_tickets(3, 0);
    db.client()
        .batch_execute(
            "INSERT INTO support_tickets (provider_id, subject, description, status) \
             SELECT p.provider_id, 'ticket', 'private details', \
                 CASE WHEN g % 50 = 0 THEN 'OPEN' ELSE 'CLOSED' END \
             FROM providers p, generate_series(1, 5000) g; \
             DROP INDEX support_tickets_status_priority_idx; \
             DROP INDEX support_tickets_assigned_to_status_idx; \
             ANALYZE",
        )
        .unwrap();
    let version: i32 = db
        .client()
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .unwrap()
        .get(0);
    if version >= 180000 {
        // Planned as the check plans, with the plans that avoid the index off.
        let mut transaction = db.client().transaction().unwrap();
        transaction
            .batch_execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
            .unwrap();
        let plan: String = transaction
            .query(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) \
                 SELECT * FROM support_tickets WHERE status = 'OPEN'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| row.get::<_, String>(0) + "\n")
            .collect();
        transaction.rollback().unwrap();
        let searches: u32 = plan
            .lines()
            .find_map(|l| l.trim().strip_prefix("Index Searches: "))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no index searches in:\n{plan}"));
        assert!(searches > 1, "not a skip scan:\n{plan}");
    }
    let report = check_one(
        &db,
        support_team(),
        "by_status",
        "SELECT * FROM support_tickets WHERE status = $1",
    );
    assert!(
        matches!(
            &report.query("by_status").unwrap().problems[..],
            [Problem::LeadingColumnUnmatched { column, .. }] if column == "provider_id"
        ),
        "{report}"
    );
}

#[test]
fn a_query_served_only_through_the_policy_is_reported_as_such() {
    let db = clinic();
    let report = check_one(
        &db,
        physician(),
        "my_tickets_by_status",
        "SELECT * FROM support_tickets WHERE status = $1",
    );
    let finding = report.query("my_tickets_by_status").unwrap();
    assert!(
        finding.problems.iter().any(|p| matches!(
            p,
            Problem::ThroughPolicy { column, .. } if column == "provider_id"
        )),
        "{report}"
    );
    assert!(report
        .to_string()
        .contains("add `provider_id = $n` to the query"));

    // The same question with the provider compared by the query itself is served.
    let report = check_one(
        &db,
        physician(),
        "my_tickets_by_status",
        "SELECT * FROM support_tickets WHERE provider_id = $1 AND status = $2",
    );
    assert!(
        report.query("my_tickets_by_status").unwrap().served(),
        "{report}"
    );
}

#[test]
fn a_filter_on_a_column_no_index_holds_names_the_index_to_declare() {
    let db = clinic();
    let report = check(
        &db,
        tables_with(
            physician(),
            &[
                (
                    "my_tickets_in_category",
                    "SELECT * FROM support_tickets WHERE provider_id = $1 AND category = $2",
                ),
                (
                    "my_tickets_by_subject",
                    "SELECT * FROM support_tickets WHERE provider_id = $1 ORDER BY subject",
                ),
            ],
        ),
    );
    let finding = report.query("my_tickets_in_category").unwrap();
    assert!(
        finding.problems.iter().any(|p| matches!(
            p,
            Problem::Filter { table, condition }
                if table == "support_tickets" && condition.contains("category")
        )),
        "{report}"
    );
    assert_eq!(
        finding.declare.as_deref(),
        Some("index(provider_id, category)")
    );
    let finding = report.query("my_tickets_by_subject").unwrap();
    assert!(
        finding
            .problems
            .iter()
            .any(|p| matches!(p, Problem::Sort { keys } if keys == &["subject"])),
        "{report}"
    );
    assert_eq!(
        finding.declare.as_deref(),
        Some("index(provider_id, subject)")
    );

    // As the support team, no index at all: the table is read whole.
    let report = check_one(
        &db,
        support_team(),
        "in_category",
        "SELECT * FROM support_tickets WHERE category = $1",
    );
    let finding = report.query("in_category").unwrap();
    assert!(finding.problems.contains(&Problem::SequentialScan {
        table: "support_tickets".into()
    }));
    assert_eq!(finding.declare.as_deref(), Some("index(category)"));
}

#[test]
fn an_index_no_query_uses_or_another_index_starts_with_is_reported() {
    let mut db = clinic();
    db.client()
        .batch_execute("CREATE INDEX support_tickets_status_idx ON support_tickets (status)")
        .unwrap();
    let report = check_one(
        &db,
        support_team(),
        "triage_queue",
        "SELECT * FROM support_tickets WHERE status = $1 ORDER BY priority",
    );
    assert!(report.query("triage_queue").unwrap().served(), "{report}");
    assert!(!report.passed());
    let status = |index: &str| report.index(index).unwrap().status.clone();
    assert_eq!(
        status("support_tickets_assigned_to_status_idx"),
        IndexStatus::Unused
    );
    assert_eq!(
        status("support_tickets_status_idx"),
        IndexStatus::Redundant {
            of: "support_tickets_status_priority_idx".into()
        }
    );
    // Listed apart, not failures: the key's index and those covering the foreign key.
    assert_eq!(status("support_tickets_pkey"), IndexStatus::Key);
    assert_eq!(
        status("support_tickets_provider_id_created_at_idx"),
        IndexStatus::ForeignKey
    );
    assert!(!IndexStatus::ForeignKey.fails() && !IndexStatus::Key.fails());
}

#[test]
fn a_query_the_server_cannot_plan_is_a_finding_of_its_own() {
    let db = clinic();
    let report = check(
        &db,
        tables_with(
            support_team(),
            &[
                (
                    "misspelt",
                    "SELECT * FROM support_tickets WHERE statuss = $1",
                ),
                (
                    "triage_queue",
                    "SELECT * FROM support_tickets WHERE status = $1 ORDER BY priority",
                ),
            ],
        ),
    );
    assert!(matches!(
        &report.query("misspelt").unwrap().problems[..],
        [Problem::NotPlanned(message)] if message.contains("statuss")
    ));
    // The failed plan's transaction is rolled back and its statement gone: the next is planned.
    assert!(report.query("triage_queue").unwrap().served(), "{report}");

    // One statement per query: a second one is refused by the parse, before
    // anything runs.
    let report = check_one(
        &db,
        support_team(),
        "two_statements",
        "SELECT * FROM support_tickets WHERE status = $1; DROP TABLE support_tickets",
    );
    assert!(matches!(
        &report.query("two_statements").unwrap().problems[..],
        [Problem::NotPlanned(message)] if message.contains("multiple commands")
    ));
}

#[test]
fn a_null_test_on_the_leading_column_is_a_lookup() {
    let db = clinic();
    let report = check_one(
        &db,
        support_team(),
        "unassigned",
        "SELECT * FROM support_tickets WHERE assigned_to IS NULL AND status = $1",
    );
    let finding = report.query("unassigned").unwrap();
    assert!(finding.served(), "{report}");
    assert_eq!(finding.indexes, ["support_tickets_assigned_to_status_idx"]);
}

#[test]
fn tables_without_statistics_are_named_in_a_warning() {
    let db = TestDb::with_schema();
    let report = check(&db, schema());
    assert_eq!(report.tables_without_statistics, ["support_tickets"]);
    assert!(
        report
            .to_string()
            .contains("warning: empty or never analyzed"),
        "{report}"
    );
}

#[test]
fn the_command_line_prints_query_index_and_verdict() {
    let db = clinic();
    let run = |schema: Schema| {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = schema_core::cli::run_to(
            schema.with_names(db.names().clone()),
            ["schema", "queries", "--database-url", db.url()],
            &mut out,
            &mut err,
        );
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    let (code, out, err) = run(schema());
    assert_eq!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("recent_tickets "))
        .unwrap();
    assert!(
        line.contains("support_tickets_provider_id_created_at_idx")
            && line.contains(" served; sorts only rows equal in created_at by ticket_id DESC"),
        "{out}"
    );
    assert!(out.starts_with("query "), "{out}");

    let (code, out, _) = run(tables_with(
        support_team(),
        &[(
            "in_category",
            "SELECT * FROM support_tickets WHERE category = $1",
        )],
    ));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("declare #[pg(index(category))]"), "{out}");

    let (code, _, err) = run(Schema::new());
    assert_eq!(code, 2);
    assert!(err.contains("no query is registered"), "{err}");
}

/// A migrations folder of its own, removed on drop.
struct Folder(std::path::PathBuf);

impl Folder {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("query_check_{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        Folder(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `check` of `schema` on `db` (roles named as `db` names them), against a migrations folder
/// made from the same code: its exit code and what it printed.
fn check_command(db: &TestDb, schema: Schema) -> (u8, String) {
    let folder = Folder::new();
    let schema = schema.with_names(db.names().clone());
    let run = |args: &[&str]| {
        let mut all = vec!["schema"];
        all.extend_from_slice(args);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = schema_core::cli::run_to(schema.clone(), all, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap() + &String::from_utf8(err).unwrap(),
        )
    };
    let (code, out) = run(&["migrate", "new", "init", "--dir", folder.path()]);
    assert_eq!(code, 0, "{out}");
    run(&["check", "--database-url", db.url(), "--dir", folder.path()])
}

#[test]
fn check_fails_on_a_registered_query_the_indexes_do_not_serve() {
    let db = clinic();
    let (code, out) = check_command(&db, schema());
    assert_eq!(code, 0, "{out}");

    let with_category = schema().queries(
        support_team(),
        [NamedQuery::new(
            "in_category",
            "SELECT * FROM support_tickets WHERE category = $1",
        )],
    );
    let (code, out) = check_command(&db, with_category);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the registered queries are not all served by the indexes:")
            && out.contains("declare #[pg(index(category))]"),
        "{out}"
    );

    // On tables without statistics the plans say nothing: not judged, and said so.
    let (code, out) = check_command(&TestDb::with_schema(), schema());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "the registered queries were not judged: support_tickets empty or never analyzed"
        ),
        "{out}"
    );
}

#[test]
fn the_typed_questions_pass_each_sort_left_ordering_only_rows_the_index_cannot_tell_apart() {
    // The typed questions order by `created_at` and then the primary key (what keyset paging
    // needs); the seed's indexes hold neither after their filtered columns. Where the query
    // matches an index's whole key with its own equalities, the sort orders exactly the rows
    // that key finds; where the index gives `created_at` first, only tickets of the same
    // instant are sorted by their key. Both pass, and the verdict says what is sorted.
    use shared::schemas::db::{physician_queries, support_team_queries};
    let db = clinic();
    let mut tables = Schema::new();
    for table in schema().tables() {
        tables = tables.with_def(table);
    }
    let tables = tables
        .queries(physician(), physician_queries().unwrap())
        .queries(support_team(), support_team_queries().unwrap());
    let report = check(&db, tables);
    eprintln!("{report}");
    assert!(report.passed(), "{report}");
    for (name, index) in [
        (
            "tickets_with_status",
            "support_tickets_provider_id_status_idx",
        ),
        ("triage_queue", "support_tickets_status_priority_idx"),
        ("agent_workload", "support_tickets_assigned_to_status_idx"),
    ] {
        let finding = report.query(name).unwrap();
        assert_eq!(finding.indexes, [index], "{report}");
        assert!(
            matches!(finding.notes.as_slice(), [Note::SortsOneKey { index: i, .. }] if i == index),
            "{name}: {report}"
        );
    }
    for name in ["recent_tickets", "recent_tickets_next_page"] {
        let finding = report.query(name).unwrap();
        assert_eq!(
            finding.indexes,
            ["support_tickets_provider_id_created_at_idx"],
            "{report}"
        );
        assert!(
            finding.notes.iter().any(|note| matches!(
                note,
                Note::SortsTies { presorted, keys }
                    if presorted == &["created_at"] && keys == &["ticket_id DESC"]
            )),
            "{name}: {report}"
        );
    }
    // The next page reads from the previous page's instant on (`created_at <= $2` bounds the
    // index read), comparing only that instant's tickets by their key.
    let next = report.query("recent_tickets_next_page").unwrap();
    assert!(
        next.notes
            .iter()
            .any(|note| matches!(note, Note::FiltersTies { bound, .. } if bound == "created_at")),
        "{report}"
    );
    let printed = report.to_string();
    assert!(
        printed.contains(
            "served; sorts the rows of one key of support_tickets_provider_id_status_idx by"
        ),
        "{printed}"
    );
}

#[test]
fn a_sort_of_more_than_one_key_s_rows_fails_naming_the_index_that_would_give_the_order() {
    // Paged newest first with a status, the physician's list is either sorted from a range
    // the index does not order or filtered out of the provider's newest tickets: both fail,
    // and the check names the index that serves every page.
    use shared::schemas::db::{SupportTicket, TicketStatus};
    let db = clinic();
    let mut tables = Schema::new();
    for table in schema().tables() {
        tables = tables.with_def(table);
    }
    let paged = schema_core::query::Select::<SupportTicket>::new()
        .filter(SupportTicket::provider_id.eq(uuid::Uuid::nil()))
        .filter(SupportTicket::status.eq(TicketStatus::Open))
        .order_by(SupportTicket::created_at.desc())
        .limit(20);
    let by_subject = schema_core::query::Select::<SupportTicket>::new()
        .filter(SupportTicket::provider_id.eq(uuid::Uuid::nil()))
        .order_by(SupportTicket::subject.asc());
    let tables = tables.queries(
        physician(),
        [
            NamedQuery::new("paged_with_status", paged.to_sql().unwrap().sql),
            NamedQuery::new("by_subject", by_subject.to_sql().unwrap().sql),
        ],
    );
    let report = check(&db, tables);
    eprintln!("{report}");
    assert!(!report.passed(), "{report}");
    let paged = report.query("paged_with_status").unwrap();
    assert!(!paged.served(), "{report}");
    assert_eq!(
        paged.declare.as_deref(),
        Some("index(provider_id, status, created_at(desc), ticket_id(desc))"),
        "{report}"
    );
    let by_subject = report.query("by_subject").unwrap();
    assert!(
        by_subject
            .problems
            .iter()
            .any(|problem| matches!(problem, Problem::Sort { .. })),
        "{report}"
    );
}
