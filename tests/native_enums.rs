//! Native enum types (`#[derive(PgEnum)]` with `#[pg(native)]`): the DDL creates each type
//! once, before the tables, and types the columns with it; the catalog reads back as declared;
//! rows carry the variants both ways through tokio-postgres and sqlx; plans create, extend,
//! rename, shrink and drop the types.

mod common;

use common::{block_on, TestDb};
use schema_core::pg::evolve::{drift, Shadow};
use schema_core::pg::Db;
use schema_core::{PgEnum, PgTable, Schema, SchemaError};

/// Where a ticket stands: the native type `ticket_status`.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native = "ticket_status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    Open,
    Closed,
}

/// How urgent a ticket is: the native type named after the enum, `priority`.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native)]
pub enum Priority {
    Low,
    High,
}

/// A ticket.
#[derive(PgTable)]
#[pg(table = "tickets")]
pub struct Ticket {
    #[pg(primary_key)]
    pub ticket_id: i64,
    pub status: TicketStatus,
    pub priority: Option<Priority>,
}

/// A change of a ticket's status: the same type in a second table.
#[derive(PgTable)]
#[pg(table = "ticket_events")]
pub struct TicketEvent {
    #[pg(primary_key)]
    pub event_id: i64,
    pub status: TicketStatus,
}

fn schema() -> Schema {
    Schema::new().table::<Ticket>().table::<TicketEvent>()
}

#[test]
fn each_type_is_created_once_before_the_tables_and_types_its_columns() {
    assert_eq!(TicketStatus::NATIVE_TYPE, Some("ticket_status"));
    assert_eq!(Priority::NATIVE_TYPE, Some("priority"));
    let ddl = schema().to_ddl().unwrap();
    assert_eq!(
        ddl,
        "CREATE TYPE \"ticket_status\" AS ENUM ('OPEN', 'CLOSED');\n\
         CREATE TYPE \"priority\" AS ENUM ('Low', 'High');\n\
         \n\
         CREATE TABLE \"tickets\" (\n    \
         \"ticket_id\" bigint NOT NULL,\n    \
         \"status\" \"ticket_status\" NOT NULL,\n    \
         \"priority\" \"priority\",\n    \
         CONSTRAINT \"tickets_pkey\" PRIMARY KEY (\"ticket_id\")\n\
         );\n\
         \n\
         COMMENT ON TABLE \"tickets\" IS 'A ticket.';\n\
         \n\
         CREATE TABLE \"ticket_events\" (\n    \
         \"event_id\" bigint NOT NULL,\n    \
         \"status\" \"ticket_status\" NOT NULL,\n    \
         CONSTRAINT \"ticket_events_pkey\" PRIMARY KEY (\"event_id\")\n\
         );\n\
         \n\
         COMMENT ON TABLE \"ticket_events\" IS 'A change of a ticket''s status: the same type in a second table.';\n"
    );
}

mod other {
    use schema_core::{PgEnum, PgTable};

    /// Another enum claiming the name `ticket_status`, with other values.
    #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
    #[pg(native = "ticket_status")]
    pub enum Stage {
        New,
        Done,
    }

    /// A table using it.
    #[derive(PgTable)]
    #[pg(table = "stages")]
    #[allow(dead_code)]
    pub struct Staged {
        #[pg(primary_key)]
        pub id: i64,
        pub stage: Stage,
    }

    /// A native enum no table uses.
    #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
    #[pg(native = "audit_kind")]
    pub enum AuditKind {
        Read,
        Write,
    }
}

#[test]
fn two_enums_claiming_one_type_name_are_refused_and_a_declared_type_is_created() {
    let error = schema().table::<other::Staged>().to_ddl().unwrap_err();
    assert_eq!(
        error,
        SchemaError::EnumConflict {
            name: "ticket_status".into()
        }
    );
    let ddl = Schema::new()
        .enum_type::<other::AuditKind>()
        .to_ddl()
        .unwrap();
    assert_eq!(
        ddl,
        "CREATE TYPE \"audit_kind\" AS ENUM ('Read', 'Write');\n"
    );
    // A text enum has no type to declare.
    #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
    pub enum Plain {
        A,
    }
    assert!(matches!(
        Schema::new().enum_type::<Plain>().to_ddl(),
        Err(SchemaError::InvalidEnum { .. })
    ));
}

#[test]
fn rows_carry_native_values_and_the_catalog_reads_back_as_declared() {
    let mut test_db = TestDb::new();
    test_db
        .client()
        .batch_execute(&schema().to_ddl().unwrap())
        .unwrap();
    block_on(async {
        let db = Db::connect(test_db.url()).await.unwrap();
        let row = InsertTicket {
            priority: Some(Priority::High),
            ..InsertTicket::new(1, TicketStatus::Closed)
        };
        let stored = db.insert(&row).await.unwrap();
        assert_eq!(
            (stored.status, stored.priority),
            (TicketStatus::Closed, Some(Priority::High))
        );
        let read = db.get::<Ticket>(&1).await.unwrap().unwrap();
        assert_eq!(read.status, TicketStatus::Closed);
    });
    let label: String = test_db
        .client()
        .query_one("SELECT status::text FROM tickets", &[])
        .unwrap()
        .get(0);
    assert_eq!(label, "CLOSED");
    let lines = block_on(drift(test_db.url(), &schema(), Shadow::Transaction)).unwrap();
    assert_eq!(lines, Vec::<String>::new());
    // A type whose labels differ from the code's is drift.
    test_db
        .client()
        .batch_execute("ALTER TYPE ticket_status ADD VALUE 'PENDING'")
        .unwrap();
    let lines = block_on(drift(test_db.url(), &schema(), Shadow::SameServer)).unwrap();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("ticket_status"), "{lines:#?}");
}

#[test]
fn sqlx_binds_and_reads_the_native_type_by_name() {
    let mut test_db = TestDb::new();
    test_db
        .client()
        .batch_execute(&schema().to_ddl().unwrap())
        .unwrap();
    let url = test_db.url().to_string();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .unwrap();
            sqlx::query("INSERT INTO tickets (ticket_id, status, priority) VALUES (1, $1, $2)")
                .bind(TicketStatus::Open)
                .bind(Priority::Low)
                .execute(&pool)
                .await
                .unwrap();
            let (status, priority): (TicketStatus, Option<Priority>) =
                sqlx::query_as("SELECT status, priority FROM tickets")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(
                (status, priority),
                (TicketStatus::Open, Some(Priority::Low))
            );
            let inserted =
                schema_core::sqlx::insert(&pool, &InsertTicket::new(2, TicketStatus::Closed))
                    .await
                    .unwrap();
            assert_eq!(inserted.status, TicketStatus::Closed);
        });
}
