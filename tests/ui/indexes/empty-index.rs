use schema_core::PgTable;

// (The expected output records a known defect: syn's "expected nested attribute" at `)`
// instead of the derive's own "this index has no column"; see index-with-only-options.rs.)
#[derive(PgTable)]
#[pg(index())]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub status: String,
}

fn main() {}
