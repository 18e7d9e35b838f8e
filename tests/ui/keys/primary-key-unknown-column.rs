use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(primary_key(tenant_id, ticket))]
pub struct Ticket {
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
}

fn main() {}
