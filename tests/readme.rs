//! README.md held to what it says.
//!
//! Every ```rust block of the README is built in a crate of its own, outside this workspace,
//! whose `Cargo.toml` is the README's install line (the path one, with the path of this
//! checkout) plus the features and crates the later sections name. The blocks that print are
//! run and their output compared with the fenced block the README shows after them, byte for
//! byte; the blocks of statements are run too, so their assertions hold. The list of generated
//! names is checked against the DDL, the metadata and a plan of a table that has every object
//! the list names.

// The false positive of rust-clippy#13238 on `index(kind, code), index(code, unique)`, which the
// README mentions.
#![allow(clippy::duplicated_attributes)]

mod common;

use common::scratch::{schema_core_path, workspace_root, Scratch};
use schema_core::plan::plan;
use schema_core::{ColumnRef, Names, PgEnum, PgTable, Schema, Table};

/// A fenced block of the README.
#[derive(Debug)]
struct Fenced {
    /// The info string after the opening fence (`rust`, `sql`, ...).
    lang: String,
    /// The lines between the fences, each ended with a newline, indentation of the fence
    /// removed.
    body: String,
    /// The line of the opening fence, counted from 1.
    line: usize,
}

/// README.md's text.
fn readme() -> String {
    std::fs::read_to_string(workspace_root().join("README.md")).expect("read README.md")
}

/// Every fenced block of `text`, in order.
fn fenced_blocks(text: &str) -> Vec<Fenced> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim_start();
        let Some(lang) = trimmed.strip_prefix("```") else {
            continue;
        };
        let indent = line.len() - trimmed.len();
        let mut body = String::new();
        for (_, inner) in lines.by_ref() {
            if inner.trim() == "```" {
                break;
            }
            body.push_str(inner.get(indent..).unwrap_or(inner.trim_start()));
            body.push('\n');
        }
        blocks.push(Fenced {
            lang: lang.trim().to_string(),
            body,
            line: number + 1,
        });
    }
    blocks
}

/// How a README block is built: the context its code needs, which it does not repeat.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Items and a `fn main` that prints the next fenced block; the items are in scope for
    /// every later block.
    Program,
    /// Statements, run in a function with the values of [`PARAMETERS`].
    Statements,
    /// Statements in an `async fn` with the values of [`PARAMETERS`]: compiled, not run (they
    /// need a server at the address they name).
    Async,
    /// Items in a module of their own; a `#[test]` function is compiled as a plain one.
    Items,
    /// Fields of a struct deriving `PgTable`.
    Fields,
}

/// The README's Rust blocks, in order: each one's first line (to tell them apart) and how it
/// is built. A block added, removed or reordered fails the test until it is listed here.
const BLOCKS: &[(&str, Kind)] = &[
    ("use schema_core::chrono::{DateTime, Utc};", Kind::Program),
    ("use schema_core::{Table, TableDef};", Kind::Statements),
    ("use schema_core::serde_json::Value;", Kind::Program),
    ("use schema_core::{PgTable, Schema};", Kind::Program),
    ("use schema_core::uuid::Uuid;", Kind::Program),
    ("use schema_core::{PgEnum, PgTable, Schema};", Kind::Program),
    ("use schema_core::{PgTable, Schema};", Kind::Program),
    ("use schema_core::pg::Db;", Kind::Async),
    ("use schema_core::pg::pool::DbManager;", Kind::Async),
    ("use schema_core::pg::{Db, TlsOptions};", Kind::Async),
    (
        "use schema_core::sqlx::{insert, insert_many, scoped_transaction, RequestScope};",
        Kind::Async,
    ),
    ("use schema_core::query::Select;", Kind::Statements),
    ("use schema_core::pg::Db;", Kind::Async),
    (
        "// src/schemas/db/support_queries.rs, without its doc comments.",
        Kind::Statements,
    ),
    (
        "use schema_core::pg::evolve::{apply, drift, plan_for, Shadow};",
        Kind::Async,
    ),
    ("fn main() -> std::process::ExitCode {", Kind::Items),
    (
        "    /// Support team member handling the ticket.",
        Kind::Fields,
    ),
    ("#[test]", Kind::Items),
    (
        "use schema_core::{PgTable, Schema, Target};",
        Kind::Statements,
    ),
];

