//! Stdio tool servers reached over Streamable HTTP: for a `stdio` server,
//! `/mcp/{server}` starts one server process per MCP session (on
//! `initialize`) and bridges it. A request's answer comes as an SSE stream
//! that ends with the response; what the server sends on its own goes to the
//! session's GET stream, or else to the newest request's stream.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use warden_mcp::{
    Kind, Mediator, Message, Step, codes, error_response, id_key, next_message, timed_out,
};

use super::governor::LocalGovernor;
use super::sse::{Event, response as sse};
use super::{HttpSession, rpc_error, rpc_response, status_only};
use crate::state::Gateway;

type Stream = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// A server process serving one MCP session.
#[derive(Debug)]
pub(crate) struct Hosted {
    to_server: mpsc::Sender<Vec<u8>>,
    /// Streams of requests in flight, in arrival order.
    waiters: Mutex<Vec<Waiter>>,
    get_stream: Mutex<Option<Stream>>,
    kill: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

/// A request in flight and the stream its answer goes on.
#[derive(Debug)]
struct Waiter {
    /// The id's key.
    key: String,
    id: Value,
    stream: Stream,
    /// Its `_meta.progressToken`, as a key: progress notifications about it
    /// go on its own stream, before its response, never racing it on the
    /// session's GET stream.
    progress: Option<String>,
}

impl Hosted {
    /// Takes the waiter of the request whose id key is `key`.
    fn take_waiter(&self, key: &str) -> Option<Waiter> {
        let mut waiters = self.waiters.lock();
        let i = waiters.iter().position(|w| w.key == key)?;
        Some(waiters.remove(i))
    }
}

fn line(v: &Value) -> Vec<u8> {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    b
}

fn event(v: &Value) -> Bytes {
    Bytes::from(Event::message(v).encode())
}

impl Hosted {
    /// Starts the server process for a new session `sid`.
    pub(crate) fn start(
        gw: &Arc<Gateway>,
        server: &str,
        sid: &str,
        command: &[String],
        mediator: Arc<Mediator<LocalGovernor>>,
    ) -> Result<Arc<Hosted>, String> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| format!("tool server `{server}` has an empty command"))?;
        let mut cmd = tokio::process::Command::new(program);
        if !gw.config.base_dir.as_os_str().is_empty() {
            // Relative paths in the command are relative to warden.toml.
            cmd.current_dir(&gw.config.base_dir);
        }
        let mut child = cmd
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start tool server `{server}` (`{program}`): {e}"))?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the server's stdio is not piped".into());
        };
        let (to_server, mut rx) = mpsc::channel::<Vec<u8>>(256);
        let (kill, killed) = tokio::sync::oneshot::channel();
        let hosted = Arc::new(Hosted {
            to_server,
            waiters: Mutex::new(Vec::new()),
            get_stream: Mutex::new(None),
            kill: Mutex::new(Some(kill)),
        });
        tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if stdin.write_all(&bytes).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        let reader = {
            let hosted = Arc::clone(&hosted);
            let max = gw.config.serve.max_body_bytes;
            async move {
                let mut reader = BufReader::new(stdout);
                let mut buf = Vec::new();
                while let Some(next) = next_message(&mut reader, &mut buf, max).await {
                    match next {
                        Ok(msg) => hosted.relay_from_server(&mediator, msg).await,
                        Err(why) => {
                            tracing::warn!(error = %why, "the tool server sent a bad message; dropped");
                        }
                    }
                }
            }
        };
        let watcher = {
            let hosted = Arc::clone(&hosted);
            let gw = Arc::clone(gw);
            let (server, sid) = (server.to_owned(), sid.to_owned());
            async move {
                let status = tokio::select! {
                    () = reader => "closed its output".to_owned(),
                    status = child.wait() => status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                    _ = killed => {
                        let _ = child.kill().await;
                        "stopped: the session ended".to_owned()
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
                let _ = child.kill().await;
                gw.mcp_sessions.remove(&server, &sid);
                let waiters = std::mem::take(&mut *hosted.waiters.lock());
                for Waiter { id, stream, .. } in waiters {
                    let e = error_response(
                        id,
                        codes::UPSTREAM,
                        &format!("the tool server exited ({status}) before answering"),
                        None,
                    );
                    let _ = stream.send(Ok(event(&e))).await;
                }
                *hosted.get_stream.lock() = None;
                tracing::info!(server, session = sid, status, "hosted tool server ended");
            }
        };
        tokio::spawn(watcher);
        Ok(hosted)
    }

    async fn relay_from_server(&self, mediator: &Mediator<LocalGovernor>, msg: Message) {
        match mediator.on_server(msg).await {
            Step::Forward(m) => {
                if m.kind() == Kind::Response {
                    let k = m.id().map(id_key).unwrap_or_default();
                    if let Some(w) = self.take_waiter(&k) {
                        // The stream ends with its response.
                        let _ = w.stream.send(Ok(event(&m.into_value()))).await;
                    }
                    return;
                }
                // Progress about a request in flight goes on that request's
                // stream, ahead of its response.
                let token = (m.method() == Some("notifications/progress"))
                    .then(|| m.params().and_then(|p| p.get("progressToken")).map(id_key))
                    .flatten();
                let own = token.and_then(|t| {
                    self.waiters
                        .lock()
                        .iter()
                        .find(|w| w.progress.as_deref() == Some(t.as_str()))
                        .map(|w| w.stream.clone())
                });
                let bytes = event(&m.into_value());
                if let Some(own) = own
                    && own.send(Ok(bytes.clone())).await.is_ok()
                {
                    return;
                }
                let get = self.get_stream.lock().clone();
                if let Some(get) = get
                    && get.send(Ok(bytes.clone())).await.is_ok()
                {
                    return;
                }
                let newest = self.waiters.lock().last().map(|w| w.stream.clone());
                match newest {
                    Some(s) => {
                        let _ = s.send(Ok(bytes)).await;
                    }
                    None => {
                        tracing::debug!("a server message with no open stream to carry it; dropped")
                    }
                }
            }
            Step::Reply(v) => {
                let _ = self.to_server.send(line(&v)).await;
            }
            Step::Drop => {}
        }
    }

    /// Ends the session: the server process is stopped.
    pub(crate) fn stop(&self) {
        if let Some(kill) = self.kill.lock().take() {
            let _ = kill.send(());
        }
    }
}

