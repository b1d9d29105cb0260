//! OpenTelemetry traces: an OTLP receiver in the test gets one span per
//! governed action, in the trace the client sent, decoded by the official
//! `opentelemetry-proto` Python package (tests/mcp/otlp_decode.py); the tool
//! server gets Warden's span as its parent.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::harness::{Backend, TestGateway};

const TRACE_A: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_A: &str = "00f067aa0ba902b7";
const TRACE_B: &str = "0af7651916cd43dd8448eb211c80319c";
const SPAN_B: &str = "b7ad6b7169203331";
const TRACE_C: &str = "11111111111111111111111111111111";
const SPAN_C: &str = "2222222222222222";
const TRACE_D: &str = "33333333333333333333333333333333";
const SPAN_D: &str = "4444444444444444";

fn traceparent(trace: &str, span: &str) -> String {
    format!("00-{trace}-{span}-01")
}

/// What the test servers received.
#[derive(Default)]
struct Seen {
    /// OTLP bodies and their content types.
    otlp: Vec<(String, Bytes)>,
    /// Per upstream `tools/call`: (traceparent header, `_meta.traceparent`).
    calls: Vec<(Option<String>, Option<String>)>,
}

type Shared = Arc<Mutex<Seen>>;

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// `POST /v1/traces`: keeps the body.
async fn otlp(
    axum::extract::State(seen): axum::extract::State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    seen.lock().otlp.push((ct, body));
    StatusCode::OK
}

/// A minimal MCP server answering JSON: `read_invoice` and `schedule_payment`.
async fn upstream(
    axum::extract::State(seen): axum::extract::State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let msg: Value = serde_json::from_slice(&body).unwrap();
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match msg["method"].as_str().unwrap_or_default() {
        "initialize" => json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                               "serverInfo": {"name": "fake-accounting", "version": "1"}}),
        "tools/list" => json!({"tools": [
            {"name": "read_invoice", "description": "Reads an invoice",
             "inputSchema": {"type": "object", "required": ["invoice_id"],
                             "properties": {"invoice_id": {"type": "string"}}}},
            {"name": "schedule_payment", "description": "Schedules a payment",
             "inputSchema": {"type": "object", "required": ["amount", "iban"],
                             "properties": {"amount": {"type": "number"}, "iban": {"type": "string"}}}}]}),
        "tools/call" => {
            let header = headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let meta = msg["params"]["_meta"]["traceparent"]
                .as_str()
                .map(str::to_owned);
            seen.lock().calls.push((header, meta));
            json!({"content": [{"type": "text", "text": "invoice INV-1: 120 EUR"}]})
        }
        _ => json!({}),
    };
    let mut r = axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
    r.headers_mut()
        .insert("mcp-session-id", "fake-1".parse().unwrap());
    r
}

/// The spans in the bodies, decoded by opentelemetry-proto.
fn decode(dir: &std::path::Path, bodies: &[(String, Bytes)]) -> Vec<Value> {
    let mut paths = Vec::new();
    for (i, (_, body)) in bodies.iter().enumerate() {
        let path = dir.join(format!("otlp-{i}.bin"));
        std::fs::write(&path, body).unwrap();
        paths.push(path);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp/otlp_decode.py");
    let out = std::process::Command::new(warden_test::mcp_python())
        .arg(script)
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

struct Mcp<'a> {
    gw: &'a TestGateway,
    url: String,
    token: String,
    session: Option<String>,
}

impl Mcp<'_> {
    async fn post(&mut self, body: Value, header: Option<String>) -> Value {
        let mut req = self
            .gw
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(sid) = &self.session {
            req = req.header("mcp-session-id", sid);
        }
        if let Some(tp) = header {
            req = req.header("traceparent", tp);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        if let Some(sid) = r.headers().get("mcp-session-id") {
            self.session = Some(sid.to_str().unwrap().to_owned());
        }
        let text = r.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn call(
        &mut self,
        id: i64,
        tool: &str,
        args: Value,
        meta: Option<String>,
        header: Option<String>,
    ) -> Value {
        let mut params = json!({"name": tool, "arguments": args});
        if let Some(tp) = meta {
            params["_meta"] = json!({"traceparent": tp});
        }
        self.post(
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}),
            header,
        )
        .await
    }
}

