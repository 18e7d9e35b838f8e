use schema_core::PgTable;

// A dot in the table's name would read as a schema: the error says how to write one.
#[derive(PgTable)]
#[pg(table = "billing.invoices")]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
}

fn main() {}
