//! Warden's identity engine: who is calling, and can we prove it.
//!
//! This crate owns the trust domain's signing key ([`SigningKey`]), issues and
//! verifies JWT-SVIDs ([`SigningKey::issue`], [`JwtSvidVerifier`]) in the
//! [SPIFFE JWT-SVID] profile with ES256, owns the trust domain's X.509 CA
//! ([`X509Authority`]), issues and verifies X.509-SVIDs
//! ([`X509Authority::issue`], [`X509SvidVerifier`]) in the [SPIFFE X.509-SVID]
//! profile, serves the public keys as a SPIFFE trust bundle
//! ([`bundle_document`]), verifies SVIDs of federated trust domains against
//! their bundles and maps them onto Warden agents ([`FederatedTrust`]), keeps the set of revoked agents and
//! instances ([`RevocationSet`]), and makes opaque admin tokens
//! ([`generate_admin_token`]). Secrets travel in [`Secret`], whose `Debug` and
//! `Display` redact.
//!
//! It is a pure, synchronous library: no runtime, no store. The caller passes
//! the time in, so every check is reproducible in a test.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use warden_identity::{IssueRequest, JwtSvidVerifier, SigningKey, TokenError};
//! use warden_types::{SpiffeId, TrustDomain};
//!
//! let key = SigningKey::generate();
//! let spiffe_id: SpiffeId = "spiffe://example.org/agent/invoice-bot/i-1".parse()?;
//! let now = SystemTime::now();
//! let issued = key.issue(&IssueRequest {
//!     spiffe_id: spiffe_id.clone(),
//!     audience: vec!["warden".to_owned()],
//!     ttl: Duration::from_secs(300),
//!     now,
//! })?;
//!
//! let verifier =
//!     JwtSvidVerifier::from_signing_key(TrustDomain::new("example.org")?, "warden".to_owned(), &key);
//! let svid = verifier.verify(issued.token.expose(), now)?;
//! assert_eq!(svid.spiffe_id, spiffe_id);
//! assert_eq!(svid.jti, issued.jti);
//!
//! // An hour later the token has expired.
//! let later = now + Duration::from_secs(3600);
//! assert!(matches!(
//!     verifier.verify(issued.token.expose(), later),
//!     Err(TokenError::Expired { .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//!
//! An X.509-SVID from the trust domain's CA verifies into the same
//! [`VerifiedSvid`]; a certificate of another CA does not:
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use warden_identity::{CertificateError, X509Authority, X509IssueRequest, X509SvidVerifier};
//! use warden_types::TrustDomain;
//!
//! let trust_domain = TrustDomain::new("example.org")?;
//! let now = SystemTime::now();
//! let ca = X509Authority::generate(&trust_domain, now)?;
//! let issued = ca.issue(&X509IssueRequest {
//!     spiffe_id: "spiffe://example.org/agent/invoice-bot/i-1".parse()?,
//!     ttl: Duration::from_secs(3600),
//!     now,
//! })?;
//! let verifier = X509SvidVerifier::from_authority(&ca)?;
//! let svid = verifier.verify(&issued.certificate_der, &[], now)?;
//! assert_eq!(svid.spiffe_id.agent().as_str(), "invoice-bot");
//!
//! let other = X509Authority::generate(&trust_domain, now)?;
//! let verifier = X509SvidVerifier::from_authority(&other)?;
//! assert_eq!(
//!     verifier.verify(&issued.certificate_der, &[], now),
//!     Err(CertificateError::UnknownIssuer)
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [SPIFFE JWT-SVID]: https://github.com/spiffe/spiffe/blob/main/standards/JWT-SVID.md
//! [SPIFFE X.509-SVID]: https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md

mod admin;
mod error;
mod federation;
mod federation_bundle;
mod jwt;
mod kek;
mod key;
mod revocation;
mod secret;
mod verify;
mod x509;
mod x509_bundle;
mod x509_verify;

#[cfg(test)]
mod federation_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod x509_tests;

pub use admin::{ADMIN_TOKEN_PREFIX, admin_token_matches, generate_admin_token, token_digest};
pub use error::{CertificateError, IdentityError, TokenError};
pub use federation::{
    FederatedDomain, FederatedTrust, FederationRule, ForeignSpiffeId, SpiffeIdPattern,
    instance_from_segment,
};
pub use federation_bundle::{
    FEDERATED_ALGORITHMS, FederatedBundle, JwtAuthority, MAX_BUNDLE_BYTES,
};
pub use jwt::{IssueRequest, IssuedToken, VerifiedSvid};
pub use kek::KeyEncryptionKey;
pub use key::{BUNDLE_REFRESH_HINT_SECONDS, SigningKey, VerifyingKeyEntry, bundle_document};
pub use revocation::RevocationSet;
/// The certificate type of [`X509SvidVerifier::verify`] and [`CaCertificate`].
pub use rustls_pki_types::CertificateDer;
pub use secret::{Secret, constant_time_eq};
pub use verify::{DEFAULT_LEEWAY, JwtSvidVerifier, MAX_TOKEN_BYTES};
pub use x509::{
    CA_CERTIFICATE_TTL, DEFAULT_X509_SVID_TTL, IssuedX509Svid, MAX_X509_SVID_TTL, X509Authority,
    X509IssueRequest,
};
pub use x509_bundle::{CaCertificate, certificates_from_pem};
pub use x509_verify::{X509_SERIAL_PREFIX, X509SvidVerifier};
