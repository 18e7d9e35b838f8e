//! Connections over TLS (schema-core's `tls` feature), against a throwaway PostgreSQL cluster
//! this test starts with `ssl = on`, a server certificate signed by a CA it makes (rcgen), and
//! a `pg_hba.conf` that takes TCP connections over TLS only (`hostssl`).
//!
//! The cluster listens on 127.0.0.1 on a free port, runs as the `postgres` OS user when the
//! test runs as root (as `scripts/test` runs its own), and is stopped and deleted when the last
//! test using it ends (a drop guard, so also when a test panics). Its server binaries are the
//! newest under `/usr/lib/postgresql/*/bin`; without them every test here says so and passes,
//! unless `CI` is set, when they fail.
//!
//! Without the `tls` feature, a connection string asking for TLS is refused before anything is
//! sent: schema-core's own unit tests check that (`cargo test -p schema-core --features
//! postgres`), since this package always builds schema-core with `tls`.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use schema_core::pg::tokio_postgres::error::SqlState;
use schema_core::pg::tokio_postgres::Client;
use schema_core::pg::{
    self, CertificateProblem, ConnectConfig, Db, PgError, SslMode, TlsError, TlsOptions,
};
use schema_core::{PgTable, Schema};

// ---------------------------------------------------------------------------------------------
// The throwaway cluster.

/// A PostgreSQL cluster with TLS on, in a temporary directory; stopped and deleted on drop.
struct Cluster {
    /// The temporary directory: `data/`, `socket/`, the certificates, the server's log.
    dir: PathBuf,
    /// Where `initdb`, `pg_ctl` and `postgres` are.
    bindir: PathBuf,
    /// The TCP port on 127.0.0.1.
    port: u16,
    /// Whether `pg_ctl start` may have started it (so drop stops it).
    started: bool,
    /// The CA that signed the server's certificate, PEM, and its file.
    ca_pem: String,
    ca_file: PathBuf,
    /// A CA that signed nothing the server has, and its file.
    other_ca_file: PathBuf,
    other_ca_pem: String,
}

/// The role that logs in with a password (SCRAM), to check channel binding over TLS.
const SCRAM_USER: &str = "tls_scram";
const SCRAM_PASSWORD: &str = "tls-scram-secret";

