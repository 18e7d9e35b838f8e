use schema_core::PgTable;

// A table-wide INSERT to public would undo the insert grant: every role is a member of public.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "own", to = "member", command = "insert", with_check = "true"),
    policy(name = "anyone", to = "public", command = "insert", with_check = "true"),
    grant(to = "member", insert(title))
)]
pub struct Note {
    #[pg(primary_key, default_sql = "gen_random_uuid()")]
    pub note_id: uuid::Uuid,
    pub title: String,
}

fn main() {}
