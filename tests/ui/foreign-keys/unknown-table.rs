use schema_core::PgTable;
use uuid::Uuid;

// A foreign key to a type that does not exist.
#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: Uuid,
    #[pg(references = Providr::provider_id)]
    pub provider_id: Uuid,
}

fn main() {}
