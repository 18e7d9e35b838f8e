use schema_core::PgTable;

// A conversion's `{field}` names a field of the struct.
#[derive(PgTable)]
#[pg(table = "patients")]
pub struct Patient {
    #[pg(primary_key)]
    pub patient_id: i64,
    #[pg(using = "{agee}::integer")]
    pub age: i32,
}

fn main() {}
