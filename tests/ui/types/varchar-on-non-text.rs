use schema_core::PgTable;

#[derive(PgTable)]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
    #[pg(varchar = 10)]
    pub n: i32,
}

fn main() {}
