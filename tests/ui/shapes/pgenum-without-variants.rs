use schema_core::PgEnum;

// An enum without variants: a column of it could hold no value.
#[derive(PgEnum)]
pub enum Nothing {}

fn main() {}
