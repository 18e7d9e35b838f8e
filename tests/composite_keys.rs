//! Unique keys and foreign keys of several columns, declared on the struct: their exact DDL,
//! the catalog PostgreSQL builds from it (read back, it is what was declared: no drift), and
//! the typed error a write gets when the database refuses a row by one of them.

// Two keys sharing a column are not a repeated attribute (rust-clippy#13238).
#![allow(clippy::duplicated_attributes)]

mod common;

use common::{block_on, TestDb};
use schema_core::pg::evolve::{drift, Shadow};
use schema_core::pg::introspect::{read_model, Scope};
use schema_core::pg::{ConstraintKind, Db, PgError};
use schema_core::{PgTable, ReferentialAction, Schema, Table, UniqueDef};

/// A clinic of a tenant: keyed by both, its code unique per tenant, and at most one clinic of
/// a tenant without an email (NULLs are not distinct for that key).
#[derive(PgTable)]
#[pg(
    table = "clinics",
    primary_key(tenant_id, clinic_id),
    unique(tenant_id, code),
    unique(
        tenant_id,
        email,
        nulls_not_distinct,
        name = "clinics_one_email_per_tenant"
    )
)]
#[allow(dead_code)]
pub struct Clinic {
    pub tenant_id: i32,
    pub clinic_id: i32,
    #[pg(varchar = 20)]
    pub code: String,
    pub email: Option<String>,
}

/// A visit at a clinic, referencing it by its key and, optionally, by its code.
#[derive(PgTable)]
#[pg(
    table = "visits",
    foreign_key(
        columns(tenant_id, clinic_id),
        references(Clinic::tenant_id, Clinic::clinic_id),
        on_delete = "cascade"
    ),
    foreign_key(
        columns(tenant_id, clinic_code),
        references(Clinic::tenant_id, Clinic::code),
        on_update = "cascade",
        on_delete = "set null",
        name = "visits_clinic_code_fkey"
    )
)]
#[allow(dead_code)]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: i64,
    pub tenant_id: Option<i32>,
    pub clinic_id: Option<i32>,
    #[pg(varchar = 20)]
    pub clinic_code: Option<String>,
}

fn schema() -> Schema {
    Schema::new().table::<Visit>().table::<Clinic>()
}

#[test]
fn composite_keys_render_as_exact_ddl() {
    assert_eq!(
        common::statements(schema().to_ddl().unwrap()),
        r#"CREATE TABLE "clinics" (
    "tenant_id" integer NOT NULL,
    "clinic_id" integer NOT NULL,
    "code" varchar(20) NOT NULL,
    "email" text,
    CONSTRAINT "clinics_pkey" PRIMARY KEY ("tenant_id", "clinic_id"),
    CONSTRAINT "clinics_tenant_id_code_key" UNIQUE ("tenant_id", "code"),
    CONSTRAINT "clinics_one_email_per_tenant" UNIQUE NULLS NOT DISTINCT ("tenant_id", "email")
);

COMMENT ON TABLE "clinics" IS 'A clinic of a tenant: keyed by both, its code unique per tenant, and at most one clinic of
a tenant without an email (NULLs are not distinct for that key).';

CREATE TABLE "visits" (
    "visit_id" bigint NOT NULL,
    "tenant_id" integer,
    "clinic_id" integer,
    "clinic_code" varchar(20),
    CONSTRAINT "visits_pkey" PRIMARY KEY ("visit_id"),
    CONSTRAINT "visits_tenant_id_clinic_id_fkey" FOREIGN KEY ("tenant_id", "clinic_id") REFERENCES "clinics" ("tenant_id", "clinic_id") ON DELETE CASCADE,
    CONSTRAINT "visits_clinic_code_fkey" FOREIGN KEY ("tenant_id", "clinic_code") REFERENCES "clinics" ("tenant_id", "code") ON DELETE SET NULL ON UPDATE CASCADE
);

COMMENT ON TABLE "visits" IS 'A visit at a clinic, referencing it by its key and, optionally, by its code.';
"#
    );
}

#[test]
fn the_metadata_lists_the_keys_as_declared() {
    assert_eq!(
        Clinic::TABLE.unique_keys,
        [
            UniqueDef {
                name: None,
                columns: &["tenant_id", "code"],
                nulls_not_distinct: false,
            },
            UniqueDef {
                name: Some("clinics_one_email_per_tenant"),
                columns: &["tenant_id", "email"],
                nulls_not_distinct: true,
            },
        ]
    );
    let fk = &Visit::TABLE.foreign_keys[1];
    assert_eq!(fk.columns, ["tenant_id", "clinic_code"]);
    assert_eq!(fk.references_table, "clinics");
    assert_eq!(fk.references_columns, ["tenant_id", "code"]);
    assert_eq!(
        (fk.on_delete, fk.on_update),
        (ReferentialAction::SetNull, ReferentialAction::Cascade)
    );
    assert_eq!(Visit::TABLE.foreign_key_name(fk), "visits_clinic_code_fkey");
    // The metadata answers the question the derive asks of a referenced table.
    assert!(Clinic::TABLE.has_key(&["code", "tenant_id"]));
    assert!(Clinic::TABLE.has_key(&["clinic_id", "tenant_id"]));
    assert!(!Clinic::TABLE.has_key(&["tenant_id"]));
    assert!(!Clinic::TABLE.has_key(&["tenant_id", "tenant_id"]));
}

