//! The billing domain (`billing.invoices`, `billing.invoice_lines`) against the real database:
//! its DDL as declared, the values the database computes (line numbers, totals), the keys that
//! keep a line with its invoice's provider, and a physician's scope: their own invoices and
//! lines, never another physician's, and no writes.

mod common;

use common::TestDb;
use schema_core::pg::evolve::{drift, Shadow};
use schema_core::pg::{ConstraintKind, Db};
use schema_core::rust_decimal::Decimal;
use shared::schemas::db::{
    provider_transaction, InsertInvoice, InsertInvoiceLine, Invoice, InvoiceLine, InvoiceStatus,
    UpdateInvoice, BILLING_TEAM_ROLE, PHYSICIAN_ROLE,
};
use uuid::Uuid;

fn run<F: std::future::Future<Output = ()>>(future: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future);
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[test]
fn the_billing_tables_are_in_their_schema_as_declared() {
    let ddl = shared::schemas::db::schema().to_ddl().unwrap();
    let start = ddl.find("CREATE SCHEMA").unwrap();
    let end = ddl.find(r#"CREATE TABLE "providers""#).unwrap();
    assert_eq!(
        &ddl[start..end],
        r#"CREATE SCHEMA IF NOT EXISTS "billing";
GRANT USAGE ON SCHEMA "billing" TO "billing_team";
GRANT USAGE ON SCHEMA "billing" TO "physician";

CREATE TYPE "invoice_status" AS ENUM ('DRAFT', 'ISSUED', 'PAID', 'VOID');

"#
    );
    let end = ddl.find(r#"CREATE TABLE "billing"."invoices""#).unwrap();
    let invoices = &ddl[end..ddl
        .find("COMMENT ON TABLE \"billing\".\"invoices\"")
        .unwrap()];
    assert_eq!(
        invoices,
        r#"CREATE TABLE "billing"."invoices" (
    "invoice_id" uuid NOT NULL DEFAULT gen_random_uuid(),
    "provider_id" uuid NOT NULL,
    "invoice_number" varchar(30) NOT NULL,
    "status" "invoice_status" NOT NULL DEFAULT 'DRAFT',
    "patient_account" varchar(50) NOT NULL,
    "issued_on" date,
    "due_on" date,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "invoices_pkey" PRIMARY KEY ("invoice_id"),
    CONSTRAINT "invoices_provider_id_invoice_number_key" UNIQUE ("provider_id", "invoice_number"),
    CONSTRAINT "invoices_invoice_id_provider_id_key" UNIQUE ("invoice_id", "provider_id"),
    CONSTRAINT "invoices_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers" ("provider_id") ON DELETE RESTRICT
);

CREATE INDEX "invoices_unpaid_idx" ON "billing"."invoices" ("provider_id", "due_on") WHERE "status" = 'ISSUED';

"#
    );
    let lines_at = ddl
        .find(r#"CREATE TABLE "billing"."invoice_lines""#)
        .unwrap();
    let lines = &ddl[lines_at
        ..ddl
            .find(r#"COMMENT ON TABLE "billing"."invoice_lines""#)
            .unwrap()];
    assert_eq!(
        lines,
        r#"CREATE TABLE "billing"."invoice_lines" (
    "invoice_id" uuid NOT NULL,
    "provider_id" uuid NOT NULL,
    "line_number" bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    "description" varchar(200) NOT NULL,
    "service_codes" varchar(5)[] NOT NULL,
    "quantity" numeric(10,2) NOT NULL,
    "unit_price" numeric(12,2) NOT NULL,
    "line_total" numeric(14,2) NOT NULL GENERATED ALWAYS AS ("quantity" * "unit_price") STORED,
    CONSTRAINT "invoice_lines_pkey" PRIMARY KEY ("invoice_id", "line_number"),
    CONSTRAINT "invoice_lines_invoice_id_provider_id_fkey" FOREIGN KEY ("invoice_id", "provider_id") REFERENCES "billing"."invoices" ("invoice_id", "provider_id") ON DELETE CASCADE
);

CREATE INDEX "invoice_lines_service_codes_idx" ON "billing"."invoice_lines" USING gin ("service_codes");

"#
    );
}

/// A database with the application's schema, two providers, and an invoice of each with two
/// lines, written by a billing team member's login; returns the providers, their invoices
/// and a physician's login URL.
fn billed() -> (TestDb, [Uuid; 2], [Uuid; 2], String) {
    let mut db = TestDb::with_schema();
    let (providers, _) = db.add_providers_with_tickets(2, 0);
    let billing_role = db.names().role_name(BILLING_TEAM_ROLE).to_string();
    let physician_role = db.names().role_name(PHYSICIAN_ROLE).to_string();
    let billing_url = db.login_role("biller", &billing_role);
    let physician_url = db.login_role("doctor", &physician_role);
    let mut invoices = [Uuid::nil(); 2];
    run(async {
        let billing = Db::connect(&billing_url).await.unwrap();
        for (n, provider) in providers.iter().enumerate() {
            let invoice = billing
                .insert(&InsertInvoice {
                    status: Some(InvoiceStatus::Issued),
                    ..InsertInvoice::new(*provider, format!("INV-{n}"), format!("ACCT-{n}"))
                })
                .await
                .unwrap();
            assert_eq!(invoice.status, InvoiceStatus::Issued);
            invoices[n] = invoice.invoice_id;
            for (codes, quantity, price) in [
                (vec!["99213"], "1", "125.50"),
                (vec!["36415", "85025"], "2.5", "10.10"),
            ] {
                billing
                    .insert(&InsertInvoiceLine::new(
                        invoice.invoice_id,
                        *provider,
                        "visit".into(),
                        codes.into_iter().map(String::from).collect(),
                        decimal(quantity),
                        decimal(price),
                    ))
                    .await
                    .unwrap();
            }
        }
    });
    (db, [providers[0], providers[1]], invoices, physician_url)
}

#[test]
fn the_database_numbers_lines_and_computes_their_totals() {
    let (db, providers, invoices, _) = billed();
    run(async {
        let owner = Db::connect(db.url()).await.unwrap();
        let mut lines = owner.select_all::<InvoiceLine>().await.unwrap();
        lines.sort_by_key(|l| l.line_number);
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines.iter().map(|l| l.line_number).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(lines[0].line_total, decimal("125.50"));
        // 2.5 × 10.10 = 25.25, kept to the cent.
        assert_eq!(lines[1].line_total, decimal("25.25"));
        assert_eq!(lines[1].service_codes, ["36415", "85025"]);
        // A line cannot claim another provider than its invoice's.
        let error = owner
            .insert(&InsertInvoiceLine::new(
                invoices[0],
                providers[1],
                "misfiled".into(),
                vec!["99213".into()],
                decimal("1"),
                decimal("1"),
            ))
            .await
            .unwrap_err();
        let violation = error.constraint().unwrap();
        assert_eq!(violation.kind, ConstraintKind::ForeignKey);
        assert_eq!(
            violation.constraint.as_deref(),
            Some("invoice_lines_invoice_id_provider_id_fkey")
        );
        // Two invoices of one provider cannot share a number.
        let error = owner
            .insert(&InsertInvoice::new(
                providers[0],
                "INV-0".into(),
                "ACCT-9".into(),
            ))
            .await
            .unwrap_err();
        assert_eq!(
            error.constraint().unwrap().constraint.as_deref(),
            Some("invoices_provider_id_invoice_number_key")
        );
        // An invoice's lines go with it.
        assert!(owner.delete::<Invoice>(&invoices[0]).await.unwrap());
        assert_eq!(owner.select_all::<InvoiceLine>().await.unwrap().len(), 2);
    });
}

#[test]
fn a_physician_reads_only_their_own_invoices_and_lines_and_writes_none() {
    let (db, providers, invoices, physician_url) = billed();
    let names = db.names().clone();
    run(async {
        let mut physician = Db::connect(&physician_url).await.unwrap();
        let tx = provider_transaction(&mut physician, &names, providers[0])
            .await
            .unwrap();
        let seen = tx.select_all::<Invoice>().await.unwrap();
        assert_eq!(
            seen.iter().map(|i| i.invoice_id).collect::<Vec<_>>(),
            [invoices[0]]
        );
        assert_eq!(tx.get::<Invoice>(&invoices[1]).await.unwrap(), None);
        let lines = tx.select_all::<InvoiceLine>().await.unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.provider_id == providers[0]));
        let error = tx
            .insert(&InsertInvoice::new(
                providers[0],
                "INV-X".into(),
                "ACCT-X".into(),
            ))
            .await
            .unwrap_err();
        assert_eq!(error.constraint().unwrap().kind, ConstraintKind::Denied);
        tx.rollback().await.unwrap();
        // Outside a provider's scope, nothing at all.
        let tx = physician.transaction().await.unwrap();
        assert!(tx.select_all::<Invoice>().await.unwrap().is_empty());
        assert!(tx.select_all::<InvoiceLine>().await.unwrap().is_empty());
    });
}

