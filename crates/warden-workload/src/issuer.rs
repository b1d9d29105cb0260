//! Where SVIDs come from: the [`SvidIssuer`] trait, and [`JwtIssuer`], its
//! JWT half over `warden-identity`.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use warden_identity::{
    CaCertificate, IssueRequest, JwtSvidVerifier, MAX_X509_SVID_TTL, Secret, SigningKey,
    X509Authority, bundle_document,
};
use warden_types::{SpiffeId, TrustDomain};

use crate::error::IssueError;

/// The lifetime of the JWT-SVIDs [`JwtIssuer::new`] issues (SPIRE's default).
pub const DEFAULT_JWT_TTL: Duration = Duration::from_secs(300);

/// Issues the SVIDs and bundles the Workload API hands out.
///
/// The server calls it for every request and every rotation; it must not
/// block for long (issuing an SVID is a key generation and a signature).
pub trait SvidIssuer: Send + Sync + 'static {
    /// The trust domain the SVIDs and bundles belong to.
    fn trust_domain(&self) -> &TrustDomain;

    /// A new X.509-SVID for `id`. The server streams a new one when half of
    /// this one's lifetime has passed, so each call should return one that
    /// is fresh (issued now), not a cached one near its expiry.
    fn x509_svid(&self, id: &SpiffeId) -> Result<X509Svid, IssueError>;

    /// The trust domain's X.509 bundle: its CA certificates, DER,
    /// concatenated.
    fn x509_bundle(&self) -> Result<Vec<u8>, IssueError>;

    /// A JWT-SVID (compact JWS) for `id`, addressed to `audience` (at least
    /// one, none empty).
    fn jwt_svid(&self, id: &SpiffeId, audience: &[String]) -> Result<Secret, IssueError>;

    /// The trust domain's JWT bundle: a JWKS JSON document.
    fn jwt_bundle(&self) -> Result<Vec<u8>, IssueError>;

    /// Validates JWT-SVID `token` for `audience`.
    fn validate_jwt(&self, token: &str, audience: &str) -> Result<ValidatedJwt, IssueError>;

    /// Told when a bundle changes (a CA or signing key rotates): the value
    /// is a sequence number, and each change makes the streaming calls send
    /// the new bundles (and new X.509-SVIDs). The default never changes.
    fn bundle_updates(&self) -> watch::Receiver<u64> {
        watch::channel(0).1
    }
}

/// An X.509-SVID and its private key.
#[derive(Clone, PartialEq, Eq)]
pub struct X509Svid {
    /// DER certificates, the SVID (leaf) first, then any intermediates.
    pub certificates: Vec<Vec<u8>>,
    /// The leaf's private key, PKCS#8 DER, unencrypted.
    pub private_key: PrivateKeyDer,
    /// The leaf's `notBefore`.
    pub issued_at: SystemTime,
    /// The leaf's `notAfter`.
    pub expires_at: SystemTime,
}

impl X509Svid {
    /// When the server streams its successor: half way through its life.
    pub fn refresh_at(&self) -> SystemTime {
        let lifetime = self
            .expires_at
            .duration_since(self.issued_at)
            .unwrap_or(Duration::ZERO);
        self.issued_at + lifetime / 2
    }
}

impl fmt::Debug for X509Svid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("X509Svid")
            .field("certificates", &self.certificates.len())
            .field("private_key", &"[redacted]")
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A private key, PKCS#8 DER: `Debug` redacts it, and it is zeroed when
/// dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyDer(Vec<u8>);

impl PrivateKeyDer {
    /// Wraps the DER bytes `der`.
    pub fn new(der: Vec<u8>) -> Self {
        Self(der)
    }

    /// The DER bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyDer([redacted])")
    }
}

