//! The DDL each declaration renders, as exact strings: one test per feature of the derive.

#![allow(clippy::duplicated_attributes)] // `index(a, b), index(a, c)` is not a repeated attribute.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use schema_core::{
    ColumnDef, ColumnDefault, ForeignKeyDef, PgEnum, PgTable, ReferentialAction, Schema,
    SchemaError, SqlType, Table, TableDef,
};
use uuid::Uuid;

fn ddl<T: Table>() -> String {
    statements(Schema::new().table::<T>().to_ddl().unwrap())
}

/// A DDL script's statements: the script without the encoding line it opens with, which is
/// checked to be there.
fn statements(script: String) -> String {
    let header = format!("{}\n", schema_core::render::ENCODING_HEADER);
    match script.strip_prefix(&header) {
        Some(statements) => statements.to_string(),
        None => panic!("the script does not open with its encoding:\n{script}"),
    }
}

#[test]
fn rust_types_choose_sql_types_and_option_makes_columns_nullable() {
    #[derive(PgTable)]
    #[pg(table = "every_type")]
    #[allow(dead_code)]
    struct EveryType {
        id: Uuid,
        text: String,
        small: i16,
        int: i32,
        big: i64,
        flag: bool,
        single: f32,
        double: f64,
        doc: serde_json::Value,
        at: DateTime<Utc>,
        local: NaiveDateTime,
        day: NaiveDate,
        bytes: Vec<u8>,
        maybe: Option<i32>,
        #[pg(varchar = 20)]
        short: Option<String>,
        #[pg(sql_type = "numeric(10, 2)")]
        amount: String,
    }
    assert_eq!(
        ddl::<EveryType>(),
        r#"CREATE TABLE "every_type" (
    "id" uuid NOT NULL,
    "text" text NOT NULL,
    "small" smallint NOT NULL,
    "int" integer NOT NULL,
    "big" bigint NOT NULL,
    "flag" boolean NOT NULL,
    "single" real NOT NULL,
    "double" double precision NOT NULL,
    "doc" jsonb NOT NULL,
    "at" timestamptz NOT NULL,
    "local" timestamp NOT NULL,
    "day" date NOT NULL,
    "bytes" bytea NOT NULL,
    "maybe" integer,
    "short" varchar(20),
    "amount" numeric(10, 2) NOT NULL
);
"#
    );
}

#[test]
fn names_come_from_fields_with_renames_and_default_to_snake_case() {
    #[derive(PgTable)]
    #[allow(dead_code)]
    struct AuditEvent {
        #[pg(primary_key)]
        event_id: i64,
        #[pg(rename = "kind")]
        r#type: String,
        #[pg(rename = "Mixed Case")]
        label: String,
    }
    assert_eq!(
        ddl::<AuditEvent>(),
        r#"CREATE TABLE "audit_event" (
    "event_id" bigint NOT NULL,
    "kind" text NOT NULL,
    "Mixed Case" text NOT NULL,
    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("event_id")
);
"#
    );
}

#[test]
fn composite_primary_key_and_unique_columns() {
    #[derive(PgTable)]
    #[pg(table = "memberships", primary_key(team_id, user_id))]
    #[allow(dead_code)]
    struct Membership {
        team_id: Uuid,
        user_id: Uuid,
        #[pg(unique)]
        badge: Option<String>,
    }
    assert_eq!(
        ddl::<Membership>(),
        r#"CREATE TABLE "memberships" (
    "team_id" uuid NOT NULL,
    "user_id" uuid NOT NULL,
    "badge" text,
    CONSTRAINT "memberships_pkey" PRIMARY KEY ("team_id", "user_id"),
    CONSTRAINT "memberships_badge_key" UNIQUE ("badge")
);
"#
    );
    assert_eq!(Membership::TABLE.primary_key, ["team_id", "user_id"]);
}

#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(rename_all = "snake_case")]
enum Mood {
    Calm,
    #[pg(rename = "it's complicated")]
    Complicated,
    VeryHappy,
}

