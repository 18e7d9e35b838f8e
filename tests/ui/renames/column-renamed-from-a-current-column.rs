use schema_core::PgTable;

#[derive(PgTable)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(rename = "title")]
    pub subject: String,
    #[pg(renamed_from = "title")]
    pub headline: String,
}

fn main() {}
