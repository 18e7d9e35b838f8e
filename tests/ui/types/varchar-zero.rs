use schema_core::PgTable;

// `varchar = 0` holds nothing.
#[derive(PgTable)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    #[pg(varchar = 0)]
    pub body: String,
}

fn main() {}
