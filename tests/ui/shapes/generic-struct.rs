use schema_core::PgTable;

#[derive(PgTable)]
pub struct Ticket<Id> {
    #[pg(primary_key)]
    pub ticket_id: Id,
}

fn main() {}
