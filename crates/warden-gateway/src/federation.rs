//! Federation (`[[federation]]`): the bundles of other trust domains,
//! loaded at start and, for bundle endpoints, refreshed on their
//! `spiffe_refresh_hint`; the data plane verifies foreign SVIDs against
//! them and maps them onto Warden agents (see `warden_identity::FederatedTrust`).
//!
//! A bundle endpoint is fetched with the SPIFFE `https_web` profile: plain
//! HTTPS GET, the server authenticated by a web PKI root (the system's CA
//! bundle, or `endpoint_ca`). A failed fetch keeps the last good bundle and
//! is logged with why; it is retried after [`RETRY_AFTER_FAILURE`] (or the
//! refresh interval, when shorter).

use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use http_body_util::BodyExt as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use warden_identity::{
    FederatedBundle, FederatedDomain, FederatedTrust, FederationRule, MAX_BUNDLE_BYTES,
    SpiffeIdPattern,
};
use warden_policy::{BundleSource, Config, FederatedIdPattern};
use warden_types::TrustDomain;

use crate::error::GatewayError;
use crate::state::Gateway;

/// The refresh interval when a bundle advertises no `spiffe_refresh_hint`.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

/// The shortest refresh interval, whatever a bundle advertises.
pub const MIN_REFRESH: Duration = Duration::from_secs(10);

/// How soon a failed fetch is tried again (at most).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// How long one fetch of a bundle endpoint may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the system's CA bundle is looked for, in order, when a bundle
/// endpoint has no `endpoint_ca`, after the file [`SSL_CERT_FILE_ENV`] names.
const SYSTEM_CA_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// The environment variable naming a PEM file of web PKI roots for bundle
/// endpoints (as OpenSSL reads it); the default is the system's CA bundle.
pub const SSL_CERT_FILE_ENV: &str = "SSL_CERT_FILE";

/// How often to refresh a bundle that advertised `hint`: the hint (default
/// [`DEFAULT_REFRESH`]), at least [`MIN_REFRESH`].
pub fn refresh_interval(hint: Option<Duration>) -> Duration {
    hint.unwrap_or(DEFAULT_REFRESH).max(MIN_REFRESH)
}

/// A bundle endpoint and the TLS client that reaches it.
struct Endpoint {
    trust_domain: TrustDomain,
    url: url::Url,
    tls: Arc<rustls::ClientConfig>,
}

/// The federated trust domains as the data plane sees them.
pub(crate) struct Federation {
    trust: ArcSwap<FederatedTrust>,
    /// Copies kept in step (the TLS client-certificate verifier's).
    mirrors: parking_lot::Mutex<Vec<Arc<ArcSwapOption<FederatedTrust>>>>,
    endpoints: Vec<Endpoint>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("endpoints", &self.endpoints.len())
            .finish_non_exhaustive()
    }
}

fn setup(trust_domain: &TrustDomain, reason: impl std::fmt::Display) -> GatewayError {
    GatewayError::Setup(format!("[[federation]] `{trust_domain}`: {reason}"))
}