/// A generated name longer than PostgreSQL keeps is shortened the way every generated
/// constraint name is: cut, and ended with a hash of the full name.
#[test]
fn long_generated_key_names_are_shortened_deterministically() {
    #[derive(PgTable)]
    #[pg(
        table = "appointments_by_department",
        primary_key(department_identifier, appointment_identifier),
        unique(department_identifier, appointment_reference_code)
    )]
    #[allow(dead_code)]
    struct Appointment {
        department_identifier: i32,
        appointment_identifier: i32,
        appointment_reference_code: String,
    }
    let table = Appointment::TABLE;
    let name = table.unique_key_name(&table.unique_keys[0]);
    assert_eq!(
        name,
        "appointments_by_department_department_identifier_appoi_4d68c36d"
    );
    assert!(Schema::new()
        .table::<Appointment>()
        .to_ddl()
        .unwrap()
        .contains(&format!("CONSTRAINT \"{name}\" UNIQUE (")));
}

#[test]
fn the_catalog_reads_back_what_was_declared() {
    let mut db = TestDb::new();
    db.client()
        .batch_execute(&schema().to_ddl().unwrap())
        .unwrap();
    let code = schema().model().unwrap();
    let live = block_on(async {
        let client = Db::connect(db.url()).await.unwrap();
        read_model(client.client(), &Scope::of(&code))
            .await
            .unwrap()
    });
    let clinics = live.table("clinics").unwrap();
    let keys: Vec<(&str, Vec<&str>, bool)> = clinics
        .unique
        .iter()
        .map(|k| {
            (
                k.name.as_str(),
                k.columns.iter().map(String::as_str).collect(),
                k.nulls_not_distinct,
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (
                "clinics_one_email_per_tenant",
                vec!["tenant_id", "email"],
                true
            ),
            (
                "clinics_tenant_id_code_key",
                vec!["tenant_id", "code"],
                false
            ),
        ]
    );
    let visits = live.table("visits").unwrap();
    assert_eq!(
        visits.foreign_keys,
        code.table("visits")
            .unwrap()
            .foreign_keys
            .iter()
            .rev()
            .cloned()
            .collect::<Vec<_>>()
    );
    let lines = block_on(drift(db.url(), &schema(), Shadow::SameServer)).unwrap();
    assert_eq!(lines, Vec::<String>::new());
}

fn refused(result: Result<impl std::fmt::Debug, PgError>) -> (ConstraintKind, String) {
    let error = result.unwrap_err();
    let violation = error.constraint().unwrap_or_else(|| panic!("{error:?}"));
    (violation.kind, violation.constraint.clone().unwrap())
}

#[test]
fn a_duplicate_key_or_a_dangling_reference_is_a_typed_violation_naming_the_constraint() {
    let mut db = TestDb::new();
    db.client()
        .batch_execute(&schema().to_ddl().unwrap())
        .unwrap();
    block_on(async {
        let db = Db::connect(db.url()).await.unwrap();
        let clinic = |clinic_id: i32, code: &str, email: Option<&str>| InsertClinic {
            email: email.map(Into::into),
            ..InsertClinic::new(1, clinic_id, code.into())
        };
        db.insert(&clinic(1, "NORTH", None)).await.unwrap();
        assert_eq!(
            refused(db.insert(&clinic(2, "NORTH", Some("b@example.com"))).await),
            (ConstraintKind::Unique, "clinics_tenant_id_code_key".into())
        );
        // A second clinic of the tenant without an email: NULLs are not distinct here.
        assert_eq!(
            refused(db.insert(&clinic(2, "SOUTH", None)).await),
            (
                ConstraintKind::Unique,
                "clinics_one_email_per_tenant".into()
            )
        );
        db.insert(&clinic(2, "SOUTH", Some("s@example.com")))
            .await
            .unwrap();

        let visit = |visit_id: i64, clinic_id: i32, code: Option<&str>| InsertVisit {
            tenant_id: Some(1),
            clinic_id: Some(clinic_id),
            clinic_code: code.map(Into::into),
            ..InsertVisit::new(visit_id)
        };
        db.insert(&visit(1, 1, Some("NORTH"))).await.unwrap();
        assert_eq!(
            refused(db.insert(&visit(2, 3, None)).await),
            (
                ConstraintKind::ForeignKey,
                "visits_tenant_id_clinic_id_fkey".into()
            )
        );
        assert_eq!(
            refused(db.insert(&visit(3, 2, Some("WEST"))).await),
            (ConstraintKind::ForeignKey, "visits_clinic_code_fkey".into())
        );
        // A row with a NULL among its referencing columns references nothing (MATCH SIMPLE).
        db.insert(&InsertVisit {
            clinic_code: Some("WEST".into()),
            ..InsertVisit::new(4)
        })
        .await
        .unwrap();
    });
}
