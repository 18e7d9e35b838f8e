//! The model of a live database, read from `pg_catalog`: expressions as the server prints them
//! (`pg_get_expr`), privileges from the access lists (`aclexplode`), limited to the objects a
//! schema manages.

use tokio_postgres::GenericClient;

use super::PgError;
use crate::def::{PolicyCommand, ReferentialAction};
use crate::model::{
    CheckModel, ColumnModel, EnumModel, ForeignKeyModel, GrantModel, IdentityModel, ImmutableGuard,
    IndexKeyModel, IndexModel, IndexPart, KeyModel, NamespaceModel, PartitionOf, PolicyModel,
    ReplicaIdentity, SchemaModel, TableModel, FORMAT_VERSION,
};
use crate::sql::{constraint_name, quote_qualified, split_qualified};

/// The table migrations are recorded in (see `migrate::apply`); never listed as unmanaged.
pub const HISTORY_TABLE: &str = "schema_migrations";

/// What a schema manages, by name: the tables (with the names they had before) and the roles.
/// Reading a database is limited to these; other tables of the schema are listed as
/// unmanaged, and grants to other roles are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// The tables, current names first, then the names they had before.
    pub tables: Vec<String>,
    /// The roles.
    pub roles: Vec<String>,
    /// The native enum types, besides those the tables' columns use.
    pub enums: Vec<String>,
    /// The extensions (only whether each is installed is read; what it creates is its own).
    pub extensions: Vec<String>,
    /// The PostgreSQL schemas, besides those the tables and enum types are in: a schema that
    /// holds none of them (yet, or any more) is read all the same.
    pub namespaces: Vec<String>,
}

impl Scope {
    /// What either model manages: for reading a database that is to go from one to the other.
    pub fn of_both(from: &SchemaModel, to: &SchemaModel) -> Self {
        let mut scope = Scope::of(from);
        let other = Scope::of(to);
        for table in other.tables {
            if !scope.tables.contains(&table) {
                scope.tables.push(table);
            }
        }
        for role in other.roles {
            if !scope.roles.contains(&role) {
                scope.roles.push(role);
            }
        }
        for e in other.enums {
            if !scope.enums.contains(&e) {
                scope.enums.push(e);
            }
        }
        for e in other.extensions {
            if !scope.extensions.contains(&e) {
                scope.extensions.push(e);
            }
        }
        for n in other.namespaces {
            if !scope.namespaces.contains(&n) {
                scope.namespaces.push(n);
            }
        }
        scope
    }

    /// The model's name of a relation read as `schema.name` (`full`), in the session's current
    /// schema or not (`current`): qualified where the scope names it so (a declared schema,
    /// even when it is the current one), else bare in the current schema.
    pub fn name_of(&self, full: &str, current: bool) -> String {
        model_name(&self.tables, full, current)
    }

    /// The model's name of a native enum type read as `schema.name`, as [`Scope::name_of`]
    /// names a relation: qualified where the scope names it so, else bare in the current schema.
    pub fn enum_name_of(&self, full: &str, current: bool) -> String {
        model_name(&self.enums, full, current)
    }

    /// The PostgreSQL schemas the tables and the native enum types are in, besides the current
    /// one: those their qualified names (`billing.invoices`, `ledger.entry_kind`) name, in
    /// order; then the scope's other schemas ([`Scope::namespaces`](Scope#structfield.namespaces)).
    pub fn namespaces(&self) -> Vec<String> {
        let mut namespaces: Vec<String> = Vec::new();
        let named = self
            .tables
            .iter()
            .chain(&self.enums)
            .filter_map(|name| split_qualified(name).0);
        for schema in named.chain(self.namespaces.iter().map(String::as_str)) {
            if !namespaces.iter().any(|n| n == schema) {
                namespaces.push(schema.into());
            }
        }
        namespaces
    }

    /// What `model` manages: its tables, the names they had before, and its roles.
    pub fn of(model: &SchemaModel) -> Self {
        let mut tables: Vec<String> = model.tables.iter().map(|t| t.name.clone()).collect();
        for table in &model.tables {
            if let Some(old) = &table.renamed_from {
                if !tables.contains(old) {
                    tables.push(old.clone());
                }
            }
        }
        Scope {
            tables,
            roles: model.roles.clone(),
            enums: model.enums.iter().map(|e| e.name.clone()).collect(),
            extensions: model.extensions.clone(),
            namespaces: model.namespaces.iter().map(|n| n.name.clone()).collect(),
        }
    }
}

