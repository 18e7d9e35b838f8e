use schema_core::rust_decimal::Decimal;
use schema_core::PgTable;

#[derive(PgTable)]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
    #[pg(default = 19.95)]
    pub total: Decimal,
}

fn main() {}
