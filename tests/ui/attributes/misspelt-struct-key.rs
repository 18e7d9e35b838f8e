use schema_core::PgTable;
use uuid::Uuid;

// A transposed key. (The expected output records a weak spot: no "did you mean `table`?",
// since a transposition is two edits and the limit for a five-letter key is one.)
#[derive(PgTable)]
#[pg(tabel = "providers")]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

fn main() {}
