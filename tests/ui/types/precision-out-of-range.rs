use chrono::{DateTime, Utc};
use schema_core::PgTable;

#[derive(PgTable)]
pub struct Event {
    #[pg(primary_key)]
    pub event_id: i64,
    #[pg(precision = 7)]
    pub at: DateTime<Utc>,
}

fn main() {}
