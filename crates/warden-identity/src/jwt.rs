//! JWT-SVIDs: issuing (ES256, compact JWS); verifying is in `verify.rs`.
//!
//! The token is built by hand rather than with a JWT crate: the profile is
//! small (one algorithm, five claims), and owning the parser means we decide
//! what is refused: `alg: none`, HMAC, unknown keys, `crit` headers, oversize
//! input, duplicate claims.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::Signature;
use p256::ecdsa::signature::Signer as _;
use serde::Serialize;
use warden_types::SpiffeId;

use crate::error::IdentityError;
use crate::key::SigningKey;
use crate::secret::Secret;

/// The only signing algorithm Warden issues and accepts.
pub(crate) const ES256: &str = "ES256";

/// What to put in a new JWT-SVID.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// The agent instance the token identifies (`sub`).
    pub spiffe_id: SpiffeId,
    /// Who may accept the token (`aud`); at least one.
    pub audience: Vec<String>,
    /// How long the token is valid, at least one second.
    pub ttl: Duration,
    /// The issue time (`iat`); expiry is `now + ttl`.
    pub now: SystemTime,
}

/// A freshly signed JWT-SVID.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact token (`header.claims.signature`).
    pub token: Secret,
    /// Its unique id (`jti`).
    pub jti: String,
    /// When it expires (`exp`), truncated to whole seconds as in the token.
    pub expires_at: SystemTime,
}

/// What a verified JWT-SVID says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSvid {
    /// The agent instance (`sub`).
    pub spiffe_id: SpiffeId,
    /// The token's unique id (`jti`).
    pub jti: String,
    /// When it was issued (`iat`).
    pub issued_at: SystemTime,
    /// When it expires (`exp`).
    pub expires_at: SystemTime,
    /// For an SVID of a federated trust domain, mapped onto a Warden agent:
    /// the foreign SPIFFE ID it was issued for (`spiffe://prod.acme/ns/..`).
    pub federated_from: Option<String>,
}

#[derive(Serialize)]
struct OutHeader<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

#[derive(Serialize)]
struct OutClaims<'a> {
    sub: String,
    aud: OutAudience<'a>,
    exp: u64,
    iat: u64,
    jti: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum OutAudience<'a> {
    One(&'a str),
    Many(&'a [String]),
}

impl SigningKey {
    /// Signs a JWT-SVID for `request.spiffe_id`, with a fresh random `jti`.
    pub fn issue(&self, request: &IssueRequest) -> Result<IssuedToken, IdentityError> {
        if request.audience.is_empty() || request.audience.iter().any(String::is_empty) {
            return Err(IdentityError::EmptyAudience);
        }
        if request.ttl < Duration::from_secs(1) {
            return Err(IdentityError::InvalidLifetime {
                reason: format!("lifetime {:?} is shorter than one second", request.ttl),
            });
        }
        let iat = unix_seconds(request.now).ok_or_else(|| IdentityError::InvalidLifetime {
            reason: "issue time is before 1970".to_owned(),
        })?;
        let exp = request
            .now
            .checked_add(request.ttl)
            .and_then(unix_seconds)
            .ok_or_else(|| IdentityError::InvalidLifetime {
                reason: format!("lifetime {:?} is too long", request.ttl),
            })?;
        let jti = uuid::Uuid::new_v4().to_string();
        let aud = match request.audience.as_slice() {
            [one] => OutAudience::One(one),
            many => OutAudience::Many(many),
        };
        let header = OutHeader {
            alg: ES256,
            kid: self.key_id(),
            typ: "JWT",
        };
        let claims = OutClaims {
            sub: request.spiffe_id.to_string(),
            aud,
            exp,
            iat,
            jti: &jti,
        };
        let signing_input = format!("{}.{}", encode_part(&header)?, encode_part(&claims)?);
        let signature: Signature =
            self.ecdsa()
                .try_sign(signing_input.as_bytes())
                .map_err(|error| IdentityError::Sign {
                    reason: error.to_string(),
                })?;
        // Low-S form: verifiers accept only that one of the two valid forms.
        let signature = signature.normalize_s().unwrap_or(signature);
        let token = format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        );
        Ok(IssuedToken {
            token: Secret::new(token),
            jti,
            expires_at: UNIX_EPOCH + Duration::from_secs(exp),
        })
    }
}

/// `value` as base64url JSON, one part of a compact JWS.
fn encode_part<T: Serialize>(value: &T) -> Result<String, IdentityError> {
    serde_json::to_vec(value)
        .map(|json| URL_SAFE_NO_PAD.encode(json))
        .map_err(|error| IdentityError::Sign {
            reason: format!("cannot encode token: {error}"),
        })
}

fn unix_seconds(time: SystemTime) -> Option<u64> {
    time.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}
