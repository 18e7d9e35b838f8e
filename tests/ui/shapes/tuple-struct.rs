use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
pub struct Ticket(Uuid, String);

fn main() {}
