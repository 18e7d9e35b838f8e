use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(rename_all = "lowercase")]
pub enum TicketStatus {
    InProgress,
    #[pg(rename = "inprogress")]
    Working,
}

fn main() {}