#[test]
fn defaults_are_sql_expressions_or_escaped_rust_values() {
    #[derive(PgTable)]
    #[pg(table = "defaults")]
    #[allow(dead_code)]
    struct Defaults {
        #[pg(default_sql = "gen_random_uuid()")]
        id: Uuid,
        #[pg(default = Mood::Complicated)]
        mood: Mood,
        #[pg(default = 3)]
        count: i64,
        #[pg(default = -1.5)]
        ratio: f64,
        #[pg(default = false)]
        done: bool,
        #[pg(default = "O'Brien \\ co")]
        owner: String,
        #[pg(default = "fallback")]
        note: Option<String>,
        #[pg(default_sql = "now()")]
        at: DateTime<Utc>,
    }
    assert_eq!(
        ddl::<Defaults>(),
        r#"CREATE TABLE "defaults" (
    "id" uuid NOT NULL DEFAULT gen_random_uuid(),
    "mood" text NOT NULL DEFAULT 'it''s complicated',
    "count" bigint NOT NULL DEFAULT 3,
    "ratio" double precision NOT NULL DEFAULT -1.5,
    "done" boolean NOT NULL DEFAULT false,
    "owner" text NOT NULL DEFAULT E'O''Brien \\ co',
    "note" text DEFAULT 'fallback',
    "at" timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "defaults_mood_check" CHECK ("mood" IN ('calm', 'it''s complicated', 'very_happy'))
);
"#
    );
}

#[test]
fn text_enums_store_their_variants_and_are_checked() {
    assert_eq!(Mood::VALUES, ["calm", "it's complicated", "very_happy"]);
    assert_eq!(Mood::VeryHappy.as_str(), "very_happy");
    assert_eq!(Mood::from_text("calm"), Some(Mood::Calm));
    assert_eq!(Mood::from_text("Calm"), None);

    #[derive(PgTable)]
    #[pg(table = "moods")]
    #[allow(dead_code)]
    struct Moods {
        #[pg(varchar = 17)]
        current: Mood,
        previous: Option<Mood>,
    }
    assert_eq!(
        ddl::<Moods>(),
        r#"CREATE TABLE "moods" (
    "current" varchar(17) NOT NULL,
    "previous" text,
    CONSTRAINT "moods_current_check" CHECK ("current" IN ('calm', 'it''s complicated', 'very_happy')),
    CONSTRAINT "moods_previous_check" CHECK ("previous" IN ('calm', 'it''s complicated', 'very_happy'))
);
"#
    );
}

#[test]
fn ranges_and_sql_checks() {
    #[derive(PgTable)]
    #[pg(
        table = "ratings",
        check(
            name = "ratings_window",
            sql = "{closes_at} > {opens_at} AND '{{}}' <> ''"
        )
    )]
    #[allow(dead_code)]
    struct Ratings {
        #[pg(range = 1..=5)]
        stars: Option<i32>,
        #[pg(range = 0..100)]
        percent: i16,
        #[pg(range = -10..)]
        offset: i64,
        #[pg(range = ..=9)]
        digit: i32,
        opens_at: DateTime<Utc>,
        #[pg(rename = "Closes At")]
        closes_at: DateTime<Utc>,
    }
    assert_eq!(
        ddl::<Ratings>(),
        r#"CREATE TABLE "ratings" (
    "stars" integer,
    "percent" smallint NOT NULL,
    "offset" bigint NOT NULL,
    "digit" integer NOT NULL,
    "opens_at" timestamptz NOT NULL,
    "Closes At" timestamptz NOT NULL,
    CONSTRAINT "ratings_stars_check" CHECK ("stars" BETWEEN 1 AND 5),
    CONSTRAINT "ratings_percent_check" CHECK ("percent" BETWEEN 0 AND 99),
    CONSTRAINT "ratings_offset_check" CHECK ("offset" >= -10),
    CONSTRAINT "ratings_digit_check" CHECK ("digit" <= 9),
    CONSTRAINT "ratings_window" CHECK ("Closes At" > "opens_at" AND '{}' <> '')
);
"#
    );
}

#[test]
fn indexes_keep_order_direction_nulls_uniqueness_and_names() {
    #[derive(PgTable)]
    #[pg(
        table = "events",
        index(kind, at(desc)),
        index(at(asc, nulls_first)),
        index(owner(desc, nulls_last), kind),
        index(owner, kind, unique, name = "one_kind_per_owner")
    )]
    #[allow(dead_code)]
    struct Events {
        kind: String,
        at: Option<DateTime<Utc>>,
        owner: Uuid,
    }
    assert_eq!(
        ddl::<Events>(),
        r#"CREATE TABLE "events" (
    "kind" text NOT NULL,
    "at" timestamptz,
    "owner" uuid NOT NULL
);

CREATE INDEX "events_kind_at_idx" ON "events" ("kind", "at" DESC);
CREATE INDEX "events_at_idx" ON "events" ("at" NULLS FIRST);
CREATE INDEX "events_owner_kind_idx" ON "events" ("owner" DESC NULLS LAST, "kind");
CREATE UNIQUE INDEX "one_kind_per_owner" ON "events" ("owner", "kind");
"#
    );
}

