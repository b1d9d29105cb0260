//! Verifying JWT-SVIDs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{self, Signature};
use serde::{Deserialize, Deserializer};
use warden_types::{SpiffeId, TrustDomain};

use crate::error::TokenError;
use crate::jwt::{ES256, VerifiedSvid};
use crate::key::{SigningKey, VerifyingKeyEntry};

/// The longest token [`JwtSvidVerifier::verify`] will look at, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The clock skew [`JwtSvidVerifier`] tolerates by default.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// Header values quoted in errors are cut to this many characters.
const MAX_QUOTED_CHARS: usize = 64;

/// Verifies JWT-SVIDs of one trust domain, for one audience, against a set of
/// public keys.
///
/// Build a new verifier when the keys change and swap it in whole.
#[derive(Debug, Clone)]
pub struct JwtSvidVerifier {
    trust_domain: TrustDomain,
    audience: String,
    keys: Vec<VerifyingKeyEntry>,
    leeway: Duration,
}

#[derive(Deserialize)]
pub(crate) struct InHeader {
    pub(crate) alg: Option<String>,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    pub(crate) crit: Option<serde_json::Value>,
}

#[derive(Deserialize)]
pub(crate) struct InClaims {
    pub(crate) sub: Option<String>,
    pub(crate) aud: Option<InAudience>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub(crate) exp: Option<u64>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub(crate) iat: Option<u64>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub(crate) nbf: Option<u64>,
    pub(crate) jti: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum InAudience {
    One(String),
    Many(Vec<String>),
}

impl InAudience {
    pub(crate) fn contains(&self, audience: &str) -> bool {
        match self {
            InAudience::One(one) => one == audience,
            InAudience::Many(many) => many.iter().any(|one| one == audience),
        }
    }
}

/// A JSON NumericDate: seconds since the epoch, possibly fractional (truncated).
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(seconds) = Option::<f64>::deserialize(d)? else {
        return Ok(None);
    };
    // 2^53: beyond this, f64 seconds are not exact, and no real token goes there.
    if !(0.0..9_007_199_254_740_992.0).contains(&seconds) {
        return Err(serde::de::Error::custom(
            "a date must be a non-negative number of seconds",
        ));
    }
    // The range check above makes this cast exact: no sign loss, no saturation.
    Ok(Some(seconds.trunc() as u64))
}

/// A compact JWS split into its parts, its header checked for what every
/// JWT-SVID verifier asks (Warden's own and a federated domain's): a size
/// within [`MAX_TOKEN_BYTES`], three parts, an `alg` and a `kid`, `typ` (if
/// present) `JWT` or `JOSE`, no `crit`. The algorithm is each verifier's to
/// judge.
pub(crate) struct Jws<'a> {
    pub(crate) header_b64: &'a str,
    pub(crate) claims_b64: &'a str,
    pub(crate) signature_b64: &'a str,
    pub(crate) alg: String,
    pub(crate) kid: String,
}

impl<'a> Jws<'a> {
    pub(crate) fn split(token: &'a str) -> Result<Jws<'a>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("expected three dot-separated parts"));
        };
        let header: InHeader = decode_json(header_b64, "header")?;
        let alg = header
            .alg
            .ok_or(TokenError::MissingClaim { claim: "alg" })?;
        if let Some(typ) = header.typ
            && typ != "JWT"
            && typ != "JOSE"
        {
            return Err(malformed(&format!(
                "header `typ` is `{}`: expected `JWT` or `JOSE`",
                shorten(&typ)
            )));
        }
        if header.crit.is_some() {
            return Err(malformed(
                "header has `crit` extensions, which are not supported",
            ));
        }
        let kid = header
            .kid
            .ok_or(TokenError::MissingClaim { claim: "kid" })?;
        Ok(Jws {
            header_b64,
            claims_b64,
            signature_b64,
            alg,
            kid,
        })
    }
}

