//! Every attribute key, listed once.

pub const PG: &str = "pg";

// Keys on a `#[derive(PgTable)]` struct.
pub const TABLE: &str = "table";
pub const SCHEMA: &str = "schema";
pub const INSERT: &str = "insert";
pub const SELECT: &str = "select";
pub const UPDATE: &str = "update";
pub const DERIVE: &str = "derive";
pub const INSERT_DERIVE: &str = "insert_derive";
pub const SELECT_DERIVE: &str = "select_derive";
pub const UPDATE_DERIVE: &str = "update_derive";
pub const PRIMARY_KEY: &str = "primary_key";
pub const INDEX: &str = "index";
pub const CHECK: &str = "check";
pub const CRATE: &str = "crate";
pub const ROW_LEVEL_SECURITY: &str = "row_level_security";
pub const POLICY: &str = "policy";
pub const GRANT: &str = "grant";
pub const FOREIGN_KEY: &str = "foreign_key";
/// On the struct: the table is the tenant root; its primary key is the tenant's key.
pub const TENANT_ROOT: &str = "tenant_root";
/// On the struct: the table is a reference table (the Citus target copies it to every node).
pub const REFERENCE: &str = "reference";
/// On the struct, a field, an `index(...)`, a `check(...)`, a `policy(...)` and a `PgEnum`
/// variant: the name (or text) the object had before.
pub const RENAMED_FROM: &str = "renamed_from";

pub const TABLE_KEYS: &[&str] = &[
    TABLE,
    SCHEMA,
    RENAMED_FROM,
    INSERT,
    SELECT,
    UPDATE,
    DERIVE,
    INSERT_DERIVE,
    SELECT_DERIVE,
    UPDATE_DERIVE,
    PRIMARY_KEY,
    UNIQUE,
    FOREIGN_KEY,
    INDEX,
    CHECK,
    ROW_LEVEL_SECURITY,
    POLICY,
    GRANT,
    TENANT_ROOT,
    REFERENCE,
    CRATE,
];

// Keys on a field of a `#[derive(PgTable)]` struct.
pub const RENAME: &str = "rename";
pub const UNIQUE: &str = "unique";
pub const VARCHAR: &str = "varchar";
pub const SQL_TYPE: &str = "sql_type";
pub const DEFAULT: &str = "default";
pub const DEFAULT_SQL: &str = "default_sql";
pub const UPDATE_SQL: &str = "update_sql";
pub const REFERENCES: &str = "references";
pub const ON_DELETE: &str = "on_delete";
pub const ON_UPDATE: &str = "on_update";
pub const RANGE: &str = "range";
pub const SENSITIVE: &str = "sensitive";
pub const INTERNAL: &str = "internal";
pub const IMMUTABLE: &str = "immutable";
pub const IDENTITY: &str = "identity";
pub const GENERATED: &str = "generated";
pub const DEFAULT_FN: &str = "default_fn";
pub const NUMERIC: &str = "numeric";
pub const CHAR: &str = "char";
pub const PRECISION: &str = "precision";
pub const CITEXT: &str = "citext";
pub const ENCRYPTED: &str = "encrypted";
pub const BLIND_INDEX: &str = "blind_index";
/// On a field: the column holds the tenant's key, `tenant = Provider` naming the tenant root.
pub const TENANT: &str = "tenant";

pub const FIELD_KEYS: &[&str] = &[
    RENAME,
    RENAMED_FROM,
    PRIMARY_KEY,
    UNIQUE,
    VARCHAR,
    SQL_TYPE,
    DEFAULT,
    DEFAULT_SQL,
    UPDATE_SQL,
    REFERENCES,
    ON_DELETE,
    ON_UPDATE,
    RANGE,
    SENSITIVE,
    INTERNAL,
    IMMUTABLE,
    IDENTITY,
    GENERATED,
    USING,
    DEFAULT_FN,
    NUMERIC,
    CHAR,
    PRECISION,
    CITEXT,
    ENCRYPTED,
    BLIND_INDEX,
    TENANT,
];

// Keys inside `identity(...)`.
pub const ALWAYS: &str = "always";
pub const BY_DEFAULT: &str = "by_default";
pub const START: &str = "start";
pub const INCREMENT: &str = "increment";
pub const MIN: &str = "min";
pub const MAX: &str = "max";
pub const CACHE: &str = "cache";
pub const CYCLE: &str = "cycle";
pub const IDENTITY_KEYS: &[&str] = &[ALWAYS, BY_DEFAULT, START, INCREMENT, MIN, MAX, CACHE, CYCLE];

