use schema_core::{PgEnum, PgTable};

#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
pub enum TicketPriority {
    Low,
    Medium,
    High,
}

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(default = TicketPriority::Highest)]
    pub priority: TicketPriority,
}

fn main() {}
