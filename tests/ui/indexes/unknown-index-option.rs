use schema_core::PgTable;

#[derive(PgTable)]
#[pg(index(status, nme = "tickets_status_idx"))]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub status: String,
}

fn main() {}
