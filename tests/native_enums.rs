//! Native enum types (`#[derive(PgEnum)]` with `#[pg(native)]`): the DDL creates each type
//! once, before the tables, and types the columns with it; the catalog reads back as declared;
//! rows carry the variants both ways through tokio-postgres and sqlx; plans create, extend,
//! rename, shrink and drop the types.

mod common;

use common::{apply_without_drift, block_on, plan_holding, TestDb};
use schema_core::pg::evolve::{apply, drift, plan_for, Shadow};
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
    let ddl = common::statements(schema().to_ddl().unwrap());
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
    let ddl = common::statements(
        Schema::new()
            .enum_type::<other::AuditKind>()
            .to_ddl()
            .unwrap(),
    );
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
    let mut test_db = TestDb::with(&schema());
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
    let test_db = TestDb::with(&schema());
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

/// Versions of one table whose column's type is swapped: a native type with a default, the
/// type with a label removed (replaced under the column), the text form, and back.
mod swap {
    pub mod v1 {
        use schema_core::{PgEnum, PgTable};

        /// How bad an alert is.
        #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
        #[pg(native = "severity")]
        pub enum Severity {
            Low,
            Medium,
            High,
        }

        #[allow(dead_code)]
        #[derive(PgTable)]
        #[pg(table = "alerts")]
        pub struct Alert {
            #[pg(primary_key)]
            pub alert_id: i64,
            #[pg(default = Severity::Medium)]
            pub severity: Severity,
            #[pg(default = vec![Severity::Low])]
            pub history: Vec<Severity>,
        }
    }

    pub mod v2 {
        use schema_core::{PgEnum, PgTable};

        /// `High` is gone, and the default is `Low`.
        #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
        #[pg(native = "severity")]
        pub enum Severity {
            Low,
            Medium,
        }

        #[allow(dead_code)]
        #[derive(PgTable)]
        #[pg(table = "alerts")]
        pub struct Alert {
            #[pg(primary_key)]
            pub alert_id: i64,
            #[pg(default = Severity::Low)]
            pub severity: Severity,
            #[pg(default = vec![Severity::Low])]
            pub history: Vec<Severity>,
        }
    }

    pub mod v3 {
        use schema_core::{PgEnum, PgTable};

        /// The same values as text.
        #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
        pub enum Severity {
            Low,
            Medium,
        }

        #[allow(dead_code)]
        #[derive(PgTable)]
        #[pg(table = "alerts")]
        pub struct Alert {
            #[pg(primary_key)]
            pub alert_id: i64,
            #[pg(default = Severity::Low)]
            pub severity: Severity,
            #[pg(default = vec![Severity::Low])]
            pub history: Vec<Severity>,
        }
    }
}

