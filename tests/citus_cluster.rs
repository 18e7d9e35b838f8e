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
