use schema_core::PgEnum;

#[derive(PgEnum)]
#[pg(native(name = "entry_kind"))]
pub enum EntryKind {
    Debit,
    Credit,
}

fn main() {}
