use schema_core::query::Select;
use schema_core::PgTable;

#[derive(PgTable)]
pub struct Task {
    #[pg(primary_key)]
    pub task_id: i64,
    pub title: String,
}

// `like` applies to text columns only.
fn main() {
    let _ = Select::<Task>::new().filter(Task::task_id.like("1%"));
}