impl Drop for PrivateKeyDer {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// What a validated JWT-SVID says.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedJwt {
    /// Its subject.
    pub spiffe_id: SpiffeId,
    /// Its claims (`sub`, `aud`, `exp`, `iat`, `jti`).
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// The JWT half of an issuer, over a `warden-identity` [`SigningKey`]:
/// ES256 JWT-SVIDs, the key as a SPIFFE bundle ([`bundle_document`]) and
/// validation by [`JwtSvidVerifier`].
///
/// As an [`SvidIssuer`] on its own it issues no X.509-SVIDs
/// ([`IssueError::Unsupported`]); an issuer that does can delegate its JWT
/// methods to one of these.
pub struct JwtIssuer {
    trust_domain: TrustDomain,
    key: std::sync::Arc<SigningKey>,
    ttl: Duration,
}

impl JwtIssuer {
    /// Issues with `key` for `trust_domain`, tokens living
    /// [`DEFAULT_JWT_TTL`].
    pub fn new(trust_domain: TrustDomain, key: impl Into<std::sync::Arc<SigningKey>>) -> Self {
        Self {
            trust_domain,
            key: key.into(),
            ttl: DEFAULT_JWT_TTL,
        }
    }

    /// The same issuer with tokens living `ttl` (at least a second).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The trust domain.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// A JWT-SVID for `id`, for `audience`, issued now.
    pub fn issue(&self, id: &SpiffeId, audience: &[String]) -> Result<Secret, IssueError> {
        self.key
            .issue(&IssueRequest {
                spiffe_id: id.clone(),
                audience: audience.to_vec(),
                ttl: self.ttl,
                now: SystemTime::now(),
            })
            .map(|issued| issued.token)
            .map_err(|error| IssueError::Failed {
                what: "a JWT-SVID",
                reason: error.to_string(),
            })
    }

    /// The JWKS bundle of the signing key.
    pub fn bundle(&self) -> Result<Vec<u8>, IssueError> {
        serde_json::to_vec(&bundle_document(&[&self.key], &[])).map_err(|error| {
            IssueError::Failed {
                what: "the JWT bundle",
                reason: error.to_string(),
            }
        })
    }

    /// Validates `token` for `audience` now.
    pub fn validate(&self, token: &str, audience: &str) -> Result<ValidatedJwt, IssueError> {
        let verifier = JwtSvidVerifier::from_signing_key(
            self.trust_domain.clone(),
            audience.to_owned(),
            &self.key,
        );
        let verified = verifier.verify(token, SystemTime::now()).map_err(|error| {
            IssueError::InvalidToken {
                reason: error.to_string(),
            }
        })?;
        let seconds = |time: SystemTime| {
            time.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        };
        let mut claims = serde_json::Map::new();
        claims.insert("sub".to_owned(), verified.spiffe_id.to_string().into());
        claims.insert("aud".to_owned(), serde_json::json!([audience]));
        claims.insert("exp".to_owned(), seconds(verified.expires_at).into());
        claims.insert("iat".to_owned(), seconds(verified.issued_at).into());
        claims.insert("jti".to_owned(), verified.jti.into());
        Ok(ValidatedJwt {
            spiffe_id: verified.spiffe_id,
            claims,
        })
    }
}

impl fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("trust_domain", &self.trust_domain)
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl SvidIssuer for JwtIssuer {
    fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    fn x509_svid(&self, _id: &SpiffeId) -> Result<X509Svid, IssueError> {
        Err(IssueError::Unsupported {
            what: "X.509-SVIDs",
        })
    }

    fn x509_bundle(&self) -> Result<Vec<u8>, IssueError> {
        Err(IssueError::Unsupported {
            what: "X.509 bundles",
        })
    }

    fn jwt_svid(&self, id: &SpiffeId, audience: &[String]) -> Result<Secret, IssueError> {
        self.issue(id, audience)
    }

    fn jwt_bundle(&self) -> Result<Vec<u8>, IssueError> {
        self.bundle()
    }

    fn validate_jwt(&self, token: &str, audience: &str) -> Result<ValidatedJwt, IssueError> {
        self.validate(token, audience)
    }
}

/// The lifetime of the X.509-SVIDs [`WardenIssuer`] issues (SPIRE's default).
pub const DEFAULT_X509_TTL: Duration = Duration::from_secs(3600);

/// Warden's own issuer: X.509-SVIDs from the trust domain's current CA,
/// the X.509 bundle of every CA still trusted, JWT-SVIDs from its signing
/// key.
pub struct WardenIssuer {
    jwt: JwtIssuer,
    cas: RwLock<IssuingCas>,
    ttl: Duration,
    updates: watch::Sender<u64>,
}

/// The CA that issues, and the CAs in the bundle.
struct IssuingCas {
    current: Arc<X509Authority>,
    trusted: Vec<CaCertificate>,
}

impl WardenIssuer {
    /// Issues from `ca` and `jwt`, X.509-SVIDs for [`DEFAULT_X509_TTL`];
    /// the bundle holds `ca` alone.
    pub fn new(jwt: JwtIssuer, ca: X509Authority) -> Self {
        let trusted = vec![ca.certificate().clone()];
        Self::with_authorities(jwt, Arc::new(ca), trusted)
    }

