use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(table = "support_tickets_raised_by_providers_from_the_billing_page_help_button")]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: Uuid,
}

fn main() {}
