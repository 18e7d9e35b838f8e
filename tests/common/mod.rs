//! Helpers shared by the integration tests that run against a real PostgreSQL server.
//!
//! Every test gets its own throwaway database from [`TestDb`], so tests run in parallel and
//! never see, change or drop a database they did not create.

// Each test file uses the helpers it needs.
#![allow(dead_code)]

use std::io::Write as _;
use std::time::Duration;

use postgres::{Client, Config, NoTls};
use schema_core::sql::quote_ident;
use schema_core::Names;
use shared::schemas::db::{schema, BILLING_TEAM_ROLE, PHYSICIAN_ROLE, SUPPORT_TEAM_ROLE};

/// The server the tests use when `DATABASE_URL` is not set: loopback, without TLS (connections
/// verify a server's certificate by default, and a local server's is often for `localhost`).
pub const DEFAULT_DATABASE_URL: &str =
    "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

/// A throwaway database on the server named by `DATABASE_URL` (default
/// [`DEFAULT_DATABASE_URL`]), with a client connected to it.
///
/// [`TestDb::new`] connects to the database named in the URL only to run
/// `CREATE DATABASE schema_test_<uuid>`; the test then works in that new, empty database
/// through [`TestDb::client`] (or [`TestDb::url`] for tools such as `psql`). On drop, the guard
/// closes its client and runs `DROP DATABASE ... WITH (FORCE)` on that database and no other,
/// even when the test panicked.
///
/// Roles belong to the whole server, not to a database: the schema's roles are named for this
/// database alone through [`TestDb::names`], and dropped with it.
///
/// # Panics
///
/// When the server cannot be reached, with a message saying to run `scripts/test` or set
/// `DATABASE_URL`; and when the user may not create the database.
pub struct TestDb {
    /// Where `CREATE DATABASE` and `DROP DATABASE` run: the database named in `DATABASE_URL`.
    admin: Config,
    /// The throwaway database's name.
    name: String,
    /// A connection URL for the throwaway database.
    url: String,
    /// Connected to the throwaway database; `None` only while creating or dropping it.
    client: Option<Client>,
    /// The schema's roles, named for this database alone.
    names: Names,
    /// Server-wide roles this test created (the schema's, and any login roles), dropped last.
    roles: Vec<String>,
}

impl TestDb {
    /// Creates a new, empty database with a unique name and connects to it.
    pub fn new() -> Self {
        let server_url =
            std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string());
        let mut admin: Config = server_url.parse().unwrap_or_else(|error| {
            panic!(
                "DATABASE_URL is not a valid PostgreSQL connection string ({error}); \
                 set it like {DEFAULT_DATABASE_URL}"
            )
        });
        if admin.get_connect_timeout().is_none() {
            admin.connect_timeout(Duration::from_secs(10));
        }
        let mut admin_client = admin.connect(NoTls).unwrap_or_else(|error| {
            panic!(
                "cannot connect to PostgreSQL at {} ({}). These tests need a running \
                 server: run `scripts/test`, or set DATABASE_URL to a server where the user may \
                 CREATE DATABASE (default: {DEFAULT_DATABASE_URL})",
                describe(&admin),
                with_causes(&error)
            )
        });

        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("schema_test_{id}");
        admin_client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap_or_else(|error| {
                panic!(
                    "cannot create the test database {name} on {}: {}",
                    describe(&admin),
                    with_causes(&error)
                )
            });
        // Best effort: the guard below reconnects to drop the database.
        let _ = admin_client.close();

