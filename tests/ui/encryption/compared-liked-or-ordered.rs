use schema_core::query::Select;
use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(tenant_root)]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: Uuid,
}

#[derive(PgTable)]
#[pg(primary_key(clinic_id, patient_id))]
pub struct Patient {
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(default_fn = Uuid::nil)]
    pub patient_id: Uuid,
    #[pg(encrypted)]
    pub name: String,
}

// The database holds only ciphertext: it cannot compare, match or order the plaintext.
fn main() {
    let _ = Select::<Patient>::new().filter(Patient::name.eq("Jane Doe"));
    let _ = Select::<Patient>::new().filter(Patient::name.like("Jane%"));
    let _ = Select::<Patient>::new().order_by(Patient::name.asc());
}
