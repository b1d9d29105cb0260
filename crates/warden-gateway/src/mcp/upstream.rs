//! Forwarding to the upstream Streamable HTTP server, and rewriting what it
//! answers — a JSON body or an SSE stream — message by message.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::mpsc;
use warden_mcp::{Kind, Mediator, Message, Step, codes, error_response};

use super::governor::LocalGovernor;
use super::sse::{Event, Parser};
use super::{HttpSession, rpc_error, rpc_response, sessions_full, status_only};
use crate::state::Gateway;
use crate::telemetry;

/// Headers passed to the upstream as the client sent them. `Authorization`
/// never is: the agent's identity stays with Warden.
const FORWARDED: &[&str] = &[
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
    "last-event-id",
];

/// One request's context.
pub(crate) struct Context {
    pub(crate) gw: Arc<Gateway>,
    pub(crate) server: String,
    pub(crate) url: url::Url,
    pub(crate) session_id: Option<String>,
    pub(crate) headers: HeaderMap,
}

impl Context {
    fn request(&self, method: reqwest::Method, accept: &'static str) -> reqwest::RequestBuilder {
        let mut req = self
            .gw
            .http
            .request(method, self.url.clone())
            .header(header::ACCEPT, accept);
        for name in FORWARDED {
            if let Some(v) = self.headers.get(*name) {
                req = req.header(*name, v.as_bytes());
            }
        }
        req
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.gw.config.mcp.call_timeout_secs)
    }
}

/// Reads a whole (bounded) upstream body.
async fn read_body(resp: &mut reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > max {
            return Err(format!("the answer is over {max} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn passthrough(
    status: reqwest::StatusCode,
    content_type: Option<HeaderValue>,
    body: Vec<u8>,
) -> Response {
    let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut r = (status, body).into_response();
    if let Some(ct) = content_type {
        r.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    r
}

fn upstream_failure(id: Option<Value>, message: &str) -> Response {
    match id {
        // A request gets its answer: a JSON-RPC error the client can show.
        Some(id) => rpc_response(
            StatusCode::OK,
            &error_response(id, codes::UPSTREAM, message, None),
        ),
        None => rpc_error(
            StatusCode::BAD_GATEWAY,
            Value::Null,
            codes::UPSTREAM,
            message,
        ),
    }
}

/// POST: one client message.
pub(crate) async fn post(ctx: Context, session: Arc<HttpSession>, msg: Message) -> Response {
    let mediator = Arc::clone(&session.mediator);
    let request_id = (msg.kind() == Kind::Request)
        .then(|| msg.id().cloned())
        .flatten();
    let trace = telemetry::mcp_scope(ctx.gw.tracer.as_ref(), &msg, Some(&ctx.headers));
    let mut msg = match telemetry::in_scope(trace.as_ref(), mediator.on_client(msg)).await {
        Step::Forward(m) => m,
        Step::Reply(v) => return rpc_response(StatusCode::OK, &v),
        Step::Drop => return status_only(StatusCode::ACCEPTED),
    };
    let mut req = ctx
        .request(reqwest::Method::POST, "application/json, text/event-stream")
        .header(header::CONTENT_TYPE, "application/json");
    // The tool server's spans join the trace under Warden's.
    if let Some(t) = &trace {
        telemetry::inject(msg.params_mut(), &t.context);
        req = req.header(telemetry::TRACEPARENT, t.context.to_header());
    }
    let req = req.body(msg.to_bytes());
    let timeout = ctx.timeout();
    let abandon = |why: String| {
        if let Some(id) = &request_id {
            mediator.abandon(id);
        }
        tracing::warn!(server = %ctx.server, error = %why, "upstream MCP server failed");
        upstream_failure(request_id.clone(), &why)
    };
    let mut resp = match tokio::time::timeout(timeout, req.send()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return abandon(format!(
                "the tool server `{}` is unreachable: {e}",
                ctx.server
            ));
        }
        Err(_) => {
            return abandon(format!(
                "the tool server `{}` did not answer within {} s",
                ctx.server,
                timeout.as_secs()
            ));
        }
    };
    let status = resp.status();
    let content_type = resp.headers().get(header::CONTENT_TYPE).cloned();
    let new_session_id = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if status == reqwest::StatusCode::ACCEPTED {
        return status_only(StatusCode::ACCEPTED);
    }
    let max = ctx
        .gw
        .config
        .serve
        .max_body_bytes
        .max(super::sse::MAX_EVENT);
    if !status.is_success() {
        if let Some(id) = &request_id {
            mediator.abandon(id);
        }
        if status == reqwest::StatusCode::NOT_FOUND
            && let Some(sid) = &ctx.session_id
        {
            ctx.gw.mcp_sessions.remove(&ctx.server, sid);
        }
        let body = read_body(&mut resp, max).await.unwrap_or_default();
        return passthrough(status, content_type, body);
    }
    // A session the upstream just created is bound to this caller.
    if ctx.session_id.is_none()
        && let Some(sid) = &new_session_id
        && !ctx
            .gw
            .mcp_sessions
            .insert(&ctx.server, sid, Arc::clone(&session))
    {
        if let Some(id) = &request_id {
            mediator.abandon(id);
        }
        return sessions_full(request_id.unwrap_or(Value::Null));
    }
    let is_sse = content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let mut response = if is_sse {
        stream(ctx, mediator, resp, request_id, Some(timeout))
    } else {
        let body = match tokio::time::timeout(timeout, read_body(&mut resp, max)).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return abandon(format!("reading the tool server's answer failed: {e}")),
            Err(_) => return abandon("the tool server's answer did not finish in time".into()),
        };
        match Message::parse(&body) {
            Ok(answer) => match mediator.on_server(answer).await {
                Step::Forward(m) => rpc_response(StatusCode::OK, &m.into_value()),
                Step::Reply(_) | Step::Drop => {
                    return abandon(
                        "the tool server answered with something other than the response".into(),
                    );
                }
            },
            Err(e) => {
                return abandon(format!(
                    "the tool server answered with invalid JSON-RPC: {e}"
                ));
            }
        }
    };
    if let Some(sid) = new_session_id
        && let Ok(v) = HeaderValue::from_str(&sid)
    {
        response.headers_mut().insert("mcp-session-id", v);
    }
    response
}

/// GET: the server's own stream of requests and notifications.
pub(crate) async fn get(ctx: Context, session: Arc<HttpSession>) -> Response {
    let req = ctx.request(reqwest::Method::GET, "text/event-stream");
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return upstream_failure(
                None,
                &format!("the tool server `{}` is unreachable: {e}", ctx.server),
            );
        }
    };
    let status = resp.status();
    let content_type = resp.headers().get(header::CONTENT_TYPE).cloned();
    let is_sse = content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !status.is_success() || !is_sse {
        let body = read_body(&mut resp, 64 * 1024).await.unwrap_or_default();
        return passthrough(status, content_type, body);
    }
    stream(ctx, Arc::clone(&session.mediator), resp, None, None)
}

