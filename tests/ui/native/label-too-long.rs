use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(native)]
pub enum TicketStatus {
    Open,
    #[pg(rename = "CLOSED_AFTER_A_VERY_LONG_AND_WINDING_CONVERSATION_WITH_THE_PROVIDER")]
    Closed,
}

fn main() {}
