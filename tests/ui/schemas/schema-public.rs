use schema_core::PgTable;

// A table without `schema` is in `public` already: naming it is refused at the string.
#[derive(PgTable)]
#[pg(schema = "public")]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
}

// PostgreSQL keeps `pg_...` schemas for itself.
#[derive(PgTable)]
#[pg(schema = "pg_billing")]
pub struct Payment {
    #[pg(primary_key)]
    pub payment_id: i64,
}

fn main() {}
