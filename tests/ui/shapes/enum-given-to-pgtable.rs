use schema_core::PgTable;

#[derive(PgTable)]
pub enum TicketStatus {
    Open,
    Closed,
}

fn main() {}
