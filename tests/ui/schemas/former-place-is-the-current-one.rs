use schema_core::PgTable;

// A table moved from another schema names that schema; its own place is refused.
#[derive(PgTable)]
#[pg(schema = "billing", table = "invoices", renamed_from = "billing.invoices")]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
}

fn main() {}
