//! TLS over rustls (feature `tls`): the certificates trusted, the verification each `sslmode`
//! asks for, and the connection's errors told apart.

use std::error::Error as StdError;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::connect::{CertificateProblem, SslMode, TlsError};
use super::PgError;

/// How connections secure themselves with TLS, beyond what the connection string says
/// (feature `tls`): the certificates to trust, given in code, or a rustls configuration of
/// one's own.
///
/// By default (`TlsOptions::default()`), the connection string's `sslrootcert` decides, and
/// without one the system's trust store; every mode that requires TLS verifies the server's
/// certificate, and `prefer` does when a CA is named (see [`connect`](mod@super::connect) for
/// each `sslmode`).
///
/// ```no_run
/// # async fn run() -> Result<(), schema_core::pg::PgError> {
/// use schema_core::pg::{Db, TlsOptions};
///
/// let ca = std::fs::read("/etc/app/db-ca.pem").expect("the CA");
/// let db = Db::connect_with(
///     "postgres://app@db.internal/app?sslmode=verify-full",
///     TlsOptions::new().root_certs_pem(ca),
/// )
/// .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    roots: Option<Roots>,
    client_config: Option<Arc<ClientConfig>>,
}

/// Where the trusted certificates come from.
#[derive(Clone)]
enum Roots {
    Pem(Vec<u8>),
    File(PathBuf),
    System,
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Roots::Pem(pem) => write!(f, "Pem({} bytes)", pem.len()),
            Roots::File(path) => f.debug_tuple("File").field(path).finish(),
            Roots::System => f.write_str("System"),
        }
    }
}

impl TlsOptions {
    /// The default: the connection string's `sslrootcert`, else the system's trust store.
    pub fn new() -> TlsOptions {
        TlsOptions::default()
    }

    /// Trusts the CA certificates in `pem` (one or more `-----BEGIN CERTIFICATE-----` blocks),
    /// and no other; the connection string's `sslrootcert` is not read.
    pub fn root_certs_pem(mut self, pem: impl Into<Vec<u8>>) -> TlsOptions {
        self.roots = Some(Roots::Pem(pem.into()));
        self
    }

    /// Trusts the CA certificates in the PEM file at `path`, read at each connection, and no
    /// other; the connection string's `sslrootcert` is not read.
    pub fn root_certs_file(mut self, path: impl Into<PathBuf>) -> TlsOptions {
        self.roots = Some(Roots::File(path.into()));
        self
    }

    /// Trusts the system's trust store, whatever the connection string's `sslrootcert` says.
    pub fn system_roots(mut self) -> TlsOptions {
        self.roots = Some(Roots::System);
        self
    }

    /// Uses this rustls configuration as it is, for client certificates or a verifier of one's
    /// own: its verifier alone decides which certificates are accepted (`sslmode` then decides
    /// only whether TLS is used, and neither `sslrootcert` nor the roots above are read).
    pub fn client_config(mut self, config: Arc<ClientConfig>) -> TlsOptions {
        self.client_config = Some(config);
        self
    }
}

/// The cryptography rustls uses here: ring, named rather than taken from the process's default,
/// which is unset (or ambiguous) in many programs.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What a connection's verifier saw of a certificate it refused, for the error to say what to
/// do: where the trusted CAs came from, and the names the certificate is for.
#[derive(Clone, Debug, Default)]
pub(super) struct Seen {
    /// Where the CAs trusted came from: `the sslrootcert file ca.pem`, say.
    trusted: String,
    /// The last certificate refused.
    refused: Arc<Mutex<Option<Refused>>>,
}

/// A refused certificate: the name it was checked against, and the names it is for.
#[derive(Clone, Debug, Default)]
struct Refused {
    host: String,
    names: Vec<String>,
}

