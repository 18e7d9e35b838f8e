use schema_core::PgTable;

#[derive(PgTable)]
#[pg(
    table = "tickets",
    renamed_from = "tickets",
    index(status, name = "tickets_by_status", renamed_from = "tickets_by_status"),
    check(name = "subject_set", renamed_from = "subject_set", sql = "{subject} <> ''"),
    row_level_security,
    policy(name = "readers", renamed_from = "readers", to = "public", command = "select", using = "true")
)]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(rename = "headline", renamed_from = "headline")]
    pub subject: String,
    pub status: String,
}

fn main() {}
