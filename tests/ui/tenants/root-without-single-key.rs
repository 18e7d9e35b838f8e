use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(table = "providers", tenant_root, primary_key(region, provider_id))]
pub struct Provider {
    pub region: String,
    pub provider_id: Uuid,
}

fn main() {}
