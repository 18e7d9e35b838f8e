use schema_core::PgTable;
use uuid::Uuid;

// Five mistakes, all reported by one build: an unknown struct key, a duplicate key, a value
// of the wrong shape, an index over an unknown column and a second primary key.
#[derive(PgTable)]
#[pg(tabel = "providers", index(last_nme))]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
    #[pg(unique, unique)]
    pub npi: String,
    #[pg(varchar = "100")]
    pub last_name: String,
    #[pg(primary_key)]
    pub email: String,
}

fn main() {}
