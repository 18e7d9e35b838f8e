use schema_core::PgTable;

// A unique key names fields of the struct; a close one is suggested.
#[derive(PgTable)]
#[pg(unique(tenant_id, emial))]
pub struct Member {
    #[pg(primary_key)]
    pub member_id: i64,
    pub tenant_id: i32,
    pub email: String,
}

fn main() {}
