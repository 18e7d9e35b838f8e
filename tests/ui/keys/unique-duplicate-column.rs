use schema_core::PgTable;

#[derive(PgTable)]
#[pg(unique(tenant_id, email, tenant_id))]
pub struct Member {
    #[pg(primary_key)]
    pub member_id: i64,
    pub tenant_id: i32,
    pub email: String,
}

fn main() {}
