//! The LLM proxy: `/llm/{provider}/…` on the data plane speaks each
//! provider's own API — OpenAI Chat Completions and Responses, Anthropic
//! Messages, streamed or not — so an SDK needs only its base URL changed and
//! the agent's JWT-SVID where it puts the API key. Agents never hold the
//! provider's key: Warden adds it.
//!
//! A request is an action like any tool call: server = the provider, tool
//! `chat` (operation `send`), arguments = the request body. So the
//! manifest's grant (which models), the flow rules (the classes the provider
//! is cleared for, the session's taint), redaction obligations and the audit
//! record are the decision path's own. Before it is decided, the
//! conversation's user messages and tool results are observed for
//! provenance; after it, the answer is watched as it passes — the tool calls
//! the model proposes (one the agent has no grant for is flagged), the
//! tokens it used (counted against the token budgets) — and classified,
//! tainting the session. Streams pass chunk by chunk; a client that leaves
//! drops the upstream request.

mod budget;
mod conversation;
mod response;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};
use warden_policy::providers::{CHAT_TOOL, KeySource, ProviderConfig, ProviderKind};
use warden_types::DecisionOutcome;

pub(crate) use budget::TokenUse;
use response::Watch;

use crate::decisions::{Action, Via};
use crate::error::ApiError;
use crate::observe::ResultOf;
use crate::state::{Caller, Gateway};

/// The API paths Warden governs; other `POST`s are refused.
const GOVERNED: [&str; 3] = ["/v1/chat/completions", "/v1/responses", "/v1/messages"];
/// Largest answer read whole (a non-streamed completion).
const MAX_ANSWER: usize = 32 << 20;
/// Conversation items remembered as already observed.
const MAX_SEEN: usize = 100_000;
/// The session a request belongs to: `X-Warden-Session`, else this.
const DEFAULT_SESSION: &str = "llm";
/// The header naming the session.
const SESSION_HEADER: &str = "x-warden-session";

/// The proxy's state: provider keys, token use, what was observed.
#[derive(Debug, Default)]
pub(crate) struct LlmState {
    /// Each provider's key, or why there is none.
    keys: HashMap<String, Result<HeaderValue, String>>,
    /// Tokens used, for the budgets.
    pub(crate) tokens: TokenUse,
    /// Conversation items already observed (a conversation is sent whole
    /// with every request): digests, oldest out first.
    seen: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl LlmState {
    /// Reads every provider's key once, at start. A missing key is not an
    /// error until the provider is used: then the request is refused,
    /// naming where the key should be.
    pub(crate) fn new(providers: &std::collections::BTreeMap<String, ProviderConfig>) -> Self {
        let keys = providers
            .values()
            .map(|p| {
                let key = match &p.api_key {
                    KeySource::Env(name) => std::env::var(name)
                        .map_err(|_| format!("environment variable `{name}` is not set")),
                    KeySource::File(path) => std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read `{}`: {e}", path.display())),
                }
                .map(|k| k.trim().to_owned())
                .and_then(|k| {
                    let value = match p.kind {
                        ProviderKind::OpenAi => format!("Bearer {k}"),
                        ProviderKind::Anthropic => k,
                    };
                    let mut value = HeaderValue::from_str(&value)
                        .map_err(|_| "the key holds characters a header cannot".to_owned())?;
                    value.set_sensitive(true);
                    Ok(value)
                });
                if let Err(e) = &key {
                    tracing::warn!(provider = %p.name, problem = %e, "a model provider has no API key; calls to it will be refused");
                }
                (p.name.clone(), key)
            })
            .collect();
        Self {
            keys,
            ..Self::default()
        }
    }

    /// Whether `item` of `session` of the instance `spiffe` is new (and
    /// remembers it): sessions are the instance's own, so another agent's
    /// session of the same name never hides an item.
    fn first_sight(&self, spiffe: &str, session: &str, item: &Value) -> bool {
        let digest = format!(
            "{spiffe}\u{0}{session}\u{0}{}",
            warden_audit::json_digest(item)
        );
        let mut seen = self.seen.lock();
        if seen.0.contains(&digest) {
            return false;
        }
        if seen.1.len() >= MAX_SEEN
            && let Some(old) = seen.1.pop_front()
        {
            seen.0.remove(&old);
        }
        seen.0.insert(digest.clone());
        seen.1.push_back(digest);
        true
    }
}

/// A refusal in the provider's own error shape, so that its SDK raises its
/// own error type with the message.
fn refuse(kind: ProviderKind, status: StatusCode, code: &str, message: &str) -> Response {
    let body = match kind {
        ProviderKind::OpenAi => json!({"error": {
            "message": message,
            "type": match status {
                StatusCode::UNAUTHORIZED => "invalid_request_error",
                StatusCode::FORBIDDEN => "permission_denied",
                StatusCode::TOO_MANY_REQUESTS => "rate_limit_exceeded",
                s if s.is_server_error() => "server_error",
                _ => "invalid_request_error",
            },
            "param": null,
            "code": code,
        }}),
        ProviderKind::Anthropic => json!({"type": "error", "error": {
            "type": match status {
                StatusCode::UNAUTHORIZED => "authentication_error",
                StatusCode::FORBIDDEN => "permission_error",
                StatusCode::NOT_FOUND => "not_found_error",
                StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
                StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
                s if s.is_server_error() => "api_error",
                _ => "invalid_request_error",
            },
            "message": message,
        }}),
    };
    (status, axum::Json(body)).into_response()
}

fn refuse_api(kind: ProviderKind, e: &ApiError) -> Response {
    refuse(kind, e.status, e.code, &e.message)
}

/// The agent's token, where its SDK puts the API key.
fn agent_token(headers: &HeaderMap) -> Option<HeaderValue> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        return Some(v.clone());
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .and_then(|k| HeaderValue::from_str(&format!("Bearer {k}")).ok())
}

