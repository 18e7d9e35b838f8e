//! Opening a connection: the one place every connection schema-core opens goes through
//! ([`Db::connect`](super::Db::connect), the drift check and plans of [`evolve`](super::evolve),
//! and the command line), so that all of them read `sslmode` and `sslrootcert` the same way.
//!
//! # `sslmode`
//!
//! The connection string (a URL, `postgres://user@host/db?sslmode=verify-full`, or key-value
//! pairs, `host=... sslmode=verify-full`) takes libpq's `sslmode` values. With the `tls`
//! feature, every mode that requires TLS verifies the server's certificate, `require` included:
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `prefer` (the default) | when the server offers it; plaintext when it does not | always verified as `verify-full` (against the CA named, else the system's store), a certificate that fails being refused, never taken unverified nor traded for plaintext: **stricter than libpq's `prefer`**, which verifies nothing |
//! | `require` | always | chain and host name verified: **stricter than libpq's `require`**, which verifies nothing (the same as `verify-full`) |
//! | `verify-ca` | always | chain verified, host name not |
//! | `verify-full` | always | chain and host name verified |
//!
//! `prefer` still accepts a server that answers it offers no TLS, which an active attacker can
//! answer too, and gets plaintext: ask for a mode that requires TLS to be protected from one. `allow` is refused ([`TlsError::InvalidSslMode`]): it tries plaintext first, which
//! nothing here does. The host name checked is the connection string's `host` (a DNS name, or an
//! IP address matched against the certificate's IP addresses), also when `hostaddr` gives the
//! address to connect to. Connections over a Unix socket never use TLS (the server offers none
//! there), so a mode that requires it cannot be met over one.
//!
//! # The certificates trusted
//!
//! In this order: the ones given in code (`TlsOptions`); the connection string's
//! `sslrootcert` (a PEM file of one or more CA certificates, or `system`); otherwise, for the
//! modes that require TLS, the system's trust store (read by rustls-native-certs, which honours
//! `SSL_CERT_FILE` and `SSL_CERT_DIR`). CAs that cannot be read are an error
//! ([`TlsError::RootCertificates`]) before anything is sent. There is no mode that requires TLS
//! and skips verification: a rustls configuration of one's own (`TlsOptions::client_config`)
//! decides for itself. libpq's default file `~/.postgresql/root.crt` and its environment
//! variables (`PGSSLMODE`, `PGSSLROOTCERT`) are not read, as tokio-postgres reads none of
//! libpq's: put them in the connection string.
//!
//! # Without the `tls` feature
//!
//! Connections are plaintext. A connection string that asks for TLS (`sslmode=require`,
//! `verify-ca` or `verify-full`, or an `sslrootcert` with any mode other than `disable`) is
//! refused before anything is sent, with [`TlsError::NotBuilt`]: it never falls back silently
//! to plaintext. `prefer`, the default, connects in plaintext, as libpq built without TLS does.

use std::fmt;
use std::str::FromStr;

use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config};

use super::PgError;
#[cfg(feature = "tls")]
use super::TlsOptions;

/// libpq's `sslmode`: whether a connection uses TLS (see the [module](self) for how each mode
/// verifies the server).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, plaintext when it offers none; the certificate always
    /// verified as [`SslMode::VerifyFull`] (libpq's `prefer` verifies nothing). The default.
    #[default]
    Prefer,
    /// Always TLS, verified as [`SslMode::VerifyFull`] (stricter than libpq's `require`).
    Require,
    /// Always TLS; the certificate must chain to a trusted CA, whatever host it names.
    VerifyCa,
    /// Always TLS; the certificate must chain to a trusted CA and name the host connected to.
    VerifyFull,
}

