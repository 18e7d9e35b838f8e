//! The tenant declared once: the tenant root, each tenant table's tenant column, and the
//! schema's tenant setting and roles; the tenant-isolation policies generated from them, the
//! holes refused with a message that says what to add.

#![allow(clippy::duplicated_attributes)]

use schema_core::{PgTable, Schema, SchemaError, Table, TenantDef};
use shared::schemas::db::{
    schema, Invoice, InvoiceLine, Provider, SupportTicket, UpdateSupportTicket, PHYSICIAN_ROLE,
    PROVIDER_SETTING,
};
use uuid::Uuid;

#[test]
fn the_application_declares_its_tenant_once() {
    assert_eq!(
        Provider::TABLE.tenant,
        Some(TenantDef::Root { key: "provider_id" })
    );
    for table in [SupportTicket::TABLE, Invoice::TABLE, InvoiceLine::TABLE] {
        assert_eq!(table.tenant_column(), Some("provider_id"), "{}", table.name);
        assert_eq!(table.tenant_root().as_deref(), Some("providers"));
    }
    assert!(Provider::TABLE.reference);
    let schema = schema();
    assert_eq!(schema.tenancy().setting(), Some(PROVIDER_SETTING));
    assert_eq!(schema.tenancy().roles(), [PHYSICIAN_ROLE]);
}

#[test]
fn the_seed_policy_is_generated_exactly_as_it_was_written() {
    let ddl = schema().to_ddl().unwrap();
    assert!(ddl.contains(
        r#"CREATE POLICY "support_tickets_physician_own" ON "support_tickets" FOR ALL TO "physician" USING ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid) WITH CHECK ("provider_id" = NULLIF(current_setting('app.provider_id', true), '')::uuid);"#
    ));
    // The written read-only policies of billing stay as written; none is added beside them.
    assert!(ddl.contains(r#"CREATE POLICY "invoices_physician_own" ON "billing"."invoices" FOR SELECT TO "physician""#));
    let physician_policies = ddl
        .lines()
        .filter(|line| line.starts_with("CREATE POLICY") && line.contains(r#"TO "physician""#))
        .count();
    assert_eq!(physician_policies, 3);
}

#[test]
fn the_update_type_of_a_tenant_table_has_no_tenant_field() {
    // Compiles only with every field named: `provider_id` is not one of them.
    let UpdateSupportTicket {
        subject: _,
        description: _,
        satisfaction_rating: _,
        satisfaction_comment: _,
        category: _,
        priority: _,
        status: _,
        assigned_to: _,
        resolution_notes: _,
        resolved_at: _,
    } = UpdateSupportTicket::default();
    let column = SupportTicket::TABLE.column("provider_id").unwrap();
    assert!(!SupportTicket::TABLE.is_updatable(column));
    let line_tenant = InvoiceLine::TABLE.column("provider_id").unwrap();
    assert!(!InvoiceLine::TABLE.is_updatable(line_tenant));
}

#[derive(PgTable)]
#[pg(table = "clinics", tenant_root)]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: i64,
}

#[derive(PgTable)]
#[pg(table = "visits")]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: i64,
    pub notes: String,
}

#[derive(PgTable)]
#[pg(
    table = "leaky_visits",
    row_level_security,
    policy(name = "leaky_nurse", to = "nurse", command = "select", using = "true")
)]
pub struct LeakyVisit {
    #[pg(primary_key)]
    pub visit_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: i64,
}

#[derive(PgTable)]
#[pg(
    table = "own_visits",
    row_level_security,
    policy(
        name = "own_visits_nurse_read",
        to = "nurse",
        command = "select",
        using = "{clinic_id} = {setting:app.clinic_id}::bigint"
    )
)]
pub struct OwnVisit {
    #[pg(primary_key)]
    pub visit_id: Uuid,
    #[pg(tenant = Clinic)]
    pub clinic_id: i64,
}

fn tenancy_problem(schema: Schema) -> String {
    match schema.to_ddl() {
        Err(SchemaError::Tenancy { problem, .. }) => problem,
        other => panic!("expected a tenancy error, got {other:?}"),
    }
}

#[test]
fn a_tenant_table_without_a_tenant_setting_or_role_is_refused() {
    let base = Schema::new().table::<Clinic>().table::<Visit>();
    let problem = tenancy_problem(base.clone());
    assert!(problem.contains("declares no tenant setting"), "{problem}");
    let problem = tenancy_problem(base.clone().tenant_setting("app.clinic_id"));
    assert!(problem.contains("declares no tenant role"), "{problem}");
    let error = base
        .clone()
        .tenant_setting("app.clinic_id")
        .to_ddl()
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("tenant table `visits`: "), "{error}");
}

#[test]
fn a_tenant_table_whose_root_is_missing_is_refused() {
    let problem = tenancy_problem(
        Schema::new()
            .table::<Visit>()
            .tenant_setting("app.clinic_id")
            .tenant_role("nurse"),
    );
    assert!(
        problem.contains("its tenant root `clinics` is not in the schema"),
        "{problem}"
    );
}

#[test]
fn a_tenant_roles_policy_that_does_not_scope_is_refused() {
    let problem = tenancy_problem(
        Schema::new()
            .table::<Clinic>()
            .table::<LeakyVisit>()
            .tenant_setting("app.clinic_id")
            .tenant_role("nurse"),
    );
    assert!(
        problem.contains("the policy `leaky_nurse` for the tenant role `nurse` does not compare the tenant column `clinic_id` with the tenant setting `app.clinic_id`"),
        "{problem}"
    );
    assert!(problem.contains("::bigint"), "{problem}");
}

#[test]
fn a_written_scoping_policy_is_kept_and_nothing_is_generated_beside_it() {
    let ddl = Schema::new()
        .table::<Clinic>()
        .table::<OwnVisit>()
        .tenant_setting("app.clinic_id")
        .tenant_role("nurse")
        .to_ddl()
        .unwrap();
    assert!(ddl.contains(r#"CREATE POLICY "own_visits_nurse_read""#));
    assert!(!ddl.contains("own_visits_nurse_own"));
}

#[test]
fn a_tenant_table_gets_row_level_security_and_one_policy_per_tenant_role() {
    let ddl = Schema::new()
        .table::<Visit>()
        .table::<Clinic>()
        .tenant_setting("app.clinic_id")
        .tenant_role("nurse")
        .tenant_role("doctor")
        .to_ddl()
        .unwrap();
    assert!(ddl.contains(r#"ALTER TABLE "visits" ENABLE ROW LEVEL SECURITY;"#));
    assert!(ddl.contains(r#"ALTER TABLE "visits" FORCE ROW LEVEL SECURITY;"#));
    for role in ["nurse", "doctor"] {
        assert!(ddl.contains(&format!(
            r#"CREATE POLICY "visits_{role}_own" ON "visits" FOR ALL TO "{role}" USING ("clinic_id" = NULLIF(current_setting('app.clinic_id', true), '')::bigint)"#
        )), "{ddl}");
    }
    // The root itself is not scoped by a policy.
    assert!(!ddl.contains(r#"ALTER TABLE "clinics" ENABLE ROW LEVEL SECURITY"#));
}
