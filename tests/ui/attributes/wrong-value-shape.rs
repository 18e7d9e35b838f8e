use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
    #[pg(varchar = "200")]
    pub npi: String,
}

fn main() {}