/// The connector for a connection in `mode` (not `disable`), and what its verifier will have
/// seen of a certificate it refuses.
pub(super) fn connector(
    mode: SslMode,
    root_cert: Option<&str>,
    options: &TlsOptions,
) -> Result<(MakeRustlsConnect, Seen), TlsError> {
    if let Some(config) = &options.client_config {
        let seen = Seen {
            trusted: "the rustls configuration given in code".to_string(),
            ..Seen::default()
        };
        return Ok((MakeRustlsConnect::new(ClientConfig::clone(config)), seen));
    }
    let provider = provider();
    let (named, trusted) = match (&options.roots, root_cert) {
        (Some(Roots::Pem(pem)), _) => {
            let from = "the PEM given in code".to_string();
            (Some(pem_roots(pem, &from)?), from)
        }
        (Some(Roots::File(path)), _) => {
            let path = path.display().to_string();
            let from = format!("the root certificate file {path}");
            (Some(file_roots(&path, &from)?), from)
        }
        (Some(Roots::System), _) | (None, Some("system")) => {
            (Some(system_roots()?), SYSTEM_STORE.to_string())
        }
        (None, Some(path)) => {
            let from = format!("the sslrootcert file {path}");
            (Some(file_roots(path, &from)?), from)
        }
        (None, None) => (None, SYSTEM_STORE.to_string()),
    };
    // No CA named: the system's store. Verification is on in every mode, `prefer` included
    // (libpq's verifies nothing): a certificate that fails is refused, never taken.
    let roots = match named {
        Some(roots) => roots,
        None => system_roots()?,
    };
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
        .build()
        .map_err(|error| TlsError::Setup(error.to_string()))?;
    let seen = Seen {
        trusted,
        ..Seen::default()
    };
    let verifier = Arc::new(Verifier {
        webpki: verifier,
        chain_only: mode == SslMode::VerifyCa,
        seen: seen.clone(),
    });
    Ok((make_connect(provider, verifier)?, seen))
}

/// How the system's trust store is named in messages.
const SYSTEM_STORE: &str = "the system's trust store";

/// A connector verifying the server's certificate with `verifier`.
fn make_connect(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<MakeRustlsConnect, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Setup(error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // What libpq sends, and what a server taking `sslnegotiation=direct` (PostgreSQL 17 and
    // later) requires; older servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(MakeRustlsConnect::new(config))
}

/// The certificates of the PEM file at `path`, named `from` in errors.
fn file_roots(path: &str, from: &str) -> Result<Arc<RootCertStore>, TlsError> {
    let pem = std::fs::read(path).map_err(|error| TlsError::RootCertificates {
        from: from.to_string(),
        problem: error.to_string(),
    })?;
    pem_roots(&pem, from)
}

/// The certificates of a PEM text; at least one.
fn pem_roots(pem: &[u8], from: &str) -> Result<Arc<RootCertStore>, TlsError> {
    let problem = |problem: String| TlsError::RootCertificates {
        from: from.to_string(),
        problem,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|error| problem(format!("not PEM: {error}")))?;
        roots
            .add(cert)
            .map_err(|error| problem(format!("not a usable CA certificate: {error}")))?;
    }
    if roots.is_empty() {
        return Err(problem("it holds no certificate".to_string()));
    }
    Ok(Arc::new(roots))
}

/// The system's trust store, read once per process.
fn system_roots() -> Result<Arc<RootCertStore>, TlsError> {
    static SYSTEM: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    if let Some(roots) = SYSTEM.get() {
        return Ok(Arc::clone(roots));
    }
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(loaded.certs);
    if roots.is_empty() {
        let errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        return Err(TlsError::RootCertificates {
            from: SYSTEM_STORE.to_string(),
            problem: if errors.is_empty() {
                "it holds no certificate (give the server's CA with sslrootcert)".to_string()
            } else {
                errors.join("; ")
            },
        });
    }
    Ok(Arc::clone(SYSTEM.get_or_init(|| Arc::new(roots))))
}

