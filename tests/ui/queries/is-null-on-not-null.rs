use schema_core::query::Select;
use schema_core::PgTable;

#[derive(PgTable)]
pub struct Task {
    #[pg(primary_key)]
    pub task_id: i64,
    pub title: String,
}

// A NOT NULL column is never NULL.
fn main() {
    let _ = Select::<Task>::new().filter(Task::title.is_null());
}
