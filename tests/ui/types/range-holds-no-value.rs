use schema_core::PgTable;

#[derive(PgTable)]
pub struct Review {
    #[pg(primary_key)]
    pub review_id: i64,
    #[pg(range = 5..=1)]
    pub stars: i32,
}

fn main() {}
