//! Federation: SVIDs of other trust domains (SPIRE's, another Warden's),
//! verified against their bundles and mapped onto Warden agents.
//!
//! A foreign JWT-SVID is verified against its trust domain's JWT
//! authorities (the `kid` names one; [`FEDERATED_ALGORITHMS`]), addressed
//! to Warden's audience; a foreign X.509-SVID chains to its trust domain's
//! X.509 authorities. Then a mapping rule turns the foreign SPIFFE ID
//! (`spiffe://prod.acme/ns/payments/sa/invoice-bot`) into a Warden agent
//! instance (`spiffe://example.org/agent/invoice-bot/invoice-bot`), and the
//! [`VerifiedSvid`] carries the foreign ID in
//! [`VerifiedSvid::federated_from`]. A foreign ID no rule maps is refused.
//!
//! [`FEDERATED_ALGORITHMS`]: crate::FEDERATED_ALGORITHMS

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::CertificateDer;
use sha2::{Digest as _, Sha256};
use warden_types::{AgentName, InstanceId, SpiffeId, TrustDomain};

use crate::error::{CertificateError, TokenError};
use crate::federation_bundle::{FEDERATED_ALGORITHMS, FederatedBundle};
use crate::jwt::VerifiedSvid;
use crate::verify::{DEFAULT_LEEWAY, InClaims, MAX_TOKEN_BYTES, decode_json, malformed, shorten};
use crate::x509::hex_lower;
use crate::x509_verify::{X509_SERIAL_PREFIX, uri_sans, verify_chain};

/// Any SPIFFE ID (`spiffe://<trust-domain>/<path>`), not only Warden's
/// agent shape: what a federated trust domain names its workloads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ForeignSpiffeId {
    trust_domain: TrustDomain,
    path: String,
}

impl ForeignSpiffeId {
    /// The trust domain.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The path (`/ns/payments/sa/invoice-bot`), empty for the trust domain
    /// itself.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The last path segment, or `None` for an ID without a path.
    pub fn last_segment(&self) -> Option<&str> {
        self.path.rsplit('/').next().filter(|s| !s.is_empty())
    }
}

impl fmt::Display for ForeignSpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spiffe://{}{}", self.trust_domain, self.path)
    }
}

impl FromStr for ForeignSpiffeId {
    type Err = String;

    /// Parses a SPIFFE ID per the SPIFFE-ID specification: scheme
    /// `spiffe`, a trust domain of lowercase letters, digits, `.`, `-` and
    /// `_`, and a path of non-empty segments (letters, digits, `.`, `-`,
    /// `_`; not `.` or `..`), no query or fragment, at most 2048 bytes.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() > 2048 {
            return Err("a SPIFFE ID is at most 2048 bytes".to_owned());
        }
        let rest = s
            .strip_prefix("spiffe://")
            .ok_or_else(|| format!("`{}` does not start with `spiffe://`", shorten(s)))?;
        let (domain, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        let trust_domain = TrustDomain::new(domain).map_err(|e| e.to_string())?;
        for segment in path.split('/').skip(1) {
            let ok = !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
            if !ok {
                return Err(format!(
                    "`{}` has a path segment that is empty, `.`, `..` or holds characters other than letters, digits, `.`, `-` and `_`",
                    shorten(s)
                ));
            }
        }
        Ok(ForeignSpiffeId {
            trust_domain,
            path: path.to_owned(),
        })
    }
}

/// Which foreign SPIFFE IDs a [`FederationRule`] maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpiffeIdPattern {
    /// Exactly this ID.
    Exact(String),
    /// Every ID that starts with this text.
    Prefix(String),
}

/// Maps foreign SPIFFE IDs onto a Warden agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederationRule {
    /// Which IDs.
    pub pattern: SpiffeIdPattern,
    /// The Warden agent they act as.
    pub agent: AgentName,
    /// The instance; `None`: the foreign ID's last path segment, sanitised
    /// (see [`instance_from_segment`]).
    pub instance: Option<InstanceId>,
}

/// The instance id made from a foreign ID's last path segment: characters
/// other than letters, digits, `-`, `_` and `.` become `-`, cut to 128
/// characters; `federated` when there is no segment.
pub fn instance_from_segment(segment: Option<&str>) -> Option<InstanceId> {
    let text: String = segment
        .unwrap_or("federated")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    InstanceId::new(text).ok()
}

/// One federated trust domain: its bundle (none yet when it has not been
/// fetched) and its mapping rules.
#[derive(Debug, Clone)]
pub struct FederatedDomain {
    /// The bundle in force.
    pub bundle: Option<FederatedBundle>,
    /// The mapping rules, in configuration order.
    pub rules: Vec<FederationRule>,
}

