use schema_core::query::Select;
use schema_core::{PgEnum, PgTable};

#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
pub enum State {
    Open,
    Done,
}

#[derive(PgTable)]
pub struct Task {
    #[pg(primary_key)]
    pub task_id: i64,
    pub state: State,
}

// An enum column takes the enum, not its text.
fn main() {
    let _ = Select::<Task>::new().filter(Task::state.eq("Open"));
}
