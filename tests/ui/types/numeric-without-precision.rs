use schema_core::rust_decimal::Decimal;
use schema_core::PgTable;

#[derive(PgTable)]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
    #[pg(numeric(scale = 2))]
    pub total: Decimal,
    #[pg(numeric(precision = 1001))]
    pub huge: Decimal,
    #[pg(numeric(precision = 10, digits = 2))]
    pub other: Decimal,
}

fn main() {}
