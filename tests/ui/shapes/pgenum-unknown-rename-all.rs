use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(rename_all = "SCREAMING_SNAKE")]
pub enum TicketStatus {
    Open,
    InProgress,
}

fn main() {}
