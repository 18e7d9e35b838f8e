use schema_core::PgTable;

// `range` on a text field: one error, at `range`.
#[derive(PgTable)]
pub struct Review {
    #[pg(primary_key)]
    pub review_id: i64,
    #[pg(range = 1..=5)]
    pub stars: String,
}

fn main() {}
