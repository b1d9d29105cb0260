//! Traces: the span of each governed action, in the trace the client named
//! (`traceparent`, as an HTTP header or in an MCP request's
//! `params._meta`), and the context passed on to the tool server.

use axum::http::HeaderMap;
use serde_json::Value;
use warden_monitor::trace::{AttributeValue, Span, SpanKind, TraceContext, Tracer, TracerConfig};
use warden_policy::TelemetryConfig;

use crate::decisions::{Action, DecisionAnswer};
use crate::error::GatewayError;

/// The W3C header, and the `_meta` key MCP uses for the same value.
pub(crate) const TRACEPARENT: &str = "traceparent";

tokio::task_local! {
    /// The trace an MCP request's decision belongs to, set around the
    /// mediator's handling of one client message.
    pub(crate) static SCOPE: TraceScope;
}

/// Where one action's span goes: its parent, its own context (chosen
/// before the decision, so that the forwarded call can carry it), and the
/// MCP request it came in.
#[derive(Debug, Clone)]
pub(crate) struct TraceScope {
    pub(crate) parent: Option<TraceContext>,
    pub(crate) context: TraceContext,
    /// The MCP method (`tools/call`, `resources/read`, `prompts/get`).
    pub(crate) method: Option<&'static str>,
    /// The JSON-RPC id of a `tools/call`.
    pub(crate) call_id: Option<String>,
}

impl TraceScope {
    /// A scope under `parent` (or in a new trace).
    pub(crate) fn under(parent: Option<TraceContext>) -> Self {
        Self {
            context: TraceContext::child_of(parent.as_ref()),
            parent,
            method: None,
            call_id: None,
        }
    }
}

/// Starts the exporter when `[telemetry]` names an endpoint.
pub(crate) fn start(config: Option<&TelemetryConfig>) -> Result<Option<Tracer>, GatewayError> {
    let Some(t) = config else {
        return Ok(None);
    };
    Tracer::start(TracerConfig {
        endpoint: t.otlp_endpoint.as_str().to_owned(),
        service_name: t.service_name.clone(),
        headers: t.headers.clone().into_iter().collect(),
    })
    .map(Some)
    .map_err(|e| GatewayError::Setup(e.to_string()))
}

fn parse(value: &str) -> Option<TraceContext> {
    TraceContext::parse(value)
        .inspect_err(|e| tracing::debug!(error = %e, "ignoring a traceparent"))
        .ok()
}

/// A request's `traceparent` header, as sent (read without copying the
/// other headers; parsed only when traces are exported).
#[derive(Debug)]
pub(crate) struct TraceparentHeader(pub(crate) Option<axum::http::HeaderValue>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for TraceparentHeader {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(TRACEPARENT).cloned()))
    }
}

impl TraceparentHeader {
    /// Its trace context, if it is a valid one.
    pub(crate) fn context(&self) -> Option<TraceContext> {
        self.0
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(parse)
    }
}

/// The trace context of an HTTP request's `traceparent` header (an invalid
/// one is ignored, as the W3C specification asks).
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<TraceContext> {
    headers
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(parse)
}

/// The trace context of an MCP request: `params._meta.traceparent`, else
/// the HTTP header.
pub(crate) fn from_mcp(
    params: Option<&Value>,
    headers: Option<&HeaderMap>,
) -> Option<TraceContext> {
    params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(TRACEPARENT))
        .and_then(Value::as_str)
        .and_then(parse)
        .or_else(|| headers.and_then(from_headers))
}

/// The scope of an MCP message when traces are exported and it is a
/// governed request (`tools/call`, `resources/read`, `prompts/get`):
/// parented by its `_meta.traceparent`, else the HTTP header.
pub(crate) fn mcp_scope(
    tracer: Option<&Tracer>,
    msg: &warden_mcp::Message,
    headers: Option<&HeaderMap>,
) -> Option<TraceScope> {
    tracer?;
    if msg.kind() != warden_mcp::Kind::Request {
        return None;
    }
    let method = match msg.method()? {
        "tools/call" => "tools/call",
        "resources/read" => "resources/read",
        "prompts/get" => "prompts/get",
        _ => return None,
    };
    let call_id = msg
        .id()
        .filter(|_| method == "tools/call")
        .map(|id| match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    Some(TraceScope {
        method: Some(method),
        call_id,
        ..TraceScope::under(from_mcp(msg.params(), headers))
    })
}

/// Runs the mediator's handling of a client message inside `scope`, so
/// that the decision it asks for is traced there.
pub(crate) async fn in_scope<F: std::future::Future>(
    scope: Option<&TraceScope>,
    f: F,
) -> F::Output {
    match scope {
        Some(s) => SCOPE.scope(s.clone(), f).await,
        None => f.await,
    }
}

/// Sets `params._meta.traceparent` of a forwarded MCP request to Warden's span.
pub(crate) fn inject(params: Option<&mut Value>, context: &TraceContext) {
    if let Some(Value::Object(params)) = params {
        let meta = params
            .entry("_meta")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(meta) = meta {
            meta.insert(TRACEPARENT.to_owned(), Value::String(context.to_header()));
        }
    }
}

/// The span of one decided action, with the GenAI semantic conventions'
/// attributes for tool execution and Warden's own.
pub(crate) fn action_span(
    scope: &TraceScope,
    caller: &warden_types::SpiffeId,
    action: &Action<'_>,
    answer: &DecisionAnswer,
    audit_index: Option<u64>,
    start_unix_nanos: u64,
) -> Span {
    let text = |s: &str| AttributeValue::String(s.to_owned());
    let mut attributes = vec![
        ("gen_ai.operation.name", text("execute_tool")),
        ("gen_ai.tool.name", text(action.tool)),
    ];
    if let Some(id) = &scope.call_id {
        attributes.push(("gen_ai.tool.call.id", text(id)));
    }
    if let Some(method) = scope.method {
        attributes.push(("mcp.method.name", text(method)));
    }
    attributes.extend([
        ("warden.agent", text(caller.agent().as_str())),
        ("warden.instance", text(caller.instance().as_str())),
        ("warden.server", text(action.server)),
        ("warden.session", text(action.session)),
        ("warden.via", text(action.via.as_str())),
        ("warden.decision", text(answer.decision.as_str())),
        ("warden.decision_id", text(&answer.id)),
        (
            "warden.policies",
            AttributeValue::Strings(answer.policies.clone()),
        ),
        ("warden.policy_digest", text(&answer.policy_digest)),
        (
            "warden.classes",
            AttributeValue::Strings(answer.classes.clone()),
        ),
    ]);
    if let Some(index) = audit_index.and_then(|i| i64::try_from(i).ok()) {
        attributes.push(("warden.audit_index", AttributeValue::Int(index)));
    }
    if answer.withheld {
        attributes.push(("warden.withheld", AttributeValue::Bool(true)));
    }
    Span {
        context: scope.context,
        parent_span_id: scope.parent.map(|p| p.span_id),
        name: format!("execute_tool {}", action.tool),
        kind: SpanKind::Server,
        start_unix_nanos,
        end_unix_nanos: warden_monitor::trace::unix_nanos(),
        attributes,
    }
}
