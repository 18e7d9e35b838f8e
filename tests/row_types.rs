//! The row types generated for `support_tickets`: what an insert requires, what a read holds,
//! and how both travel as JSON.

use chrono::{TimeZone, Utc};
use schema_core::{PgEnum, Table};
use serde_json::json;
use shared::schemas::{
    InsertSupportTicket, SelectSupportTicket, SupportTicket, TicketCategory, TicketPriority,
    TicketStatus,
};
use uuid::Uuid;

#[test]
fn an_insert_requires_provider_subject_and_description_only() {
    let provider = Uuid::from_u128(7);
    let ticket = InsertSupportTicket::new(provider, "Claim rejected".into(), "Code CO-16".into());
    // Written out field by field: a field added, removed or retyped fails to compile here.
    let expected = InsertSupportTicket {
        ticket_id: None,
        provider_id: provider,
        subject: "Claim rejected".into(),
        description: "Code CO-16".into(),
        context_url: None,
        context_metadata: None,
        category: None,
        priority: None,
        status: None,
        assigned_to: None,
        resolution_notes: None,
        resolved_at: None,
        satisfaction_rating: None,
        satisfaction_comment: None,
        screenshot_path: None,
        created_at: None,
        updated_at: None,
    };
    assert_eq!(ticket, expected);
}

fn sample_row() -> SelectSupportTicket {
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap();
    SelectSupportTicket {
        ticket_id: Uuid::from_u128(1),
        provider_id: Uuid::from_u128(2),
        subject: "Batch stuck".into(),
        description: "Batch 42 has not moved since Monday".into(),
        context_url: Some("https://app.example/batches/42".into()),
        context_metadata: Some(json!({"batch_id": 42, "errors": ["E17"]})),
        category: Some(TicketCategory::FeatureRequest),
        priority: TicketPriority::Urgent,
        status: TicketStatus::WaitingOnCustomer,
        assigned_to: None,
        resolution_notes: None,
        resolved_at: None,
        satisfaction_rating: Some(4),
        satisfaction_comment: None,
        screenshot_path: None,
        created_at: at,
        updated_at: at,
    }
}

#[test]
fn a_read_row_serializes_its_enums_as_the_stored_text() {
    let value = serde_json::to_value(sample_row()).unwrap();
    assert_eq!(value["category"], "FEATURE_REQUEST");
    assert_eq!(value["priority"], "URGENT");
    assert_eq!(value["status"], "WAITING_ON_CUSTOMER");
    assert_eq!(value["context_metadata"]["batch_id"], 42);
    let back: SelectSupportTicket = serde_json::from_value(value).unwrap();
    assert_eq!(back, sample_row());
}

#[test]
fn json_with_an_unknown_enum_text_is_refused_with_the_allowed_values() {
    let mut value = serde_json::to_value(sample_row()).unwrap();
    value["priority"] = json!("SOMETIMES");
    let error = serde_json::from_value::<SelectSupportTicket>(value)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "unknown variant `SOMETIMES`, expected one of `LOW`, `MEDIUM`, `HIGH`, `URGENT`"
    );
}

#[test]
fn json_input_may_leave_out_every_column_the_database_fills() {
    let ticket: InsertSupportTicket = serde_json::from_value(json!({
        "provider_id": Uuid::from_u128(9),
        "subject": "Help",
        "description": "Where is the export?",
        "priority": "LOW",
    }))
    .unwrap();
    assert_eq!(ticket.priority, Some(TicketPriority::Low));
    assert_eq!(ticket.status, None);
    assert_eq!(ticket.ticket_id, None);
}

#[test]
fn the_enums_hold_exactly_the_seeds_values() {
    assert_eq!(
        TicketCategory::VALUES,
        ["BILLING", "TECHNICAL", "ACCOUNT", "FEATURE_REQUEST"]
    );
    assert_eq!(TicketPriority::VALUES, ["LOW", "MEDIUM", "HIGH", "URGENT"]);
    assert_eq!(
        TicketStatus::VALUES,
        [
            "OPEN",
            "IN_PROGRESS",
            "WAITING_ON_CUSTOMER",
            "RESOLVED",
            "CLOSED"
        ]
    );
}

