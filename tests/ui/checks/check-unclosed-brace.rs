use schema_core::PgTable;

// A `{` that is not closed in a check's SQL.
#[derive(PgTable)]
#[pg(check(name = "positive", sql = "{amount > 0"))]
pub struct Payment {
    #[pg(primary_key)]
    pub payment_id: i64,
    pub amount: i64,
}

fn main() {}
