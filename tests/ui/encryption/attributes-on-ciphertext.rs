use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(tenant_root)]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: Uuid,
}

// The database holds only the ciphertext: no uniqueness, default or range on the plaintext.
#[derive(PgTable)]
#[pg(primary_key(clinic_id, patient_id))]
pub struct Patient {
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(default_fn = Uuid::nil)]
    pub patient_id: Uuid,
    #[pg(encrypted, unique)]
    pub member_id: String,
    #[pg(encrypted, varchar = 100, default = "unknown")]
    pub name: String,
    #[pg(encrypted, range = 0..=200)]
    pub weight: i32,
}

fn main() {}
