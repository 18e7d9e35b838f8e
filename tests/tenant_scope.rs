//! A physician's tenant transaction, opened with the provider's id typed as the tenant root's
//! key (a `Uuid`, never a string): inside it every typed query of a tenant table carries
//! `"provider_id" = $n` itself, first, on tokio-postgres and on sqlx; keyed reads and writes of
//! another provider's ticket find nothing.

mod common;

use common::{block_on, TestDb};
use schema_core::pg::Db;
use schema_core::query::{Delete, Select, Update};
use schema_core::Target;
use shared::schemas::db::{physician_scope, provider_transaction, schema, Provider};
use shared::schemas::{
    SupportTicket, TicketStatus, UpdateSupportTicket, PHYSICIAN_ROLE, SUPPORT_TEAM_ROLE,
};
use uuid::Uuid;

#[test]
fn typed_queries_in_a_tenant_carry_the_tenant_first() {
    let scope = schema().tenant_scope::<Provider>(PHYSICIAN_ROLE).unwrap();
    let pin = scope.pin(Uuid::nil());
    let page = Select::<SupportTicket>::new()
        .filter(SupportTicket::status.eq(TicketStatus::Open))
        .order_by(SupportTicket::created_at.desc())
        .limit(20)
        .in_tenant(&pin);
    let sql = page.to_sql().unwrap();
    assert!(
        sql.sql.ends_with(
            r#" FROM "support_tickets" WHERE "provider_id" = $1 AND "status" = $2 ORDER BY "created_at" DESC, "ticket_id" DESC LIMIT $3"#
        ),
        "{}",
        sql.sql
    );
    let everything = Select::<SupportTicket>::new().in_tenant(&pin);
    assert!(everything
        .count_sql()
        .unwrap()
        .sql
        .ends_with(r#"WHERE "provider_id" = $1"#));
    // The root itself is pinned by its key; a delete without a filter stays refused.
    let providers = Select::<Provider>::new().in_tenant(&pin);
    assert!(providers
        .to_sql()
        .unwrap()
        .sql
        .ends_with(r#"FROM "providers" WHERE "provider_id" = $1"#));
    assert!(Delete::<SupportTicket>::new()
        .in_tenant(&pin)
        .to_sql()
        .is_err());
    let patch = UpdateSupportTicket {
        subject: Some("s".into()),
        ..Default::default()
    };
    let update = Update::new(&patch).all_rows().in_tenant(&pin);
    assert!(update
        .to_sql()
        .unwrap()
        .sql
        .contains(r#"WHERE "provider_id" = $2 RETURNING"#));
    assert!(
        format!("{pin:?}").contains("<value>"),
        "the key stays out of Debug"
    );
}

#[test]
fn a_tenant_scope_is_only_for_a_declared_tenant_role() {
    let error = schema()
        .tenant_scope::<Provider>(SUPPORT_TEAM_ROLE)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`support_team` is not a tenant role of the schema"),
        "{error}"
    );
}

#[test]
fn a_physicians_tenant_transaction_reads_and_writes_only_their_own_tickets() {
    let mut db = TestDb::with_schema();
    let (providers, tickets) = db.add_providers_with_tickets(2, 2);
    let (a, b) = (providers[0], providers[1]);
    let theirs = tickets.iter().find(|(p, _)| *p == b).unwrap().1;
    let mine = tickets.iter().find(|(p, _)| *p == a).unwrap().1;
    let (physician_url, _) = db.application_logins();
    let names = db.names().clone();
    block_on(async {
        let mut conn = Db::connect(&physician_url).await.unwrap();
        let tx = provider_transaction(&mut conn, &names, a).await.unwrap();
        let all = tx.fetch_all(&Select::<SupportTicket>::new()).await.unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|t| t.provider_id == a));
        assert_eq!(tx.count(&Select::<SupportTicket>::new()).await.unwrap(), 2);
        assert!(tx.get::<SupportTicket>(&mine).await.unwrap().is_some());
        assert_eq!(tx.get::<SupportTicket>(&theirs).await.unwrap(), None);
        let patch = UpdateSupportTicket {
            subject: Some("edited".into()),
            ..Default::default()
        };
        assert_eq!(tx.update(&theirs, &patch).await.unwrap(), None);
        let edited = tx.update(&mine, &patch).await.unwrap().unwrap();
        assert_eq!(edited.subject, "edited");
        assert!(!tx.delete::<SupportTicket>(&theirs).await.unwrap());
        tx.commit().await.unwrap();
    });
}

#[test]
fn the_sqlx_tenant_transaction_pins_its_typed_queries_too() {
    let mut db = TestDb::with_schema();
    let (providers, _) = db.add_providers_with_tickets(2, 3);
    let (physician_url, _) = db.application_logins();
    let names = db.names().clone();
    block_on(async {
        let pool = sqlx::PgPool::connect(&physician_url).await.unwrap();
        let scope = physician_scope(&names);
        assert_eq!(scope.target(), Target::Plain);
        let mut tx = schema_core::sqlx::tenant_transaction(&pool, &scope, providers[1])
            .await
            .unwrap();
        let rows = tx.fetch_all(&Select::<SupportTicket>::new()).await.unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|t| t.provider_id == providers[1]));
        assert_eq!(tx.count(&Select::<SupportTicket>::new()).await.unwrap(), 3);
        tx.rollback().await.unwrap();
        pool.close().await;
    });
}
