#!/usr/bin/env python3
"""Compile-cost benchmark: the same 41-table schema (40 tables shaped like `support_tickets`
plus the `providers` table they reference) declared with schema-core and with its peers.

Run through `run.sh` (see README.md there). Everything it generates lives under
`$BENCH_DIR` (default: benches/compile-time/target/), one standalone cargo package per
variant, each with its own `[workspace]` and its own target dir.

Environment:
  RUNS=5            timed rounds (each round: `cargo check` then `cargo build` per variant)
  VARIANTS=a,b      subset, from: schema-core, schema-core+serde, schema-core+serde+postgres,
                    diesel, sea-orm, drizzle, serde, plain (default: all)
  TABLES=40         ticket-like tables (the providers table comes on top)
  CLEAN=1           0 skips the clean build of each variant's dependency tree
  CLEAN_RUNS=1      clean builds per variant (interleaved like the timed runs; median)
  INCREMENTAL=0     1 keeps rustc's incremental cache for the timed runs (off by default: a
                    touched-but-unchanged crate would then mostly be loaded from the cache,
                    which is not the cost of compiling it)
  BENCH_DIR=...     where the generated packages go
  SCHEMA_CORE_REF=  unset: schema-core from the working tree (/work/main/schema-core), as a
                    user's path dependency sees it. A commit (e.g. HEAD): that commit, exported
                    read-only with `git archive` into $BENCH_DIR/snapshot, so that edits made
                    while the benchmark runs do not change what it measures
  GENERATE_ONLY=1   write the packages and stop
"""

import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCHEMA_CORE = REPO / "schema-core"   # replaced by a snapshot when SCHEMA_CORE_REF is set

ALL_VARIANTS = ["schema-core", "schema-core+serde", "schema-core+serde+postgres", "diesel", "sea-orm",
                "drizzle", "serde", "plain"]

# Versions: the newest that build with the machine's rustc 1.95 (drizzle >= 0.2 needs 1.98).
DIESEL = '"2.3"'
SEA_ORM = '"2.0.4"'
DRIZZLE = '"=0.1.16"'

# --------------------------------------------------------------------------------------------
# The schema, once, independent of any framework.
# --------------------------------------------------------------------------------------------

ENUMS = [
    # (suffix, doc, [(Variant, TEXT, doc)])
    ("Category", "What a ticket is about; assigned by the support team.", [
        ("Billing", "BILLING", "Claims, payments, invoices."),
        ("Technical", "TECHNICAL", "Errors and things that do not work."),
        ("Account", "ACCOUNT", "Sign-in, users, settings."),
        ("FeatureRequest", "FEATURE_REQUEST", "Something the platform does not do yet."),
    ]),
    ("Priority", "How urgent a ticket is.", [
        ("Low", "LOW", "Can wait."),
        ("Medium", "MEDIUM", "The default."),
        ("High", "HIGH", "Blocks part of the physician's work."),
        ("Urgent", "URGENT", "Blocks billing altogether."),
    ]),
    ("Status", "Where a ticket stands.", [
        ("Open", "OPEN", "Raised, not yet picked up."),
        ("InProgress", "IN_PROGRESS", "A support team member is working on it."),
        ("WaitingOnCustomer", "WAITING_ON_CUSTOMER", "Waiting for the physician's answer."),
        ("Resolved", "RESOLVED", "Solved; the physician may rate it."),
        ("Closed", "CLOSED", "Done."),
    ]),
]


class Col:
    def __init__(self, name, kind, doc, nullable=False, varchar=None, pk=False, fk=False,
                 default_sql=None, default_enum=None, enum=None, range_=None, unique=False,
                 default_bool=None):
        self.name, self.kind, self.doc, self.nullable = name, kind, doc, nullable
        self.varchar, self.pk, self.fk, self.unique = varchar, pk, fk, unique
        self.default_sql, self.default_enum, self.enum = default_sql, default_enum, enum
        self.range, self.default_bool = range_, default_bool

    @property
    def has_default(self):
        return bool(self.default_sql or self.default_enum or self.default_bool is not None)

    def rust_type(self, table=None):
        base = {
            "uuid": "Uuid",
            "string": "String",
            "json": "serde_json::Value",
            "ts": "DateTime<Utc>",
            "i32": "i32",
            "bool": "bool",
            "enum": table.enum_name(self.enum) if table else "",
        }[self.kind]
        return f"Option<{base}>" if self.nullable else base


