use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
    #[pg(unique, unique)]
    pub npi: String,
    #[pg(varchar = 100)]
    #[pg(varchar = 200)]
    pub email: String,
}

fn main() {}
