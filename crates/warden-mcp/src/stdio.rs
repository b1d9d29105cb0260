//! The stdio transport: `warden mcp wrap` starts the tool server as a child
//! process and sits between the client (its own stdin/stdout) and the
//! server (the child's), one JSON-RPC message per line.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::error::McpError;
use crate::governor::Governor;
use crate::mediator::{Mediator, Step};
use crate::message::{Kind, Message, codes, error_response};

/// How the wrapper runs.
#[derive(Debug, Clone)]
pub struct StdioOptions {
    /// The server's command and arguments.
    pub command: Vec<String>,
    /// The directory the server runs in (default: the current one).
    pub cwd: Option<std::path::PathBuf>,
    /// How long a client request may wait for the server's answer.
    pub call_timeout: Duration,
    /// The largest message accepted from either side, in bytes.
    pub max_message_bytes: usize,
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The client closed its input; the server was stopped.
    ClientClosed,
    /// The server exited (or closed its output) first; pending requests were
    /// answered with errors.
    ServerExited(String),
}

/// Reads one line into `buf`, bounded by `max` bytes: `Ok(None)` at the end
/// of input; an over-long line is skipped to its end and reported as
/// `Some(Err(length seen))`.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<Result<(), usize>>> {
    buf.clear();
    let mut too_long = 0usize;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(if buf.is_empty() && too_long == 0 {
                None
            } else if too_long > 0 {
                Some(Err(too_long))
            } else {
                Some(Ok(()))
            });
        }
        let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if too_long > 0 || buf.len() + used > max + 1 {
            too_long += buf.len() + used;
            buf.clear();
        } else {
            buf.extend_from_slice(&chunk[..used]);
        }
        reader.consume(used);
        if done {
            return Ok(Some(if too_long > 0 { Err(too_long) } else { Ok(()) }));
        }
    }
}

/// The next message of a newline-delimited JSON-RPC stream: `None` at its
/// end (or on a read error); `Some(Err(why))` for a line that is over `max`
/// bytes or not JSON-RPC (the caller reports and skips it). Blank lines are
/// skipped.
pub async fn next_message<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> Option<Result<Message, String>> {
    loop {
        match read_line(reader, buf, max).await {
            Ok(None) | Err(_) => return None,
            Ok(Some(Err(len))) => {
                return Some(Err(format!(
                    "a message of {len} bytes is over the limit of {max}"
                )));
            }
            Ok(Some(Ok(()))) => {
                let line = buf.trim_ascii();
                if line.is_empty() {
                    continue;
                }
                return Some(Message::parse(line).map_err(|e| e.to_string()));
            }
        }
    }
}