#[test]
fn doc_comments_become_escaped_comments() {
    /// A note's "title" line.
    ///
    /// It's kept for a year.
    #[derive(PgTable)]
    #[pg(table = "notes")]
    #[allow(dead_code)]
    struct Notes {
        /// The author's name.
        author: String,
        body: String,
    }
    assert_eq!(
        ddl::<Notes>(),
        r#"CREATE TABLE "notes" (
    "author" text NOT NULL,
    "body" text NOT NULL
);

COMMENT ON TABLE "notes" IS 'A note''s "title" line.

It''s kept for a year.';
COMMENT ON COLUMN "notes"."author" IS 'The author''s name.';
"#
    );
    assert_eq!(Notes::TABLE.column("body").unwrap().comment, None);
}

#[allow(dead_code)]
mod library {
    use schema_core::PgTable;

    #[derive(PgTable)]
    #[pg(table = "shelves")]
    pub struct Shelf {
        #[pg(primary_key)]
        pub shelf_id: i32,
    }

    #[derive(PgTable)]
    #[pg(table = "books")]
    pub struct Book {
        #[pg(primary_key)]
        pub book_id: i32,
        #[pg(references = Shelf::shelf_id, on_delete = "cascade", on_update = "restrict")]
        pub shelf_id: Option<i32>,
        #[pg(references = Book::book_id, on_delete = "set null")]
        pub sequel_of: Option<i32>,
    }
}

#[test]
fn foreign_keys_reference_derived_tables_in_creation_order() {
    use library::{Book, Shelf};
    let ddl = statements(
        Schema::new()
            .table::<Book>()
            .table::<Shelf>()
            .to_ddl()
            .unwrap(),
    );
    assert_eq!(
        ddl,
        r#"CREATE TABLE "shelves" (
    "shelf_id" integer NOT NULL,
    CONSTRAINT "shelves_pkey" PRIMARY KEY ("shelf_id")
);

CREATE TABLE "books" (
    "book_id" integer NOT NULL,
    "shelf_id" integer,
    "sequel_of" integer,
    CONSTRAINT "books_pkey" PRIMARY KEY ("book_id"),
    CONSTRAINT "books_shelf_id_fkey" FOREIGN KEY ("shelf_id") REFERENCES "shelves" ("shelf_id") ON DELETE CASCADE ON UPDATE RESTRICT,
    CONSTRAINT "books_sequel_of_fkey" FOREIGN KEY ("sequel_of") REFERENCES "books" ("book_id") ON DELETE SET NULL
);
"#
    );
    let fk = Book::TABLE.foreign_keys[0];
    assert_eq!(
        fk,
        ForeignKeyDef {
            name: None,
            columns: &["shelf_id"],
            references_table: "shelves",
            references_columns: &["shelf_id"],
            on_delete: ReferentialAction::Cascade,
            on_update: ReferentialAction::Restrict,
        }
    );
}

#[test]
fn generated_row_types_follow_nullability_and_defaults() {
    #[derive(PgTable)]
    #[pg(
        table = "tasks",
        insert = "NewTask",
        select = "Task",
        derive(Eq),
        select_derive(Hash)
    )]
    #[allow(dead_code)]
    struct TaskTable {
        #[pg(primary_key, default_sql = "gen_random_uuid()")]
        id: Uuid,
        title: String,
        note: Option<String>,
        #[pg(default = 0)]
        done_count: i32,
    }
    let new = NewTask::new("write".to_string());
    assert_eq!(
        new,
        NewTask {
            id: None,
            title: "write".into(),
            note: None,
            done_count: None,
        }
    );
    let row = Task {
        id: Uuid::nil(),
        title: "write".into(),
        note: None,
        done_count: 0,
    };
    let mut set = std::collections::HashSet::new();
    set.insert(row.clone());
    assert!(set.contains(&row));
    fn is<T>(_: std::marker::PhantomData<T>) {}
    is::<<TaskTable as Table>::Insert>(std::marker::PhantomData::<NewTask>);
}

const fn column(name: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        renamed_from: None,
        field: name,
        rust_type: "i32",
        sql_type: SqlType::Integer,
        nullable: false,
        default: None,
        update_sql: None,
        unique: false,
        allowed_values: None,
        renamed_values: &[],
        range: None,
        comment: None,
        sensitive: false,
        internal: false,
        immutable: false,
        generation: None,
        encryption: None,
        using: None,
    }
}

