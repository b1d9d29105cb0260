//! The errors of this crate: [`IdentityError`] for keys and issuance,
//! [`TokenError`] for verifying JWT-SVIDs, [`CertificateError`] for verifying
//! X.509-SVIDs.

use std::io;
use std::path::PathBuf;

use warden_types::TrustDomain;

/// Why a signing key could not be loaded or created, or a token not issued.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The key file exists but could not be read.
    #[error("cannot read key file `{}`: {source}", .path.display())]
    ReadKey {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The key file could not be written.
    #[error("cannot write key file `{}`: {source}", .path.display())]
    WriteKey {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The key file's directory could not be created.
    #[error("cannot create key directory `{}`: {source}", .path.display())]
    CreateKeyDirectory {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The key file may be read or written by users other than its owner.
    #[error(
        "key file `{}` is readable or writable by group or others (mode {mode:04o}): expected 0600 (fix with `chmod 600 {}`)",
        .path.display(),
        .path.display()
    )]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file does not hold a PKCS#8 PEM P-256 private key.
    #[error("key file `{}` is not a PKCS#8 PEM P-256 private key: {reason}", .path.display())]
    InvalidKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong, without key material.
        reason: String,
    },
    /// A key-encryption key is not 32 bytes in hexadecimal.
    #[error("unusable key-encryption key: {reason}")]
    InvalidKeyEncryptionKey {
        /// What is wrong, without key material.
        reason: String,
    },
    /// A key sealed in the store does not open.
    #[error("the stored {kind} key `{kid}` cannot be opened: {reason}")]
    SealedKey {
        /// The key's kind.
        kind: String,
        /// The key's id.
        kid: String,
        /// Why.
        reason: String,
    },
    /// A PEM string does not hold a PKCS#8 P-256 private key.
    #[error("not a PKCS#8 PEM P-256 private key: {reason}")]
    InvalidKeyPem {
        /// What is wrong, without key material.
        reason: String,
    },
    /// A JWK in a trust bundle cannot be used to verify JWT-SVIDs.
    #[error("unusable key in trust bundle: {reason}")]
    InvalidJwk {
        /// What is wrong.
        reason: String,
    },
    /// An issue request names no audience.
    #[error("a token needs at least one non-empty audience")]
    EmptyAudience,
    /// An issue request's time or lifetime cannot be written in a token.
    #[error("cannot issue token: {reason}")]
    InvalidLifetime {
        /// What is wrong.
        reason: String,
    },
    /// Signing failed.
    #[error("cannot sign token: {reason}")]
    Sign {
        /// What went wrong.
        reason: String,
    },
    /// A certificate cannot be read or used.
    #[error("unusable certificate: {reason}")]
    InvalidCertificate {
        /// What is wrong.
        reason: String,
    },
    /// A certificate file cannot be read or used.
    #[error("certificate file `{}`: {reason}", .path.display())]
    InvalidCertificateFile {
        /// The certificate file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The certificate file exists but could not be read.
    #[error("cannot read certificate file `{}`: {source}", .path.display())]
    ReadCertificate {
        /// The certificate file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The certificate file could not be written.
    #[error("cannot write certificate file `{}`: {source}", .path.display())]
    WriteCertificate {
        /// The certificate file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A federated trust domain's bundle document cannot be used.
    #[error("bundle of trust domain `{trust_domain}`: {reason}")]
    InvalidBundle {
        /// The federated trust domain.
        trust_domain: TrustDomain,
        /// What is wrong.
        reason: String,
    },
    /// An X.509-SVID was asked for a SPIFFE ID of another trust domain.
    #[error("cannot issue for trust domain `{found}`: this CA issues for `{expected}`")]
    ForeignTrustDomain {
        /// The CA's trust domain.
        expected: TrustDomain,
        /// The requested one.
        found: TrustDomain,
    },
}

/// Why a JWT-SVID was refused. Messages never include the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is not a well-formed compact JWS with JSON header and claims.
    #[error("malformed token: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The token is longer than [`crate::MAX_TOKEN_BYTES`].
    #[error("token is longer than {} bytes", crate::MAX_TOKEN_BYTES)]
    TooLarge,
    /// The token is signed with an algorithm other than ES256 (or none).
    #[error("unsupported token algorithm `{alg}`: expected ES256")]
    UnsupportedAlgorithm {
        /// The `alg` header, shortened if long.
        alg: String,
    },
    /// The token names a key (`kid`) that is not in the trust bundle.
    #[error("token signed by unknown key `{kid}`")]
    UnknownKey {
        /// The `kid` header, shortened if long.
        kid: String,
    },
    /// The signature does not verify with the named key.
    #[error("token signature does not verify")]
    BadSignature,
    /// The token's `exp` has passed (beyond the leeway).
    #[error("token expired at {expired_at} (unix seconds)")]
    Expired {
        /// The `exp` claim, in seconds since the Unix epoch.
        expired_at: u64,
    },
    /// The token's `iat` or `nbf` is in the future (beyond the leeway).
    #[error("token is not valid yet")]
    NotYetValid,
    /// The token's `aud` does not include this verifier's audience.
    #[error("token audience does not include `{expected}`")]
    WrongAudience {
        /// The audience this verifier accepts.
        expected: String,
    },
    /// The token's subject is in another trust domain.
    #[error("token subject is in trust domain `{found}`, expected `{expected}`")]
    WrongTrustDomain {
        /// This verifier's trust domain.
        expected: TrustDomain,
        /// The subject's trust domain.
        found: TrustDomain,
    },
    /// The `sub` claim is not an agent SPIFFE ID.
    #[error("token subject is not an agent SPIFFE ID: {reason}")]
    BadSubject {
        /// What is wrong.
        reason: String,
    },
    /// A token of a federated trust domain is signed with an algorithm
    /// outside [`crate::FEDERATED_ALGORITHMS`].
    #[error("unsupported token algorithm `{alg}` for a federated trust domain")]
    UnsupportedFederatedAlgorithm {
        /// The `alg` header, shortened if long.
        alg: String,
    },
    /// The token's subject is in a federated trust domain whose bundle has
    /// not been fetched yet.
    #[error("no bundle for federated trust domain `{trust_domain}` yet")]
    NoBundle {
        /// The federated trust domain.
        trust_domain: TrustDomain,
    },
    /// A verified token of a federated trust domain that no `[[federation.map]]`
    /// rule maps onto a Warden agent.
    #[error("no federation rule maps `{spiffe_id}`")]
    Unmapped {
        /// The foreign SPIFFE ID.
        spiffe_id: String,
    },
    /// A required claim (or header) is absent.
    #[error("token has no `{claim}` claim")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
}

/// Why a presented X.509-SVID (a client certificate chain) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The certificate is not well-formed DER X.509.
    #[error("malformed certificate: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The certificate (or one in its chain) has expired.
    #[error("certificate expired at {expired_at} (unix seconds)")]
    Expired {
        /// Its `notAfter`, in seconds since the Unix epoch.
        expired_at: u64,
    },
    /// The certificate (or one in its chain) is not valid yet.
    #[error("certificate is not valid yet")]
    NotYetValid,
    /// The chain does not lead to a CA of the trust bundle.
    #[error("certificate is not issued by a CA of this trust domain's bundle")]
    UnknownIssuer,
    /// The leaf is a CA certificate.
    #[error("a CA certificate cannot be an X.509-SVID (basic constraints `CA:TRUE`)")]
    CaAsLeaf,
    /// The leaf does not have exactly one URI SAN.
    #[error("an X.509-SVID has exactly one URI SAN; this certificate has {found}")]
    UriSanCount {
        /// How many it has.
        found: usize,
    },
    /// The URI SAN is not an agent SPIFFE ID.
    #[error("the URI SAN is not an agent SPIFFE ID: {reason}")]
    BadSpiffeId {
        /// What is wrong.
        reason: String,
    },
    /// The SPIFFE ID is in another trust domain.
    #[error("certificate's SPIFFE ID is in trust domain `{found}`, expected `{expected}`")]
    WrongTrustDomain {
        /// This verifier's trust domain.
        expected: TrustDomain,
        /// The certificate's.
        found: TrustDomain,
    },
    /// The certificate's SPIFFE ID is in a federated trust domain whose
    /// bundle has not been fetched yet.
    #[error("no bundle for federated trust domain `{trust_domain}` yet")]
    NoBundle {
        /// The federated trust domain.
        trust_domain: TrustDomain,
    },
    /// A verified certificate of a federated trust domain that no
    /// `[[federation.map]]` rule maps onto a Warden agent.
    #[error("no federation rule maps `{spiffe_id}`")]
    Unmapped {
        /// The foreign SPIFFE ID.
        spiffe_id: String,
    },
    /// Another path-validation failure (signature, key usage, name constraints…).
    #[error("certificate chain does not verify: {reason}")]
    Chain {
        /// What the validator said.
        reason: String,
    },
}