def ticket_columns():
    return [
        Col("ticket_id", "uuid", "Unique identifier of the ticket.", pk=True,
            default_sql="gen_random_uuid()"),
        Col("provider_id", "uuid",
            "The physician who raised the ticket; they see only their own tickets.", fk=True),
        Col("subject", "string", "Auto-generated from context or physician-entered.", varchar=200),
        Col("description", "string", "Physician's description of the issue; may contain PHI."),
        Col("context_url", "string", "Page URL where Help was clicked.", nullable=True, varchar=500),
        Col("context_metadata", "json",
            "Auto-captured context: claim_id, batch_id, error codes, browser info. PHI-adjacent.",
            nullable=True),
        Col("category", "enum", "Assigned by the support team.", nullable=True, varchar=50,
            enum="Category"),
        Col("priority", "enum", "How urgent the ticket is.", varchar=10, enum="Priority",
            default_enum="Medium"),
        Col("status", "enum", "Where the ticket stands.", varchar=20, enum="Status",
            default_enum="Open"),
        Col("assigned_to", "string", "Support team member handling the ticket.", nullable=True,
            varchar=100),
        Col("resolution_notes", "string", "How the issue was resolved.", nullable=True),
        Col("resolved_at", "ts", "When the ticket was resolved.", nullable=True),
        Col("satisfaction_rating", "i32", "1-5 star rating from the physician.", nullable=True,
            range_=(1, 5)),
        Col("satisfaction_comment", "string", "Optional comment with the rating.", nullable=True),
        Col("screenshot_path", "string",
            "Path to the uploaded screenshot in encrypted storage; never exposed in API responses.",
            nullable=True, varchar=255),
        Col("created_at", "ts", "When the ticket was raised.", default_sql="now()"),
        Col("updated_at", "ts", "When the ticket last changed.", default_sql="now()"),
    ]


def provider_columns():
    return [
        Col("provider_id", "uuid", "Unique identifier of the provider.", pk=True,
            default_sql="gen_random_uuid()"),
        Col("npi", "string", "National Provider Identifier: ten digits.", varchar=10, unique=True),
        Col("first_name", "string", "Given name.", varchar=100),
        Col("last_name", "string", "Family name.", varchar=100),
        Col("email", "string", "Login and contact address.", varchar=255, unique=True),
        Col("practice_name", "string", "The practice the provider bills under.", nullable=True,
            varchar=200),
        Col("specialty", "string", "Medical specialty.", nullable=True, varchar=100),
        Col("is_active", "bool", "Whether the provider may sign in.", default_bool=True),
        Col("created_at", "ts", "When the provider was registered.", default_sql="now()"),
        Col("updated_at", "ts", "When the provider's row last changed.", default_sql="now()"),
    ]


# (columns, descending columns) per index, as in support.rs.
TICKET_INDEXES = [
    (["provider_id", "status"], []),
    (["provider_id", "created_at"], ["created_at"]),
    (["status", "priority"], []),
    (["assigned_to", "status"], []),
]
PROVIDER_INDEXES = [(["last_name", "first_name"], [])]


class Table:
    def __init__(self, n):
        self.n = n
        self.module = f"tickets_{n:02}"          # module and SQL table name
        self.name = f"tickets_{n:02}"
        self.struct = f"Ticket{n:02}"            # Rust type
        self.doc = (f"Support requests of queue {n}, raised from the page where the physician "
                    "clicked Help.")
        self.columns = ticket_columns()
        self.indexes = TICKET_INDEXES

    def enum_name(self, suffix):
        # TicketCategory01, not Ticket01Category: drizzle names its column types
        # {Table}{Field}, which would collide.
        return f"Ticket{suffix}{self.n:02}"


def tables(count):
    return [Table(n) for n in range(1, count + 1)]


PROVIDER_DOC = "A physician (or other billing provider) using the platform."


def doc(text, indent=""):
    return f"{indent}/// {text}\n"


def camel(snake):
    return "".join(p.capitalize() for p in snake.split("_"))


