use schema_core::query::Select;
use schema_core::PgTable;

#[derive(PgTable)]
pub struct Task {
    #[pg(primary_key)]
    pub task_id: i64,
    pub title: String,
}

#[derive(PgTable)]
pub struct Note {
    #[pg(primary_key)]
    pub note_id: i64,
    pub body: String,
}

// A query of tasks cannot filter on a column of notes.
fn main() {
    let _ = Select::<Task>::new().filter(Note::body.eq("x"));
}
