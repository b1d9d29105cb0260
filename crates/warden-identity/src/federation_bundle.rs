//! A federated trust domain's SPIFFE bundle: its JWT authorities (any of the
//! algorithms SPIRE and other issuers use) and its X.509 authorities.
//!
//! The document is the SPIFFE bundle format (a JWK set with
//! `spiffe_refresh_hint` and `spiffe_sequence`), exactly as SPIRE's bundle
//! endpoint serves it. Keys with another `use`, and keys that cannot be used,
//! are skipped and named in [`FederatedBundle::skipped`], as the SPIFFE
//! bundle specification asks of consumers.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor};
use serde_json::Value;
use warden_types::TrustDomain;

use crate::error::{IdentityError, TokenError};

/// The largest bundle document read, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 1024 * 1024;

/// The public key of one JWT authority, with what it may verify.
#[derive(Debug, Clone)]
enum PublicKey {
    /// An uncompressed SEC1 point on P-256.
    P256(Vec<u8>),
    /// An uncompressed SEC1 point on P-384.
    P384(Vec<u8>),
    /// A DER `RSAPublicKey`.
    Rsa(Vec<u8>),
}

/// One JWT authority of a federated trust domain: a key id and a key.
#[derive(Debug, Clone)]
pub struct JwtAuthority {
    kid: String,
    key: PublicKey,
    alg: Option<String>,
}

impl JwtAuthority {
    /// The key id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Verifies `signature` (as in a compact JWS: raw `r || s` for ECDSA) over
    /// `message` with algorithm `alg`. ECDSA signatures are accepted in both
    /// their low-S and high-S forms: other issuers (Go's `crypto/ecdsa`, for
    /// one) do not normalise S, and nothing keys on the signature bytes.
    pub(crate) fn verify(
        &self,
        alg: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), TokenError> {
        if self.alg.as_deref().is_some_and(|declared| declared != alg) {
            return Err(TokenError::BadSignature);
        }
        let (algorithm, key): (&dyn SignatureVerificationAlgorithm, &[u8]) = match (alg, &self.key)
        {
            ("ES256", PublicKey::P256(key)) => (webpki::ring::ECDSA_P256_SHA256, key),
            ("ES384", PublicKey::P384(key)) => (webpki::ring::ECDSA_P384_SHA384, key),
            ("RS256", PublicKey::Rsa(key)) => (webpki::ring::RSA_PKCS1_2048_8192_SHA256, key),
            ("RS384", PublicKey::Rsa(key)) => (webpki::ring::RSA_PKCS1_2048_8192_SHA384, key),
            ("RS512", PublicKey::Rsa(key)) => (webpki::ring::RSA_PKCS1_2048_8192_SHA512, key),
            ("PS256", PublicKey::Rsa(key)) => {
                (webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY, key)
            }
            ("PS384", PublicKey::Rsa(key)) => {
                (webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY, key)
            }
            ("PS512", PublicKey::Rsa(key)) => {
                (webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY, key)
            }
            // An algorithm this key is not for: refused as a bad signature.
            _ => return Err(TokenError::BadSignature),
        };
        let signature = match self.key {
            PublicKey::P256(_) => raw_to_der(signature, 32)?,
            PublicKey::P384(_) => raw_to_der(signature, 48)?,
            PublicKey::Rsa(_) => signature.to_vec(),
        };
        algorithm
            .verify_signature(key, message, &signature)
            .map_err(|_| TokenError::BadSignature)
    }
}

/// The JWS algorithms accepted from federated trust domains: those the
/// SPIFFE JWT-SVID specification allows, but ES512 (P-521).
pub const FEDERATED_ALGORITHMS: &[&str] = &[
    "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
];

/// A federated trust domain's bundle, parsed.
#[derive(Debug, Clone)]
pub struct FederatedBundle {
    trust_domain: TrustDomain,
    jwt_authorities: Vec<JwtAuthority>,
    x509_authorities: Vec<CertificateDer<'static>>,
    pub(crate) anchors: Vec<TrustAnchor<'static>>,
    refresh_hint: Option<Duration>,
    sequence: Option<u64>,
    skipped: Vec<String>,
}