impl SslMode {
    /// The mode named by an `sslmode` value; `None` for any other value (`allow` included).
    pub fn from_name(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// The `sslmode` value that names the mode.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the connection must use TLS.
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A connection that TLS could not secure, or that asked for TLS this build cannot give.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The connection string asks for TLS, and schema-core was built without its `tls` feature;
    /// nothing was sent.
    NotBuilt {
        /// What asked for it: `sslmode=require`, say, or `sslrootcert`.
        asked: String,
    },
    /// The `sslmode` is not one of `disable`, `prefer`, `require`, `verify-ca`, `verify-full`;
    /// nothing was sent.
    InvalidSslMode(String),
    /// The certificates to trust could not be read; nothing was sent.
    RootCertificates {
        /// Where they were read from: a file, the PEM given in code, or the system's store.
        from: String,
        /// What went wrong.
        problem: String,
    },
    /// The TLS client could not be set up; nothing was sent.
    Setup(String),
    /// The `sslmode` requires TLS and the server does not offer it.
    NotOffered(tokio_postgres::Error),
    /// The server's certificate was refused: not signed by a trusted CA, not for this host,
    /// expired, or otherwise invalid. Nothing but the handshake was sent. Its message says
    /// what to do: the host the certificate is for, `sslrootcert=` for its CA, or, for a
    /// server on this machine, `sslmode=disable`.
    Certificate {
        /// Why, as rustls says it (`invalid peer certificate: UnknownIssuer`, say).
        reason: String,
        /// The connection's error.
        source: tokio_postgres::Error,
        /// What was wrong with it, as far as what to do differs.
        problem: CertificateProblem,
        /// The host name it was checked against (the connection string's `host`); empty when
        /// a rustls configuration given in code refused it.
        host: String,
        /// The names it is for (the DNS names and IP addresses of its subjectAltName), when
        /// they could be read from it.
        names: Vec<String>,
        /// Where the CAs trusted came from (`the sslrootcert file ca.pem`, `the system's trust
        /// store`).
        trusted: String,
        /// Whether the server is on this machine (the host, or every `hostaddr`, is a
        /// loopback address or `localhost`).
        local: bool,
    },
    /// The TLS handshake failed for another reason (no common protocol version, an alert from
    /// the server).
    Handshake {
        /// Why, as rustls says it.
        reason: String,
        /// The connection's error.
        source: tokio_postgres::Error,
    },
}

/// What was wrong with a refused certificate, as far as what to do about it differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// No CA trusted here signed it (a self-signed certificate, or the CA not given).
    UnknownIssuer,
    /// It is not for the host connected to.
    NotForHost,
    /// Anything else: expired, not yet valid, revoked, not for a server.
    Other,
}

