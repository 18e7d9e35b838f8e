//! The replay oracle: for schema pairs A → B covering every kind of change, build A from its
//! DDL, apply plan(A → B), read the catalog back: it equals B built fresh from its DDL, and the
//! diff between them is empty. Rows written under A survive every change that keeps data.
//! Runs against every PostgreSQL major the test command brings up.

mod common;

use common::TestDb;
use proptest::prelude::*;
use schema_core::diff::diff;
use schema_core::model::{
    CheckModel, ColumnModel, ForeignKeyModel, GrantModel, IndexKeyModel, IndexModel, IndexPart,
    KeyModel, NamespaceModel, PolicyModel, SchemaModel, TableModel,
};
use schema_core::pg::evolve::{apply, shadow_model, untracked_dependents, EvolveError, Shadow};
use schema_core::pg::introspect::{read_model, Scope};
use schema_core::pg::tokio_postgres::error::SqlState;
use schema_core::pg::tokio_postgres::{Client, Config, NoTls};
use schema_core::pg::ConnectConfig;
use schema_core::plan::{plan_diff, Hazard, Plan};
use schema_core::render::{create_statements, script, Statement};
use schema_core::{PolicyCommand, ReferentialAction};
use shared::schemas::db::schema;

/// A database holding A, and what the oracle needs to take it to B.
struct Replay {
    db: TestDb,
    runtime: tokio::runtime::Runtime,
}

impl Replay {
    /// A fresh database with `a` created from its DDL.
    fn new(a: &SchemaModel) -> Self {
        let mut db = TestDb::new();
        db.client()
            .batch_execute(&script(&create_statements(a)))
            .unwrap();
        Replay::on(db)
    }

