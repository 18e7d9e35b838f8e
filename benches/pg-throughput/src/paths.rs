//! The measured paths: schema-core (over tokio-postgres and over sqlx), hand-written
//! tokio-postgres, and sqlx. Each load path takes
//! the same `InsertSupportTicket` values and writes the same 14 columns (every column but
//! `ticket_id`, `created_at` and `updated_at`, which take their defaults); each read path reads
//! all 17 columns of every row with the same `SELECT`.

use chrono::{DateTime, Utc};
use futures_util::pin_mut;
use schema_core::pg::Db;
use schema_core::PgEnum;
use shared::schemas::db::{
    InsertSupportTicket, SelectSupportTicket, SupportTicket, TicketCategory, TicketPriority,
    TicketStatus,
};
use sqlx::{Connection, PgConnection, Postgres, QueryBuilder};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, Statement};
use uuid::Uuid;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Rows per multi-row `INSERT`, for every path that batches: schema-core's
/// `MAX_ROWS_PER_INSERT`, and well under PostgreSQL's 65,535 parameters (14 × 1,000).
pub const BATCH: usize = 1_000;

/// The columns every load path writes, quoted and ordered as schema-core names them.
pub const INSERT_COLUMNS: &str = r#""provider_id", "subject", "description", "context_url", "context_metadata", "category", "priority", "status", "assigned_to", "resolution_notes", "resolved_at", "satisfaction_rating", "satisfaction_comment", "screenshot_path""#;

/// Their types, as the hand-written binary COPY declares them.
const INSERT_TYPES: [Type; 14] = [
    Type::UUID,
    Type::VARCHAR,
    Type::TEXT,
    Type::VARCHAR,
    Type::JSONB,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::VARCHAR,
    Type::TEXT,
    Type::TIMESTAMPTZ,
    Type::INT4,
    Type::TEXT,
    Type::VARCHAR,
];

/// The read every path runs: schema-core's `select_all` statement, word for word.
pub const SELECT_ALL: &str = r#"SELECT "ticket_id", "provider_id", "subject", "description", "context_url", "context_metadata", "category", "priority", "status", "assigned_to", "resolution_notes", "resolved_at", "satisfaction_rating", "satisfaction_comment", "screenshot_path", "created_at", "updated_at" FROM "support_tickets""#;

