use schema_core::PgTable;

// The primary key is unique already: a unique key on the same columns says nothing more.
#[derive(PgTable)]
#[pg(primary_key(tenant_id, member_id), unique(tenant_id, member_id))]
pub struct Member {
    pub tenant_id: i32,
    pub member_id: i64,
}

fn main() {}
