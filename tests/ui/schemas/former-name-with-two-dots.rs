use schema_core::PgTable;

// A former name is `name` or `schema.name`: a second dot is refused at the string.
#[derive(PgTable)]
#[pg(schema = "billing", table = "invoices", renamed_from = "public.old.invoices")]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
}

fn main() {}