/// The verifier of every mode: webpki's, which checks the chain and the host name, the name
/// not checked for `verify-ca`; and, when it refuses a certificate, the names the certificate
/// is for kept in [`Seen`], for the error to say which host to connect to.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    chain_only: bool,
    seen: Seen,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            // rustls checks the name last, once the chain (and revocation, if configured) has
            // passed: a name error means everything else holds.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.chain_only => Ok(ServerCertVerified::assertion()),
            other => other,
        };
        if verified.is_err() {
            let names = presented_names(end_entity).unwrap_or_default();
            *self
                .seen
                .refused
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Refused {
                host: server_name.to_str().into_owned(),
                names,
            });
        }
        verified
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The names (DNS names and IP addresses of its subjectAltName) a certificate is for, as
/// webpki reads them: the names it lists when asked about a name no certificate can hold
/// (`.invalid` is reserved, RFC 2606). `None` when the certificate cannot be parsed.
fn presented_names(certificate: &CertificateDer<'_>) -> Option<Vec<String>> {
    let parsed = rustls::server::ParsedCertificate::try_from(certificate).ok()?;
    let nowhere = ServerName::try_from("schema-core.invalid").ok()?;
    match rustls::client::verify_server_name(&parsed, &nowhere) {
        Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            presented,
            ..
        })) => Some(presented.iter().filter_map(|n| host_name(n)).collect()),
        _ => None,
    }
}

/// A name as webpki lists it (`DnsName("localhost")`, `IpAddress(127.0.0.1)`) as one would
/// write it in a connection string; `None` for a name of another kind (a URI).
fn host_name(listed: &str) -> Option<String> {
    let name = listed
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| {
            listed
                .strip_prefix("IpAddress(")
                .and_then(|n| n.strip_suffix(')'))
        })?;
    Some(name.to_string())
}

/// A failed connection's error, with TLS failures told apart; a refused certificate with what
/// the verifier `seen` saw of it, and whether the server is on this machine (`local`).
pub(super) fn classify(
    error: tokio_postgres::Error,
    mode: SslMode,
    seen: &Seen,
    local: bool,
) -> PgError {
    if let Some(rustls_error) = rustls_error(&error) {
        let reason = rustls_error.to_string();
        return if let rustls::Error::InvalidCertificate(certificate) = rustls_error {
            let problem = match certificate {
                CertificateError::UnknownIssuer => CertificateProblem::UnknownIssuer,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => CertificateProblem::NotForHost,
                _ => CertificateProblem::Other,
            };
            let Refused { host, names } = seen
                .refused
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .unwrap_or_default();
            TlsError::Certificate {
                reason,
                source: error,
                problem,
                host,
                names,
                trusted: seen.trusted.clone(),
                local,
            }
        } else {
            TlsError::Handshake {
                reason,
                source: error,
            }
        }
        .into();
    }
    // tokio-postgres says so in these words, and in no type.
    if mode.requires_tls()
        && error
            .source()
            .is_some_and(|cause| cause.to_string() == "server does not support TLS")
    {
        return TlsError::NotOffered(error).into();
    }
    error.into()
}

/// The rustls error behind a connection's error: tokio-rustls wraps it in an `io::Error`,
/// whose `source()` skips it.
fn rustls_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(found);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_without_a_certificate_is_refused() {
        for pem in [&b""[..], b"not pem at all"] {
            let error = pem_roots(pem, "the test").unwrap_err();
            assert!(
                matches!(&error, TlsError::RootCertificates { from, .. } if from == "the test"),
                "{error:?}"
            );
        }
    }

    #[test]
    fn names_are_read_as_webpki_lists_them() {
        assert_eq!(
            host_name(r#"DnsName("db.internal")"#).as_deref(),
            Some("db.internal")
        );
        assert_eq!(
            host_name("IpAddress(127.0.0.1)").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(host_name(r#"UniformResourceIdentifier("x:y")"#), None);
    }

    #[test]
    fn every_verifying_mode_builds_a_connector() {
        // The system's store may be empty on a bare machine: a missing store is a typed error.
        for mode in [
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            match connector(mode, None, &TlsOptions::new()) {
                Ok(_) | Err(TlsError::RootCertificates { .. }) => {}
                Err(other) => panic!("{mode}: {other:?}"),
            }
        }
    }
}
