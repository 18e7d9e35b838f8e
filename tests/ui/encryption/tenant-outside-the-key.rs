use chrono::NaiveDate;
use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(table = "providers", tenant_root)]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

// Each ciphertext is bound to its row's tenant and key, read from the key when a row is
// updated by a filter: the tenant column must be part of the key (anywhere in it).
#[derive(PgTable)]
#[pg(table = "visits", primary_key(visit_day, visit_id))]
pub struct Visit {
    pub visit_day: NaiveDate,
    pub visit_id: Uuid,
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    #[pg(encrypted)]
    pub note: String,
}

fn main() {}
