use schema_core::PgTable;

// Everything the row types need, except `PgType`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Money {
    pub cents: i64,
}

// A field type with no `PgType` (nor ToSql / FromSql, nor sqlx's): every missing trait is named, at the field.
#[derive(PgTable)]
pub struct Invoice {
    #[pg(primary_key)]
    pub invoice_id: i64,
    pub total: Money,
}

fn main() {}
