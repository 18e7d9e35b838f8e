use schema_core::PgTable;

// An expression key gives PostgreSQL nothing to name the index after: a name is asked for.
#[derive(PgTable)]
#[pg(index(expr = "lower({email})", unique))]
pub struct Account {
    #[pg(primary_key)]
    pub account_id: i64,
    pub email: String,
}

fn main() {}
