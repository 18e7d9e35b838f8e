use schema_core::PgTable;

// The schema's name is a string.
#[derive(PgTable)]
#[pg(schema = billing)]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
}

fn main() {}
