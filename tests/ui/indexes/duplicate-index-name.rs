use schema_core::PgTable;

#[derive(PgTable)]
#[pg(
    index(status, name = "tickets_lookup_idx"),
    index(provider_id, name = "tickets_lookup_idx")
)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub provider_id: i64,
    pub status: String,
}

fn main() {}
