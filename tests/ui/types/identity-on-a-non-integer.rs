use schema_core::PgTable;

// An identity numbers a smallint, integer or bigint that is never NULL.
#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key, identity(always))]
    pub code: String,
    #[pg(identity(by_default))]
    pub position: Option<i64>,
}

fn main() {}
