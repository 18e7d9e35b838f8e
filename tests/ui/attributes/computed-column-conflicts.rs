use schema_core::PgTable;
use uuid::Uuid;

// Columns the database computes take no value of their own, and a generated column is
// computed from known, ordinary columns.
#[derive(PgTable)]
pub struct InvoiceLine {
    #[pg(primary_key, identity(always), default_sql = "1")]
    pub line_id: i64,
    #[pg(identity)]
    pub position: i32,
    #[pg(identity(always, by_default))]
    pub sequence: i32,
    #[pg(identity(always), default_fn = next_number)]
    pub number: i64,
    pub quantity: i32,
    #[pg(generated = "{quantity} * {unit_price}", default = 0)]
    pub total: i64,
    #[pg(generated = "{total} * 2")]
    pub doubled: i64,
    #[pg(default_fn = Uuid::new_v4)]
    pub reference: Uuid,
}

fn next_number() -> i64 {
    1
}

fn main() {}
