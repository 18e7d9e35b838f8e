use schema_core::PgTable;

// A grant lists a field the struct does not have.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "own", to = "member", using = "true", with_check = "true"),
    grant(to = "member", update(titel))
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub title: String,
}

fn main() {}
