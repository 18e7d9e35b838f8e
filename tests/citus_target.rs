//! The Citus target without a cluster: the application's Citus DDL, exact; every rule Citus
//! enforces refused at render time with Citus's own words; and the same DDL applied to plain
//! PostgreSQL with Citus's functions stubbed by functions of the same signatures (which check
//! the order of the calls), so the script's order and syntax are checked end to end, and the
//! physician's inserts keep their rule there too.

#![allow(clippy::duplicated_attributes)]

mod common;

use common::{block_on, TestDb};
use schema_core::pg::Db;
use schema_core::{PgTable, Schema, SchemaError, Target};
use shared::schemas::db::{physician_scope, schema, Provider};
use uuid::Uuid;

/// The application's Citus DDL as it must stay: `tests/citus/app.sql`.
const APP_CITUS_DDL: &str = include_str!("citus/app.sql");

#[test]
fn the_applications_citus_ddl_is_exact() {
    let ddl = schema().for_target(Target::Citus).to_ddl().unwrap();
    if std::env::var_os("CITUS_DDL_OVERWRITE").is_some() {
        std::fs::write("tests/citus/app.sql", &ddl).unwrap();
    }
    assert_eq!(ddl, APP_CITUS_DDL);
}

#[test]
fn the_citus_ddl_distributes_each_table_right_after_its_create_table_in_foreign_key_order() {
    let ddl = schema().for_target(Target::Citus).to_ddl().unwrap();
    let calls: Vec<&str> = ddl
        .lines()
        .filter(|l| l.starts_with("SELECT create_"))
        .collect();
    assert_eq!(
        calls,
        [
            r#"SELECT create_reference_table('"providers"');"#,
            r#"SELECT create_distributed_table('"support_tickets"', 'provider_id', colocate_with => 'default');"#,
            r#"SELECT create_distributed_table('"billing"."invoices"', 'provider_id', colocate_with => '"support_tickets"');"#,
            r#"SELECT create_distributed_table('"billing"."invoice_lines"', 'provider_id', colocate_with => '"support_tickets"');"#,
            r#"SELECT create_distributed_table('"billing"."patients"', 'provider_id', colocate_with => '"support_tickets"');"#,
        ]
    );
    let lines: Vec<&str> = ddl.lines().collect();
    for call in calls {
        let at = lines.iter().position(|l| *l == call).unwrap();
        assert_eq!(lines[at - 1], ");", "{call} follows its CREATE TABLE");
    }
    assert!(ddl
        .contains(r#"CONSTRAINT "support_tickets_pkey" PRIMARY KEY ("provider_id", "ticket_id")"#));
    assert!(ddl.contains(
        r#"CONSTRAINT "invoice_lines_pkey" PRIMARY KEY ("provider_id", "invoice_id", "line_number")"#
    ));
    // The plain target is as it was: no Citus call, the seed's key.
    let plain = schema().to_ddl().unwrap();
    assert!(!plain.contains("create_distributed_table") && !plain.contains("citus"));
    assert!(plain.contains(r#"CONSTRAINT "support_tickets_pkey" PRIMARY KEY ("ticket_id")"#));
}

// Small schemas, each breaking one rule of Citus.

#[derive(PgTable)]
#[pg(table = "clinics", tenant_root, reference)]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: Uuid,
}

#[derive(PgTable)]
#[pg(table = "rooms", unique(clinic_id, code))]
pub struct Room {
    #[pg(primary_key)]
    pub room_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    pub code: String,
}

#[derive(PgTable)]
#[pg(table = "badges")]
pub struct Badge {
    #[pg(primary_key)]
    pub badge_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(unique)]
    pub serial: String,
}

#[derive(PgTable)]
#[pg(table = "bookings")]
pub struct Booking {
    #[pg(primary_key)]
    pub booking_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    // Without the tenant column: the room may be on another shard.
    #[pg(references = Room::room_id)]
    pub room_id: Uuid,
}

#[derive(PgTable)]
#[pg(
    table = "visits",
    foreign_key(
        columns(clinic_id, room_code),
        references(Room::clinic_id, Room::code),
        on_delete = "set null"
    )
)]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    pub room_code: Option<String>,
}

#[derive(PgTable)]
#[pg(table = "codes", reference)]
pub struct Code {
    #[pg(primary_key)]
    pub code: String,
    #[pg(references = Room::room_id)]
    pub room_id: Uuid,
}

#[derive(PgTable)]
#[pg(table = "wards")]
pub struct Ward {
    #[pg(primary_key)]
    pub ward_id: Uuid,
}

#[derive(PgTable)]
#[pg(table = "beds")]
pub struct Bed {
    #[pg(primary_key)]
    pub bed_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(references = Ward::ward_id)]
    pub ward_id: Uuid,
}

