use schema_core::PgTable;

// A column has one default: both a Rust value and a SQL expression are given.
#[derive(PgTable)]
pub struct Counter {
    #[pg(primary_key)]
    pub counter_id: i64,
    #[pg(default = 0, default_sql = "1 + 1")]
    pub value: i32,
}

fn main() {}
