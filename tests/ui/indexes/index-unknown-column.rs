use schema_core::PgTable;

#[derive(PgTable)]
#[pg(index(provider_id, stauts))]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub provider_id: i64,
    pub status: String,
}

fn main() {}
