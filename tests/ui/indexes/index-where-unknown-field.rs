use chrono::{DateTime, Utc};
use schema_core::PgTable;

// A partial index's predicate names a field the struct does not have.
#[derive(PgTable)]
#[pg(index(status, where = "{deleted} IS NULL"))]
pub struct Claim {
    #[pg(primary_key)]
    pub claim_id: i64,
    pub status: String,
    pub deleted_at: Option<DateTime<Utc>>,
}

fn main() {}
