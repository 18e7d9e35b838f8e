use schema_core::PgTable;

// A column that never changes cannot be refreshed by every update.
#[derive(PgTable)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    #[pg(immutable, default_sql = "now()", update_sql = "now()")]
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

fn main() {}
