use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(schema = "ledger")]
pub enum EntryKind {
    Debit,
    Credit,
}

fn main() {}
