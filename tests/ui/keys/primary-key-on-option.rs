use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: Option<Uuid>,
}

fn main() {}
