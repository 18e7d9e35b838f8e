use schema_core::{PgEnum, PgTable};

#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Priority {
    Low,
    High,
    Urgent,
}

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(char = 4)]
    pub priority: Priority,
}

fn main() {}
