use chrono::{DateTime, Utc};
use schema_core::PgTable;
use uuid::Uuid;

// A missing comma between an index's column and its options: reported once, at the options.
#[derive(PgTable)]
#[pg(index(submitted_at(desc nulls_last)))]
pub struct Claim {
    #[pg(primary_key)]
    pub claim_id: Uuid,
    pub submitted_at: DateTime<Utc>,
}

fn main() {}
