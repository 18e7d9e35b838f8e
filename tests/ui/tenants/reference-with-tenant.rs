use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(table = "providers", tenant_root)]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

#[derive(PgTable)]
#[pg(table = "codes", reference)]
pub struct Code {
    #[pg(primary_key)]
    pub code: String,
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
}

fn main() {}