/// POST to a hosted server.
pub(crate) async fn post(
    gw: &Gateway,
    session: &HttpSession,
    hosted: &Arc<Hosted>,
    msg: Message,
    sid: Option<&str>,
    headers: &axum::http::HeaderMap,
) -> Response {
    let mediator = Arc::clone(&session.mediator);
    let request_id = (msg.kind() == Kind::Request)
        .then(|| msg.id().cloned())
        .flatten();
    let trace = crate::telemetry::mcp_scope(gw.tracer.as_ref(), &msg, Some(headers));
    let mut m = match crate::telemetry::in_scope(trace.as_ref(), mediator.on_client(msg)).await {
        Step::Forward(m) => m,
        Step::Reply(v) => return with_session(rpc_response(StatusCode::OK, &v), sid),
        Step::Drop => return status_only(StatusCode::ACCEPTED),
    };
    // The tool server's spans join the trace under Warden's.
    if let Some(t) = &trace {
        crate::telemetry::inject(m.params_mut(), &t.context);
    }
    let Some(id) = request_id else {
        return if hosted.to_server.send(line(&m.into_value())).await.is_ok() {
            status_only(StatusCode::ACCEPTED)
        } else {
            rpc_error(
                StatusCode::BAD_GATEWAY,
                Value::Null,
                codes::UPSTREAM,
                "the tool server has exited",
            )
        };
    };
    let (tx, rx) = mpsc::channel(64);
    let progress = m
        .params()
        .and_then(|p| p.get("_meta"))
        .and_then(|meta| meta.get("progressToken"))
        .map(id_key);
    hosted.waiters.lock().push(Waiter {
        key: id_key(&id),
        id: id.clone(),
        stream: tx.clone(),
        progress,
    });
    if hosted.to_server.send(line(&m.into_value())).await.is_err() {
        mediator.abandon(&id);
        hosted.waiters.lock().retain(|w| w.key != id_key(&id));
        return rpc_response(
            StatusCode::OK,
            &error_response(id, codes::UPSTREAM, "the tool server has exited", None),
        );
    }
    // Bounded: no answer in time is an error event, and the stream ends.
    let timeout = Duration::from_secs(gw.config.mcp.call_timeout_secs);
    let hosted = Arc::clone(hosted);
    // Only the waiter entry holds the stream open: it ends with the response.
    // If the answer never comes, the timer takes the entry and ends it.
    drop(tx);
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        let stream = hosted.take_waiter(&id_key(&id)).map(|w| w.stream);
        if let Some(tx) = stream
            && mediator.abandon(&id)
        {
            let e = timed_out(id, timeout);
            let _ = tx.send(Ok(event(&e))).await;
        }
    });
    with_session(sse(rx), sid)
}

/// GET: the session's stream of what the server sends on its own.
pub(crate) fn get(hosted: &Hosted) -> Response {
    let (tx, rx) = mpsc::channel(64);
    *hosted.get_stream.lock() = Some(tx);
    sse(rx)
}

fn with_session(mut r: Response, sid: Option<&str>) -> Response {
    if let Some(v) = sid.and_then(|s| HeaderValue::from_str(s).ok()) {
        r.headers_mut().insert("mcp-session-id", v);
    }
    r
}
