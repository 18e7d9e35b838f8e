use schema_core::PgEnum;

#[derive(PgEnum)]
pub struct TicketStatus {
    pub text: String,
}

fn main() {}
