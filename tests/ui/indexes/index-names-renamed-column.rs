use schema_core::PgTable;

// An index lists fields, not column names: `category_code` is the column of the field
// `category`. (The expected output records a known defect: the suggestion offers the column
// name `category_code`, which is the very name rejected, instead of the field `category`.)
#[derive(PgTable)]
#[pg(index(category_code))]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    #[pg(rename = "category_code")]
    pub category: String,
}

fn main() {}
