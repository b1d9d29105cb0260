//! Who is calling: agents with JWT-SVIDs or X.509-SVIDs (mTLS) on the data
//! plane, admin tokens with a role on the admin plane. The two never mix.
//!
//! An agent proves its identity with a bearer JWT-SVID, or with the client
//! certificate of its TLS connection (verified in the handshake, see
//! `tls.rs`). When a request carries both, both must name the same SPIFFE
//! ID: a token for another identity than the certificate's is refused
//! (`identity_mismatch`), so that neither can be used to borrow the other's
//! identity. Either way the same checks follow: expiry, revocation,
//! registration (and, at decision time, suspension).

use std::net::SocketAddr;
use std::time::SystemTime;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use warden_identity::admin_token_matches;
use warden_types::Role;

use crate::error::ApiError;
use crate::serve::Peer;
use crate::state::{Caller, Gateway, IdentityView};
use crate::tls::PeerSvid;

/// The `Authorization` header, and what a refusal's sighting needs (the
/// source address and `User-Agent`), and the identity of the connection's
/// client certificate: extracting it does not copy the other headers, as
/// the `HeaderMap` extractor does (this is on the hot path).
#[derive(Debug)]
pub(crate) struct Authorization(
    pub(crate) Option<HeaderValue>,
    pub(crate) Option<SocketAddr>,
    pub(crate) Option<HeaderValue>,
    pub(crate) Option<Arc<PeerSvid>>,
);

impl<S: Send + Sync> FromRequestParts<S> for Authorization {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .headers
                .get(axum::http::header::AUTHORIZATION)
                .cloned(),
            parts.extensions.get::<Peer>().map(|p| p.0),
            parts.headers.get(axum::http::header::USER_AGENT).cloned(),
            parts.extensions.get::<Arc<PeerSvid>>().cloned(),
        ))
    }
}

/// What a refused caller tried, for its sighting.
#[derive(Debug, Default)]
pub(crate) struct Tried {
    /// `server/tool`.
    pub(crate) tool: Option<String>,
    /// The MCP client from `initialize` (`name/version`).
    pub(crate) client: Option<String>,
}

fn bearer(value: Option<&HeaderValue>) -> Result<&str, ApiError> {
    let value = value.ok_or_else(|| {
        ApiError::unauthorized(
            "missing_token",
            "missing `Authorization: Bearer <token>` header",
        )
    })?;
    let value = value.to_str().map_err(|_| {
        ApiError::unauthorized("malformed_token", "the Authorization header is not ASCII")
    })?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            ApiError::unauthorized(
                "malformed_token",
                "the Authorization header must be `Bearer <token>`",
            )
        })?;
    Ok(token.trim())
}

/// An admin caller.
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    pub(crate) name: String,
    pub(crate) role: Role,
}

impl Gateway {
    /// Authenticates an agent: a valid, unexpired JWT-SVID of this trust
    /// domain, for a registered agent, not revoked.
    /// The agent presenting `auth`; a refusal is recorded in the audit log.
    pub(crate) fn authenticate_agent(&self, auth: &Authorization) -> Result<Arc<Caller>, ApiError> {
        self.authenticate_agent_trying(auth, Tried::default)
    }

    /// As [`Gateway::authenticate_agent`]; a refusal is also a sighting of
    /// the caller, with what `tried` says it tried.
    pub(crate) fn authenticate_agent_trying(
        &self,
        auth: &Authorization,
        tried: impl FnOnce() -> Tried,
    ) -> Result<Arc<Caller>, ApiError> {
        match self.agent_caller(auth) {
            Ok(caller) => {
                caller
                    .last_used
                    .store(crate::now_millis(), std::sync::atomic::Ordering::Relaxed);
                Ok(caller)
            }
            Err(e) => {
                self.record_auth_failure("data_plane", &e);
                self.note_sighting(auth, &e, &tried());
                Err(e)
            }
        }
    }

    /// Counts a refused caller as a sighting.
    fn note_sighting(&self, auth: &Authorization, error: &ApiError, tried: &Tried) {
        let token = bearer(auth.0.as_ref()).ok();
        let mut claimed = token
            .map(warden_inventory::claimed_identity)
            .unwrap_or_default();
        if claimed.subject.is_none()
            && let Some(peer) = &auth.3
        {
            claimed.subject = Some(peer.svid.spiffe_id.to_string());
        }
        let domain = self.config.trust_domain.to_string();
        let kind = warden_inventory::sighting_kind(error.code, claimed.subject.as_deref(), &domain);
        let claimed_text = match (&claimed.subject, &claimed.issuer) {
            (Some(sub), _) => sub.clone(),
            (None, Some(iss)) => format!("issuer {iss}"),
            (None, None) => String::new(),
        };
        let source = auth.1.map(|a| a.ip().to_string()).unwrap_or_default();
        let user_agent = auth
            .2
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let now = crate::now_millis();
        let new = self.sightings.note(&warden_inventory::Sighted {
            kind,
            claimed: &claimed_text,
            source: &source,
            user_agent,
            client: tried.client.as_deref().unwrap_or_default(),
            tool: tried.tool.as_deref(),
            reason: &error.message,
            at_ms: now,
        });
        if new {
            let mut event = warden_monitor::Event::new("sighting", now);
            event.outcome = Some(kind.to_owned());
            event.note = Some(format!(
                "{kind} from {} claiming `{claimed_text}`",
                if source.is_empty() {
                    "an unknown address"
                } else {
                    &source
                }
            ));
            event.tool = tried.tool.clone();
            self.monitor.publish(event);
        }
    }