/// DELETE: the client ends the session.
pub(crate) async fn delete(ctx: Context) -> Response {
    let req = ctx.request(
        reqwest::Method::DELETE,
        "application/json, text/event-stream",
    );
    match tokio::time::timeout(ctx.timeout(), req.send()).await {
        Ok(Ok(mut resp)) => {
            let status = resp.status();
            if status.is_success()
                && let Some(sid) = &ctx.session_id
            {
                ctx.gw.mcp_sessions.remove(&ctx.server, sid);
            }
            let ct = resp.headers().get(header::CONTENT_TYPE).cloned();
            let body = read_body(&mut resp, 64 * 1024).await.unwrap_or_default();
            passthrough(status, ct, body)
        }
        Ok(Err(e)) => upstream_failure(None, &format!("the tool server is unreachable: {e}")),
        Err(_) => upstream_failure(None, "the tool server did not answer in time"),
    }
}

/// Streams an SSE answer through the mediator. For a request's stream, the
/// request must be answered within `timeout`, else the client gets an error
/// event; when the client goes away, the upstream stream is dropped.
fn stream(
    ctx: Context,
    mediator: Arc<Mediator<LocalGovernor>>,
    mut resp: reqwest::Response,
    request_id: Option<Value>,
    timeout: Option<Duration>,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        let mut parser = Parser::default();
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let fail = |why: &str| -> Option<Bytes> {
            let id = request_id.as_ref()?;
            mediator.abandon(id).then(|| {
                Bytes::from(
                    Event::message(&error_response(id.clone(), codes::UPSTREAM, why, None))
                        .encode(),
                )
            })
        };
        loop {
            let read = async {
                match deadline {
                    Some(d) => tokio::time::timeout_at(d, resp.chunk()).await,
                    None => Ok(resp.chunk().await),
                }
            };
            // A client that goes away ends the upstream stream at once, even
            // when the server is silent (a GET stream can be).
            let next = tokio::select! {
                next = read => next,
                () = tx.closed() => {
                    if let Some(id) = &request_id {
                        mediator.abandon(id);
                    }
                    return;
                }
            };
            let chunk = match next {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) | Ok(Err(_)) => {
                    if let Some(b) = fail("the tool server's stream ended before it answered") {
                        let _ = tx.send(Ok(b)).await;
                    }
                    return;
                }
                Err(_) => {
                    let why = format!(
                        "the tool server did not answer within {} s",
                        timeout.unwrap_or_default().as_secs()
                    );
                    if let Some(b) = fail(&why) {
                        let _ = tx.send(Ok(b)).await;
                    }
                    return;
                }
            };
            let events = match parser.feed(&chunk) {
                Ok(e) => e,
                Err(e) => {
                    if let Some(b) = fail(&e) {
                        let _ = tx.send(Ok(b)).await;
                    }
                    return;
                }
            };
            for event in events {
                let Some(out) = rewrite(&ctx, &mediator, event).await else {
                    continue;
                };
                if tx.send(Ok(Bytes::from(out))).await.is_err() {
                    // The client went away.
                    if let Some(id) = &request_id {
                        mediator.abandon(id);
                    }
                    return;
                }
            }
        }
    });
    super::sse::response(rx)
}

/// One event through the mediator: the bytes to send on, if any.
async fn rewrite(
    ctx: &Context,
    mediator: &Mediator<LocalGovernor>,
    event: Event,
) -> Option<Vec<u8>> {
    let Some(data) = event.data.as_deref().filter(|d| !d.trim().is_empty()) else {
        // No message (a priming event with only an id): as it came.
        return Some(event.encode());
    };
    let msg = match Message::parse(data.as_bytes()) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "the tool server streamed something that is not JSON-RPC; dropped");
            return None;
        }
    };
    match mediator.on_server(msg).await {
        Step::Forward(m) => Some(
            Event {
                data: Some(m.into_value().to_string()),
                ..event
            }
            .encode(),
        ),
        Step::Reply(v) => {
            // A refused server-to-client request: Warden answers the server.
            let req = ctx
                .request(reqwest::Method::POST, "application/json, text/event-stream")
                .header(header::CONTENT_TYPE, "application/json")
                .body(v.to_string());
            tokio::spawn(async move {
                if let Err(e) = req.send().await {
                    tracing::warn!(error = %e, "could not answer the tool server's request");
                }
            });
            None
        }
        Step::Drop => None,
    }
}
