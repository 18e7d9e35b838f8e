use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(primary_key(tenant_id, clinic_id))]
pub struct Clinic {
    pub tenant_id: i32,
    pub clinic_id: Uuid,
}

// Each column is checked against the column it references: the error is at that one.
#[derive(PgTable)]
#[pg(foreign_key(columns(tenant_id, clinic_id), references(Clinic::tenant_id, Clinic::clinic_id)))]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: i64,
    pub tenant_id: i32,
    pub clinic_id: i64,
}

fn main() {}
