//! The row types as JSON (schema-core's `serde` feature): which keys are written and read, what
//! is refused and with which message, and how a patch tells "leave as is" from "set NULL".
//!
//! The impls are written by `#[derive(PgTable)]` with schema-core's helpers rather than by
//! serde's derive, and must behave as serde's derive would with the attributes the row types
//! stand for. `the_row_types_read_and_write_json_as_serde_derive_does` holds them against
//! structs that do derive serde, over inputs that exercise every path; the other tests state
//! the rules one by one.

use schema_core::{PgEnum, PgTable};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::schemas::{InsertSupportTicket, SelectSupportTicket, UpdateSupportTicket};
use uuid::Uuid;

/// How light a gadget is.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[pg(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Shade {
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// A table of this test's own: a field named by a Rust keyword and stored under another
/// column name, a default, a nullable, a sensitive and an internal column, and a column no
/// patch may change.
#[derive(PgTable)]
#[pg(table = "gadgets")]
pub struct Gadget {
    #[pg(primary_key)]
    pub gadget_id: i64,
    #[pg(rename = "kind", varchar = 20)]
    pub r#type: String,
    #[pg(varchar = 5, default = Shade::Light)]
    pub shade: Shade,
    pub note: Option<String>,
    #[pg(sensitive)]
    pub secret: String,
    #[pg(internal)]
    pub storage_key: Option<String>,
    #[pg(immutable)]
    pub serial: i32,
}

fn gadget() -> SelectGadget {
    SelectGadget {
        gadget_id: 1,
        r#type: "lamp".into(),
        shade: Shade::Dark,
        note: None,
        secret: "s3cret".into(),
        storage_key: Some("vault/17".into()),
        serial: 9,
    }
}

#[test]
fn a_row_is_written_with_its_field_names_in_declaration_order_without_internal_columns() {
    assert_eq!(
        serde_json::to_string(&gadget()).unwrap(),
        r#"{"gadget_id":1,"type":"lamp","shade":"DARK","note":null,"secret":"s3cret","serial":9}"#
    );
    let insert = InsertGadget {
        storage_key: Some("vault/17".into()),
        ..InsertGadget::new(2, "desk".into(), "x".into(), 3)
    };
    assert_eq!(
        serde_json::to_string(&insert).unwrap(),
        r#"{"gadget_id":2,"type":"desk","shade":null,"note":null,"secret":"x","serial":3}"#
    );
}

#[test]
fn a_row_reads_back_what_it_wrote_except_internal_columns() {
    let json = serde_json::to_string(&gadget()).unwrap();
    let back: SelectGadget = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back,
        SelectGadget {
            storage_key: None,
            ..gadget()
        }
    );
}

#[test]
fn internal_columns_are_neither_written_nor_read_by_any_row_type() {
    let patch = UpdateGadget {
        storage_key: Some(Some("vault/18".into())),
        note: Some(None),
        ..Default::default()
    };
    assert_eq!(serde_json::to_string(&patch).unwrap(), r#"{"note":null}"#);

    let input = r#"{"gadget_id":1,"type":"lamp","shade":"DARK","secret":"s","serial":9,
        "storage_key":"../x"}"#;
    let select: SelectGadget = serde_json::from_str(input).unwrap();
    let insert: InsertGadget = serde_json::from_str(input).unwrap();
    let update: UpdateGadget = serde_json::from_str(input).unwrap();
    assert_eq!(select.storage_key, None);
    assert_eq!(insert.storage_key, None);
    assert_eq!(update.storage_key, None);
    assert_eq!(update.r#type.as_deref(), Some("lamp"));
}

#[test]
fn the_json_key_is_the_rust_field_name_not_the_column_name() {
    let error = serde_json::from_str::<SelectGadget>(
        r#"{"gadget_id":1,"kind":"lamp","shade":"DARK","secret":"s","serial":9}"#,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("missing field `type` at line 1"),
        "{error}"
    );
}

#[test]
fn unknown_keys_are_ignored_whatever_their_value() {
    let read: SelectGadget = serde_json::from_str(
        r#"{"colour":{"deep":[1,2,{"x":null}]},"gadget_id":1,"type":"lamp","shade":"DARK",
            "note":null,"secret":"s3cret","serial":9,"gadget_id ":"not this one"}"#,
    )
    .unwrap();
    assert_eq!(
        read,
        SelectGadget {
            storage_key: None,
            ..gadget()
        }
    );
}

#[test]
fn a_repeated_key_is_refused_and_named() {
    let error = serde_json::from_str::<InsertSupportTicket>(
        r#"{"provider_id":"00000000-0000-0000-0000-000000000009","subject":"a","subject":"b",
            "description":"d"}"#,
    )
    .unwrap_err();
    assert!(
        error.to_string().starts_with("duplicate field `subject`"),
        "{error}"
    );
    let error =
        serde_json::from_str::<UpdateSupportTicket>(r#"{"assigned_to":null,"assigned_to":null}"#)
            .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("duplicate field `assigned_to`"),
        "{error}"
    );
}

