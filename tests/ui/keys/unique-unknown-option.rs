use schema_core::PgTable;

// Inside `unique(...)`, `key = value` is an option: `name` is one, `nulls` is not.
#[derive(PgTable)]
#[pg(unique(tenant_id, email, nulls = "not distinct"))]
pub struct Member {
    #[pg(primary_key)]
    pub member_id: i64,
    pub tenant_id: i32,
    pub email: Option<String>,
}

fn main() {}
