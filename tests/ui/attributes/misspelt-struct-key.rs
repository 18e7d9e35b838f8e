use schema_core::PgTable;
use uuid::Uuid;

// A transposed key counts as one edit: the error suggests `table`.
#[derive(PgTable)]
#[pg(tabel = "providers")]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

fn main() {}
