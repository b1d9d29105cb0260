//! TLS on the data plane (`[serve.tls]`): the server certificate, and agents'
//! X.509-SVIDs verified during the handshake.
//!
//! A client certificate is verified by [`X509SvidVerifier`] in the
//! handshake: a certificate that is expired, from a CA outside the trust
//! bundle, of another trust domain, or without exactly one agent SPIFFE ID
//! ends the handshake, and the refusal is logged with the peer's address.
//! The verified identity travels with each request of the connection as a
//! [`PeerSvid`] extension, which `auth.rs` accepts as it accepts a JWT-SVID.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwap, ArcSwapOption};
use rustls::DistinguishedName;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use sha2::{Digest as _, Sha256};
use warden_identity::{
    CaCertificate, CertificateError, FederatedTrust, VerifiedSvid, X509SvidVerifier,
};
use warden_policy::{ClientAuth, TlsConfig};
use warden_types::TrustDomain;

use crate::error::GatewayError;

/// The X.509 side of a gateway: the CA certificates its trust bundle serves
/// and, when `[serve.tls]` is set, the data plane's TLS settings.
#[derive(Clone)]
pub struct X509Setup {
    /// The CA certificates in the trust bundle, swapped when the CA rotates.
    pub(crate) authorities: Arc<ArcSwap<Vec<CaCertificate>>>,
    pub(crate) tls: Option<DataPlaneTls>,
    /// Whether the CAs are kept in the store (and follow its rotations).
    pub(crate) managed: bool,
}

impl std::fmt::Debug for X509Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X509Setup")
            .field("authorities", &self.authorities.load().len())
            .field("managed", &self.managed)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The data plane's TLS: the acceptor and the verifier of client certificates.
#[derive(Clone)]
pub(crate) struct DataPlaneTls {
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
    /// Swapped when Warden's CA rotates, if it verifies against Warden's
    /// own CAs (no `client_ca` file).
    pub(crate) verifier: Option<Arc<ArcSwap<X509SvidVerifier>>>,
    /// Whether the verifier's roots are Warden's own CAs.
    pub(crate) own_roots: bool,
    /// The federated trust domains, kept in step by the gateway (`None`:
    /// none federated).
    pub(crate) federation: Arc<ArcSwapOption<FederatedTrust>>,
}

/// An agent identity proven by the connection's client certificate (a
/// request extension).
#[derive(Debug)]
pub(crate) struct PeerSvid {
    /// What the certificate says.
    pub(crate) svid: VerifiedSvid,
    /// SHA-256 of the leaf certificate's DER: its key in the caller cache.
    pub(crate) digest: [u8; 32],
}

impl X509Setup {
    /// The CA `authority` in the trust bundle, and TLS on the data plane
    /// when `tls` says so: client certificates then chain to `tls.client_ca`
    /// (a PEM bundle file) or, without one, to `authority`, and name an agent
    /// of `trust_domain`. Files are read now; an unreadable or unusable one
    /// is an error naming it.
    pub fn new(
        authority: CaCertificate,
        trust_domain: &TrustDomain,
        tls: Option<&TlsConfig>,
    ) -> Result<X509Setup, GatewayError> {
        Self::with_roots(vec![authority], trust_domain, tls, false)
    }

    /// As [`X509Setup::new`], with the CAs kept in the store: every CA in
    /// `authorities` (current and retired) is in the bundle and, without a
    /// `client_ca` file, trusted for client certificates; a rotation the
    /// gateway reads from the store replaces them, without a restart.
    pub fn from_authorities(
        authorities: &crate::ca_keys::Authorities,
        trust_domain: &TrustDomain,
        tls: Option<&TlsConfig>,
    ) -> Result<X509Setup, GatewayError> {
        Self::with_roots(authorities.all.clone(), trust_domain, tls, true)
    }

    fn with_roots(
        roots: Vec<CaCertificate>,
        trust_domain: &TrustDomain,
        tls: Option<&TlsConfig>,
        managed: bool,
    ) -> Result<X509Setup, GatewayError> {
        let tls = tls
            .map(|tls| data_plane_tls(&roots, trust_domain, tls))
            .transpose()?;
        Ok(X509Setup {
            authorities: Arc::new(ArcSwap::from_pointee(roots)),
            tls,
            managed,
        })
    }

    /// Puts `all` (Warden's CAs after a rotation) in the bundle and, when
    /// client certificates verify against Warden's own CAs, among the roots.
    pub(crate) fn set_authorities(
        &self,
        all: Vec<CaCertificate>,
        trust_domain: &TrustDomain,
    ) -> Result<(), GatewayError> {
        if let Some(tls) = &self.tls
            && tls.own_roots
            && let Some(verifier) = &tls.verifier
        {
            let fresh = X509SvidVerifier::new(trust_domain.clone(), all.clone())
                .map_err(|e| GatewayError::Setup(format!("the rotated X.509 CAs: {e}")))?;
            verifier.store(Arc::new(fresh));
        }
        self.authorities.store(Arc::new(all));
        Ok(())
    }

    /// Whether the data plane speaks TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }
}

fn setup_error(path: &Path, what: &str, reason: impl std::fmt::Display) -> GatewayError {
    GatewayError::Setup(format!("[serve.tls] {what} `{}`: {reason}", path.display()))
}