impl Federation {
    /// The federated trust domains of `config`: bundle files read now (an
    /// unreadable or invalid one stops the start, naming it), bundle
    /// endpoints fetched once (a failure is logged; that domain's SVIDs are
    /// refused until a fetch succeeds).
    pub(crate) async fn start(config: &Config) -> Result<Federation, GatewayError> {
        let mut trust =
            FederatedTrust::new(config.trust_domain.clone(), config.serve.audience.clone());
        let mut endpoints = Vec::new();
        for entry in &config.federation {
            let td = &entry.trust_domain;
            let rules = entry
                .map
                .iter()
                .map(|rule| FederationRule {
                    pattern: match &rule.pattern {
                        FederatedIdPattern::Exact(id) => SpiffeIdPattern::Exact(id.clone()),
                        FederatedIdPattern::Prefix(p) => SpiffeIdPattern::Prefix(p.clone()),
                    },
                    agent: rule.agent.clone(),
                    instance: rule.instance.clone(),
                })
                .collect();
            let bundle = match &entry.bundle {
                BundleSource::File(path) => {
                    let bytes = std::fs::read(path).map_err(|e| {
                        setup(
                            td,
                            format_args!("cannot read bundle_file `{}`: {e}", path.display()),
                        )
                    })?;
                    let bundle = FederatedBundle::parse(td.clone(), &bytes).map_err(|e| {
                        setup(td, format_args!("bundle_file `{}`: {e}", path.display()))
                    })?;
                    log_skipped(&bundle);
                    Some(bundle)
                }
                BundleSource::Endpoint { url, endpoint_ca } => {
                    let roots = match endpoint_ca {
                        Some(path) => read_roots(path)
                            .map_err(|e| setup(td, format_args!("endpoint_ca: {e}")))?,
                        None => system_roots().map_err(|e| setup(td, e))?,
                    };
                    let tls = client_config(roots).map_err(|e| setup(td, e))?;
                    endpoints.push(Endpoint {
                        trust_domain: td.clone(),
                        url: url.clone(),
                        tls,
                    });
                    None
                }
            };
            trust = trust.with_domain(td.clone(), FederatedDomain { bundle, rules });
        }
        let federation = Federation {
            trust: ArcSwap::from_pointee(trust),
            mirrors: parking_lot::Mutex::new(Vec::new()),
            endpoints,
        };
        for endpoint in &federation.endpoints {
            federation.refresh_one(endpoint).await;
        }
        Ok(federation)
    }

    /// The federated trust in force.
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<FederatedTrust>> {
        self.trust.load()
    }

    /// Keeps `mirror` in step with this federation from now on (when any
    /// trust domain is federated).
    pub(crate) fn mirror(&self, mirror: Arc<ArcSwapOption<FederatedTrust>>) {
        let trust = self.trust.load_full();
        if trust.is_empty() {
            return;
        }
        let mut mirrors = self.mirrors.lock();
        mirror.store(Some(trust));
        mirrors.push(mirror);
    }

    /// Fetches one endpoint and swaps its bundle in; on failure keeps the
    /// last good one and logs why. Returns when to fetch again.
    async fn refresh_one(&self, endpoint: &Endpoint) -> Duration {
        match fetch(endpoint).await {
            Ok(bundle) => {
                log_skipped(&bundle);
                let interval = refresh_interval(bundle.refresh_hint());
                tracing::info!(
                    trust_domain = %endpoint.trust_domain,
                    sequence = bundle.sequence(),
                    jwt_authorities = bundle.jwt_authorities().len(),
                    x509_authorities = bundle.x509_authorities().len(),
                    next_refresh_secs = interval.as_secs(),
                    "fetched a federated bundle"
                );
                let mirrors = self.mirrors.lock();
                let mut trust = FederatedTrust::clone(&self.trust.load());
                trust.set_bundle(bundle);
                let trust = Arc::new(trust);
                self.trust.store(Arc::clone(&trust));
                for mirror in mirrors.iter() {
                    mirror.store(Some(Arc::clone(&trust)));
                }
                interval
            }
            Err(reason) => {
                let last = self.trust.load();
                let bundle = last
                    .domain(&endpoint.trust_domain)
                    .and_then(|d| d.bundle.as_ref());
                tracing::warn!(
                    trust_domain = %endpoint.trust_domain,
                    endpoint = %endpoint.url,
                    error = %reason,
                    kept = if bundle.is_some() { "the last good bundle" } else { "no bundle yet" },
                    "cannot fetch a federated bundle"
                );
                refresh_interval(bundle.and_then(FederatedBundle::refresh_hint))
                    .min(RETRY_AFTER_FAILURE)
            }
        }
    }
}

fn log_skipped(bundle: &FederatedBundle) {
    for skipped in bundle.skipped() {
        tracing::warn!(trust_domain = %bundle.trust_domain(), key = %skipped, "skipped a key of a federated bundle");
    }
}