/// `INSERT INTO support_tickets (14 columns) VALUES ($1, ..., $14), ...` for `rows` rows: the
/// text schema-core's `insert_many` sends.
pub fn insert_sql(rows: usize) -> String {
    let mut sql = format!(r#"INSERT INTO "support_tickets" ({INSERT_COLUMNS}) VALUES "#);
    let mut n = 0;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..14 {
            if col > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}

pub fn copy_sql() -> String {
    format!(r#"COPY "support_tickets" ({INSERT_COLUMNS}) FROM STDIN (FORMAT binary)"#)
}

// ---------------------------------------------------------------------------------------------
// schema-core

pub async fn crate_insert_many(db: &mut Db, rows: &[InsertSupportTicket]) -> Result<u64, Error> {
    Ok(db.insert_many(rows).await?)
}

pub async fn crate_copy_in(db: &mut Db, rows: &[InsertSupportTicket]) -> Result<u64, Error> {
    Ok(db.copy_in(rows).await?)
}

pub async fn crate_select_all(db: &Db) -> Result<Vec<SelectSupportTicket>, Error> {
    Ok(db.select_all::<SupportTicket>().await?)
}

// ---------------------------------------------------------------------------------------------
// schema-core over sqlx (feature `sqlx`)

/// `schema_core::sqlx::insert_many` on a sqlx connection: validated rows, 1,000-row `INSERT`s
/// built from the table's metadata, in one transaction.
pub async fn crate_sqlx_insert_many(
    conn: &mut PgConnection,
    rows: &[InsertSupportTicket],
) -> Result<u64, Error> {
    Ok(schema_core::sqlx::insert_many(conn, rows).await?)
}

/// `query_as` into the generated `SelectSupportTicket` (its `sqlx::FromRow`), `fetch_all`.
pub async fn crate_sqlx_select(conn: &mut PgConnection) -> Result<Vec<SelectSupportTicket>, Error> {
    Ok(sqlx::query_as::<_, SelectSupportTicket>(SELECT_ALL)
        .fetch_all(conn)
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Hand-written tokio-postgres

/// The statements the hand-written paths prepare once per connection, as schema-core's cache
/// does.
pub struct HandStatements {
    single: Statement,
    multi: Statement,
    select: Statement,
}

impl HandStatements {
    pub async fn prepare(client: &Client) -> Result<Self, Error> {
        Ok(HandStatements {
            single: client.prepare(&insert_sql(1)).await?,
            multi: client.prepare(&insert_sql(BATCH)).await?,
            select: client.prepare(SELECT_ALL).await?,
        })
    }
}

/// The 14 values of a row, bound straight from its fields (the enums through their `ToSql`,
/// which writes their text).
fn bind<'a>(row: &'a InsertSupportTicket, out: &mut Vec<&'a (dyn ToSql + Sync)>) {
    out.push(&row.provider_id);
    out.push(&row.subject);
    out.push(&row.description);
    out.push(&row.context_url);
    out.push(&row.context_metadata);
    out.push(&row.category);
    out.push(&row.priority);
    out.push(&row.status);
    out.push(&row.assigned_to);
    out.push(&row.resolution_notes);
    out.push(&row.resolved_at);
    out.push(&row.satisfaction_rating);
    out.push(&row.satisfaction_comment);
    out.push(&row.screenshot_path);
}

/// One prepared single-row `INSERT` per row, in one transaction.
pub async fn hand_single(
    client: &mut Client,
    statements: &HandStatements,
    rows: &[InsertSupportTicket],
) -> Result<u64, Error> {
    let transaction = client.transaction().await?;
    let mut params = Vec::with_capacity(14);
    let mut inserted = 0;
    for row in rows {
        params.clear();
        bind(row, &mut params);
        inserted += transaction.execute(&statements.single, &params).await?;
    }
    transaction.commit().await?;
    Ok(inserted)
}

/// Prepared 1,000-row `INSERT`s (a shorter tail prepared on the spot), in one transaction.
pub async fn hand_multi(
    client: &mut Client,
    statements: &HandStatements,
    rows: &[InsertSupportTicket],
) -> Result<u64, Error> {
    let transaction = client.transaction().await?;
    let mut params = Vec::with_capacity(14 * BATCH);
    let mut inserted = 0;
    for chunk in rows.chunks(BATCH) {
        params.clear();
        for row in chunk {
            bind(row, &mut params);
        }
        inserted += if chunk.len() == BATCH {
            transaction.execute(&statements.multi, &params).await?
        } else {
            let tail = transaction.prepare(&insert_sql(chunk.len())).await?;
            transaction.execute(&tail, &params).await?
        };
    }
    transaction.commit().await?;
    Ok(inserted)
}

/// `BinaryCopyInWriter` with the column types written out, in one transaction.
pub async fn hand_copy(client: &mut Client, rows: &[InsertSupportTicket]) -> Result<u64, Error> {
    let transaction = client.transaction().await?;
    let sink = transaction.copy_in(&copy_sql()).await?;
    let writer = BinaryCopyInWriter::new(sink, &INSERT_TYPES);
    pin_mut!(writer);
    let mut params = Vec::with_capacity(14);
    for row in rows {
        params.clear();
        bind(row, &mut params);
        writer.as_mut().write(&params).await?;
    }
    let loaded = writer.finish().await?;
    transaction.commit().await?;
    Ok(loaded)
}

fn category(text: &str) -> TicketCategory {
    match text {
        "BILLING" => TicketCategory::Billing,
        "TECHNICAL" => TicketCategory::Technical,
        "ACCOUNT" => TicketCategory::Account,
        "FEATURE_REQUEST" => TicketCategory::FeatureRequest,
        other => panic!("unknown category {other:?}"),
    }
}

fn priority(text: &str) -> TicketPriority {
    match text {
        "LOW" => TicketPriority::Low,
        "MEDIUM" => TicketPriority::Medium,
        "HIGH" => TicketPriority::High,
        "URGENT" => TicketPriority::Urgent,
        other => panic!("unknown priority {other:?}"),
    }
}

fn status(text: &str) -> TicketStatus {
    match text {
        "OPEN" => TicketStatus::Open,
        "IN_PROGRESS" => TicketStatus::InProgress,
        "WAITING_ON_CUSTOMER" => TicketStatus::WaitingOnCustomer,
        "RESOLVED" => TicketStatus::Resolved,
        "CLOSED" => TicketStatus::Closed,
        other => panic!("unknown status {other:?}"),
    }
}

/// One hand-written row: `Row::get` by position, enums matched from their text.
pub fn hand_row(row: &Row) -> SelectSupportTicket {
    SelectSupportTicket {
        ticket_id: row.get(0),
        provider_id: row.get(1),
        subject: row.get(2),
        description: row.get(3),
        context_url: row.get(4),
        context_metadata: row.get(5),
        category: row.get::<_, Option<&str>>(6).map(category),
        priority: priority(row.get(7)),
        status: status(row.get(8)),
        assigned_to: row.get(9),
        resolution_notes: row.get(10),
        resolved_at: row.get(11),
        satisfaction_rating: row.get(12),
        satisfaction_comment: row.get(13),
        screenshot_path: row.get(14),
        created_at: row.get(15),
        updated_at: row.get(16),
    }
}

/// The prepared `SELECT`, all rows received (`Client::query`, as schema-core does), then each
/// decoded by hand.
pub async fn hand_select(
    client: &Client,
    statements: &HandStatements,
) -> Result<Vec<SelectSupportTicket>, Error> {
    let rows = client.query(&statements.select, &[]).await?;
    Ok(rows.iter().map(hand_row).collect())
}

// ---------------------------------------------------------------------------------------------
// sqlx

/// `QueryBuilder::push_values`, 1,000 rows a statement, in one transaction; the enums bound as
/// their text (`&'static str`), optional text as `Option<&str>`.
pub async fn sqlx_push_values(
    conn: &mut PgConnection,
    rows: &[InsertSupportTicket],
) -> Result<u64, Error> {
    let mut transaction = conn.begin().await?;
    let mut inserted = 0;
    for chunk in rows.chunks(BATCH) {
        let mut builder: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            r#"INSERT INTO "support_tickets" ({INSERT_COLUMNS}) "#
        ));
        builder.push_values(chunk, |mut b, row| {
            b.push_bind(row.provider_id)
                .push_bind(row.subject.as_str())
                .push_bind(row.description.as_str())
                .push_bind(row.context_url.as_deref())
                .push_bind(row.context_metadata.as_ref())
                .push_bind(row.category.map(|c| c.as_str()))
                .push_bind(row.priority.unwrap_or(TicketPriority::Medium).as_str())
                .push_bind(row.status.unwrap_or(TicketStatus::Open).as_str())
                .push_bind(row.assigned_to.as_deref())
                .push_bind(row.resolution_notes.as_deref())
                .push_bind(row.resolved_at)
                .push_bind(row.satisfaction_rating)
                .push_bind(row.satisfaction_comment.as_deref())
                .push_bind(row.screenshot_path.as_deref());
        });
        inserted += builder
            .build()
            .execute(&mut *transaction)
            .await?
            .rows_affected();
    }
    transaction.commit().await?;
    Ok(inserted)
}

/// The text enums, read through `#[derive(sqlx::Type)]` from the varchar columns (no
/// allocation, as schema-core's enums).
#[derive(sqlx::Type, Clone, Copy, Debug, PartialEq)]
#[sqlx(type_name = "varchar", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SqlxCategory {
    Billing,
    Technical,
    Account,
    FeatureRequest,
}

#[derive(sqlx::Type, Clone, Copy, Debug, PartialEq)]
#[sqlx(type_name = "varchar", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SqlxPriority {
    Low,
    Medium,
    High,
    Urgent,
}

