use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(tenant_root)]
pub struct Clinic {
    #[pg(primary_key)]
    pub clinic_id: Uuid,
}

// Only a text is trimmed or lowercased before it is indexed.
#[derive(PgTable)]
#[pg(primary_key(clinic_id, card_id))]
pub struct Card {
    #[pg(tenant = Clinic)]
    pub clinic_id: Uuid,
    #[pg(default_fn = Uuid::nil)]
    pub card_id: Uuid,
    #[pg(encrypted, blind_index(bits = 8, population = 50_000, normalize(lowercase)))]
    pub number: i64,
}

fn main() {}