impl JwtSvidVerifier {
    /// A verifier that accepts tokens for agents of `trust_domain`, addressed to
    /// `audience`, signed by one of `keys`.
    pub fn new(trust_domain: TrustDomain, audience: String, keys: Vec<VerifyingKeyEntry>) -> Self {
        Self {
            trust_domain,
            audience,
            keys,
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// A verifier for the tokens `key` signs.
    pub fn from_signing_key(trust_domain: TrustDomain, audience: String, key: &SigningKey) -> Self {
        Self::new(trust_domain, audience, vec![key.verifying_key()])
    }

    /// The same verifier with another clock-skew tolerance (default
    /// [`DEFAULT_LEEWAY`]), applied to `exp`, `iat` and `nbf`.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The clock-skew tolerance.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// The trust domain whose agents this verifier accepts.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The audience tokens must name.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The keys this verifier trusts.
    pub fn keys(&self) -> &[VerifyingKeyEntry] {
        &self.keys
    }

    /// Verifies `token` at time `now`: size (at most [`MAX_TOKEN_BYTES`]),
    /// ES256 signature by a known key, `typ` (if present) `JWT` or `JOSE`, no
    /// `crit`; `sub` an agent SPIFFE ID in this trust domain, `aud` naming this
    /// audience, `exp` not passed, `iat` and `nbf` (if present) not in the
    /// future, `jti` present; the last three within the leeway.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<VerifiedSvid, TokenError> {
        let Jws {
            header_b64,
            claims_b64,
            signature_b64,
            alg,
            kid,
        } = Jws::split(token)?;
        if alg != ES256 {
            return Err(TokenError::UnsupportedAlgorithm { alg: shorten(&alg) });
        }
        let key = self
            .keys
            .iter()
            .find(|key| key.kid() == kid)
            .ok_or_else(|| TokenError::UnknownKey { kid: shorten(&kid) })?;

        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| malformed("signature is not base64url"))?;
        let signature = Signature::from_slice(&signature).map_err(|_| TokenError::BadSignature)?;
        let signing_input_len = header_b64.len() + 1 + claims_b64.len();
        let signing_input = token
            .as_bytes()
            .get(..signing_input_len)
            .ok_or_else(|| malformed("truncated token"))?;
        verify_signature(key.ecdsa(), signing_input, &signature)?;

        let claims: InClaims = decode_json(claims_b64, "claims")?;
        self.check_claims(claims, now)
    }

    fn check_claims(&self, claims: InClaims, now: SystemTime) -> Result<VerifiedSvid, TokenError> {
        let sub = claims
            .sub
            .ok_or(TokenError::MissingClaim { claim: "sub" })?;
        let spiffe_id: SpiffeId =
            sub.parse()
                .map_err(|error: warden_types::IdError| TokenError::BadSubject {
                    reason: error.to_string(),
                })?;
        if spiffe_id.trust_domain() != &self.trust_domain {
            return Err(TokenError::WrongTrustDomain {
                expected: self.trust_domain.clone(),
                found: spiffe_id.trust_domain().clone(),
            });
        }
        let aud = claims
            .aud
            .ok_or(TokenError::MissingClaim { claim: "aud" })?;
        if !aud.contains(&self.audience) {
            return Err(TokenError::WrongAudience {
                expected: self.audience.clone(),
            });
        }

        let exp = claims
            .exp
            .ok_or(TokenError::MissingClaim { claim: "exp" })?;
        let iat = claims
            .iat
            .ok_or(TokenError::MissingClaim { claim: "iat" })?;
        let expires_at = UNIX_EPOCH + Duration::from_secs(exp);
        let issued_at = UNIX_EPOCH + Duration::from_secs(iat);
        if exp < iat {
            return Err(malformed("`exp` is before `iat`"));
        }
        // Valid while now < exp + leeway.
        if expires_at
            .checked_add(self.leeway)
            .is_none_or(|limit| now >= limit)
        {
            return Err(TokenError::Expired { expired_at: exp });
        }
        let latest_start = now.checked_add(self.leeway).unwrap_or(now);
        if issued_at > latest_start {
            return Err(TokenError::NotYetValid);
        }
        if let Some(nbf) = claims.nbf
            && UNIX_EPOCH + Duration::from_secs(nbf) > latest_start
        {
            return Err(TokenError::NotYetValid);
        }
        let jti = claims
            .jti
            .filter(|jti| !jti.is_empty())
            .ok_or(TokenError::MissingClaim { claim: "jti" })?;

        Ok(VerifiedSvid {
            spiffe_id,
            jti,
            issued_at,
            expires_at,
            federated_from: None,
        })
    }
}

pub(crate) fn verify_signature(
    key: &ecdsa::VerifyingKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), TokenError> {
    // ECDSA signatures are malleable: (r, s) and (r, n - s) both verify. Only
    // the low-S form is accepted, so that one token has one signature.
    if signature.normalize_s().is_some() {
        return Err(TokenError::BadSignature);
    }
    key.verify(message, signature)
        .map_err(|_| TokenError::BadSignature)
}

pub(crate) fn decode_json<T: for<'de> Deserialize<'de>>(
    part: &str,
    what: &str,
) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| malformed(&format!("{what} is not base64url")))?;
    // serde_json's messages may quote the input; say only where and what kind.
    serde_json::from_slice(&bytes).map_err(|error| {
        let kind = match error.classify() {
            serde_json::error::Category::Data => "a value of the wrong type",
            serde_json::error::Category::Eof => "an unexpected end",
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                "a JSON syntax error"
            }
        };
        malformed(&format!("{what} has {kind} at column {}", error.column()))
    })
}

pub(crate) fn malformed(reason: &str) -> TokenError {
    TokenError::Malformed {
        reason: reason.to_owned(),
    }
}

/// `value`, cut to [`MAX_QUOTED_CHARS`] characters, for quoting in an error.
pub(crate) fn shorten(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}