/// The model's name of an object read as `schema.name` (`full`), in the session's current
/// schema or not (`current`): qualified where `declared` names it so, else bare in the current
/// schema.
fn model_name(declared: &[String], full: &str, current: bool) -> String {
    let (schema, bare) = full.split_once('.').unwrap_or(("", full));
    if current && !declared.iter().any(|t| t == full) {
        bare.to_string()
    } else {
        crate::sql::qualify(Some(schema), bare)
    }
}

/// The relation `{c}` (a `pg_class` row) as `schema.name`, and whether its schema is the
/// session's current one (never, for a session that has none: an empty search path, or one of
/// schemas that do not exist): [`Scope::name_of`] makes the model's name of the two.
const FULL_NAME: &str = "(SELECT n.nspname::text || '.' || {c}.relname::text \
     FROM pg_catalog.pg_namespace n WHERE n.oid = {c}.relnamespace), \
     COALESCE({c}.relnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n \
                                   WHERE n.nspname = pg_catalog.current_schema()), false)";

/// Reads the model of the database `client` is connected to, in its current schema
/// (`current_schema()`) and the PostgreSQL schemas the scope's tables are declared in, limited
/// to `scope`: the tables it names, in its order, and the roles it names that exist. Tables of
/// those schemas it does not name are listed in [`SchemaModel::unmanaged_tables`].
pub async fn read_model<C: GenericClient>(
    client: &C,
    scope: &Scope,
) -> Result<SchemaModel, PgError> {
    let namespaces = scope.namespaces();
    let rows = client
        .query(
            &format!(
                "SELECT c.oid, {}, obj_description(c.oid, 'pg_class'), \
                        c.relrowsecurity, c.relforcerowsecurity, \
                        CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, \
                        (SELECT ARRAY[{}::text] FROM pg_catalog.pg_inherits h \
                         JOIN pg_catalog.pg_class p ON p.oid = h.inhparent \
                         WHERE h.inhrelid = c.oid AND c.relispartition), \
                        CASE WHEN c.relispartition \
                             THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END, \
                        c.relreplident::text, \
                        (SELECT i.relname::text FROM pg_catalog.pg_index x \
                         JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
                         WHERE x.indrelid = c.oid AND x.indisreplident) \
                 FROM pg_catalog.pg_class c \
                 WHERE c.relnamespace IN (SELECT n.oid FROM pg_catalog.pg_namespace n \
                        WHERE n.nspname = pg_catalog.current_schema() OR n.nspname = ANY($1)) \
                   AND c.relkind IN ('r', 'p') \
                 ORDER BY 2",
                FULL_NAME.replace("{c}", "c"),
                FULL_NAME.replace("{c}", "p"),
            ),
            &[&namespaces],
        )
        .await?;
    let mut found = Vec::new();
    let mut unmanaged_tables = Vec::new();
    for row in rows {
        let name = scope.name_of(&row.get::<_, String>(1), row.get(2));
        if scope.tables.contains(&name) {
            found.push((row, name));
        } else if name != HISTORY_TABLE {
            unmanaged_tables.push(name);
        }
    }
    unmanaged_tables.sort();
    found.sort_by_key(|(_, name)| scope.tables.iter().position(|t| t == name));
    // One query per kind of object for every table at once: a schema of 40 tables costs
    // eight round trips, not 250.
    let oids: Vec<u32> = found.iter().map(|(row, _)| row.get(0)).collect();
    let mut tables: Vec<TableModel> = found
        .into_iter()
        .map(|(row, name)| TableModel {
            comment: row.get(3),
            row_level_security: row.get(4),
            force_row_level_security: row.get(5),
            partition_by: row.get(6),
            partition_of: row
                .get::<_, Option<Vec<String>>>(7)
                .zip(row.get::<_, Option<String>>(8))
                .map(|(parent, bound)| PartitionOf {
                    parent: scope.name_of(&parent[0], parent[1] == "true"),
                    bound,
                }),
            replica_identity: match row.get::<_, String>(9).as_str() {
                "f" => Some(ReplicaIdentity::Full),
                "n" => Some(ReplicaIdentity::Nothing),
                "i" => row.get::<_, Option<String>>(10).map(ReplicaIdentity::Index),
                _ => None,
            },
            ..TableModel::named(name)
        })
        .collect();
    let mut tables_by_oid = Tables {
        oids: &oids,
        tables: &mut tables,
    };
    read_columns(client, scope, &mut tables_by_oid).await?;
    read_constraints(client, scope, &mut tables_by_oid).await?;
    read_unique_nulls(client, &mut tables_by_oid).await?;
    read_indexes(client, &mut tables_by_oid).await?;
    read_policies(client, &mut tables_by_oid).await?;
    read_grants(client, &scope.roles, &mut tables_by_oid).await?;
    read_guards(client, &mut tables_by_oid).await?;
    read_unmanaged(client, &mut tables_by_oid).await?;
    let existing: Vec<String> = client
        .query(
            "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1)",
            &[&scope.roles],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let roles = scope
        .roles
        .iter()
        .filter(|r| existing.contains(r))
        .cloned()
        .collect();
    let enums = read_enums(client, scope, &oids).await?;
    let extensions: Vec<String> = client
        .query(
            "SELECT extname::text FROM pg_catalog.pg_extension WHERE extname = ANY($1)",
            &[&scope.extensions],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    Ok(SchemaModel {
        format_version: FORMAT_VERSION,
        roles,
        tables,
        unmanaged_tables,
        enums,
        namespaces: read_namespaces(client, &namespaces, &scope.roles).await?,
        extensions: scope
            .extensions
            .iter()
            .filter(|e| extensions.contains(e))
            .cloned()
            .collect(),
    })
}

/// The PostgreSQL schemas of `names` that exist, in that order, each with the roles of `roles`
/// (and `public`) granted `USAGE` on it.
async fn read_namespaces<C: GenericClient>(
    client: &C,
    names: &[String],
    roles: &[String],
) -> Result<Vec<NamespaceModel>, PgError> {
    let rows = client
        .query(
            "SELECT n.nspname::text, \
                    ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'public' \
                                 ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END AS role \
                          FROM pg_catalog.aclexplode(n.nspacl) a \
                          WHERE a.privilege_type = 'USAGE' \
                          ORDER BY 1) \
             FROM pg_catalog.pg_namespace n \
             WHERE n.nspname = ANY($1)",
            &[&names],
        )
        .await?;
    let mut namespaces: Vec<NamespaceModel> = rows
        .iter()
        .map(|row| {
            let usage: Vec<String> = row.get(1);
            NamespaceModel {
                name: row.get(0),
                usage: usage
                    .into_iter()
                    .filter(|role| role == "public" || roles.contains(role))
                    .collect(),
            }
        })
        .collect();
    namespaces.sort_by_key(|n| names.iter().position(|name| *name == n.name));
    Ok(namespaces)
}

/// The native enum types that `scope` names (in the current schema or the PostgreSQL schema
/// its name gives) or the tables of `oids` use (as a column's type or its elements'), with
/// their labels in sort order, named as [`Scope::enum_name_of`] says: those named first, in
/// their order, then by name.
async fn read_enums<C: GenericClient>(
    client: &C,
    scope: &Scope,
    oids: &[u32],
) -> Result<Vec<EnumModel>, PgError> {
    let rows = client
        .query(
            "SELECT n.nspname::text || '.' || t.typname::text, \
                    n.nspname = pg_catalog.current_schema(), \
                    ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e \
                          WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) \
             FROM pg_catalog.pg_type t \
             JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype = 'e' \
               AND ((n.nspname = pg_catalog.current_schema() AND t.typname::text = ANY($1)) \
                    OR n.nspname::text || '.' || t.typname::text = ANY($1) \
                    OR t.oid IN (SELECT a.atttypid FROM pg_catalog.pg_attribute a \
                                 WHERE a.attrelid = ANY($2) AND a.attnum > 0 AND NOT a.attisdropped) \
                    OR t.typarray IN (SELECT a.atttypid FROM pg_catalog.pg_attribute a \
                                      WHERE a.attrelid = ANY($2) AND a.attnum > 0 \
                                        AND NOT a.attisdropped))",
            &[&scope.enums, &oids],
        )
        .await?;
    let mut enums: Vec<EnumModel> = rows
        .iter()
        .map(|row| EnumModel {
            name: scope.enum_name_of(&row.get::<_, String>(0), row.get(1)),
            values: row.get(2),
            renamed_values: Vec::new(),
        })
        .collect();
    enums.sort_by(|a, b| a.name.cmp(&b.name));
    enums.sort_by_key(|e| {
        scope
            .enums
            .iter()
            .position(|n| *n == e.name)
            .unwrap_or(usize::MAX)
    });
    Ok(enums)
}

/// The tables being read, by oid.
struct Tables<'a> {
    oids: &'a [u32],
    tables: &'a mut [TableModel],
}