#[derive(PgTable)]
#[pg(
    table = "notes",
    row_level_security,
    policy(
        name = "notes_nurse_own",
        to = "nurse",
        using = "{clinic_id} = {setting:app.clinic_id}::uuid AND EXISTS (SELECT 1 FROM clinics)"
    )
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
}

fn citus_error(schema: Schema) -> String {
    let schema = schema
        .tenant_setting("app.clinic_id")
        .tenant_role("nurse")
        .for_target(Target::Citus);
    match schema.to_ddl() {
        Err(error @ SchemaError::Citus { .. }) => error.to_string(),
        other => panic!("expected a Citus error, got {other:?}"),
    }
}

#[test]
fn a_unique_key_without_the_distribution_column_is_refused_in_citus_words() {
    assert_eq!(
        citus_error(Schema::new().table::<Clinic>().table::<Badge>()),
        "table `badges` on Citus: cannot create constraint on \"badges\": Distributed relations \
         cannot have UNIQUE, EXCLUDE, or PRIMARY KEY constraints that do not include the \
         partition column (with an equality operator if EXCLUDE). (add the tenant column to \
         the unique key (`unique(provider_id, ...)`), or make the table `reference` to keep it \
         unique across tenants)"
    );
    // The same schema renders on plain PostgreSQL.
    assert!(Schema::new()
        .table::<Clinic>()
        .table::<Badge>()
        .tenant_setting("app.clinic_id")
        .tenant_role("nurse")
        .to_ddl()
        .is_ok());
}

#[test]
fn a_foreign_key_between_tenant_tables_without_the_tenant_column_is_refused() {
    let error = citus_error(
        Schema::new()
            .table::<Clinic>()
            .table::<Room>()
            .table::<Booking>(),
    );
    assert!(
        error.starts_with(
            "table `bookings` on Citus: cannot create foreign key constraint: Foreign keys are \
             supported in two cases, either in between two colocated tables including partition \
             column in the same ordinal in the both tables or from distributed to reference tables"
        ),
        "{error}"
    );
}

#[test]
fn set_null_on_a_foreign_key_holding_the_distribution_column_is_refused() {
    let error = citus_error(
        Schema::new()
            .table::<Clinic>()
            .table::<Room>()
            .table::<Visit>(),
    );
    assert!(
        error.contains(
            "cannot create foreign key constraint: SET NULL or SET DEFAULT is not supported in \
             ON DELETE operation when distribution key is included in the foreign key constraint"
        ),
        "{error}"
    );
}

#[test]
fn a_foreign_key_from_a_reference_table_to_a_distributed_one_is_refused() {
    let error = citus_error(
        Schema::new()
            .table::<Clinic>()
            .table::<Room>()
            .table::<Code>(),
    );
    assert!(
        error.starts_with(
            "table `codes` on Citus: cannot create foreign key constraint since foreign keys \
             from reference tables and local tables to distributed tables are not supported"
        ),
        "{error}"
    );
}

#[test]
fn a_foreign_key_from_a_distributed_table_to_a_local_one_is_refused() {
    let error = citus_error(
        Schema::new()
            .table::<Clinic>()
            .table::<Ward>()
            .table::<Bed>(),
    );
    assert!(
        error.contains(
            "referenced table \"wards\" must be a distributed table or a reference table"
        ),
        "{error}"
    );
}

#[test]
fn a_policy_with_a_subquery_on_a_distributed_table_is_refused() {
    let error = citus_error(Schema::new().table::<Clinic>().table::<Note>());
    assert!(
        error.contains(
            "cannot create policy: Subqueries are not supported in policies on distributed tables"
        ),
        "{error}"
    );
}

