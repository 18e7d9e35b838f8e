use schema_core::{PgEnum, PgTable};

#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native)]
pub enum TicketStatus {
    Open,
    Closed,
}

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(varchar = 10)]
    pub statuses: Vec<TicketStatus>,
}

fn main() {}
