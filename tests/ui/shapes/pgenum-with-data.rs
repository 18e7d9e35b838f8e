use schema_core::PgEnum;

#[derive(PgEnum)]
pub enum TicketStatus {
    Open,
    Closed { reason: String },
    Escalated(u8),
}

fn main() {}