/// What was wrong with a refused certificate and what to do about it, as the end of the error's
/// message (`reason` is rustls's words, said for a problem without advice of its own).
fn certificate_advice(
    problem: CertificateProblem,
    reason: &str,
    host: &str,
    names: &[String],
    trusted: &str,
    local: bool,
) -> String {
    let for_names = match names {
        [] => "no host name (it has no subjectAltName)".to_string(),
        [one] => one.clone(),
        [all @ .., last] => format!("{} and {last}", all.join(", ")),
    };
    // A name to connect with: one the certificate is for, without a wildcard.
    let other_host = names
        .iter()
        .find(|n| !n.contains('*'))
        .filter(|_| !host.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(host)));
    let connect_to = other_host.map(|name| {
        let keep = if host.parse::<std::net::IpAddr>().is_ok() {
            format!(" (hostaddr={host} keeps the address)")
        } else {
            String::new()
        };
        format!("connect with host={name}{keep}, a name it is for")
    });
    let disable = local.then_some("for a server on this machine, sslmode=disable");
    let mut options: Vec<String> = Vec::new();
    let said = match problem {
        CertificateProblem::NotForHost => {
            options.extend(connect_to);
            format!("it is for {for_names}, not for {host}")
        }
        CertificateProblem::UnknownIssuer => {
            options.push(
                "give the CA that signed it with sslrootcert=/path/to/ca.pem (the server's own \
                 certificate, if it signed itself)"
                    .to_string(),
            );
            options.extend(connect_to);
            let names = if names.is_empty() {
                String::new()
            } else {
                format!(" (it is for {for_names})")
            };
            format!("no CA in {trusted} signed it{names}")
        }
        CertificateProblem::Other => reason.to_string(),
    };
    options.extend(disable.map(String::from));
    let todo = match options.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [all @ .., last] => format!("{}; or {last}", all.join("; or ")),
    };
    match (said.is_empty(), todo.is_empty()) {
        (true, true) => String::new(),
        (true, false) => format!(": {todo}"),
        (false, true) => format!(": {said}"),
        (false, false) => format!(": {said}: {todo}"),
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::NotBuilt { asked } => write!(
                f,
                "the connection string asks for TLS ({asked}), but schema-core was built without \
                 TLS support: enable its `tls` feature (nothing was sent)"
            ),
            TlsError::InvalidSslMode(value) => write!(
                f,
                "sslmode {value:?} is not one of disable, prefer, require, verify-ca, verify-full"
            ),
            TlsError::RootCertificates { from, problem } => {
                write!(
                    f,
                    "cannot load the trusted certificates from {from}: {problem}"
                )
            }
            TlsError::Setup(problem) => write!(f, "cannot set up TLS: {problem}"),
            TlsError::NotOffered(_) => write!(
                f,
                "the server does not offer TLS, and the connection's sslmode requires it"
            ),
            TlsError::Certificate {
                reason,
                problem,
                host,
                names,
                trusted,
                local,
                ..
            } => write!(
                f,
                "the server's certificate was refused{}",
                certificate_advice(*problem, reason, host, names, trusted, *local)
            ),
            TlsError::Handshake { reason, .. } => write!(f, "the TLS handshake failed: {reason}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::NotOffered(source)
            | TlsError::Certificate { source, .. }
            | TlsError::Handshake { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<TlsError> for PgError {
    fn from(error: TlsError) -> Self {
        PgError::Tls(error)
    }
}

/// A connection string, parsed: tokio-postgres's settings, and the TLS settings it leaves to
/// schema-core (`sslmode`, whose `verify-ca` and `verify-full` it does not know, and
/// `sslrootcert`).
///
/// ```no_run
/// # async fn run() -> Result<(), schema_core::pg::PgError> {
/// use schema_core::pg::ConnectConfig;
///
/// let config = ConnectConfig::parse(
///     "postgres://app@db.internal/app?sslmode=verify-full&sslrootcert=/etc/app/db-ca.pem",
/// )?;
/// let (client, _connection) = config.connect().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ConnectConfig {
    config: Config,
    ssl_mode: SslMode,
    root_cert: Option<String>,
    #[cfg(feature = "tls")]
    tls: TlsOptions,
}

impl ConnectConfig {
    /// Parses a connection string: a URL (`postgres://` or `postgresql://`) or key-value pairs,
    /// with every parameter tokio-postgres takes, and `sslmode` and `sslrootcert`.
    pub fn parse(config: &str) -> Result<ConnectConfig, PgError> {
        let split = split_tls_params(config);
        let ssl_mode = match split.ssl_mode {
            None => SslMode::Prefer,
            Some(value) => {
                SslMode::from_name(&value).ok_or(TlsError::InvalidSslMode(value.clone()))?
            }
        };
        Ok(ConnectConfig {
            config: split.rest.parse()?,
            ssl_mode,
            root_cert: split.root_cert,
            #[cfg(feature = "tls")]
            tls: TlsOptions::default(),
        })
    }

    /// tokio-postgres's settings (its `ssl_mode` is not used: see [`ConnectConfig::ssl_mode`]).
    pub fn pg_config(&self) -> &Config {
        &self.config
    }

    /// tokio-postgres's settings, to change (another database name, say).
    pub fn pg_config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// The `sslmode`.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// Sets the `sslmode`.
    pub fn set_ssl_mode(&mut self, mode: SslMode) -> &mut ConnectConfig {
        self.ssl_mode = mode;
        self
    }

    /// The `sslrootcert`, as given.
    pub fn root_cert(&self) -> Option<&str> {
        self.root_cert.as_deref()
    }

    /// The same settings, with the certificates to trust (or a rustls configuration of one's
    /// own) given in code; they take the place of `sslrootcert`.
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, options: TlsOptions) -> ConnectConfig {
        self.tls = options;
        self
    }

    /// Connects, and drives the connection on a task of the current tokio runtime; the task's
    /// handle finishes when the connection has closed (the connection's own error, if any, is
    /// reported by the client's next call).
    pub async fn connect(&self) -> Result<(Client, JoinHandle<()>), PgError> {
        let mut config = self.config.clone();
        #[cfg(not(feature = "tls"))]
        {
            if self.ssl_mode.requires_tls() {
                return Err(TlsError::NotBuilt {
                    asked: format!("sslmode={}", self.ssl_mode),
                }
                .into());
            }
            if self.root_cert.is_some() && self.ssl_mode != SslMode::Disable {
                return Err(TlsError::NotBuilt {
                    asked: "sslrootcert".to_string(),
                }
                .into());
            }
            config.ssl_mode(match self.ssl_mode {
                SslMode::Disable => tokio_postgres::config::SslMode::Disable,
                _ => tokio_postgres::config::SslMode::Prefer,
            });
            let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
            Ok((client, spawn(connection)))
        }
        #[cfg(feature = "tls")]
        {
            use tokio_postgres::config::SslMode as PgSslMode;
            if self.ssl_mode == SslMode::Disable {
                config.ssl_mode(PgSslMode::Disable);
                let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
                return Ok((client, spawn(connection)));
            }
            let (connector, seen) =
                super::tls::connector(self.ssl_mode, self.root_cert(), &self.tls)?;
            config.ssl_mode(if self.ssl_mode.requires_tls() {
                PgSslMode::Require
            } else {
                PgSslMode::Prefer
            });
            let (client, connection) = config.connect(connector).await.map_err(|error| {
                super::tls::classify(error, self.ssl_mode, &seen, on_this_machine(&config))
            })?;
            Ok((client, spawn(connection)))
        }
    }
}

impl FromStr for ConnectConfig {
    type Err = PgError;

    fn from_str(s: &str) -> Result<ConnectConfig, PgError> {
        ConnectConfig::parse(s)
    }
}

impl From<Config> for ConnectConfig {
    /// tokio-postgres's settings, with its `ssl_mode` (`disable`, `prefer` or `require`) and no
    /// `sslrootcert`.
    fn from(config: Config) -> ConnectConfig {
        let ssl_mode = match config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => SslMode::Disable,
            tokio_postgres::config::SslMode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        };
        ConnectConfig {
            config,
            ssl_mode,
            root_cert: None,
            #[cfg(feature = "tls")]
            tls: TlsOptions::default(),
        }
    }
}

