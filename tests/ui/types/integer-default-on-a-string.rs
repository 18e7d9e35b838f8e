use schema_core::PgTable;

// A number as the default of a text column: the message says what a text default looks like,
// at the value.
#[derive(PgTable)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    #[pg(default = 7)]
    pub body: String,
}

fn main() {}
