use schema_core::{PgEnum, PgTable};

#[derive(PgTable)]
#[pg(table = "tickets", renamed_from = "")]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(renamed_from = "")]
    pub subject: String,
}

#[derive(PgEnum)]
pub enum Stage {
    #[pg(renamed_from = "")]
    Open,
    Closed,
}

fn main() {}
