use schema_core::PgTable;

#[derive(PgTable)]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
    #[pg(numeric(precision = 12, scale = 2))]
    pub total: f64,
}

fn main() {}