#[test]
fn the_application_schema_with_billing_shows_no_drift() {
    let db = TestDb::with_schema();
    let schema = shared::schemas::db::schema().with_names(db.names().clone());
    for shadow in [Shadow::Transaction, Shadow::SameServer] {
        let lines = common::block_on(drift(db.url(), &schema, shadow)).unwrap();
        assert_eq!(lines, Vec::<String>::new(), "{shadow:?}");
    }
}

#[test]
fn a_login_in_physician_and_billing_team_is_scoped_to_its_provider_alone() {
    let (mut db, providers, invoices, _) = billed();
    let names = db.names().clone();
    let physician = names.role_name(PHYSICIAN_ROLE).to_string();
    let billing = names.role_name(BILLING_TEAM_ROLE).to_string();
    let both = db.login_role_with("both", &format!("IN ROLE \"{physician}\", \"{billing}\""));
    let status = |db: &mut TestDb| -> String {
        db.client()
            .query_one(
                "SELECT status::text FROM billing.invoices WHERE invoice_id = $1",
                &[&invoices[1]],
            )
            .unwrap()
            .get(0)
    };
    let before = status(&mut db);
    run(async {
        let mut login = Db::connect(&both).await.unwrap();
        let tx = provider_transaction(&mut login, &names, providers[0])
            .await
            .unwrap();
        let seen = tx.select_all::<Invoice>().await.unwrap();
        assert_eq!(
            seen.iter().map(|i| i.invoice_id).collect::<Vec<_>>(),
            [invoices[0]]
        );
        let lines = tx.select_all::<InvoiceLine>().await.unwrap();
        assert!(lines.iter().all(|l| l.provider_id == providers[0]));
        // As the physician alone: no write, though the login is in the billing team too.
        let paid = UpdateInvoice {
            status: Some(InvoiceStatus::Paid),
            ..Default::default()
        };
        let error = tx.update(&invoices[1], &paid).await.unwrap_err();
        assert_eq!(error.constraint().unwrap().kind, ConstraintKind::Denied);
        drop(tx);
        // Unscoped, the login works as the billing team: both invoices.
        assert_eq!(login.select_all::<Invoice>().await.unwrap().len(), 2);
    });
    assert_eq!(status(&mut db), before);
}