/// Every federated trust domain, for Warden's trust domain and audience.
///
/// Build a new one when a bundle changes and swap it in whole.
#[derive(Debug, Clone)]
pub struct FederatedTrust {
    own: TrustDomain,
    audience: String,
    leeway: Duration,
    domains: HashMap<TrustDomain, FederatedDomain>,
}

impl FederatedTrust {
    /// No federated trust domain yet, for tokens addressed to `audience`;
    /// foreign SVIDs map onto agents of `own`.
    pub fn new(own: TrustDomain, audience: String) -> FederatedTrust {
        FederatedTrust {
            own,
            audience,
            leeway: DEFAULT_LEEWAY,
            domains: HashMap::new(),
        }
    }

    /// The same, with `trust_domain` federated (replacing what it had).
    #[must_use]
    pub fn with_domain(mut self, trust_domain: TrustDomain, domain: FederatedDomain) -> Self {
        self.domains.insert(trust_domain, domain);
        self
    }

    /// The federated trust domain `trust_domain`, if it is one.
    pub fn domain(&self, trust_domain: &TrustDomain) -> Option<&FederatedDomain> {
        self.domains.get(trust_domain)
    }

    /// Replaces the bundle of a federated trust domain (nothing when it is not one).
    pub fn set_bundle(&mut self, bundle: FederatedBundle) {
        if let Some(domain) = self.domains.get_mut(bundle.trust_domain()) {
            domain.bundle = Some(bundle);
        }
    }

