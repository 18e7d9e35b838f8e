use schema_core::PgTable;

// An internal field is never read from input, so it must be able to be absent.
#[derive(PgTable)]
pub struct Upload {
    #[pg(primary_key)]
    pub upload_id: i64,
    #[pg(internal)]
    pub storage_key: String,
}

fn main() {}
