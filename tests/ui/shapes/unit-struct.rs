use schema_core::PgTable;

#[derive(PgTable)]
pub struct Ticket;

fn main() {}