impl Tables<'_> {
    /// The table a catalog row (whose first column is the table's oid) belongs to.
    fn of(&mut self, row: &tokio_postgres::Row) -> &mut TableModel {
        let oid: u32 = row.get(0);
        let index = self
            .oids
            .iter()
            .position(|o| *o == oid)
            .expect("the catalog answers for the tables asked about");
        &mut self.tables[index]
    }
}

async fn read_columns<C: GenericClient>(
    client: &C,
    scope: &Scope,
    tables: &mut Tables<'_>,
) -> Result<(), PgError> {
    let rows = client
        .query(
            "SELECT a.attrelid, a.attname::text, \
                    pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    NOT a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), \
                    pg_catalog.col_description(a.attrelid, a.attnum), \
                    a.attidentity::text, a.attgenerated::text, \
                    s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, \
                    (SELECT n.nspname::text || '.' || en.typname::text \
                     FROM pg_catalog.pg_namespace n WHERE n.oid = en.typnamespace), \
                    en.typnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n \
                                       WHERE n.nspname = pg_catalog.current_schema()), \
                    ty.oid <> en.oid, \
                    (SELECT co.collname::text FROM pg_catalog.pg_collation co \
                     WHERE co.oid = a.attcollation AND a.attcollation <> ty.typcollation) \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid \
             LEFT JOIN pg_catalog.pg_type el ON ty.typcategory = 'A' AND el.oid = ty.typelem \
             LEFT JOIN pg_catalog.pg_type en ON en.typtype = 'e' \
                  AND en.oid = CASE WHEN ty.typtype = 'e' THEN ty.oid ELSE el.oid END \
             LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             LEFT JOIN pg_catalog.pg_depend dep ON a.attidentity <> '' \
                  AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                  AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum \
                  AND dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                  AND dep.deptype = 'i' \
             LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid = dep.objid \
             WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attrelid, a.attnum",
            &[&tables.oids],
        )
        .await?;
    for row in rows {
        let (identity, generated): (String, String) = (row.get(6), row.get(7));
        let expression: Option<String> = row.get(4);
        // A stored generated column keeps its expression where a default would be.
        let (default, generated) = if generated == "s" {
            (None, expression)
        } else {
            (expression, None)
        };
        let identity = match (identity.as_str(), row.get::<_, Option<i64>>(8)) {
            ("a" | "d", Some(start)) => Some(IdentityModel {
                always: identity == "a",
                start,
                increment: row.get(9),
                min_value: row.get(10),
                max_value: row.get(11),
                cache: row.get(12),
                cycle: row.get(13),
            }),
            _ => None,
        };
        // A native enum type (or an array of one) is named as the model names it, qualified
        // with its schema where the scope declares it there or it is not the current one.
        let sql_type = match row.get::<_, Option<String>>(14) {
            Some(full) => format!(
                "{}{}",
                quote_qualified(&scope.enum_name_of(&full, row.get(15))),
                if row.get(16) { "[]" } else { "" }
            ),
            None => row.get(2),
        };
        tables.of(&row).columns.push(ColumnModel {
            name: row.get(1),
            renamed_from: None,
            sql_type,
            nullable: row.get(3),
            default,
            comment: row.get(5),
            renamed_values: Vec::new(),
            identity,
            generated,
            using: None,
            collation: row.get(17),
        });
    }
    Ok(())
}

