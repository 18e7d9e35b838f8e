use schema_core::PgTable;

#[derive(PgTable)]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
    #[pg(char = 0)]
    pub currency: String,
}

fn main() {}
