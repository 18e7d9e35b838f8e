use schema_core::PgTable;

// Bounds that the field's integer type cannot hold: each is rustc's out-of-range error at
// that bound, naming the type.
#[derive(PgTable)]
pub struct Review {
    #[pg(primary_key)]
    pub review_id: i64,
    #[pg(range = 0..=40000)]
    pub score: i16,
    #[pg(range = -40000..=0)]
    pub adjustment: Option<i16>,
    #[pg(range = 1..=100000)]
    pub minutes: i32,
}

fn main() {}
