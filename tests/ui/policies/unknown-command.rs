use schema_core::PgTable;

// `command` is one of all, select, insert, update, delete.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "own", to = "member", command = "read", using = "{owner} = current_user")
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub owner: String,
}

fn main() {}
