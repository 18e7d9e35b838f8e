use schema_core::PgTable;

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(default = "x")]
    pub attempts: i32,
}

fn main() {}