        // From here on, Drop removes the database even if connecting to it fails.
        let (physician, support_team, billing_team) = (
            format!("{PHYSICIAN_ROLE}_{}", &id[..12]),
            format!("{SUPPORT_TEAM_ROLE}_{}", &id[..12]),
            format!("{BILLING_TEAM_ROLE}_{}", &id[..12]),
        );
        let mut db = TestDb {
            url: with_dbname(&server_url, &name),
            admin,
            name,
            client: None,
            names: Names::new()
                .role(PHYSICIAN_ROLE, &physician)
                .role(SUPPORT_TEAM_ROLE, &support_team)
                .role(BILLING_TEAM_ROLE, &billing_team),
            roles: vec![physician, support_team, billing_team],
        };
        let mut config = db.admin.clone();
        config.dbname(&db.name);
        let client = config.connect(NoTls).unwrap_or_else(|error| {
            panic!(
                "cannot connect to the test database {}: {}",
                db.name,
                with_causes(&error)
            )
        });
        db.client = Some(client);
        db
    }

    /// The client connected to the throwaway database.
    pub fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("the client lives as long as the guard")
    }

    /// A connection URL for the throwaway database, e.g. for `psql -d`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's roles and settings as named in this database.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The application's DDL, with roles named for this database.
    pub fn ddl(&self) -> String {
        schema()
            .with_names(self.names.clone())
            .to_ddl()
            .expect("the application's schema renders to DDL")
    }

    /// A new throwaway database with `schema`'s DDL applied (its roles as it names them).
    pub fn with(schema: &schema_core::Schema) -> Self {
        let mut db = TestDb::new();
        db.client()
            .batch_execute(&schema.to_ddl().expect("the schema renders to DDL"))
            .expect("the DDL applies to an empty database");
        db
    }

    /// A new throwaway database with the application's tables already created.
    pub fn with_schema() -> Self {
        let mut db = TestDb::new();
        db.apply_schema();
        db
    }

    /// Adds `providers` providers holding `per_provider` tickets each (`ticket {t} of provider
    /// {p}`, described as `private details`), written by this guard's own client, the owner;
    /// returns the providers and the `(provider, ticket)` pairs, in the order written.
    pub fn add_providers_with_tickets(
        &mut self,
        providers: usize,
        per_provider: usize,
    ) -> (Vec<uuid::Uuid>, Vec<(uuid::Uuid, uuid::Uuid)>) {
        let mut ids = Vec::new();
        let mut tickets = Vec::new();
        for p in 0..providers {
            let provider: uuid::Uuid = self
                .client()
                .query_one(
                    "INSERT INTO providers (npi, first_name, last_name, email) \
                     VALUES ($1, 'Dr', $2, $3) RETURNING provider_id",
                    &[
                        &format!("{:010}", 1_000_000 + p),
                        &format!("Number{p}"),
                        &format!("dr{p}@clinic.test"),
                    ],
                )
                .expect("insert a provider")
                .get(0);
            for t in 0..per_provider {
                let ticket: uuid::Uuid = self
                    .client()
                    .query_one(
                        "INSERT INTO support_tickets (provider_id, subject, description) \
                         VALUES ($1, $2, 'private details') RETURNING ticket_id",
                        &[&provider, &format!("ticket {t} of provider {p}")],
                    )
                    .expect("insert a ticket")
                    .get(0);
                tickets.push((provider, ticket));
            }
            ids.push(provider);
        }
        (ids, tickets)
    }

    /// Creates the application's tables (and its roles, named for this database).
    pub fn apply_schema(&mut self) {
        let ddl = self.ddl();
        self.client()
            .batch_execute(&ddl)
            .expect("the application's DDL applies to an empty database");
    }

    /// Creates a login role (password-less, trust) that is a member of `member_of`, dropped
    /// with the database, and returns a connection URL for it.
    pub fn login_role(&mut self, label: &str, member_of: &str) -> String {
        self.login_role_with(label, &format!("IN ROLE \"{member_of}\""))
    }

    /// Creates a physician's login (`doctor`) and a support agent's (`agent`), members of the
    /// schema's physician and support team roles as named for this database; returns their
    /// connection URLs, the physician's first.
    pub fn application_logins(&mut self) -> (String, String) {
        let physician = self.names.role_name(PHYSICIAN_ROLE).to_string();
        let support = self.names.role_name(SUPPORT_TEAM_ROLE).to_string();
        (
            self.login_role("doctor", &physician),
            self.login_role("agent", &support),
        )
    }

    /// Creates a login role (password-less, trust) with further `CREATE ROLE` options (such as
    /// `BYPASSRLS` or `IN ROLE "x"`), dropped with the database, and returns a connection URL
    /// for it.
    pub fn login_role_with(&mut self, label: &str, options: &str) -> String {
        let role = self.role_name(label);
        self.client()
            .batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN {options}"))
            .expect("the test user may create roles");
        self.roles.push(role.clone());
        with_user(&self.url, &role)
    }

    /// Creates a role `{label}_{id}` without login, and a login role that is a member of it
    /// (neither a superuser nor `BYPASSRLS`), both dropped with the database; returns the role
    /// and a connection URL for the login.
    pub fn role_with_login(&mut self, label: &str) -> (String, String) {
        let role = self.role_name(label);
        self.client()
            .batch_execute(&format!("CREATE ROLE \"{role}\""))
            .expect("the test user may create roles");
        self.roles.push(role.clone());
        let url = self.login_role(&format!("{label}_login"), &role);
        (role, url)
    }

    /// A server-wide role name unique to this database: `{label}_{id}`.
    pub fn role_name(&self, label: &str) -> String {
        format!("{label}_{}", &self.name["schema_test_".len()..][..12])
    }

    /// Drops `role` with the database: for roles a test creates by other means (a DDL script
    /// naming roles of its own).
    pub fn drop_role_later(&mut self, role: &str) {
        self.roles.push(role.to_string());
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close();
        }
        // Never panic here: the test may already be unwinding.
        let result = self.admin.connect(NoTls).and_then(|mut admin| {
            admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))?;
            // Login roles first: they are members of the schema's roles. Each is tried, so one
            // that cannot be dropped does not leave the others on the server.
            let mut first_error = None;
            for role in self.roles.iter().rev() {
                let drop = format!("DROP ROLE IF EXISTS {}", quote_ident(role));
                if let Err(error) = admin.batch_execute(&drop) {
                    first_error.get_or_insert(error);
                }
            }
            match first_error {
                Some(error) => Err(error),
                None => admin.close(),
            }
        });
        if let Err(error) = result {
            eprintln!(
                "warning: could not drop the test database {}: {}",
                self.name,
                with_causes(&error)
            );
        }
    }
}

