//! The MCP gateway over Streamable HTTP: each HTTP tool server of
//! `warden.toml` is reached at `/mcp/{server}` on the data plane. Warden is
//! the protected resource (the agent's JWT-SVID as a Bearer token), checks
//! `Host` and `Origin`, and runs every message through the same
//! [`warden_mcp::Mediator`] as `warden mcp wrap`; the transport here only
//! moves bytes: POST with JSON or SSE answers, the GET stream, DELETE.

pub(crate) mod governor;
mod hosted;
mod sse;
mod upstream;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};
use warden_mcp::{Mediator, Message, codes, error_response};
use warden_policy::Transport;

use crate::auth::Authorization;
use crate::decisions::Via;
use crate::state::{Caller, Gateway};
use governor::LocalGovernor;

/// Live MCP sessions kept at most; a new one beyond is refused until idle
/// ones expire.
pub(crate) const MAX_MCP_SESSIONS: usize = 10_000;

/// An MCP session through the proxy, bound to the agent instance that opened
/// it: another identity presenting its id gets 404.
#[derive(Debug)]
pub(crate) struct HttpSession {
    pub(crate) owner: String,
    pub(crate) mediator: Arc<Mediator<LocalGovernor>>,
    /// The server process, for a stdio server hosted by the gateway.
    hosted: Option<Arc<hosted::Hosted>>,
    last_seen: Mutex<Instant>,
}

/// The live MCP sessions, by server and `Mcp-Session-Id`.
#[derive(Debug, Default)]
pub(crate) struct McpSessions {
    map: Mutex<HashMap<(String, String), Arc<HttpSession>>>,
}

impl McpSessions {
    /// How many are live.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }

    fn get(&self, server: &str, id: &str) -> Option<Arc<HttpSession>> {
        let s = self
            .map
            .lock()
            .get(&(server.to_owned(), id.to_owned()))
            .cloned()?;
        *s.last_seen.lock() = Instant::now();
        Some(s)
    }

    fn insert(&self, server: &str, id: &str, session: Arc<HttpSession>) -> bool {
        let mut map = self.map.lock();
        if map.len() >= MAX_MCP_SESSIONS {
            return false;
        }
        map.insert((server.to_owned(), id.to_owned()), session);
        true
    }

    fn remove(&self, server: &str, id: &str) {
        let removed = self.map.lock().remove(&(server.to_owned(), id.to_owned()));
        if let Some(hosted) = removed.and_then(|s| s.hosted.clone()) {
            hosted.stop();
        }
    }

    fn is_full(&self) -> bool {
        self.map.lock().len() >= MAX_MCP_SESSIONS
    }

    /// How many sessions have a server process of their own.
    fn hosted(&self) -> usize {
        self.map
            .lock()
            .values()
            .filter(|s| s.hosted.is_some())
            .count()
    }

    /// How many sessions of the agent whose SPIFFE IDs start with
    /// `agent_prefix` (`spiffe://td/agent/name/`) have a server process.
    fn hosted_by(&self, agent_prefix: &str) -> usize {
        self.map
            .lock()
            .values()
            .filter(|s| s.hosted.is_some() && s.owner.starts_with(agent_prefix))
            .count()
    }

    /// Forgets sessions idle for longer than `idle` (`hosted_idle` for those
    /// with a server process, which is stopped).
    pub(crate) fn expire(&self, idle: Duration, hosted_idle: Duration) -> usize {
        let mut map = self.map.lock();
        let before = map.len();
        map.retain(|_, s| {
            let limit = if s.hosted.is_some() {
                hosted_idle
            } else {
                idle
            };
            let live = s.last_seen.lock().elapsed() < limit;
            if !live && let Some(hosted) = &s.hosted {
                hosted.stop();
            }
            live
        });
        before - map.len()
    }
}

pub(crate) fn rpc_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

