use schema_core::PgTable;

// An index lists fields, not column names: `category_code` is the column of the field
// `category`, and the error says so.
#[derive(PgTable)]
#[pg(index(category_code))]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(rename = "category_code")]
    pub category: String,
}

fn main() {}
