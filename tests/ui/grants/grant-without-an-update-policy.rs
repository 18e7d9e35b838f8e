use schema_core::PgTable;

// Under row-level security, a role whose policies only read can update no row.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "read", to = "auditor", command = "select", using = "true"),
    grant(to = "auditor", update(title))
)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub title: String,
}

fn main() {}