const fn table(
    name: &'static str,
    columns: &'static [ColumnDef],
    foreign_keys: &'static [ForeignKeyDef],
) -> TableDef {
    TableDef {
        name,
        schema: None,
        renamed_from: None,
        comment: None,
        columns,
        primary_key: &[],
        unique_keys: &[],
        foreign_keys,
        checks: &[],
        indexes: &[],
        row_level_security: false,
        policies: &[],
        column_grants: &[],
        tenant: None,
        reference: false,
    }
}

const fn fk(columns: &'static [&'static str], target: &'static str) -> ForeignKeyDef {
    ForeignKeyDef {
        name: None,
        columns,
        references_table: target,
        references_columns: &["id"],
        on_delete: ReferentialAction::NoAction,
        on_update: ReferentialAction::NoAction,
    }
}

static ID: [ColumnDef; 1] = [column("id")];

#[test]
fn a_foreign_key_cycle_is_an_error_naming_the_tables() {
    static A_COLUMNS: [ColumnDef; 2] = [column("id"), column("b_id")];
    static B_COLUMNS: [ColumnDef; 2] = [column("id"), column("a_id")];
    static A_FK: [ForeignKeyDef; 1] = [fk(&["b_id"], "b")];
    static B_FK: [ForeignKeyDef; 1] = [fk(&["a_id"], "a")];
    static A: TableDef = table("a", &A_COLUMNS, &A_FK);
    static B: TableDef = table("b", &B_COLUMNS, &B_FK);
    static C: TableDef = table("c", &ID, &[]);
    let error = Schema::new()
        .with_def(&C)
        .with_def(&A)
        .with_def(&B)
        .to_ddl()
        .unwrap_err();
    assert_eq!(
        error,
        SchemaError::ForeignKeyCycle {
            tables: vec!["a".into(), "b".into()]
        }
    );
    assert_eq!(
        error.to_string(),
        "foreign keys form a cycle between tables `a`, `b`; no creation order satisfies them"
    );
}

#[test]
fn two_tables_with_one_name_or_a_missing_target_are_errors() {
    static T1: TableDef = table("t", &ID, &[]);
    static T2: TableDef = table("t", &ID, &[]);
    assert_eq!(
        Schema::new().with_def(&T1).with_def(&T2).to_ddl(),
        Err(SchemaError::DuplicateTable { table: "t".into() })
    );
    static FK: [ForeignKeyDef; 1] = [fk(&["id"], "elsewhere")];
    static ORPHAN: TableDef = table("orphan", &ID, &FK);
    assert_eq!(
        Schema::new().with_def(&ORPHAN).to_ddl(),
        Err(SchemaError::MissingTable {
            table: "orphan".into(),
            references: "elsewhere".into()
        })
    );
}

#[test]
fn hand_built_tables_are_validated_before_rendering() {
    static TWICE: [ColumnDef; 2] = [column("id"), column("id")];
    static DUP: TableDef = table("dup", &TWICE, &[]);
    assert_eq!(
        Schema::new().with_def(&DUP).to_ddl(),
        Err(SchemaError::DuplicateColumn {
            table: "dup".into(),
            column: "id".into()
        })
    );
    static LONG_COLUMN: [ColumnDef; 1] = [column(
        "a_column_name_that_is_much_too_long_for_postgres_to_keep_it_whole",
    )];
    static LONG: TableDef = table("long", &LONG_COLUMN, &[]);
    assert!(matches!(
        Schema::new().with_def(&LONG).to_ddl(),
        Err(SchemaError::InvalidIdentifier { .. })
    ));
    static BAD_CHECK: [schema_core::CheckDef; 1] = [schema_core::CheckDef {
        name: "positive",
        renamed_from: None,
        sql: &[
            schema_core::SqlPart::Column("amount"),
            schema_core::SqlPart::Sql(" > 0"),
        ],
    }];
    static CHECKED: TableDef = TableDef {
        checks: &BAD_CHECK,
        ..table("checked", &ID, &[])
    };
    assert_eq!(
        Schema::new().with_def(&CHECKED).to_ddl(),
        Err(SchemaError::UnknownColumn {
            table: "checked".into(),
            column: "amount".into(),
            used_in: "check `positive`".into()
        })
    );
    static NUL_DEFAULT: [ColumnDef; 1] = [ColumnDef {
        default: Some(ColumnDefault::Value(schema_core::DefaultValue(|| {
            schema_core::SqlLiteral::Text("a\0b".into())
        }))),
        ..column("id")
    }];
    static NUL: TableDef = table("nul", &NUL_DEFAULT, &[]);
    assert_eq!(
        Schema::new().with_def(&NUL).to_ddl().unwrap_err().to_string(),
        "the default of column `nul.id` contains a NUL character, which PostgreSQL text cannot hold"
    );
}

