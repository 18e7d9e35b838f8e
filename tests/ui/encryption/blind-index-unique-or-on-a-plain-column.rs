use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(tenant_root)]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: Uuid,
}

// A truncated index cannot be unique, and a plain column has no blind index.
#[derive(PgTable)]
#[pg(primary_key(clinic_id, patient_id))]
pub struct Patient {
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(default_fn = Uuid::nil)]
    pub patient_id: Uuid,
    #[pg(encrypted, blind_index(bits = 8, population = 50_000, unique))]
    pub ssn: String,
    #[pg(blind_index(bits = 8, population = 50_000))]
    pub city: String,
}

fn main() {}
