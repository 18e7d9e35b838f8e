use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(native, native = "ticket_status")]
pub enum TicketStatus {
    Open,
    Closed,
}

fn main() {}
