use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

// (The expected output records a known defect: rustc reports E0308 "mismatched types"
// instead of the `ReferenceCompatible` message of schema-core.)
#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: Uuid,
    #[pg(references = Provider::provider_id)]
    pub provider_id: i32,
}

fn main() {}