/// The names of a table's columns by attribute number, in the order given.
const COLUMN_NAMES: &str = "ARRAY(SELECT a.attname::text FROM pg_catalog.unnest({keys}) \
     WITH ORDINALITY AS k(attnum, n) JOIN pg_catalog.pg_attribute a \
     ON a.attrelid = {rel} AND a.attnum = k.attnum ORDER BY k.n)";

async fn read_constraints<C: GenericClient>(
    client: &C,
    scope: &Scope,
    tables: &mut Tables<'_>,
) -> Result<(), PgError> {
    let sql = format!(
        "SELECT c.conrelid, c.conname::text, c.contype::text, {}, \
                (SELECT ARRAY[{}::text] FROM pg_catalog.pg_class r WHERE r.oid = c.confrelid), \
                {}, c.confdeltype::text, c.confupdtype::text, \
                pg_catalog.pg_get_expr(c.conbin, c.conrelid), \
                c.convalidated AND (c.contype NOT IN ('p', 'u') OR COALESCE((SELECT x.indisvalid \
                    FROM pg_catalog.pg_index x WHERE x.indexrelid = c.conindid), true)), \
                c.connoinherit \
         FROM pg_catalog.pg_constraint c \
         WHERE c.conrelid = ANY($1) AND c.contype IN ('p', 'u', 'f', 'c') \
           AND c.conparentid = 0 AND c.conislocal \
         ORDER BY c.conrelid, c.conname",
        COLUMN_NAMES
            .replace("{keys}", "c.conkey")
            .replace("{rel}", "c.conrelid"),
        FULL_NAME.replace("{c}", "r"),
        COLUMN_NAMES
            .replace("{keys}", "c.confkey")
            .replace("{rel}", "c.confrelid"),
    );
    for row in client.query(&sql, &[&tables.oids]).await? {
        let table = tables.of(&row);
        let name: String = row.get(1);
        let kind: String = row.get(2);
        let columns: Vec<String> = row.get(3);
        if !row.get::<_, bool>(9) {
            table.not_valid.push(name.clone());
        }
        match kind.as_str() {
            "p" => table.primary_key = Some(KeyModel::new(name, columns)),
            "u" => table.unique.push(KeyModel::new(name, columns)),
            "f" => table.foreign_keys.push(ForeignKeyModel {
                name,
                columns,
                references_table: row
                    .get::<_, Option<Vec<String>>>(4)
                    .map(|r| scope.name_of(&r[0], r[1] == "true"))
                    .unwrap_or_default(),
                references_columns: row.get(5),
                on_delete: action(&row.get::<_, String>(6)),
                on_update: action(&row.get::<_, String>(7)),
            }),
            _ => table.checks.push(CheckModel {
                name,
                renamed_from: None,
                expression: row.get::<_, Option<String>>(8).unwrap_or_default(),
                no_inherit: row.get(10),
            }),
        }
    }
    Ok(())
}

