use schema_core::PgTable;

#[derive(PgTable)]
pub struct Grid {
    #[pg(primary_key)]
    pub grid_id: i64,
    pub cells: Vec<Vec<i32>>,
}

fn main() {}
