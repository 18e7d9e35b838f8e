use schema_core::PgTable;

// `crate = "..."` takes a path.
#[derive(PgTable)]
#[pg(crate = "not a path")]
pub struct Thing {
    #[pg(primary_key)]
    pub thing_id: i64,
}

fn main() {}
