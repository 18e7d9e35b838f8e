use schema_core::PgTable;

#[derive(PgTable)]
#[pg(primary_key(tenant_id, clinic_id))]
pub struct Clinic {
    pub tenant_id: i32,
    pub clinic_id: i32,
}

#[derive(PgTable)]
pub struct Tenant {
    #[pg(primary_key)]
    pub tenant_id: i32,
}

#[derive(PgTable)]
#[pg(foreign_key(columns(tenant_id, clinic_id), references(Tenant::tenant_id, Clinic::clinic_id)))]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: i64,
    pub tenant_id: i32,
    pub clinic_id: i32,
}

fn main() {}
