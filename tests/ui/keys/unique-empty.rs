use schema_core::PgTable;

#[derive(PgTable)]
#[pg(unique())]
pub struct Member {
    #[pg(primary_key)]
    pub member_id: i64,
    pub email: String,
}

fn main() {}