/// Marks the unique constraints whose index treats NULLs as equal (`NULLS NOT DISTINCT`,
/// `pg_index.indnullsnotdistinct`): a catalog column PostgreSQL 15 added, so older servers,
/// which cannot declare such keys, are not asked.
async fn read_unique_nulls<C: GenericClient>(
    client: &C,
    tables: &mut Tables<'_>,
) -> Result<(), PgError> {
    let version: i32 = client
        .query_one(
            "SELECT pg_catalog.current_setting('server_version_num')::int",
            &[],
        )
        .await?
        .get(0);
    if version < 150_000 {
        return Ok(());
    }
    let rows = client
        .query(
            "SELECT c.conrelid, c.conname::text \
             FROM pg_catalog.pg_constraint c \
             JOIN pg_catalog.pg_index x ON x.indexrelid = c.conindid \
             WHERE c.conrelid = ANY($1) AND c.contype = 'u' AND x.indnullsnotdistinct",
            &[&tables.oids],
        )
        .await?;
    for row in rows {
        let name: String = row.get(1);
        if let Some(key) = tables.of(&row).unique.iter_mut().find(|k| k.name == name) {
            key.nulls_not_distinct = true;
        }
    }
    Ok(())
}

fn action(code: &str) -> ReferentialAction {
    match code {
        "r" => ReferentialAction::Restrict,
        "c" => ReferentialAction::Cascade,
        "n" => ReferentialAction::SetNull,
        "d" => ReferentialAction::SetDefault,
        _ => ReferentialAction::NoAction,
    }
}