    /// Records a failed authentication (rate-limited), without waiting.
    fn record_auth_failure(&self, plane: &str, error: &ApiError) {
        if let Some(record) = self.auth_failures.record(plane, error.code, &error.message) {
            self.audit.try_append_deferred(record);
        }
    }

    fn agent_caller(&self, auth: &Authorization) -> Result<Arc<Caller>, ApiError> {
        let identity = self.identity.load();
        let caller = match (&auth.0, &auth.3) {
            (None, Some(peer)) => self.certificate_caller(peer)?,
            (_, peer) => {
                let caller = self.token_caller(auth, &identity)?;
                if let Some(peer) = peer
                    && peer.svid.spiffe_id != caller.svid.spiffe_id
                {
                    return Err(ApiError::unauthorized(
                        "identity_mismatch",
                        format!(
                            "the token is for `{}` but the client certificate is for `{}`",
                            caller.svid.spiffe_id, peer.svid.spiffe_id
                        ),
                    ));
                }
                caller
            }
        };
        self.check_agent(caller, &identity)
    }

    /// The caller a verified client certificate proves, cached by the
    /// SHA-256 of the certificate; its expiry is checked on every request
    /// (a connection may outlive its certificate).
    fn certificate_caller(&self, peer: &PeerSvid) -> Result<Arc<Caller>, ApiError> {
        if SystemTime::now() >= peer.svid.expires_at {
            return Err(ApiError::unauthorized(
                "invalid_certificate",
                "the client certificate has expired",
            ));
        }
        Ok(match self.tokens.get(&peer.digest) {
            Some(caller) => caller,
            None => {
                let caller = Arc::new(Caller::new(peer.svid.clone()));
                self.tokens.insert(peer.digest, Arc::clone(&caller));
                caller
            }
        })
    }

    fn token_caller(
        &self,
        auth: &Authorization,
        identity: &IdentityView,
    ) -> Result<Arc<Caller>, ApiError> {
        let token = bearer(auth.0.as_ref())?;
        let now = SystemTime::now();
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let caller = match self.tokens.get(&key) {
            Some(caller) => {
                if now >= caller.svid.expires_at + identity.verifier.leeway() {
                    return Err(ApiError::unauthorized("invalid_token", "token expired"));
                }
                caller
            }
            None => {
                let federation = self.federation.load();
                // A token whose subject is in a federated trust domain is
                // verified against that domain's bundle and mapped; every
                // other token against Warden's own keys, strictly.
                let verified = if federation.claims_federated(token) {
                    federation.verify_jwt(token, now)
                } else {
                    identity.verifier.verify(token, now)
                };
                let svid = verified.map_err(|e| match e {
                    warden_identity::TokenError::Unmapped { .. } => {
                        ApiError::unauthorized("unmapped_identity", e.to_string())
                    }
                    other => ApiError::unauthorized("invalid_token", other.to_string()),
                })?;
                let caller = Arc::new(Caller::new(svid));
                self.tokens.insert(key, Arc::clone(&caller));
                caller
            }
        };
        Ok(caller)
    }

    /// Revocation and registration, for a caller however it proved itself.
    fn check_agent(
        &self,
        caller: Arc<Caller>,
        identity: &IdentityView,
    ) -> Result<Arc<Caller>, ApiError> {
        let svid = &caller.svid;
        if identity.revocations.is_revoked(&svid.spiffe_id) {
            return Err(ApiError::unauthorized(
                "revoked",
                format!("identity `{}` is revoked", svid.spiffe_id),
            ));
        }
        if !self
            .engine
            .snapshot()
            .agents
            .contains_key(svid.spiffe_id.agent())
        {
            return Err(ApiError::unauthorized(
                "unknown_agent",
                format!("agent `{}` is not registered", svid.spiffe_id.agent()),
            ));
        }
        Ok(caller)
    }

    /// Authenticates an admin token and checks it carries `needed`.
    /// The admin token in `headers`, if it has the role `needed`; a refusal
    /// is recorded in the audit log.
    pub(crate) fn authenticate_admin(
        &self,
        headers: &HeaderMap,
        needed: Role,
    ) -> Result<Admin, ApiError> {
        self.admin_caller(headers, needed)
            .inspect_err(|e| self.record_auth_failure("admin_api", e))
    }

    fn admin_caller(&self, headers: &HeaderMap, needed: Role) -> Result<Admin, ApiError> {
        let token = bearer(headers.get(axum::http::header::AUTHORIZATION))?;
        let tokens = self.admin_tokens.load();
        // Compare against every digest, in constant time each, without stopping
        // early, so timing does not tell which token nearly matched.
        let mut found = None;
        for record in tokens.iter() {
            if admin_token_matches(token, &record.digest) && found.is_none() {
                found = Some(record);
            }
        }
        let record =
            found.ok_or_else(|| ApiError::unauthorized("invalid_token", "unknown admin token"))?;
        if !record.role.permits(needed) {
            return Err(ApiError::forbidden(format!(
                "token `{}` has role `{}`; this needs `{needed}`",
                record.name, record.role
            )));
        }
        Ok(Admin {
            name: record.name.clone(),
            role: record.role,
        })
    }
}
