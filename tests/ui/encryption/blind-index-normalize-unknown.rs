use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(tenant_root)]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: Uuid,
}

// A normalization that does not exist.
#[derive(PgTable)]
#[pg(primary_key(clinic_id, patient_id))]
pub struct Patient {
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(default_fn = Uuid::nil)]
    pub patient_id: Uuid,
    #[pg(encrypted, blind_index(bits = 8, population = 50_000, normalize(trim, uppercase)))]
    pub email: String,
}

fn main() {}
