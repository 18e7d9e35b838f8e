use schema_core::PgTable;

// An INSERT policy has no existing rows to filter: PostgreSQL refuses `USING` on it.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "add_own", to = "member", command = "insert", using = "{owner} = current_user")
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub owner: String,
}

fn main() {}
