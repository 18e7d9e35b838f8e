use schema_core::PgTable;

// A method PostgreSQL does not have, and an operator class that is not a plain name.
#[derive(PgTable)]
#[pg(
    index(payload, using = "gni"),
    index(payload(opclass = "jsonb_path_ops; DROP TABLE x"), using = "gin"),
    index(status, include(missing))
)]
pub struct Event {
    #[pg(primary_key)]
    pub event_id: i64,
    pub status: String,
    pub payload: serde_json::Value,
}

fn main() {}
