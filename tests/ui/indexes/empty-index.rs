use schema_core::PgTable;

// An index with nothing in its parentheses.
#[derive(PgTable)]
#[pg(index())]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub status: String,
}

fn main() {}