#[derive(sqlx::Type, Clone, Copy, Debug, PartialEq)]
#[sqlx(type_name = "varchar", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SqlxStatus {
    Open,
    InProgress,
    WaitingOnCustomer,
    Resolved,
    Closed,
}

/// sqlx's own mirror of the row.
#[derive(sqlx::FromRow, Debug)]
pub struct SqlxTicket {
    pub ticket_id: Uuid,
    pub provider_id: Uuid,
    pub subject: String,
    pub description: String,
    pub context_url: Option<String>,
    pub context_metadata: Option<serde_json::Value>,
    pub category: Option<SqlxCategory>,
    pub priority: SqlxPriority,
    pub status: SqlxStatus,
    pub assigned_to: Option<String>,
    pub resolution_notes: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub satisfaction_rating: Option<i32>,
    pub satisfaction_comment: Option<String>,
    pub screenshot_path: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `query_as` with `#[derive(sqlx::FromRow)]`, `fetch_all`.
pub async fn sqlx_select(conn: &mut PgConnection) -> Result<Vec<SqlxTicket>, Error> {
    Ok(sqlx::query_as::<_, SqlxTicket>(SELECT_ALL)
        .fetch_all(conn)
        .await?)
}

/// The sqlx row as schema-core's, to check that every path read the same thing.
pub fn sqlx_to_select(t: SqlxTicket) -> SelectSupportTicket {
    SelectSupportTicket {
        ticket_id: t.ticket_id,
        provider_id: t.provider_id,
        subject: t.subject,
        description: t.description,
        context_url: t.context_url,
        context_metadata: t.context_metadata,
        category: t.category.map(|c| match c {
            SqlxCategory::Billing => TicketCategory::Billing,
            SqlxCategory::Technical => TicketCategory::Technical,
            SqlxCategory::Account => TicketCategory::Account,
            SqlxCategory::FeatureRequest => TicketCategory::FeatureRequest,
        }),
        priority: TicketPriority::from_text(match t.priority {
            SqlxPriority::Low => "LOW",
            SqlxPriority::Medium => "MEDIUM",
            SqlxPriority::High => "HIGH",
            SqlxPriority::Urgent => "URGENT",
        })
        .unwrap(),
        status: TicketStatus::from_text(match t.status {
            SqlxStatus::Open => "OPEN",
            SqlxStatus::InProgress => "IN_PROGRESS",
            SqlxStatus::WaitingOnCustomer => "WAITING_ON_CUSTOMER",
            SqlxStatus::Resolved => "RESOLVED",
            SqlxStatus::Closed => "CLOSED",
        })
        .unwrap(),
        assigned_to: t.assigned_to,
        resolution_notes: t.resolution_notes,
        resolved_at: t.resolved_at,
        satisfaction_rating: t.satisfaction_rating,
        satisfaction_comment: t.satisfaction_comment,
        screenshot_path: t.screenshot_path,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}
