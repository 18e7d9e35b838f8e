use schema_core::PgTable;

// A policy's SQL names a field that does not exist.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "own", to = "member", using = "{ownr} = current_user")
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub owner: String,
}

fn main() {}
