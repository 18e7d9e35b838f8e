use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: Uuid,
    #[pg(references = Provider::provider_id, on_delete = "delete")]
    pub provider_id: Uuid,
}

fn main() {}
