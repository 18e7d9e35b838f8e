use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(primary_key(tenant_id, ticket_id))]
pub struct Ticket {
    pub tenant_id: Uuid,
    #[pg(primary_key)]
    pub ticket_id: Uuid,
}

fn main() {}