#[test]
fn a_tenant_table_holding_the_tenant_column_in_its_keys_renders() {
    let ddl = Schema::new()
        .table::<Clinic>()
        .table::<Room>()
        .tenant_setting("app.clinic_id")
        .tenant_role("nurse")
        .for_target(Target::Citus)
        .to_ddl()
        .unwrap();
    assert!(ddl.contains(r#"CONSTRAINT "rooms_pkey" PRIMARY KEY ("clinic_id", "room_id")"#));
    assert!(ddl.contains(r#"CONSTRAINT "rooms_clinic_id_code_key" UNIQUE ("clinic_id", "code")"#));
}

/// Functions of the signatures of Citus's, in `public` (the script's search path) of a
/// throwaway database: each records its call, and refuses what Citus would refuse about
/// order: a table distributed after it got triggers, colocated with a table not distributed
/// yet, or by a column it does not have.
const CITUS_STUBS: &str = r#"
CREATE TABLE public.citus_stub_calls (position serial, relation regclass, kind text, colocated_with text);
CREATE FUNCTION public.create_reference_table(table_name regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = table_name AND NOT tgisinternal) THEN
        RAISE EXCEPTION 'cannot distribute relation "%" because it has triggers', table_name;
    END IF;
    INSERT INTO public.citus_stub_calls (relation, kind) VALUES (table_name, 'reference');
END $$;
CREATE FUNCTION public.create_distributed_table(table_name regclass, distribution_column text,
    distribution_type text DEFAULT 'hash', colocate_with text DEFAULT 'default',
    shard_count integer DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = table_name AND NOT tgisinternal) THEN
        RAISE EXCEPTION 'cannot distribute relation "%" because it has triggers', table_name;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = table_name AND attname = distribution_column) THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', distribution_column, table_name;
    END IF;
    IF colocate_with <> 'default' AND NOT EXISTS (
        SELECT FROM public.citus_stub_calls WHERE relation = colocate_with::regclass AND kind = 'distributed') THEN
        RAISE EXCEPTION 'cannot colocate with "%": not distributed yet', colocate_with;
    END IF;
    INSERT INTO public.citus_stub_calls (relation, kind, colocated_with) VALUES (table_name, 'distributed', colocate_with);
END $$;
"#;

#[test]
fn the_citus_ddl_applies_to_plain_postgresql_with_citus_stubbed_and_keeps_the_insert_rule() {
    let mut db = TestDb::new();
    db.client().batch_execute(CITUS_STUBS).unwrap();
    let ddl = schema()
        .with_names(db.names().clone())
        .for_target(Target::Citus)
        .to_ddl()
        .unwrap();
    db.client()
        .batch_execute(&ddl)
        .expect("the Citus DDL applies, in order, with Citus's functions stubbed");
    let calls: Vec<(String, String)> = db
        .client()
        .query(
            "SELECT relation::text, kind FROM public.citus_stub_calls ORDER BY position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        calls,
        [
            ("providers".to_string(), "reference".to_string()),
            ("support_tickets".into(), "distributed".into()),
            ("billing.invoices".into(), "distributed".into()),
            ("billing.invoice_lines".into(), "distributed".into()),
            ("billing.patients".into(), "distributed".into()),
        ]
    );
    let (providers, _) = db.add_providers_with_tickets(1, 0);
    let a = providers[0];
    let (physician_url, _) = db.application_logins();
    let names = db.names().clone();
    block_on(async {
        let mut conn = Db::connect(&physician_url).await.unwrap();
        // The scope's own transaction, as on Citus: its first query asks for propagation
        // (a setting plain PostgreSQL keeps as a placeholder).
        let scope = physician_scope(&names).for_target(Target::Citus);
        let tx = conn.tenant::<Provider>(&scope, a).await.unwrap();
        // What the coordinator sends for a physician's insert: every defaulted column,
        // explicitly; and a physician trying to close and backdate their ticket.
        let row = tx
            .client()
            .query_one(
                "INSERT INTO support_tickets (ticket_id, provider_id, subject, description, status, created_at, updated_at) \
                 VALUES (gen_random_uuid(), $1, 'help', 'details', 'CLOSED', '2001-01-01', '2001-01-01') \
                 RETURNING status, created_at > now() - interval '1 hour'",
                &[&a],
            )
            .await
            .expect("the physician's insert naming the defaulted columns is allowed");
        let (status, recent): (String, bool) = (row.get(0), row.get(1));
        assert_eq!(
            status, "OPEN",
            "the physician cannot close a ticket on insert"
        );
        assert!(recent, "nor backdate it");
        let propagation: String = tx
            .client()
            .query_one(
                "SELECT current_setting('citus.propagate_set_commands')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(propagation, "local");
        tx.commit().await.unwrap();
    });
    // The owner's own inserts keep what they give.
    let status: String = db
        .client()
        .query_one(
            "INSERT INTO support_tickets (provider_id, subject, description, status) \
             VALUES ($1, 's', 'd', 'CLOSED') RETURNING status",
            &[&a],
        )
        .unwrap()
        .get(0);
    assert_eq!(status, "CLOSED");
}

// Plans for the Citus target, without a cluster.

/// Rooms with a number that becomes an identity column.
#[derive(PgTable)]
#[pg(table = "rooms")]
pub struct RoomNumbered {
    #[pg(primary_key)]
    pub room_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    pub code: String,
    pub number: i64,
}

/// The same rooms, their number now an identity.
#[derive(PgTable)]
#[pg(table = "rooms")]
pub struct RoomIdentity {
    #[pg(primary_key)]
    pub room_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    pub code: String,
    #[pg(identity(by_default))]
    pub number: i64,
}

fn clinics() -> Schema {
    Schema::new()
        .tenant_setting("app.clinic_id")
        .tenant_role("nurse")
        .table::<Clinic>()
}

#[test]
fn a_plan_for_citus_places_each_table_it_creates_right_after_its_create_table() {
    use schema_core::migrate::Migrations;
    let schema = clinics().table::<Room>().for_target(Target::Citus);
    let none = Migrations::default();
    let migration = none
        .plan_new_for(&schema, "init", &[], 0)
        .unwrap()
        .expect("a migration");
    let sql: Vec<&str> = migration
        .plan
        .steps
        .iter()
        .map(|s| s.sql.as_str())
        .collect();
    let at = |prefix: &str| sql.iter().position(|s| s.starts_with(prefix)).unwrap();
    assert_eq!(
        sql[at("CREATE TABLE \"clinics\"") + 1],
        "SELECT create_reference_table('\"clinics\"')"
    );
    assert_eq!(
        sql[at("CREATE TABLE \"rooms\"") + 1],
        "SELECT create_distributed_table('\"rooms\"', 'clinic_id', colocate_with => 'default')"
    );
    assert!(migration
        .up_sql
        .contains("SELECT create_distributed_table('\"rooms\"'"));
    // The role gets LOGIN (Citus connects to the workers as it).
    assert!(sql.contains(&"ALTER ROLE \"nurse\" LOGIN"), "{sql:?}");
    // The plain target's plan has no Citus call.
    let plain = none
        .plan_new_for(&clinics().table::<Room>(), "init", &[], 0)
        .unwrap()
        .unwrap();
    assert!(!plain.up_sql.contains("create_"));
}

#[test]
fn a_table_already_holding_rows_is_distributed_concurrently_outside_a_transaction() {
    use schema_core::target::citus::{plan, Existing};
    let schema = clinics().table::<Room>().for_target(Target::Citus);
    let existing = [
        Existing {
            table: "clinics".into(),
            placed: true,
            has_rows: true,
        },
        Existing {
            table: "rooms".into(),
            placed: false,
            has_rows: true,
        },
    ];
    let planned = plan(&schema, schema_core::plan::Plan::default(), &existing).unwrap();
    assert_eq!(planned.steps.len(), 1);
    assert_eq!(
        planned.steps[0].sql,
        "SELECT create_distributed_table_concurrently('\"rooms\"', 'clinic_id', colocate_with => 'default')"
    );
    assert!(!planned.steps[0].transactional);
    // Empty: the plain call, in a transaction.
    let empty = [Existing {
        has_rows: false,
        ..existing[1].clone()
    }];
    let planned = plan(&schema, schema_core::plan::Plan::default(), &empty).unwrap();
    assert!(planned.steps[0]
        .sql
        .starts_with("SELECT create_distributed_table("));
    assert!(planned.steps[0].transactional);
}

#[test]
fn a_step_citus_does_not_support_is_refused_at_plan_time_in_its_words() {
    use schema_core::migrate::{MigrateError, Migrations};
    let first = Migrations::default()
        .plan_new_for(
            &clinics().table::<RoomNumbered>().for_target(Target::Citus),
            "init",
            &[],
            0,
        )
        .unwrap()
        .unwrap();
    let folder = std::env::temp_dir().join(format!("citus-plan-{}", Uuid::new_v4().simple()));
    Migrations::write_new(&folder, &first).unwrap();
    let migrations = Migrations::read_dir(&folder).unwrap();
    let error = migrations
        .plan_new_for(
            &clinics().table::<RoomIdentity>().for_target(Target::Citus),
            "number_identity",
            &[],
            1,
        )
        .unwrap_err();
    let _ = std::fs::remove_dir_all(&folder);
    let MigrateError::Schema(error) = error else {
        panic!("{error:?}")
    };
    assert!(
        error.to_string().starts_with(
            "table `rooms` on Citus: alter table command is currently unsupported: Only ADD|DROP \
             COLUMN, SET|DROP NOT NULL, SET|DROP DEFAULT, ADD|DROP|VALIDATE CONSTRAINT, SET (), \
             RESET (), ENABLE|DISABLE|NO FORCE|FORCE ROW LEVEL SECURITY, ATTACH|DETACH PARTITION \
             and TYPE subcommands are supported. (`ALTER TABLE \"rooms\" ALTER COLUMN \"number\""
        ),
        "{error}"
    );
    // The plain target plans it.
    assert!(migrations
        .plan_new_for(
            &clinics().table::<RoomIdentity>(),
            "number_identity",
            &[],
            1
        )
        .is_ok());
}
