use schema_core::PgTable;

#[derive(PgTable)]
#[pg(primary_key(tenant_id, clinic_id))]
pub struct Clinic {
    pub tenant_id: i32,
    pub clinic_id: i32,
}

// Two columns cannot reference one.
#[derive(PgTable)]
#[pg(foreign_key(columns(tenant_id, clinic_id), references(Clinic::clinic_id)))]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: i64,
    pub tenant_id: i32,
    pub clinic_id: i32,
}

fn main() {}
