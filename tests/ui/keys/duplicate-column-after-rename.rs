use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: Uuid,
    pub kind: String,
    #[pg(rename = "kind")]
    pub category: String,
}

fn main() {}