    /// Issues from `current` and `jwt`; the bundle holds `trusted` (the
    /// current CA and the retired ones still trusted).
    pub fn with_authorities(
        jwt: JwtIssuer,
        current: Arc<X509Authority>,
        trusted: Vec<CaCertificate>,
    ) -> Self {
        Self {
            jwt,
            cas: RwLock::new(IssuingCas { current, trusted }),
            ttl: DEFAULT_X509_TTL,
            updates: watch::channel(0).0,
        }
    }

    /// Sets the X.509-SVIDs' lifetime (at least one second), at most
    /// [`MAX_X509_SVID_TTL`]: a retired CA is trusted only that long.
    pub fn with_x509_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.min(MAX_X509_SVID_TTL);
        self
    }

    /// Issues from `current` from now on, with `trusted` as the bundle (a
    /// CA rotation), and tells the streams ([`SvidIssuer::bundle_updates`])
    /// to send the new bundle and new X.509-SVIDs.
    pub fn set_authorities(&self, current: Arc<X509Authority>, trusted: Vec<CaCertificate>) {
        *self.cas.write().unwrap_or_else(PoisonError::into_inner) = IssuingCas { current, trusted };
        self.updates.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The CA that issues now.
    fn current(&self) -> Arc<X509Authority> {
        Arc::clone(
            &self
                .cas
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .current,
        )
    }
}

impl fmt::Debug for WardenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WardenIssuer")
            .field("trust_domain", self.jwt.trust_domain())
            .field("x509_ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The DER inside a PKCS#8 PEM block.
fn pem_body(pem: &str) -> Result<Vec<u8>, IssueError> {
    use base64::Engine as _;
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| IssueError::Failed {
            what: "an X.509-SVID",
            reason: format!("the issued private key does not decode: {e}"),
        })
}

impl SvidIssuer for WardenIssuer {
    fn trust_domain(&self) -> &TrustDomain {
        self.jwt.trust_domain()
    }

    fn x509_svid(&self, id: &SpiffeId) -> Result<X509Svid, IssueError> {
        let now = SystemTime::now();
        let issued = self
            .current()
            .issue(&warden_identity::X509IssueRequest {
                spiffe_id: id.clone(),
                ttl: self.ttl,
                now,
            })
            .map_err(|e| IssueError::Failed {
                what: "an X.509-SVID",
                reason: e.to_string(),
            })?;
        Ok(X509Svid {
            certificates: vec![issued.certificate_der.to_vec()],
            private_key: PrivateKeyDer::new(pem_body(issued.private_key_pem.expose())?),
            issued_at: UNIX_EPOCH
                + Duration::from_secs(now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())),
            expires_at: issued.expires_at,
        })
    }

    fn x509_bundle(&self) -> Result<Vec<u8>, IssueError> {
        let cas = self.cas.read().unwrap_or_else(PoisonError::into_inner);
        Ok(cas
            .trusted
            .iter()
            .flat_map(|c| c.der().iter().copied())
            .collect())
    }

    fn jwt_svid(&self, id: &SpiffeId, audience: &[String]) -> Result<Secret, IssueError> {
        self.jwt.issue(id, audience)
    }

    fn jwt_bundle(&self) -> Result<Vec<u8>, IssueError> {
        self.jwt.bundle()
    }

