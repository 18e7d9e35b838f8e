use schema_core::PgTable;

#[derive(PgTable)]
#[pg(foreign_key(columns(tenant_id, clinic_id), on_delete = "cascade"))]
pub struct Visit {
    #[pg(primary_key)]
    pub visit_id: i64,
    pub tenant_id: i32,
    pub clinic_id: i32,
}

fn main() {}
