use schema_core::PgTable;

// Two checks with one name.
#[derive(PgTable)]
#[pg(
    check(name = "sane", sql = "{amount} > 0"),
    check(name = "sane", sql = "{amount} < 1000000")
)]
pub struct Payment {
    #[pg(primary_key)]
    pub payment_id: i64,
    pub amount: i64,
}

fn main() {}
