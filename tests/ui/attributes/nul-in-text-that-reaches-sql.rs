use schema_core::PgTable;

// A doc comment becomes a SQL comment; a NUL in it would cut the script short in psql.
#[derive(PgTable)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    #[doc = "first\0'; DROP TABLE victim; --"]
    pub title: String,
    #[pg(default_sql = "'a\0b'")]
    pub body: String,
}

fn main() {}
