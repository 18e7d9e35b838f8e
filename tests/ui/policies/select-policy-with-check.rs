use schema_core::PgTable;

// A SELECT policy writes nothing: PostgreSQL refuses `WITH CHECK` on it.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "read_own", to = "member", command = "select", with_check = "{owner} = current_user")
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub owner: String,
}

fn main() {}
