//! What monitoring costs a decision, and how long an alert takes to reach
//! a webhook.
//!
//! One process, the load harness's generated set (1,000 agents, ~5,000
//! policies, SQLite, `sync` audit) and load generator:
//!
//! 1. **Cost.** Two gateways from the same set: `off` — no alert rules, no
//!    trace export, nobody on the event stream (the Prometheus counters and
//!    the event ring are always kept: they cannot be turned off) — and `on`
//!    — every alert rule kind, the baselines also per instance, a webhook,
//!    OTLP/HTTP trace export to a receiver on loopback, and one consumer
//!    reading `GET /v1/events` throughout. They are loaded in turn, `off`
//!    then `on`, [`ROUNDS_VAR`] times, at concurrency [`CONCURRENCY_VAR`];
//!    the medians are compared: throughput ratio and p50 difference.
//! 2. **Alert latency.** A third gateway with a rule firing on each
//!    agent's first action in a second and a signed webhook to a receiver
//!    on loopback; [`ALERTS_VAR`] decisions, each by another agent, paced
//!    at [`ALERT_RATE_VAR`] per second; the time from sending a decision
//!    to the webhook receiving its alert, p50 and p99.
//!
//! ```text
//! cargo bench -p warden-gateway --bench monitoring
//! WARDEN_MONITOR_ROUNDS=5 WARDEN_LOAD_SECS=10 cargo bench -p warden-gateway --bench monitoring
//! ```

#[path = "load/client.rs"]
mod client;
#[path = "support/common.rs"]
mod common;
#[path = "load/fixture.rs"]
mod fixture;
#[path = "load/servers.rs"]
mod servers;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::body::Bytes;
use parking_lot::Mutex;
use serde_json::Value;
use warden_identity::SigningKey;
use warden_types::Role;

use crate::client::{Row, load};
use crate::common::{env_or, runtime};
use crate::fixture::{AGENTS, request_body, write_fixture};
use crate::servers::{CLIENT_THREADS_VAR, SECS_VAR, SERVER_THREADS_VAR, Servers, issue_tokens};

/// `off`/`on` pairs of runs (default 3).
const ROUNDS_VAR: &str = "WARDEN_MONITOR_ROUNDS";
/// Concurrency of the cost runs (default 16).
const CONCURRENCY_VAR: &str = "WARDEN_LOAD_CONCURRENCY";
/// What `on` turns on: a comma-separated subset of `rules` (the alert
/// rules and the webhook), `sse` (the event-stream consumer) and `otlp`
/// (trace export); default all three. For telling their costs apart.
const PARTS_VAR: &str = "WARDEN_MONITOR_PARTS";
/// Decisions (and alerts) of the latency run (default 2000).
const ALERTS_VAR: &str = "WARDEN_MONITOR_ALERTS";
/// Their pace, per second (default 200).
const ALERT_RATE_VAR: &str = "WARDEN_MONITOR_ALERT_RATE";

/// Every rule kind; the baselines also per instance.
const RULES: &str = r#"
[[alerts.rules]]
name = "denials"
when = "denials"
threshold = 5

[[alerts.rules]]
name = "injection"
when = "injection"
"#;
const KINDS: [&str; 9] = [
    "new_class",
    "new_destination",
    "rate",
    "new_tool",
    "tool_mix",
    "denial_ratio",
    "argument_shape",
    "time_of_day",
    "actions",
];
const PER_INSTANCE: [&str; 5] = [
    "rate",
    "tool_mix",
    "denial_ratio",
    "argument_shape",
    "time_of_day",
];

/// A receiver on loopback answering 200 to every POST on `path`; it counts
/// them and keeps when each body's `alert` (if any) arrived, by the
/// decision id of its last evidence.
#[derive(Default)]
struct Receiver {
    posts: AtomicU64,
    alerts: Mutex<HashMap<String, Instant>>,
}