#[test]
fn the_table_names_its_row_types_and_columns() {
    fn row_types<T: Table<Insert = InsertSupportTicket, Select = SelectSupportTicket>>() -> usize {
        T::TABLE.columns.len()
    }
    assert_eq!(row_types::<SupportTicket>(), 17);
    let table = SupportTicket::TABLE;
    assert_eq!(table.name, "support_tickets");
    assert_eq!(table.primary_key, ["ticket_id"]);
    assert_eq!(
        (
            SupportTicket::provider_id.table,
            SupportTicket::provider_id.column
        ),
        ("support_tickets", "provider_id")
    );
}

#[test]
fn debug_output_redacts_the_sensitive_columns() {
    let mut row = sample_row();
    row.description = "Patient Jane Roe, DOB 1970-01-02, denied claim".into();
    row.context_metadata = Some(json!({"claim_id": "CLM-99817"}));
    let printed = format!(
        "{row:?} {:?}",
        InsertSupportTicket::new(
            row.provider_id,
            row.subject.clone(),
            row.description.clone(),
        )
    );
    assert!(!printed.contains("Jane Roe"), "{printed}");
    assert!(!printed.contains("CLM-99817"), "{printed}");
    assert!(printed.contains("description: <redacted>"), "{printed}");
    assert!(printed.contains("subject: \"Batch stuck\""), "{printed}");
    let patch = shared::schemas::UpdateSupportTicket {
        description: Some("Patient Jane Roe again".into()),
        ..Default::default()
    };
    assert!(!format!("{patch:?}").contains("Jane Roe"));
}

#[test]
fn the_metadata_names_the_sensitive_and_internal_columns() {
    let table = SupportTicket::TABLE;
    let sensitive: Vec<&str> = table.sensitive_columns().map(|c| c.name).collect();
    assert_eq!(sensitive, ["description", "context_metadata"]);
    let internal: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| c.internal)
        .map(|c| c.name)
        .collect();
    assert_eq!(internal, ["screenshot_path"]);
}

#[test]
fn the_screenshot_path_never_reaches_json_and_is_never_read_from_it() {
    let mut row = sample_row();
    row.screenshot_path = Some("s3://phi-screenshots/7f3a.png".into());
    let json = serde_json::to_string(&row).unwrap();
    assert!(!json.contains("screenshot_path"), "{json}");
    assert!(!json.contains("phi-screenshots"), "{json}");

    // Input that carries one is read as if it did not: the field stays unset.
    let mut value = serde_json::to_value(sample_row()).unwrap();
    value["screenshot_path"] = json!("../../etc/passwd");
    let read: SelectSupportTicket = serde_json::from_value(value).unwrap();
    assert_eq!(read.screenshot_path, None);
    let insert: InsertSupportTicket = serde_json::from_value(json!({
        "provider_id": Uuid::from_u128(9),
        "subject": "Help",
        "description": "d",
        "screenshot_path": "../../etc/passwd",
    }))
    .unwrap();
    assert_eq!(insert.screenshot_path, None);
}

#[test]
fn a_patch_tells_leave_from_set_null_in_json() {
    use shared::schemas::UpdateSupportTicket;
    let patch: UpdateSupportTicket =
        serde_json::from_value(json!({"assigned_to": null, "priority": "HIGH"})).unwrap();
    assert_eq!(patch.assigned_to, Some(None));
    assert_eq!(patch.priority, Some(TicketPriority::High));
    assert_eq!(patch.resolution_notes, None);
    assert_eq!(
        serde_json::to_value(&patch).unwrap(),
        json!({"assigned_to": null, "priority": "HIGH"})
    );
}
