use schema_core::PgTable;

// Once a grant narrows updates, every role that may update needs one: otherwise it could change
// columns the generated patch type does not offer.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "own", to = "member", using = "true", with_check = "true"),
    policy(name = "desk", to = "staff", command = "update", using = "true"),
    grant(to = "member", update(title))
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub title: String,
    pub state: String,
}

fn main() {}
