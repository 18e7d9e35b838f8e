use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(schema = "billing")]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

fn main() {}
