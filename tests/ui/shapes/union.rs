use schema_core::PgTable;

// A union is not a table.
#[derive(PgTable)]
pub union Bits {
    pub int: u32,
    pub float: f32,
}

fn main() {}
