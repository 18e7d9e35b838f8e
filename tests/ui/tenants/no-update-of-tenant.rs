use schema_core::PgTable;
use uuid::Uuid;

#[derive(PgTable)]
#[pg(table = "providers", tenant_root)]
pub struct Provider {
    #[pg(primary_key)]
    pub provider_id: Uuid,
}

#[derive(PgTable)]
#[pg(table = "notes")]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: Uuid,
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    pub body: String,
}

fn main() {
    // A note never moves to another provider: its update has no tenant field.
    let _ = UpdateNote {
        provider_id: Some(Uuid::nil()),
        ..Default::default()
    };
}