    fn on(db: TestDb) -> Self {
        Replay {
            db,
            runtime: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// A connection of its own, driven on the replay's runtime.
    fn connect(&self) -> Client {
        self.block_on(async {
            let (client, connection) = self
                .db
                .url()
                .parse::<Config>()
                .unwrap()
                .connect(NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
        })
    }

    /// The plan from the database as it is to `b` (normalized in a shadow database).
    fn plan(&self, a: &SchemaModel, b: &SchemaModel) -> (Plan, SchemaModel) {
        let client = self.connect();
        let config: ConnectConfig = self.db.url().parse().unwrap();
        self.block_on(async {
            let live = read_model(&client, &Scope::of_both(a, b)).await.unwrap();
            let fresh = shadow_model(&client, &config, b, Shadow::SameServer)
                .await
                .unwrap();
            (plan_diff(&diff(&live, &fresh), b), fresh)
        })
    }

    /// Applies plan(A → B) allowing `allow`, then checks the oracle: the catalog read back
    /// equals B built fresh, and their diff is empty. Returns the plan.
    fn to(
        &mut self,
        a: &SchemaModel,
        b: &SchemaModel,
        allow: &[&str],
    ) -> Result<Plan, EvolveError> {
        let (plan, fresh) = self.plan(a, b);
        let mut client = self.connect();
        self.block_on(apply(&mut client, &plan, allow))?;
        let after = self.block_on(read_model(&client, &Scope::of(b))).unwrap();
        let remaining = diff(&after, &fresh);
        assert!(
            remaining.is_empty(),
            "after the plan\n{}\nthe database still differs from B:\n{:#?}",
            plan.to_script(),
            remaining.changes
        );
        assert_eq!(
            after.normalized(),
            fresh.normalized(),
            "{}",
            plan.to_script()
        );
        Ok(plan)
    }

    fn count(&mut self, sql: &str) -> i64 {
        self.db.client().query_one(sql, &[]).unwrap().get(0)
    }
}

/// The seed's model, its roles named for `db`.
fn seed(db: &TestDb) -> SchemaModel {
    schema().with_names(db.names().clone()).model().unwrap()
}

fn tickets(model: &mut SchemaModel) -> &mut TableModel {
    model
        .tables
        .iter_mut()
        .find(|t| t.name == "support_tickets")
        .unwrap()
}

fn providers(model: &mut SchemaModel) -> &mut TableModel {
    model
        .tables
        .iter_mut()
        .find(|t| t.name == "providers")
        .unwrap()
}

fn column<'a>(table: &'a mut TableModel, name: &str) -> &'a mut ColumnModel {
    table.columns.iter_mut().find(|c| c.name == name).unwrap()
}

fn text_column(name: &str, sql_type: &str, nullable: bool, default: Option<&str>) -> ColumnModel {
    ColumnModel {
        default: default.map(Into::into),
        ..ColumnModel::new(name, sql_type, nullable)
    }
}

fn hazards(plan: &Plan) -> Vec<Hazard> {
    let mut all: Vec<Hazard> = plan.steps.iter().flat_map(|s| s.hazards.clone()).collect();
    all.sort();
    all.dedup();
    all
}

/// A pair A → B: A is the seed with 3 providers of 4 tickets each; `change` makes B.
fn seed_pair(change: impl FnOnce(&mut SchemaModel)) -> (Replay, SchemaModel, SchemaModel) {
    let mut db = TestDb::new();
    let a = seed(&db);
    db.client()
        .batch_execute(&script(&create_statements(&a)))
        .unwrap();
    db.add_providers_with_tickets(3, 4);
    let replay = Replay::on(db);
    let mut b = a.clone();
    change(&mut b);
    (replay, a, b)
}

#[test]
fn columns_are_added_without_a_rewrite_and_rows_are_kept() {
    let (mut r, a, b) = seed_pair(|b| {
        let t = tickets(b);
        t.columns
            .push(text_column("channel", "varchar(20)", false, Some("'WEB'")));
        t.columns.push(text_column("note", "text", true, None));
        t.columns
            .push(text_column("seen_at", "timestamptz", false, Some("now()")));
    });
    let plan = r.to(&a, &b, &[]).unwrap();
    assert!(hazards(&plan).is_empty(), "{:#?}", plan.steps);
    assert_eq!(
        r.count("SELECT count(*) FROM support_tickets WHERE channel = 'WEB'"),
        12
    );
}

#[test]
fn a_column_with_a_volatile_default_rewrites_the_table() {
    let (mut r, a, b) = seed_pair(|b| {
        tickets(b).columns.push(text_column(
            "token",
            "uuid",
            false,
            Some("gen_random_uuid()"),
        ));
    });
    let plan = r.to(&a, &b, &[]).unwrap();
    assert_eq!(
        hazards(&plan),
        [Hazard::RewritesTable, Hazard::BlocksReadsAndWrites]
    );
    assert_eq!(
        r.count("SELECT count(DISTINCT token) FROM support_tickets"),
        12
    );
}

#[test]
fn a_not_null_column_without_a_default_says_it_fails_on_rows_and_does() {
    let (mut r, a, b) = seed_pair(|b| {
        tickets(b)
            .columns
            .push(text_column("required", "text", false, None));
    });
    let (plan, _) = r.plan(&a, &b);
    assert_eq!(hazards(&plan), [Hazard::FailsIfRowsExist]);
    match r.to(&a, &b, &[]) {
        Err(EvolveError::Step { sql, .. }) => assert!(sql.contains("ADD COLUMN \"required\"")),
        other => panic!("expected the step to fail, got {other:?}"),
    }
    // The failed step's transaction was rolled back: the rows and the table are as they were.
    assert_eq!(r.count("SELECT count(*) FROM support_tickets"), 12);
}

#[test]
fn dropping_a_column_or_a_table_is_refused_unless_allowed_and_refusal_changes_nothing() {
    let (mut r, a, b) = seed_pair(|b| {
        tickets(b)
            .columns
            .retain(|c| c.name != "satisfaction_comment");
        let t = tickets(b);
        t.grants
            .iter_mut()
            .for_each(|g| g.columns.retain(|c| c != "satisfaction_comment"));
    });
    let refused = r.to(&a, &b, &[]).unwrap_err();
    match &refused {
        EvolveError::Refused(refused) => {
            let objects: Vec<_> = refused
                .steps
                .iter()
                .map(|s| s.destructive.as_ref().unwrap().object.as_str())
                .collect();
            assert_eq!(objects, ["support_tickets.satisfaction_comment"]);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        r.count(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_name = 'support_tickets' AND column_name = 'satisfaction_comment'"
        ),
        1
    );
    let plan = r
        .to(&a, &b, &["support_tickets.satisfaction_comment"])
        .unwrap();
    assert!(hazards(&plan).contains(&Hazard::DeletesData));
    assert!(hazards(&plan).contains(&Hazard::BreaksRunningCode));
    assert_eq!(r.count("SELECT count(*) FROM support_tickets"), 12);
}

#[test]
fn a_declared_column_rename_keeps_its_values() {
    let (mut r, a, b) = seed_pair(|b| {
        let t = tickets(b);
        let c = column(t, "subject");
        c.name = "title".into();
        c.renamed_from = Some("subject".into());
        for g in &mut t.grants {
            for c in &mut g.columns {
                if c == "subject" {
                    *c = "title".into();
                }
            }
        }
    });
    let plan = r.to(&a, &b, &[]).unwrap();
    assert_eq!(hazards(&plan), [Hazard::BreaksRunningCode]);
    assert_eq!(
        r.count("SELECT count(*) FROM support_tickets WHERE title LIKE 'ticket % of provider %'"),
        12
    );
}

#[test]
fn an_undeclared_rename_is_planned_as_drop_and_add_and_the_plan_says_so() {
    let a = schema().model().unwrap();
    let mut b = a.clone();
    column(tickets(&mut b), "resolution_notes").name = "resolution".into();
    tickets(&mut b).grants.iter_mut().for_each(|g| {
        g.columns
            .iter_mut()
            .filter(|c| *c == "resolution_notes")
            .for_each(|c| *c = "resolution".into())
    });
    let plan = schema_core::plan::plan(&a, &b);
    assert_eq!(
        plan.suggestions,
        [
            "column `resolution_notes` of table `support_tickets` is dropped and `resolution` \
          added with the same type: if it was renamed, declare `renamed_from = \
          \"resolution_notes\"` on its field to keep its values"
        ]
    );
    assert!(plan.check_allowed(&[]).is_err());
}

#[test]
fn a_declared_table_rename_keeps_its_rows_keys_and_references() {
    let (mut r, a, b) = seed_pair(|b| {
        let p = providers(b);
        p.name = "clinicians".into();
        p.renamed_from = Some("providers".into());
        p.primary_key.as_mut().unwrap().name = "clinicians_pkey".into();
        for key in &mut p.unique {
            key.name = key.name.replace("providers_", "clinicians_");
        }
        for index in &mut p.indexes {
            index.name = index.name.replace("providers_", "clinicians_");
        }
        // Every foreign key to it, the billing tables' included.
        for table in &mut b.tables {
            for fk in &mut table.foreign_keys {
                if fk.references_table == "providers" {
                    fk.references_table = "clinicians".into();
                }
            }
        }
    });
    let plan = r.to(&a, &b, &[]).unwrap();
    assert!(
        plan.steps.iter().all(|s| !s.sql.contains("DROP")),
        "{}",
        plan.to_script()
    );
    assert_eq!(r.count("SELECT count(*) FROM clinicians"), 3);
    assert_eq!(
        r.count("SELECT count(*) FROM support_tickets JOIN clinicians USING (provider_id)"),
        12
    );
}

#[test]
fn varchar_is_widened_in_place_and_narrowing_is_destructive() {
    let (mut r, a, b) = seed_pair(|b| {
        column(tickets(b), "subject").sql_type = "varchar(300)".into();
        column(tickets(b), "satisfaction_rating").sql_type = "bigint".into();
    });
    let plan = r.to(&a, &b, &[]).unwrap();
    let widen = plan
        .steps
        .iter()
        .find(|s| s.sql.contains("\"subject\" TYPE"))
        .unwrap();
    assert!(widen.hazards.is_empty());
    let int = plan
        .steps
        .iter()
        .find(|s| s.sql.contains("\"satisfaction_rating\" TYPE"))
        .unwrap();
    assert_eq!(
        int.hazards,
        [Hazard::RewritesTable, Hazard::BlocksReadsAndWrites]
    );
    assert!(int.destructive.is_none());

    let mut c = b.clone();
    column(tickets(&mut c), "subject").sql_type = "varchar(100)".into();
    match r.to(&b, &c, &[]) {
        Err(EvolveError::Refused(refused)) => {
            assert_eq!(
                refused.steps[0].destructive.as_ref().unwrap().object,
                "support_tickets.subject"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let plan = r.to(&b, &c, &["support_tickets.subject"]).unwrap();
    assert!(hazards(&plan).contains(&Hazard::DeletesData));
    assert_eq!(r.count("SELECT count(*) FROM support_tickets"), 12);
}

#[test]
fn not_null_goes_through_a_validated_check_and_defaults_change() {
    let (mut r, a, b) = seed_pair(|b| {
        let t = tickets(b);
        let c = column(t, "context_url");
        c.nullable = false;
        c.default = Some("'about:blank'".into());
        column(t, "priority").default = None;
        column(t, "status").default = Some("'IN_PROGRESS'".into());
        column(t, "assigned_to").nullable = true;
    });
    r.db.client()
        .batch_execute("UPDATE support_tickets SET context_url = 'https://app.test/claims'")
        .unwrap();
    let plan = r.to(&a, &b, &[]).unwrap();
    let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
    let check = sql
        .iter()
        .position(|s| s.contains("CHECK (\"context_url\" IS NOT NULL) NOT VALID"))
        .unwrap();
    let validate = sql
        .iter()
        .position(|s| s.contains("VALIDATE CONSTRAINT"))
        .unwrap();
    let set = sql
        .iter()
        .position(|s| s.contains("\"context_url\" SET NOT NULL"))
        .unwrap();
    assert!(check < validate && validate < set, "{sql:#?}");
    assert!(hazards(&plan).contains(&Hazard::ScansToValidate));
}

#[test]
fn checks_and_foreign_keys_are_added_not_valid_then_validated() {
    let (mut r, a, b) = seed_pair(|b| {
        let t = tickets(b);
        t.checks.push(CheckModel {
            name: "support_tickets_subject_not_blank".into(),
            renamed_from: None,
            expression: "btrim(\"subject\") <> ''".into(),
            no_inherit: false,
        });
        t.checks
            .retain(|c| c.name != "support_tickets_satisfaction_rating_check");
        t.foreign_keys[0].on_delete = ReferentialAction::Cascade;
        let p = providers(b);
        p.columns
            .push(text_column("referred_by", "uuid", true, None));
        p.foreign_keys.push(ForeignKeyModel {
            name: "providers_referred_by_fkey".into(),
            columns: vec!["referred_by".into()],
            references_table: "providers".into(),
            references_columns: vec!["provider_id".into()],
            on_delete: ReferentialAction::SetNull,
            on_update: ReferentialAction::NoAction,
        });
    });
    let plan = r.to(&a, &b, &[]).unwrap();
    let not_valid = plan
        .steps
        .iter()
        .filter(|s| s.sql.ends_with("NOT VALID"))
        .count();
    let validated = plan
        .steps
        .iter()
        .filter(|s| s.sql.contains("VALIDATE CONSTRAINT"))
        .count();
    assert_eq!((not_valid, validated), (3, 3), "{}", plan.to_script());
}

#[test]
fn indexes_are_built_and_dropped_concurrently_outside_a_transaction() {
    let (mut r, a, b) = seed_pair(|b| {
        let t = tickets(b);
        t.indexes
            .retain(|i| i.name != "support_tickets_status_priority_idx");
        t.indexes.push(IndexModel {
            name: "support_tickets_open_idx".into(),
            renamed_from: None,
            unique: false,
            method: "btree".into(),
            keys: vec![IndexKeyModel::new("created_at", true, Some(false))],
            include: Vec::new(),
            predicate: Some("(\"status\")::text = 'OPEN'::text".into()),
        });
        let i = t
            .indexes
            .iter_mut()
            .find(|i| i.name == "support_tickets_assigned_to_status_idx")
            .unwrap();
        i.name = "support_tickets_queue_idx".into();
        i.renamed_from = Some("support_tickets_assigned_to_status_idx".into());
        let p = providers(b);
        p.unique.push(KeyModel {
            name: "providers_first_name_last_name_email_key".into(),
            columns: vec!["first_name".into(), "last_name".into(), "email".into()],
            nulls_not_distinct: false,
        });
    });
    let plan = r.to(&a, &b, &[]).unwrap();
    let concurrent: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| !s.transactional)
        .map(|s| s.sql.as_str())
        .collect();
    assert_eq!(concurrent.len(), 3, "{concurrent:#?}");
    assert!(concurrent.iter().all(|s| s.contains("CONCURRENTLY")));
    assert!(hazards(&plan).contains(&Hazard::BuildsIndex));
    assert!(plan.steps.iter().any(|s| s.sql.contains("ALTER INDEX \"support_tickets_assigned_to_status_idx\" RENAME TO \"support_tickets_queue_idx\"")));
    assert!(plan.to_script().contains(
        "COMMIT;\n\n-- lock: ShareUpdateExclusive; hazards: BuildsIndex\nSET lock_timeout"
    ));
}

/// The index kinds beyond a plain btree: a method, an operator class, a predicate, `INCLUDE`
/// columns and an expression key, each added, changed and dropped.
#[test]
fn index_methods_classes_predicates_includes_and_expressions_are_added_changed_and_dropped() {
    let (mut r, a, b) = seed_pair(|b| {
        let t = tickets(b);
        t.indexes.extend([
            IndexModel {
                name: "support_tickets_metadata_idx".into(),
                renamed_from: None,
                unique: false,
                method: "gin".into(),
                keys: vec![IndexKeyModel::new("context_metadata", false, None)
                    .with_opclass(Some("jsonb_path_ops".into()))],
                include: Vec::new(),
                predicate: None,
            },
            IndexModel {
                name: "support_tickets_unresolved_idx".into(),
                renamed_from: None,
                unique: false,
                method: "btree".into(),
                keys: vec![IndexKeyModel::new("provider_id", false, None)],
                include: vec!["subject".into()],
                predicate: Some("\"resolved_at\" IS NULL".into()),
            },
            IndexModel {
                name: "support_tickets_subject_lower_idx".into(),
                renamed_from: None,
                unique: false,
                method: "btree".into(),
                keys: vec![IndexKeyModel::expression("lower(\"subject\")", false, None)],
                include: Vec::new(),
                predicate: None,
            },
            IndexModel {
                name: "support_tickets_created_brin_idx".into(),
                renamed_from: None,
                unique: false,
                method: "brin".into(),
                keys: vec![IndexKeyModel::new("created_at", false, None)],
                include: Vec::new(),
                predicate: None,
            },
        ]);
    });
    let added = r.to(&a, &b, &[]).unwrap();
    for sql in [
        "USING gin (\"context_metadata\" \"jsonb_path_ops\")",
        "(\"provider_id\") INCLUDE (\"subject\") WHERE \"resolved_at\" IS NULL",
        "(lower(\"subject\"))",
        "USING brin (\"created_at\")",
    ] {
        assert!(
            added.to_script().contains(sql),
            "{sql}\n{}",
            added.to_script()
        );
    }
    assert_eq!(r.count("SELECT count(*) FROM support_tickets"), 12);

    // Each one changed: the default class, another predicate and INCLUDE column, another
    // expression, another method.
    let mut c = b.clone();
    for index in &mut tickets(&mut c).indexes {
        match index.name.as_str() {
            "support_tickets_metadata_idx" => index.keys[0].opclass = None,
            "support_tickets_unresolved_idx" => {
                index.include = vec!["status".into()];
                index.predicate = Some("\"resolved_at\" IS NOT NULL".into());
            }
            "support_tickets_subject_lower_idx" => {
                index.keys[0].column = "upper(\"subject\")".into();
            }
            "support_tickets_created_brin_idx" => index.method = "btree".into(),
            _ => {}
        }
    }
    let changed = r.to(&b, &c, &[]).unwrap();
    let rebuilt = changed
        .steps
        .iter()
        .filter(|s| s.sql.starts_with("CREATE INDEX CONCURRENTLY"))
        .count();
    assert_eq!(rebuilt, 4, "{}", changed.to_script());

    // And dropped.
    r.to(&c, &a, &[]).unwrap();
    assert_eq!(r.count("SELECT count(*) FROM support_tickets"), 12);
}

/// Identities and stored generated columns: added to a table with rows, changed (mode,
/// sequence options, expression), turned back into ordinary columns and dropped.
#[test]
fn identities_and_generated_columns_are_added_changed_and_dropped() {
    use schema_core::model::IdentityModel;
    let mut a = SchemaModel::empty();
    a.tables.push(TableModel {
        columns: vec![
            ColumnModel::new("id", "bigint", false),
            ColumnModel::new("quantity", "integer", false),
            ColumnModel::new("unit_cents", "bigint", false),
        ],
        primary_key: Some(KeyModel::new("meter_pkey", vec!["id".into()])),
        ..TableModel::named("meter")
    });
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO meter SELECT n, n, 10 * n FROM generate_series(1, 5) AS n")
        .unwrap();

    // Added: an identity on the key (numbering from past the rows), a new identity column,
    // and a generated column with an index on it.
    let mut b = a.clone();
    {
        let t = &mut b.tables[0];
        t.columns[0].identity = Some(IdentityModel {
            start: 100,
            ..IdentityModel::defaults("bigint", true, 1)
        });
        t.columns.push(ColumnModel {
            identity: Some(IdentityModel::defaults("integer", false, 1)),
            ..ColumnModel::new("position", "integer", false)
        });
        t.columns.push(ColumnModel {
            generated: Some("\"quantity\" * \"unit_cents\"".into()),
            ..ColumnModel::new("total_cents", "bigint", true)
        });
        t.indexes
            .push(btree_index("meter_total_idx", &["total_cents"], false));
    }
    let added = r.to(&a, &b, &[]).unwrap();
    assert!(hazards(&added).contains(&Hazard::RewritesTable));
    assert_eq!(
        r.count("SELECT sum(total_cents)::bigint FROM meter"),
        (1..=5).map(|n| 10 * n * n).sum::<i64>()
    );
    assert_eq!(r.count("SELECT count(DISTINCT position) FROM meter"), 5);

    // Changed: the mode and increment of one identity, the expression of the generated column
    // (its index is built again).
    let mut c = b.clone();
    {
        let t = &mut c.tables[0];
        let id = t.columns[0].identity.as_mut().unwrap();
        id.always = false;
        id.increment = 5;
        t.columns[4].generated = Some("\"quantity\" + \"unit_cents\"".into());
    }
    let changed = r.to(&b, &c, &[]).unwrap();
    assert!(
        changed.steps.iter().all(|s| s.destructive.is_none()),
        "{}",
        changed.to_script()
    );
    assert_eq!(
        r.count("SELECT sum(total_cents)::bigint FROM meter"),
        (1..=5).map(|n| 11 * n).sum::<i64>()
    );

    // Back to ordinary columns: the identities dropped, the generated values kept.
    let mut d = c.clone();
    for column in &mut d.tables[0].columns {
        column.identity = None;
        column.generated = None;
    }
    r.to(&c, &d, &[]).unwrap();
    assert_eq!(
        r.count("SELECT sum(total_cents)::bigint FROM meter"),
        (1..=5).map(|n| 11 * n).sum::<i64>()
    );

    // And dropped, once allowed.
    r.to(&d, &a, &["meter.position", "meter.total_cents"])
        .unwrap();
    assert_eq!(r.count("SELECT count(*) FROM meter"), 5);
}

#[test]
fn policies_are_altered_in_place_renamed_created_and_dropped() {
    let (mut r, a, b) = seed_pair(|b| {
        let support = b.roles[1].clone();
        let t = tickets(b);
        let read = t
            .policies
            .iter_mut()
            .find(|p| p.name == "support_tickets_support_team_read")
            .unwrap();
        read.using = Some("\"status\" <> 'CLOSED'".into());
        let work = t
            .policies
            .iter_mut()
            .find(|p| p.name == "support_tickets_support_team_work")
            .unwrap();
        work.name = "support_tickets_support_team_triage".into();
        work.renamed_from = Some("support_tickets_support_team_work".into());
        t.policies.push(PolicyModel {
            name: "support_tickets_support_team_close".into(),
            renamed_from: None,
            command: PolicyCommand::Delete,
            permissive: true,
            roles: vec![support.clone()],
            using: Some("\"status\" = 'CLOSED'".into()),
            with_check: None,
        });
        t.grants.push(GrantModel {
            role: support,
            privilege: "DELETE".into(),
            columns: Vec::new(),
            grantable: false,
        });
        t.comment = Some("Support requests.".into());
        column(t, "status").comment = None;
    });
    let plan = r.to(&a, &b, &[]).unwrap();
    let sql = plan.to_script();
    assert!(
        sql.contains(
            "ALTER POLICY \"support_tickets_support_team_read\" ON \"support_tickets\" TO"
        ),
        "{sql}"
    );
    assert!(sql.contains(
        "ALTER POLICY \"support_tickets_support_team_work\" ON \"support_tickets\" RENAME TO"
    ));
    assert!(sql.contains("COMMENT ON COLUMN \"support_tickets\".\"status\" IS NULL"));
    assert!(!sql.contains("DROP POLICY"));
}

#[test]
fn grants_and_roles_are_planned_like_any_other_change() {
    let auditor = TestDb::new().role_name("auditor");
    let (mut r, a, b) = seed_pair(|b| {
        let physician = b.roles[0].clone();
        b.roles.push(auditor.clone());
        let t = tickets(b);
        t.grants.push(GrantModel {
            role: auditor.clone(),
            privilege: "SELECT".into(),
            columns: Vec::new(),
            grantable: false,
        });
        // The physician may no longer delete, and may now also update the context URL.
        t.grants
            .retain(|g| !(g.role == physician && g.privilege == "DELETE"));
        let update = t
            .grants
            .iter_mut()
            .find(|g| g.role == physician && g.privilege == "UPDATE")
            .unwrap();
        update.columns.insert(2, "context_url".into());
    });
    r.db.drop_role_later(&auditor);
    let plan = r.to(&a, &b, &[]).unwrap();
    let sql = plan.to_script();
    assert!(
        sql.contains(&format!(
            "GRANT SELECT ON \"support_tickets\" TO \"{auditor}\""
        )),
        "{sql}"
    );
    assert!(
        sql.contains("REVOKE DELETE ON \"support_tickets\" FROM"),
        "{sql}"
    );
    assert!(
        sql.contains("GRANT UPDATE (\"context_url\") ON \"support_tickets\" TO"),
        "{sql}"
    );
}

#[test]
fn a_renamed_enum_value_is_rewritten_in_every_row_and_a_removed_one_is_refused() {
    let (mut r, a, b) = seed_pair(|b| {
        let t = tickets(b);
        let c = column(t, "status");
        c.renamed_values = vec![("WAITING_ON_CUSTOMER".into(), "WAITING".into())];
        let check = t
            .checks
            .iter_mut()
            .find(|c| c.name == "support_tickets_status_check")
            .unwrap();
        check.expression =
            "\"status\" IN ('OPEN', 'IN_PROGRESS', 'WAITING', 'RESOLVED', 'CLOSED')".into();
    });
    r.db.client()
        .batch_execute("UPDATE support_tickets SET status = 'WAITING_ON_CUSTOMER' WHERE subject LIKE 'ticket 1 %'")
        .unwrap();
    let plan = r.to(&a, &b, &[]).unwrap();
    assert!(hazards(&plan).contains(&Hazard::UpdatesRows));
    assert!(hazards(&plan).contains(&Hazard::BlocksWrites));
    assert_eq!(
        r.count("SELECT count(*) FROM support_tickets WHERE status = 'WAITING'"),
        3
    );
    assert_eq!(
        r.count("SELECT count(*) FROM support_tickets WHERE status = 'WAITING_ON_CUSTOMER'"),
        0
    );

    let mut c = b.clone();
    let check = tickets(&mut c)
        .checks
        .iter_mut()
        .find(|c| c.name == "support_tickets_status_check")
        .unwrap();
    check.expression = "\"status\" IN ('OPEN', 'IN_PROGRESS', 'RESOLVED', 'CLOSED')".into();
    column(tickets(&mut c), "status").renamed_values.clear();
    match r.to(&b, &c, &[]) {
        Err(EvolveError::Refused(refused)) => {
            let d = refused.steps[0].destructive.as_ref().unwrap();
            assert_eq!(d.object, "support_tickets.status");
            assert!(d.reason.contains("WAITING"), "{}", d.reason);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        r.count("SELECT count(*) FROM support_tickets WHERE status = 'WAITING'"),
        3
    );
}

#[test]
fn the_immutable_guard_follows_its_columns_and_row_security_its_flags() {
    let (mut r, a, b) = seed_pair(|b| {
        let t = tickets(b);
        let guard = t.immutable.as_mut().unwrap();
        guard.columns.retain(|c| c != "created_at");
        let start = guard.body.find("    IF NEW.\"created_at\"").unwrap();
        let end = guard.body[start..].find("END IF;\n").unwrap() + start + "END IF;\n".len();
        guard.body.replace_range(start..end, "");
        t.force_row_level_security = false;
        providers(b).row_level_security = true;
    });
    r.to(&a, &b, &[]).unwrap();
    r.db.client()
        .batch_execute("UPDATE support_tickets SET created_at = created_at - interval '1 day'")
        .expect("created_at is no longer guarded");
    assert!(r
        .db
        .client()
        .batch_execute(
            "UPDATE support_tickets SET provider_id = (SELECT provider_id FROM providers LIMIT 1)"
        )
        .is_err());
}

#[test]
fn a_new_table_is_created_whole_and_a_dropped_one_needs_allowing() {
    let (mut r, a, b) = seed_pair(|b| {
        let mut notes = tickets(b).clone();
        notes.name = "ticket_notes".into();
        notes
            .columns
            .retain(|c| ["ticket_id", "description", "created_at"].contains(&c.name.as_str()));
        notes.primary_key = Some(KeyModel {
            name: "ticket_notes_pkey".into(),
            columns: vec!["ticket_id".into()],
            nulls_not_distinct: false,
        });
        notes.foreign_keys.clear();
        notes.checks.clear();
        notes.indexes.clear();
        notes.immutable = None;
        notes.policies.clear();
        notes.grants.clear();
        notes.row_level_security = false;
        notes.force_row_level_security = false;
        b.tables.push(notes);
    });
    r.to(&a, &b, &[]).unwrap();
    match r.to(&b, &a, &[]) {
        Err(EvolveError::Refused(refused)) => {
            assert_eq!(
                refused.steps[0].destructive.as_ref().unwrap().object,
                "ticket_notes"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    r.to(&b, &a, &["ticket_notes"]).unwrap();
}

/// A PostgreSQL schema: created with a table in it (its key, a foreign key to the current
/// schema, an index built concurrently) and `USAGE` for the role granted the table, that
/// `USAGE` moved to another role with the table's privilege, and the schema dropped after its
/// table.
#[test]
fn a_postgres_schema_is_created_granted_and_dropped_with_its_tables() {
    let (mut r, a, b) = seed_pair(|b| {
        let physician = b.roles[0].clone();
        let mut notes = TableModel::named("archive.ticket_notes");
        notes.columns = vec![
            ColumnModel::new("note_id", "bigint", false),
            ColumnModel::new("ticket_id", "uuid", false),
            ColumnModel::new("body", "text", true),
        ];
        notes.primary_key = Some(KeyModel::new("ticket_notes_pkey", vec!["note_id".into()]));
        notes.foreign_keys.push(ForeignKeyModel {
            name: "ticket_notes_ticket_id_fkey".into(),
            columns: vec!["ticket_id".into()],
            references_table: "support_tickets".into(),
            references_columns: vec!["ticket_id".into()],
            on_delete: ReferentialAction::Cascade,
            on_update: ReferentialAction::NoAction,
        });
        notes.indexes.push(index_of_kind(
            "ticket_notes_ticket_id_idx".into(),
            "ticket_id",
            0,
        ));
        notes.grants.push(GrantModel {
            role: physician.clone(),
            privilege: "SELECT".into(),
            columns: Vec::new(),
            grantable: false,
        });
        b.namespaces.push(NamespaceModel {
            name: "archive".into(),
            usage: vec![physician],
        });
        b.tables.push(notes);
    });
    let sql = r.to(&a, &b, &[]).unwrap().to_script();
    for expected in [
        "CREATE SCHEMA IF NOT EXISTS \"archive\";",
        "GRANT USAGE ON SCHEMA \"archive\" TO",
        "CREATE TABLE \"archive\".\"ticket_notes\" (",
        "ON \"archive\".\"ticket_notes\" (\"ticket_id\")",
    ] {
        assert!(sql.contains(expected), "no `{expected}` in\n{sql}");
    }
    assert!(
        sql.find("CREATE SCHEMA") < sql.find("CREATE TABLE"),
        "{sql}"
    );
    // The table's privilege, and with it the schema's USAGE, go to the support team.
    let mut c = b.clone();
    let support = c.roles[1].clone();
    c.tables.last_mut().unwrap().grants[0].role = support.clone();
    c.namespaces.last_mut().unwrap().usage = vec![support.clone()];
    let sql = r.to(&b, &c, &[]).unwrap().to_script();
    assert!(
        sql.contains(&format!(
            "GRANT USAGE ON SCHEMA \"archive\" TO \"{support}\""
        )),
        "{sql}"
    );
    assert!(
        sql.contains("REVOKE USAGE ON SCHEMA \"archive\" FROM"),
        "{sql}"
    );
    // Back: the table's rows go only when allowed, then the schema goes after it.
    match r.to(&c, &a, &[]) {
        Err(EvolveError::Refused(refused)) => assert_eq!(
            refused.steps[0].destructive.as_ref().unwrap().object,
            "archive.ticket_notes"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let sql = r.to(&c, &a, &["archive.ticket_notes"]).unwrap().to_script();
    assert!(
        sql.find("DROP TABLE \"archive\".\"ticket_notes\"") < sql.find("DROP SCHEMA \"archive\""),
        "{sql}"
    );
    assert_eq!(
        r.count("SELECT count(*) FROM pg_namespace WHERE nspname = 'archive'"),
        0
    );
}

// --- generated pairs ---------------------------------------------------------------------

/// One change a generated pair makes to a small table.
#[derive(Clone, Debug)]
enum Edit {
    AddColumn(bool),
    DropColumn(usize),
    RenameColumn(usize),
    Widen(usize),
    ToggleNull(usize),
    SetDefault(usize),
    /// An index on a column, of one of the kinds `index_of_kind` makes.
    AddIndex(usize, u8),
    AddCheck(usize),
    Comment(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<bool>().prop_map(Edit::AddColumn),
        (0..4usize).prop_map(Edit::DropColumn),
        (0..4usize).prop_map(Edit::RenameColumn),
        (0..4usize).prop_map(Edit::Widen),
        (0..4usize).prop_map(Edit::ToggleNull),
        (0..4usize).prop_map(Edit::SetDefault),
        (0..4usize, 0..6u8).prop_map(|(i, kind)| Edit::AddIndex(i, kind)),
        (0..4usize).prop_map(Edit::AddCheck),
        (0..4usize).prop_map(Edit::Comment),
    ]
}

/// A table `gen` with an id and four text columns.
fn generated_base() -> SchemaModel {
    let mut columns = vec![ColumnModel::new("id", "bigint", false)];
    for i in 0..4 {
        columns.push(text_column(&format!("c{i}"), "varchar(20)", true, None));
    }
    let mut model = SchemaModel::empty();
    model.tables.push(TableModel {
        columns,
        primary_key: Some(KeyModel {
            name: "gen_pkey".into(),
            columns: vec!["id".into()],
            nulls_not_distinct: false,
        }),
        ..TableModel::named("gen")
    });
    model
}

/// A btree index `name` on `columns`, ascending.
fn btree_index(name: &str, columns: &[&str], unique: bool) -> IndexModel {
    IndexModel {
        name: name.into(),
        renamed_from: None,
        unique,
        method: "btree".into(),
        keys: columns
            .iter()
            .map(|c| IndexKeyModel::new(*c, false, None))
            .collect(),
        include: Vec::new(),
        predicate: None,
    }
}

/// An index `name` on `column` of kind `kind % 6`: btree ascending or descending, hash, brin,
/// partial, or on an expression with an `INCLUDE` column.
fn index_of_kind(name: String, column: &str, kind: u8) -> IndexModel {
    let quoted = format!("\"{column}\"");
    let key = |descending| IndexKeyModel::new(column, descending, None);
    let (method, keys, include, predicate) = match kind % 6 {
        0 => ("btree", vec![key(false)], vec![], None),
        1 => ("btree", vec![key(true)], vec![], None),
        2 => ("hash", vec![key(false)], vec![], None),
        3 => ("brin", vec![key(false)], vec![], None),
        4 => (
            "btree",
            vec![key(false)],
            vec![],
            Some(format!("{quoted} IS NOT NULL")),
        ),
        _ => (
            "btree",
            vec![IndexKeyModel::expression(
                format!("lower({quoted})"),
                false,
                None,
            )],
            vec!["id".to_string()],
            None,
        ),
    };
    IndexModel {
        name,
        renamed_from: None,
        unique: false,
        method: method.into(),
        keys,
        include,
        predicate,
    }
}

/// `model` with `edits` made; new names start with `prefix`, so two rounds of edits never
/// name two objects alike.
fn apply_edits(model: &SchemaModel, edits: &[Edit], prefix: &str) -> SchemaModel {
    let mut model = model.clone();
    let t = &mut model.tables[0];
    for (n, edit) in edits.iter().enumerate() {
        let columns: Vec<String> = t.columns.iter().skip(1).map(|c| c.name.clone()).collect();
        let pick = |i: usize| columns.get(i % columns.len().max(1)).cloned();
        match edit {
            Edit::AddColumn(nullable) => t.columns.push(text_column(
                &format!("{prefix}n{n}"),
                "text",
                *nullable,
                (!nullable).then_some("'x'"),
            )),
            Edit::DropColumn(i) => {
                if let Some(name) = pick(*i) {
                    t.columns.retain(|c| c.name != name);
                    let quoted = format!("\"{name}\"");
                    t.indexes.retain(|x| {
                        !x.keys
                            .iter()
                            .any(|k| k.column == name || k.column.contains(&quoted))
                            && !x.include.contains(&name)
                            && !x.predicate.as_ref().is_some_and(|p| p.contains(&quoted))
                    });
                    t.checks
                        .retain(|c| !c.expression.contains(&format!("\"{name}\"")));
                }
            }
            Edit::RenameColumn(i) => {
                if let Some(name) = pick(*i) {
                    let c = t.columns.iter_mut().find(|c| c.name == name).unwrap();
                    if c.renamed_from.is_none() {
                        c.renamed_from = Some(name.clone());
                        c.name = format!("{prefix}r{n}");
                        let new = c.name.clone();
                        let (quoted, requoted) = (format!("\"{name}\""), format!("\"{new}\""));
                        for x in &mut t.indexes {
                            for k in &mut x.keys {
                                if k.column == name {
                                    k.column = new.clone();
                                } else if k.expression {
                                    k.column = k.column.replace(&quoted, &requoted);
                                }
                            }
                            for c in &mut x.include {
                                if *c == name {
                                    *c = new.clone();
                                }
                            }
                            if let Some(p) = &mut x.predicate {
                                *p = p.replace(&quoted, &requoted);
                            }
                        }
                        for check in &mut t.checks {
                            check.expression = check
                                .expression
                                .replace(&format!("\"{name}\""), &format!("\"{new}\""));
                        }
                    }
                }
            }
            Edit::Widen(i) => {
                if let Some(name) = pick(*i) {
                    let c = t.columns.iter_mut().find(|c| c.name == name).unwrap();
                    if c.sql_type == "varchar(20)" {
                        c.sql_type = "varchar(40)".into();
                    }
                }
            }
            Edit::ToggleNull(i) => {
                if let Some(name) = pick(*i) {
                    let c = t.columns.iter_mut().find(|c| c.name == name).unwrap();
                    c.nullable = !c.nullable;
                    // A column added by this round and made NOT NULL needs a default for the
                    // rows already there.
                    if !c.nullable && c.default.is_none() && name.starts_with(&format!("{prefix}n"))
                    {
                        c.default = Some("'x'".into());
                    }
                }
            }
            Edit::SetDefault(i) => {
                if let Some(name) = pick(*i) {
                    let c = t.columns.iter_mut().find(|c| c.name == name).unwrap();
                    let added_not_null = !c.nullable && name.starts_with(&format!("{prefix}n"));
                    c.default = match c.default {
                        Some(_) if !added_not_null => None,
                        _ => Some(format!("'{prefix}d{n}'")),
                    };
                }
            }
            Edit::AddIndex(i, kind) => {
                if let Some(name) = pick(*i) {
                    t.indexes
                        .push(index_of_kind(format!("gen_{prefix}i{n}"), &name, *kind));
                }
            }
            Edit::AddCheck(i) => {
                if let Some(name) = pick(*i) {
                    t.checks.push(CheckModel {
                        name: format!("gen_{prefix}k{n}"),
                        renamed_from: None,
                        expression: format!("length(\"{name}\") < 100"),
                        no_inherit: false,
                    });
                }
            }
            Edit::Comment(i) => {
                if let Some(name) = pick(*i) {
                    let c = t.columns.iter_mut().find(|c| c.name == name).unwrap();
                    c.comment = Some(format!("comment {prefix}{n}"));
                }
            }
        }
    }
    model
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// Generated pairs: A from a few edits of a base table, B from a few more; every row of A
    /// stays, and every column that was not dropped keeps its values (renamed ones too).
    #[test]
    fn generated_pairs_replay_to_what_b_builds_fresh(
        first in proptest::collection::vec(edit(), 0..4),
        then in proptest::collection::vec(edit(), 1..6),
    ) {
        let base = generated_base();
        let a = apply_edits(&base, &first, "a");
        // A's declarations are history by the time B is written.
        let a = SchemaModel { tables: vec![TableModel { columns: a.tables[0].columns.iter().cloned().map(|c| ColumnModel { renamed_from: None, ..c }).collect(), ..a.tables[0].clone() }], ..a };
        let b = apply_edits(&a, &then, "b");
        let mut r = Replay::new(&a);
        let values: Vec<String> = a.tables[0].columns.iter().skip(1).map(|c| c.name.clone()).collect();
        let insert = format!(
            "INSERT INTO gen (id, {}) SELECT g, {} FROM generate_series(1, 5) g",
            values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", "),
            values.iter().map(|_| "'v' || g".to_string()).collect::<Vec<_>>().join(", "),
        );
        r.db.client().batch_execute(&insert).unwrap();
        let dropped: Vec<String> = a.tables[0].columns.iter()
            .filter(|c| !b.tables[0].columns.iter().any(|n| n.name == c.name || n.renamed_from.as_deref() == Some(&c.name)))
            .map(|c| format!("gen.{}", c.name))
            .collect();
        let allow: Vec<&str> = dropped.iter().map(String::as_str).collect();
        r.to(&a, &b, &allow).unwrap();
        prop_assert_eq!(r.count("SELECT count(*) FROM gen"), 5);
        for c in &b.tables[0].columns {
            let old = c.renamed_from.clone().unwrap_or_else(|| c.name.clone());
            if values.contains(&old) {
                let kept = r.count(&format!("SELECT count(*) FROM gen WHERE \"{}\" = 'v' || id", c.name));
                prop_assert_eq!(kept, 5, "column {} (was {})", c.name, old);
            }
        }
    }
}

// --- renames declared in the derive ------------------------------------------------------

mod v1 {
    use schema_core::{PgEnum, PgTable};

    #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
    #[pg(rename_all = "UPPERCASE")]
    pub enum State {
        Todo,
        Waiting,
        Done,
    }

    #[derive(PgTable)]
    #[pg(table = "tasks", index(state))]
    #[allow(dead_code)]
    pub struct Task {
        #[pg(primary_key)]
        pub task_id: i64,
        #[pg(varchar = 100)]
        pub title: String,
        #[pg(varchar = 10, default = State::Todo)]
        pub state: State,
    }
}

mod v2 {
    use schema_core::{PgEnum, PgTable};

    #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
    #[pg(rename_all = "UPPERCASE")]
    pub enum State {
        Todo,
        #[pg(renamed_from = "WAITING")]
        Blocked,
        Done,
    }

    #[derive(PgTable)]
    #[pg(table = "jobs", renamed_from = "tasks", index(state))]
    #[allow(dead_code)]
    pub struct Job {
        #[pg(primary_key)]
        pub task_id: i64,
        #[pg(varchar = 100, renamed_from = "title")]
        pub name: String,
        #[pg(varchar = 10, default = State::Todo)]
        pub state: State,
    }
}

#[test]
fn renames_declared_in_the_derive_keep_rows_and_rewrite_enum_values() {
    let mut db = TestDb::new();
    let v1 = schema_core::Schema::new().table::<v1::Task>();
    let v2 = schema_core::Schema::new().table::<v2::Job>();
    db.client().batch_execute(&v1.to_ddl().unwrap()).unwrap();
    db.client()
        .batch_execute(
            "INSERT INTO tasks (task_id, title, state) \
             SELECT g, 'task ' || g, CASE WHEN g % 2 = 0 THEN 'WAITING' ELSE 'DONE' END \
             FROM generate_series(1, 10) g",
        )
        .unwrap();
    let r = Replay::on(db);
    let plan = r
        .block_on(schema_core::pg::evolve::plan_for(
            r.db.url(),
            &v2,
            Shadow::SameServer,
        ))
        .unwrap();
    let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
    assert!(
        sql.contains(&r#"ALTER TABLE "tasks" RENAME TO "jobs""#),
        "{sql:#?}"
    );
    assert!(sql.contains(&r#"ALTER TABLE "jobs" RENAME COLUMN "title" TO "name""#));
    assert!(sql.contains(&r#"UPDATE "jobs" SET "state" = 'BLOCKED' WHERE "state" = 'WAITING'"#));
    assert!(sql
        .iter()
        .all(|s| !s.contains("DROP TABLE") && !s.contains("DROP COLUMN")));
    let mut client = r.connect();
    r.block_on(apply(&mut client, &plan, &[])).unwrap();
    let lines = r
        .block_on(schema_core::pg::evolve::drift(
            r.db.url(),
            &v2,
            Shadow::SameServer,
        ))
        .unwrap();
    assert_eq!(lines, Vec::<String>::new());
    let mut r = r;
    assert_eq!(
        r.count("SELECT count(*) FROM jobs WHERE state = 'BLOCKED' AND name LIKE 'task %'"),
        5
    );
    assert_eq!(r.count("SELECT count(*) FROM jobs WHERE state = 'DONE'"), 5);
}

#[test]
fn a_new_column_comes_with_its_comment() {
    let (mut r, a, b) = seed_pair(|b| {
        let mut column = text_column("channel", "text", true, None);
        column.comment = Some("Where the ticket came from.".into());
        tickets(b).columns.push(column);
    });
    let plan = r.to(&a, &b, &[]).unwrap();
    assert!(plan.steps.iter().any(|s| s.sql
        == r#"COMMENT ON COLUMN "support_tickets"."channel" IS 'Where the ticket came from.'"#));
}

// --- keys and foreign keys of several columns, declared in the derive ---------------------

/// One version of two tables, `clinics` and `visits`: `$clinic` and `$visit` are the `pg`
/// attributes of each beyond its name and key.
macro_rules! keyed_version {
    ($name:ident, clinic($($clinic:tt)*), visit($($visit:tt)*)) => {
        // Two keys sharing a column are not a repeated attribute (rust-clippy#13238).
        #[allow(dead_code, clippy::duplicated_attributes)]
        mod $name {
            use schema_core::PgTable;

            #[derive(PgTable)]
            #[pg(table = "clinics", primary_key(tenant_id, clinic_id) $($clinic)*)]
            pub struct Clinic {
                pub tenant_id: i32,
                pub clinic_id: i32,
                #[pg(varchar = 20)]
                pub code: String,
                pub email: Option<String>,
            }

            #[derive(PgTable)]
            #[pg(table = "visits" $($visit)*)]
            pub struct Visit {
                #[pg(primary_key)]
                pub visit_id: i64,
                pub tenant_id: i32,
                pub clinic_id: i32,
                #[pg(varchar = 20)]
                pub clinic_code: Option<String>,
            }

            pub fn schema() -> schema_core::Schema {
                schema_core::Schema::new().table::<Clinic>().table::<Visit>()
            }
        }
    };
}

keyed_version!(keys_v0, clinic(), visit());
// Added: a unique key, one whose NULLs are not distinct, and a foreign key to the primary key.
keyed_version!(
    keys_v1,
    clinic(, unique(tenant_id, code), unique(tenant_id, email, nulls_not_distinct)),
    visit(, foreign_key(columns(tenant_id, clinic_id), references(Clinic::tenant_id, Clinic::clinic_id)))
);
// Changed: the second key's NULLs become distinct again (same name), the foreign key's
// actions change (same name).
keyed_version!(
    keys_v2,
    clinic(, unique(tenant_id, code), unique(tenant_id, email)),
    visit(, foreign_key(
        columns(tenant_id, clinic_id),
        references(Clinic::tenant_id, Clinic::clinic_id),
        on_delete = "cascade",
        on_update = "cascade"
    ))
);
// Changed: the foreign key's columns (it now references the code key, under a name of its
// own) and a named key's columns.
keyed_version!(
    keys_v3,
    clinic(, unique(tenant_id, code), unique(tenant_id, email, code, name = "clinics_contact_key")),
    visit(, foreign_key(
        columns(tenant_id, clinic_code),
        references(Clinic::tenant_id, Clinic::code),
        on_delete = "restrict",
        name = "visits_clinic_fkey"
    ))
);
// Changed again under the same name: the named key's columns and its NULLs.
keyed_version!(
    keys_v4,
    clinic(, unique(tenant_id, code), unique(tenant_id, email, nulls_not_distinct, name = "clinics_contact_key")),
    visit(, foreign_key(
        columns(tenant_id, clinic_code),
        references(Clinic::tenant_id, Clinic::code),
        name = "visits_clinic_fkey"
    ))
);

#[test]
fn composite_keys_and_foreign_keys_are_added_changed_and_dropped() {
    let mut db = TestDb::new();
    let model = |schema: schema_core::Schema| schema.model().unwrap();
    let versions = [
        model(keys_v0::schema()),
        model(keys_v1::schema()),
        model(keys_v2::schema()),
        model(keys_v3::schema()),
        model(keys_v4::schema()),
        model(keys_v0::schema()),
    ];
    db.client()
        .batch_execute(&script(&create_statements(&versions[0])))
        .unwrap();
    db.client()
        .batch_execute(
            "INSERT INTO clinics VALUES (1, 1, 'NORTH', 'n@example.com'), (1, 2, 'SOUTH', NULL), \
             (2, 1, 'NORTH', NULL); \
             INSERT INTO visits VALUES (1, 1, 1, 'NORTH'), (2, 1, 2, 'SOUTH'), (3, 2, 1, NULL)",
        )
        .unwrap();
    let mut r = Replay::on(db);
    // A second clinic of tenant 1 without an email, tried and rolled back.
    let second_without_email = |r: &mut Replay| {
        r.db.client()
            .batch_execute("BEGIN; INSERT INTO clinics VALUES (1, 3, 'EAST', NULL); ROLLBACK")
            .map_err(|_| r.db.client().batch_execute("ROLLBACK").unwrap())
            .is_ok()
    };
    let mut plans: Vec<Plan> = Vec::new();
    for (i, pair) in versions.windows(2).enumerate() {
        plans.push(r.to(&pair[0], &pair[1], &[]).unwrap());
        // NULLs not distinct in v1 and v4 only.
        let at = i + 1;
        assert_eq!(second_without_email(&mut r), ![1, 4].contains(&at), "v{at}");
    }
    assert_eq!(r.count("SELECT count(*) FROM clinics"), 3);
    assert_eq!(r.count("SELECT count(*) FROM visits"), 3);

    // v1: each key's index is built concurrently, then the constraint made from it; the
    // foreign key comes after the keys, NOT VALID then validated.
    let sql: Vec<&str> = plans[0].steps.iter().map(|s| s.sql.as_str()).collect();
    let built = sql
        .iter()
        .position(|s| {
            *s == "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"clinics_tenant_id_email_key\" \
                   ON \"clinics\" (\"tenant_id\", \"email\") NULLS NOT DISTINCT"
        })
        .unwrap_or_else(|| panic!("{sql:#?}"));
    let made = sql
        .iter()
        .position(|s| {
            *s == "ALTER TABLE \"clinics\" ADD CONSTRAINT \"clinics_tenant_id_email_key\" \
                   UNIQUE USING INDEX \"clinics_tenant_id_email_key\""
        })
        .unwrap();
    let referenced = sql
        .iter()
        .position(|s| {
            *s == "ALTER TABLE \"visits\" ADD CONSTRAINT \"visits_tenant_id_clinic_id_fkey\" \
                   FOREIGN KEY (\"tenant_id\", \"clinic_id\") REFERENCES \"clinics\" \
                   (\"tenant_id\", \"clinic_id\") NOT VALID"
        })
        .unwrap();
    assert!(built < made && made < referenced, "{sql:#?}");
    assert!(!plans[0].steps[built].transactional);
    assert!(plans[0].steps[built].hazards.contains(&Hazard::BuildsIndex));

    // v2 and v4 change objects that keep their names: each is dropped before it is made
    // again, a foreign key before the key it references.
    for plan in [&plans[1], &plans[3]] {
        let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
        for name in ["clinics_tenant_id_email_key", "clinics_contact_key"] {
            let dropped = sql
                .iter()
                .position(|s| s.ends_with(&format!("DROP CONSTRAINT \"{name}\"")));
            let made = sql
                .iter()
                .position(|s| s.contains(&format!("INDEX \"{name}\"")));
            if let (Some(dropped), Some(made)) = (dropped, made) {
                assert!(dropped < made, "{sql:#?}");
            }
        }
    }
    let sql: Vec<&str> = plans[1].steps.iter().map(|s| s.sql.as_str()).collect();
    assert!(sql.contains(
        &"ALTER TABLE \"visits\" ADD CONSTRAINT \"visits_tenant_id_clinic_id_fkey\" FOREIGN KEY \
          (\"tenant_id\", \"clinic_id\") REFERENCES \"clinics\" (\"tenant_id\", \"clinic_id\") \
          ON DELETE CASCADE ON UPDATE CASCADE NOT VALID"
    ));
    // The last plan drops the foreign key first, then the keys it depended on.
    let mut sql: Vec<&str> = plans[4].steps.iter().map(|s| s.sql.as_str()).collect();
    sql[1..].sort();
    assert_eq!(
        sql,
        [
            "ALTER TABLE \"visits\" DROP CONSTRAINT \"visits_clinic_fkey\"",
            "ALTER TABLE \"clinics\" DROP CONSTRAINT \"clinics_contact_key\"",
            "ALTER TABLE \"clinics\" DROP CONSTRAINT \"clinics_tenant_id_code_key\"",
        ]
    );
    let lines = r
        .block_on(schema_core::pg::evolve::drift(
            r.db.url(),
            &keys_v0::schema(),
            Shadow::SameServer,
        ))
        .unwrap();
    assert_eq!(lines, Vec::<String>::new());
}

/// One table, `jobs`, whose `state` column goes from a text enum to a native enum type and on
/// through its labels' changes.
#[allow(dead_code)]
mod jobs {
    macro_rules! version {
        ($name:ident, [$($(#[$attr:meta])* $variant:ident),*], $($native:tt)*) => {
            pub mod $name {
                use schema_core::{PgEnum, PgTable, Schema};

                /// The state of a job.
                #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
                #[pg($($native)*)]
                pub enum JobState {
                    $($(#[$attr])* $variant),*
                }

                /// A job.
                #[derive(PgTable)]
                #[pg(table = "jobs")]
                pub struct Job {
                    #[pg(primary_key)]
                    pub id: i64,
                    pub state: JobState,
                }

                pub fn schema() -> Schema {
                    Schema::new().table::<Job>()
                }
            }
        };
    }

    version!(text, [Queued, Done], rename_all = "lowercase");
    version!(native, [Queued, Done], native, rename_all = "lowercase");
    version!(
        added,
        [Queued, Running, Done],
        native,
        rename_all = "lowercase"
    );
    version!(
        renamed,
        [
            Queued,
            Running,
            #[pg(renamed_from = "done")]
            Finished
        ],
        native,
        rename_all = "lowercase"
    );
    version!(
        removed,
        [Queued, Finished],
        native,
        rename_all = "lowercase"
    );

    pub mod gone {
        use schema_core::{PgTable, Schema};

        /// A job without a state.
        #[derive(PgTable)]
        #[pg(table = "jobs")]
        pub struct Job {
            #[pg(primary_key)]
            pub id: i64,
        }

        pub fn schema() -> Schema {
            Schema::new().table::<Job>()
        }
    }
}

#[test]
fn a_native_enum_type_is_created_extended_renamed_shrunk_and_dropped_keeping_rows() {
    let model = |schema: schema_core::Schema| schema.model().unwrap();
    let text = model(jobs::text::schema());
    let native = model(jobs::native::schema());
    let added = model(jobs::added::schema());
    let renamed = model(jobs::renamed::schema());
    let removed = model(jobs::removed::schema());
    let gone = model(jobs::gone::schema());
    let mut r = Replay::new(&text);
    r.db.client()
        .batch_execute("INSERT INTO jobs VALUES (1, 'queued'), (2, 'done')")
        .unwrap();

    // A text enum becomes the native type: created first, the column converted through text.
    let plan = r.to(&text, &native, &[]).unwrap();
    let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sql,
        [
            "CREATE TYPE \"job_state\" AS ENUM ('queued', 'done')",
            "ALTER TABLE \"jobs\" DROP CONSTRAINT \"jobs_state_check\"",
            "ALTER TABLE \"jobs\" ALTER COLUMN \"state\" TYPE \"job_state\" USING \"state\"::text::\"job_state\"",
        ],
        "{}",
        plan.to_script()
    );

    // A new label, in its declared place, outside a transaction.
    let plan = r.to(&native, &added, &[]).unwrap();
    assert_eq!(plan.steps.len(), 1, "{}", plan.to_script());
    assert_eq!(
        plan.steps[0].sql,
        "ALTER TYPE \"job_state\" ADD VALUE 'running' AFTER 'queued'"
    );
    assert!(!plan.steps[0].transactional);
    r.db.client()
        .batch_execute("INSERT INTO jobs VALUES (3, 'running')")
        .unwrap();

    // A renamed label keeps its rows.
    let plan = r.to(&added, &renamed, &[]).unwrap();
    assert_eq!(
        plan.steps
            .iter()
            .map(|s| s.sql.as_str())
            .collect::<Vec<_>>(),
        ["ALTER TYPE \"job_state\" RENAME VALUE 'done' TO 'finished'"]
    );
    assert_eq!(
        r.count("SELECT count(*) FROM jobs WHERE state = 'finished'"),
        1
    );

    // A removed label swaps the type: refused unless allowed, and failing on rows holding it.
    let refused = r.to(&renamed, &removed, &[]).unwrap_err();
    assert!(
        matches!(&refused, EvolveError::Refused(refusal) if refusal.to_string().contains("'running'")),
        "{refused}"
    );
    let failed = r.to(&renamed, &removed, &["jobs.state"]);
    assert!(
        matches!(failed, Err(EvolveError::Step { .. })),
        "{failed:?}"
    );
    r.db.client()
        .batch_execute("DELETE FROM jobs WHERE state = 'running'")
        .unwrap();
    let plan = r.to(&renamed, &removed, &["jobs.state"]).unwrap();
    assert!(plan.steps.iter().any(|s| s.destructive.is_some()));
    assert_eq!(
        r.count("SELECT count(*) FROM jobs WHERE state IN ('queued', 'finished')"),
        2
    );
    assert_eq!(
        r.count("SELECT count(*) FROM pg_type WHERE typname LIKE 'job_state%'"),
        1
    );

    // A type no column uses is dropped after the column.
    let plan = r.to(&removed, &gone, &["jobs.state"]).unwrap();
    assert_eq!(
        plan.steps.last().unwrap().sql,
        "DROP TYPE \"job_state\"",
        "{}",
        plan.to_script()
    );
    assert_eq!(
        r.count("SELECT count(*) FROM pg_type WHERE typname = 'job_state'"),
        0
    );
}

// Plans that apply: each change below was once planned in an order PostgreSQL refuses half-way
// (or planned silently wrong); each is now applied, or refused when the plan is written.

/// A table of `columns` (name, type, nullable) with a primary key on `id`.
fn table_of(name: &str, columns: &[(&str, &str, bool)]) -> TableModel {
    TableModel {
        columns: columns
            .iter()
            .map(|(c, t, n)| ColumnModel::new(*c, *t, *n))
            .collect(),
        primary_key: Some(KeyModel::new(format!("{name}_pkey"), vec!["id".into()])),
        ..TableModel::named(name)
    }
}

fn model_of(tables: Vec<TableModel>) -> SchemaModel {
    SchemaModel {
        tables,
        ..SchemaModel::empty()
    }
}

fn policy(name: &str, using: &str) -> PolicyModel {
    PolicyModel {
        name: name.into(),
        renamed_from: None,
        command: PolicyCommand::Select,
        permissive: true,
        roles: vec!["public".into()],
        using: Some(using.into()),
        with_check: None,
    }
}

fn check(name: &str, expression: &str) -> CheckModel {
    CheckModel {
        name: name.into(),
        renamed_from: None,
        expression: expression.into(),
        no_inherit: false,
    }
}

fn expression_index(name: &str, sql: &str) -> IndexModel {
    IndexModel {
        name: name.into(),
        renamed_from: None,
        unique: false,
        method: "btree".into(),
        keys: vec![IndexKeyModel::expression(sql, false, None)],
        include: Vec::new(),
        predicate: None,
    }
}

fn sqls(plan: &Plan) -> Vec<&str> {
    plan.steps.iter().map(|s| s.sql.as_str()).collect()
}

#[test]
fn a_column_is_dropped_after_the_policy_check_and_index_naming_it_change() {
    let mut a = model_of(vec![table_of(
        "docs",
        &[
            ("id", "integer", false),
            ("owner", "text", true),
            ("team", "text", true),
        ],
    )]);
    let docs = &mut a.tables[0];
    docs.row_level_security = true;
    docs.policies
        .push(policy("docs_read", "\"owner\" = CURRENT_USER"));
    docs.checks
        .push(check("docs_people", "\"owner\" <> \"team\""));
    docs.indexes
        .push(expression_index("docs_owner_idx", "lower(\"owner\")"));
    docs.indexes.push(expression_index(
        "docs_who_idx",
        "lower(\"owner\" || \"team\")",
    ));
    let mut b = a.clone();
    let docs = &mut b.tables[0];
    docs.columns.retain(|c| c.name != "owner");
    docs.policies[0].using = Some("\"team\" = CURRENT_USER".into());
    docs.checks[0] = check("docs_people", "\"team\" <> ''");
    docs.indexes.retain(|i| i.name != "docs_owner_idx");
    docs.indexes[0] = expression_index("docs_who_idx", "lower(\"team\")");
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO docs VALUES (1, 'ann', 'north'), (2, 'bob', 'south')")
        .unwrap();
    let plan = r.to(&a, &b, &["docs.owner"]).unwrap();
    let sql = sqls(&plan);
    let at = |prefix: &str| sql.iter().position(|s| s.starts_with(prefix)).unwrap();
    assert!(at("DROP POLICY \"docs_read\"") < at("ALTER TABLE \"docs\" DROP COLUMN"));
    assert!(at("ALTER TABLE \"docs\" DROP COLUMN") < at("CREATE POLICY \"docs_read\""));
    assert_eq!(
        r.count("SELECT count(*) FROM docs WHERE team IS NOT NULL"),
        2
    );
}

#[test]
fn a_primary_key_that_foreign_keys_reference_is_replaced_with_them_set_aside() {
    let mut parent = table_of(
        "parent",
        &[("id", "integer", false), ("code", "text", false)],
    );
    parent
        .unique
        .push(KeyModel::new("parent_code_key", vec!["code".into()]));
    let mut child = table_of(
        "child",
        &[("id", "integer", false), ("parent_id", "integer", true)],
    );
    child.foreign_keys.push(ForeignKeyModel {
        name: "child_parent_id_fkey".into(),
        columns: vec!["parent_id".into()],
        references_table: "parent".into(),
        references_columns: vec!["id".into()],
        on_delete: ReferentialAction::NoAction,
        on_update: ReferentialAction::NoAction,
    });
    let a = model_of(vec![parent, child]);
    // The key moves to `code`; `id` stays unique under a constraint of its own.
    let mut b = a.clone();
    b.tables[0].primary_key = Some(KeyModel::new("parent_pkey", vec!["code".into()]));
    b.tables[0].unique = vec![KeyModel::new("parent_id_key", vec!["id".into()])];
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute(
            "INSERT INTO parent VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (1, 1), (2, 2)",
        )
        .unwrap();
    let plan = r.to(&a, &b, &[]).unwrap();
    let sql = sqls(&plan);
    let at = |text: &str| sql.iter().position(|s| s.contains(text)).unwrap();
    assert!(at("DROP CONSTRAINT \"child_parent_id_fkey\"") < at("DROP CONSTRAINT \"parent_pkey\""));
    assert!(at("ADD CONSTRAINT \"parent_id_key\"") < at("ADD CONSTRAINT \"child_parent_id_fkey\""));
    assert_eq!(
        r.count("SELECT count(*) FROM child JOIN parent ON parent.id = child.parent_id"),
        2
    );
    // The foreign key holds again.
    assert!(r
        .db
        .client()
        .batch_execute("INSERT INTO child VALUES (3, 9)")
        .is_err());
}

#[test]
fn text_made_case_insensitive_on_a_unique_column_says_it_fails_on_values_differing_in_case() {
    let mut a = model_of(vec![table_of(
        "users",
        &[("id", "integer", false), ("email", "text", false)],
    )]);
    a.tables[0]
        .unique
        .push(KeyModel::new("users_email_key", vec!["email".into()]));
    let mut b = a.clone();
    b.extensions.push("citext".into());
    column(&mut b.tables[0], "email").sql_type = "citext".into();
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO users VALUES (1, 'Ann@example.org'), (2, 'ann@example.org')")
        .unwrap();
    let (plan, _) = r.plan(&a, &b);
    let step = plan
        .steps
        .iter()
        .find(|s| s.sql.contains("TYPE citext"))
        .unwrap();
    assert!(
        step.hazards.contains(&Hazard::FailsIfValuesCollide),
        "{:?}",
        step.hazards
    );
    match r.to(&a, &b, &[]) {
        Err(EvolveError::Step { sql, .. }) => assert!(sql.contains("TYPE citext"), "{sql}"),
        other => panic!("expected the conversion to fail on the duplicate, got {other:?}"),
    }
    assert_eq!(r.count("SELECT count(*) FROM users"), 2);
    r.db.client()
        .batch_execute("DELETE FROM users WHERE id = 2")
        .unwrap();
    r.to(&a, &b, &[]).unwrap();
    assert_eq!(
        r.count("SELECT count(*) FROM users WHERE email = 'ANN@EXAMPLE.ORG'"),
        1
    );
}

#[test]
fn an_expression_index_a_check_and_a_policy_follow_a_column_rename() {
    let mut a = model_of(vec![table_of(
        "people",
        &[("id", "integer", false), ("email", "text", true)],
    )]);
    let people = &mut a.tables[0];
    people.row_level_security = true;
    people.indexes.push(IndexModel {
        predicate: Some("\"email\" <> ''".into()),
        ..expression_index("people_email_idx", "lower(\"email\")")
    });
    people
        .checks
        .push(check("people_email_check", "\"email\" LIKE '%@%'"));
    people
        .policies
        .push(policy("people_read", "\"email\" IS NOT NULL"));
    let mut b = a.clone();
    let people = &mut b.tables[0];
    let email = column(people, "email");
    email.name = "mail".into();
    email.renamed_from = Some("email".into());
    people.indexes[0] = IndexModel {
        predicate: Some("\"mail\" <> ''".into()),
        ..expression_index("people_email_idx", "lower(\"mail\")")
    };
    people.checks[0] = check("people_email_check", "\"mail\" LIKE '%@%'");
    people.policies[0] = policy("people_read", "\"mail\" IS NOT NULL");
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO people VALUES (1, 'ann@example.org')")
        .unwrap();
    let plan = r.to(&a, &b, &[]).unwrap();
    assert_eq!(
        sqls(&plan),
        [r#"ALTER TABLE "people" RENAME COLUMN "email" TO "mail""#],
        "nothing but the rename: the index, check and policy follow it"
    );
    assert_eq!(
        r.count("SELECT count(*) FROM people WHERE mail = 'ann@example.org'"),
        1
    );
}

#[test]
fn a_constraint_left_not_valid_is_reported_and_validated() {
    let mut parent = table_of("owners", &[("id", "integer", false)]);
    parent.checks.push(check("owners_id_check", "\"id\" > 0"));
    let mut child = table_of(
        "pets",
        &[("id", "integer", false), ("owner_id", "integer", true)],
    );
    child.foreign_keys.push(ForeignKeyModel {
        name: "pets_owner_id_fkey".into(),
        columns: vec!["owner_id".into()],
        references_table: "owners".into(),
        references_columns: vec!["id".into()],
        on_delete: ReferentialAction::NoAction,
        on_update: ReferentialAction::NoAction,
    });
    let a = model_of(vec![parent, child]);
    let mut r = Replay::new(&a);
    // As a failed VALIDATE leaves them: in place, NOT VALID.
    r.db.client()
        .batch_execute(
            "INSERT INTO owners VALUES (1); INSERT INTO pets VALUES (1, 1); \
             ALTER TABLE owners DROP CONSTRAINT owners_id_check; \
             ALTER TABLE owners ADD CONSTRAINT owners_id_check CHECK (id > 0) NOT VALID; \
             ALTER TABLE pets DROP CONSTRAINT pets_owner_id_fkey; \
             ALTER TABLE pets ADD CONSTRAINT pets_owner_id_fkey FOREIGN KEY (owner_id) \
                 REFERENCES owners (id) NOT VALID",
        )
        .unwrap();
    let client = r.connect();
    let live = r.block_on(read_model(&client, &Scope::of(&a))).unwrap();
    let config: ConnectConfig = r.db.url().parse().unwrap();
    let fresh = r
        .block_on(shadow_model(&client, &config, &a, Shadow::SameServer))
        .unwrap();
    let lines: Vec<String> = diff(&live, &fresh)
        .changes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "constraint `owners_id_check` on `owners`: NOT VALID in the database (its rows are \
             not checked); validate it",
            "constraint `pets_owner_id_fkey` on `pets`: NOT VALID in the database (its rows are \
             not checked); validate it",
        ]
    );
    let plan = r.to(&a, &a, &[]).unwrap();
    assert_eq!(
        sqls(&plan),
        [
            r#"ALTER TABLE "owners" VALIDATE CONSTRAINT "owners_id_check""#,
            r#"ALTER TABLE "pets" VALIDATE CONSTRAINT "pets_owner_id_fkey""#,
        ]
    );
}

mod age_v1 {
    use schema_core::PgTable;

    #[derive(PgTable)]
    #[allow(dead_code)]
    #[pg(table = "patients")]
    pub struct Patient {
        #[pg(primary_key)]
        pub patient_id: i64,
        pub age_text: String,
    }
}

mod age_v2 {
    use schema_core::PgTable;

    /// The type changes, nothing says how.
    #[derive(PgTable)]
    #[allow(dead_code)]
    #[pg(table = "patients")]
    pub struct Patient {
        #[pg(primary_key)]
        pub patient_id: i64,
        pub age_text: i32,
    }
}

mod age_v3 {
    use schema_core::PgTable;

    /// Renamed and converted, as the field says.
    #[derive(PgTable)]
    #[allow(dead_code)]
    #[pg(table = "patients")]
    pub struct Patient {
        #[pg(primary_key)]
        pub patient_id: i64,
        #[pg(renamed_from = "age_text", using = "trim({age})::integer")]
        pub age: i32,
    }
}

#[test]
fn a_type_change_without_a_cast_is_refused_unless_the_field_says_how() {
    let mut db = TestDb::new();
    let v1 = schema_core::Schema::new().table::<age_v1::Patient>();
    db.client().batch_execute(&v1.to_ddl().unwrap()).unwrap();
    db.client()
        .batch_execute("INSERT INTO patients VALUES (1, ' 42'), (2, '7')")
        .unwrap();
    let r = Replay::on(db);
    let plan_to = |schema: &schema_core::Schema| {
        r.block_on(schema_core::pg::evolve::plan_for(
            r.db.url(),
            schema,
            Shadow::SameServer,
        ))
        .unwrap()
    };
    let v2 = schema_core::Schema::new().table::<age_v2::Patient>();
    let plan = plan_to(&v2);
    let mut client = r.connect();
    match r.block_on(apply(&mut client, &plan, &["patients.age_text"])) {
        Err(EvolveError::Refused(refused)) => assert_eq!(
            refused.blocked.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["patients.age_text: PostgreSQL does not convert text to integer by itself; declare \
              the conversion on the field, as `using = \"{age_text}::integer\"`"]
        ),
        other => panic!("expected the plan to be refused, got {other:?}"),
    }
    let v3 = schema_core::Schema::new().table::<age_v3::Patient>();
    let plan = plan_to(&v3);
    assert!(
        sqls(&plan).contains(
            &r#"ALTER TABLE "patients" ALTER COLUMN "age" TYPE integer USING trim("age")::integer"#
        ),
        "{:#?}",
        sqls(&plan)
    );
    r.block_on(apply(&mut client, &plan, &[])).unwrap();
    let lines = r
        .block_on(schema_core::pg::evolve::drift(
            r.db.url(),
            &v3,
            Shadow::SameServer,
        ))
        .unwrap();
    assert_eq!(lines, Vec::<String>::new());
    let mut r = r;
    assert_eq!(r.count("SELECT sum(age)::bigint FROM patients"), 49);
}

mod moved_v1 {
    use schema_core::PgTable;

    #[derive(PgTable)]
    #[allow(dead_code)]
    #[pg(table = "invoices")]
    pub struct Invoice {
        #[pg(primary_key)]
        pub invoice_id: i64,
        pub total_cents: i64,
    }
}

mod moved_v2 {
    use schema_core::PgTable;

    /// Moved to `billing`, from where it was.
    #[derive(PgTable)]
    #[allow(dead_code)]
    #[pg(
        schema = "billing",
        table = "invoices",
        renamed_from = "public.invoices"
    )]
    pub struct Invoice {
        #[pg(primary_key)]
        pub invoice_id: i64,
        pub total_cents: i64,
    }
}

mod moved_v3 {
    use schema_core::PgTable;

    /// Declared in `billing` with no word of where it was.
    #[derive(PgTable)]
    #[allow(dead_code)]
    #[pg(schema = "billing", table = "invoices")]
    pub struct Invoice {
        #[pg(primary_key)]
        pub invoice_id: i64,
        pub total_cents: i64,
    }
}

#[test]
fn a_table_declared_in_another_schema_moves_there_with_its_rows_when_its_place_is_declared() {
    let mut db = TestDb::new();
    let v1 = schema_core::Schema::new().table::<moved_v1::Invoice>();
    db.client().batch_execute(&v1.to_ddl().unwrap()).unwrap();
    db.client()
        .batch_execute("INSERT INTO invoices VALUES (1, 100), (2, 250)")
        .unwrap();
    let r = Replay::on(db);
    let plan_to = |schema: &schema_core::Schema| {
        r.block_on(schema_core::pg::evolve::plan_for(
            r.db.url(),
            schema,
            Shadow::SameServer,
        ))
        .unwrap()
    };
    // Undeclared: the plan says the old table stays where it is.
    let silent = plan_to(&schema_core::Schema::new().table::<moved_v3::Invoice>());
    assert_eq!(
        silent.suggestions,
        ["table `billing.invoices` is created while `invoices` is left in its place: if it moved \
          to another PostgreSQL schema, declare `renamed_from = \"public.invoices\"` on \
          `billing.invoices` to move it with its rows"]
    );
    let v2 = schema_core::Schema::new().table::<moved_v2::Invoice>();
    let plan = plan_to(&v2);
    assert!(
        sqls(&plan).contains(&r#"ALTER TABLE "public"."invoices" SET SCHEMA "billing""#),
        "{:#?}",
        sqls(&plan)
    );
    assert!(sqls(&plan).iter().all(|s| !s.contains("CREATE TABLE")));
    let mut client = r.connect();
    r.block_on(apply(&mut client, &plan, &[])).unwrap();
    let lines = r
        .block_on(schema_core::pg::evolve::drift(
            r.db.url(),
            &v2,
            Shadow::SameServer,
        ))
        .unwrap();
    assert_eq!(lines, Vec::<String>::new());
    let mut r = r;
    assert_eq!(
        r.count("SELECT sum(total_cents)::bigint FROM billing.invoices"),
        350
    );
}

fn foreign_key(name: &str, column: &str, table: &str, referenced: &str) -> ForeignKeyModel {
    ForeignKeyModel {
        name: name.into(),
        columns: vec![column.into()],
        references_table: table.into(),
        references_columns: vec![referenced.into()],
        on_delete: ReferentialAction::NoAction,
        on_update: ReferentialAction::NoAction,
    }
}

#[test]
fn serial_columns_get_their_sequence_created_and_owned() {
    let a = model_of(vec![table_of("orders", &[("id", "integer", false)])]);
    let mut b = a.clone();
    // A new table and a new column numbered by `serial`, as the server prints them.
    b.tables.push(table_of(
        "items",
        &[("id", "integer", false), ("label", "text", true)],
    ));
    column(&mut b.tables[1], "id").default = Some("nextval('items_id_seq'::regclass)".into());
    let mut line = ColumnModel::new("line", "bigint", false);
    line.default = Some("nextval('orders_line_seq'::regclass)".into());
    b.tables[0].columns.push(line);
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO orders VALUES (1), (2)")
        .unwrap();
    let plan = r.to(&a, &b, &[]).unwrap();
    let sql = sqls(&plan);
    assert!(
        sql.contains(&"CREATE SEQUENCE IF NOT EXISTS items_id_seq AS integer"),
        "{sql:#?}"
    );
    assert!(sql.contains(&r#"ALTER SEQUENCE orders_line_seq OWNED BY "orders"."line""#));
    assert_eq!(r.count("SELECT count(DISTINCT line) FROM orders"), 2);
    r.db.client()
        .batch_execute("INSERT INTO items (label) VALUES ('a'), ('b')")
        .unwrap();
    assert_eq!(r.count("SELECT max(id)::bigint FROM items"), 2);
    // Owned: dropping the column drops its sequence.
    let plan = r.to(&b, &a, &["items", "orders.line"]).unwrap();
    assert!(sqls(&plan).iter().all(|s| !s.contains("SEQUENCE")));
    assert_eq!(
        r.count("SELECT count(*) FROM pg_class WHERE relkind = 'S'"),
        0
    );
}

#[test]
fn a_drop_a_view_depends_on_is_refused_when_planned_naming_the_view() {
    let a = model_of(vec![table_of(
        "accounts",
        &[
            ("id", "integer", false),
            ("email", "text", true),
            ("note", "text", true),
        ],
    )]);
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute(
            "CREATE VIEW account_emails AS SELECT id, email FROM accounts; \
             CREATE MATERIALIZED VIEW account_count AS SELECT count(*) FROM accounts",
        )
        .unwrap();
    let mut b = a.clone();
    b.tables[0].columns.retain(|c| c.name != "email");
    let refused = |r: &mut Replay, b: &SchemaModel, allow: &[&str]| match r.to(&a, b, allow) {
        Err(EvolveError::Refused(refused)) => refused
            .blocked
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        other => panic!("expected the plan to be refused, got {other:?}"),
    };
    assert_eq!(
        refused(&mut r, &b, &["accounts.email"]),
        [
            "accounts.email: view account_emails depends on it and the schema does not manage \
          them; drop or change them first, or keep accounts.email"
        ]
    );
    // A column no view uses goes.
    let mut c = a.clone();
    c.tables[0].columns.retain(|c| c.name != "note");
    r.to(&a, &c, &["accounts.note"]).unwrap();
    // The table itself: both views name it.
    let empty = SchemaModel::empty();
    assert_eq!(
        refused(&mut r, &empty, &["accounts"]),
        [
            "accounts: materialized view account_count, view account_emails depend on it and the \
          schema does not manage them; drop or change them first, or keep accounts"
        ]
    );
    assert_eq!(r.count("SELECT count(*) FROM account_emails"), 0);
}

#[test]
fn functions_using_a_dropped_column_are_named_whether_postgresql_tracks_them_or_not() {
    let a = model_of(vec![table_of(
        "notes",
        &[("id", "integer", false), ("extra", "text", true)],
    )]);
    let mut r = Replay::new(&a);
    // A SQL body written BEGIN ATOMIC: PostgreSQL tracks what it uses and refuses the drop.
    r.db.client()
        .batch_execute(
            "CREATE FUNCTION extra_length() RETURNS bigint LANGUAGE sql \
             BEGIN ATOMIC SELECT sum(length(extra)) FROM notes; END",
        )
        .unwrap();
    let mut b = a.clone();
    b.tables[0].columns.retain(|c| c.name != "extra");
    match r.to(&a, &b, &["notes.extra"]) {
        Err(EvolveError::Refused(refused)) => assert_eq!(
            refused
                .blocked
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["notes.extra: function extra_length() depends on it and the schema does not manage \
              them; drop or change them first, or keep notes.extra"]
        ),
        other => panic!("expected the plan to be refused, got {other:?}"),
    }
    // A PL/pgSQL body: PostgreSQL lets the column go and the function fails when next
    // called; the plan says so on the step and names the function.
    r.db.client()
        .batch_execute(
            "DROP FUNCTION extra_length(); \
             CREATE FUNCTION extra_length() RETURNS bigint LANGUAGE plpgsql AS \
             $$ BEGIN RETURN (SELECT sum(length(EXTRA)) FROM notes); END $$; \
             CREATE FUNCTION id_count() RETURNS bigint LANGUAGE plpgsql AS \
             $$ BEGIN RETURN (SELECT count(id) FROM notes); END $$",
        )
        .unwrap();
    let (mut plan, _) = r.plan(&a, &b);
    let client = r.connect();
    r.block_on(untracked_dependents(&client, &mut plan, &[]))
        .unwrap();
    let drop = plan
        .steps
        .iter()
        .find(|s| s.sql.contains("DROP COLUMN"))
        .unwrap();
    assert!(
        drop.hazards.contains(&Hazard::UntrackedDependencies),
        "{:?}",
        drop.hazards
    );
    assert_eq!(
        plan.suggestions,
        [
            "extra_length() may name notes.extra in its body, which PostgreSQL does not track: \
          it fails when next called, not when this step runs; change it with the plan"
        ]
    );
    r.to(&a, &b, &["notes.extra"]).unwrap();
    let error =
        r.db.client()
            .query_one("SELECT extra_length()", &[])
            .unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::UNDEFINED_COLUMN), "{error}");
}

#[test]
fn tables_and_keys_come_in_an_order_postgresql_accepts() {
    // Dropped together, the referenced table read first.
    let parent = table_of(
        "parents",
        &[("id", "integer", false), ("code", "text", false)],
    );
    let mut child = table_of(
        "children",
        &[("id", "integer", false), ("parent_id", "integer", true)],
    );
    child.foreign_keys.push(foreign_key(
        "children_parent_id_fkey",
        "parent_id",
        "parents",
        "id",
    ));
    let a = model_of(vec![parent.clone(), child.clone()]);
    let mut r = Replay::new(&a);
    let reversed = model_of(vec![child, parent.clone()]);
    let only = model_of(vec![table_of("others", &[("id", "integer", false)])]);
    r.to(&reversed, &only, &["children", "parents"]).unwrap();
    // A new table's foreign key to a key the same plan adds to an existing table.
    let a = model_of(vec![parent]);
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO parents VALUES (1, 'a')")
        .unwrap();
    let mut b = a.clone();
    b.tables[0]
        .unique
        .push(KeyModel::new("parents_code_key", vec!["code".into()]));
    let mut coded = table_of(
        "coded",
        &[("id", "integer", false), ("parent_code", "text", true)],
    );
    coded.foreign_keys.push(foreign_key(
        "coded_parent_code_fkey",
        "parent_code",
        "parents",
        "code",
    ));
    b.tables.push(coded);
    let plan = r.to(&a, &b, &[]).unwrap();
    let sql = sqls(&plan);
    let at = |text: &str| sql.iter().position(|s| s.contains(text)).unwrap();
    assert!(
        at("ADD CONSTRAINT \"parents_code_key\"") < at("ADD CONSTRAINT \"coded_parent_code_fkey\"")
    );
}

/// A table partitioned by range of `id` with two partitions, as a database holding one reads.
fn partitioned(columns: &[(&str, &str, bool)]) -> Vec<TableModel> {
    let mut parent = table_of("events", columns);
    parent.primary_key = None;
    parent.partition_by = Some("RANGE (id)".into());
    let partitions =
        [(1, "FROM (0) TO (100)"), (2, "FROM (100) TO (200)")].map(|(n, bound)| TableModel {
            primary_key: None,
            partition_of: Some(schema_core::model::PartitionOf {
                parent: "events".into(),
                bound: format!("FOR VALUES {bound}"),
            }),
            ..table_of(&format!("events_{n}"), columns)
        });
    let mut tables = vec![parent];
    tables.extend(partitions);
    tables
}

#[test]
fn partitioned_tables_are_read_as_they_are_and_changed_as_postgresql_accepts() {
    let columns = [
        ("id", "integer", false),
        ("kind", "text", true),
        ("old", "text", true),
    ];
    let mut kinds = table_of(
        "kinds",
        &[("id", "integer", false), ("name", "text", false)],
    );
    kinds
        .unique
        .push(KeyModel::new("kinds_name_key", vec!["name".into()]));
    let mut a = model_of(vec![kinds.clone()]);
    a.tables.extend(partitioned(&columns));
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute(
            "INSERT INTO kinds VALUES (1, 'a'); \
             INSERT INTO events SELECT g, 'a', 'x' FROM generate_series(1, 150) g",
        )
        .unwrap();
    // An index, a key and a foreign key on the partitioned table; a column dropped from it.
    let mut b = model_of(vec![kinds.clone()]);
    b.tables.extend(partitioned(&[
        ("id", "integer", false),
        ("kind", "text", true),
    ]));
    let events = &mut b.tables[1];
    events
        .indexes
        .push(btree_index("events_kind_idx", &["kind"], false));
    events.primary_key = Some(KeyModel::new("events_pkey", vec!["id".into()]));
    events
        .foreign_keys
        .push(foreign_key("events_kind_fkey", "kind", "kinds", "name"));
    let plan = r.to(&a, &b, &["events.old"]).unwrap();
    let build = plan
        .steps
        .iter()
        .find(|s| s.sql.starts_with("CREATE INDEX"))
        .unwrap();
    assert!(!build.sql.contains("CONCURRENTLY"), "{}", build.sql);
    assert!(build.hazards.contains(&Hazard::BlocksWrites));
    assert!(sqls(&plan)
        .iter()
        .all(|s| !s.contains("events_1") && !s.contains("events_2")));
    // Read back, the partitions hold none of the copies as their own (the oracle compared
    // them); and the rows are where they were.
    assert_eq!(r.count("SELECT count(*) FROM events_2"), 51);
    // Dropped whole: the partitions go with their table.
    let plan = r
        .to(
            &b,
            &model_of(vec![kinds]),
            &["events", "events_1", "events_2"],
        )
        .unwrap();
    assert_eq!(sqls(&plan), [r#"DROP TABLE "events""#]);
}

#[test]
fn what_the_model_does_not_manage_is_listed_and_hazards_say_an_index_or_privileges_change() {
    let mut a = model_of(vec![table_of(
        "notes",
        &[("id", "integer", false), ("body", "text", true)],
    )]);
    a.tables[0]
        .indexes
        .push(btree_index("notes_body_idx", &["body"], false));
    a.tables[0].grants.push(GrantModel {
        role: "public".into(),
        privilege: "SELECT".into(),
        columns: Vec::new(),
        grantable: false,
    });
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute(
            "CREATE FUNCTION notes_touch() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN NEW.body := btrim(NEW.body); RETURN NEW; END $$; \
             CREATE TRIGGER notes_trim BEFORE INSERT ON notes \
             FOR EACH ROW EXECUTE FUNCTION notes_touch(); \
             ALTER TABLE notes ADD CONSTRAINT notes_id_check CHECK (id > 0)",
        )
        .unwrap();
    let client = r.connect();
    let config: ConnectConfig = r.db.url().parse().unwrap();
    let mut code = a.clone();
    code.tables[0]
        .checks
        .push(check("notes_id_check", "id > 0"));
    let live = r.block_on(read_model(&client, &Scope::of(&code))).unwrap();
    let fresh = r
        .block_on(shadow_model(&client, &config, &code, Shadow::SameServer))
        .unwrap();
    let found = diff(&live, &fresh);
    assert!(found.is_empty(), "{:#?}", found.changes);
    let note = |what: &str| {
        format!("notes: {what} in the database, which the schema does not manage (left alone)")
    };
    assert_eq!(
        schema_core::pg::evolve::drift_lines(&found),
        [note("trigger notes_trim calls notes_touch")]
    );
    // An index dropped and a privilege revoked each say so.
    let mut b = code.clone();
    b.tables[0].indexes.clear();
    b.tables[0].grants.clear();
    let (plan, _) = r.plan(&code, &b);
    let of = |prefix: &str| {
        plan.steps
            .iter()
            .find(|s| s.sql.starts_with(prefix))
            .unwrap()
            .hazards
            .clone()
    };
    assert_eq!(of("DROP INDEX"), [Hazard::DropsIndex]);
    assert_eq!(of("REVOKE"), [Hazard::ChangesPrivileges]);
}

#[test]
fn a_columns_collation_and_a_tables_replica_identity_are_read_and_planned() {
    let mut a = model_of(vec![table_of(
        "labels",
        &[("id", "integer", false), ("name", "text", false)],
    )]);
    column(&mut a.tables[0], "name").collation = Some("C".into());
    a.tables[0].replica_identity = Some(schema_core::model::ReplicaIdentity::Full);
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO labels VALUES (1, 'b'), (2, 'B')")
        .unwrap();
    let client = r.connect();
    let live = r.block_on(read_model(&client, &Scope::of(&a))).unwrap();
    assert_eq!(live.tables[0].columns[1].collation.as_deref(), Some("C"));
    // Back to the type's collation, and the identity to a unique index.
    let mut b = a.clone();
    column(&mut b.tables[0], "name").collation = None;
    b.tables[0]
        .unique
        .push(KeyModel::new("labels_name_key", vec!["name".into()]));
    b.tables[0].replica_identity = Some(schema_core::model::ReplicaIdentity::Index(
        "labels_name_key".into(),
    ));
    let plan = r.to(&a, &b, &[]).unwrap();
    assert!(sqls(&plan)
        .contains(&r#"ALTER TABLE "labels" ALTER COLUMN "name" TYPE text COLLATE "default""#));
    assert!(sqls(&plan)
        .contains(&r#"ALTER TABLE "labels" REPLICA IDENTITY USING INDEX "labels_name_key""#));
    assert_eq!(r.count("SELECT count(*) FROM labels"), 2);
}

#[test]
fn partitioned_indexes_left_unattached_or_holding_partition_keys_never_fail_half_way() {
    let columns = [("id", "integer", false), ("kind", "text", true)];
    let a = model_of(partitioned(&columns));
    let mut r = Replay::new(&a);
    // An index built ON ONLY the partitioned table and never attached: invalid.
    r.db.client()
        .batch_execute("CREATE INDEX events_kind_idx ON ONLY events (kind)")
        .unwrap();
    // The target lists a partition before its table: it is still created after it.
    let mut b = a.clone();
    b.tables[0]
        .indexes
        .push(btree_index("events_kind_idx", &["kind"], false));
    let mut events_3 = b.tables[1].clone();
    events_3.name = "events_3".into();
    events_3.partition_of.as_mut().unwrap().bound = "FOR VALUES FROM (200) TO (300)".into();
    b.tables.insert(0, events_3);
    let plan = r.to(&a, &b, &[]).unwrap();
    assert!(sqls(&plan).contains(&r#"CREATE INDEX "events_kind_idx" ON "events" ("kind")"#));
    // A partition's key built on its part of an index of the partitioned table: that index is
    // not dropped from under it.
    r.db.client()
        .batch_execute(
            "CREATE UNIQUE INDEX events_id_idx ON events (id); \
             ALTER TABLE events_1 ADD CONSTRAINT events_1_pkey PRIMARY KEY \
                 USING INDEX events_1_id_idx",
        )
        .unwrap();
    let mut client = r.connect();
    let live = r.block_on(read_model(&client, &Scope::of(&b))).unwrap();
    let mut c = live.clone();
    c.tables
        .iter_mut()
        .find(|t| t.name == "events")
        .unwrap()
        .indexes
        .retain(|i| i.name != "events_id_idx");
    let plan = plan_diff(&diff(&live, &c), &c);
    match r.block_on(apply(&mut client, &plan, &[])) {
        Err(EvolveError::Refused(refused)) => {
            assert_eq!(
            refused
                .blocked
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["index events_id_idx: constraint events_1_pkey of events_1 depends on it and the \
              schema does not manage them; drop or change them first, or keep index \
              events_id_idx"]
        )
        }
        other => panic!("expected the plan to be refused, got {other:?}"),
    }
    // Replaced by a primary key of the partitioned table, whose part on each partition is
    // that partition's key: the index goes with the partition key built on its part
    // (`CASCADE`), and the new key builds its parts.
    r.db.client()
        .batch_execute("INSERT INTO events (id, kind) VALUES (1, 'a'), (150, 'b')")
        .unwrap();
    let mut d = b.clone();
    d.tables
        .iter_mut()
        .find(|t| t.name == "events")
        .unwrap()
        .primary_key = Some(KeyModel {
        name: "events_pkey".into(),
        columns: vec!["id".into()],
        nulls_not_distinct: false,
    });
    let plan = r.to(&b, &d, &[]).unwrap();
    let sql = sqls(&plan);
    assert!(
        sql.contains(&r#"DROP INDEX "events_id_idx" CASCADE"#),
        "{sql:?}"
    );
    assert!(
        !sql.iter().any(|s| s.contains("DROP CONSTRAINT")),
        "{sql:?}"
    );
    assert_eq!(r.count("SELECT count(*) FROM events"), 2);
    assert_eq!(
        r.count(
            "SELECT count(*) FROM pg_constraint \
             WHERE conname = 'events_1_pkey' AND NOT conislocal"
        ),
        1
    );
}

#[test]
fn a_partitions_part_of_its_tables_index_keeps_the_name_it_is_given() {
    let columns = [("id", "integer", false), ("kind", "text", true)];
    let a = model_of(partitioned(&columns));
    let mut r = Replay::new(&a);
    let part = |index: &str, name: &str| IndexPart {
        index: index.into(),
        name: name.into(),
    };
    // A new index whose part on events_1 has a name of its own, on events_2 PostgreSQL's.
    let mut b = a.clone();
    b.tables[0]
        .indexes
        .push(btree_index("events_kind_idx", &["kind"], false));
    b.tables[1].index_parts = vec![part("events_kind_idx", "events_1_by_kind")];
    b.tables[2].index_parts = vec![part("events_kind_idx", "events_2_kind_idx")];
    let plan = r.to(&a, &b, &[]).unwrap();
    assert_eq!(
        plan.steps
            .iter()
            .filter(|s| matches!(s.statement, Statement::NamePart { .. }))
            .count(),
        1,
        "{}",
        plan.to_script()
    );
    let names = "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class \
                 WHERE relname LIKE 'events_%kind%' AND relkind = 'i'";
    let read = |r: &mut Replay| -> String { r.db.client().query_one(names, &[]).unwrap().get(0) };
    assert_eq!(read(&mut r), "events_1_by_kind,events_2_kind_idx");
    // Named otherwise: renamed in place.
    let mut c = b.clone();
    c.tables[2].index_parts = vec![part("events_kind_idx", "second_by_kind")];
    let plan = r.to(&b, &c, &[]).unwrap();
    assert_eq!(plan.steps.len(), 1, "{}", plan.to_script());
    assert_eq!(read(&mut r), "events_1_by_kind");
    assert_eq!(
        r.count("SELECT count(*) FROM pg_class WHERE relname = 'second_by_kind'"),
        1
    );
    // A new partition gets its part built and named.
    let mut d = c.clone();
    let mut events_3 = d.tables[1].clone();
    events_3.name = "events_3".into();
    events_3.partition_of.as_mut().unwrap().bound = "FOR VALUES FROM (200) TO (300)".into();
    events_3.index_parts = vec![part("events_kind_idx", "third_by_kind")];
    d.tables.push(events_3);
    r.to(&c, &d, &[]).unwrap();
    assert_eq!(
        r.count("SELECT count(*) FROM pg_class WHERE relname = 'third_by_kind'"),
        1
    );
}

#[test]
fn a_check_made_no_inherit_and_a_privilege_made_grantable_are_added_again() {
    let mut db = TestDb::new();
    db.login_role_with("editor", "");
    let editor = db.role_name("editor");
    let mut a = model_of(vec![table_of(
        "notes",
        &[("id", "integer", false), ("body", "text", true)],
    )]);
    a.roles.push(editor.clone());
    a.tables[0].checks.push(check("notes_id_check", "id > 0"));
    for (privilege, columns) in [("SELECT", vec![]), ("UPDATE", vec!["body".to_string()])] {
        a.tables[0].grants.push(GrantModel {
            role: editor.clone(),
            privilege: privilege.into(),
            columns,
            grantable: false,
        });
    }
    db.client()
        .batch_execute(&script(&create_statements(&a)))
        .unwrap();
    let mut r = Replay::on(db);
    let mut b = a.clone();
    b.tables[0].checks[0].no_inherit = true;
    for grant in &mut b.tables[0].grants {
        grant.grantable = true;
    }
    let plan = r.to(&a, &b, &[]).unwrap();
    let sql = plan.to_script();
    assert!(sql.contains("CHECK (id > 0) NO INHERIT"), "{sql}");
    assert!(
        sql.contains(&format!(
            "GRANT SELECT ON \"notes\" TO \"{editor}\" WITH GRANT OPTION"
        )),
        "{sql}"
    );
    // And back: the check holds on inheriting tables again, the grant option is taken away.
    let plan = r.to(&b, &a, &[]).unwrap();
    assert!(plan.to_script().contains("REVOKE"), "{}", plan.to_script());
}

#[test]
fn a_sequence_goes_with_the_last_default_that_draws_from_it() {
    let serial = |default: Option<&str>| {
        let mut t = table_of(
            "tallies",
            &[("id", "integer", false), ("n", "integer", true)],
        );
        t.columns[0].default = default.map(Into::into);
        t
    };
    let a = model_of(vec![serial(Some("nextval('tallies_id_seq'::regclass)"))]);
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO tallies (n) VALUES (1), (2)")
        .unwrap();
    let sequences = "SELECT count(*) FROM pg_class WHERE relname = 'tallies_id_seq'";
    assert_eq!(r.count(sequences), 1);
    // The type changes and the default goes: the sequence is dropped after it.
    let mut b = model_of(vec![serial(None)]);
    b.tables[0].columns[0].sql_type = "bigint".into();
    let plan = r.to(&a, &b, &[]).unwrap();
    assert!(
        plan.to_script()
            .contains("DROP SEQUENCE IF EXISTS tallies_id_seq"),
        "{}",
        plan.to_script()
    );
    assert_eq!(r.count(sequences), 0);
    assert_eq!(
        r.count("SELECT count(*) FROM tallies WHERE id IN (1, 2)"),
        2
    );
    // And back: the default draws from a sequence created again.
    r.to(&b, &a, &["tallies.id"]).unwrap();
    assert_eq!(r.count(sequences), 1);
}

#[test]
fn a_partition_keeps_a_not_null_of_its_own_when_created_and_when_changed() {
    let columns = [("id", "integer", false), ("note", "text", true)];
    let mut a = model_of(partitioned(&columns));
    a.tables.retain(|t| t.name != "events_2");
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO events SELECT g, 'n' FROM generate_series(1, 50) g")
        .unwrap();
    // A new partition whose note is NOT NULL while the table's is not; then the same made on
    // the partition that was there.
    let mut b = model_of(partitioned(&columns));
    column(&mut b.tables[2], "note").nullable = false;
    let plan = r.to(&a, &b, &[]).unwrap();
    assert!(
        plan.to_script().contains("\"note\" WITH OPTIONS NOT NULL"),
        "{}",
        plan.to_script()
    );
    let mut c = b.clone();
    column(&mut c.tables[1], "note").nullable = false;
    r.to(&b, &c, &[]).unwrap();
    // The table's own column stays nullable.
    assert_eq!(
        r.count(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'events'::regclass \
             AND attname = 'note' AND NOT attnotnull"
        ),
        1
    );
}

#[test]
fn a_partitions_own_key_is_the_part_of_the_partitioned_tables_matching_index() {
    let columns = [("id", "integer", false), ("kind", "text", false)];
    let unique_on_id_kind = || btree_index("events_id_kind_idx", &["id", "kind"], true);
    let mut a = model_of(partitioned(&columns));
    a.tables[0].checks.push(check("events_id_check", "id >= 0"));
    a.tables.retain(|t| t.name != "events_2");
    let mut r = Replay::new(&a);
    r.db.client()
        .batch_execute("INSERT INTO events SELECT g, 'k' FROM generate_series(1, 50) g")
        .unwrap();
    let indexes_of =
        |table: &str| format!("SELECT count(*) FROM pg_index WHERE indrelid = '{table}'::regclass");
    // A unique index on the partitioned table and a key of the partition that was there,
    // matching it: the key is built first and becomes the index's part.
    let mut b = a.clone();
    b.tables[0].indexes.push(unique_on_id_kind());
    b.tables[1].primary_key = Some(KeyModel::new(
        "events_1_pkey",
        vec!["id".into(), "kind".into()],
    ));
    r.to(&a, &b, &[]).unwrap();
    assert_eq!(r.count(&indexes_of("events_1")), 1);
    // A new partition with such a key of its own: created on its own (with the table's
    // check), then attached, its key taken as the index's part.
    let mut c = model_of(partitioned(&columns));
    c.tables[0] = b.tables[0].clone();
    c.tables[1] = b.tables[1].clone();
    c.tables[2].primary_key = Some(KeyModel::new(
        "events_2_pkey",
        vec!["id".into(), "kind".into()],
    ));
    let plan = r.to(&b, &c, &[]).unwrap();
    assert!(
        plan.to_script()
            .contains("ALTER TABLE \"events\" ATTACH PARTITION \"events_2\" FOR VALUES"),
        "{}",
        plan.to_script()
    );
    assert_eq!(r.count(&indexes_of("events_2")), 1);
    assert_eq!(
        r.count(
            "SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             WHERE x.indrelid = 'events'::regclass AND x.indisvalid"
        ),
        1
    );
}

#[test]
fn a_postgresql_schema_holding_no_table_is_created_and_dropped() {
    let empty = model_of(Vec::new());
    let mut with_archive = empty.clone();
    with_archive.namespaces.push(NamespaceModel {
        name: "archive".into(),
        usage: Vec::new(),
    });
    let mut r = Replay::new(&empty);
    let archives = "SELECT count(*) FROM pg_namespace WHERE nspname = 'archive'";
    let plan = r.to(&empty, &with_archive, &[]).unwrap();
    assert_eq!(sqls(&plan), [r#"CREATE SCHEMA IF NOT EXISTS "archive""#]);
    assert_eq!(r.count(archives), 1);
    let plan = r.to(&with_archive, &empty, &[]).unwrap();
    assert_eq!(sqls(&plan), [r#"DROP SCHEMA "archive""#]);
    assert_eq!(r.count(archives), 0);
}

#[test]
fn a_partitioned_tables_index_left_without_parts_gets_the_partitions_matching_indexes() {
    // Built ON ONLY the partitioned table, each with a part on one partition only: both are
    // invalid, and the other partition has matching indexes of its own, not attached.
    let mut db = TestDb::new();
    db.client()
        .batch_execute(
            "CREATE TABLE events (id integer NOT NULL, kind text NOT NULL) \
                 PARTITION BY RANGE (id); \
             CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (100); \
             CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (100) TO (200); \
             INSERT INTO events SELECT g, 'k' FROM generate_series(1, 150) g; \
             ALTER TABLE ONLY events ADD CONSTRAINT events_pkey PRIMARY KEY (id); \
             CREATE UNIQUE INDEX events_1_id ON events_1 (id); \
             ALTER TABLE events_1 ADD CONSTRAINT events_1_id PRIMARY KEY USING INDEX events_1_id; \
             ALTER INDEX events_pkey ATTACH PARTITION events_1_id; \
             CREATE UNIQUE INDEX events_2_id ON events_2 (id); \
             CREATE INDEX events_kind_idx ON ONLY events (kind); \
             CREATE INDEX events_1_kind ON events_1 (kind); \
             ALTER INDEX events_kind_idx ATTACH PARTITION events_1_kind; \
             CREATE INDEX events_2_kind ON events_2 (kind)",
        )
        .unwrap();
    let mut r = Replay::on(db);
    let mut b = model_of(partitioned(&[
        ("id", "integer", false),
        ("kind", "text", false),
    ]));
    b.tables[0].primary_key = Some(KeyModel::new("events_pkey", vec!["id".into()]));
    b.tables[0]
        .indexes
        .push(btree_index("events_kind_idx", &["kind"], false));
    // The parts keep the names they have.
    for (n, table) in b.tables[1..].iter_mut().enumerate() {
        table.index_parts = vec![IndexPart {
            index: "events_kind_idx".into(),
            name: format!("events_{}_kind", n + 1),
        }];
    }
    let plan = r.to(&b, &b, &[]).unwrap();
    assert_eq!(
        sqls(&plan),
        [
            r#"ALTER TABLE "events_2" ADD CONSTRAINT "events_2_id" PRIMARY KEY USING INDEX "events_2_id""#,
            r#"ALTER INDEX "events_pkey" ATTACH PARTITION "events_2_id""#,
            r#"ALTER INDEX "events_kind_idx" ATTACH PARTITION "events_2_kind""#,
        ]
    );
    assert_eq!(
        r.count("SELECT count(*) FROM pg_index WHERE indrelid = 'events'::regclass AND indisvalid"),
        2
    );
    assert_eq!(
        r.count("SELECT count(*) FROM pg_index WHERE indrelid = 'events_2'::regclass"),
        2
    );
}
