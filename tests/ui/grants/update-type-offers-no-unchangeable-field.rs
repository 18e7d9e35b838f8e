use schema_core::PgTable;

// The patch type has no field for an immutable column, nor for one no grant lists.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "own", to = "member", using = "true", with_check = "true"),
    grant(to = "member", update(title))
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub title: String,
    pub body: String,
    #[pg(immutable)]
    pub owner: String,
}

fn main() {
    let _ = UpdateNote {
        title: None,
        body: None,
        owner: None,
    };
}