#[test]
fn generated_names_over_63_bytes_are_shortened_not_truncated() {
    #[derive(PgTable)]
    #[pg(
        table = "a_table_with_a_name_long_enough_to_matter",
        index(first_rather_long_column, second_rather_long_column)
    )]
    #[allow(dead_code)]
    struct Long {
        first_rather_long_column: i32,
        second_rather_long_column: i32,
    }
    let statements = Schema::new().table::<Long>().ddl_statements().unwrap();
    assert_eq!(
        statements[1],
        r#"CREATE INDEX "a_table_with_a_name_long_enough_to_matter_first_rather_85d99f9e" ON "a_table_with_a_name_long_enough_to_matter" ("first_rather_long_column", "second_rather_long_column")"#
    );
}

#[test]
fn row_level_security_policies_and_their_grants() {
    #[derive(PgTable)]
    #[pg(
        table = "notes",
        row_level_security,
        policy(
            name = "own_notes",
            to = "author",
            using = "{owner_id} = {setting:app.user_id}::uuid",
            with_check = "{owner_id} = {setting:app.user_id}::uuid"
        ),
        policy(name = "readers", to = "auditor", command = "select", using = "true"),
        policy(
            name = "anyone_adds",
            to = "public",
            command = "insert",
            with_check = "true"
        )
    )]
    #[allow(dead_code)]
    struct Notes {
        #[pg(rename = "owner")]
        owner_id: Uuid,
        #[pg(sensitive)]
        body: String,
    }
    let deployed = Schema::new().table::<Notes>().with_names(
        schema_core::Names::new()
            .role("author", "acme_author")
            .setting("app.user_id", "acme.user_id"),
    );
    assert_eq!(
        statements(deployed.to_ddl().unwrap()),
        r#"DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'acme_author') THEN CREATE ROLE "acme_author" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;
DO $role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'auditor') THEN CREATE ROLE "auditor" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role$;

CREATE TABLE "notes" (
    "owner" uuid NOT NULL,
    "body" text NOT NULL
);

COMMENT ON COLUMN "notes"."body" IS 'Sensitive: may hold PHI; redacted from Debug output, keep out of logs and exports.';

ALTER TABLE "notes" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "notes" FORCE ROW LEVEL SECURITY;
CREATE POLICY "own_notes" ON "notes" FOR ALL TO "acme_author" USING ("owner" = NULLIF(current_setting('acme.user_id', true), '')::uuid) WITH CHECK ("owner" = NULLIF(current_setting('acme.user_id', true), '')::uuid);
CREATE POLICY "readers" ON "notes" FOR SELECT TO "auditor" USING (true);
CREATE POLICY "anyone_adds" ON "notes" FOR INSERT TO PUBLIC WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON "notes" TO "acme_author";
GRANT SELECT ON "notes" TO "auditor";
GRANT INSERT ON "notes" TO PUBLIC;
"#
    );
    // A deployed setting name must be a setting name too.
    let bad_setting = Schema::new()
        .table::<Notes>()
        .with_names(schema_core::Names::new().setting("app.user_id", "acme.user id"));
    assert!(matches!(
        bad_setting.to_ddl(),
        Err(SchemaError::InvalidIdentifier { .. })
    ));
    let policy = Notes::TABLE.policies[0];
    assert_eq!(policy.command, schema_core::PolicyCommand::All);
    assert_eq!(policy.role, "author");
    assert!(Notes::TABLE.row_level_security);
}

#[test]
fn column_grants_narrow_update_and_immutable_columns_get_a_trigger() {
    #[derive(PgTable)]
    #[pg(
        table = "cases",
        row_level_security,
        policy(name = "own", to = "owner", using = "{owner_id} = current_user"),
        policy(name = "triage", to = "desk", command = "update", using = "true"),
        grant(to = "owner", insert(case_id, owner_id, title, state), update(title)),
        grant(to = "desk", update(state))
    )]
    #[allow(dead_code)]
    struct Case {
        #[pg(primary_key)]
        case_id: i64,
        #[pg(immutable)]
        owner_id: String,
        title: String,
        state: String,
        notes: Option<String>,
        #[pg(default_sql = "now()", immutable)]
        opened_at: chrono::DateTime<chrono::Utc>,
        #[pg(default_sql = "now()", update_sql = "now()")]
        changed_at: chrono::DateTime<chrono::Utc>,
    }
    let statements = Schema::new().table::<Case>().ddl_statements().unwrap();
    let tail: Vec<&str> = statements[3..].iter().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            r#"CREATE FUNCTION "cases_immutable_columns"() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET extra_float_digits = 3 AS $fn$