/// Headers passed to the provider: content negotiation and the API's own
/// version and feature headers; never the agent's credentials, cookies or
/// Warden's own headers.
fn upstream_headers(from: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in from {
        let n = name.as_str();
        let keep = matches!(n, "content-type" | "accept")
            || n.starts_with("anthropic-")
            || n.starts_with("openai-")
            || n.starts_with("x-stainless-");
        if keep {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Response headers passed back: not hop-by-hop ones nor the length (the
/// body may be re-framed).
fn downstream_headers(from: &reqwest::header::HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in from {
        let n = name.as_str();
        if matches!(
            n,
            "connection"
                | "keep-alive"
                | "transfer-encoding"
                | "content-length"
                | "upgrade"
                | "proxy-connection"
                | "te"
                | "trailer"
        ) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append(name, value);
        }
    }
    out
}

/// `ANY /llm/{provider}/{*path}`.
pub(crate) async fn endpoint(
    State(gw): State<Arc<Gateway>>,
    Path((provider, rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Some(config) = gw.config.providers.get(&provider).cloned() else {
        return refuse(
            ProviderKind::OpenAi,
            StatusCode::NOT_FOUND,
            "unknown_provider",
            &format!("no provider `{provider}` in warden.toml [providers]"),
        );
    };
    let kind = config.kind;
    let auth = crate::auth::Authorization(
        agent_token(&parts.headers),
        parts.extensions.get::<crate::serve::Peer>().map(|p| p.0),
        parts.headers.get(header::USER_AGENT).cloned(),
        parts
            .extensions
            .get::<std::sync::Arc<crate::tls::PeerSvid>>()
            .cloned(),
    );
    let caller = match gw.authenticate_agent(&auth) {
        Ok(c) => c,
        Err(e) => return refuse_api(kind, &e),
    };
    let key = match gw.llm.keys.get(&provider) {
        Some(Ok(k)) => k.clone(),
        Some(Err(why)) => {
            return refuse(
                kind,
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_key_missing",
                &format!("Warden has no API key for provider `{provider}`: {why}"),
            );
        }
        None => {
            return refuse(
                kind,
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_key_missing",
                &format!("provider `{provider}` was added after start: restart Warden"),
            );
        }
    };
    let path = format!("/{rest}");
    let limit = gw.config.serve.max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return refuse(
                kind,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                &format!("the request body is larger than {limit} bytes ([serve] max_body_bytes)"),
            );
        }
    };
    let mut url = config.base_url.clone();
    let joined = format!("{}{path}", url.path().trim_end_matches('/'));
    url.set_path(&joined);
    url.set_query(parts.uri.query());
    let governed = parts.method == Method::POST && GOVERNED.contains(&path.as_str());
    if !governed {
        if parts.method != Method::GET {
            return refuse(
                kind,
                StatusCode::FORBIDDEN,
                "not_governed",
                &format!(
                    "Warden passes `{} {path}` through only as GET: it governs {} and refuses other requests that could carry data",
                    parts.method,
                    GOVERNED.join(", ")
                ),
            );
        }
        return forward_plain(&gw, kind, &key, &parts.headers, url).await;
    }
    let request = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return refuse(
                kind,
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request body must be a JSON object",
            );
        }
    };
    let session = match parts.headers.get(SESSION_HEADER).map(HeaderValue::to_str) {
        None => DEFAULT_SESSION.to_owned(),
        Some(Ok(s)) => s.to_owned(),
        Some(Err(_)) => {
            return refuse(
                kind,
                StatusCode::BAD_REQUEST,
                "bad_request",
                "header `X-Warden-Session` must be printable text",
            );
        }
    };
    if let Err(e) = crate::decisions::check_session(&session) {
        return refuse_api(kind, &e);
    }
    let call = Call {
        gw: Arc::clone(&gw),
        caller,
        provider: config,
        session,
        model: request["model"].as_str().unwrap_or_default().to_owned(),
        stream: request["stream"] == true,
        decision: String::new(),
    };
    let mut call = call;
    match call.decide(&request, &bytes).await {
        Ok(body) => call.forward(&key, &parts.headers, url, body).await,
        Err(refusal) => refusal,
    }
}

/// A GET passed through (model lists and the like).
async fn forward_plain(
    gw: &Gateway,
    kind: ProviderKind,
    key: &HeaderValue,
    headers: &HeaderMap,
    url: url::Url,
) -> Response {
    let mut request = gw.http.get(url.as_str()).headers(upstream_headers(headers));
    request = with_key(request, kind, key);
    match request.send().await {
        Ok(answer) => {
            let status =
                StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let headers = downstream_headers(answer.headers());
            match answer.bytes().await {
                Ok(body) => (status, headers, body).into_response(),
                Err(e) => refuse(
                    kind,
                    StatusCode::BAD_GATEWAY,
                    "upstream_error",
                    &format!("the provider's answer broke off: {e}"),
                ),
            }
        }
        Err(e) => refuse(
            kind,
            StatusCode::BAD_GATEWAY,
            "upstream_unreachable",
            &format!("cannot reach the provider: {e}"),
        ),
    }
}

fn with_key(
    request: reqwest::RequestBuilder,
    kind: ProviderKind,
    key: &HeaderValue,
) -> reqwest::RequestBuilder {
    match kind {
        ProviderKind::OpenAi => request.header(reqwest::header::AUTHORIZATION, key.as_bytes()),
        ProviderKind::Anthropic => request.header("x-api-key", key.as_bytes()),
    }
}

/// One governed call to a model.
struct Call {
    gw: Arc<Gateway>,
    caller: Arc<Caller>,
    provider: ProviderConfig,
    session: String,
    model: String,
    /// Whether the client asked for a stream.
    stream: bool,
    decision: String,
}

impl Call {
    fn kind(&self) -> ProviderKind {
        self.provider.kind
    }

    /// Budgets, provenance, the decision: the body to send, or the refusal.
    async fn decide(&mut self, request: &Value, raw: &Bytes) -> Result<Bytes, Response> {
        let gw = &self.gw;
        let id = &self.caller.svid.spiffe_id;
        let snapshot = gw.engine.snapshot();
        let budgets = snapshot
            .agents
            .get(id.agent())
            .map(|a| a.budgets)
            .unwrap_or_default();
        if let Some(why) = gw.llm.tokens.refusal(
            &budgets,
            id.agent().as_str(),
            id.instance().as_str(),
            &self.session,
            crate::now_millis(),
        ) {
            return Err(refuse(
                self.kind(),
                StatusCode::TOO_MANY_REQUESTS,
                "warden_token_budget",
                &why,
            ));
        }
        // What the conversation holds, before the decision: the user's words
        // are theirs; tool results taint the session and are named sources.
        let conversation = conversation::read(request);
        for message in &conversation.user {
            if gw
                .llm
                .first_sight(&self.caller.spiffe, &self.session, message)
            {
                gw.observe_user(&self.caller, &self.session, message)
                    .await
                    .map_err(|e| refuse_api(self.kind(), &e))?;
            }
        }
        for (name, output) in &conversation.results {
            if gw
                .llm
                .first_sight(&self.caller.spiffe, &self.session, &json!([name, output]))
            {
                let tool = if name.is_empty() {
                    "unnamed"
                } else {
                    name.as_str()
                };
                let of = ResultOf {
                    session: &self.session,
                    server: "conversation",
                    tool,
                    decision: None,
                    via: Via::LlmProxy.as_str(),
                    source: format!("model conversation: result of {tool}"),
                    note: Some(format!(
                        "a tool result in a conversation with `{}`",
                        self.provider.name
                    )),
                };
                gw.record_result(&self.caller, &of, output)
                    .await
                    .map_err(|e| refuse_api(self.kind(), &e))?;
            }
        }
        let action = Action {
            server: &self.provider.name,
            tool: CHAT_TOOL,
            args: request,
            session: &self.session,
            via: Via::LlmProxy,
            trace: None,
        };
        let (answer, _) = gw
            .decide_action(&self.caller, &action)
            .await
            .map_err(|e| refuse_api(self.kind(), &e))?;
        self.decision = answer.id.clone();
        match answer.decision {
            DecisionOutcome::Allow => Ok(match &answer.args {
                // A redaction obligation rewrote the body.
                Some(rewritten) => Bytes::from(serde_json::to_vec(rewritten).unwrap_or_default()),
                None => raw.clone(),
            }),
            outcome => {
                let mut refusal = refuse(
                    self.kind(),
                    StatusCode::FORBIDDEN,
                    "warden_denied",
                    &format!(
                        "Warden: {} (decision {}{}): {}",
                        outcome.as_str(),
                        answer.id,
                        if outcome == DecisionOutcome::NeedsApproval {
                            "; send the same request again once it is approved"
                        } else {
                            ""
                        },
                        answer.reasons.join("; ")
                    ),
                );
                self.mark(refusal.headers_mut());
                Err(refusal)
            }
        }
    }

    fn mark(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&self.decision) {
            headers.insert("x-warden-decision", v);
        }
    }

    /// The tool names the agent is granted, on any server.
    fn granted(&self) -> HashSet<String> {
        self.gw
            .engine
            .snapshot()
            .agents
            .get(self.caller.svid.spiffe_id.agent())
            .map(|a| {
                a.manifest
                    .grants
                    .iter()
                    .flat_map(|g| {
                        [
                            g.tool.clone(),
                            format!("{}__{}", g.server, g.tool),
                            format!("{}.{}", g.server, g.tool),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sends the request and passes the answer back.
    async fn forward(
        self,
        key: &HeaderValue,
        headers: &HeaderMap,
        url: url::Url,
        body: Bytes,
    ) -> Response {
        let kind = self.kind();
        let mut request = with_key(
            self.gw
                .http
                .post(url.as_str())
                .headers(upstream_headers(headers))
                .body(body),
            kind,
            key,
        );
        if !self.stream {
            // A whole answer has the request timeout; a stream runs as long
            // as the provider sends and the client reads.
            request = request.timeout(std::time::Duration::from_secs(
                self.gw.config.serve.request_timeout_secs,
            ));
        }
        let answer = match request.send().await {
            Ok(a) => a,
            Err(e) => {
                return refuse(
                    kind,
                    StatusCode::BAD_GATEWAY,
                    "upstream_unreachable",
                    &format!("cannot reach provider `{}`: {e}", self.provider.name),
                );
            }
        };
        let status =
            StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut out_headers = downstream_headers(answer.headers());
        self.mark(&mut out_headers);
        let streaming = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"));
        if streaming && status.is_success() {
            let tee = Tee {
                upstream: answer,
                watch: Watch::default(),
                granted: self.granted(),
                said: 0,
                flags: Vec::new(),
                call: Some(self),
            };
            let stream = futures_util::stream::unfold(tee, |mut tee| async move {
                tee.next()
                    .await
                    .map(|chunk| (Ok::<Bytes, std::io::Error>(chunk), tee))
            });
            return (status, out_headers, Body::from_stream(stream)).into_response();
        }
        let body = match read_bounded(answer).await {
            Ok(b) => b,
            Err(e) => return refuse(kind, StatusCode::BAD_GATEWAY, "upstream_error", &e),
        };
        if status.is_success() {
            let mut watch = Watch::default();
            let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
            watch.read(&value);
            let granted = self.granted();
            let flagged: Vec<String> = watch
                .tools
                .iter()
                .filter(|t| !granted.contains(*t))
                .cloned()
                .collect();
            if !flagged.is_empty()
                && let Ok(v) = HeaderValue::from_str(&flagged.join(","))
            {
                out_headers.insert("x-warden-flagged-tool-calls", v);
            }
            let output = if value.is_null() {
                Value::String(watch.text.clone())
            } else {
                value
            };
            self.finish(watch, output).await;
        }
        (status, out_headers, body).into_response()
    }

    /// After the answer: tokens counted, proposed tool calls told, the
    /// answer classified (tainting the session) and recorded.
    async fn finish(&self, watch: Watch, output: Value) {
        let gw = &self.gw;
        let id = &self.caller.svid.spiffe_id;
        let now = crate::now_millis();
        gw.llm.tokens.add(
            id.agent().as_str(),
            id.instance().as_str(),
            &self.session,
            watch.tokens(),
            now,
        );
        let granted = self.granted();
        for tool in &watch.tools {
            let mut event = warden_monitor::Event::new("model_tool_call", now);
            event.agent = Some(id.agent().as_str().to_owned());
            event.instance = Some(id.instance().as_str().to_owned());
            event.server = Some(self.provider.name.clone());
            event.tool = Some(tool.clone());
            event.decision_id = Some(self.decision.clone());
            event.via = Some(Via::LlmProxy.as_str().to_owned());
            let flagged = !granted.contains(tool);
            event.outcome = Some(if flagged { "flagged" } else { "granted" }.to_owned());
            if flagged {
                event.reasons = vec![format!(
                    "model `{}` proposed tool `{tool}`, which `{}` has no grant for; the call would be denied",
                    self.model,
                    id.agent()
                )];
            }
            gw.monitor.publish(event);
        }
        let mut note = format!(
            "model `{}` at `{}`: {} prompt + {} completion tokens",
            self.model, self.provider.name, watch.input_tokens, watch.output_tokens
        );
        if !watch.tools.is_empty() {
            note.push_str(&format!(
                "; tool calls proposed: {}",
                watch.tools.join(", ")
            ));
        }
        if watch.truncated {
            note.push_str("; the answer's text was classified up to 1 MiB");
        }
        let of = ResultOf {
            session: &self.session,
            server: &self.provider.name,
            tool: CHAT_TOOL,
            decision: Some(&self.decision),
            via: Via::LlmProxy.as_str(),
            source: format!(
                "{}/{CHAT_TOOL} (decision {})",
                self.provider.name, self.decision
            ),
            note: Some(note),
        };
        if let Err(e) = gw.record_result(&self.caller, &of, &output).await {
            tracing::warn!(error = %e.message, "a model's answer could not be observed");
        }
    }
}

async fn read_bounded(mut answer: reqwest::Response) -> Result<Bytes, String> {
    let mut out = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| format!("the provider's answer broke off: {e}"))?
    {
        if out.len() + chunk.len() > MAX_ANSWER {
            return Err(format!(
                "the provider's answer is larger than {MAX_ANSWER} bytes"
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// A stream passed on as it arrives, watched on the way.
struct Tee {
    upstream: reqwest::Response,
    watch: Watch,
    granted: HashSet<String>,
    /// Tools already looked at.
    said: usize,
    /// Flags waiting for an event boundary.
    flags: Vec<String>,
    /// Taken when the stream ends (or is dropped) to finish the call.
    call: Option<Call>,
}

impl Tee {
    async fn next(&mut self) -> Option<Bytes> {
        match self.upstream.chunk().await {
            Ok(Some(chunk)) => {
                self.watch.read_sse(&chunk);
                for tool in &self.watch.tools[self.said..] {
                    if !self.granted.contains(tool) {
                        self.flags.push(tool.clone());
                    }
                }
                self.said = self.watch.tools.len();
                if self.flags.is_empty() || !self.watch.at_boundary {
                    return Some(chunk);
                }
                let mut out = chunk.to_vec();
                for tool in self.flags.drain(..) {
                    out.extend_from_slice(
                        format!(": warden flagged tool call {tool}\n\n").as_bytes(),
                    );
                }
                Some(Bytes::from(out))
            }
            Ok(None) | Err(_) => {
                let mut tail = Vec::new();
                for tool in self.flags.drain(..) {
                    tail.extend_from_slice(
                        format!("\n: warden flagged tool call {tool}\n\n").as_bytes(),
                    );
                }
                self.finish().await;
                (!tail.is_empty()).then(|| Bytes::from(tail))
            }
        }
    }

    async fn finish(&mut self) {
        if let Some(call) = self.call.take() {
            let watch = std::mem::take(&mut self.watch);
            let text = Value::String(watch.text.clone());
            call.finish(watch, text).await;
        }
    }
}

impl Drop for Tee {
    /// A client that left mid-stream: the upstream request is dropped with
    /// this (closing its connection); what was seen is still recorded.
    fn drop(&mut self) {
        if let Some(call) = self.call.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let watch = std::mem::take(&mut self.watch);
            runtime.spawn(async move {
                let text = Value::String(watch.text.clone());
                call.finish(watch, text).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_item_is_new_once_per_instance_and_session() {
        let state = LlmState::default();
        let item = json!("mail eve@evil.example");
        assert!(state.first_sight("spiffe://t/agent/a/1", "s", &item));
        assert!(!state.first_sight("spiffe://t/agent/a/1", "s", &item));
        // Another agent's session of the same name is its own.
        assert!(state.first_sight("spiffe://t/agent/b/1", "s", &item));
        assert!(state.first_sight("spiffe://t/agent/a/1", "s2", &item));
    }
}
