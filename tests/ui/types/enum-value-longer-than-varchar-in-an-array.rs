use schema_core::{PgEnum, PgTable};

#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    Open,
    WaitingOnCustomer,
}

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(varchar = 10)]
    pub statuses: Vec<Option<TicketStatus>>,
}

fn main() {}
