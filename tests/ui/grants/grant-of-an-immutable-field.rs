use schema_core::PgTable;

// A grant lets a role change a column that never changes after insert.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "own", to = "member", using = "true", with_check = "true"),
    grant(to = "member", update(title, owner))
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub title: String,
    #[pg(immutable)]
    pub owner: String,
}

fn main() {}
