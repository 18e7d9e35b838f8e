use schema_core::PgTable;

pub type MaybeText = Option<String>;

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub notes: MaybeText,
}

fn main() {}
