use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(tablespace = "fast")]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

fn main() {}