impl FederatedBundle {
    /// Parses a SPIFFE bundle document of `trust_domain`: `keys` with
    /// `use` `jwt-svid` (a `kid`, `kty` `EC` on P-256 or P-384, or `RSA`) and
    /// `x509-svid` (exactly one certificate in `x5c`), and the optional
    /// `spiffe_refresh_hint` (seconds) and `spiffe_sequence`.
    pub fn parse(
        trust_domain: TrustDomain,
        document: &[u8],
    ) -> Result<FederatedBundle, IdentityError> {
        let invalid = |reason: String| IdentityError::InvalidBundle {
            trust_domain: trust_domain.clone(),
            reason,
        };
        if document.len() > MAX_BUNDLE_BYTES {
            return Err(invalid(format!(
                "the document is larger than {MAX_BUNDLE_BYTES} bytes"
            )));
        }
        let value: Value =
            serde_json::from_slice(document).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("no `keys` array".to_owned()))?;
        let number = |name: &str| -> Result<Option<u64>, IdentityError> {
            match value.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| invalid(format!("`{name}` is not a non-negative integer"))),
            }
        };
        let refresh_hint = number("spiffe_refresh_hint")?.map(Duration::from_secs);
        let sequence = number("spiffe_sequence")?;
        let mut bundle = FederatedBundle {
            trust_domain: trust_domain.clone(),
            jwt_authorities: Vec::new(),
            x509_authorities: Vec::new(),
            anchors: Vec::new(),
            refresh_hint,
            sequence,
            skipped: Vec::new(),
        };
        for (index, jwk) in keys.iter().enumerate() {
            match jwk.get("use").and_then(Value::as_str) {
                Some("jwt-svid") => match jwt_authority(jwk) {
                    Ok(authority) => bundle.jwt_authorities.push(authority),
                    Err(reason) => bundle
                        .skipped
                        .push(format!("keys[{index}] (jwt-svid): {reason}")),
                },
                Some("x509-svid") => match x509_authority(jwk) {
                    Ok((der, anchor)) => {
                        bundle.x509_authorities.push(der);
                        bundle.anchors.push(anchor);
                    }
                    Err(reason) => bundle
                        .skipped
                        .push(format!("keys[{index}] (x509-svid): {reason}")),
                },
                other => bundle.skipped.push(format!(
                    "keys[{index}]: unknown use `{}`",
                    other.unwrap_or("(none)")
                )),
            }
        }
        Ok(bundle)
    }

    /// The trust domain this bundle is for.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The JWT authorities.
    pub fn jwt_authorities(&self) -> &[JwtAuthority] {
        &self.jwt_authorities
    }

    /// The X.509 authorities (CA certificates, DER).
    pub fn x509_authorities(&self) -> &[CertificateDer<'static>] {
        &self.x509_authorities
    }

    /// `spiffe_refresh_hint`, if the document has one.
    pub fn refresh_hint(&self) -> Option<Duration> {
        self.refresh_hint
    }

    /// `spiffe_sequence`, if the document has one.
    pub fn sequence(&self) -> Option<u64> {
        self.sequence
    }

    /// Keys that were skipped, and why.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    pub(crate) fn jwt_authority(&self, kid: &str) -> Option<&JwtAuthority> {
        self.jwt_authorities.iter().find(|a| a.kid == kid)
    }
}

fn field<'a>(jwk: &'a Value, name: &str) -> Result<&'a str, String> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no `{name}`"))
}

fn base64url(jwk: &Value, name: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(field(jwk, name)?)
        .map_err(|e| format!("`{name}` is not base64url: {e}"))
}

fn jwt_authority(jwk: &Value) -> Result<JwtAuthority, String> {
    let kid = field(jwk, "kid")?;
    if kid.is_empty() {
        return Err("empty `kid`".to_owned());
    }
    let key = match field(jwk, "kty")? {
        "EC" => {
            let (size, p256) = match field(jwk, "crv")? {
                "P-256" => (32, true),
                "P-384" => (48, false),
                other => return Err(format!("unsupported curve `{other}`")),
            };
            let (x, y) = (base64url(jwk, "x")?, base64url(jwk, "y")?);
            if x.len() != size || y.len() != size {
                return Err(format!("`x` and `y` must be {size} bytes"));
            }
            let mut point = vec![0x04];
            point.extend(x);
            point.extend(y);
            if p256 {
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map_err(|_| "not a point on P-256".to_owned())?;
                PublicKey::P256(point)
            } else {
                PublicKey::P384(point)
            }
        }
        "RSA" => {
            let (n, e) = (base64url(jwk, "n")?, base64url(jwk, "e")?);
            let n = strip_zeros(&n);
            if n.len() < 256 {
                return Err("RSA keys shorter than 2048 bits are not accepted".to_owned());
            }
            PublicKey::Rsa(der_sequence(&[
                &der_integer(n),
                &der_integer(strip_zeros(&e)),
            ]))
        }
        other => return Err(format!("unsupported key type `{other}`")),
    };
    Ok(JwtAuthority {
        kid: kid.to_owned(),
        key,
        alg: jwk.get("alg").and_then(Value::as_str).map(str::to_owned),
    })
}

fn x509_authority(jwk: &Value) -> Result<(CertificateDer<'static>, TrustAnchor<'static>), String> {
    let chain = jwk
        .get("x5c")
        .and_then(Value::as_array)
        .ok_or_else(|| "no `x5c` array".to_owned())?;
    let [certificate] = chain.as_slice() else {
        return Err(format!(
            "`x5c` must hold exactly one certificate, not {}",
            chain.len()
        ));
    };
    let der = STANDARD
        .decode(
            certificate
                .as_str()
                .ok_or_else(|| "`x5c` holds a non-string".to_owned())?,
        )
        .map_err(|e| format!("`x5c` is not base64: {e}"))?;
    let der = CertificateDer::from(der);
    let anchor = webpki::anchor_from_trusted_cert(&der)
        .map(|anchor| anchor.to_owned())
        .map_err(|e| format!("unusable as a trust anchor: {e}"))?;
    Ok((der, anchor))
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes.get(start..).unwrap_or_default()
}

fn der_length(length: usize, out: &mut Vec<u8>) {
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let significant = strip_zeros(&bytes);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// A DER INTEGER holding the unsigned big-endian `value` (no leading zeros).
fn der_integer(value: &[u8]) -> Vec<u8> {
    let value = if value.is_empty() { &[0u8][..] } else { value };
    let pad = value.first().is_some_and(|b| b & 0x80 != 0);
    let mut out = vec![0x02];
    der_length(value.len() + usize::from(pad), &mut out);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(value);
    out
}

fn der_sequence(parts: &[&[u8]]) -> Vec<u8> {
    let body: Vec<u8> = parts.concat();
    let mut out = vec![0x30];
    der_length(body.len(), &mut out);
    out.extend(body);
    out
}

/// A JWS ECDSA signature (`r || s`, each `size` bytes) as DER.
fn raw_to_der(signature: &[u8], size: usize) -> Result<Vec<u8>, TokenError> {
    if signature.len() != 2 * size {
        return Err(TokenError::BadSignature);
    }
    let (r, s) = signature.split_at(size);
    Ok(der_sequence(&[
        &der_integer(strip_zeros(r)),
        &der_integer(strip_zeros(s)),
    ]))
}