    /// Whether any trust domain is federated.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// The CA certificates of every federated trust domain.
    pub fn x509_authorities(&self) -> impl Iterator<Item = &CertificateDer<'static>> {
        self.domains
            .values()
            .filter_map(|d| d.bundle.as_ref())
            .flat_map(FederatedBundle::x509_authorities)
    }

    /// The federated trust domain a token's (unverified) `sub` names, if
    /// it names one: the token is then this module's to verify.
    pub fn claims_federated(&self, token: &str) -> bool {
        !self.domains.is_empty()
            && unverified_subject(token)
                .and_then(|sub| sub.parse::<ForeignSpiffeId>().ok())
                .is_some_and(|id| self.domains.contains_key(id.trust_domain()))
    }

    /// Maps a verified foreign ID onto a Warden agent instance: an exact
    /// rule first, then the longest matching prefix.
    pub fn map(&self, foreign: &ForeignSpiffeId) -> Option<SpiffeId> {
        let rules = &self.domains.get(foreign.trust_domain())?.rules;
        let text = foreign.to_string();
        let rule = rules
            .iter()
            .find(|r| matches!(&r.pattern, SpiffeIdPattern::Exact(id) if *id == text))
            .or_else(|| {
                rules
                    .iter()
                    .filter_map(|r| match &r.pattern {
                        SpiffeIdPattern::Prefix(p) if text.starts_with(p.as_str()) => {
                            Some((p.len(), r))
                        }
                        _ => None,
                    })
                    .max_by_key(|(len, _)| *len)
                    .map(|(_, r)| r)
            })?;
        let instance = match &rule.instance {
            Some(instance) => instance.clone(),
            None => instance_from_segment(foreign.last_segment())?,
        };
        Some(SpiffeId::new(
            self.own.clone(),
            rule.agent.clone(),
            instance,
        ))
    }

    /// Verifies a JWT-SVID of a federated trust domain at `now` and maps
    /// it: size, `alg` one of [`FEDERATED_ALGORITHMS`], `kid` one of the
    /// domain's JWT authorities, the signature, `typ` (if present) `JWT` or
    /// `JOSE`, no `crit`; `sub` a SPIFFE ID of that domain, `aud` naming
    /// Warden's audience, `exp` not passed, `iat` and `nbf` (if present) not
    /// in the future. `jti` is optional (SPIRE sets none); without one the
    /// token's SHA-256 stands in (`jwt:` and 32 hex digits).
    pub fn verify_jwt(&self, token: &str, now: SystemTime) -> Result<VerifiedSvid, TokenError> {
        let crate::verify::Jws {
            header_b64,
            claims_b64,
            signature_b64,
            alg,
            kid,
        } = crate::verify::Jws::split(token)?;
        if !FEDERATED_ALGORITHMS.contains(&alg.as_str()) {
            return Err(TokenError::UnsupportedFederatedAlgorithm { alg: shorten(&alg) });
        }
        // The domain comes from the unverified claims; the signature must
        // then verify with one of that domain's keys, so a token cannot
        // choose another domain's.
        let claims: InClaims = decode_json(claims_b64, "claims")?;
        let sub = claims
            .sub
            .clone()
            .ok_or(TokenError::MissingClaim { claim: "sub" })?;
        let foreign: ForeignSpiffeId = sub
            .parse()
            .map_err(|reason| TokenError::BadSubject { reason })?;
        let domain = self.domains.get(foreign.trust_domain()).ok_or_else(|| {
            TokenError::WrongTrustDomain {
                expected: self.own.clone(),
                found: foreign.trust_domain().clone(),
            }
        })?;
        let bundle = domain.bundle.as_ref().ok_or_else(|| TokenError::NoBundle {
            trust_domain: foreign.trust_domain().clone(),
        })?;
        let authority = bundle
            .jwt_authority(&kid)
            .ok_or_else(|| TokenError::UnknownKey { kid: shorten(&kid) })?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| malformed("signature is not base64url"))?;
        let signing_input = token
            .as_bytes()
            .get(..header_b64.len() + 1 + claims_b64.len())
            .ok_or_else(|| malformed("truncated token"))?;
        authority.verify(&alg, signing_input, &signature)?;

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
        let expires_at = UNIX_EPOCH + Duration::from_secs(exp);
        if expires_at
            .checked_add(self.leeway)
            .is_none_or(|limit| now >= limit)
        {
            return Err(TokenError::Expired { expired_at: exp });
        }
        let latest_start = now.checked_add(self.leeway).unwrap_or(now);
        let issued_at = claims
            .iat
            .map_or(now, |iat| UNIX_EPOCH + Duration::from_secs(iat));
        if issued_at > latest_start
            || claims
                .nbf
                .is_some_and(|nbf| UNIX_EPOCH + Duration::from_secs(nbf) > latest_start)
        {
            return Err(TokenError::NotYetValid);
        }
        let spiffe_id = self.map(&foreign).ok_or_else(|| TokenError::Unmapped {
            spiffe_id: foreign.to_string(),
        })?;
        let jti = claims.jti.filter(|j| !j.is_empty()).unwrap_or_else(|| {
            let digest = Sha256::digest(token.as_bytes());
            format!("jwt:{}", hex_lower(digest.get(..16).unwrap_or_default()))
        });
        Ok(VerifiedSvid {
            spiffe_id,
            jti,
            issued_at,
            expires_at,
            federated_from: Some(foreign.to_string()),
        })
    }

    /// The federated trust domain of a client certificate's URI SAN, if it
    /// names one: the certificate is then this module's to verify.
    pub fn claims_federated_certificate(&self, leaf: &CertificateDer<'_>) -> bool {
        !self.domains.is_empty()
            && uri_sans(leaf).is_ok_and(|uris| {
                uris.iter().any(|uri| {
                    uri.parse::<ForeignSpiffeId>()
                        .is_ok_and(|id| self.domains.contains_key(id.trust_domain()))
                })
            })
    }

    /// Verifies an X.509-SVID of a federated trust domain at `now` and
    /// maps it: the chain leads to one of that domain's X.509 authorities
    /// (checked first), the leaf is not a CA, allows client authentication,
    /// and has exactly one URI SAN, a SPIFFE ID of that domain.
    pub fn verify_x509(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: SystemTime,
    ) -> Result<VerifiedSvid, CertificateError> {
        let uris = uri_sans(leaf)?;
        let [uri] = uris.as_slice() else {
            return Err(CertificateError::UriSanCount { found: uris.len() });
        };
        let foreign: ForeignSpiffeId = uri
            .parse()
            .map_err(|reason| CertificateError::BadSpiffeId { reason })?;
        let domain = self.domains.get(foreign.trust_domain()).ok_or_else(|| {
            CertificateError::WrongTrustDomain {
                expected: self.own.clone(),
                found: foreign.trust_domain().clone(),
            }
        })?;
        let bundle = domain
            .bundle
            .as_ref()
            .ok_or_else(|| CertificateError::NoBundle {
                trust_domain: foreign.trust_domain().clone(),
            })?;
        let chain = verify_chain(&bundle.anchors, leaf, intermediates, now)?;
        let spiffe_id = self
            .map(&foreign)
            .ok_or_else(|| CertificateError::Unmapped {
                spiffe_id: foreign.to_string(),
            })?;
        Ok(VerifiedSvid {
            spiffe_id,
            jti: format!("{X509_SERIAL_PREFIX}{}", chain.serial),
            issued_at: chain.not_before,
            expires_at: chain.not_after,
            federated_from: Some(foreign.to_string()),
        })
    }
}

/// The `sub` claim of a token, unverified (for routing only).
fn unverified_subject(token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let claims = token.split('.').nth(1)?;
    let claims: InClaims = decode_json(claims, "claims").ok()?;
    claims.sub
}
