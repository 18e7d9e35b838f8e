use schema_core::{PgEnum, PgTable};

#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native = "ledger.entry_kind")]
pub enum EntryKind {
    Debit,
    Credit,
}

// The enum's one error is all: its uses compile as if it had none.
#[derive(PgTable)]
pub struct Entry {
    #[pg(primary_key)]
    pub entry_id: i64,
    pub kind: EntryKind,
    pub history: Vec<EntryKind>,
    #[pg(default = EntryKind::Debit)]
    pub first: Option<EntryKind>,
}

fn main() {
    let _ = EntryKind::Debit.as_str();
}