BEGIN
    IF NEW."owner_id"::pg_catalog.text COLLATE pg_catalog."C" IS DISTINCT FROM OLD."owner_id"::pg_catalog.text THEN
        RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = 'column "owner_id" of table "cases" never changes after insert', COLUMN = 'owner_id', TABLE = 'cases', CONSTRAINT = 'cases_owner_id_immutable';
    END IF;
    IF NEW."opened_at"::pg_catalog.text COLLATE pg_catalog."C" IS DISTINCT FROM OLD."opened_at"::pg_catalog.text THEN
        RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = 'column "opened_at" of table "cases" never changes after insert', COLUMN = 'opened_at', TABLE = 'cases', CONSTRAINT = 'cases_opened_at_immutable';
    END IF;
    RETURN NULL;
END
$fn$"#,
            r#"CREATE TRIGGER "cases_immutable_columns" AFTER UPDATE ON "cases" FOR EACH ROW EXECUTE FUNCTION "cases_immutable_columns"()"#,
            r#"ALTER TABLE "cases" ENABLE ROW LEVEL SECURITY"#,
            r#"ALTER TABLE "cases" FORCE ROW LEVEL SECURITY"#,
            r#"CREATE POLICY "own" ON "cases" FOR ALL TO "owner" USING ("owner_id" = current_user)"#,
            r#"CREATE POLICY "triage" ON "cases" FOR UPDATE TO "desk" USING (true)"#,
            r#"GRANT SELECT, DELETE ON "cases" TO "owner""#,
            r#"GRANT INSERT ("case_id", "owner_id", "title", "state") ON "cases" TO "owner""#,
            r#"GRANT UPDATE ("title", "changed_at") ON "cases" TO "owner""#,
            r#"GRANT UPDATE ("state", "changed_at") ON "cases" TO "desk""#,
        ]
    );
    // The patch type offers exactly what some role may change.
    let updatable: Vec<&str> = Case::TABLE
        .columns
        .iter()
        .filter(|c| Case::TABLE.is_updatable(c))
        .map(|c| c.name)
        .collect();
    assert_eq!(updatable, ["title", "state"]);
    let UpdateCase { title, state } = UpdateCase::default();
    assert_eq!((title, state), (None, None));
}

#[test]
fn a_role_name_holding_the_quote_tag_cannot_end_the_quote() {
    let statement = schema_core::render::create_role("x$role$y");
    assert_eq!(
        statement,
        r#"DO $role_1$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'x$role$y') THEN CREATE ROLE "x$role$y" NOLOGIN; END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $role_1$"#
    );
}

#[test]
fn text_holding_a_nul_never_reaches_the_ddl() {
    static COMMENTED: [ColumnDef; 1] = [ColumnDef {
        comment: Some("first\0'; DROP TABLE victim; --"),
        ..column("id")
    }];
    static COMMENT: TableDef = table("commented", &COMMENTED, &[]);
    assert_eq!(
        Schema::new().with_def(&COMMENT).to_ddl(),
        Err(SchemaError::NulCharacter {
            table: "commented".into(),
            used_in: "the comment of column `id`".into()
        })
    );
    static TABLE_COMMENT: TableDef = TableDef {
        comment: Some("a\0b"),
        ..table("t", &ID, &[])
    };
    static DEFAULT_SQL: [ColumnDef; 1] = [ColumnDef {
        default: Some(ColumnDefault::Sql("now()\0")),
        ..column("id")
    }];
    static DEFAULTED: TableDef = table("t", &DEFAULT_SQL, &[]);
    static NUL_CHECK: [schema_core::CheckDef; 1] = [schema_core::CheckDef {
        name: "c",
        renamed_from: None,
        sql: &[schema_core::SqlPart::Sql("true\0")],
    }];
    static CHECKED: TableDef = TableDef {
        checks: &NUL_CHECK,
        ..table("t", &ID, &[])
    };
    static NUL_POLICY: [schema_core::PolicyDef; 1] = [schema_core::PolicyDef {
        name: "p",
        renamed_from: None,
        command: schema_core::PolicyCommand::Select,
        role: "r",
        using: Some(&[schema_core::SqlPart::Sql("true\0")]),
        with_check: None,
    }];
    static POLICED: TableDef = TableDef {
        row_level_security: true,
        policies: &NUL_POLICY,
        ..table("t", &ID, &[])
    };
    for (def, used_in) in [
        (&TABLE_COMMENT, "the comment"),
        (&DEFAULTED, "the default of column `id`"),
        (&CHECKED, "check `c`"),
        (&POLICED, "policy `p`"),
    ] {
        assert_eq!(
            Schema::new().with_def(def).to_ddl(),
            Err(SchemaError::NulCharacter {
                table: "t".into(),
                used_in: used_in.into()
            })
        );
    }
}

