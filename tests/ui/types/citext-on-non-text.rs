use schema_core::PgTable;

// `citext` is text: on an integer field it does not compile, at `citext`.
#[derive(PgTable)]
pub struct Login {
    #[pg(primary_key)]
    pub login_id: i64,
    #[pg(citext)]
    pub attempts: i32,
}

// And it sets the column's type, as `varchar` does: one of them.
#[derive(PgTable)]
pub struct Account {
    #[pg(primary_key)]
    pub account_id: i64,
    #[pg(citext, varchar = 100)]
    pub email: String,
}

fn main() {}
