use schema_core::PgTable;

#[derive(PgTable)]
#[pg(index(created_at(asc, desc)))]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub created_at: i64,
}

fn main() {}
