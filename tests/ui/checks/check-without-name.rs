use schema_core::PgTable;

// A table check needs a name.
#[derive(PgTable)]
#[pg(check(sql = "{amount} > 0"))]
pub struct Payment {
    #[pg(primary_key)]
    pub payment_id: i64,
    pub amount: i64,
}

fn main() {}