fn to_line(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Runs one wrapped session until the client or the server goes away.
pub async fn run_stdio<G, I, O>(
    mediator: Arc<Mediator<G>>,
    options: StdioOptions,
    client_in: I,
    client_out: O,
) -> Result<Ended, McpError>
where
    G: Governor,
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (program, args) = options
        .command
        .split_first()
        .ok_or_else(|| McpError::Spawn("the server command is empty".into()))?;
    let mut command = tokio::process::Command::new(program);
    if let Some(dir) = &options.cwd {
        command.current_dir(dir);
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| McpError::Spawn(format!("cannot start `{program}`: {e}")))?;
    let (Some(child_in), Some(child_out)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(McpError::Spawn("the server's stdio is not piped".into()));
    };

    let (to_client, mut client_rx) = mpsc::channel::<Vec<u8>>(256);
    let (to_server, mut server_rx) = mpsc::channel::<Vec<u8>>(256);

    let client_writer = tokio::spawn(async move {
        let mut out = client_out;
        while let Some(line) = client_rx.recv().await {
            if out.write_all(&line).await.is_err() || out.flush().await.is_err() {
                break;
            }
        }
    });
    let server_writer = tokio::spawn(async move {
        let mut input = child_in;
        while let Some(line) = server_rx.recv().await {
            if input.write_all(&line).await.is_err() || input.flush().await.is_err() {
                break;
            }
        }
        // Dropping the pipe closes the server's stdin: it should exit.
    });

    // Server → client.
    let server_side = {
        let mediator = Arc::clone(&mediator);
        let to_client = to_client.clone();
        let to_server = to_server.clone();
        let max = options.max_message_bytes;
        tokio::spawn(async move {
            let mut reader = BufReader::new(child_out);
            let mut buf = Vec::new();
            while let Some(next) = next_message(&mut reader, &mut buf, max).await {
                let msg = match next {
                    Ok(msg) => msg,
                    Err(why) => {
                        tracing::warn!(error = %why, "the server sent a bad message; dropped");
                        continue;
                    }
                };
                match mediator.on_server(msg).await {
                    Step::Forward(m) => {
                        let _ = to_client.send(to_line(&m.into_value())).await;
                    }
                    Step::Reply(v) => {
                        let _ = to_server.send(to_line(&v)).await;
                    }
                    Step::Drop => {}
                }
            }
        })
    };

    // Client → server.
    let client_side = {
        let mediator = Arc::clone(&mediator);
        let to_client = to_client.clone();
        let to_server = to_server.clone();
        let max = options.max_message_bytes;
        let timeout = options.call_timeout;
        tokio::spawn(async move {
            let mut reader = BufReader::new(client_in);
            let mut buf = Vec::new();
            loop {
                match read_line(&mut reader, &mut buf, max).await {
                    Ok(None) | Err(_) => return,
                    Ok(Some(Err(len))) => {
                        let e = error_response(
                            Value::Null,
                            codes::INVALID_REQUEST,
                            &format!("message of {len} bytes is over the limit of {max}"),
                            None,
                        );
                        let _ = to_client.send(to_line(&e)).await;
                    }
                    Ok(Some(Ok(()))) => {
                        let line = buf.trim_ascii();
                        if line.is_empty() {
                            continue;
                        }
                        let msg = match Message::parse(line) {
                            Ok(msg) => msg,
                            Err(e) => {
                                let v = error_response(Value::Null, e.code(), &e.to_string(), None);
                                let _ = to_client.send(to_line(&v)).await;
                                continue;
                            }
                        };
                        let decided = matches!(
                            msg.method(),
                            Some("tools/call" | "resources/read" | "prompts/get")
                        );
                        let task = handle_client(
                            Arc::clone(&mediator),
                            msg,
                            to_client.clone(),
                            to_server.clone(),
                            timeout,
                        );
                        if decided {
                            // A decision may wait for a human: the rest of the
                            // session goes on meanwhile.
                            tokio::spawn(task);
                        } else {
                            task.await;
                        }
                    }
                }
            }
        })
    };
    drop(to_server);

    let ended = tokio::select! {
        _ = client_side => {
            // The client is gone: close the server's input, give it a moment,
            // then stop it.
            Ended::ClientClosed
        }
        status = child.wait() => {
            let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            Ended::ServerExited(status)
        }
        _ = server_side => Ended::ServerExited("closed its output".into()),
    };
    if let Ended::ServerExited(status) = &ended {
        for id in mediator.abandon_all() {
            let e = error_response(
                id,
                codes::UPSTREAM,
                &format!("the tool server exited ({status}) before answering"),
                None,
            );
            let _ = to_client.send(to_line(&e)).await;
        }
    }
    drop(to_client);
    server_writer.abort();
    if tokio::time::timeout(Duration::from_secs(2), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), client_writer).await;
    Ok(ended)
}

async fn handle_client<G: Governor>(
    mediator: Arc<Mediator<G>>,
    msg: Message,
    to_client: mpsc::Sender<Vec<u8>>,
    to_server: mpsc::Sender<Vec<u8>>,
    timeout: Duration,
) {
    let request_id = (msg.kind() == Kind::Request)
        .then(|| msg.id().cloned())
        .flatten();
    match mediator.on_client(msg).await {
        Step::Forward(m) => {
            if to_server.send(to_line(&m.into_value())).await.is_err() {
                return;
            }
            if let Some(id) = request_id {
                tokio::spawn(async move {
                    tokio::time::sleep(timeout).await;
                    if mediator.abandon(&id) {
                        let e = crate::message::timed_out(id, timeout);
                        let _ = to_client.send(to_line(&e)).await;
                    }
                });
            }
        }
        Step::Reply(v) => {
            let _ = to_client.send(to_line(&v)).await;
        }
        Step::Drop => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded() -> std::io::Result<()> {
        let input = b"short\nthis line is far too long\nok\n";
        let mut reader = BufReader::with_capacity(4, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut reader, &mut buf, 10).await?, Some(Ok(())));
        assert_eq!(buf, b"short\n");
        assert!(matches!(
            read_line(&mut reader, &mut buf, 10).await?,
            Some(Err(_))
        ));
        assert_eq!(read_line(&mut reader, &mut buf, 10).await?, Some(Ok(())));
        assert_eq!(buf, b"ok\n");
        assert_eq!(read_line(&mut reader, &mut buf, 10).await?, None);
        Ok(())
    }
}