/// Runs the async part of a test on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new()
        .expect("a tokio runtime")
        .block_on(future)
}

/// Where `config` points, without its password: for messages.
fn describe(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("(default user)");
    let dbname = config.get_dbname().unwrap_or("(default database)");
    format!("{host}:{port} as {user}, database {dbname}")
}

/// `error` and the errors that caused it, `: `-separated (a connection error's own text does
/// not say why).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `url` with its database replaced by `dbname`, for a URL (`postgres://.../db?opts`) or a
/// `key=value` connection string (a later `dbname=` overrides an earlier one).
fn with_dbname(url: &str, dbname: &str) -> String {
    match url.find("://") {
        Some(scheme_end) => {
            let (scheme, rest) = url.split_at(scheme_end + 3);
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, path_and_query) = rest.split_at(authority_end);
            let query = path_and_query
                .find('?')
                .map_or("", |i| &path_and_query[i..]);
            format!("{scheme}{authority}/{dbname}{query}")
        }
        None => format!("{url} dbname={dbname}"),
    }
}

/// `url` (a `postgres://` URL) with its user replaced by `user`, no password.
fn with_user(url: &str, user: &str) -> String {
    match url.find("://") {
        Some(scheme_end) => {
            let (scheme, rest) = url.split_at(scheme_end + 3);
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}{user}@{host}")
        }
        None => format!("{url} user={user}"),
    }
}

/// A DDL script's statements: the script without the encoding line every script opens with
/// (`render::ENCODING_HEADER`), which is checked to be there.
pub fn statements(script: String) -> String {
    let header = format!("{}\n", schema_core::render::ENCODING_HEADER);
    match script.strip_prefix(&header) {
        Some(statements) => statements.to_string(),
        None => panic!("the script does not open with its encoding:\n{script}"),
    }
}

/// Feeds `script` to `psql -v ON_ERROR_STOP=1` at `url`; the error output when it fails.
pub fn psql(url: &str, script: &str) -> Result<(), String> {
    psql_in_encoding(url, None, script)
}

/// [`psql`] with the client encoding `encoding` (`PGCLIENTENCODING`, as a terminal's locale
/// sets it), or the environment's when `None`.
pub fn psql_in_encoding(url: &str, encoding: Option<&str>, script: &str) -> Result<(), String> {
    let mut command = std::process::Command::new("psql");
    if let Some(encoding) = encoding {
        command.env("PGCLIENTENCODING", encoding);
    }
    let mut child = command
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cannot run `psql`: install the PostgreSQL client (it must be on the PATH)");
    child
        .stdin
        .take()
        .expect("psql's stdin is piped")
        .write_all(script.as_bytes())
        .expect("feed the script to psql");
    let output = child.wait_with_output().expect("wait for psql");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

pub mod patients;
pub mod scratch;

/// The first column of every row `query` returns, as text: rows of a table written as one line
/// each (`concat_ws(' ', ...)`), to compare with what a test expects.
pub async fn texts(client: &schema_core::pg::tokio_postgres::Client, query: &str) -> Vec<String> {
    client
        .query(query, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The plan from the database at `url` to `target` (normalized in a same-server shadow),
/// checked to hold each of `expected` as one of its steps.
pub async fn plan_holding(
    url: &str,
    target: &schema_core::Schema,
    expected: &[&str],
) -> schema_core::plan::Plan {
    let plan =
        schema_core::pg::evolve::plan_for(url, target, schema_core::pg::evolve::Shadow::SameServer)
            .await
            .unwrap();
    let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
    for expected in expected {
        assert!(sql.contains(expected), "{expected} in {sql:#?}");
    }
    plan
}

/// Applies `plan` through `client`, allowing the destructive steps on the objects of `allow`,
/// and checks that the database at `url` then shows no drift from `target`.
pub async fn apply_without_drift(
    client: &mut schema_core::pg::tokio_postgres::Client,
    url: &str,
    plan: &schema_core::plan::Plan,
    target: &schema_core::Schema,
    allow: &[&str],
) {
    schema_core::pg::evolve::apply(client, plan, allow)
        .await
        .unwrap();
    let lines =
        schema_core::pg::evolve::drift(url, target, schema_core::pg::evolve::Shadow::SameServer)
            .await
            .unwrap();
    assert_eq!(lines, Vec::<String>::new(), "{}", plan.to_script());
}

/// Text that stands for a patient's details in a ticket's description.
pub const PHI_MARKER: &str = "PHI-MARKER-4e1f";

/// Everything an error shows: the `Display` and `Debug` of it and of every error of its source
/// chain.
pub fn shown(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(error);
    while let Some(e) = next {
        text.push_str(&format!("{e}\n{e:?}\n"));
        next = e.source();
    }
    text
}