// Keys inside `numeric(...)`.
pub const SCALE: &str = "scale";
pub const NUMERIC_KEYS: &[&str] = &[PRECISION, SCALE];

// Keys inside `blind_index(...)`.
pub const BITS: &str = "bits";
pub const POPULATION: &str = "population";
pub const NORMALIZE: &str = "normalize";
pub const BLIND_INDEX_KEYS: &[&str] = &[BITS, POPULATION, UNIQUE, NORMALIZE];

// Words inside `blind_index(normalize(...))`.
pub const TRIM: &str = "trim";
pub const LOWERCASE: &str = "lowercase";
pub const NORMALIZATIONS: &[&str] = &[TRIM, LOWERCASE];

// Keys inside `index(...)`.
pub const NAME: &str = "name";
pub const WHERE: &str = "where";
pub const EXPR: &str = "expr";
pub const INCLUDE: &str = "include";
pub const INDEX_KEYS: &[&str] = &[NAME, RENAMED_FROM, UNIQUE, USING, WHERE, EXPR, INCLUDE];
pub const OPCLASS: &str = "opclass";
pub const ASC: &str = "asc";
pub const DESC: &str = "desc";
pub const NULLS_FIRST: &str = "nulls_first";
pub const NULLS_LAST: &str = "nulls_last";
pub const INDEX_COLUMN_KEYS: &[&str] = &[ASC, DESC, NULLS_FIRST, NULLS_LAST, OPCLASS];

// Keys inside a struct's `unique(...)`, besides its fields.
pub const NULLS_NOT_DISTINCT: &str = "nulls_not_distinct";
pub const UNIQUE_KEYS: &[&str] = &[NAME, NULLS_NOT_DISTINCT];

// Keys inside `foreign_key(...)`.
pub const COLUMNS: &str = "columns";
pub const FOREIGN_KEY_KEYS: &[&str] = &[NAME, COLUMNS, REFERENCES, ON_DELETE, ON_UPDATE];

// Keys inside `check(...)`.
pub const SQL: &str = "sql";
pub const CHECK_KEYS: &[&str] = &[NAME, RENAMED_FROM, SQL];

// Keys inside `policy(...)`.
pub const COMMAND: &str = "command";
pub const TO: &str = "to";
pub const USING: &str = "using";
pub const WITH_CHECK: &str = "with_check";
pub const POLICY_KEYS: &[&str] = &[NAME, RENAMED_FROM, COMMAND, TO, USING, WITH_CHECK];

// Keys inside `grant(...)`.
pub const GRANT_KEYS: &[&str] = &[TO, INSERT, UPDATE];

/// The values `command` takes, with the command each names.
pub const POLICY_COMMANDS: &[(&str, &str)] = &[
    ("all", "All"),
    ("select", "Select"),
    ("insert", "Insert"),
    ("update", "Update"),
    ("delete", "Delete"),
];

// Keys on a `#[derive(PgEnum)]` enum and its variants.
pub const RENAME_ALL: &str = "rename_all";
/// On a `PgEnum` enum: a native enum type (`CREATE TYPE ... AS ENUM`), optionally named.
pub const NATIVE: &str = "native";
pub const ENUM_KEYS: &[&str] = &[RENAME_ALL, NATIVE, SCHEMA, CRATE];
pub const VARIANT_KEYS: &[&str] = &[RENAME, RENAMED_FROM];

/// The values `on_delete` / `on_update` take, with the action each names.
/// An index's `using = "..."`: PostgreSQL's name and the `IndexMethod` variant.
pub const INDEX_METHODS: &[(&str, &str)] = &[
    ("btree", "Btree"),
    ("hash", "Hash"),
    ("gin", "Gin"),
    ("gist", "Gist"),
    ("spgist", "SpGist"),
    ("brin", "Brin"),
];

pub const REFERENTIAL_ACTIONS: &[(&str, &str)] = &[
    ("no action", "NoAction"),
    ("restrict", "Restrict"),
    ("cascade", "Cascade"),
    ("set null", "SetNull"),
    ("set default", "SetDefault"),
];