impl Cluster {
    /// A URL for the `postgres` database as the `postgres` user, with these query parameters.
    fn url(&self, params: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{params}",
            self.port
        )
    }

    /// The query parameters that trust the server's CA, with `sslmode` as given.
    fn trusting(&self, mode: &str) -> String {
        format!("sslmode={mode}&sslrootcert={}", self.ca_file.display())
    }

    /// The query parameters that trust the other CA only, with `sslmode` as given.
    fn trusting_other(&self, mode: &str) -> String {
        format!(
            "sslmode={mode}&sslrootcert={}",
            self.other_ca_file.display()
        )
    }

    /// Starts a cluster whose certificate is for `names`; panics, after cleaning up, when it
    /// cannot.
    fn start(bindir: PathBuf, names: &[&str]) -> Cluster {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // /tmp, not the test's target dir: the postgres OS user must reach it, and the socket
        // path must stay short.
        let dir = PathBuf::from(format!("/tmp/pgtls.{}.{nanos}", std::process::id()));
        std::fs::create_dir(&dir).expect("create the cluster's temporary directory");
        let mut cluster = Cluster {
            dir,
            bindir,
            port: 0,
            started: false,
            ca_pem: String::new(),
            ca_file: PathBuf::new(),
            other_ca_file: PathBuf::new(),
            other_ca_pem: String::new(),
        };
        // From here on, a panic drops `cluster`, which deletes the directory (and stops the
        // server once started).
        cluster.write_certificates(names);
        std::fs::create_dir(cluster.dir.join("socket")).expect("create socket/");
        if is_root() {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(&cluster.dir));
        }
        cluster.init();
        cluster.start_server();
        cluster
    }

    /// The two CAs and the server's certificate (for `names`) and key.
    fn write_certificates(&mut self, names: &[&str]) {
        let ca = certificate_authority("schema-core test CA");
        let other = certificate_authority("schema-core test CA that signed nothing");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server certificate parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("a server key");
        let cert = params
            .signed_by(&key, &*ca)
            .expect("the server certificate");

        self.ca_pem = ca.pem();
        self.other_ca_pem = other.pem();
        self.ca_file = self.dir.join("ca.pem");
        self.other_ca_file = self.dir.join("other-ca.pem");
        write(&self.ca_file, &self.ca_pem);
        write(&self.other_ca_file, &self.other_ca_pem);
        write(&self.dir.join("server.crt"), &cert.pem());
        let key_file = self.dir.join("server.key");
        write(&key_file, &key.serialize_pem());
        // The server refuses a key that others may read.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
            .expect("chmod 600 server.key");
    }

    /// `initdb`, then the settings: TLS on, and TCP over TLS only.
    fn init(&self) {
        let data = self.dir.join("data");
        run(as_postgres(&self.bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]));
        let dir = self.dir.display();
        let conf = format!(
            "\n# throwaway TLS test cluster (tests/tls.rs)\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{dir}/socket'\n\
             ssl = on\n\
             ssl_cert_file = '{dir}/server.crt'\n\
             ssl_key_file = '{dir}/server.key'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n"
        );
        append(&data.join("postgresql.conf"), &conf);
        // No `host` line: a TCP connection without TLS finds no entry and is refused.
        write(
            &data.join("pg_hba.conf"),
            &format!(
                "local   all  all                      trust\n\
                 hostssl all  {SCRAM_USER}  127.0.0.1/32  scram-sha-256\n\
                 hostssl all  all          127.0.0.1/32  trust\n"
            ),
        );
    }

    /// `pg_ctl start` on a free port (another, a few times, if one is taken in between).
    fn start_server(&mut self) {
        let data = self.dir.join("data");
        let log = self.dir.join("server.log");
        for _ in 0..5 {
            self.port = free_port();
            let output = as_postgres(&self.bindir.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .arg("-o")
                .arg(format!("-p {}", self.port))
                .args(["-w", "-t", "60", "start"])
                .output()
                .expect("run pg_ctl start");
            if data.join("postmaster.pid").exists() || output.status.success() {
                self.started = true;
            }
            if output.status.success() {
                return;
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if self.started || !text.contains("already in use") {
                panic!(
                    "pg_ctl start failed: {}\n{text}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
        panic!("no free port for the TLS test cluster after 5 tries");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.started {
            let pg_ctl = self.bindir.join("pg_ctl");
            let data = self.dir.join("data");
            for mode in ["fast", "immediate"] {
                let stopped = as_postgres(&pg_ctl)
                    .arg("-D")
                    .arg(&data)
                    .args(["-m", mode, "-w", "-t", "30", "stop"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if stopped {
                    break;
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A self-signed CA.
fn certificate_authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("a CA key"))
        .expect("a self-signed CA")
}

/// The cluster the tests share, its certificate for `localhost` and 127.0.0.1: started by the
/// first test that needs it, stopped when the last one holding it is done. `None` (after saying
/// why) when there are no server binaries and `CI` is not set.
fn cluster() -> Option<Arc<Cluster>> {
    static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    shared(&SHARED, &["localhost", "127.0.0.1"])
}

/// A cluster like [`cluster`]'s whose certificate is for `localhost` only, as a stock local
/// server's is.
fn localhost_cluster() -> Option<Arc<Cluster>> {
    static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    shared(&SHARED, &["localhost"])
}

/// The cluster held in `slot`, started with a certificate for `names` if none runs.
fn shared(slot: &Mutex<Weak<Cluster>>, names: &[&str]) -> Option<Arc<Cluster>> {
    let Some(bindir) = server_bindir() else {
        assert!(
            !in_ci(),
            "CI is set, and there are no PostgreSQL server binaries (initdb, pg_ctl, postgres) \
             under /usr/lib/postgresql/*/bin: the TLS tests cannot start their cluster"
        );
        eprintln!(
            "skipping: no PostgreSQL server binaries (initdb, pg_ctl, postgres) under \
             /usr/lib/postgresql/*/bin to start a TLS cluster with (install PostgreSQL's server)"
        );
        return None;
    };
    let mut shared = slot.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cluster) = shared.upgrade() {
        return Some(cluster);
    }
    let cluster = Arc::new(Cluster::start(bindir, names));
    *shared = Arc::downgrade(&cluster);
    Some(cluster)
}

/// The newest `/usr/lib/postgresql/<major>/bin` holding the server binaries.
fn server_bindir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|tool| bin.join(tool).is_file())
                .then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Whether `CI` is set to something other than "", 0, false or no (as `scripts/test` reads it).
fn in_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "FALSE" | "False" | "no"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A server binary, run as the `postgres` OS user when this runs as root (the server refuses
/// to run as root), from `/` (a directory that user can enter).
fn as_postgres(program: &Path) -> Command {
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command.current_dir("/");
    command
}

/// Runs a command; panics with its output when it fails.
fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
}

/// A port nothing listens on now (the kernel's pick).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Whether the session runs over TLS, as the server sees it.
async fn ssl_in_use(client: &Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("read pg_stat_ssl")
        .get(0)
}

/// Connects to `url`, and checks the session is over TLS.
async fn connects_encrypted(url: &str) {
    let (client, _connection) = pg::connect(url).await.unwrap();
    assert!(ssl_in_use(&client).await, "{url}");
}

/// The reason of a refused server certificate; panics on any other outcome.
fn certificate_refused<T>(result: Result<T, PgError>) -> String {
    match result {
        Err(PgError::Tls(TlsError::Certificate { reason, .. })) => reason,
        Err(other) => panic!("expected a refused certificate, got {other:?} ({other})"),
        Ok(_) => panic!("expected a refused certificate, but the connection was made"),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn require_with_the_servers_ca_is_encrypted() {
    let Some(c) = cluster() else { return };
    for mode in ["require", "verify-full", "verify-ca"] {
        let (client, _connection) = pg::connect(&c.url(&c.trusting(mode))).await.unwrap();
        assert!(ssl_in_use(&client).await, "sslmode={mode}");
    }
    // The same as key-value pairs.
    connects_encrypted(&format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=require sslrootcert='{}'",
        c.port,
        c.ca_file.display()
    ))
    .await;
}

#[tokio::test]
async fn a_ca_that_did_not_sign_the_certificate_is_refused() {
    let Some(c) = cluster() else { return };
    for mode in ["require", "verify-full", "verify-ca"] {
        let reason = certificate_refused(pg::connect(&c.url(&c.trusting_other(mode))).await);
        assert!(reason.contains("UnknownIssuer"), "sslmode={mode}: {reason}");
    }
    // A CA given in code takes the place of the URL's `sslrootcert`: the wrong one refuses...
    let refused = Db::connect_with(
        &c.url(&c.trusting("require")),
        TlsOptions::new().root_certs_pem(c.other_ca_pem.clone()),
    )
    .await;
    assert!(certificate_refused(refused).contains("UnknownIssuer"));
    // ...and the right one accepts, whatever the URL names.
    let db = Db::connect_with(
        &c.url(&c.trusting_other("require")),
        TlsOptions::new().root_certs_file(&c.ca_file),
    )
    .await
    .unwrap();
    assert!(ssl_in_use(db.client()).await);
}

#[tokio::test]
async fn verification_is_on_without_a_ca_too() {
    let Some(c) = cluster() else { return };
    // No CA named: the system's trust store, which does not hold the test's CA.
    match pg::connect(&c.url("sslmode=require")).await {
        Err(PgError::Tls(TlsError::Certificate { reason, .. })) => {
            assert!(reason.contains("UnknownIssuer"), "{reason}")
        }
        // A machine without a trust store: refused before connecting.
        Err(PgError::Tls(TlsError::RootCertificates { from, .. })) => {
            assert!(from.contains("system"), "{from}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn prefer_takes_the_tls_offered_and_always_verifies_it() {
    let Some(c) = cluster() else { return };
    // `prefer`, given or by default, with a CA named: TLS, verified.
    for params in [
        c.trusting("prefer"),
        format!("sslrootcert={}", c.ca_file.display()),
    ] {
        let (client, _connection) = pg::connect(&c.url(&params)).await.unwrap();
        assert!(ssl_in_use(&client).await, "{params}");
    }
    // A certificate that fails is refused, not traded for a plaintext session.
    let reason = certificate_refused(pg::connect(&c.url(&c.trusting_other("prefer"))).await);
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    // No CA named: verified against the system's store, which does not know this cluster's
    // CA, so refused, given or by default; never taken unverified, never plaintext.
    for params in ["sslmode=prefer", "application_name=tls_test"] {
        let reason = certificate_refused(pg::connect(&c.url(params)).await);
        assert!(reason.contains("UnknownIssuer"), "{params}: {reason}");
    }
}

#[tokio::test]
async fn disable_is_refused_by_a_server_that_takes_tls_only() {
    let Some(c) = cluster() else { return };
    let error = pg::connect(&c.url("sslmode=disable")).await.unwrap_err();
    let PgError::Database(server) = &error else {
        panic!("expected the server's refusal, got {error:?}");
    };
    assert_eq!(
        server.code,
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION.code(),
        "{error}"
    );
    assert!(server.message.contains("no pg_hba.conf entry"), "{error}");
}

#[tokio::test]
async fn verify_ca_skips_the_host_name_and_require_does_not() {
    let Some(c) = cluster() else { return };
    // The certificate names localhost and 127.0.0.1, not db.test: `hostaddr` reaches the
    // server while `host` is the name checked.
    let url = |mode: &str| {
        format!(
            "postgres://postgres@db.test:{}/postgres?hostaddr=127.0.0.1&{}",
            c.port,
            c.trusting(mode)
        )
    };
    for mode in ["require", "verify-full", "prefer"] {
        let reason = certificate_refused(pg::connect(&url(mode)).await);
        assert!(
            reason.contains("not valid for name"),
            "sslmode={mode}: {reason}"
        );
    }
    let (client, _connection) = pg::connect(&url("verify-ca")).await.unwrap();
    assert!(ssl_in_use(&client).await);
}

#[tokio::test]
async fn scram_with_channel_binding_over_tls() {
    let Some(c) = cluster() else { return };
    let (admin, _connection) = pg::connect(&c.url(&c.trusting("require"))).await.unwrap();
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {SCRAM_USER} LOGIN PASSWORD '{SCRAM_PASSWORD}'; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ))
        .await
        .unwrap();
    // The server's certificate is hashed into the SCRAM exchange: a connector that got it
    // wrong fails here.
    let (client, _connection) = pg::connect(&format!(
        "postgres://{SCRAM_USER}:{SCRAM_PASSWORD}@127.0.0.1:{}/postgres?channel_binding=require&{}",
        c.port,
        c.trusting("verify-full")
    ))
    .await
    .unwrap();
    assert!(ssl_in_use(&client).await);
}

/// A table for the typed reads.
#[derive(PgTable)]
#[pg(table = "tls_notes")]
pub struct TlsNote {
    #[pg(primary_key)]
    pub note_id: i32,
    pub body: String,
}

#[tokio::test]
async fn typed_reads_and_writes_over_tls() {
    let Some(c) = cluster() else { return };
    let db = Db::connect_with(
        &c.url("sslmode=verify-full"),
        TlsOptions::new().root_certs_pem(c.ca_pem.clone()),
    )
    .await
    .unwrap();
    assert!(ssl_in_use(db.client()).await);
    let ddl = Schema::new().table::<TlsNote>().to_ddl().unwrap();
    db.client().batch_execute(&ddl).await.unwrap();
    let written = db
        .insert(&InsertTlsNote::new(1, "sent over TLS".to_string()))
        .await
        .unwrap();
    assert_eq!(written.body, "sent over TLS");
    let read = db.get::<TlsNote>(&1).await.unwrap().expect("the row");
    assert_eq!((read.note_id, read.body.as_str()), (1, "sent over TLS"));

    // Db::connect reads the URL's sslrootcert.
    let db = Db::connect(&c.url(&c.trusting("require"))).await.unwrap();
    assert_eq!(db.select_all::<TlsNote>().await.unwrap().len(), 1);
}

#[test]
fn the_command_line_and_the_drift_check_connect_over_tls() {
    let Some(c) = cluster() else { return };
    let migrations = c.dir.join("no-migrations");
    let cli = |url: &str, args: &[&str]| {
        let mut argv = vec!["schema".to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        argv.extend(["--database-url".to_string(), url.to_string()]);
        schema_core::cli::run_with(Schema::new().table::<TlsNote>(), argv)
    };
    let good = c.url(&c.trusting("require"));
    let dir = migrations.to_str().expect("a UTF-8 path");
    assert_eq!(cli(&good, &["migrate", "status", "--dir", dir]), 0);
    // `diff` runs the drift check (pg::evolve), with its shadow in a transaction and in a
    // new database on the same server, which it connects to with the same TLS settings.
    assert_eq!(cli(&good, &["diff"]), 0);
    assert_eq!(cli(&good, &["diff", "--new-shadow-database"]), 0);
    // The wrong CA: an error, not a plaintext session.
    let bad = c.url(&c.trusting_other("require"));
    assert_eq!(cli(&bad, &["migrate", "status", "--dir", dir]), 1);
    assert_eq!(cli(&bad, &["diff"]), 1);
}

#[tokio::test]
async fn a_mode_requiring_tls_refuses_a_server_without_it() {
    // A stand-in server that answers the client's TLS request with `N` (no TLS), as a server
    // without `ssl = on` does; it needs no cluster.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut request = [0u8; 8];
        stream.read_exact(&mut request).unwrap();
        // Length 8, then the SSLRequest code 80877103.
        assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
        stream.write_all(b"N").unwrap();
    });
    let mut config = ConnectConfig::parse(&format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require"
    ))
    .unwrap();
    assert_eq!(config.ssl_mode(), SslMode::Require);
    config
        .pg_config_mut()
        .connect_timeout(Duration::from_secs(10));
    // A CA given so that the system's store plays no part.
    let error = config
        .with_tls(TlsOptions::new().root_certs_pem(certificate_authority("unused").pem()))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(error, PgError::Tls(TlsError::NotOffered(_))),
        "{error:?}"
    );
    server.join().unwrap();
}

/// The command line's error for `args` against `url`, and its exit code.
fn cli_error(url: &str, args: &[&str]) -> (u8, String) {
    let mut argv = vec!["schema"];
    argv.extend_from_slice(args);
    argv.extend(["--database-url", url]);
    let mut err = Vec::new();
    let code = schema_core::cli::run_to(
        Schema::new().table::<TlsNote>(),
        argv,
        &mut Vec::new(),
        &mut err,
    );
    (code, String::from_utf8(err).expect("UTF-8 errors"))
}

#[tokio::test]
async fn a_certificate_for_localhost_reached_at_127_0_0_1_says_to_connect_to_localhost() {
    let Some(c) = localhost_cluster() else { return };
    // A stock local server: its certificate names localhost, the URL says 127.0.0.1. The CA is
    // trusted, so only the name is wrong.
    let url = c.url(&format!("sslrootcert={}", c.ca_file.display()));
    match pg::connect(&url).await {
        Err(PgError::Tls(TlsError::Certificate {
            problem,
            host,
            names,
            local,
            ..
        })) => {
            assert_eq!(problem, CertificateProblem::NotForHost);
            assert_eq!(
                (host.as_str(), names, local),
                ("127.0.0.1", vec!["localhost".to_string()], true)
            );
        }
        other => panic!("expected a refused certificate, got {other:?}"),
    }
    // The command line runs a runtime of its own: on a thread of its own here.
    let dir = c.dir.join("no-migrations");
    let dir = dir.to_str().expect("a UTF-8 path").to_string();
    let cli_url = url.clone();
    let (code, error) = tokio::task::spawn_blocking(move || {
        cli_error(&cli_url, &["migrate", "apply", "--dir", &dir])
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    // As the README shows it.
    assert_eq!(
        error,
        "error: the server's certificate was refused: it is for localhost, not for 127.0.0.1: \
         connect with host=localhost (hostaddr=127.0.0.1 keeps the address), a name it is for; \
         or for a server on this machine, sslmode=disable\n"
    );
    // What it says works.
    connects_encrypted(&format!(
        "postgres://postgres@localhost:{}/postgres?hostaddr=127.0.0.1&sslrootcert={}",
        c.port,
        c.ca_file.display()
    ))
    .await;
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_says_to_give_it_with_sslrootcert() {
    let Some(c) = localhost_cluster() else { return };
    let url = c.url(&c.trusting_other("require"));
    let error = pg::connect(&url).await.unwrap_err();
    match &error {
        PgError::Tls(TlsError::Certificate {
            problem,
            names,
            trusted,
            ..
        }) => {
            assert_eq!(*problem, CertificateProblem::UnknownIssuer);
            assert_eq!(names, &["localhost"]);
            assert!(trusted.contains("other-ca.pem"), "{trusted}");
        }
        other => panic!("expected a refused certificate, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "no CA in the sslrootcert file {} signed it (it is for localhost): give the CA \
             that signed it with sslrootcert=/path/to/ca.pem (the server's own certificate, if \
             it signed itself); or connect with host=localhost (hostaddr=127.0.0.1 keeps the \
             address), a name it is for; or for a server on this machine, sslmode=disable",
            c.other_ca_file.display()
        )),
        "{message}"
    );
    // A certificate for the host connected to: only the CA to give, and the local way out.
    let Some(both) = cluster() else { return };
    let message = pg::connect(&both.url(&both.trusting_other("verify-full")))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("(it is for localhost and 127.0.0.1): give the CA")
            && !message.contains("host=localhost")
            && message.ends_with("; or for a server on this machine, sslmode=disable"),
        "{message}"
    );
}
