use schema_core::PgTable;

// `sql_type` names a type the field's values cannot be stored as.
#[derive(PgTable)]
pub struct Reading {
    #[pg(primary_key)]
    pub reading_id: i64,
    #[pg(sql_type = "integer")]
    pub label: String,
}

fn main() {}
