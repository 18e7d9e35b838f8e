//! Reading a live database into the schema model, and the drift check against the code: no
//! false difference on the seed's schema, every hand change reported, unmanaged tables left
//! alone. Runs against every PostgreSQL major the test command brings up.

mod common;

use common::{block_on, TestDb};
use schema_core::diff::diff;
use schema_core::model::SchemaModel;
use schema_core::pg::evolve::{drift, normalized_model, read_both, shadow_model, Shadow};
use schema_core::pg::introspect::{read_model, Scope};
use shared::schemas::db::schema;

fn code_model(db: &TestDb) -> SchemaModel {
    schema().with_names(db.names().clone()).model().unwrap()
}

#[test]
fn the_seed_dumped_and_applied_reads_back_with_no_difference() {
    let db = TestDb::with_schema();
    let code = code_model(&db);
    let schema = schema().with_names(db.names().clone());
    for shadow in [Shadow::Transaction, Shadow::SameServer] {
        let (live, normalized) = block_on(read_both(db.url(), &code, shadow)).unwrap();
        assert!(live.unmanaged_tables.is_empty());
        assert_eq!(live.tables.len(), 5);
        assert!(diff(&live, &normalized).is_empty(), "{shadow:?}");
        assert_eq!(live.normalized(), normalized.normalized(), "{shadow:?}");
        let lines = block_on(drift(db.url(), &schema, shadow)).unwrap();
        assert_eq!(lines, Vec::<String>::new(), "{shadow:?}");
    }
    // The whole DDL applied in a shadow reads back exactly as the database does, and so does
    // the normalized model, whose structural parts are kept as the code declares them.
    let whole = block_on(async {
        let (client, connection) = schema_core::pg::tokio_postgres::connect(
            db.url(),
            schema_core::pg::tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let config = db.url().parse().unwrap();
        let whole = shadow_model(&client, &config, &code, Shadow::Transaction)
            .await
            .unwrap();
        let normalized = normalized_model(&client, &config, &code, Shadow::Transaction)
            .await
            .unwrap();
        assert_eq!(whole.normalized(), normalized.normalized());
        whole
    });
    let (live, _) = block_on(read_both(db.url(), &code, Shadow::Transaction)).unwrap();
    assert_eq!(whole, live);
}

#[test]
fn the_model_read_back_holds_everything_the_code_declares() {
    let db = TestDb::with_schema();
    let code = code_model(&db);
    let live = block_on(async {
        let (client, connection) = schema_core::pg::tokio_postgres::connect(
            db.url(),
            schema_core::pg::tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        read_model(&client, &Scope::of(&code)).await.unwrap()
    });
    // Same objects, by name, kind and structure; expressions are the server's.
    assert_eq!(live.roles, code.roles);
    assert_eq!(live.namespaces, code.namespaces);
    assert_eq!(live.tables.len(), code.tables.len());
    for (read, declared) in live.tables.iter().zip(&code.tables) {
        assert_eq!(read.name, declared.name);
        let names = |t: &schema_core::model::TableModel| {
            t.columns
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        c.nullable,
                        c.comment.clone(),
                        c.default.is_some(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(names(read), names(declared));
        assert_eq!(read.primary_key, declared.primary_key);
        assert_eq!(read.comment, declared.comment);
        assert_eq!(read.foreign_keys, declared.foreign_keys);
        let mut unique = read.unique.clone();
        unique.sort_by(|a, b| a.name.cmp(&b.name));
        let mut declared_unique = declared.unique.clone();
        declared_unique.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(unique, declared_unique);
        // A predicate is an expression: the server's text, compared by its presence.
        let indexes = |t: &schema_core::model::TableModel| {
            let mut indexes = t.indexes.clone();
            indexes.sort_by(|a, b| a.name.cmp(&b.name));
            for index in &mut indexes {
                index.predicate = index.predicate.as_ref().map(|_| String::new());
            }
            indexes
        };
        assert_eq!(indexes(read), indexes(declared));
        assert_eq!(read.immutable, declared.immutable);
        assert_eq!(read.row_level_security, declared.row_level_security);
        assert_eq!(
            read.force_row_level_security,
            declared.force_row_level_security
        );
        let mut grants = read.grants.clone();
        grants.sort();
        let mut declared_grants = declared.grants.clone();
        declared_grants.sort();
        assert_eq!(grants, declared_grants);
        let policy_names = |t: &schema_core::model::TableModel| {
            let mut names: Vec<_> = t
                .policies
                .iter()
                .map(|p| (p.name.clone(), p.command, p.roles.clone()))
                .collect();
            names.sort_by(|a, b| a.0.cmp(&b.0));
            names
        };
        assert_eq!(policy_names(read), policy_names(declared));
        let check_names = |t: &schema_core::model::TableModel| {
            let mut names: Vec<_> = t.checks.iter().map(|c| c.name.clone()).collect();
            names.sort();
            names
        };
        assert_eq!(check_names(read), check_names(declared));
    }
}

#[test]
fn every_hand_change_to_a_managed_object_is_reported() {
    let mut db = TestDb::with_schema();
    let physician = db
        .names()
        .role_name(shared::schemas::db::PHYSICIAN_ROLE)
        .to_string();
    let changes = [
        (
            "ALTER TABLE support_tickets ALTER COLUMN subject TYPE varchar(300)",
            "column `support_tickets.subject`: type: code says character varying(200), database has character varying(300)",
        ),
        (
            "ALTER TABLE support_tickets ALTER COLUMN priority SET DEFAULT 'HIGH'",
            "column `support_tickets.priority`: default: code says 'MEDIUM'::character varying, database has 'HIGH'::character varying",
        ),
        (
            "ALTER TABLE support_tickets ALTER COLUMN category SET NOT NULL",
            "column `support_tickets.category`: nullability: code says NULL, database has NOT NULL",
        ),
        (
            "DROP INDEX support_tickets_status_priority_idx",
            "index `support_tickets_status_priority_idx` on `support_tickets`: missing",
        ),
        (
            "ALTER TABLE support_tickets DROP CONSTRAINT support_tickets_satisfaction_rating_check; \
             ALTER TABLE support_tickets ADD CONSTRAINT support_tickets_satisfaction_rating_check \
             CHECK (satisfaction_rating BETWEEN 0 AND 5)",
            "check `support_tickets_satisfaction_rating_check` on `support_tickets`: code says",
        ),
        (
            "ALTER POLICY support_tickets_support_team_read ON support_tickets USING (status <> 'CLOSED')",
            "policy `support_tickets_support_team_read` on `support_tickets`: code says SELECT",
        ),
        (
            "COMMENT ON COLUMN support_tickets.status IS 'changed by hand'",
            "column `support_tickets.status`: comment: code says Where the ticket stands., database has changed by hand",
        ),
        (
            &format!("GRANT UPDATE (status) ON support_tickets TO \"{physician}\""),
            "privilege UPDATE (status) on `support_tickets` to",
        ),
        (
            "ALTER TABLE support_tickets DISABLE TRIGGER support_tickets_immutable_columns",
            "immutable-column guard of `support_tickets`: code says guarding provider_id, created_at, database has guarding provider_id, created_at (trigger missing or disabled)",
        ),
        (
            "ALTER TABLE support_tickets NO FORCE ROW LEVEL SECURITY",
            "row-level security of `support_tickets`: code says enabled, forced, database has enabled",
        ),
    ];
    let schema = schema().with_names(db.names().clone());
    for (sql, expected) in changes {
        db.client().batch_execute(sql).unwrap();
        let lines = block_on(drift(db.url(), &schema, Shadow::Transaction)).unwrap();
        assert!(
            lines.iter().any(|line| line.starts_with(expected)),
            "after `{sql}`, expected a line starting with {expected:?}, got {lines:#?}"
        );
    }
}

#[test]
fn a_table_the_schema_does_not_declare_is_reported_and_left_alone() {
    let mut db = TestDb::with_schema();
    db.client()
        .batch_execute(
            "CREATE TABLE audit_log (id bigint PRIMARY KEY); INSERT INTO audit_log VALUES (1)",
        )
        .unwrap();
    let schema = schema().with_names(db.names().clone());
    let lines = block_on(drift(db.url(), &schema, Shadow::Transaction)).unwrap();
    assert_eq!(
        lines,
        ["table `audit_log`: not declared by the schema (left alone)"]
    );
    let plan = block_on(schema_core::pg::evolve::plan_for(
        db.url(),
        &schema,
        Shadow::Transaction,
    ))
    .unwrap();
    assert!(plan.is_empty(), "{plan:#?}");
    assert_eq!(plan.unmanaged_tables, ["audit_log"]);
}

#[test]
fn the_model_round_trips_through_json_and_renders_the_same_script() {
    let db = TestDb::new();
    let code = code_model(&db);
    let json = code.to_json();
    let back = SchemaModel::from_json(&json).unwrap();
    assert_eq!(back, code);
    assert_eq!(
        schema_core::render::script(&schema_core::render::create_statements(&back)),
        common::statements(db.ddl())
    );
    let newer = json.replacen("\"format_version\": 1", "\"format_version\": 2", 1);
    assert_eq!(
        SchemaModel::from_json(&newer).unwrap_err().to_string(),
        "the schema model is format version 2; this version reads 1"
    );
}

#[test]
fn a_plan_from_nothing_is_the_ddl_script_statement_for_statement() {
    let db = TestDb::new();
    let schema = schema().with_names(db.names().clone());
    let plan = schema_core::plan::plan(&SchemaModel::empty(), &schema.model().unwrap());
    let planned: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(planned, schema.ddl_statements().unwrap());
    assert!(plan
        .steps
        .iter()
        .all(|s| s.transactional && s.destructive.is_none()));
    // Identical models need nothing.
    let model = schema.model().unwrap();
    assert!(schema_core::plan::plan(&model, &model).is_empty());
}

#[test]
fn a_shadow_database_given_by_url_is_used_and_left_empty() {
    let db = TestDb::with_schema();
    let mut shadow = TestDb::new();
    let schema = schema().with_names(db.names().clone());
    let lines = block_on(drift(db.url(), &schema, Shadow::Url(shadow.url()))).unwrap();
    assert_eq!(lines, Vec::<String>::new());
    let tables: i64 = shadow
        .client()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "the shadow database keeps nothing");

    shadow
        .client()
        .batch_execute("CREATE TABLE keep_me (id int)")
        .unwrap();
    let refused = block_on(drift(db.url(), &schema, Shadow::Url(shadow.url()))).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the shadow database is not empty (it holds keep_me); give an empty one"
    );
}

#[test]
fn the_diff_script_applied_by_psql_repairs_drift() {
    let mut db = TestDb::with_schema();
    db.client()
        .batch_execute(
            "ALTER TABLE support_tickets ALTER COLUMN subject TYPE varchar(100); \
             DROP INDEX support_tickets_status_priority_idx; \
             ALTER TABLE support_tickets ALTER COLUMN category SET NOT NULL; \
             ALTER POLICY support_tickets_support_team_read ON support_tickets USING (false); \
             COMMENT ON TABLE providers IS NULL",
        )
        .unwrap();
    let schema = schema().with_names(db.names().clone());
    let plan = block_on(schema_core::pg::evolve::plan_for(
        db.url(),
        &schema,
        Shadow::Transaction,
    ))
    .unwrap();
    assert!(plan.steps.iter().any(|s| !s.transactional));
    common::psql(db.url(), &plan.to_script()).unwrap();
    let lines = block_on(drift(db.url(), &schema, Shadow::Transaction)).unwrap();
    assert_eq!(lines, Vec::<String>::new());
}

#[test]
fn an_invalid_index_reads_as_missing_and_the_script_builds_it_again() {
    let mut db = TestDb::with_schema();
    db.add_providers_with_tickets(1, 2);
    db.client()
        .batch_execute("DROP INDEX support_tickets_status_priority_idx")
        .unwrap();
    // A failed concurrent build (duplicates under a unique index) leaves an invalid index.
    db.client()
        .batch_execute(
            "CREATE UNIQUE INDEX CONCURRENTLY support_tickets_status_priority_idx \
             ON support_tickets (status, priority)",
        )
        .unwrap_err();
    let schema = schema().with_names(db.names().clone());
    let lines = block_on(drift(db.url(), &schema, Shadow::Transaction)).unwrap();
    assert_eq!(
        lines,
        ["index `support_tickets_status_priority_idx` on `support_tickets`: missing"]
    );
    let plan = block_on(schema_core::pg::evolve::plan_for(
        db.url(),
        &schema,
        Shadow::Transaction,
    ))
    .unwrap();
    common::psql(db.url(), &plan.to_script()).unwrap();
    let lines = block_on(drift(db.url(), &schema, Shadow::Transaction)).unwrap();
    assert_eq!(lines, Vec::<String>::new());
}
