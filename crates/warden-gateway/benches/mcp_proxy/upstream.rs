//! The tool servers behind Warden: a minimal MCP Streamable HTTP server in
//! process (one tool, `echo`, answered as `application/json`), or the
//! reference `server-everything` as a child process.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The protocol revision the in-process server speaks.
pub(crate) const PROTOCOL_VERSION: &str = "2025-11-25";

/// Ids of the sessions the in-process server opened.
static SESSIONS: AtomicU64 = AtomicU64::new(0);

fn json_answer(status: StatusCode, body: &Value) -> Response {
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

fn result(id: &Value, result: Value) -> Response {
    json_answer(
        StatusCode::OK,
        &json!({"jsonrpc": "2.0", "id": id, "result": result}),
    )
}

fn error(status: StatusCode, id: &Value, code: i64, message: &str) -> Response {
    json_answer(
        status,
        &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
    )
}

/// `POST /mcp` of the in-process server.
async fn mcp(headers: HeaderMap, body: Bytes) -> Response {
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, &Value::Null, -32700, "parse error");
    };
    let method = msg
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(id) = msg.get("id") else {
        // A notification (or a response): accepted, nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    };
    if method == "initialize" {
        let sid = format!("bench-{}", SESSIONS.fetch_add(1, Ordering::Relaxed));
        let mut r = result(
            id,
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "warden-bench-echo", "version": "0.1.0"},
            }),
        );
        if let Ok(v) = HeaderValue::from_str(&sid) {
            r.headers_mut().insert("mcp-session-id", v);
        }
        return r;
    }
    if !headers.contains_key("mcp-session-id") {
        return error(
            StatusCode::BAD_REQUEST,
            id,
            -32000,
            "no Mcp-Session-Id: initialize first",
        );
    }
    let params = msg.get("params").unwrap_or(&Value::Null);
    match method {
        "ping" => result(id, json!({})),
        "tools/list" => result(
            id,
            json!({"tools": [{
                "name": "echo",
                "description": "Echoes back the message",
                "inputSchema": {
                    "type": "object",
                    "properties": {"message": {"type": "string"}},
                    "required": ["message"],
                },
            }]}),
        ),
        "tools/call" => {
            let name = params.get("name").and_then(Value::as_str);
            let message = params
                .get("arguments")
                .and_then(|a| a.get("message"))
                .and_then(Value::as_str);
            match (name, message) {
                (Some("echo"), Some(text)) => {
                    result(id, json!({"content": [{"type": "text", "text": text}]}))
                }
                _ => error(StatusCode::OK, id, -32602, "unknown tool, or no `message`"),
            }
        }
        _ => error(StatusCode::OK, id, -32601, "method not found"),
    }
}

/// The in-process server on `127.0.0.1:0`, on the current runtime until
/// `stop` fires.
pub(crate) async fn start_echo(
    stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new().route("/mcp", axum::routing::post(mcp));
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await
    });
    Ok((addr, task))
}

/// `server-everything` over Streamable HTTP, killed when dropped.
pub(crate) struct Everything {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Drop for Everything {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Everything {
    /// Starts `node …/server-everything/dist/index.js streamableHttp` on a
    /// free port and waits until it listens.
    pub(crate) fn start() -> anyhow::Result<Everything> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let script = repo
            .join("tests/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        if !script.exists() {
            bail!(
                "{} is missing: run tests/mcp/setup.sh to install the MCP reference servers \
                 (needs node >= 20 and npm), or unset WARDEN_MCP_UPSTREAM",
                script.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new("node")
            .arg(&script)
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start `node` (is Node.js >= 20 installed?)")?;
        let mut everything = Everything {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(everything.addr).is_err() {
            if let Some(status) = everything.child.try_wait()? {
                bail!("server-everything exited at start ({status})");
            }
            if Instant::now() > deadline {
                bail!("server-everything did not listen on {port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(everything)
    }

    /// The child's process id, to read its CPU time.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}