#[test]
fn column_grants_built_by_hand_are_checked() {
    static COLUMNS: [ColumnDef; 2] = [
        column("id"),
        ColumnDef {
            immutable: true,
            ..column("owner")
        },
    ];
    static IMMUTABLE_GRANTED: [schema_core::ColumnGrantDef; 1] = [schema_core::ColumnGrantDef {
        role: "r",
        insert: None,
        update: Some(&["owner"]),
    }];
    static BAD: TableDef = TableDef {
        column_grants: &IMMUTABLE_GRANTED,
        ..table("t", &COLUMNS, &[])
    };
    assert_eq!(
        Schema::new()
            .with_def(&BAD)
            .to_ddl()
            .unwrap_err()
            .to_string(),
        "the column grant of table `t` to role `r` lists column `owner`, which is immutable"
    );
    static UNKNOWN_GRANTED: [schema_core::ColumnGrantDef; 1] = [schema_core::ColumnGrantDef {
        role: "r",
        insert: Some(&["id", "owner", "nope"]),
        update: None,
    }];
    static UNKNOWN: TableDef = TableDef {
        column_grants: &UNKNOWN_GRANTED,
        ..table("t", &COLUMNS, &[])
    };
    assert!(matches!(
        Schema::new().with_def(&UNKNOWN).to_ddl(),
        Err(SchemaError::UnknownColumn { .. })
    ));
    static SHORT_INSERT: [schema_core::ColumnGrantDef; 1] = [schema_core::ColumnGrantDef {
        role: "r",
        insert: Some(&["owner"]),
        update: None,
    }];
    static SHORT: TableDef = TableDef {
        column_grants: &SHORT_INSERT,
        ..table("t", &COLUMNS, &[])
    };
    assert_eq!(
        Schema::new()
            .with_def(&SHORT)
            .to_ddl()
            .unwrap_err()
            .to_string(),
        "the column grant of table `t` to role `r` leaves out column `id`, which every insert \
         must give (NOT NULL, no default)"
    );
    static TWO_GRANTS: [schema_core::ColumnGrantDef; 2] = [
        schema_core::ColumnGrantDef {
            role: "a",
            insert: None,
            update: Some(&["id"]),
        },
        schema_core::ColumnGrantDef {
            role: "b",
            insert: None,
            update: Some(&["id"]),
        },
    ];
    static TWO: TableDef = TableDef {
        column_grants: &TWO_GRANTS,
        ..table("t", &COLUMNS, &[])
    };
    let one_role = schema_core::Names::new().role("a", "app").role("b", "app");
    assert!(matches!(
        Schema::new().with_def(&TWO).with_names(one_role).to_ddl(),
        Err(SchemaError::InvalidGrant { .. })
    ));
    static CASCADED: [ForeignKeyDef; 1] = [ForeignKeyDef {
        on_update: ReferentialAction::Cascade,
        ..fk(&["owner"], "t")
    }];
    static REWRITTEN: TableDef = table("t", &COLUMNS, &CASCADED);
    assert!(matches!(
        Schema::new().with_def(&REWRITTEN).to_ddl(),
        Err(SchemaError::InvalidColumn { .. })
    ));
}

