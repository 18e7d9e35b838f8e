use schema_core::PgTable;

#[derive(PgTable)]
pub struct Owner {
    #[pg(primary_key)]
    pub owner_id: i64,
}

// ON UPDATE CASCADE would rewrite a column its trigger keeps as inserted.
#[derive(PgTable)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    #[pg(immutable, references = Owner::owner_id, on_update = "cascade", on_delete = "set null")]
    pub owner_id: Option<i64>,
}

fn main() {}
