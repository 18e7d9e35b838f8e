use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(native, schema = "public")]
pub enum EntryKind {
    Debit,
    Credit,
}

fn main() {}
