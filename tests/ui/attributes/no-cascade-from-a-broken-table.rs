use schema_core::PgTable;
use uuid::Uuid;

// One mistake in `Provider`, and uses of its row types and column constants elsewhere: only
// the mistake is reported, nothing cascades from it.
#[derive(PgTable)]
pub struct Provider {
    #[pg(primary_key, colour = "red")]
    pub provider_id: Uuid,
    pub name: String,
}

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: Uuid,
    #[pg(references = Provider::provider_id)]
    pub provider_id: Uuid,
}

fn main() {
    let provider = InsertProvider::new(Uuid::nil(), "Dr. Who".to_string());
    let _: SelectProvider = SelectProvider {
        provider_id: provider.provider_id,
        name: provider.name,
    };
}
