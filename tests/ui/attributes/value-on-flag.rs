use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Provider {
    #[pg(primary_key = true)]
    pub provider_id: Uuid,
}

fn main() {}
