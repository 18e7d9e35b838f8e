use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

// An action written as a bare word: the suggestion is the same word, quoted.
#[derive(PgTable)]
pub struct Claim {
    #[pg(primary_key)]
    pub claim_id: Uuid,
    #[pg(references = Provider::provider_id, on_delete = restrict)]
    pub provider_id: Uuid,
}

fn main() {}
