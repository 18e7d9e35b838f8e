mod common;

use schema_core::pg::Db;
use shared::schemas::*;

#[test]
fn smoke() {
    let mut test_db = common::TestDb::new();
    test_db.apply_schema();
    let url = test_db.url().to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(run(&url));
    drop(test_db);
}

async fn run(url: &str) {
    let mut db = Db::connect(url).await.unwrap();
    db.client()
        .execute(
            "INSERT INTO providers (npi, first_name, last_name, email) VALUES ('1234567890', 'A', 'B', 'a@b.c')",
            &[],
        )
        .await
        .unwrap();
    let row = db
        .client()
        .query_one("SELECT provider_id FROM providers", &[])
        .await
        .unwrap();
    let provider: uuid::Uuid = row.get(0);
    let t = db
        .insert(&InsertSupportTicket::new(provider, "s".into(), "d".into()))
        .await
        .unwrap();
    println!("{t:?}");
    let many: Vec<_> = (0..2500)
        .map(|i| InsertSupportTicket::new(provider, format!("s{i}"), "d".into()))
        .collect();
    assert_eq!(db.insert_many(&many).await.unwrap(), 2500);
    assert_eq!(db.copy_in(&many).await.unwrap(), 2500);
    let all = db.select_all::<SupportTicket>().await.unwrap();
    assert_eq!(all.len(), 5001);
    let got = db.get::<SupportTicket>(&t.ticket_id).await.unwrap();
    assert_eq!(got, Some(t.clone()));
    let patched = db
        .update(
            &t.ticket_id,
            &UpdateSupportTicket {
                status: Some(TicketStatus::Resolved),
                assigned_to: Some(Some("x".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(patched.status, TicketStatus::Resolved);
    assert!(patched.updated_at > t.updated_at);
    assert!(db.delete::<SupportTicket>(&t.ticket_id).await.unwrap());
    let bad = InsertSupportTicket {
        satisfaction_rating: Some(9),
        subject: "x".repeat(201),
        ..InsertSupportTicket::new(provider, "s".into(), "d\0".into())
    };
    let err = db.insert(&bad).await.unwrap_err();
    println!("{err}");
}
