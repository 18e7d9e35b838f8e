use schema_core::PgTable;

// (The expected output records a known defect: the error is reported twice, the second time
// at `PgTable` in the derive rather than at a token of the field.)
#[derive(PgTable)]
pub struct Review {
    #[pg(primary_key)]
    pub review_id: i64,
    #[pg(range = 1..=5)]
    pub stars: String,
}

fn main() {}
