use schema_core::rust_decimal::Decimal;
use schema_core::PgTable;

#[derive(PgTable)]
pub struct Budget {
    #[pg(primary_key)]
    pub budget_id: i64,
    #[pg(numeric(precision = 2, scale = -1001))]
    pub amount: Decimal,
}

fn main() {}
