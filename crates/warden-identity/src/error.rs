//! The errors of this crate: [`IdentityError`] for keys and issuance,
//! [`TokenError`] for verification.

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
    /// A required claim (or header) is absent.
    #[error("token has no `{claim}` claim")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
}
