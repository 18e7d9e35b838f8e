use schema_core::PgTable;

// A policy names its role and says which rows it lets through.
#[derive(PgTable)]
#[pg(row_level_security, policy(name = "own"))]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub owner: String,
}

fn main() {}
