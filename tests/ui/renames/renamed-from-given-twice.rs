use schema_core::{PgEnum, PgTable};

#[derive(PgTable)]
#[pg(index(status, renamed_from = "tickets_state_idx", renamed_from = "tickets_phase_idx"))]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(renamed_from = "state")]
    #[pg(renamed_from = "phase")]
    pub status: String,
}

#[derive(PgEnum)]
pub enum Stage {
    #[pg(renamed_from = "New", renamed_from = "Fresh")]
    Open,
    Closed,
}

fn main() {}
