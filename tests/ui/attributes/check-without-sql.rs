use schema_core::PgTable;

#[derive(PgTable)]
#[pg(check(name = "resolved_after_created"))]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub created_at: i64,
    pub resolved_at: i64,
}

fn main() {}