/// The values the README says the snippets take from the reader's code, as parameters of the
/// function each snippet is built in.
const PARAMETERS: &str = "url: &str, provider_id: Uuid, subject: String, description: String, \
                          tickets: Vec<InsertSupportTicket>";
/// What the runnable snippets are called with.
const ARGUMENTS: &str = "\"postgres://127.0.0.1/app\", Uuid::nil(), String::from(\"subject\"), \
                         String::from(\"description\"), Vec::new()";

/// The features the README's sections name beyond the install line's
/// (`sqlx`, `deadpool`, `tls`, and `cli` for the command line and migrations).
const SECTION_FEATURES: &[&str] = &["sqlx", "deadpool", "tls", "cli"];

/// The crates the README tells a user of a feature to add (its features table), taken from
/// the README itself: the inline code that starts with `{name} = `.
const SECTION_CRATES: &[&str] = &["sqlx", "deadpool"];

/// The README's Rust blocks with their kinds and the block shown after each `Program`.
fn rust_blocks(blocks: &[Fenced]) -> Vec<(&Fenced, Kind, Option<&Fenced>)> {
    let rust: Vec<usize> = (0..blocks.len())
        // `rust,no_run` and the like are Rust blocks too, and listed like the others.
        .filter(|&i| blocks[i].lang.split(',').next() == Some("rust"))
        .collect();
    let listing = rust
        .iter()
        .map(|&i| {
            format!(
                "line {}: {}",
                blocks[i].line,
                blocks[i].body.lines().next().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        rust.len(),
        BLOCKS.len(),
        "README.md has {} Rust blocks and tests/readme.rs lists {}; list each in BLOCKS:\n{listing}",
        rust.len(),
        BLOCKS.len()
    );
    rust.iter()
        .zip(BLOCKS)
        .map(|(&i, &(first_line, kind))| {
            let block = &blocks[i];
            assert_eq!(
                block.body.lines().next(),
                Some(first_line),
                "README.md's Rust block at line {} is not the one tests/readme.rs lists there; \
                 update BLOCKS:\n{listing}",
                block.line
            );
            let output = (kind == Kind::Program).then(|| {
                blocks
                    .get(i + 1)
                    .unwrap_or_else(|| panic!("no block after line {}", block.line))
            });
            (block, kind, output)
        })
        .collect()
}

/// The `[dependencies]` of the README's install section that depend on schema-core by path,
/// with this checkout's path, `SECTION_FEATURES` added and the crates `SECTION_CRATES` names.
fn dependencies(readme: &str, blocks: &[Fenced]) -> String {
    let install = blocks
        .iter()
        .find(|b| b.lang == "toml" && b.body.contains("path = "))
        .expect("README.md shows a path dependency in a ```toml block");
    let mut lines: Vec<String> = install
        .body
        .lines()
        .filter(|l| !l.starts_with('[') && !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let line = lines
        .iter_mut()
        .find(|l| l.starts_with("schema-core = "))
        .expect("a `schema-core = ` line");
    let start = line.find("path = \"").expect("a path") + "path = \"".len();
    let end = start + line[start..].find('"').unwrap();
    line.replace_range(start..end, schema_core_path().to_str().unwrap());
    let features = line.find("features = [").expect("a features list") + "features = [".len();
    let added: String = SECTION_FEATURES
        .iter()
        .map(|f| format!("\"{f}\", "))
        .collect();
    line.insert_str(features, &added);
    for name in SECTION_CRATES {
        let start = readme
            .find(&format!("`{name} = "))
            .unwrap_or_else(|| panic!("README.md names no `{name} = ...` dependency"))
            + 1;
        let end = start + readme[start..].find('`').unwrap();
        lines.push(readme[start..end].to_string());
    }
    lines.join("\n")
}

/// The scratch crate's `src/main.rs`: every block in its context, and a `main` that runs the
/// block whose number is its argument.
fn program(blocks: &[(&Fenced, Kind, Option<&Fenced>)]) -> (String, Vec<usize>) {
    let mut source = String::from(
        "#![allow(unused, dead_code, clippy::all)]\n\n\
         use schema_core::uuid::Uuid;\n\
         type Error = Box<dyn std::error::Error>;\n\n",
    );
    let mut runs = Vec::new();
    let mut calls = String::new();
    for (n, (block, kind, _)) in blocks.iter().enumerate() {
        let body = &block.body;
        let item = match kind {
            Kind::Program => {
                runs.push(n);
                calls.push_str(&format!("        \"{n}\" => block_{n}::run(),\n"));
                format!(
                    "mod block_{n} {{\n{body}\npub fn run() {{\n    main()\n}}\n}}\n\
                     use block_{n}::*;\n"
                )
            }
            Kind::Statements => {
                runs.push(n);
                calls.push_str(&format!(
                    "        \"{n}\" => block_{n}({ARGUMENTS}).unwrap(),\n"
                ));
                format!("fn block_{n}({PARAMETERS}) -> Result<(), Error> {{\n{body}\nOk(())\n}}\n")
            }
            Kind::Async => format!(
                "async fn block_{n}({PARAMETERS}) -> Result<(), Error> {{\n{body}\nOk(())\n}}\n"
            ),
            Kind::Items => format!(
                "mod block_{n} {{\nuse crate::*;\n{}\n}}\n",
                body.replace("#[test]\n", "")
            ),
            Kind::Fields => format!(
                "#[derive(schema_core::PgTable)]\n#[pg(table = \"block_{n}\")]\n\
                 struct Block{n} {{\n#[pg(primary_key)]\nid: i64,\n{body}}}\n"
            ),
        };
        source.push_str(&format!("// README.md, line {}\n{item}\n", block.line));
    }
    source.push_str(&format!(
        "fn main() {{\n    match std::env::args().nth(1).as_deref().unwrap_or(\"\") {{\n\
         {calls}        other => panic!(\"no runnable block {{other}}\"),\n    }}\n}}\n"
    ));
    (source, runs)
}

#[test]
fn every_rust_block_of_the_readme_compiles_and_prints_what_the_readme_shows() {
    let readme = readme();
    let fenced = fenced_blocks(&readme);
    let blocks = rust_blocks(&fenced);
    let scratch = Scratch::with_dependencies(&dependencies(&readme, &fenced));
    let (source, runs) = program(&blocks);
    scratch.write_main(&source);

    let build = scratch.cargo(&["build", "--quiet"], None);
    assert!(
        build.status.success(),
        "README.md's Rust blocks do not build; src/main.rs:\n{}\n{}",
        numbered(&source),
        String::from_utf8_lossy(&build.stderr)
    );
    for n in runs {
        let (block, _, shown) = blocks[n];
        let run = scratch.cargo(&["run", "--quiet", "--", &n.to_string()], None);
        assert!(
            run.status.success(),
            "README.md's block at line {} failed:\n{}",
            block.line,
            String::from_utf8_lossy(&run.stderr)
        );
        if let Some(shown) = shown {
            let printed = String::from_utf8(run.stdout).unwrap();
            assert!(
                printed == shown.body,
                "README.md's block at line {} prints something else than the block at line {} \
                 shows; it prints:\n{printed}",
                block.line,
                shown.line
            );
        }
    }
}

/// `source` with line numbers, for the compiler's messages.
fn numbered(source: &str) -> String {
    source
        .lines()
        .enumerate()
        .map(|(i, line)| format!("{:4} {line}\n", i + 1))
        .collect()
}

#[test]
fn a_crate_with_the_default_features_pulls_in_no_driver_hashing_tls_or_command_line() {
    let scratch = Scratch::with_dependencies(&format!(
        "schema-core = {{ path = {:?} }}",
        schema_core_path()
    ));
    scratch.write_main("fn main() {}\n");
    let tree = scratch.cargo(&["tree", "--edges", "normal", "--prefix", "none"], None);
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let tree = String::from_utf8(tree.stdout).unwrap();
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for absent in [
        "tokio-postgres",
        "tokio",
        "sqlx",
        "sha2",
        "clap",
        "rustls",
        "deadpool",
        "bb8",
        "serde",
    ] {
        assert!(!crates.contains(&absent), "{absent} in:\n{tree}");
    }
    for present in [
        "schema-core",
        "schema-derive",
        "uuid",
        "chrono",
        "serde_json",
    ] {
        assert!(crates.contains(&present), "{present} not in:\n{tree}");
    }
}

#[test]
fn the_crates_own_majors_of_uuid_chrono_and_serde_json_are_schema_cores() {
    let id: schema_core::uuid::Uuid = uuid::Uuid::nil();
    let at: schema_core::chrono::DateTime<schema_core::chrono::Utc> = chrono::DateTime::UNIX_EPOCH;
    let json: schema_core::serde_json::Value = serde_json::Value::Null;
    assert_eq!(
        (id, at, json),
        (
            uuid::Uuid::nil(),
            chrono::DateTime::UNIX_EPOCH,
            serde_json::Value::Null
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Generated names: a table with every object the README's list names.

/// A text enum.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(rename_all = "lowercase")]
enum Kind2 {
    A,
    B,
}

#[derive(PgTable)]
#[pg(table = "owners")]
#[allow(dead_code)]
struct Owner {
    #[pg(primary_key)]
    owner_id: i64,
}

#[derive(PgTable)]
#[pg(
    table = "things",
    index(kind, code),
    index(code, unique),
    index(owner_id, name = "things_by_owner"),
    check(name = "things_code_not_blank", sql = "{code} <> ''"),
    row_level_security,
    policy(
        name = "things_own",
        to = "owner_role",
        using = "{owner_id} = {setting:app.owner_id}::bigint"
    ),
    grant(to = "owner_role", update(code, rating))
)]
#[allow(dead_code)]
struct Thing {
    #[pg(primary_key)]
    thing_id: i64,
    #[pg(references = Owner::owner_id, immutable)]
    owner_id: i64,
    #[pg(varchar = 20, unique)]
    code: String,
    #[pg(varchar = 1)]
    kind: Kind2,
    #[pg(range = 1..=5)]
    rating: Option<i32>,
    #[pg(rename = "type")]
    type_: Option<String>,
}

/// No `table = "..."`, a key of two columns, renamed row types.
#[derive(PgTable)]
#[pg(
    primary_key(order_id, line),
    insert = "NewLineItem",
    select = "LineItemRow",
    update = "LineItemPatch"
)]
#[allow(dead_code)]
struct LineItem {
    order_id: i64,
    line: i32,
}

/// A table whose generated names pass 63 bytes.
#[derive(PgTable)]
#[pg(table = "a_table_name_of_exactly_fifty_bytes_for_the_length")]
#[allow(dead_code)]
struct Long {
    #[pg(primary_key)]
    id: i64,
    #[pg(unique)]
    a_rather_long_column_name: i64,
}

mod before {
    /// `notes.note` nullable, before a plan makes it NOT NULL.
    #[derive(schema_core::PgTable)]
    #[pg(table = "notes")]
    #[allow(dead_code)]
    pub struct Note {
        #[pg(primary_key)]
        pub id: i64,
        pub note: Option<String>,
    }
}

mod after {
    /// `notes.note` NOT NULL.
    #[derive(schema_core::PgTable)]
    #[pg(table = "notes")]
    #[allow(dead_code)]
    pub struct Note {
        #[pg(primary_key)]
        pub id: i64,
        pub note: String,
    }
}

/// The README's "Generated names" section.
fn names_section(readme: &str) -> &str {
    let start = readme
        .find("### Generated names")
        .expect("README.md has a Generated names section");
    let end = start + readme[start..].find("\n## ").unwrap();
    &readme[start..end]
}

#[test]
fn every_generated_name_the_readme_lists_is_the_name_generated() {
    let readme = readme();
    let section = names_section(&readme);
    let ddl = Schema::new()
        .table::<Owner>()
        .table::<Thing>()
        .table::<LineItem>()
        .table::<Long>()
        .to_ddl()
        .unwrap();
    let deployed = Schema::new()
        .table::<Owner>()
        .table::<Thing>()
        .with_names(Names::new().role("owner_role", "deployed_owner"))
        .to_ddl()
        .unwrap();
    let before = Schema::new().table::<before::Note>().model().unwrap();
    let after = Schema::new().table::<after::Note>().model().unwrap();
    let script = plan(&before, &after).to_script();
    let thing = <Thing as Table>::TABLE;

    // Each row of the README's table: (what, name as listed, where the test finds it).
    let rows: &[(&str, &str, bool)] = &[
        (
            "table",
            "`table = \"...\"`, else the struct's name in snake_case (`support_ticket`)",
            ddl.contains("CREATE TABLE \"things\"")
                && ddl.contains("CREATE TABLE \"line_item\""),
        ),
        (
            "column",
            "the field's name, else `rename = \"...\"`",
            ddl.contains("\"thing_id\" bigint") && ddl.contains("\"type\" text"),
        ),
        (
            "primary key (one column or several)",
            "`{table}_pkey`",
            ddl.contains("CONSTRAINT \"things_pkey\" PRIMARY KEY (\"thing_id\")")
                && ddl.contains("CONSTRAINT \"line_item_pkey\" PRIMARY KEY (\"order_id\", \"line\")"),
        ),
        (
            "`unique` column",
            "`{table}_{column}_key`",
            ddl.contains("CONSTRAINT \"things_code_key\" UNIQUE (\"code\")"),
        ),
        (
            "foreign key (`references`)",
            "`{table}_{column}_fkey`",
            ddl.contains("CONSTRAINT \"things_owner_id_fkey\" FOREIGN KEY (\"owner_id\")"),
        ),
        (
            "check of a text enum column's values",
            "`{table}_{column}_check`",
            ddl.contains("CONSTRAINT \"things_kind_check\" CHECK (\"kind\" IN ('a', 'b'))"),
        ),
        (
            "check of a `range`",
            "`{table}_{column}_check`",
            ddl.contains("CONSTRAINT \"things_rating_check\" CHECK (\"rating\" BETWEEN 1 AND 5)"),
        ),
        (
            "`check(name = \"...\", sql = \"...\")`",
            "the name as written",
            ddl.contains("CONSTRAINT \"things_code_not_blank\" CHECK (\"code\" <> '')"),
        ),
        (
            "index, `unique` or not",
            "`{table}_{columns}_idx`, else `name = \"...\"`",
            ddl.contains("CREATE INDEX \"things_kind_code_idx\" ON \"things\" (\"kind\", \"code\")")
                && ddl.contains("CREATE UNIQUE INDEX \"things_code_idx\" ON \"things\" (\"code\")")
                && ddl.contains("CREATE INDEX \"things_by_owner\" ON \"things\" (\"owner_id\")"),
        ),
        (
            "policy",
            "the name as written",
            ddl.contains("CREATE POLICY \"things_own\" ON \"things\""),
        ),
        (
            "the immutable columns' trigger, and its function",
            "`{table}_immutable_columns`",
            ddl.contains("CREATE FUNCTION \"things_immutable_columns\"()")
                && ddl.contains(
                    "CREATE TRIGGER \"things_immutable_columns\" AFTER UPDATE ON \"things\" \
                     FOR EACH ROW EXECUTE FUNCTION \"things_immutable_columns\"()",
                )
                && thing.immutable_trigger_name() == "things_immutable_columns",
        ),
        (
            "the constraint an immutable column's refusal names",
            "`{table}_{column}_immutable`",
            thing.immutable_name(thing.column("owner_id").unwrap()) == "things_owner_id_immutable"
                && ddl.contains("things_owner_id_immutable"),
        ),
        (
            "roles of policies and grants",
            "the `to = \"...\"` as written, else as `Names::role` maps it",
            ddl.contains("CREATE POLICY \"things_own\" ON \"things\" FOR ALL TO \"owner_role\"")
                && ddl.contains("GRANT UPDATE (\"code\", \"rating\") ON \"things\" TO \"owner_role\"")
                && deployed.contains("TO \"deployed_owner\"")
                && !deployed.contains("\"owner_role\""),
        ),
        (
            "the check a plan adds for `SET NOT NULL`, dropped after it",
            "`{table}_{column}_not_null_check`",
            script.contains(
                "ADD CONSTRAINT \"notes_note_not_null_check\" CHECK (\"note\" IS NOT NULL) NOT VALID",
            ) && script.contains("DROP CONSTRAINT \"notes_note_not_null_check\""),
        ),
        (
            "the migrations' history table",
            "`schema_migrations`",
            schema_core::pg::introspect::HISTORY_TABLE == "schema_migrations",
        ),
        (
            "row types",
            "`InsertSupportTicket`, `SelectSupportTicket`, `UpdateSupportTicket`, else \
             `insert = \"...\"`, `select = \"...\"`, `update = \"...\"`",
            row_types_are_named_as_listed(),
        ),
        (
            "column constants (for `references` and typed queries)",
            "`SupportTicket::{field}`",
            {
                let column: ColumnRef<Thing, i64> = Thing::owner_id;
                (column.table, column.column) == ("things", "owner_id")
            },
        ),
        (
            "text enum (`PgEnum`)",
            "no PostgreSQL type: its column is `text` (or `varchar = N`) with the \
             `{table}_{column}_check` above",
            !ddl.contains("CREATE TYPE") && ddl.contains("\"kind\" varchar(1) NOT NULL"),
        ),
    ];
    let listed = section.lines().filter(|l| l.starts_with("| ")).count() - 1;
    assert_eq!(
        listed,
        rows.len(),
        "README.md's Generated names table has {listed} rows, this test checks {}",
        rows.len()
    );
    for (what, name, holds) in rows {
        let row = format!("| {what} | {name} |");
        assert!(
            section.contains(&row),
            "README.md's Generated names table has no row\n{row}"
        );
        assert!(
            *holds,
            "not what the code generates: {row}\n{ddl}\n{script}"
        );
    }

    // A `varchar = N` length is the type, not a check.
    assert!(ddl.contains("\"code\" varchar(20) NOT NULL"), "{ddl}");
    assert!(!ddl.contains("things_code_check"), "{ddl}");
    // Shortened: 54 bytes of the full name, `_`, eight hex digits of its hash.
    let long = "a_table_name_of_exactly_fifty_bytes_for_the_length_a_rather_long_column_name_key";
    let shortened = <Long as Table>::TABLE.unique_name(
        <Long as Table>::TABLE
            .column("a_rather_long_column_name")
            .unwrap(),
    );
    assert_eq!(shortened.len(), 63, "{shortened}");
    assert_eq!(&shortened[..54], &long[..54]);
    assert_eq!(&shortened[54..55], "_");
    assert!(
        shortened[55..].chars().all(|c| c.is_ascii_hexdigit()),
        "{shortened}"
    );
    assert!(
        ddl.contains(&format!("CONSTRAINT \"{shortened}\" UNIQUE")),
        "{ddl}"
    );
}

/// Whether the row types have the names the README lists.
fn row_types_are_named_as_listed() -> bool {
    use std::any::type_name;
    let names = [
        type_name::<<Thing as Table>::Insert>(),
        type_name::<<Thing as Table>::Select>(),
        type_name::<<Thing as Table>::Update>(),
        type_name::<<LineItem as Table>::Insert>(),
        type_name::<<LineItem as Table>::Select>(),
        type_name::<<LineItem as Table>::Update>(),
    ];
    let expected = [
        "InsertThing",
        "SelectThing",
        "UpdateThing",
        "NewLineItem",
        "LineItemRow",
        "LineItemPatch",
    ];
    names
        .iter()
        .zip(expected)
        .all(|(name, expected)| name.rsplit("::").next() == Some(expected))
}