    fn validate_jwt(&self, token: &str, audience: &str) -> Result<ValidatedJwt, IssueError> {
        self.jwt.validate(token, audience)
    }

    fn bundle_updates(&self) -> watch::Receiver<u64> {
        self.updates.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> JwtIssuer {
        JwtIssuer::new(
            TrustDomain::new("example.org").unwrap(),
            SigningKey::generate(),
        )
    }

    #[test]
    fn issued_tokens_validate_for_their_audience_only() {
        let issuer = issuer();
        let id: SpiffeId = "spiffe://example.org/agent/bot/w-1".parse().unwrap();
        let token = issuer.issue(&id, &["db".to_owned()]).unwrap();
        let validated = issuer.validate(token.expose(), "db").unwrap();
        assert_eq!(validated.spiffe_id, id);
        assert_eq!(validated.claims["sub"], id.to_string());
        assert_eq!(validated.claims["aud"], serde_json::json!(["db"]));
        let error = issuer.validate(token.expose(), "other").unwrap_err();
        assert!(matches!(error, IssueError::InvalidToken { .. }), "{error}");
        let stranger = JwtIssuer::new(
            TrustDomain::new("example.org").unwrap(),
            SigningKey::generate(),
        );
        assert!(stranger.validate(token.expose(), "db").is_err());
    }

    #[test]
    fn a_ca_rotation_changes_the_issuer_and_the_bundle_and_is_told() {
        let td = TrustDomain::new("example.org").unwrap();
        let old = X509Authority::generate(&td, SystemTime::now()).unwrap();
        let old_der = old.certificate().der().to_vec();
        let issuer =
            WardenIssuer::new(issuer(), old).with_x509_ttl(Duration::from_secs(7 * 86_400));
        assert_eq!(
            issuer.ttl, MAX_X509_SVID_TTL,
            "capped at the longest an SVID may live"
        );
        assert_eq!(issuer.x509_bundle().unwrap(), old_der);
        let updates = issuer.bundle_updates();
        let new = Arc::new(X509Authority::generate(&td, SystemTime::now()).unwrap());
        let trusted = vec![
            new.certificate().clone(),
            CaCertificate::from_der(old_der.clone().into()).unwrap(),
        ];
        issuer.set_authorities(Arc::clone(&new), trusted);
        assert!(updates.has_changed().unwrap(), "the streams are told");
        let mut both = new.certificate().der().to_vec();
        both.extend_from_slice(&old_der);
        assert_eq!(issuer.x509_bundle().unwrap(), both);
        let id: SpiffeId = "spiffe://example.org/agent/bot/w-1".parse().unwrap();
        let svid = issuer.x509_svid(&id).unwrap();
        let verifier =
            warden_identity::X509SvidVerifier::new(td, vec![new.certificate().clone()]).unwrap();
        let leaf = warden_identity::CertificateDer::from(svid.certificates[0].clone());
        verifier.verify(&leaf, &[], SystemTime::now()).unwrap();
    }

    #[test]
    fn bundle_is_a_jwks_with_the_key() {
        let issuer = issuer();
        let bundle: serde_json::Value = serde_json::from_slice(&issuer.bundle().unwrap()).unwrap();
        assert_eq!(bundle["keys"].as_array().unwrap().len(), 1);
        assert_eq!(bundle["keys"][0]["kty"], "EC");
    }

    #[test]
    fn x509_is_unsupported_and_svids_refresh_at_half_life() {
        let issuer = issuer();
        let id: SpiffeId = "spiffe://example.org/agent/bot/w-1".parse().unwrap();
        assert!(matches!(
            issuer.x509_svid(&id),
            Err(IssueError::Unsupported { .. })
        ));
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let svid = X509Svid {
            certificates: vec![],
            private_key: PrivateKeyDer::new(vec![0x30, 0x42]),
            issued_at: now,
            expires_at: now + Duration::from_secs(3600),
        };
        assert_eq!(svid.refresh_at(), now + Duration::from_secs(1800));
        assert!(!format!("{svid:?}").contains("48"), "{svid:?}");
    }
}
