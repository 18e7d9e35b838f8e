use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(native = "Ticket Status")]
pub enum TicketStatus {
    Open,
    Closed,
}

fn main() {}
