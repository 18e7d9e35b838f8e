use schema_core::PgTable;

#[derive(PgTable)]
#[pg(
    check(name = "subject_set", renamed_from = "text_set", sql = "{subject} <> ''"),
    check(name = "description_set", renamed_from = "text_set", sql = "{description} <> ''")
)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(renamed_from = "text")]
    pub subject: String,
    #[pg(renamed_from = "text")]
    pub description: String,
}

fn main() {}
