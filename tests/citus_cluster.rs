//! The Citus target on a real cluster: run when `CITUS_URL` names a coordinator (Citus 12 or
//! later, its workers registered) as a superuser; skipped, saying so, otherwise. Each test
//! works in its own database, created on every node (`citus.enable_create_database_propagation`)
//! with the workers registered in it, and dropped at the end with the roles it made.

mod common;

use common::block_on;
use postgres::{Client, NoTls};
use schema_core::pg::Db;
use schema_core::query::Select;
use schema_core::{Names, Target};
use shared::schemas::db::{physician_scope, schema, Provider, PHYSICIAN_ROLE};
use shared::schemas::{SupportTicket, BILLING_TEAM_ROLE, SUPPORT_TEAM_ROLE};
use uuid::Uuid;

fn citus_url() -> Option<String> {
    match std::env::var("CITUS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: CITUS_URL is not set (a Citus coordinator's URL, as a superuser)");
            None
        }
    }
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{database}")
}

/// A throwaway database on every node of the cluster, with the workers registered.
struct ClusterDb {
    admin_url: String,
    url: String,
    name: String,
    names: Names,
    roles: Vec<String>,
    /// The workers' URLs (their `postgres` database): a role dropped on the coordinator
    /// outside the database that created it is not dropped there.
    workers: Vec<String>,
}

impl ClusterDb {
    fn new(admin_url: &str) -> Self {
        let id = Uuid::new_v4().simple().to_string();
        let name = format!("citus_test_{}", &id[..12]);
        let mut admin = Client::connect(admin_url, NoTls).expect("connect to CITUS_URL");
        let workers: Vec<(String, i32)> = admin
            .query(
                "SELECT nodename::text, nodeport FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert!(
            !workers.is_empty(),
            "CITUS_URL's coordinator has no worker registered"
        );
        admin
            .batch_execute("SET citus.enable_create_database_propagation = on")
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        let user: String = admin
            .query_one("SELECT current_user::text", &[])
            .unwrap()
            .get(0);
        for (host, port) in &workers {
            let mut worker =
                Client::connect(&format!("postgres://{user}@{host}:{port}/{name}"), NoTls)
                    .expect("connect to a worker");
            worker.batch_execute("CREATE EXTENSION citus").unwrap();
        }
        let url = with_database(admin_url, &name);
        let mut coordinator = Client::connect(&url, NoTls).unwrap();
        coordinator.batch_execute("CREATE EXTENSION citus").unwrap();
        let (host, port): (String, i32) = admin
            .query_one(
                "SELECT nodename::text, nodeport FROM pg_dist_node WHERE groupid = 0",
                &[],
            )
            .map(|r| (r.get(0), r.get(1)))
            .unwrap_or(("127.0.0.1".into(), 5432));
        coordinator
            .execute("SELECT citus_set_coordinator_host($1, $2)", &[&host, &port])
            .unwrap();
        for (host, port) in &workers {
            coordinator
                .execute("SELECT citus_add_node($1, $2)", &[host, port])
                .unwrap();
        }
        let suffix = &id[..8];
        let mut names = Names::new();
        let mut roles = Vec::new();
        for role in [PHYSICIAN_ROLE, SUPPORT_TEAM_ROLE, BILLING_TEAM_ROLE] {
            let deployed = format!("{role}_{suffix}");
            names = names.role(role, &deployed);
            roles.push(deployed);
        }
        ClusterDb {
            admin_url: admin_url.to_string(),
            url,
            name,
            names,
            roles,
            workers: workers
                .iter()
                .map(|(host, port)| format!("postgres://{user}@{host}:{port}/postgres"))
                .collect(),
        }
    }

    fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap()
    }

    /// A login that is a member of `role` (deployed name), dropped with the database.
    fn login(&mut self, label: &str, role: &str) -> String {
        let login = format!("{label}_{}", &self.name["citus_test_".len()..][..8]);
        self.client()
            .batch_execute(&format!("CREATE ROLE \"{login}\" LOGIN IN ROLE \"{role}\""))
            .unwrap();
        self.roles.push(login.clone());
        let (base, _) = self.url.split_once("://").unwrap();
        let rest = self
            .url
            .split_once('@')
            .map_or(self.url.as_str(), |(_, r)| r);
        format!("{base}://{login}@{rest}")
    }
}