async fn receiver(path: &'static str) -> anyhow::Result<(Arc<Receiver>, String)> {
    let state = Arc::new(Receiver::default());
    let seen = Arc::clone(&state);
    let app = axum::Router::new().route(
        path,
        axum::routing::post(move |body: Bytes| {
            let seen = Arc::clone(&seen);
            async move {
                let at = Instant::now();
                seen.posts.fetch_add(1, Ordering::Relaxed);
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    let evidence = &v["alert"]["evidence"];
                    let last = evidence.as_array().and_then(|e| e.last());
                    if let Some(id) = last.and_then(|e| e["decision_id"].as_str()) {
                        seen.alerts.lock().insert(id.to_owned(), at);
                    }
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((state, url))
}

/// Writes the generated set into `dir` with `extra` appended to its
/// `warden.toml`, and a webhook secret beside it.
fn fixture(dir: &Path, extra: &str) -> anyhow::Result<PathBuf> {
    let config = write_fixture(dir)?;
    let text = std::fs::read_to_string(&config)?;
    std::fs::write(&config, format!("{text}\n{extra}"))?;
    std::fs::write(dir.join("webhook.secret"), "bench-secret\n")?;
    Ok(config)
}

fn on_config(hook: &str, otlp: &str, parts: &str) -> String {
    let mut text = String::new();
    if parts.contains("otlp") {
        text += &format!("[telemetry]\notlp_endpoint = \"{otlp}\"\n");
    }
    if !parts.contains("rules") {
        return text;
    }
    text += RULES;
    for kind in KINDS {
        // `actions` over a threshold no load reaches: evaluated, never fired.
        let threshold = if kind == "actions" {
            "threshold = 1000000\n"
        } else {
            ""
        };
        text += &format!("\n[[alerts.rules]]\nname = \"{kind}\"\nwhen = \"{kind}\"\n{threshold}");
    }
    for kind in PER_INSTANCE {
        text += &format!(
            "\n[[alerts.rules]]\nname = \"{kind}-instance\"\nwhen = \"{kind}\"\nper = \"instance\"\n"
        );
    }
    text += &format!(
        "\n[[alerts.webhooks]]\nname = \"soc\"\nurl = \"{hook}/hook\"\nsecret_file = \"webhook.secret\"\n"
    );
    text
}

/// An auditor token for `servers`' admin plane.
async fn auditor_token(servers: &Servers) -> anyhow::Result<String> {
    use warden_store::Store as _;
    let token = warden_identity::generate_admin_token();
    servers
        .gw
        .store()
        .add_admin_token(
            "bench-auditor",
            Role::Auditor,
            &warden_identity::token_digest(token.expose()),
            0,
        )
        .await?;
    servers.gw.reload().await?;
    Ok(token.expose().to_owned())
}

/// Reads `GET /v1/events` until the process ends; counts the bytes.
async fn consume_events(
    admin: SocketAddr,
    token: String,
    bytes: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let mut response = reqwest::Client::new()
        .get(format!("http://{admin}/v1/events"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    while let Some(chunk) = response.chunk().await? {
        bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn print_cost(rows: &[(bool, Row)]) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!();
    println!(
        "{:<5} {:>4} {:>8} {:>9} {:>9} {:>9} {:>9} {:>7} {:>14} {:>7} {:>7}",
        "run",
        "conc",
        "req/s",
        "p50",
        "p99",
        "p99.9",
        "max",
        "errors",
        "server CPU",
        "cores",
        "answer"
    );
    for (_, row) in rows {
        println!(
            "{:<5} {:>4} {:>8.0} {:>6.0} µs {:>6.0} µs {:>6.0} µs {:>6.0} µs {:>7} {:>7.1} µs/req {:>3.1}+{:.1} {:>5} B",
            row.path,
            row.concurrency,
            row.throughput,
            us(row.p50),
            us(row.p99),
            us(row.p999),
            us(row.max),
            row.errors,
            us(row.server_cpu),
            row.cores.0,
            row.cores.1,
            row.answer_bytes,
        );
    }
    let of = |on: bool, f: &dyn Fn(&Row) -> f64| {
        median(
            rows.iter()
                .filter(|(o, _)| *o == on)
                .map(|(_, r)| f(r))
                .collect(),
        )
    };
    let (t_off, t_on) = (of(false, &|r| r.throughput), of(true, &|r| r.throughput));
    let (p50_off, p50_on) = (of(false, &|r| us(r.p50)), of(true, &|r| us(r.p50)));
    let (p99_off, p99_on) = (of(false, &|r| us(r.p99)), of(true, &|r| us(r.p99)));
    println!(
        "medians: off {t_off:.0} req/s, p50 {p50_off:.0} µs, p99 {p99_off:.0} µs; on {t_on:.0} req/s, p50 {p50_on:.0} µs, p99 {p99_on:.0} µs"
    );
    let ratio = t_on / t_off;
    let p50 = p50_on - p50_off;
    println!(
        "monitoring on: {:.1} % of the throughput off (target ≥ 95 %: {}), p50 {p50:+.1} µs (target ≤ +5 µs: {})",
        100.0 * ratio,
        if ratio >= 0.95 { "met" } else { "MISSED" },
        if p50 <= 5.0 { "met" } else { "MISSED" },
    );
}

/// The latency run: `count` decisions by different agents at `rate` per
/// second; the time from sending each to its alert's receipt.
fn alert_latency(
    client: &tokio::runtime::Runtime,
    servers: &Servers,
    key: &SigningKey,
    hook: &Receiver,
    count: usize,
    rate: u64,
) -> anyhow::Result<()> {
    let tokens = issue_tokens(&servers.gw, key, AGENTS)?;
    let addr = servers.data_addr;
    let body = request_body(0)?;
    let sent = client.block_on(async {
        let http = reqwest::Client::new();
        let mut sent: HashMap<String, Instant> = HashMap::new();
        let start = Instant::now();
        for i in 0..count {
            let due = start + Duration::from_micros(1_000_000 * i as u64 / rate.max(1));
            tokio::time::sleep_until(due.into()).await;
            let token = tokens[i % tokens.len()].to_str()?.to_owned();
            let at = Instant::now();
            let answer: Value = http
                .post(format!("http://{addr}/v1/decisions"))
                .header("authorization", token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await?
                .json()
                .await?;
            let id = answer["id"].as_str().context("a decision id")?.to_owned();
            sent.insert(id, at);
        }
        // Let the last ones arrive.
        for _ in 0..50 {
            if hook.alerts.lock().len() >= sent.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::Ok(sent)
    })?;
    let received = hook.alerts.lock();
    let mut latencies: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, at)| received.get(id).map(|r| r.saturating_duration_since(*at)))
        .collect();
    latencies.sort_unstable();
    if latencies.is_empty() {
        bail!("no alert reached the webhook");
    }
    let at = |q: usize| latencies[(latencies.len() * q / 1000).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!();
    println!(
        "alert latency, decision sent → webhook received: {} alerts of {} decisions ({rate}/s, each by another agent); p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target ≤ 1 s: {})",
        latencies.len(),
        sent.len(),
        ms(at(500)),
        ms(at(990)),
        ms(latencies[latencies.len() - 1]),
        if at(990) <= Duration::from_secs(1) {
            "met"
        } else {
            "MISSED"
        },
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let secs: u64 = env_or(SECS_VAR, 5)?;
    let rounds: usize = env_or(ROUNDS_VAR, 3)?;
    let concurrency: usize = env_or(CONCURRENCY_VAR, 16)?;
    let alerts: usize = env_or(ALERTS_VAR, 2000)?;
    let alert_rate: u64 = env_or(ALERT_RATE_VAR, 200)?;
    let parts: String = env_or(PARTS_VAR, "rules,sse,otlp".to_owned())?;
    let server_runtime = runtime(env_or(SERVER_THREADS_VAR, 1)?, "server")?;
    let client_runtime = runtime(env_or(CLIENT_THREADS_VAR, 1)?, "load")?;
    let key = Arc::new(SigningKey::generate());

    // The receivers run on the load generator's runtime: their work is not
    // the servers'.
    let (hook, hook_url) = client_runtime.block_on(receiver("/hook"))?;
    let (otlp, otlp_url) = client_runtime.block_on(receiver("/v1/traces"))?;
    let (off_dir, on_dir, alert_dir) = (
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    );
    let started = Instant::now();
    let off = server_runtime.block_on(Servers::start(
        off_dir.path(),
        fixture(off_dir.path(), "")?,
        Arc::clone(&key),
    ))?;
    let on = server_runtime.block_on(Servers::start(
        on_dir.path(),
        fixture(on_dir.path(), &on_config(&hook_url, &otlp_url, &parts))?,
        Arc::clone(&key),
    ))?;
    println!(
        "set-up: two gateways of {} agents, {} policies each in {:.1} s; `on` ({parts}): {} alert rules{}{}{}; \
         {rounds} rounds of off then on, {secs} s each at concurrency {concurrency}; {} cores; load average {}",
        on.gw.engine().snapshot().agents.len(),
        on.gw.engine().snapshot().policies.len(),
        started.elapsed().as_secs_f64(),
        on.gw.config().alerts.rules.len(),
        if parts.contains("rules") {
            ", a webhook"
        } else {
            ""
        },
        if parts.contains("otlp") {
            ", OTLP export"
        } else {
            ""
        },
        if parts.contains("sse") {
            ", one /v1/events consumer"
        } else {
            ""
        },
        std::thread::available_parallelism().map_or(0, usize::from),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    let token = server_runtime.block_on(auditor_token(&on))?;
    let event_bytes = Arc::new(AtomicU64::new(0));
    let consumer = parts.contains("sse").then(|| {
        client_runtime.spawn(consume_events(
            on.admin_addr,
            token,
            Arc::clone(&event_bytes),
        ))
    });
    let off_tokens = issue_tokens(&off.gw, &key, 64)?;
    let on_tokens = issue_tokens(&on.gw, &key, 64)?;
    let mut rows = Vec::new();
    for _ in 0..rounds {
        rows.push((
            false,
            load(
                &client_runtime,
                "off",
                off.data_addr,
                concurrency,
                Some(&off_tokens),
                secs,
            )?,
        ));
        rows.push((
            true,
            load(
                &client_runtime,
                "on",
                on.data_addr,
                concurrency,
                Some(&on_tokens),
                secs,
            )?,
        ));
    }
    print_cost(&rows);
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "while on: the /v1/events consumer read {:.1} MB{}; the OTLP receiver took {} export requests; {} alerts fired",
        event_bytes.load(Ordering::Relaxed) as f64 / 1e6,
        if consumer.as_ref().is_some_and(|c| c.is_finished()) {
            " (and was cut off)"
        } else {
            ""
        },
        otlp.posts.load(Ordering::Relaxed),
        hook.posts.load(Ordering::Relaxed),
    );
    if let Some(consumer) = consumer {
        consumer.abort();
    }
    server_runtime.block_on(off.stop())?;
    server_runtime.block_on(on.stop())?;

    let every = format!(
        "[[alerts.rules]]\nname = \"every-first-action\"\nwhen = \"actions\"\nthreshold = 0\nwindow_secs = 1\nseverity = \"low\"\n\n\
         [[alerts.webhooks]]\nname = \"bench\"\nurl = \"{hook_url}/hook\"\nsecret_file = \"webhook.secret\"\n"
    );
    let alerting = server_runtime.block_on(Servers::start(
        alert_dir.path(),
        fixture(alert_dir.path(), &every)?,
        Arc::clone(&key),
    ))?;
    hook.alerts.lock().clear();
    alert_latency(&client_runtime, &alerting, &key, &hook, alerts, alert_rate)?;
    server_runtime.block_on(alerting.stop())?;
    println!(
        "memory: peak VmHWM {:.0} MiB (three gateways over the run)",
        crate::common::proc_status_mib("VmHWM")?
    );
    if rows.iter().any(|(_, r)| r.errors > 0) {
        bail!("some answers were not `200` with `\"decision\":\"allow\"`");
    }
    Ok(())
}
