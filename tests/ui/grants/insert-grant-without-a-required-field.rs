use schema_core::PgTable;

// A role that inserts must be granted every column a row cannot go without.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "own", to = "member", using = "true", with_check = "true"),
    grant(to = "member", insert(title), update(title))
)]
pub struct Note {
    #[pg(primary_key, default_sql = "gen_random_uuid()")]
    pub note_id: uuid::Uuid,
    pub title: String,
    pub owner: String,
}

fn main() {}