#[tokio::test]
async fn an_otlp_receiver_gets_one_span_per_governed_call_in_the_clients_trace() {
    let seen = Shared::default();
    let collector = serve(
        axum::Router::new()
            .route("/v1/traces", axum::routing::post(otlp))
            .with_state(Arc::clone(&seen)),
    )
    .await;
    let accounting = serve(
        axum::Router::new()
            .route("/mcp", axum::routing::post(upstream))
            .with_state(Arc::clone(&seen)),
    )
    .await;
    let gw = TestGateway::start(Backend::Sqlite, |t| {
        t.replace("http://127.0.0.1:9100/mcp", &format!("{accounting}/mcp"))
            + &format!(
                "\n[telemetry]\notlp_endpoint = \"{collector}\"\nservice_name = \"warden-test\"\nheaders = {{ x-tenant = \"acme\" }}\n"
            )
    })
    .await;
    let mut mcp = Mcp {
        gw: &gw,
        url: format!("{}/mcp/accounting", gw.data),
        token: gw.token("invoice-bot"),
        session: None,
    };
    // Not governed actions: no spans.
    mcp.post(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "otel-test", "version": "1"}}}),
        None,
    )
    .await;
    mcp.post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        None,
    )
    .await;
    let list = mcp
        .post(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            None,
        )
        .await;
    assert_eq!(
        list["result"]["tools"].as_array().unwrap().len(),
        2,
        "{list}"
    );
    // A: trace context in `_meta` (and a different one in the header: `_meta` wins).
    let a = mcp
        .call(
            2,
            "read_invoice",
            json!({"invoice_id": "INV-1"}),
            Some(traceparent(TRACE_A, SPAN_A)),
            Some(traceparent(TRACE_C, SPAN_C)),
        )
        .await;
    assert!(a["result"]["content"].is_array(), "{a}");
    // B: in the HTTP header only; denied (over the payment limit).
    let b = mcp
        .call(
            3,
            "schedule_payment",
            json!({"amount": 20000, "iban": "DE89370400440532013000"}),
            None,
            Some(traceparent(TRACE_B, SPAN_B)),
        )
        .await;
    assert!(
        b.get("error").is_some() || b["result"]["isError"] == true,
        "{b}"
    );
    // No trace context: a new trace.
    mcp.call(
        4,
        "read_invoice",
        json!({"invoice_id": "INV-2"}),
        None,
        None,
    )
    .await;
    // The decision API, with the header: its answer names Warden's span.
    let r = gw
        .client
        .post(format!("{}/v1/decisions", gw.data))
        .bearer_auth(gw.token("invoice-bot"))
        .header("traceparent", traceparent(TRACE_C, SPAN_C))
        .json(&json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-3"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answered = r.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(
        answered.starts_with(&format!("00-{TRACE_C}-")),
        "{answered}"
    );
    let decision: Value = r.json().await.unwrap();

    // `warden mcp wrap`: the client's `_meta.traceparent` goes to the
    // decision API as a header; Warden's span comes back for the forwarded call.
    let token_file = gw.dir.path().join("wrap.token");
    std::fs::write(&token_file, gw.token("invoice-bot")).unwrap();
    let wrap = warden_mcp::RemoteGovernor::new(
        &gw.data,
        "accounting",
        "default",
        token_file,
        Duration::from_secs(1),
    );
    let wrapped = warden_mcp::Governor::decide(
        &wrap,
        warden_mcp::Action {
            tool: "read_invoice",
            args: &json!({"invoice_id": "INV-4"}),
            traceparent: Some(&traceparent(TRACE_D, SPAN_D)),
        },
    )
    .await;
    assert_eq!(wrapped.decision, "allow", "{wrapped:?}");
    let wrapped_span = wrapped.traceparent.unwrap();
    assert!(
        wrapped_span.starts_with(&format!("00-{TRACE_D}-")),
        "{wrapped_span}"
    );

    // Exported in the background, within the flush interval.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().otlp.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no OTLP export within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = gw
        .client
        .get(format!("{}/metrics", gw.admin))
        .bearer_auth(&gw.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    gw.stop().await;
    let (bodies, calls) = {
        let seen = seen.lock();
        (seen.otlp.clone(), seen.calls.clone())
    };
    assert!(bodies.iter().all(|(ct, _)| ct == "application/x-protobuf"));
    let dir = tempfile::tempdir().unwrap();
    let spans = decode(dir.path(), &bodies);
    assert_eq!(spans.len(), 5, "one span per governed action: {spans:#?}");
    let by_trace =
        |trace: &str| -> Vec<&Value> { spans.iter().filter(|s| s["trace_id"] == trace).collect() };

    let a = by_trace(TRACE_A);
    assert_eq!(a.len(), 1, "{spans:#?}");
    let a = a[0];
    assert_eq!(a["parent_span_id"], SPAN_A);
    assert_eq!(a["name"], "execute_tool read_invoice");
    assert_eq!(a["kind"], 2, "SERVER");
    assert_eq!(a["status"], 0, "unset");
    assert_eq!(a["scope"], "warden");
    assert_eq!(a["resource"]["service.name"], "warden-test");
    assert!(a["end"].as_u64().unwrap() >= a["start"].as_u64().unwrap());
    let attrs = &a["attributes"];
    assert_eq!(attrs["gen_ai.operation.name"], "execute_tool");
    assert_eq!(attrs["gen_ai.tool.name"], "read_invoice");
    assert_eq!(attrs["gen_ai.tool.call.id"], "2");
    assert_eq!(attrs["mcp.method.name"], "tools/call");
    assert_eq!(attrs["warden.agent"], "invoice-bot");
    assert_eq!(attrs["warden.instance"], "i-1");
    assert_eq!(attrs["warden.server"], "accounting");
    assert_eq!(attrs["warden.via"], "mcp_http");
    assert_eq!(attrs["warden.decision"], "allow");
    assert!(
        !attrs["warden.policies"].as_array().unwrap().is_empty(),
        "{attrs}"
    );
    assert!(
        attrs["warden.policy_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"),
        "{attrs}"
    );
    assert!(attrs["warden.decision_id"].is_string());
    assert!(attrs["warden.audit_index"].is_number(), "{attrs}");
    // The tool server was called under Warden's span, in the header and `_meta`.
    let warden_a = traceparent(TRACE_A, a["span_id"].as_str().unwrap());
    assert_eq!(calls[0], (Some(warden_a.clone()), Some(warden_a)));

    let b = by_trace(TRACE_B);
    assert_eq!(b.len(), 1, "{spans:#?}");
    assert_eq!(b[0]["parent_span_id"], SPAN_B);
    assert_eq!(b[0]["name"], "execute_tool schedule_payment");
    assert_eq!(b[0]["attributes"]["warden.decision"], "deny");
    assert_eq!(b[0]["status"], 0, "a deny is an outcome, not an error");
    assert_eq!(
        calls.len(),
        2,
        "the denied call never reached the tool server"
    );

    let c = by_trace(TRACE_C);
    assert_eq!(c.len(), 1, "{spans:#?}");
    assert_eq!(c[0]["parent_span_id"], SPAN_C);
    assert_eq!(c[0]["attributes"]["warden.via"], "decision_api");
    assert_eq!(c[0]["attributes"]["warden.decision_id"], decision["id"]);
    assert!(c[0]["attributes"].get("gen_ai.tool.call.id").is_none());
    assert_eq!(
        answered,
        traceparent(TRACE_C, c[0]["span_id"].as_str().unwrap())
    );

    let fresh: Vec<_> = spans
        .iter()
        .filter(|s| {
            ![TRACE_A, TRACE_B, TRACE_C, TRACE_D].contains(&s["trace_id"].as_str().unwrap())
        })
        .collect();
    assert_eq!(fresh.len(), 1, "{spans:#?}");
    assert_eq!(fresh[0]["parent_span_id"], "", "a new trace has no parent");
    assert_eq!(fresh[0]["attributes"]["gen_ai.tool.call.id"], "4");
    assert_eq!(
        calls[1].0.as_deref(),
        Some(
            traceparent(
                fresh[0]["trace_id"].as_str().unwrap(),
                fresh[0]["span_id"].as_str().unwrap()
            )
            .as_str()
        )
    );
    let d = by_trace(TRACE_D);
    assert_eq!(d.len(), 1, "{spans:#?}");
    assert_eq!(d[0]["parent_span_id"], SPAN_D);
    assert_eq!(d[0]["attributes"]["warden.via"], "mcp_stdio_reported");
    assert_eq!(
        wrapped_span,
        traceparent(TRACE_D, d[0]["span_id"].as_str().unwrap())
    );
    assert!(
        metrics.contains("warden_trace_spans_dropped_total 0"),
        "{metrics}"
    );
}
