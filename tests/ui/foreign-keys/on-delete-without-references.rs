use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: Uuid,
    #[pg(on_delete = "cascade")]
    pub provider_id: Uuid,
}

fn main() {}
