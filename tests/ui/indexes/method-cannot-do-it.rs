use schema_core::PgTable;

// What a gin, brin or hash index cannot do, each reported at the token that asks for it.
#[derive(PgTable)]
#[pg(
    index(payload, unique, using = "gin"),
    index(created_at(desc), using = "brin"),
    index(status, include(payload), using = "hash"),
    index(status, created_at, using = "hash")
)]
pub struct Event {
    #[pg(primary_key)]
    pub event_id: i64,
    pub status: String,
    pub payload: serde_json::Value,
    pub created_at: i64,
}

fn main() {}
