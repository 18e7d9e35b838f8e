use schema_core::{PgEnum, PgTable};

#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native, schema = "ledger")]
pub enum EntryKind {
    Debit,
    Credit,
}

#[derive(PgTable)]
pub struct Entry {
    #[pg(primary_key)]
    pub entry_id: i64,
    #[pg(sql_type = "ledger.entry_kind")]
    pub kind: EntryKind,
}

fn main() {}
