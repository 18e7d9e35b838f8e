use schema_core::PgTable;

// Under row-level security, a role whose policies only read can insert no row.
#[derive(PgTable)]
#[pg(
    row_level_security,
    policy(name = "read", to = "auditor", command = "select", using = "true"),
    grant(to = "auditor", insert(title))
)]
pub struct Note {
    #[pg(primary_key, default_sql = "gen_random_uuid()")]
    pub note_id: uuid::Uuid,
    pub title: String,
}

fn main() {}
