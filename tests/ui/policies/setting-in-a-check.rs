use schema_core::PgTable;

// A check must hold whatever the session says: it cannot read a setting.
#[derive(PgTable)]
#[pg(check(name = "own", sql = "{owner} = {setting:app.user}"))]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub owner: String,
}

fn main() {}
