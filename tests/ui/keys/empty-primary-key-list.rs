use schema_core::PgTable;

// `primary_key()` on the struct lists no column.
#[derive(PgTable)]
#[pg(primary_key())]
pub struct Membership {
    pub team_id: i64,
    pub user_id: i64,
}

fn main() {}