impl Drop for ClusterDb {
    fn drop(&mut self) {
        let Ok(mut admin) = Client::connect(&self.admin_url, NoTls) else {
            return;
        };
        let _ = admin.batch_execute("SET citus.enable_create_database_propagation = on");
        let _ = admin.batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ));
        for role in self.roles.iter().rev() {
            let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""));
        }
        for worker in &self.workers {
            let Ok(mut worker) = Client::connect(worker, NoTls) else {
                continue;
            };
            for role in self.roles.iter().rev() {
                let _ = worker.batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""));
            }
        }
    }
}

#[test]
fn the_applications_citus_dump_applies_and_each_physician_reads_their_own_tickets_from_one_shard() {
    let Some(url) = citus_url() else { return };
    let mut db = ClusterDb::new(&url);
    let ddl = schema()
        .with_names(db.names.clone())
        .for_target(Target::Citus)
        .to_ddl()
        .unwrap();
    // As psql sends a script: one statement per query (Citus refuses several in one).
    let mut client = db.client();
    client
        .batch_execute("SET search_path = \"public\", pg_temp")
        .unwrap();
    for statement in schema()
        .with_names(db.names.clone())
        .for_target(Target::Citus)
        .ddl_statements()
        .unwrap()
    {
        client
            .batch_execute(&statement)
            .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
    }
    assert!(ddl.contains("create_distributed_table"));
    let placed: i64 = db
        .client()
        .query_one("SELECT count(*) FROM pg_dist_partition", &[])
        .unwrap()
        .get(0);
    assert_eq!(placed, 4);
    let providers: Vec<Uuid> = (0..2)
        .map(|i| {
            db.client()
                .query_one(
                    "INSERT INTO providers (npi, first_name, last_name, email) VALUES ($1, 'Dr', 'X', $2) RETURNING provider_id",
                    &[&format!("{:010}", 2_000_000 + i), &format!("dr{i}@clinic.test")],
                )
                .unwrap()
                .get(0)
        })
        .collect();
    let physician = db.names.role_name(PHYSICIAN_ROLE).to_string();
    let doctor_url = db.login("doctor", &physician);
    let names = db.names.clone();
    block_on(async {
        let scope = physician_scope(&names).for_target(Target::Citus);
        // The nodes' self-signed certificates (Citus makes them) are not the point here.
        let mut conn = Db::connect(&format!("{doctor_url}?sslmode=disable"))
            .await
            .unwrap();
        for (i, &provider) in providers.iter().enumerate() {
            let tx = conn.tenant::<Provider>(&scope, provider).await.unwrap();
            for t in 0..=i {
                // Written by the physician, naming the columns they may not set.
                let row = tx
                    .client()
                    .query_one(
                        "INSERT INTO support_tickets (provider_id, subject, description, status) \
                         VALUES ($1, $2, 'details', 'CLOSED') RETURNING status",
                        &[&provider, &format!("ticket {t}")],
                    )
                    .await
                    .expect("a physician's insert works on Citus");
                assert_eq!(row.get::<_, String>(0), "OPEN");
            }
            tx.commit().await.unwrap();
        }
        for (i, &provider) in providers.iter().enumerate() {
            let tx = conn.tenant::<Provider>(&scope, provider).await.unwrap();
            let mine = tx.fetch_all(&Select::<SupportTicket>::new()).await.unwrap();
            assert_eq!(mine.len(), i + 1);
            assert!(mine.iter().all(|t| t.provider_id == provider));
            // The typed query carries the tenant itself: routed to one shard.
            let pinned = Select::<SupportTicket>::new().in_tenant(&scope.pin(provider));
            let sql = pinned.to_sql().unwrap();
            let plan: Vec<String> = tx
                .client()
                .query(
                    &format!(
                        "EXPLAIN {}",
                        sql.sql.replace("$1", &format!("'{provider}'::uuid"))
                    ),
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert!(
                plan.iter().any(|l| l.contains("Task Count: 1")),
                "{}",
                plan.join("\n")
            );
            tx.commit().await.unwrap();
        }
    });
}

#[test]
fn the_immutable_guards_refusal_relayed_from_a_worker_is_still_typed_as_such() {
    let Some(url) = citus_url() else { return };
    let db = ClusterDb::new(&url);
    let mut client = db.client();
    client
        .batch_execute("SET search_path = \"public\", pg_temp")
        .unwrap();
    for statement in schema()
        .with_names(db.names.clone())
        .for_target(Target::Citus)
        .ddl_statements()
        .unwrap()
    {
        client.batch_execute(&statement).unwrap();
    }
    let provider: Uuid = client
        .query_one(
            "INSERT INTO providers (npi, first_name, last_name, email) \
             VALUES ('3000000001', 'Dr', 'Y', 'y@clinic.test') RETURNING provider_id",
            &[],
        )
        .unwrap()
        .get(0);
    client
        .execute(
            "INSERT INTO support_tickets (provider_id, subject, description) VALUES ($1, 's', 'd')",
            &[&provider],
        )
        .unwrap();
    let mut refused = |sql: &str| {
        let error = client.execute(sql, &[&provider]).unwrap_err();
        // What the cluster sent: the worker's refusal, without the fields that name the rule.
        let server = error.as_db_error().expect("the cluster's refusal");
        assert_eq!(server.table(), None, "{server:?}");
        schema_core::pg::PgError::from(error)
    };
    let backdated = refused(
        "UPDATE support_tickets SET created_at = '2000-01-01T00:00:00Z' WHERE provider_id = $1",
    );
    let violation = backdated
        .constraint()
        .unwrap_or_else(|| panic!("{backdated:?}"));
    assert_eq!(violation.kind, schema_core::pg::ConstraintKind::Immutable);
    assert_eq!(violation.column.as_deref(), Some("created_at"));
    assert_eq!(
        violation.constraint.as_deref(),
        Some("support_tickets_created_at_immutable")
    );
    let closed = refused("UPDATE support_tickets SET status = 'GONE' WHERE provider_id = $1");
    let violation = closed.constraint().expect("typed");
    assert_eq!(violation.kind, schema_core::pg::ConstraintKind::Check);
    assert_eq!(violation.table.as_deref(), Some("support_tickets"));
    assert_eq!(
        violation.constraint.as_deref(),
        Some("support_tickets_status_check")
    );
    assert!(!violation.message.contains("_10"), "{}", violation.message);
}

#[test]
fn a_unique_key_without_the_distribution_column_is_refused_by_the_cluster_in_the_same_words() {
    let Some(url) = citus_url() else { return };
    let db = ClusterDb::new(&url);
    let error = db
        .client()
        .batch_execute(
            "CREATE TABLE badges (badge_id uuid PRIMARY KEY, clinic_id uuid NOT NULL, serial text UNIQUE); \
             SELECT create_distributed_table('badges', 'clinic_id')",
        )
        .unwrap_err();
    let db_error = error.as_db_error().expect("the cluster's refusal");
    assert_eq!(db_error.message(), "cannot create constraint on \"badges\"");
    assert_eq!(
        db_error.detail(),
        Some(schema_core::target::citus::KEY_WITHOUT_DISTRIBUTION_COLUMN)
    );
    let error = db
        .client()
        .batch_execute(
            "CREATE TABLE rooms (room_id uuid, clinic_id uuid, PRIMARY KEY (clinic_id, room_id)); \
             SELECT create_distributed_table('rooms', 'clinic_id'); \
             CREATE TABLE bookings (booking_id uuid, clinic_id uuid, room_id uuid, PRIMARY KEY (clinic_id, booking_id)); \
             SELECT create_distributed_table('bookings', 'clinic_id', colocate_with => 'rooms'); \
             ALTER TABLE bookings ADD FOREIGN KEY (room_id, clinic_id) REFERENCES rooms (clinic_id, room_id)",
        )
        .unwrap_err();
    let db_error = error.as_db_error().expect("the cluster's refusal");
    assert_eq!(
        db_error.detail(),
        Some(schema_core::target::citus::FOREIGN_KEY_TWO_CASES),
        "{}",
        db_error.message()
    );
}

// A migration through the command line: the application's tables and a table of rooms, then
// a column with a check, a concurrent index and a comment added to the rooms.

/// A clinic's rooms, as first created.
#[derive(schema_core::PgTable)]
#[pg(table = "rooms")]
pub struct Room {
    #[pg(primary_key)]
    pub room_id: Uuid,
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    pub code: String,
}

/// A clinic's rooms, as the next migration leaves them.
#[derive(schema_core::PgTable)]
#[pg(table = "rooms", index(provider_id, state))]
pub struct RoomV2 {
    #[pg(primary_key)]
    pub room_id: Uuid,
    #[pg(tenant = Provider)]
    pub provider_id: Uuid,
    pub code: String,
    /// Where the room stands, as a ticket does.
    pub state: Option<shared::schemas::TicketStatus>,
}

fn rooms_schema(names: &Names, second: bool) -> schema_core::Schema {
    let schema = schema_core::Schema::new()
        .tenant_setting(shared::schemas::PROVIDER_SETTING)
        .tenant_role(PHYSICIAN_ROLE)
        .table::<Provider>()
        .table::<SupportTicket>()
        .table::<shared::schemas::Invoice>()
        .table::<shared::schemas::InvoiceLine>();
    let schema = if second {
        schema.table::<RoomV2>()
    } else {
        schema.table::<Room>()
    };
    schema.with_names(names.clone())
}

/// A temporary migrations folder, removed on drop.
struct Folder(std::path::PathBuf);

impl Folder {
    fn new() -> Self {
        Folder(std::env::temp_dir().join(format!("citus-cli-{}", Uuid::new_v4().simple())))
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cli(schema: schema_core::Schema, args: &[&str]) -> (u8, String) {
    let mut all = vec!["schema", "--target", "citus"];
    all.extend_from_slice(args);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = schema_core::cli::run_to(schema, all, &mut out, &mut err);
    let text = String::from_utf8(out).unwrap() + &String::from_utf8(err).unwrap();
    (code, text)
}

#[test]
fn a_migration_applied_through_the_command_line_builds_on_the_cluster_and_check_is_clean() {
    let Some(url) = citus_url() else { return };
    let db = ClusterDb::new(&url);
    let folder = Folder::new();
    let dir = folder.path();
    // Citus's own certificates are self-signed.
    let url = format!("{}?sslmode=disable", db.url);
    let (code, out) = cli(
        rooms_schema(&db.names, false),
        &["migrate", "new", "init", "--dir", dir],
    );
    assert_eq!(code, 0, "{out}");
    let init = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path().join("up.sql")).unwrap())
        .next()
        .unwrap();
    // Each table placed right after its CREATE TABLE.
    let rooms = init.find("CREATE TABLE \"rooms\"").unwrap();
    let call = init
        .find("SELECT create_distributed_table('\"rooms\"', 'provider_id'")
        .unwrap();
    assert!(
        call > rooms && !init[rooms + 1..call].contains("CREATE TABLE"),
        "{init}"
    );
    let (code, out) = cli(
        rooms_schema(&db.names, false),
        &["migrate", "apply", "--database-url", &url, "--dir", dir],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli(
        rooms_schema(&db.names, true),
        &["migrate", "new", "room_state", "--dir", dir],
    );
    assert_eq!(code, 0, "{out}");
    let up = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("room_state"))
        .map(|p| std::fs::read_to_string(p.join("up.sql")).unwrap())
        .next()
        .unwrap();
    assert!(
        up.contains("NOT VALID") && up.contains("VALIDATE CONSTRAINT"),
        "{up}"
    );
    assert!(
        up.contains("CREATE INDEX CONCURRENTLY") && up.contains("COMMENT ON COLUMN"),
        "{up}"
    );
    // The partial failure Citus documents: a worker already has a relation of the name one
    // shard's index gets, so the build fails there after the coordinator's index and the
    // other shards' were made ("CONCURRENTLY-enabled index command failed").
    let index = up
        .split("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"")
        .nth(1)
        .or_else(|| up.split("CREATE INDEX CONCURRENTLY \"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("the index's name")
        .to_string();
    let (shard, host, port): (i64, String, i32) = db
        .client()
        .query_one(
            "SELECT s.shardid, p.nodename::text, p.nodeport FROM pg_dist_shard s \
             JOIN pg_dist_shard_placement p USING (shardid) \
             WHERE s.logicalrelid = 'rooms'::regclass ORDER BY s.shardid LIMIT 1",
            &[],
        )
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .unwrap();
    let mut worker = Client::connect(
        &format!("postgres://postgres@{host}:{port}/{}", db.name),
        NoTls,
    )
    .unwrap();
    worker
        .batch_execute(&format!(
            "CREATE INDEX \"{index}_{shard}\" ON \"rooms_{shard}\" (code)"
        ))
        .unwrap();
    let (code, out) = cli(
        rooms_schema(&db.names, true),
        &["migrate", "apply", "--database-url", &url, "--dir", dir],
    );
    assert_eq!(code, 0, "{out}");
    // The index on every shard, valid.
    let mut client = db.client();
    let placed: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'rooms'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(placed, 1);
    let shards: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'rooms'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    let indexes: Vec<String> = client
        .query(
            "SELECT result FROM run_command_on_shards('rooms', \
             $$SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
               WHERE x.indrelid = '%s'::regclass AND x.indisvalid AND c.relname LIKE 'rooms_provider_id_state%%'$$)",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(indexes.len() as i64, shards);
    assert!(indexes.iter().all(|n| n == "1"), "{indexes:?}");
    // The shard that failed has the index the migration asked for, not the one in its way.
    let definition: String = worker
        .query_one(
            &format!("SELECT pg_get_indexdef('\"{index}_{shard}\"'::regclass)"),
            &[],
        )
        .unwrap()
        .get(0);
    assert!(definition.contains("(provider_id, state)"), "{definition}");
    // The database matches the code: no false drift from Citus's shards or rewritten checks.
    let (code, out) = cli(
        rooms_schema(&db.names, true),
        &["check", "--database-url", &url, "--dir", dir],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli(
        rooms_schema(&db.names, true),
        &["diff", "--database-url", &url],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the database matches the code"), "{out}");
}

#[test]
fn diff_distributes_a_table_that_already_holds_rows_concurrently() {
    let Some(url) = citus_url() else { return };
    let db = ClusterDb::new(&url);
    let mut client = db.client();
    client
        .batch_execute("SET search_path = \"public\", pg_temp")
        .unwrap();
    for statement in schema()
        .with_names(db.names.clone())
        .for_target(Target::Citus)
        .ddl_statements()
        .unwrap()
    {
        client.batch_execute(&statement).unwrap();
    }
    // The rooms, made before the cluster was: a plain table on the coordinator, with rows.
    client
        .batch_execute(
            "CREATE TABLE rooms (room_id uuid NOT NULL, provider_id uuid NOT NULL, code text NOT NULL, \
             CONSTRAINT rooms_pkey PRIMARY KEY (provider_id, room_id))",
        )
        .unwrap();
    client
        .batch_execute(
            "INSERT INTO rooms SELECT gen_random_uuid(), gen_random_uuid(), 'r' || i FROM generate_series(1, 3) i",
        )
        .unwrap();
    let url = format!("{}?sslmode=disable", db.url);
    let (code, script) = cli(
        rooms_schema(&db.names, false),
        &["diff", "--database-url", &url],
    );
    assert_eq!(code, 0, "{script}");
    let call = "SELECT create_distributed_table_concurrently('\"rooms\"', 'provider_id', colocate_with => '\"support_tickets\"');";
    assert!(script.contains(call), "{script}");
    let wal_level: String = client.query_one("SHOW wal_level", &[]).unwrap().get(0);
    if wal_level != "logical" {
        // Citus moves the rows by logical replication.
        eprintln!("skipped applying the plan: the cluster's wal_level is not logical");
        return;
    }
    // psql runs it as it is: one statement per query, outside a transaction for that call.
    for statement in schema_core::migrate::apply::split_statements(&script) {
        client
            .batch_execute(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
    }
    let (kind, rows): (String, i64) = client
        .query_one(
            "SELECT p.partmethod::text, (SELECT count(*) FROM rooms) FROM pg_dist_partition p \
             WHERE p.logicalrelid = 'rooms'::regclass",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((kind.as_str(), rows), ("h", 3));
    let (code, script) = cli(
        rooms_schema(&db.names, false),
        &["diff", "--database-url", &url],
    );
    assert_eq!(code, 0, "{script}");
    assert!(script.contains("the database matches the code"), "{script}");
}