async fn read_indexes<C: GenericClient>(
    client: &C,
    tables: &mut Tables<'_>,
) -> Result<(), PgError> {
    // Indexes behind primary keys and unique constraints belong to those constraints. An
    // index a failed concurrent build left invalid is not there as far as queries go: it reads
    // as missing, and the plan builds it again (the runner drops the invalid one first). A
    // partitioned table's index is invalid while a partition has no part of it: it reads as
    // there and not valid, and the plan attaches the parts.
    let rows = client
        .query(
            "SELECT x.indrelid, i.relname::text, x.indisunique, am.amname::text, \
                    ARRAY(SELECT CASE WHEN k.attnum = 0 \
                                 THEN pg_catalog.pg_get_indexdef(x.indexrelid, k.n::int, true) \
                                 ELSE (SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                                       WHERE a.attrelid = x.indrelid AND a.attnum = k.attnum) END \
                          FROM pg_catalog.unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
                          WHERE k.n <= x.indnkeyatts ORDER BY k.n), \
                    x.indoption::int2[], pg_catalog.pg_get_expr(x.indpred, x.indrelid), \
                    ARRAY(SELECT k.attnum = 0 \
                          FROM pg_catalog.unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
                          WHERE k.n <= x.indnkeyatts ORDER BY k.n), \
                    ARRAY(SELECT CASE WHEN o.opcdefault THEN '' ELSE o.opcname::text END \
                          FROM pg_catalog.unnest(x.indclass::oid[]) WITH ORDINALITY AS k(class, n) \
                          JOIN pg_catalog.pg_opclass o ON o.oid = k.class \
                          WHERE k.n <= x.indnkeyatts ORDER BY k.n), \
                    ARRAY(SELECT a.attname::text \
                          FROM pg_catalog.unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
                          JOIN pg_catalog.pg_attribute a \
                            ON a.attrelid = x.indrelid AND a.attnum = k.attnum \
                          WHERE k.n > x.indnkeyatts ORDER BY k.n), \
                    x.indisvalid \
             FROM pg_catalog.pg_index x \
             JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
             JOIN pg_catalog.pg_am am ON am.oid = i.relam \
             WHERE x.indrelid = ANY($1) AND NOT i.relispartition \
               AND (x.indisvalid OR i.relkind = 'I') \
               AND NOT EXISTS ( \
                 SELECT FROM pg_catalog.pg_constraint c \
                 WHERE c.conrelid = x.indrelid AND c.conindid = x.indexrelid \
                   AND c.contype IN ('p', 'u', 'x')) \
             ORDER BY x.indrelid, i.relname",
            &[&tables.oids],
        )
        .await?;
    for row in rows {
        let columns: Vec<String> = row.get(4);
        let options: Vec<i16> = row.get(5);
        let expressions: Vec<bool> = row.get(7);
        let opclasses: Vec<String> = row.get(8);
        let keys = columns
            .into_iter()
            .zip(options)
            .zip(expressions.into_iter().zip(opclasses))
            .map(|((column, option), (expression, opclass))| {
                let (descending, nulls_first) = (option & 1 != 0, Some(option & 2 != 0));
                let key = if expression {
                    IndexKeyModel::expression(column, descending, nulls_first)
                } else {
                    IndexKeyModel::new(column, descending, nulls_first)
                };
                // The default class for the key's type and the method reads as empty.
                key.with_opclass(Some(opclass).filter(|o| !o.is_empty()))
            })
            .collect();
        let table = tables.of(&row);
        if !row.get::<_, bool>(10) {
            table.not_valid.push(row.get(1));
        }
        table.indexes.push(IndexModel {
            name: row.get(1),
            renamed_from: None,
            unique: row.get(2),
            method: row.get(3),
            keys,
            include: row.get(9),
            predicate: row.get(6),
        });
    }
    // A partition's parts of its partitioned table's indexes (keys' parts are named by their
    // constraints): the names they have.
    let rows = client
        .query(
            "SELECT x.indrelid, i.relname::text, p.relname::text \
             FROM pg_catalog.pg_index x \
             JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
             JOIN pg_catalog.pg_inherits h ON h.inhrelid = x.indexrelid \
             JOIN pg_catalog.pg_class p ON p.oid = h.inhparent \
             WHERE x.indrelid = ANY($1) AND i.relispartition \
               AND NOT EXISTS ( \
                 SELECT FROM pg_catalog.pg_constraint c \
                 WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x')) \
             ORDER BY x.indrelid, p.relname",
            &[&tables.oids],
        )
        .await?;
    for row in rows {
        tables.of(&row).index_parts.push(IndexPart {
            index: row.get(2),
            name: row.get(1),
        });
    }
    Ok(())
}

