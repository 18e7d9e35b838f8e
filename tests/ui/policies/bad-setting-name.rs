use schema_core::PgTable;

// A setting of your own is named `prefix.name`.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "own", to = "member", using = "{owner} = {setting:user}")
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub owner: String,
}

fn main() {}
