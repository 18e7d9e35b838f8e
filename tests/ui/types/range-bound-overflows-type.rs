use schema_core::PgTable;

#[derive(PgTable)]
pub struct Review {
    #[pg(primary_key)]
    pub review_id: i64,
    #[pg(range = 0..=40000)]
    pub score: i16,
}

fn main() {}