/// What the model does not manage but a database may hold on a table, one note each: a
/// trigger (other than the guard of immutable columns) and the function it calls, whose body
/// the plan cannot follow.
async fn read_unmanaged<C: GenericClient>(
    client: &C,
    tables: &mut Tables<'_>,
) -> Result<(), PgError> {
    let rows = client
        .query(
            "SELECT t.tgrelid, 'trigger ' || pg_catalog.quote_ident(t.tgname) || ' calls ' \
                    || t.tgfoid::pg_catalog.regproc::text \
             FROM ROWS FROM (pg_catalog.unnest($1::oid[]), pg_catalog.unnest($2::text[])) \
                  AS r(oid, guard) \
             JOIN pg_catalog.pg_trigger t ON t.tgrelid = r.oid \
             WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND t.tgname <> r.guard \
             ORDER BY 1, 2",
            &[&tables.oids, &guard_names(tables)],
        )
        .await?;
    for row in rows {
        let note: String = row.get(1);
        tables.of(&row).unmanaged.push(note);
    }
    Ok(())
}

async fn read_policies<C: GenericClient>(
    client: &C,
    tables: &mut Tables<'_>,
) -> Result<(), PgError> {
    let rows = client
        .query(
            "SELECT p.polrelid, p.polname::text, p.polcmd::text, p.polpermissive, \
                    ARRAY(SELECT CASE WHEN r = 0 THEN 'public' \
                                 ELSE pg_catalog.pg_get_userbyid(r)::text END \
                          FROM pg_catalog.unnest(p.polroles) AS r ORDER BY 1), \
                    pg_catalog.pg_get_expr(p.polqual, p.polrelid), \
                    pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) \
             FROM pg_catalog.pg_policy p WHERE p.polrelid = ANY($1) \
             ORDER BY p.polrelid, p.polname",
            &[&tables.oids],
        )
        .await?;
    for row in rows {
        let command = match row.get::<_, String>(2).as_str() {
            "r" => PolicyCommand::Select,
            "a" => PolicyCommand::Insert,
            "w" => PolicyCommand::Update,
            "d" => PolicyCommand::Delete,
            _ => PolicyCommand::All,
        };
        tables.of(&row).policies.push(PolicyModel {
            name: row.get(1),
            renamed_from: None,
            command,
            permissive: row.get(3),
            roles: row.get(4),
            using: row.get(5),
            with_check: row.get(6),
        });
    }
    Ok(())
}

