use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

// An `i32` column cannot reference a `Uuid` key: the error names both types.
#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: Uuid,
    #[pg(references = Provider::provider_id)]
    pub provider_id: i32,
}

fn main() {}