#[test]
fn renames_are_recorded_in_the_metadata_and_stay_out_of_the_ddl() {
    #[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
    #[pg(rename_all = "lowercase")]
    enum Stage {
        #[pg(renamed_from = "new")]
        Open,
        Closed,
        #[pg(rename = "on_hold", renamed_from = "waiting")]
        OnHold,
    }

    #[derive(PgTable)]
    #[pg(
        table = "cases",
        renamed_from = "tickets",
        index(stage, name = "cases_by_stage", renamed_from = "tickets_by_stage"),
        index(opened_on, renamed_from = "tickets_opened_on_idx"),
        check(
            name = "cases_headline_set",
            renamed_from = "tickets_subject_set",
            sql = "{title} <> ''"
        ),
        row_level_security,
        policy(
            name = "readers",
            renamed_from = "everyone_reads",
            to = "public",
            command = "select",
            using = "true"
        )
    )]
    #[allow(dead_code)]
    struct Case {
        #[pg(primary_key, renamed_from = "ticket_id")]
        case_id: i64,
        #[pg(rename = "headline", renamed_from = "subject")]
        title: String,
        stage: Stage,
        previous_stage: Option<Stage>,
        opened_on: NaiveDate,
    }

    let table = Case::TABLE;
    assert_eq!(table.renamed_from, Some("tickets"));
    let columns: Vec<_> = table.columns.iter().map(|c| c.renamed_from).collect();
    assert_eq!(
        columns,
        [Some("ticket_id"), Some("subject"), None, None, None]
    );
    let stage_renames: &[(&str, &str)] = &[("new", "open"), ("waiting", "on_hold")];
    assert_eq!(
        <Stage as schema_core::PgType>::RENAMED_VALUES,
        stage_renames
    );
    let values: Vec<_> = table.columns.iter().map(|c| c.renamed_values).collect();
    assert_eq!(values, [&[], &[], stage_renames, stage_renames, &[]]);
    let indexes: Vec<_> = table.indexes.iter().map(|i| i.renamed_from).collect();
    assert_eq!(
        indexes,
        [Some("tickets_by_stage"), Some("tickets_opened_on_idx")]
    );
    assert_eq!(table.checks[0].renamed_from, Some("tickets_subject_set"));
    assert_eq!(table.policies[0].renamed_from, Some("everyone_reads"));

    let ddl = ddl::<Case>();
    for former in [
        "tickets",
        "ticket_id",
        "subject",
        "everyone_reads",
        "'new'",
        "waiting",
    ] {
        assert!(!ddl.contains(former), "{former} in {ddl}");
    }
}

#[test]
fn renames_built_by_hand_are_checked() {
    static RENAMED_TABLE: TableDef = TableDef {
        renamed_from: Some("t"),
        ..table("t", &ID, &[])
    };
    static EMPTY_FORMER: [ColumnDef; 1] = [ColumnDef {
        renamed_from: Some(""),
        ..column("id")
    }];
    static TWICE_FORMER: [ColumnDef; 2] = [
        ColumnDef {
            renamed_from: Some("old"),
            ..column("a")
        },
        ColumnDef {
            renamed_from: Some("old"),
            ..column("b")
        },
    ];
    static TAKEN_FORMER: [ColumnDef; 2] = [
        column("a"),
        ColumnDef {
            renamed_from: Some("a"),
            ..column("b")
        },
    ];
    static OWN_INDEX: [schema_core::IndexDef; 1] = [schema_core::IndexDef {
        name: None,
        renamed_from: Some("t_id_idx"),
        unique: false,
        method: schema_core::IndexMethod::Btree,
        columns: &[schema_core::IndexColumn {
            key: schema_core::IndexKey::Column("id"),
            opclass: None,
            order: None,
            nulls: None,
        }],
        include: &[],
        predicate: None,
    }];
    let problem = |def: TableDef| match schema_core::render::validate(&def) {
        Err(SchemaError::InvalidIdentifier { name, problem, .. }) => (name, problem),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        problem(RENAMED_TABLE),
        (
            "t".into(),
            "is the current name of the object renamed from it"
        )
    );
    assert_eq!(
        problem(table("t", &EMPTY_FORMER, &[])),
        ("".into(), "is empty")
    );
    assert_eq!(
        problem(table("t", &TWICE_FORMER, &[])),
        (
            "old".into(),
            "is the former name of two objects of one kind"
        )
    );
    assert_eq!(
        problem(table("t", &TAKEN_FORMER, &[])),
        (
            "a".into(),
            "is the former name of one object and the current name of another of its kind"
        )
    );
    assert_eq!(
        problem(TableDef {
            indexes: &OWN_INDEX,
            ..table("t", &ID, &[])
        }),
        (
            "t_id_idx".into(),
            "is the current name of the object renamed from it"
        )
    );

    static OWN_VALUE: [ColumnDef; 1] = [ColumnDef {
        allowed_values: Some(&["open", "closed"]),
        renamed_values: &[("closed", "open")],
        ..column("stage")
    }];
    assert_eq!(
        schema_core::render::validate(&table("t", &OWN_VALUE, &[]))
            .unwrap_err()
            .to_string(),
        "column `t.stage` renames a value from one it still allows"
    );
}
