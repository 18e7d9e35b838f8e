use schema_core::PgTable;

// A former name is in the table's own schema: a dot in it is refused at the string.
#[derive(PgTable)]
#[pg(schema = "billing", table = "invoices", renamed_from = "public.invoices")]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
}

fn main() {}
