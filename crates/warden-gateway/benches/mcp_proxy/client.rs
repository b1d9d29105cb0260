//! The MCP client: one keep-alive HTTP/1.1 connection per worker, which
//! initializes a session and then calls `echo` in sequence, each call timed
//! and checked.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::upstream::PROTOCOL_VERSION;

pub(crate) const WARM_UP: Duration = Duration::from_secs(1);
/// A call not answered within this is an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const MESSAGE_BYTES: usize = 200;

/// Where the calls go.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    /// `/mcp` (the upstream) or `/mcp/echo` (Warden).
    pub(crate) path: &'static str,
    /// `Bearer <JWT-SVID>`, for Warden.
    pub(crate) token: Option<HeaderValue>,
    /// What the echo's text starts with before the message (`Echo: ` for
    /// server-everything).
    pub(crate) echo_prefix: &'static str,
}

/// A ~200-byte message for `worker`.
fn message(worker: usize) -> String {
    let head = format!("worker {worker}: ");
    let filler = "the quick brown fox jumps over the lazy dog, ";
    let mut text = head + &filler.repeat(MESSAGE_BYTES / filler.len() + 1);
    text.truncate(MESSAGE_BYTES);
    text
}

/// The JSON-RPC message answering `id` in a JSON or SSE body.
fn answer_to(content_type: &str, body: &[u8], id: &Value) -> anyhow::Result<Value> {
    if !content_type.starts_with("text/event-stream") {
        return Ok(serde_json::from_slice(body)?);
    }
    let text = std::str::from_utf8(body)?.replace("\r\n", "\n");
    for event in text.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        let data = data.join("\n");
        if data.trim().is_empty() {
            // A priming event (an id, no message).
            continue;
        }
        let msg: Value = serde_json::from_str(&data)?;
        if msg.get("id") == Some(id) {
            return Ok(msg);
        }
    }
    bail!("no answer to id {id} in the event stream")
}

struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    target: Target,
    session: Option<HeaderValue>,
    protocol: HeaderValue,
}

impl Connection {
    async fn open(target: &Target) -> anyhow::Result<(Connection, tokio::task::JoinHandle<()>)> {
        let stream = tokio::net::TcpStream::connect(target.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let conn = Connection {
            sender,
            target: target.clone(),
            session: None,
            protocol: HeaderValue::from_static(PROTOCOL_VERSION),
        };
        Ok((conn, driver))
    }

    async fn post(&mut self, body: &Value) -> anyhow::Result<(Response<()>, Bytes)> {
        let mut request = hyper::Request::post(self.target.path)
            .header(HOST, "127.0.0.1")
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        if let Some(token) = &self.target.token {
            request = request.header(AUTHORIZATION, token.clone());
        }
        if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session.clone())
                .header("mcp-protocol-version", self.protocol.clone());
        }
        let request = request.body(Full::new(Bytes::from(serde_json::to_vec(body)?)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await?.to_bytes();
        Ok((Response::from_parts(parts, ()), bytes))
    }

    /// `initialize` and `notifications/initialized`.
    async fn initialize(&mut self) -> anyhow::Result<()> {
        let id = json!(0);
        let (head, body) = self
            .post(&json!({
                "jsonrpc": "2.0", "id": id, "method": "initialize",
                "params": {
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "warden-bench", "version": "0.1.0"},
                },
            }))
            .await?;
        if head.status() != StatusCode::OK {
            bail!(
                "initialize: {} {}",
                head.status(),
                String::from_utf8_lossy(&body)
            );
        }
        let answer = answer_to(content_type(&head), &body, &id)?;
        let version = answer["result"]["protocolVersion"]
            .as_str()
            .ok_or_else(|| anyhow!("initialize: no protocolVersion in {answer}"))?;
        self.protocol = HeaderValue::from_str(version)?;
        self.session = Some(
            head.headers()
                .get("mcp-session-id")
                .cloned()
                .context("initialize: no Mcp-Session-Id")?,
        );
        let (head, body) = self
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        if head.status() != StatusCode::ACCEPTED {
            bail!(
                "notifications/initialized: {} {}",
                head.status(),
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    }

    /// One `tools/call` of `echo`: `Ok(Err(why))` when it was answered but
    /// not with the echo.
    async fn call(&mut self, id: u64, message: &str) -> anyhow::Result<Result<(), String>> {
        let id = json!(id);
        let (head, body) = self
            .post(&json!({
                "jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"message": message}},
            }))
            .await?;
        let text = String::from_utf8_lossy(&body);
        if head.status() != StatusCode::OK {
            return Ok(Err(format!("{}: {text}", head.status())));
        }
        let answer = match answer_to(content_type(&head), &body, &id) {
            Ok(a) => a,
            Err(e) => return Ok(Err(format!("{e}: {text}"))),
        };
        let result = &answer["result"];
        let echoed = result["content"][0]["text"]
            .as_str()
            .and_then(|t| t.strip_prefix(self.target.echo_prefix));
        if echoed != Some(message) || result["isError"] == json!(true) {
            return Ok(Err(format!("not the echo: {text}")));
        }
        Ok(Ok(()))
    }
}

fn content_type(head: &Response<()>) -> &str {
    head.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// What one worker saw.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) errors: u64,
    pub(crate) samples: Vec<String>,
    /// Calls made, warm-up included.
    pub(crate) all: u64,
}

impl Outcome {
    fn error(&mut self, why: String) {
        self.errors += 1;
        if self.samples.len() < 3 {
            self.samples.push(why);
        }
    }
}

/// One session on one connection, calling until `end`; calls started after
/// `measure_from` are recorded. A call that fails at the transport or is
/// not answered in time ends the worker (the connection is in an unknown
/// state), counted as an error.
pub(crate) async fn worker(
    target: Target,
    worker: usize,
    measure_from: Instant,
    end: Instant,
) -> anyhow::Result<Outcome> {
    let (mut conn, driver) = Connection::open(&target).await?;
    conn.initialize()
        .await
        .with_context(|| format!("worker {worker} on {}{}", target.addr, target.path))?;
    let message = message(worker);
    let mut out = Outcome::default();
    let mut id = 1;
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let answered = tokio::time::timeout(CALL_TIMEOUT, conn.call(id, &message)).await;
        let elapsed = started.elapsed();
        id += 1;
        out.all += 1;
        let measured = started >= measure_from;
        match answered {
            Ok(Ok(Ok(()))) => {
                if measured {
                    out.latencies.push(elapsed);
                }
            }
            Ok(Ok(Err(why))) => out.error(why),
            Ok(Err(e)) => {
                out.error(format!("transport: {e:#}"));
                break;
            }
            Err(_) => {
                out.error(format!("not answered within {CALL_TIMEOUT:?}"));
                break;
            }
        }
    }
    drop(conn);
    driver.abort();
    Ok(out)
}
