use schema_core::PgTable;
use chrono::{DateTime, Utc};

// A check's SQL names a field that does not exist: did you mean?
#[derive(PgTable)]
#[pg(check(name = "resolved_after_created", sql = "{resolvd_at} >= {created_at}"))]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn main() {}