fn rpc_error(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    rpc_response(status, &error_response(id, code, message, None))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// DNS-rebinding protection: `Host` must be a loopback name or one named in
/// `[mcp] allowed_hosts`; an `Origin`, when sent (browsers send it), must be
/// named in `[mcp] allowed_origins`.
fn refuse_host_or_origin(gw: &Gateway, headers: &HeaderMap) -> Option<Response> {
    let host = header_str(headers, "host").unwrap_or_default();
    let name = if host.starts_with('[') {
        host.split_once(']')
            .map_or(host, |(h, _)| &host[..=h.len()])
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    let mcp = &gw.config.mcp;
    let host_ok = matches!(name, "127.0.0.1" | "localhost" | "[::1]")
        || mcp.allowed_hosts.iter().any(|h| h == host || h == name);
    if !host_ok {
        return Some(rpc_error(
            StatusCode::FORBIDDEN,
            Value::Null,
            codes::INVALID_REQUEST,
            &format!(
                "Host `{host}` is not allowed here (DNS-rebinding protection; see [mcp] allowed_hosts)"
            ),
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !mcp.allowed_origins.iter().any(|o| o == origin) {
            return Some(rpc_error(
                StatusCode::FORBIDDEN,
                Value::Null,
                codes::INVALID_REQUEST,
                &format!(
                    "Origin `{origin}` is not allowed here (DNS-rebinding protection; see [mcp] allowed_origins)"
                ),
            ));
        }
    }
    None
}

fn metadata_url(headers: &HeaderMap, server: &str) -> String {
    let host = header_str(headers, "host").unwrap_or("127.0.0.1");
    format!("http://{host}/.well-known/oauth-protected-resource/mcp/{server}")
}

/// 401 as the MCP authorization specification asks: `WWW-Authenticate`
/// pointing at the protected-resource metadata.
/// What a refused MCP message tried, for its sighting: the tool of a
/// `tools/call`, the client of an `initialize`.
fn tried_in(server: &str, body: Option<&Bytes>) -> crate::auth::Tried {
    let mut tried = crate::auth::Tried::default();
    let Some(msg) = body
        .filter(|b| b.len() <= 64 * 1024)
        .and_then(|b| Message::parse(b).ok())
    else {
        return tried;
    };
    let params = msg.params();
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    match msg.method() {
        Some("tools/call") => {
            tried.tool = text(params.and_then(|p| p.get("name"))).map(|t| format!("{server}/{t}"));
        }
        Some("initialize") => {
            let info = params.and_then(|p| p.get("clientInfo"));
            let name = text(info.and_then(|i| i.get("name")));
            let version = text(info.and_then(|i| i.get("version")));
            tried.client = name.map(|n| match version {
                Some(v) => format!("{n}/{v}"),
                None => n,
            });
            tried.tool = Some(format!("{server}/initialize"));
        }
        Some(method) => tried.tool = Some(format!("{server}/{method}")),
        None => {}
    }
    tried
}

fn unauthorized(headers: &HeaderMap, server: &str, e: &crate::ApiError) -> Response {
    let given = headers.contains_key(header::AUTHORIZATION);
    let challenge = if given {
        format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\", resource_metadata=\"{}\"",
            e.message.replace(['"', '\\'], "'"),
            metadata_url(headers, server)
        )
    } else {
        format!(
            "Bearer resource_metadata=\"{}\"",
            metadata_url(headers, server)
        )
    };
    let mut response = e.clone().into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// `GET /.well-known/oauth-protected-resource/mcp/{server}` (RFC 9728).
pub(crate) async fn resource_metadata(
    State(gw): State<Arc<Gateway>>,
    Path(server): Path<String>,
    headers: HeaderMap,
) -> Response {
    // The document names this Host: only a Host the gateway answers to.
    if let Some(refused) = refuse_host_or_origin(&gw, &headers) {
        return refused;
    }
    if !gw.config.servers.contains_key(&server) {
        return crate::ApiError::not_found(format!("no tool server `{server}`")).into_response();
    }
    let host = header_str(&headers, "host").unwrap_or("127.0.0.1");
    let doc = json!({
        "resource": format!("http://{host}/mcp/{server}"),
        "authorization_servers": gw.config.mcp.authorization_servers,
        "bearer_methods_supported": ["header"],
        "resource_name": format!("Warden MCP gateway: {server}"),
        "resource_documentation": "https://github.com/warden-dev/warden/blob/main/docs/mcp.md",
    });
    rpc_response(StatusCode::OK, &doc)
}

/// `/mcp/{server}`: POST, GET and DELETE.
pub(crate) async fn endpoint(
    State(gw): State<Arc<Gateway>>,
    Path(server): Path<String>,
    method: Method,
    auth: Authorization,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(refused) = refuse_host_or_origin(&gw, &headers) {
        return refused;
    }
    let transport = match gw.config.servers.get(&server).map(|s| &s.transport) {
        Some(t @ (Transport::Http { .. } | Transport::Stdio { .. })) => t.clone(),
        Some(Transport::Api) => {
            return crate::ApiError::not_found(format!(
                "tool server `{server}` has transport `api`: agents ask the decision API for it"
            ))
            .into_response();
        }
        None => {
            return crate::ApiError::not_found(format!("no tool server `{server}`"))
                .into_response();
        }
    };
    let caller = match gw.authenticate_agent_trying(&auth, || tried_in(&server, body.as_ref().ok()))
    {
        Ok(c) => c,
        Err(e) => return unauthorized(&headers, &server, &e),
    };
    let session_id = header_str(&headers, "mcp-session-id").map(str::to_owned);
    let session = match &session_id {
        Some(id) => match gw.mcp_sessions.get(&server, id) {
            Some(s) if s.owner == caller.spiffe => Some(s),
            // Unknown, expired, or another identity's: the client starts over.
            _ => {
                return rpc_error(
                    StatusCode::NOT_FOUND,
                    Value::Null,
                    codes::INVALID_REQUEST,
                    "no such MCP session (it ended, expired, or belongs to another identity): initialize a new one",
                );
            }
        },
        None => None,
    };
    if method == Method::POST {
        let bytes = match body {
            Ok(b) => b,
            Err(e) => {
                return rpc_error(
                    e.status(),
                    Value::Null,
                    codes::INVALID_REQUEST,
                    &format!(
                        "the message is over the limit of {} bytes or unreadable: {e}",
                        gw.config.serve.max_body_bytes
                    ),
                );
            }
        };
        let msg = match Message::parse(&bytes) {
            Ok(m) => m,
            Err(e) => {
                return rpc_error(
                    StatusCode::BAD_REQUEST,
                    Value::Null,
                    e.code(),
                    &e.to_string(),
                );
            }
        };
        if session.is_none() && gw.mcp_sessions.is_full() {
            return sessions_full(msg.id().cloned().unwrap_or(Value::Null));
        }
        return match transport {
            Transport::Stdio { command } => {
                post_hosted(&gw, &caller, &server, &headers, session, &command, msg).await
            }
            Transport::Http { url } => {
                let session =
                    session.unwrap_or_else(|| new_session(&gw, &caller, &server, &headers, None));
                let ctx = upstream::Context {
                    gw: Arc::clone(&gw),
                    server,
                    url,
                    session_id,
                    headers,
                };
                upstream::post(ctx, session, msg).await
            }
            Transport::Api => status_only(StatusCode::NOT_FOUND),
        };
    }
    let Some(session) = session else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            codes::INVALID_REQUEST,
            &format!("{method} needs the `Mcp-Session-Id` of an initialized session"),
        );
    };
    match (method, transport, &session.hosted) {
        (Method::GET, _, Some(h)) => hosted::get(h),
        (Method::DELETE, _, Some(_)) => {
            if let Some(sid) = &session_id {
                gw.mcp_sessions.remove(&server, sid);
            }
            status_only(StatusCode::OK)
        }
        (m @ (Method::GET | Method::DELETE), Transport::Http { url }, None) => {
            let ctx = upstream::Context {
                gw: Arc::clone(&gw),
                server,
                url,
                session_id,
                headers,
            };
            if m == Method::GET {
                upstream::get(ctx, session).await
            } else {
                upstream::delete(ctx).await
            }
        }
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"))],
        )
            .into_response(),
    }
}

/// POST to a stdio server the gateway hosts: `initialize` without a session
/// starts the server process for a new session.
async fn post_hosted(
    gw: &Arc<Gateway>,
    caller: &Arc<Caller>,
    server: &str,
    headers: &HeaderMap,
    session: Option<Arc<HttpSession>>,
    command: &[String],
    msg: Message,
) -> Response {
    if let Some(session) = session {
        let Some(h) = session.hosted.clone() else {
            return status_only(StatusCode::NOT_FOUND);
        };
        return hosted::post(gw, &session, &h, msg, None, headers).await;
    }
    if msg.method() != Some("initialize") {
        // Without a session there is no server process: only `initialize`
        // starts one. (A newer client's `server/discover` probe lands here
        // and falls back to `initialize`, as the specification intends.)
        return rpc_error(
            StatusCode::BAD_REQUEST,
            msg.id().cloned().unwrap_or(Value::Null),
            codes::INVALID_REQUEST,
            "no session: send `initialize` first (this server is started per MCP session)",
        );
    }
    let max = gw.config.mcp.max_hosted_servers;
    if gw.mcp_sessions.hosted() >= max {
        return rpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            msg.id().cloned().unwrap_or(Value::Null),
            codes::INTERNAL_ERROR,
            &format!(
                "{max} hosted tool server processes are running ([mcp] max_hosted_servers): end a session (DELETE) or wait for idle ones to stop"
            ),
        );
    }
    // One agent (or one client that never sends DELETE) cannot take them all.
    let per_agent = gw.config.mcp.max_hosted_servers_per_agent;
    let id = &caller.svid.spiffe_id;
    let prefix = format!("spiffe://{}/agent/{}/", id.trust_domain(), id.agent());
    if gw.mcp_sessions.hosted_by(&prefix) >= per_agent {
        return rpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            msg.id().cloned().unwrap_or(Value::Null),
            codes::INTERNAL_ERROR,
            &format!(
                "agent `{}` runs {per_agent} hosted tool server processes already ([mcp] max_hosted_servers_per_agent): end a session (DELETE) or wait for idle ones to stop",
                id.agent()
            ),
        );
    }
    let sid = uuid::Uuid::new_v4().simple().to_string();
    let mediator = new_mediator(gw, caller, server, headers);
    let h = match hosted::Hosted::start(gw, server, &sid, command, Arc::clone(&mediator)) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "cannot start a hosted tool server");
            return rpc_response(
                StatusCode::OK,
                &error_response(
                    msg.id().cloned().unwrap_or(Value::Null),
                    codes::UPSTREAM,
                    &e,
                    None,
                ),
            );
        }
    };
    let session = Arc::new(HttpSession {
        owner: caller.spiffe.clone(),
        mediator,
        hosted: Some(Arc::clone(&h)),
        last_seen: Mutex::new(Instant::now()),
    });
    if !gw.mcp_sessions.insert(server, &sid, Arc::clone(&session)) {
        h.stop();
        return sessions_full(msg.id().cloned().unwrap_or(Value::Null));
    }
    hosted::post(gw, &session, &h, msg, Some(&sid), headers).await
}

