use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(tenant_root)]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: Uuid,
}

// Each ciphertext is bound to its row's key, which the database would make only at the insert.
#[derive(PgTable)]
#[pg(primary_key(clinic_id, patient_id))]
pub struct Patient {
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(default_sql = "gen_random_uuid()")]
    pub patient_id: Uuid,
    #[pg(encrypted)]
    pub name: String,
}

fn main() {}
