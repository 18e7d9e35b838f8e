use schema_core::PgTable;

#[derive(PgTable)]
#[pg(primary_key(tenant_id, clinic_id, region))]
pub struct Clinic {
    pub tenant_id: i32,
    pub clinic_id: i32,
    pub region: i32,
}

// PostgreSQL references a primary key or a unique key, whole: two of a key's three columns
// are neither.
#[derive(PgTable)]
#[pg(foreign_key(columns(tenant_id, clinic_id), references(Clinic::tenant_id, Clinic::clinic_id)))]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: i64,
    pub tenant_id: i32,
    pub clinic_id: i32,
}

fn main() {}
