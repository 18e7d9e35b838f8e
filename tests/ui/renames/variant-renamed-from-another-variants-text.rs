use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    Open,
    #[pg(renamed_from = "OPEN")]
    InProgress,
    Closed,
}

fn main() {}
