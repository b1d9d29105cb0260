//! `warden tail`: follows the running gateway's event stream
//! (`GET /v1/events` on the admin plane) in a terminal, reconnecting with
//! `Last-Event-ID` when the connection drops.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;
use warden_inventory::csv::rfc3339;

use crate::common::Common;

/// `warden tail`.
#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    /// Only this agent (repeat or comma-separate for several).
    #[arg(long)]
    agent: Vec<String>,
    /// Only this tool server.
    #[arg(long)]
    server: Vec<String>,
    /// Only this tool.
    #[arg(long)]
    tool: Vec<String>,
    /// Only denials.
    #[arg(long)]
    deny: bool,
    /// Only these kinds (`decision`, `observation`, `approval`, `auth_failure`, …).
    #[arg(long)]
    kind: Vec<String>,
    /// Start with every event the gateway still holds.
    #[arg(long)]
    from_start: bool,
    /// Print each event's JSON on one line.
    #[arg(long)]
    json: bool,
    /// The admin plane (default: `[serve] admin_listen` of the configuration).
    #[arg(long)]
    admin: Option<String>,
    /// A file holding an admin-plane token (auditor role is enough; default:
    /// `<data-dir>/admin.token`).
    #[arg(long, env = crate::env::ADMIN_TOKEN_FILE)]
    token_file: Option<PathBuf>,
}

pub(crate) async fn run(common: &Common, args: TailArgs) -> anyhow::Result<ExitCode> {
    let config = common.load_config(&common.source())?;
    let base = args
        .admin
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.serve.admin_listen));
    let token_file = args
        .token_file
        .clone()
        .unwrap_or_else(|| common.data_dir.join("admin.token"));
    let token = std::fs::read_to_string(&token_file)
        .with_context(|| format!("cannot read the admin token `{}`", token_file.display()))?;
    let mut query = Vec::new();
    for (name, values) in [
        ("agent", &args.agent),
        ("server", &args.server),
        ("tool", &args.tool),
        ("kind", &args.kind),
    ] {
        if !values.is_empty() {
            query.push((name, values.join(",")));
        }
    }
    if args.deny {
        query.push(("outcome", "deny".to_owned()));
    }
    let client = reqwest::Client::new();
    let mut last: Option<String> = args.from_start.then(|| "0".to_owned());
    let mut failures = 0u32;
    loop {
        let url = url::Url::parse_with_params(
            &format!("{}/v1/events", base.trim_end_matches('/')),
            &query,
        )
        .with_context(|| format!("`{base}` is not a URL"))?;
        let mut request = client.get(url).bearer_auth(token.trim());
        if let Some(id) = &last {
            request = request.header("last-event-id", id);
        }
        let mut response = match request.send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                bail!("{base} answered {status}: {body}");
            }
            Err(e) => {
                failures += 1;
                if failures > 30 {
                    bail!("cannot reach the admin plane at {base}: {e}");
                }
                eprintln!("warden tail: {base} does not answer ({e}); retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        failures = 0;
        let mut buffer = String::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) | Err(_) => break,
            };
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if let Some((id, data)) = parse(&frame) {
                    if !id.is_empty() {
                        last = Some(id);
                    }
                    print_event(&data, args.json);
                }
            }
        }
        eprintln!("warden tail: the stream ended; resuming");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// An SSE frame's id and data.
fn parse(frame: &str) -> Option<(String, Value)> {
    let mut id = String::new();
    let mut data = None;
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = v.to_owned();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = serde_json::from_str(v).ok();
        }
    }
    Some((id, data?))
}

fn print_event(event: &Value, json: bool) {
    if json {
        println!("{event}");
        return;
    }
    let text = |k: &str| event[k].as_str().unwrap_or_default().to_owned();
    let when = event["time_ms"].as_i64().map(rfc3339).unwrap_or_default();
    let who = match (event["agent"].as_str(), event["instance"].as_str()) {
        (Some(a), Some(i)) => format!("{a}/{i}"),
        (Some(a), None) => a.to_owned(),
        _ => "-".to_owned(),
    };
    let what = match (event["server"].as_str(), event["tool"].as_str()) {
        (Some(s), Some(t)) => format!("{s}/{t}"),
        _ => String::new(),
    };
    let outcome = event["outcome"]
        .as_str()
        .unwrap_or(&text("kind"))
        .to_owned();
    let index = event["audit_index"]
        .as_u64()
        .map(|i| format!("#{i}"))
        .unwrap_or_default();
    let why = event["reasons"]
        .as_array()
        .and_then(|r| r.first())
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| event["note"].as_str().map(str::to_owned))
        .unwrap_or_default();
    println!("{when} {outcome:<14} {who:<28} {what:<32} {index:<8} {why}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read() {
        let (id, data) =
            parse("id: a-1\nevent: decision\ndata: {\"kind\":\"decision\"}\n\n").unwrap();
        assert_eq!(id, "a-1");
        assert_eq!(data["kind"], "decision");
        assert!(parse(": keep-alive\n\n").is_none());
    }
}
