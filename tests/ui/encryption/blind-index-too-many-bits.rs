use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(tenant_root)]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: Uuid,
}

// 50,000 rows afford at most 15 bits (CipherSweet's planner): 16 would nearly identify each
// value. 15 is allowed.
#[derive(PgTable)]
#[pg(primary_key(clinic_id, patient_id))]
pub struct Patient {
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(default_fn = Uuid::nil)]
    pub patient_id: Uuid,
    #[pg(encrypted, blind_index(bits = 16, population = 50_000))]
    pub member_id: String,
}

#[derive(PgTable)]
#[pg(primary_key(clinic_id, patient_id))]
pub struct Allowed {
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(default_fn = Uuid::nil)]
    pub patient_id: Uuid,
    #[pg(encrypted, blind_index(bits = 15, population = 50_000))]
    pub member_id: String,
}

fn main() {}
