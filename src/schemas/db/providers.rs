//! D05 — providers: the physicians the platform bills for.
//! Support tickets reference this table by `provider_id`.

use chrono::{DateTime, Utc};
use schema_core::PgTable;
use uuid::Uuid;

/// A physician (or other billing provider) using the platform.
// The tenant root: each row is a tenant whose `provider_id` scopes every tenant table. A
// reference table (on Citus, copied to every node), so its `npi` and `email` stay unique across
// all providers.
#[derive(PgTable)]
#[pg(
    table = "providers",
    tenant_root,
    reference,
    index(last_name, first_name)
)]
pub struct Provider {
    /// Unique identifier of the provider.
    #[pg(primary_key, default_sql = "gen_random_uuid()")]
    pub provider_id: Uuid,
    /// National Provider Identifier: ten digits.
    #[pg(varchar = 10, unique)]
    pub npi: String,
    /// Given name.
    #[pg(varchar = 100)]
    pub first_name: String,
    /// Family name.
    #[pg(varchar = 100)]
    pub last_name: String,
    /// Login and contact address.
    #[pg(varchar = 255, unique)]
    pub email: String,
    /// The practice the provider bills under.
    #[pg(varchar = 200)]
    pub practice_name: Option<String>,
    /// Medical specialty.
    #[pg(varchar = 100)]
    pub specialty: Option<String>,
    /// Whether the provider may sign in.
    #[pg(default = true)]
    pub is_active: bool,
    /// When the provider was registered.
    #[pg(default_sql = "now()")]
    pub created_at: DateTime<Utc>,
    /// When the provider's row last changed.
    #[pg(default_sql = "now()", update_sql = "now()")]
    pub updated_at: DateTime<Utc>,
}
