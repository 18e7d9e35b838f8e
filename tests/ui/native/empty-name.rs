use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(native = "")]
pub enum TicketStatus {
    Open,
    Closed,
}

fn main() {}