def write_package(root, name_deps, files):
    """Writes Cargo.toml and src/*; leaves a file alone when its content is unchanged."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "src").mkdir(exist_ok=True)
    wanted = {"Cargo.toml": name_deps}
    wanted.update({f"src/{k}": v for k, v in files.items()})
    for rel, text in wanted.items():
        path = root / rel
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    for path in (root / "src").glob("*.rs"):
        if f"src/{path.name}" not in wanted:
            path.unlink()


def cargo_toml(deps):
    return (
        "# Generated by benches/compile-time/bench.py; not part of the main workspace.\n"
        "[package]\nname = \"schema40\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n"
        "[lib]\npath = \"src/lib.rs\"\n\n"
        "[dependencies]\n" + deps + "\n"
        "# Its own workspace, so cargo does not attach it to /work/main's.\n[workspace]\n"
    )


def lib_rs(header, modules, extra=""):
    out = "//! 41 tables: `providers` and 40 ticket-like tables. Generated; do not edit.\n"
    out += "#![allow(dead_code, unexpected_cfgs, clippy::all)]\n\n" + header
    for m in modules:
        out += f"pub mod {m};\n"
    return out + extra


# --------------------------------------------------------------------------------------------
# 1. schema-core
# --------------------------------------------------------------------------------------------

def gen_schema_core(root, count, features):
    feat = (", features = [" + ", ".join('"%s"' % f for f in features) + "]") if features else ""
    deps = (f'schema-core = {{ path = "{SCHEMA_CORE}"{feat} }}\n'
            'uuid = { version = "1", default-features = false, features = ["std"] }\n'
            'chrono = { version = "0.4", default-features = false, features = ["std"] }\n'
            'serde_json = "1"\n')

    def pg_attr(c, table):
        parts = []
        if c.pk:
            parts.append("primary_key")
        if c.fk:
            parts.append("references = Provider::provider_id")
        if c.unique:
            parts.append("unique")
        if c.varchar:
            parts.append(f"varchar = {c.varchar}")
        if c.default_sql:
            parts.append(f'default_sql = "{c.default_sql}"')
        if c.default_enum:
            parts.append(f"default = {table.enum_name(c.enum)}::{c.default_enum}")
        if c.default_bool is not None:
            parts.append(f"default = {str(c.default_bool).lower()}")
        if c.range:
            parts.append(f"range = {c.range[0]}..={c.range[1]}")
        return f"    #[pg({', '.join(parts)})]\n" if parts else ""

    def index_attr(idx):
        cols, desc = idx
        return "index(" + ", ".join(f"{c}(desc)" if c in desc else c for c in cols) + ")"

    def struct(struct_name, table_name, tdoc, columns, indexes, table):
        s = doc(tdoc) + "#[derive(PgTable)]\n#[pg(\n"
        s += f'    table = "{table_name}",\n'
        s += "".join(f"    {index_attr(i)},\n" for i in indexes)
        s += ")]\n" + f"pub struct {struct_name} {{\n"
        for c in columns:
            s += doc(c.doc, "    ") + pg_attr(c, table)
            s += f"    pub {c.name}: {c.rust_type(table)},\n"
        return s + "}\n"

    files = {}
    files["providers.rs"] = (
        "use chrono::{DateTime, Utc};\nuse schema_core::PgTable;\nuse uuid::Uuid;\n\n"
        + struct("Provider", "providers", PROVIDER_DOC, provider_columns(), PROVIDER_INDEXES, None)
    )
    for t in tables(count):
        s = ("use chrono::{DateTime, Utc};\nuse schema_core::{PgEnum, PgTable};\nuse uuid::Uuid;\n\n"
             "use super::providers::Provider;\n\n")
        for suffix, edoc, variants in ENUMS:
            s += doc(edoc)
            s += "#[derive(PgEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]\n"
            s += '#[pg(rename_all = "SCREAMING_SNAKE_CASE")]\n'
            s += f"pub enum {t.enum_name(suffix)} {{\n"
            for v, _text, vdoc in variants:
                s += doc(vdoc, "    ") + f"    {v},\n"
            s += "}\n\n"
        s += struct(t.struct, t.name, t.doc, t.columns, t.indexes, t)
        files[f"{t.module}.rs"] = s
    schema_fn = ("\n/// Every table, in declaration order.\npub fn schema() -> schema_core::Schema {\n"
                 "    schema_core::Schema::new()\n        .table::<providers::Provider>()\n")
    schema_fn += "".join(f"        .table::<{t.module}::{t.struct}>()\n" for t in tables(count))
    schema_fn += "}\n"
    files["lib.rs"] = lib_rs("", ["providers"] + [t.module for t in tables(count)], schema_fn)
    write_package(root, cargo_toml(deps), files)


# --------------------------------------------------------------------------------------------
# 2. Diesel: schema.rs as `diesel print-schema` writes it, models and text enums per table.
# --------------------------------------------------------------------------------------------

def gen_diesel(root, count):
    # 17 columns need "32-column-tables" (the default limit is 16).
    deps = (f'diesel = {{ version = {DIESEL}, default-features = false, features = '
            '["postgres_backend", "uuid", "chrono", "serde_json", "32-column-tables"] }\n'
            'uuid = { version = "1", default-features = false, features = ["std"] }\n'
            'chrono = { version = "0.4", default-features = false, features = ["std"] }\n'
            'serde_json = "1"\n')

    def sql_type(c):
        t = {"uuid": "Uuid", "json": "Jsonb", "ts": "Timestamptz", "i32": "Int4", "bool": "Bool"}
        if c.kind in ("string", "enum"):
            base = "Varchar" if c.varchar else "Text"
        else:
            base = t[c.kind]
        return f"Nullable<{base}>" if c.nullable else base

    def table_macro(name, tdoc, columns):
        pk = next(c.name for c in columns if c.pk)
        s = "diesel::table! {\n" + doc(tdoc, "    ") + f"    {name} ({pk}) {{\n"
        for c in columns:
            s += doc(c.doc, "        ")
            if c.varchar:
                s += f"        #[max_length = {c.varchar}]\n"
            s += f"        {c.name} -> {sql_type(c)},\n"
        return s + "    }\n}\n\n"

    schema = "// @generated automatically by Diesel CLI.\n\n"
    schema += table_macro("providers", PROVIDER_DOC, provider_columns())
    for t in tables(count):
        schema += table_macro(t.name, t.doc, t.columns)
    for t in tables(count):
        schema += f"diesel::joinable!({t.name} -> providers (provider_id));\n"
    schema += "\ndiesel::allow_tables_to_appear_in_same_query!(\n    providers,\n"
    schema += "".join(f"    {t.name},\n" for t in tables(count)) + ");\n"

    def models(struct_name, table_name, columns, prefix):
        s = f"#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]\n"
        s += f"#[diesel(table_name = crate::schema::{table_name})]\n"
        s += "#[diesel(check_for_backend(diesel::pg::Pg))]\n"
        s += f"pub struct {struct_name} {{\n"
        for c in columns:
            s += doc(c.doc, "    ") + f"    pub {c.name}: {c.rust_type(prefix)},\n"
        s += "}\n\n"
        s += f"#[derive(Debug, Clone, PartialEq, Insertable)]\n"
        s += f"#[diesel(table_name = crate::schema::{table_name})]\n"
        s += f"pub struct New{struct_name} {{\n"
        for c in columns:
            ty = c.rust_type(prefix)
            if c.has_default and not c.nullable:
                ty = f"Option<{ty}>"
            s += doc(c.doc, "    ") + f"    pub {c.name}: {ty},\n"
        return s + "}\n"

    head = ("use chrono::{DateTime, Utc};\nuse diesel::prelude::*;\nuse uuid::Uuid;\n\n")
    files = {"schema.rs": schema,
             "providers.rs": head + doc(PROVIDER_DOC) + models("Provider", "providers",
                                                                provider_columns(), None)}
    for t in tables(count):
        s = ("use std::io::Write;\n\nuse chrono::{DateTime, Utc};\n"
             "use diesel::deserialize::{self, FromSql, FromSqlRow};\n"
             "use diesel::expression::AsExpression;\n"
             "use diesel::pg::{Pg, PgValue};\nuse diesel::prelude::*;\n"
             "use diesel::serialize::{self, IsNull, Output, ToSql};\n"
             "use diesel::sql_types::Text;\nuse uuid::Uuid;\n\n")
        for suffix, edoc, variants in ENUMS:
            e = f"{t.enum_name(suffix)}"
            s += doc(edoc)
            s += "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]\n"
            s += "#[diesel(sql_type = Text)]\n"
            s += f"pub enum {e} {{\n"
            for v, _text, vdoc in variants:
                s += doc(vdoc, "    ") + f"    {v},\n"
            s += "}\n\n"
            s += f"impl ToSql<Text, Pg> for {e} {{\n"
            s += "    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {\n"
            s += "        let text = match self {\n"
            s += "".join(f'            Self::{v} => "{text}",\n' for v, text, _ in variants)
            s += "        };\n        out.write_all(text.as_bytes())?;\n        Ok(IsNull::No)\n    }\n}\n\n"
            s += f"impl FromSql<Text, Pg> for {e} {{\n"
            s += "    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {\n"
            s += "        match bytes.as_bytes() {\n"
            s += "".join(f'            b"{text}" => Ok(Self::{v}),\n' for v, text, _ in variants)
            s += f'            _ => Err("unrecognized {e} value".into()),\n'
            s += "        }\n    }\n}\n\n"
        s += doc(t.doc) + models(t.struct, t.name, t.columns, t)
        files[f"{t.module}.rs"] = s
    files["lib.rs"] = lib_rs("", ["schema", "providers"] + [t.module for t in tables(count)])
    write_package(root, cargo_toml(deps), files)


# --------------------------------------------------------------------------------------------
# 3. SeaORM: one module per entity, as sea-orm-cli writes them.
# --------------------------------------------------------------------------------------------

def gen_sea_orm(root, count):
    deps = (f'sea-orm = {{ version = {SEA_ORM}, default-features = false, features = '
            '["macros", "with-uuid", "with-chrono", "with-json"] }\n'
            'uuid = { version = "1", default-features = false, features = ["std"] }\n'
            'chrono = { version = "0.4", default-features = false, features = ["std"] }\n'
            'serde_json = "1"\n')

    def col_attr(c, prefix):
        parts = []
        if c.pk:
            parts += ["primary_key", "auto_increment = false"]
        if c.kind == "string":
            parts.append(f'column_type = "String(StringLen::N({c.varchar}))"' if c.varchar
                         else 'column_type = "Text"')
        if c.kind == "json":
            parts.append('column_type = "JsonBinary"')
        if c.nullable:
            parts.append("nullable")
        if c.unique:
            parts.append("unique")
        if c.default_sql:
            parts.append(f'default_expr = "Expr::cust(\\"{c.default_sql}\\")"')
        if c.default_enum:
            variants = next(vs for suffix, _, vs in ENUMS if suffix == c.enum)
            text = next(t for v, t, _ in variants if v == c.default_enum)
            parts.append(f'default_value = "{text}"')
        if c.default_bool is not None:
            parts.append(f"default_value = {str(c.default_bool).lower()}")
        if c.range:
            parts.append(f'extra = "CHECK ({c.name} BETWEEN {c.range[0]} AND {c.range[1]})"')
        return f"    #[sea_orm({', '.join(parts)})]\n" if parts else ""

    def rust_type(c, prefix):
        if c.kind == "json":
            base = "Json"
        elif c.kind == "ts":
            base = "DateTimeUtc"
        else:
            return c.rust_type(prefix)
        return f"Option<{base}>" if c.nullable else base

    def model(table_name, tdoc, columns, prefix):
        s = doc(tdoc) + "#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]\n"
        s += f'#[sea_orm(table_name = "{table_name}")]\npub struct Model {{\n'
        for c in columns:
            s += doc(c.doc, "    ") + col_attr(c, prefix)
            s += f"    pub {c.name}: {rust_type(c, prefix)},\n"
        return s + "}\n\n"

    ts = tables(count)
    files = {}
    p = "use sea_orm::entity::prelude::*;\n\n" + model("providers", PROVIDER_DOC, provider_columns(), None)
    p += "#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]\npub enum Relation {\n"
    for t in ts:
        p += f'    #[sea_orm(has_many = "super::{t.module}::Entity")]\n    {camel(t.module)},\n'
    p += "}\n\n"
    for t in ts:
        p += (f"impl Related<super::{t.module}::Entity> for Entity {{\n"
              f"    fn to() -> RelationDef {{\n        Relation::{camel(t.module)}.def()\n    }}\n}}\n\n")
    p += "impl ActiveModelBehavior for ActiveModel {}\n"
    files["providers.rs"] = p
    for t in ts:
        s = "use sea_orm::entity::prelude::*;\n\n"
        for suffix, edoc, variants in ENUMS:
            vlen = {"Category": 50, "Priority": 10, "Status": 20}[suffix]
            s += doc(edoc)
            s += "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]\n"
            s += f'#[sea_orm(rs_type = "String", db_type = "String(StringLen::N({vlen}))")]\n'
            s += f"pub enum {t.enum_name(suffix)} {{\n"
            for v, text, vdoc in variants:
                s += doc(vdoc, "    ") + f'    #[sea_orm(string_value = "{text}")]\n    {v},\n'
            s += "}\n\n"
        s += model(t.name, t.doc, t.columns, t)
        s += ("#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]\npub enum Relation {\n"
              "    #[sea_orm(\n        belongs_to = \"super::providers::Entity\",\n"
              "        from = \"Column::ProviderId\",\n"
              "        to = \"super::providers::Column::ProviderId\"\n    )]\n    Providers,\n}\n\n"
              "impl Related<super::providers::Entity> for Entity {\n"
              "    fn to() -> RelationDef {\n        Relation::Providers.def()\n    }\n}\n\n"
              "impl ActiveModelBehavior for ActiveModel {}\n")
        files[f"{t.module}.rs"] = s
    files["lib.rs"] = lib_rs("", ["providers"] + [t.module for t in ts])
    write_package(root, cargo_toml(deps), files)


# --------------------------------------------------------------------------------------------
# 4. drizzle-rs: #[PostgresTable], #[derive(PostgresEnum)], #[PostgresIndex], PostgresSchema.
# --------------------------------------------------------------------------------------------

def gen_drizzle(root, count):
    # "postgres" without a driver feature: no libpq, no tokio. "serde" is needed for jsonb.
    deps = (f'drizzle = {{ version = {DRIZZLE}, default-features = false, features = '
            '["std", "postgres", "uuid", "chrono", "serde"] }\n'
            'uuid = { version = "1", default-features = false, features = ["std"] }\n'
            'chrono = { version = "0.4", default-features = false, features = ["std"] }\n'
            'serde_json = "1"\n')

    def col_attr(c, struct_prefix):
        parts = []
        if c.pk:
            parts.append("primary")
        if c.unique:
            parts.append("unique")
        if c.fk:
            parts.append("references = Providers::provider_id")
        if c.kind == "json":
            parts.append("jsonb")
        if c.kind == "enum":
            parts.append("enum")
        if c.default_sql:
            parts.append(f'default_sql = "{c.default_sql}"')
        if c.default_enum:
            parts.append(f'default = "{c.default_enum}"')
        if c.default_bool is not None:
            parts.append(f"default = {str(c.default_bool).lower()}")
        if c.range:
            parts.append(f'check = "{c.name} BETWEEN {c.range[0]} AND {c.range[1]}"')
        return f"    #[column({', '.join(parts)})]\n" if parts else ""

    def struct(name, table_name, tdoc, columns, prefix):
        s = doc(tdoc) + f'#[PostgresTable(name = "{table_name}")]\npub struct {name} {{\n'
        for c in columns:
            s += doc(c.doc, "    ") + col_attr(c, prefix) + f"    pub {c.name}: {c.rust_type(prefix)},\n"
        return s + "}\n"

    def indexes(struct_name, idxs):
        s = ""
        for cols, _desc in idxs:  # drizzle's index macro has no per-column ordering
            iname = struct_name + "".join(camel(c) for c in cols) + "Idx"
            s += f"\n#[PostgresIndex]\npub struct {iname}("
            s += ", ".join(f"{struct_name}::{c}" for c in cols) + ");\n"
        return s

    head = "use chrono::{DateTime, Utc};\nuse drizzle::postgres::prelude::*;\nuse uuid::Uuid;\n\n"
    ts = tables(count)
    files = {"providers.rs": head + struct("Providers", "providers", PROVIDER_DOC,
                                           provider_columns(), None) + indexes("Providers", PROVIDER_INDEXES)}
    for t in ts:
        s = head + "use super::providers::{Providers, ProvidersProviderId};\n\n"
        for suffix, edoc, variants in ENUMS:
            s += doc(edoc)
            s += "#[derive(PostgresEnum, Default, Clone, Copy, Debug, PartialEq, Eq, Hash)]\n"
            s += f"pub enum {t.enum_name(suffix)} {{\n"
            for i, (v, _text, vdoc) in enumerate(variants):
                s += doc(vdoc, "    ") + ("    #[default]\n" if i == 0 else "") + f"    {v},\n"
            s += "}\n\n"
        s += struct(t.struct, t.name, t.doc, t.columns, t) + indexes(t.struct, t.indexes)
        files[f"{t.module}.rs"] = s
    schema = "\n/// Every table and index, for migrations and `Drizzle::new`.\n"
    schema += "#[derive(PostgresSchema)]\npub struct Schema {\n    pub providers: providers::Providers,\n"
    for cols, _ in PROVIDER_INDEXES:
        iname = "Providers" + "".join(camel(c) for c in cols) + "Idx"
        schema += f"    pub {camel_to_snake(iname)}: providers::{iname},\n"
    for t in ts:
        schema += f"    pub {t.module}: {t.module}::{t.struct},\n"
        for cols, _ in t.indexes:
            iname = t.struct + "".join(camel(c) for c in cols) + "Idx"
            schema += f"    pub {camel_to_snake(iname)}: {t.module}::{iname},\n"
    schema += "}\n"
    files["lib.rs"] = lib_rs("use drizzle::postgres::prelude::*;\n\n",
                             ["providers"] + [t.module for t in ts], schema)
    write_package(root, cargo_toml(deps), files)


def camel_to_snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --------------------------------------------------------------------------------------------
# 5. serde (the familiar reference) and 6. plain structs (the floor)
# --------------------------------------------------------------------------------------------

def gen_plain(root, count, serde):
    deps = ('uuid = { version = "1", default-features = false, features = ["std"%s] }\n'
            'chrono = { version = "0.4", default-features = false, features = ["std"%s] }\n'
            'serde_json = "1"\n') % ((', "serde"',) * 2 if serde else ("",) * 2)
    if serde:
        deps += 'serde = { version = "1", features = ["derive"] }\n'
    derive = "#[derive(Serialize, Deserialize)]\n" if serde else ""
    enum_derive = ("#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]\n"
                   '#[serde(rename_all = "SCREAMING_SNAKE_CASE")]\n') if serde else ""
    head = "use chrono::{DateTime, Utc};\n"
    head += "use serde::{Deserialize, Serialize};\n" if serde else ""
    head += "use uuid::Uuid;\n\n"

    def struct(name, tdoc, columns, prefix):
        s = doc(tdoc) + derive + f"pub struct {name} {{\n"
        for c in columns:
            s += doc(c.doc, "    ") + f"    pub {c.name}: {c.rust_type(prefix)},\n"
        return s + "}\n"

    files = {"providers.rs": head + struct("Provider", PROVIDER_DOC, provider_columns(), None)}
    for t in tables(count):
        s = head
        for suffix, edoc, variants in ENUMS:
            s += doc(edoc) + enum_derive + f"pub enum {t.enum_name(suffix)} {{\n"
            for v, _text, vdoc in variants:
                s += doc(vdoc, "    ") + f"    {v},\n"
            s += "}\n\n"
        s += struct(t.struct, t.doc, t.columns, t)
        files[f"{t.module}.rs"] = s
    files["lib.rs"] = lib_rs("", ["providers"] + [t.module for t in tables(count)])
    write_package(root, cargo_toml(deps), files)


GENERATORS = {
    "schema-core": lambda r, n: gen_schema_core(r, n, []),
    "schema-core+serde": lambda r, n: gen_schema_core(r, n, ["serde"]),
    # What an application enables: JSON rows and typed reads and writes over tokio-postgres.
    "schema-core+serde+postgres": lambda r, n: gen_schema_core(r, n, ["serde", "postgres"]),
    "diesel": gen_diesel,
    "sea-orm": gen_sea_orm,
    "drizzle": gen_drizzle,
    "serde": lambda r, n: gen_plain(r, n, serde=True),
    "plain": lambda r, n: gen_plain(r, n, serde=False),
}


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Variant:
    def __init__(self, name, root, incremental):
        self.name, self.root = name, root
        self.env = dict(os.environ)
        self.env["CARGO_TARGET_DIR"] = str(root / "target")   # its own, across all runs
        self.env["CARGO_INCREMENTAL"] = "1" if incremental else "0"
        self.env.pop("RUSTC_WRAPPER", None)                   # no sccache in the way
        self.env.pop("CARGO_BUILD_RUSTC_WRAPPER", None)
        # Each entry: (wall seconds, CPU seconds of cargo and the rustc processes it ran).
        self.runs = {"check": [], "build": [], "clean": []}
        self.crates = self.tree = None
        self.error = None
        self.lib = root / "src" / "lib.rs"
        self.saved_lib = None

    def cargo(self, *args, offline=True):
        cmd = ["cargo", *args]
        if offline:
            cmd.append("--offline")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=self.root, env=self.env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return (wall, cpu), proc

    def must(self, *args, offline=True):
        secs, proc = self.cargo(*args, offline=offline)
        if proc.returncode != 0:
            raise RuntimeError(f"`cargo {' '.join(args)}` failed in {self.root}:\n"
                               + tail(proc.stderr, 40))
        return secs, proc

    def touch(self):
        os.utime(self.lib)

    def warm(self):
        """Builds and checks the whole package once: proves it compiles, and leaves every
        dependency built for both `cargo build` and `cargo check`."""
        self.must("build", offline=False)
        self.must("check")

    # The clean build times the dependency tree alone: `lib.rs` is emptied meanwhile, so that
    # schema40 itself costs nothing.
    def empty_lib(self):
        self.saved_lib = self.lib.read_text()
        self.lib.write_text("//! empty: the clean build times the dependencies alone\n")

    def restore_lib(self):
        if self.saved_lib is not None:
            self.lib.write_text(self.saved_lib)
            self.saved_lib = None

    def clean_build(self):
        self.must("clean")
        secs, proc = self.must("build")
        self.runs["clean"].append(secs)
        compiled = [l for l in proc.stderr.splitlines() if l.strip().startswith("Compiling ")]
        self.crates = len([l for l in compiled if " schema40 " not in l])

    def after_clean(self):
        """With the empty lib still in place: the dependencies for `cargo check` too, so that
        afterwards only schema40 is left to compile in either mode."""
        self.must("check")
        _, tree = self.must("tree", "--prefix", "none", "-e", "normal,build")
        self.tree = len({l.replace(" (*)", "").strip() for l in tree.stdout.splitlines()
                         if l.strip()}) - 1

    def timed(self, what):
        self.touch()
        secs, proc = self.cargo(what)
        if proc.returncode != 0:
            raise RuntimeError(f"`cargo {what}` failed:\n" + tail(proc.stderr, 40))
        # Only schema40 may have been compiled; anything else means the run was not warm.
        others = [l for l in proc.stderr.splitlines()
                  if l.strip().startswith(("Compiling ", "Checking ")) and " schema40 " not in l]
        if others:
            log(f"  warning: {self.name}: `cargo {what}` also rebuilt: {others[:3]}")
        if not any(" schema40 " in l for l in proc.stderr.splitlines()):
            raise RuntimeError(f"`cargo {what}` did not recompile schema40 after the touch")
        self.runs[what].append(secs)

    def median(self, what, i=0):
        values = [r[i] for r in self.runs[what]]
        return statistics.median(values) if values else None


def git(*args):
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def tail(text, n):
    return "\n".join(text.splitlines()[-n:])


def machine():
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    cargo = subprocess.run(["cargo", "--version"], capture_output=True, text=True).stdout.strip()
    return os.cpu_count(), model, rustc, cargo


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def rotate(items, r):
    return items[r % len(items):] + items[:r % len(items)] if items else []


def main():
    # A SIGTERM still restores any emptied lib.rs (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs = int(os.environ.get("RUNS", "5"))
    clean_runs = int(os.environ.get("CLEAN_RUNS", "1")) if os.environ.get("CLEAN", "1") != "0" else 0
    count = int(os.environ.get("TABLES", "40"))
    incremental = os.environ.get("INCREMENTAL", "0") == "1"
    bench_dir = Path(os.environ.get("BENCH_DIR", HERE / "target")).resolve()
    wanted = [v.strip() for v in os.environ.get("VARIANTS", ",".join(ALL_VARIANTS)).split(",")
              if v.strip()]
    unknown = [v for v in wanted if v not in GENERATORS]
    if unknown:
        sys.exit(f"unknown variant(s) {unknown}; known: {', '.join(ALL_VARIANTS)}")

    global SCHEMA_CORE
    ref = os.environ.get("SCHEMA_CORE_REF", "").strip()
    if ref and any(v.startswith("schema-core") for v in wanted):
        snap = bench_dir / "snapshot"
        commit = git("rev-parse", ref)
        marker = snap / ".commit"
        if not marker.exists() or marker.read_text() != commit:
            shutil.rmtree(snap, ignore_errors=True)
            snap.mkdir(parents=True)
            archive = subprocess.run(["git", "-C", str(REPO), "archive", commit],
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(snap)], input=archive, check=True)
            marker.write_text(commit)
        SCHEMA_CORE = snap / "schema-core"
        source = f"commit {commit[:12]} of {REPO} (exported to {snap})"
    else:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--", "schema-core", "schema-derive", "Cargo.toml")
        source = (f"working tree of {REPO} at {commit[:12]}"
                  + (" with uncommitted changes to schema-core/schema-derive" if dirty else ""))

    variants = []
    for name in wanted:
        root = bench_dir / name.replace("+", "-")
        GENERATORS[name](root, count)
        variants.append(Variant(name, root, incremental))
    log(f"generated {len(variants)} package(s) under {bench_dir}")
    if os.environ.get("GENERATE_ONLY") == "1":
        return
    load_start = os.getloadavg()
    started = time.perf_counter()

    dropped = []

    def drop(v, e):
        v.error = str(e)
        dropped.append(v)
        log(f"  DROPPED {v.name}:\n{e}")

    for v in variants:
        log(f"warming {v.name} (cargo build + cargo check) ...")
        try:
            v.warm()
        except RuntimeError as e:
            drop(v, e)
    variants = [v for v in variants if v.error is None]

    if clean_runs:
        try:
            for v in variants:
                v.empty_lib()
            for r in range(clean_runs):
                for v in rotate(variants, r):
                    log(f"clean build of {v.name}'s dependency tree ({r + 1}/{clean_runs}) ...")
                    v.clean_build()
                    log(f"  {v.runs['clean'][-1][0]:.1f}s, {v.crates} crates compiled")
            for v in variants:
                v.after_clean()
        finally:
            for v in variants:
                v.restore_lib()

    for r in range(runs):
        for v in rotate(variants, r):   # round-robin, starting one variant further each round
            try:
                v.timed("check")
                v.timed("build")
            except RuntimeError as e:
                drop(v, e)
        variants = [v for v in variants if v.error is None]
        log(f"round {r + 1}/{runs}: " + ", ".join(
            f"{v.name} {v.runs['check'][-1][0]:.2f}/{v.runs['build'][-1][0]:.2f}s"
            for v in variants))

    report(variants, dropped, count, runs, clean_runs, incremental, bench_dir, source,
           load_start, time.perf_counter() - started)


def report(variants, dropped, count, runs, clean_runs, incremental, bench_dir, source,
           load_start, elapsed):
    nproc, model, rustc, cargo = machine()
    by = {v.name: v for v in variants}

    def med(name, what, i=0):
        return by[name].median(what, i) if name in by else None

    print(f"# Compile cost of a {count + 1}-table schema ({count} tables like support_tickets "
          "+ providers)\n")
    print(f"- machine: {nproc} cores, {model}")
    print(f"- {rustc}; {cargo}")
    print(f"- load average (1 min) at start / end: {load_start[0]:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"- timed runs: {runs} per variant, round-robin across variants; `touch src/lib.rs` "
          f"before each; CARGO_INCREMENTAL={'1' if incremental else '0'}; dev profile; "
          f"clean builds of the dependency tree: {clean_runs} per variant")
    print(f"- schema-core: {source}")
    print(f"- generated packages: {bench_dir}; whole run {elapsed / 60:.1f} min\n")
    print("Wall-clock medians. \"CPU\" is user+sys time of cargo and its rustc processes, "
          "which another load on the machine inflates less than wall time.\n")
    print("| variant | check median (s) | build median (s) | check ratio vs serde "
          "| check ratio vs Diesel | build ratio vs serde | check CPU (s) | build CPU (s) "
          "| clean build of deps (s) | clean deps CPU (s) | crates compiled | crates in tree |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for v in variants:
        c, b = v.median("check"), v.median("build")
        print(f"| {v.name} | {fmt(c)} | {fmt(b)} | {fmt(ratio(c, med('serde', 'check')))} | "
              f"{fmt(ratio(c, med('diesel', 'check')))} | "
              f"{fmt(ratio(b, med('serde', 'build')))} | {fmt(v.median('check', 1))} | "
              f"{fmt(v.median('build', 1))} | {fmt(v.median('clean'), 1)} | "
              f"{fmt(v.median('clean', 1), 1)} | {v.crates if v.crates is not None else '—'} | "
              f"{v.tree if v.tree is not None else '—'} |")
    for v in dropped:
        first = next((l for l in v.error.splitlines() if "error" in l), v.error.splitlines()[0])
        print(f"| {v.name} | dropped: {first.strip()[:120]} | | | | | | | | | | |")
    print()
    print("Every run, wall seconds (CPU seconds):\n")
    for v in variants:
        parts = [f"{what} " + " ".join(f"{w:.2f} ({c:.2f})" for w, c in v.runs[what])
                 for what in ("check", "build", "clean") if v.runs[what]]
        print(f"- {v.name}: " + "; ".join(parts))
    print()

    if "schema-core" not in by:
        print("Targets: schema-core was not measured.")
        return

    def line(ok, text):
        status = "n/a " if ok is None else ("PASS" if ok else "FAIL")
        print(f"- {status} {text}")

    def cpu_note(a, b, what="check"):
        r = ratio(med(a, what, 1), med(b, what, 1))
        return "" if r is None else f" (CPU time: {r:.2f}×)"

    print("Targets (wall-clock medians; schema-core with default features unless a feature is "
          "named):\n")
    c = med("schema-core", "check")
    r = ratio(c, med("serde", "check"))
    line(None if r is None else r <= 1.5,
         f"`cargo check` at most 1.5× serde: {fmt(r)}×{cpu_note('schema-core', 'serde')}")
    r = ratio(c, med("diesel", "check"))
    line(None if r is None else r <= 0.25,
         f"`cargo check` at most 0.25× Diesel: {fmt(r)}×{cpu_note('schema-core', 'diesel')}")
    for peer in ("sea-orm", "drizzle"):
        other = med(peer, "check")
        line(None if other is None else c < other,
             f"`cargo check` below {peer}: {fmt(c)}s vs {fmt(other)}s")
    c = med("schema-core+serde", "check")
    r = ratio(c, med("serde", "check"))
    line(None if r is None else r <= 1.5,
         f"`cargo check` with the `serde` feature at most 1.5× serde: {fmt(r)}×"
         f"{cpu_note('schema-core+serde', 'serde')}")
    r = ratio(med("schema-core+serde+postgres", "check"), med("serde", "check"))
    print(f"- (no target) `cargo check` with the `serde` and `postgres` features: {fmt(r)}× serde"
          f"{cpu_note('schema-core+serde+postgres', 'serde')}")
    a, b = med("schema-core", "clean"), med("serde", "clean")
    line(None if a is None or b is None else a <= b,
         f"clean build of the dependency tree no slower than serde's (with its derive): "
         f"{fmt(a, 1)}s vs {fmt(b, 1)}s{cpu_note('schema-core', 'serde', 'clean')}")


if __name__ == "__main__":
    main()