impl Gateway {
    /// Fetches every federated bundle endpoint now (rather than on its
    /// refresh hint) and swaps in what was fetched; a failed fetch keeps
    /// the last good bundle. Callers verified with a federated SVID are
    /// verified again on their next request.
    pub async fn refresh_federation(&self) {
        for endpoint in &self.federation.endpoints {
            self.federation.refresh_one(endpoint).await;
        }
        self.tokens.forget_federated();
    }

    /// Refreshes each bundle endpoint on its bundle's refresh hint until
    /// `stop` says so.
    pub(crate) async fn keep_federation_fresh(
        self: Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let endpoints = &self.federation.endpoints;
        if endpoints.is_empty() {
            return;
        }
        let start = tokio::time::Instant::now();
        let mut due: Vec<tokio::time::Instant> = endpoints
            .iter()
            .map(|e| {
                let hint = self
                    .federation
                    .load()
                    .domain(&e.trust_domain)
                    .and_then(|d| d.bundle.as_ref())
                    .map(|b| refresh_interval(b.refresh_hint()));
                start + hint.unwrap_or(RETRY_AFTER_FAILURE)
            })
            .collect();
        loop {
            let Some((index, at)) = due.iter().copied().enumerate().min_by_key(|(_, at)| *at)
            else {
                return;
            };
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if let (Some(endpoint), Some(slot)) = (endpoints.get(index), due.get_mut(index)) {
                let next = self.federation.refresh_one(endpoint).await;
                self.tokens.forget_federated();
                *slot = tokio::time::Instant::now() + next;
            }
        }
    }
}

fn read_roots(path: &std::path::Path) -> Result<rustls::RootCertStore, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("`{}`: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("`{}`: {e}", path.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(format!(
            "`{}` holds no usable CA certificate",
            path.display()
        ));
    }
    Ok(roots)
}

fn system_roots() -> Result<rustls::RootCertStore, String> {
    let from_env = std::env::var_os(SSL_CERT_FILE_ENV).map(std::path::PathBuf::from);
    let candidates = from_env
        .into_iter()
        .chain(SYSTEM_CA_FILES.iter().map(std::path::PathBuf::from));
    for path in candidates {
        if path.is_file() {
            return read_roots(&path);
        }
    }
    Err(format!(
        "no system CA bundle found (looked for {SSL_CERT_FILE_ENV} and {}): set `endpoint_ca`",
        SYSTEM_CA_FILES.join(", ")
    ))
}

fn client_config(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, String> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(crate::tls::ring_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// GETs the endpoint's bundle document over HTTPS and parses it.
async fn fetch(endpoint: &Endpoint) -> Result<FederatedBundle, String> {
    let body = tokio::time::timeout(FETCH_TIMEOUT, get(endpoint))
        .await
        .map_err(|_| format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))??;
    FederatedBundle::parse(endpoint.trust_domain.clone(), &body).map_err(|e| e.to_string())
}

async fn get(endpoint: &Endpoint) -> Result<Vec<u8>, String> {
    let url = &endpoint.url;
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|e| format!("bad host `{host}`: {e}"))?;
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::clone(&endpoint.tls))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(connection);
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::USER_AGENT, "warden")
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
        .map_err(|e| format!("HTTP: {e}"))?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        if response.status() != hyper::StatusCode::OK {
            return Err(format!("HTTP status {}", response.status()));
        }
        let body = http_body_util::Limited::new(response.into_body(), MAX_BUNDLE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the body: {e}"))?;
        Ok(body.to_bytes().to_vec())
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_interval_follows_the_hint_with_a_floor_and_a_default() {
        assert_eq!(refresh_interval(None), Duration::from_secs(300));
        assert_eq!(
            refresh_interval(Some(Duration::from_secs(1))),
            Duration::from_secs(10)
        );
        assert_eq!(
            refresh_interval(Some(Duration::from_secs(60))),
            Duration::from_secs(60)
        );
    }
}