#[test]
fn a_missing_required_field_is_named_and_a_missing_nullable_one_is_none() {
    let error = serde_json::from_value::<InsertSupportTicket>(json!({
        "provider_id": Uuid::from_u128(9),
        "description": "d",
    }))
    .unwrap_err();
    assert_eq!(error.to_string(), "missing field `subject`");

    // A read row without its nullable columns: each is None, as with serde's derive.
    let mut value = serde_json::to_value(select_ticket()).unwrap();
    let object = value.as_object_mut().unwrap();
    for nullable in ["assigned_to", "resolved_at", "context_metadata", "category"] {
        object.remove(nullable);
    }
    let read: SelectSupportTicket = serde_json::from_value(value.clone()).unwrap();
    assert_eq!((read.assigned_to, read.resolved_at), (None, None));
    assert_eq!((read.context_metadata, read.category), (None, None));

    value.as_object_mut().unwrap().remove("created_at");
    let error = serde_json::from_value::<SelectSupportTicket>(value).unwrap_err();
    assert_eq!(error.to_string(), "missing field `created_at`");
}

#[test]
fn a_patch_tells_absent_from_null_from_a_value_both_ways() {
    let patch: UpdateGadget =
        serde_json::from_str(r#"{"note":null,"shade":"DARK","secret":null}"#).unwrap();
    // `note` is nullable: null sets NULL. `secret` is NOT NULL: null leaves it, as absent does.
    assert_eq!(patch.note, Some(None));
    assert_eq!(patch.shade, Some(Shade::Dark));
    assert_eq!((patch.secret, patch.r#type), (None, None));

    let patch: UpdateGadget = serde_json::from_str(r#"{"note":"fragile"}"#).unwrap();
    assert_eq!(patch.note, Some(Some("fragile".into())));
    let patch: UpdateGadget = serde_json::from_str("{}").unwrap();
    assert_eq!(patch, UpdateGadget::default());

    let written = |patch: UpdateGadget| serde_json::to_string(&patch).unwrap();
    assert_eq!(written(UpdateGadget::default()), "{}");
    assert_eq!(
        written(UpdateGadget {
            note: Some(None),
            ..Default::default()
        }),
        r#"{"note":null}"#
    );
    assert_eq!(
        written(UpdateGadget {
            r#type: Some("desk".into()),
            note: Some(Some("fragile".into())),
            ..Default::default()
        }),
        r#"{"type":"desk","note":"fragile"}"#
    );
}

#[test]
fn a_patch_has_no_key_for_the_primary_key_nor_an_immutable_column() {
    let patch: UpdateGadget = serde_json::from_str(r#"{"gadget_id":5,"serial":6}"#).unwrap();
    assert_eq!(patch, UpdateGadget::default());
}

#[test]
fn sensitive_columns_travel_in_json_and_are_only_redacted_in_debug() {
    let json = serde_json::to_string(&gadget()).unwrap();
    assert!(json.contains(r#""secret":"s3cret""#), "{json}");
    assert!(!format!("{:?}", gadget()).contains("s3cret"));
}

#[test]
fn a_row_is_also_read_from_an_array_in_declaration_order() {
    let read: SelectGadget = serde_json::from_str(r#"[1,"lamp","DARK",null,"s3cret",9]"#).unwrap();
    assert_eq!(
        read,
        SelectGadget {
            storage_key: None,
            ..gadget()
        }
    );
    let error = serde_json::from_str::<SelectGadget>(r#"[1,"lamp"]"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid length 2, expected struct SelectGadget with 6 elements at line 1 column 10"
    );
    // A patch's values may stop anywhere: the rest are left as they are.
    let patch: UpdateGadget = serde_json::from_str(r#"["desk"]"#).unwrap();
    assert_eq!(
        patch,
        UpdateGadget {
            r#type: Some("desk".into()),
            ..Default::default()
        }
    );
}

#[test]
fn input_of_the_wrong_shape_names_the_row_type() {
    let error = serde_json::from_str::<InsertGadget>("5").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid type: integer `5`, expected struct InsertGadget at line 1 column 1"
    );
}

fn select_ticket() -> SelectSupportTicket {
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    SelectSupportTicket {
        ticket_id: Uuid::from_u128(1),
        provider_id: Uuid::from_u128(2),
        subject: "Batch stuck".into(),
        description: "Batch 42".into(),
        context_url: None,
        context_metadata: Some(json!({"batch_id": 42})),
        category: None,
        priority: shared::schemas::TicketPriority::Low,
        status: shared::schemas::TicketStatus::Open,
        assigned_to: Some("agent-7".into()),
        resolution_notes: None,
        resolved_at: Some(at),
        satisfaction_rating: None,
        satisfaction_comment: None,
        screenshot_path: None,
        created_at: at,
        updated_at: at,
    }
}

// ------------------------------------------------------------------------------------------
// The same rows written with serde's derive and the attributes the row types stand for.
// ------------------------------------------------------------------------------------------

/// The row types of `Gadget` as serde's derive writes them, with the attributes they stand
/// for: `skip` on internal columns, and on patch fields `default` and `skip_serializing_if`,
/// with `double_option` for nullable columns.
mod derived {
    use super::Shade;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub struct InsertGadget {
        gadget_id: i64,
        r#type: String,
        shade: Option<Shade>,
        note: Option<String>,
        secret: String,
        #[serde(skip)]
        #[allow(dead_code)]
        storage_key: Option<String>,
        serial: i32,
    }

    #[derive(Serialize, Deserialize)]
    pub struct SelectGadget {
        gadget_id: i64,
        r#type: String,
        shade: Shade,
        note: Option<String>,
        secret: String,
        #[serde(skip)]
        #[allow(dead_code)]
        storage_key: Option<String>,
        serial: i32,
    }

    #[derive(Serialize, Deserialize)]
    pub struct UpdateGadget {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        r#type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shade: Option<Shade>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "double_option"
        )]
        note: Option<Option<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
        #[serde(skip)]
        #[allow(dead_code)]
        storage_key: Option<Option<String>>,
    }

    /// A missing field is `None`, `null` is `Some(None)`, a value is `Some(Some(v))`.
    mod double_option {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub fn serialize<T: Serialize, S: Serializer>(
            value: &Option<Option<T>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(inner) => inner.serialize(serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Option<T>>, D::Error> {
            Option::<T>::deserialize(deserializer).map(Some)
        }
    }
}

/// What reading `input` as `T` gives: the row written back as JSON, or the error's message.
fn outcome<T: Serialize + for<'de> Deserialize<'de>>(input: &str) -> Result<String, String> {
    serde_json::from_str::<T>(input)
        .map(|row| serde_json::to_string(&row).unwrap())
        .map_err(|e| e.to_string())
}

#[test]
fn the_row_types_read_and_write_json_as_serde_derive_does() {
    let inputs = [
        r#"{"gadget_id":1,"type":"lamp","shade":"DARK","note":"n","secret":"s","serial":9}"#,
        r#"{"serial":9,"secret":"s","note":null,"shade":"LIGHT","type":"lamp","gadget_id":1}"#,
        r#"{"gadget_id":1,"type":"lamp","secret":"s","serial":9}"#,
        r#"{"gadget_id":1,"type":"lamp","shade":"DARK","secret":"s"}"#,
        r#"{"type":"lamp","shade":"DARK","note":"n","secret":"s","serial":9}"#,
        r#"{"gadget_id":1,"kind":"lamp","secret":"s","serial":9}"#,
        r#"{"gadget_id":1,"type":"lamp","secret":"s","serial":9,"storage_key":"k"}"#,
        r#"{"gadget_id":1,"type":"lamp","secret":"s","serial":9,"extra":[1,{"a":null}]}"#,
        r#"{"gadget_id":1,"type":"lamp","type":"desk","secret":"s","serial":9}"#,
        r#"{"gadget_id":1,"type":"lamp","secret":"s","serial":9,"storage_key":1,"storage_key":2}"#,
        r#"{"gadget_id":null,"type":"lamp","secret":"s","serial":9}"#,
        r#"{"gadget_id":1,"type":"lamp","shade":"GREY","secret":"s","serial":9}"#,
        r#"{"gadget_id":1,"type":"lamp","shade":null,"secret":"s","serial":9}"#,
        r#"{"gadget_id":"1","type":"lamp","secret":"s","serial":9}"#,
        r#"{"note":null}"#,
        r#"{"note":"n","secret":null,"shade":null}"#,
        r#"{"note":null,"note":"n"}"#,
        r#"{}"#,
        r#"[1,"lamp","DARK",null,"s",9]"#,
        r#"[1,"lamp","DARK","n","s",9,10]"#,
        r#"[1,"lamp","DARK"]"#,
        r#"["lamp",null,null]"#,
        r#"[]"#,
        r#"5"#,
        r#""gadget""#,
        r#"null"#,
        r#"{"gadget_id":1,"type":"lamp","secret":"s","serial":9"#,
    ];
    for input in inputs {
        assert_eq!(
            outcome::<InsertGadget>(input),
            outcome::<derived::InsertGadget>(input),
            "InsertGadget from {input}"
        );
        assert_eq!(
            outcome::<SelectGadget>(input),
            outcome::<derived::SelectGadget>(input),
            "SelectGadget from {input}"
        );
        assert_eq!(
            outcome::<UpdateGadget>(input),
            outcome::<derived::UpdateGadget>(input),
            "UpdateGadget from {input}"
        );
    }
}

#[test]
fn a_tree_with_schema_core_and_serde_derive_compiles_one_syn() {
    // serde's derive is in the application's tree with the `serde` feature; the derives of
    // schema-core must use the same major version of syn, or every clean build compiles two.
    let output = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--locked", "-e", "normal,build"])
        .args(["--prefix", "none", "--format", "{p}", "--package", "shared"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    let mut syns: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.strip_prefix("syn v"))
        .map(|version| version.split(' ').next().unwrap_or(version))
        .collect();
    syns.sort_unstable();
    syns.dedup();
    assert!(tree.contains("serde_derive v"), "{tree}");
    assert_eq!(syns.len(), 1, "syn versions in the tree: {syns:?}");
}