fn data_plane_tls(
    authorities: &[CaCertificate],
    trust_domain: &TrustDomain,
    config: &TlsConfig,
) -> Result<DataPlaneTls, GatewayError> {
    let chain = CertificateDer::pem_file_iter(&config.cert)
        .map_err(|e| setup_error(&config.cert, "cert", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| setup_error(&config.cert, "cert", e))?;
    if chain.is_empty() {
        return Err(setup_error(
            &config.cert,
            "cert",
            "no `CERTIFICATE` PEM block",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&config.key)
        .map_err(|e| setup_error(&config.key, "key", e))?;
    let provider = Arc::new(ring_provider());
    let federation = Arc::new(ArcSwapOption::empty());
    let verifier = match config.client_auth {
        ClientAuth::None => None,
        ClientAuth::Optional | ClientAuth::Required => {
            let roots = match &config.client_ca {
                None => authorities.to_vec(),
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| setup_error(path, "client_ca", e))?;
                    CaCertificate::all_from_pem(&text)
                        .map_err(|e| setup_error(path, "client_ca", e))?
                }
            };
            Some(Arc::new(ArcSwap::from_pointee(
                X509SvidVerifier::new(trust_domain.clone(), roots)
                    .map_err(|e| GatewayError::Setup(format!("[serve.tls] client_ca: {e}")))?,
            )))
        }
    };
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::Setup(format!("TLS: {e}")))?;
    let builder = match &verifier {
        None => builder.with_no_client_auth(),
        Some(verifier) => builder.with_client_cert_verifier(Arc::new(SvidClientVerifier {
            // Every CA of Warden's has the same subject: the hints hold
            // across rotations.
            subjects: verifier
                .load()
                .root_subjects()
                // A trust anchor holds the name without its SEQUENCE tag.
                .map(DistinguishedName::in_sequence)
                .collect(),
            verifier: Arc::clone(verifier),
            federation: Arc::clone(&federation),
            mandatory: config.client_auth == ClientAuth::Required,
            provider,
        })),
    };
    let mut server = builder
        .with_single_cert(chain, key)
        .map_err(|e| setup_error(&config.key, "cert and key", e))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(DataPlaneTls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        verifier,
        own_roots: config.client_ca.is_none(),
        federation,
    })
}

/// rustls with the *ring* provider, chosen here rather than taken from the
/// process default. rustls 0.23.48 deprecates it for its lack of
/// post-quantum key exchange; aws-lc-rs, which has it, needs cmake and a C
/// toolchain to build, which Warden avoids for now.
#[expect(
    deprecated,
    reason = "ring is the provider Warden builds with; see above"
)]
pub(crate) fn ring_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The identity of a connection's verified client certificate, if any.
pub(crate) fn peer_svid(
    tls: &DataPlaneTls,
    connection: &rustls::ServerConnection,
) -> Option<Arc<PeerSvid>> {
    let verifier = tls.verifier.as_ref()?;
    let (leaf, intermediates) = connection.peer_certificates()?.split_first()?;
    // Verified in the handshake a moment ago; verified again for its contents.
    let svid = verify_client(
        &verifier.load(),
        &tls.federation,
        leaf,
        intermediates,
        SystemTime::now(),
    )
    .ok()?;
    Some(Arc::new(PeerSvid {
        svid,
        digest: Sha256::digest(leaf.as_ref()).into(),
    }))
}

/// Verifies a client certificate: against its trust domain's bundle and
/// mapped, when its SPIFFE ID is in a federated trust domain; else as an
/// X.509-SVID of Warden's trust domain.
fn verify_client(
    verifier: &X509SvidVerifier,
    federation: &ArcSwapOption<FederatedTrust>,
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: SystemTime,
) -> Result<VerifiedSvid, CertificateError> {
    if let Some(federation) = federation.load().as_deref()
        && federation.claims_federated_certificate(leaf)
    {
        return federation.verify_x509(leaf, intermediates, now);
    }
    verifier.verify(leaf, intermediates, now)
}

/// Verifies client certificates as X.509-SVIDs of the trust domain (or of
/// a federated one).
#[derive(Debug)]
struct SvidClientVerifier {
    verifier: Arc<ArcSwap<X509SvidVerifier>>,
    federation: Arc<ArcSwapOption<FederatedTrust>>,
    subjects: Vec<DistinguishedName>,
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for SvidClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // With federated trust domains, whose CAs rotate, no hint: a client
        // may present a certificate of any CA (and clients that pick their
        // certificate by the hints, as Go's do, send theirs).
        if self.federation.load().is_some() {
            &[]
        } else {
            &self.subjects
        }
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let time = now;
        let now = UNIX_EPOCH + Duration::from_secs(now.as_secs());
        verify_client(
            &self.verifier.load(),
            &self.federation,
            end_entity,
            intermediates,
            now,
        )
        .map(|_| ClientCertVerified::assertion())
        .map_err(|error| {
            // The alert tells the client why; the message (logged with
            // the peer's address by `serve_plane`) tells the operator.
            let reason = match error {
                CertificateError::Expired { expired_at } => {
                    rustls::CertificateError::ExpiredContext {
                        time,
                        not_after: UnixTime::since_unix_epoch(Duration::from_secs(expired_at)),
                    }
                }
                CertificateError::NotYetValid => rustls::CertificateError::NotValidYet,
                CertificateError::UnknownIssuer => rustls::CertificateError::UnknownIssuer,
                other => rustls::CertificateError::Other(rustls::OtherError(Arc::new(
                    SvidRefused(other),
                ))),
            };
            rustls::Error::InvalidCertificate(reason)
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A refused X.509-SVID, as rustls carries it (its message is ours).
#[derive(Debug)]
struct SvidRefused(CertificateError);

impl std::fmt::Display for SvidRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "X.509-SVID refused: {}", self.0)
    }
}

impl std::error::Error for SvidRefused {}