async fn read_grants<C: GenericClient>(
    client: &C,
    roles: &[String],
    tables: &mut Tables<'_>,
) -> Result<(), PgError> {
    // Table-wide privileges first, then column privileges with their columns in table order;
    // the table's owner holds every privilege implicitly and is left out.
    let rows = client
        .query(
            "WITH acl AS ( \
                 SELECT c.oid, g.grantee, g.privilege_type, g.is_grantable, \
                        NULL::int2 AS attnum, NULL::text AS attname \
                 FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) g \
                 WHERE c.oid = ANY($1) AND g.grantee <> c.relowner \
                 UNION ALL \
                 SELECT c.oid, g.grantee, g.privilege_type, g.is_grantable, a.attnum, \
                        a.attname::text \
                 FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid \
                 CROSS JOIN pg_catalog.aclexplode(a.attacl) g \
                 WHERE c.oid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
                   AND g.grantee <> c.relowner) \
             SELECT oid, CASE WHEN grantee = 0 THEN 'public' \
                         ELSE pg_catalog.pg_get_userbyid(grantee)::text END AS role, \
                    privilege_type, \
                    ARRAY_AGG(attname ORDER BY attnum) FILTER (WHERE attname IS NOT NULL), \
                    is_grantable \
             FROM acl GROUP BY 1, 2, 3, is_grantable, attnum IS NULL \
             ORDER BY 1, 2, (attnum IS NULL) DESC, is_grantable, \
                      pg_catalog.array_position(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'], \
                                                privilege_type), 3",
            &[&tables.oids],
        )
        .await?;
    for row in rows {
        let role: String = row.get(1);
        if role != "public" && !roles.contains(&role) {
            continue;
        }
        tables.of(&row).grants.push(GrantModel {
            role,
            privilege: row.get(2),
            columns: row.get::<_, Option<Vec<String>>>(3).unwrap_or_default(),
            grantable: row.get(4),
        });
    }
    Ok(())
}

/// The name of each table's guard of immutable columns (its function and its trigger).
fn guard_names(tables: &Tables<'_>) -> Vec<String> {
    tables
        .tables
        .iter()
        .map(|t| constraint_name(split_qualified(&t.name).1, [], "immutable_columns").into_owned())
        .collect()
}

async fn read_guards<C: GenericClient>(client: &C, tables: &mut Tables<'_>) -> Result<(), PgError> {
    let names = guard_names(tables);
    // The function is in its table's PostgreSQL schema.
    let rows = client
        .query(
            "SELECT r.oid, p.proname::text, p.prosrc, COALESCE(p.proconfig, '{}'::text[]), \
                    EXISTS (SELECT FROM pg_catalog.pg_trigger t \
                            WHERE t.tgrelid = r.oid AND t.tgfoid = p.oid \
                              AND t.tgname = p.proname AND t.tgenabled <> 'D') \
             FROM ROWS FROM (pg_catalog.unnest($1::oid[]), pg_catalog.unnest($2::text[])) \
                  AS r(oid, guard) \
             JOIN pg_catalog.pg_class c ON c.oid = r.oid \
             JOIN pg_catalog.pg_proc p ON p.proname = r.guard \
             WHERE p.pronamespace = c.relnamespace \
               AND p.pronargs = 0",
            &[&tables.oids, &names],
        )
        .await?;
    for row in rows {
        let body: String = row.get(2);
        let table = tables.of(&row);
        let name: String = row.get(1);
        let schema = split_qualified(&table.name).0;
        table.immutable = Some(ImmutableGuard {
            name: crate::sql::qualify(schema, &name),
            columns: guarded_columns(&body),
            body,
            settings: row.get(3),
            trigger_enabled: row.get(4),
        });
    }
    Ok(())
}

/// The columns a guard's body names in its `COLUMN = '...'` clauses, in order.
fn guarded_columns(body: &str) -> Vec<String> {
    let mut columns = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("COLUMN = ") {
        rest = &rest[at + "COLUMN = ".len()..];
        let escaped = rest.starts_with("E'");
        let Some(quoted) = rest.strip_prefix(if escaped { "E'" } else { "'" }) else {
            continue;
        };
        let mut value = String::new();
        let mut chars = quoted.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            match c {
                '\'' if chars.peek().map(|(_, n)| *n) == Some('\'') => {
                    chars.next();
                    value.push('\'');
                }
                '\'' => break,
                '\\' if escaped => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                c => value.push(c),
            }
        }
        columns.push(value);
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::guarded_columns;

    #[test]
    fn a_guards_columns_are_read_from_its_body() {
        let body = "IF ... COLUMN = 'provider_id', TABLE = 't' ... COLUMN = 'it''s', TABLE \
                    ... COLUMN = E'a\\\\b', TABLE";
        assert_eq!(guarded_columns(body), ["provider_id", "it's", "a\\b"]);
    }
}