impl From<&Config> for ConnectConfig {
    /// As for an owned `Config`: cloned.
    fn from(config: &Config) -> ConnectConfig {
        ConnectConfig::from(config.clone())
    }
}

/// Connects to the database the connection string names (see the [module](self) for
/// `sslmode` and `sslrootcert`), and drives the connection on a task of the current tokio
/// runtime, whose handle finishes when the connection has closed.
///
/// ```no_run
/// # async fn run() -> Result<(), schema_core::pg::PgError> {
/// let (client, _connection) = schema_core::pg::connect(
///     "postgres://app@db.internal/app?sslmode=require&sslrootcert=/etc/app/db-ca.pem",
/// )
/// .await?;
/// client.batch_execute("SELECT 1").await?;
/// # Ok(())
/// # }
/// ```
pub async fn connect(config: &str) -> Result<(Client, JoinHandle<()>), PgError> {
    ConnectConfig::parse(config)?.connect().await
}

/// Whether the server `config` connects to is on this machine: every `hostaddr` a loopback
/// address, or without one, every host `localhost`, a loopback address or a Unix socket.
#[cfg(feature = "tls")]
fn on_this_machine(config: &Config) -> bool {
    let addresses = config.get_hostaddrs();
    if !addresses.is_empty() {
        return addresses.iter().all(std::net::IpAddr::is_loopback);
    }
    config.get_hosts().iter().all(|host| match host {
        tokio_postgres::config::Host::Tcp(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(_) => true,
    })
}

/// Drives a connection on a task of its own.
fn spawn<F>(connection: F) -> JoinHandle<()>
where
    F: std::future::Future + Send + 'static,
{
    tokio::spawn(async move {
        // The connection ends with an error only when the server or network fails; the
        // client's next call reports it.
        let _ = connection.await;
    })
}

/// A connection string without `sslmode` and `sslrootcert` (which tokio-postgres would refuse
/// or read otherwise), and their values (the last one of each, as libpq takes it).
#[derive(Debug, PartialEq)]
struct Split {
    rest: String,
    ssl_mode: Option<String>,
    root_cert: Option<String>,
}

/// The keys taken out of the connection string.
const TLS_KEYS: [&str; 2] = ["sslmode", "sslrootcert"];

/// Splits the TLS parameters off a connection string, reading it as tokio-postgres does. A
/// string it cannot read is left whole, for tokio-postgres to report.
fn split_tls_params(s: &str) -> Split {
    let pairs = match url_query(s) {
        Some((start, query)) => url_pairs(query, start),
        None => key_value_pairs(s),
    };
    let mut split = Split {
        rest: String::with_capacity(s.len()),
        ssl_mode: None,
        root_cert: None,
    };
    let Some(pairs) = pairs else {
        split.rest.push_str(s);
        return split;
    };
    let mut kept_from = 0;
    let mut url_separator_owed = false;
    for pair in pairs.iter().filter(|p| TLS_KEYS.contains(&p.key.as_str())) {
        split.rest.push_str(&s[kept_from..pair.start]);
        kept_from = pair.end;
        if pair.key == "sslmode" {
            split.ssl_mode = Some(pair.value.clone());
        } else {
            split.root_cert = Some(pair.value.clone());
        }
        url_separator_owed |= pair.url;
    }
    split.rest.push_str(&s[kept_from..]);
    if url_separator_owed {
        split.rest = tidy_url_query(&split.rest);
    }
    split
}

/// One `key=value` of a connection string: its byte range (for a URL, with the `&` that ends
/// it) and its key and value, decoded.
#[derive(Debug)]
struct Pair {
    start: usize,
    end: usize,
    key: String,
    value: String,
    url: bool,
}

/// For a URL, the byte offset of its query (after the `?`) and the query; `None` for a
/// string of key-value pairs, or a URL without a query.
fn url_query(s: &str) -> Option<(usize, &str)> {
    let rest = ["postgres://", "postgresql://"]
        .iter()
        .find_map(|prefix| s.strip_prefix(prefix))?;
    let mut offset = s.len() - rest.len();
    // tokio-postgres takes everything up to the first `@` as the credentials, `?` included.
    if let Some(at) = rest.find('@') {
        offset += at + 1;
    }
    let question = s[offset..].find('?')? + offset;
    Some((question + 1, &s[question + 1..]))
}

/// The parameters of a URL's query, as tokio-postgres reads them: the key up to the next `=`,
/// the value up to the next `&`, both percent-decoded. `None` when it would refuse them.
fn url_pairs(query: &str, offset: usize) -> Option<Vec<Pair>> {
    let mut pairs = Vec::new();
    let mut at = 0;
    while at < query.len() {
        let equals = at + query[at..].find('=')?;
        let (value_end, end) = match query[equals + 1..].find('&') {
            Some(amp) => (equals + 1 + amp, equals + 2 + amp),
            None => (query.len(), query.len()),
        };
        pairs.push(Pair {
            start: offset + at,
            end: offset + end,
            key: percent_decode(&query[at..equals]),
            value: percent_decode(&query[equals + 1..value_end]),
            url: true,
        });
        at = end;
    }
    Some(pairs)
}

/// A URL with a pair taken out of its query: no `&` left dangling at its end, no `?` left
/// with nothing after it.
fn tidy_url_query(url: &str) -> String {
    let trimmed = url.trim_end_matches('&');
    trimmed.strip_suffix('?').unwrap_or(trimmed).to_string()
}

/// `%XX` decoded; any other `%` kept as it is (as the percent-encoding crate does); bytes that
/// are not UTF-8 replaced.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pairs of a key-value connection string (`host=localhost sslmode='verify-full'`), as
/// tokio-postgres reads them: the key up to whitespace or `=`, then `=` (with whitespace
/// around it), then a value either quoted (`'...'`) or up to whitespace, `\` escaping the next
/// character in both. `None` when it would refuse the string.
fn key_value_pairs(s: &str) -> Option<Vec<Pair>> {
    let mut pairs = Vec::new();
    let mut chars = s.char_indices().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        let Some(&(start, _)) = chars.peek() else {
            return Some(pairs);
        };
        let mut key_end = start;
        while let Some((i, c)) = chars.next_if(|&(_, c)| !c.is_whitespace() && c != '=') {
            key_end = i + c.len_utf8();
        }
        if key_end == start {
            return None;
        }
        skip_ws(&mut chars);
        chars.next_if(|&(_, c)| c == '=')?;
        skip_ws(&mut chars);
        let mut value = String::new();
        let quoted = chars.next_if(|&(_, c)| c == '\'').is_some();
        let mut end = None;
        while let Some(&(i, c)) = chars.peek() {
            if (quoted && c == '\'') || (!quoted && c.is_whitespace()) {
                break;
            }
            chars.next();
            end = Some(i + c.len_utf8());
            if c == '\\' {
                if let Some((j, escaped)) = chars.next() {
                    value.push(escaped);
                    end = Some(j + escaped.len_utf8());
                }
            } else {
                value.push(c);
            }
        }
        if quoted {
            let (i, _) = chars.next()?;
            end = Some(i + 1);
        } else if value.is_empty() {
            return None;
        }
        pairs.push(Pair {
            start,
            end: end.unwrap_or(start),
            key: s[start..key_end].to_string(),
            value,
            url: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> (String, Option<String>, Option<String>) {
        let split = split_tls_params(s);
        (split.rest, split.ssl_mode, split.root_cert)
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn a_url_loses_its_tls_parameters_and_keeps_the_others() {
        assert_eq!(
            split(
                "postgres://u@h:5/db?sslmode=verify-full&application_name=x&sslrootcert=%2Fca.pem"
            ),
            (
                "postgres://u@h:5/db?application_name=x".to_string(),
                some("verify-full"),
                some("/ca.pem")
            )
        );
        assert_eq!(
            split("postgresql://h/db?sslmode=require"),
            ("postgresql://h/db".to_string(), some("require"), None)
        );
        assert_eq!(
            split("postgres://h/db?application_name=a&sslmode=disable&sslmode=require"),
            (
                "postgres://h/db?application_name=a".to_string(),
                some("require"),
                None
            )
        );
        // A `?` in the password is the password's.
        assert_eq!(
            split("postgres://u:p?w@h/db?sslmode=require&connect_timeout=3"),
            (
                "postgres://u:p?w@h/db?connect_timeout=3".to_string(),
                some("require"),
                None
            )
        );
        assert_eq!(
            split("postgres://u@h/db"),
            ("postgres://u@h/db".to_string(), None, None)
        );
        // An encoded key is still the key; `%` not followed by two hex digits stays.
        assert_eq!(
            split("postgres://h/db?ssl%6Dode=prefer&sslrootcert=/a%zz%"),
            (
                "postgres://h/db".to_string(),
                some("prefer"),
                some("/a%zz%")
            )
        );
    }

    #[test]
    fn key_value_pairs_lose_their_tls_parameters_and_keep_the_others() {
        assert_eq!(
            split("host=localhost sslmode=verify-ca user=app"),
            (
                "host=localhost  user=app".to_string(),
                some("verify-ca"),
                None
            )
        );
        assert_eq!(
            split("host = localhost sslrootcert = '/my certs/ca\\'s.pem' sslmode= require"),
            (
                "host = localhost  ".to_string(),
                some("require"),
                some("/my certs/ca's.pem")
            )
        );
        assert_eq!(
            split("sslrootcert=/a\\ b.pem dbname=x"),
            (" dbname=x".to_string(), None, some("/a b.pem"))
        );
        // What tokio-postgres would refuse is left for it to refuse.
        assert_eq!(
            split("host=localhost sslmode"),
            ("host=localhost sslmode".to_string(), None, None)
        );
        assert_eq!(
            split("sslmode='require"),
            ("sslmode='require".to_string(), None, None)
        );
    }

    #[test]
    fn the_parsed_config_has_the_mode_and_the_rest() {
        let config = ConnectConfig::parse(
            "postgres://app@db.test:6543/app?sslmode=verify-full&sslrootcert=system",
        )
        .unwrap();
        assert_eq!(config.ssl_mode(), SslMode::VerifyFull);
        assert_eq!(config.root_cert(), Some("system"));
        assert_eq!(config.pg_config().get_user(), Some("app"));
        assert_eq!(config.pg_config().get_ports(), [6543]);
        assert_eq!(
            ConnectConfig::parse("host=db.test").unwrap().ssl_mode(),
            SslMode::Prefer
        );
        for name in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            assert_eq!(SslMode::from_name(name).map(SslMode::name), Some(name));
        }
    }

    #[test]
    fn a_refused_certificate_says_what_to_do() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // A remote server: never sslmode=disable; a wildcard is no host to connect with.
        assert_eq!(
            certificate_advice(
                CertificateProblem::NotForHost,
                "not valid for name",
                "db.internal",
                &names(&["*.example.com", "db.example.com"]),
                "the system's trust store",
                false
            ),
            ": it is for *.example.com and db.example.com, not for db.internal: connect with \
             host=db.example.com, a name it is for"
        );
        assert_eq!(
            certificate_advice(
                CertificateProblem::UnknownIssuer,
                "UnknownIssuer",
                "db.internal",
                &[],
                "the system's trust store",
                false
            ),
            ": no CA in the system's trust store signed it: give the CA that signed it with \
             sslrootcert=/path/to/ca.pem (the server's own certificate, if it signed itself)"
        );
        assert_eq!(
            certificate_advice(
                CertificateProblem::Other,
                "invalid peer certificate: Expired",
                "localhost",
                &[],
                "x",
                true
            ),
            ": invalid peer certificate: Expired: for a server on this machine, sslmode=disable"
        );
    }

    #[test]
    fn an_unknown_sslmode_is_a_typed_error() {
        for mode in ["allow", "verify_full", ""] {
            let error = ConnectConfig::parse(&format!("host=h sslmode='{mode}'")).unwrap_err();
            assert!(
                matches!(&error, PgError::Tls(TlsError::InvalidSslMode(m)) if m == mode),
                "{error:?}"
            );
        }
    }

    /// Without the `tls` feature, a connection string that asks for TLS is refused before
    /// anything is sent (port 9 on 127.0.0.1 has no server; nothing connects to it).
    #[cfg(not(feature = "tls"))]
    #[test]
    fn without_tls_a_string_asking_for_it_is_refused() {
        for (url, asked) in [
            (
                "postgres://u@127.0.0.1:9/db?sslmode=require",
                "sslmode=require",
            ),
            (
                "postgres://u@127.0.0.1:9/db?sslmode=verify-ca",
                "sslmode=verify-ca",
            ),
            (
                "host=127.0.0.1 port=9 sslmode=verify-full",
                "sslmode=verify-full",
            ),
            ("host=127.0.0.1 port=9 sslrootcert=/ca.pem", "sslrootcert"),
        ] {
            let error = block_on(connect(url)).unwrap_err();
            match &error {
                PgError::Tls(TlsError::NotBuilt { asked: a }) => assert_eq!(a, asked),
                other => panic!("{url}: {other:?}"),
            }
            assert!(
                error.to_string().contains("enable its `tls` feature"),
                "{error}"
            );
        }
    }

    /// With the `tls` feature, a root certificate file that cannot be read is a typed error,
    /// before anything is sent.
    #[cfg(feature = "tls")]
    #[test]
    fn with_tls_an_unreadable_root_certificate_is_a_typed_error() {
        let error = block_on(connect(
            "host=127.0.0.1 port=9 sslmode=require sslrootcert=/nonexistent/ca.pem",
        ))
        .unwrap_err();
        match &error {
            PgError::Tls(TlsError::RootCertificates { from, .. }) => {
                assert!(from.contains("/nonexistent/ca.pem"), "{from}")
            }
            other => panic!("{other:?}"),
        }
    }
}
