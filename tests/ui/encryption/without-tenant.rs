use schema_core::PgTable;
use uuid::Uuid;

// Each tenant's data key seals its rows: a table without a tenant has none.
#[derive(PgTable)]
pub struct Note {
    #[pg(primary_key, default_fn = Uuid::nil)]
    pub note_id: Uuid,
    #[pg(encrypted)]
    pub body: String,
}

fn main() {}
