use schema_core::PgTable;

fn next_code() -> String {
    "A-1".to_string()
}

// A `default_fn` must make a value of the column's type: the error is at the path.
#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(default_fn = next_code)]
    pub code: i64,
}

fn main() {}