/// A session not yet known by an id: the Warden session it decides in is
/// `Warden-Session` when the agent names one, else the instance's default
/// session (`default`, as the decision API's): an instance's MCP sessions
/// share taint and budgets unless told apart.
fn new_session(
    gw: &Arc<Gateway>,
    caller: &Arc<Caller>,
    server: &str,
    headers: &HeaderMap,
    hosted: Option<Arc<hosted::Hosted>>,
) -> Arc<HttpSession> {
    Arc::new(HttpSession {
        owner: caller.spiffe.clone(),
        mediator: new_mediator(gw, caller, server, headers),
        hosted,
        last_seen: Mutex::new(Instant::now()),
    })
}

fn new_mediator(
    gw: &Arc<Gateway>,
    caller: &Arc<Caller>,
    server: &str,
    headers: &HeaderMap,
) -> Arc<Mediator<LocalGovernor>> {
    let warden_session = header_str(headers, "warden-session")
        .filter(|s| !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control))
        .map_or_else(|| DEFAULT_SESSION.to_owned(), str::to_owned);
    let governor = LocalGovernor {
        gw: Arc::clone(gw),
        caller: Arc::clone(caller),
        server: server.to_owned(),
        session: warden_session,
        via: Via::McpHttp,
    };
    Arc::new(Mediator::new(Arc::new(governor)))
}

/// The Warden session of an MCP session that names none: the decision API's.
const DEFAULT_SESSION: &str = "default";

/// 503: no room for another MCP session.
pub(crate) fn sessions_full(id: Value) -> Response {
    rpc_error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        codes::INTERNAL_ERROR,
        "too many live MCP sessions: try again when idle ones have expired",
    )
}

/// An empty answer with a status.
pub(crate) fn status_only(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}
