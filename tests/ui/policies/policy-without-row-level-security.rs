use schema_core::PgTable;

// A policy on a table whose row-level security is off would never apply.
#[derive(PgTable)]
#[pg(policy(name = "own", to = "member", using = "{owner} = current_user"))]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub owner: String,
}

fn main() {}