/// The rows of `alerts` as text, in key order.
async fn alerts(client: &schema_core::pg::tokio_postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT concat_ws(' ', alert_id, severity::text, history::text) FROM alerts \
             ORDER BY alert_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn a_type_swap_sets_the_default_aside_and_back_and_columns_switch_to_text_and_back() {
    let mut test_db = TestDb::new();
    let (a, b, c) = (
        Schema::new().table::<swap::v1::Alert>(),
        Schema::new().table::<swap::v2::Alert>(),
        Schema::new().table::<swap::v3::Alert>(),
    );
    test_db
        .client()
        .batch_execute(&a.to_ddl().unwrap())
        .unwrap();
    test_db
        .client()
        .batch_execute(
            "INSERT INTO alerts VALUES (1, 'Low', '{Low,Medium}'); \
             INSERT INTO alerts (alert_id) VALUES (2)",
        )
        .unwrap();
    let url = test_db.url().to_string();
    block_on(async {
        let (mut client, _connection) = schema_core::pg::connect(&url).await.unwrap();

        // A → B: `High` is removed, so the type is replaced; each column's default (which
        // names the old type) is dropped for the conversion and put back on the new type.
        let plan = plan_for(&url, &b, Shadow::SameServer).await.unwrap();
        let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
        let position = |wanted: &str| {
            sql.iter()
                .position(|s| *s == wanted)
                .unwrap_or_else(|| panic!("{wanted} in {sql:#?}"))
        };
        let steps = [
            r#"ALTER TYPE "severity" RENAME TO "severity_replaced""#,
            r#"CREATE TYPE "severity" AS ENUM ('Low', 'Medium')"#,
            r#"ALTER TABLE "alerts" ALTER COLUMN "severity" DROP DEFAULT"#,
            r#"ALTER TABLE "alerts" ALTER COLUMN "severity" TYPE "severity" USING "severity"::text::"severity""#,
            r#"ALTER TABLE "alerts" ALTER COLUMN "severity" SET DEFAULT 'Low'"#,
            r#"ALTER TABLE "alerts" ALTER COLUMN "history" DROP DEFAULT"#,
            r#"ALTER TABLE "alerts" ALTER COLUMN "history" TYPE "severity"[] USING "history"::text[]::"severity"[]"#,
            r#"ALTER TABLE "alerts" ALTER COLUMN "history" SET DEFAULT '{"Low"}'"#,
            r#"DROP TYPE "severity_replaced""#,
        ];
        let positions: Vec<usize> = steps.iter().map(|s| position(s)).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{sql:#?}");
        apply_without_drift(
            &mut client,
            &url,
            &plan,
            &b,
            &["alerts.severity", "alerts.history"],
        )
        .await;
        client
            .batch_execute("INSERT INTO alerts (alert_id) VALUES (3)")
            .await
            .unwrap();
        assert_eq!(
            alerts(&client).await,
            ["1 Low {Low,Medium}", "2 Medium {Low}", "3 Low {Low}"]
        );

        // B → C: the columns become text (with the checks of a text enum), their defaults
        // set aside meanwhile; the type no column uses is dropped.
        let plan = plan_holding(
            &url,
            &c,
            &[
            r#"ALTER TABLE "alerts" ALTER COLUMN "severity" TYPE text USING "severity"::text"#,
            r#"ALTER TABLE "alerts" ALTER COLUMN "history" TYPE text[] USING "history"::text[]"#,
            r#"DROP TYPE "severity""#,
            ],
        )
        .await;
        apply_without_drift(&mut client, &url, &plan, &c, &[]).await;
        client
            .batch_execute("INSERT INTO alerts (alert_id) VALUES (4)")
            .await
            .unwrap();
        let refused = client
            .batch_execute("INSERT INTO alerts VALUES (5, 'High', '{}')")
            .await
            .unwrap_err();
        assert_eq!(
            refused.as_db_error().unwrap().constraint(),
            Some("alerts_severity_check")
        );

        // C → B: back to the native type, created first; the checks go.
        let plan = plan_for(&url, &b, Shadow::SameServer).await.unwrap();
        apply_without_drift(&mut client, &url, &plan, &b, &[]).await;
        client
            .batch_execute("INSERT INTO alerts (alert_id) VALUES (6)")
            .await
            .unwrap();
        assert_eq!(
            alerts(&client).await,
            [
                "1 Low {Low,Medium}",
                "2 Medium {Low}",
                "3 Low {Low}",
                "4 Low {Low}",
                "6 Low {Low}"
            ]
        );
    });
}

/// A label removed in the same change that removes a column's default: the default (which
/// names the old type) goes before the conversion, and does not come back.
#[test]
fn a_type_swap_that_also_removes_a_default_converts_the_column() {
    let mut db = TestDb::new();
    let a = Schema::new().table::<swap::v1::Alert>().model().unwrap();
    let mut b = Schema::new().table::<swap::v2::Alert>().model().unwrap();
    b.tables[0].columns[1].default = None;
    db.client()
        .batch_execute(&Schema::new().table::<swap::v1::Alert>().to_ddl().unwrap())
        .unwrap();
    db.client()
        .batch_execute("INSERT INTO alerts (alert_id) VALUES (1)")
        .unwrap();
    let plan = schema_core::plan::plan(&a, &b);
    let url = db.url().to_string();
    block_on(async {
        let (mut client, _connection) = schema_core::pg::connect(&url).await.unwrap();
        apply(&mut client, &plan, &["alerts.severity", "alerts.history"])
            .await
            .unwrap();
    });
    let row = db
        .client()
        .query_one(
            "SELECT severity::text, (SELECT column_default FROM information_schema.columns \
             WHERE table_name = 'alerts' AND column_name = 'severity') FROM alerts",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Medium");
    assert_eq!(row.get::<_, Option<String>>(1), None);
}
