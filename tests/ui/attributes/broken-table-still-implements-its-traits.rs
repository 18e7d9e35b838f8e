use schema_core::pg::Db;
use schema_core::{PgTable, Schema, Table, Validate};
use uuid::Uuid;

// One mistake in `ClaimLine`, and code that names the traits its derive implements: the
// schema builder, the metadata, validation, and the reads and writes of the `postgres` and
// `sqlx` features.
// Only the mistake is reported.
#[derive(PgTable)]
pub struct ClaimLine {
    #[pg(primary_key)]
    pub claim_line_id: Uuid,
    #[pg(varchar = 12, colour = "red")]
    pub code: String,
}

async fn store(db: &Db, line: &InsertClaimLine) -> Result<(), schema_core::pg::PgError> {
    let stored: SelectClaimLine = db.insert(line).await?;
    let _again: Option<SelectClaimLine> = db.get::<ClaimLine>(&stored.claim_line_id).await?;
    let _all: Vec<SelectClaimLine> = db.select_all::<ClaimLine>().await?;
    Ok(())
}

async fn store_with_sqlx(
    pool: &sqlx::PgPool,
    line: &InsertClaimLine,
) -> Result<SelectClaimLine, schema_core::sqlx::SqlxError> {
    schema_core::sqlx::insert(pool, line).await
}

fn main() {
    let schema = Schema::new().table::<ClaimLine>();
    let _ = schema.to_ddl();
    let _ = ClaimLine::TABLE.name;
    let line = InsertClaimLine::new(Uuid::nil(), "99213".to_string());
    let _ = line.validate();
    let _ = store;
    let _ = store_with_sqlx;
}
