use schema_core::PgTable;

#[derive(PgTable)]
#[pg(index(
    provider_id,
    name = "tickets_by_provider",
    renamed_from = "support_tickets_raised_by_providers_from_the_billing_page_provider_id_idx"
))]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub provider_id: i64,
}

fn main() {}
