//! Load harness for `POST /v1/decisions` over loopback.
//!
//! One process: a [`Gateway`] compiled from a generated configuration (1,000
//! agents, about 5,000 policies, SQLite store in a temp dir), a bare axum
//! handler that only parses the same JSON body ("the machine's limit for this
//! path"), and a load generator of keep-alive HTTP/1.1 connections (hyper's
//! client connection API, one connection per worker, requests in sequence).
//! The servers and the load generator run on two separate tokio runtimes,
//! sized by [`SERVER_THREADS_VAR`] and [`CLIENT_THREADS_VAR`]. Afterwards it
//! opens 10,000 sessions through the engine and prints the resident size.
//!
//! ```text
//! cargo bench -p warden-gateway --bench load
//! WARDEN_LOAD_SECS=10 WARDEN_LOAD_SERVER_THREADS=2 cargo bench -p warden-gateway --bench load
//! ```

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use axum::Json;
use axum::http::StatusCode;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use warden_gateway::{ConfigSource, Gateway, Listeners, run};
use warden_identity::{IssueRequest, SigningKey};
use warden_policy::DecisionRequest;
use warden_store::{AnyStore, StoreLocation};
use warden_types::{AgentName, DecisionOutcome, InstanceId, SpiffeId};

/// Seconds measured per run, after one second of warm-up (default 5).
const SECS_VAR: &str = "WARDEN_LOAD_SECS";
/// Worker threads of the servers' runtime (default 1).
const SERVER_THREADS_VAR: &str = "WARDEN_LOAD_SERVER_THREADS";
/// Worker threads of the load generator's runtime (default 1).
const CLIENT_THREADS_VAR: &str = "WARDEN_LOAD_CLIENT_THREADS";
/// Comma-separated concurrency levels (default `16,64`).
const CONCURRENCY_VAR: &str = "WARDEN_LOAD_CONCURRENCY";
/// `bare`, `warden` or `both` (default): which servers are loaded.
const TARGETS_VAR: &str = "WARDEN_LOAD_TARGETS";

const AGENTS: usize = 1000;
const GROUPS: usize = 20;
const PAYEES: usize = 200;
const TOKENS: usize = 64;
const SESSIONS: usize = 10_000;
const BODY_BYTES: usize = 1024;
const WARM_UP: Duration = Duration::from_secs(1);
const ALLOW: &[u8] = br#""decision":"allow""#;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("`{v}` is not a valid {name}")),
        Err(_) => Ok(default),
    }
}

fn agent(i: usize) -> String {
    format!("agent-{i:04}")
}

fn payee(i: usize) -> String {
    format!("DE{:020}", 89_370_400_440_532_013_000_u128 + i as u128)
}

/// Writes `warden.toml`, `agents/*.yaml` and `policies/*.cedar`.
fn write_fixture(dir: &Path) -> anyhow::Result<PathBuf> {
    let payees: Vec<String> = (0..PAYEES).map(|i| format!("\"{}\"", payee(i))).collect();
    let config = format!(
        r#"trust_domain = "example.org"

[lists]
payees = [{payees}]

[servers.accounting]
transport = "api"
destination = "internal"
cleared = ["financial", "pii"]

[servers.accounting.tools.schedule_payment]
operation = "write"
input_schema = {{ type = "object", required = ["amount", "iban"], properties = {{ amount = {{ type = "number" }}, iban = {{ type = "string" }}, reference = {{ type = "string" }} }} }}

[servers.accounting.tools.read_invoice]
operation = "read"
input_schema = {{ type = "object", required = ["invoice_id"], properties = {{ invoice_id = {{ type = "string" }} }} }}

[servers.mail]
transport = "api"
destination = "internal"
cleared = ["pii.contact"]

[servers.mail.tools.send]
operation = "send"
input_schema = {{ type = "object", required = ["to", "subject", "body"], properties = {{ to = {{ type = "string" }}, subject = {{ type = "string" }}, body = {{ type = "string" }} }} }}

[servers.crm]
transport = "api"
destination = "internal"
cleared = ["pii"]
"#,
        payees = payees.join(", ")
    );
    let path = dir.join("warden.toml");
    std::fs::write(&path, config)?;
    std::fs::create_dir_all(dir.join("agents"))?;
    std::fs::create_dir_all(dir.join("policies"))?;
    for i in 0..AGENTS {
        let (name, group) = (agent(i), i % GROUPS);
        let manifest = format!(
            r#"name: {name}
owner: team-{group:02}@example.com
purpose: load-test agent {i}
risk: {{ eu_ai_act: minimal, dora_critical: false }}
groups: [team-{group:02}, finance]
tools:
  accounting:
    read_invoice: read
    schedule_payment:
      operation: write
      when: "context.args.amount <= 10000 && lists.payees.contains(context.args.iban)"
      approval: "context.args.amount > 5000"
  mail:
    send: {{ operation: send, when: "context.args.to like \"*@example.com\"" }}
budgets: {{ per_session: 1000000000, per_hour: 1000000000 }}
"#
        );
        std::fs::write(dir.join("agents").join(format!("{name}.yaml")), manifest)?;
    }
    // One org-wide rule per agent, ten files of a hundred.
    for file in 0..AGENTS / 100 {
        let mut text = String::new();
        for i in file * 100..(file + 1) * 100 {
            let name = agent(i);
            if i % 2 == 0 {
                writeln!(
                    text,
                    "@id(\"org/cap/{name}\")\n@reason(\"{name} never pays more than 20000\")\n\
                     forbid(principal == Warden::Agent::\"{name}\", action == Warden::Action::\"write\", \
                     resource == Warden::Tool::\"accounting/schedule_payment\")\nwhen {{ context.args.amount > 20000 }};\n"
                )?;
            } else {
                writeln!(
                    text,
                    "@id(\"org/no-secrets/{name}\")\n@reason(\"{name} never mails credentials\")\n\
                     forbid(principal == Warden::Agent::\"{name}\", action == Warden::Action::\"send\", \
                     resource == Warden::Tool::\"mail/send\")\nwhen {{ context.args.subject like \"*password*\" }};\n"
                )?;
            }
        }
        std::fs::write(dir.join("policies").join(format!("agents-{file:02}.cedar")), text)?;
    }
    let mut text = String::new();
    for g in 0..GROUPS {
        writeln!(
            text,
            "@id(\"org/team-{g:02}/no-competitors\")\n@reason(\"no mail to competitors\")\n\
             forbid(principal in Warden::Group::\"team-{g:02}\", action == Warden::Action::\"send\", \
             resource == Warden::Tool::\"mail/send\")\nwhen {{ context.args.to like \"*@competitor.example\" }};\n"
        )?;
    }
    text.push_str(
        r#"@id("org/no-external-send")
@reason("sending to external destinations is not allowed")
forbid(principal, action == Warden::Action::"send", resource)
when { resource.destination == "external" };

@id("org/no-accounting-deletes")
@reason("accounting records are never deleted by agents")
forbid(principal, action == Warden::Action::"delete", resource in Warden::Server::"accounting");

@id("org/finance-large-payments-approval")
@approval("required")
@reason("payments of 9000 or more need a second pair of eyes")
permit(principal in Warden::Group::"finance", action == Warden::Action::"write", resource == Warden::Tool::"accounting/schedule_payment")
when { context.args.amount >= 9000 && context.args.amount <= 10000 && lists.payees.contains(context.args.iban) };
"#,
    );
    std::fs::write(dir.join("policies").join("org.cedar"), text)?;
    Ok(path)
}

/// A ~1 KB decision request for `worker`: the two arguments the policies read
/// and filler the gateway parses but no policy reads.
fn request_body(worker: usize) -> anyhow::Result<Bytes> {
    let lines: Vec<Value> = (0..6)
        .map(|l| json!({"sku": format!("SKU-{worker:04}-{l}"), "description": "office supplies, quarterly", "quantity": l + 1, "unit_price": 4.95}))
        .collect();
    let mut args = json!({
        "amount": 98.7,
        "iban": payee(worker % PAYEES),
        "reference": format!("INV-2025-{worker:06}"),
        "currency": "EUR",
        "due_date": "2025-07-31",
        "lines": lines,
        "memo": "",
    });
    let mut body = json!({"server": "accounting", "tool": "schedule_payment", "args": args, "session": format!("s-{worker}")});
    let len = serde_json::to_vec(&body)?.len();
    let filler = "Payment for the supplies listed above; see the attached purchase order. ";
    args["memo"] = Value::String(filler.repeat(BODY_BYTES / filler.len() + 1).chars().take(BODY_BYTES.saturating_sub(len)).collect());
    body["args"] = args;
    Ok(Bytes::from(serde_json::to_vec(&body)?))
}

/// The bare baseline: parse the body, answer a small JSON.
async fn bare(body: Bytes) -> Result<Json<Value>, StatusCode> {
    let value: Value = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let fields = value.as_object().map_or(0, serde_json::Map::len);
    Ok(Json(json!({"id": "bare", "decision": "allow", "fields": fields})))
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
    samples: Vec<String>,
    answer_bytes: usize,
}

/// One keep-alive connection sending requests in sequence until `end`;
/// requests started after `measure_from` are recorded.
async fn worker(addr: SocketAddr, token: Option<HeaderValue>, body: Bytes, measure_from: Instant, end: Instant) -> anyhow::Result<Outcome> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let mut out = Outcome::default();
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let mut request = hyper::Request::post("/v1/decisions")
            .header(HOST, "127.0.0.1")
            .header(CONTENT_TYPE, "application/json");
        if let Some(token) = &token {
            request = request.header(AUTHORIZATION, token.clone());
        }
        let request = request.body(Full::new(body.clone()))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let answer = response.into_body().collect().await?.to_bytes();
        let elapsed = started.elapsed();
        if started < measure_from {
            continue;
        }
        out.latencies.push(elapsed);
        out.answer_bytes = answer.len();
        if status != StatusCode::OK || !answer.windows(ALLOW.len()).any(|w| w == ALLOW) {
            out.errors += 1;
            if out.samples.len() < 3 {
                out.samples.push(format!("{status}: {}", String::from_utf8_lossy(&answer)));
            }
        }
    }
    drop(sender);
    driver.await??;
    Ok(out)
}

struct Row {
    path: &'static str,
    concurrency: usize,
    throughput: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
    answer_bytes: usize,
}

fn load(client: &tokio::runtime::Runtime, path: &'static str, addr: SocketAddr, concurrency: usize, tokens: Option<&[HeaderValue]>, secs: u64) -> anyhow::Result<Row> {
    let measure_from = Instant::now() + WARM_UP;
    let end = measure_from + Duration::from_secs(secs);
    let outcomes = client.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..concurrency {
            let token = tokens.map(|t| t[w % t.len()].clone());
            tasks.push(tokio::spawn(worker(addr, token, request_body(w)?, measure_from, end)));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await??);
        }
        anyhow::Ok(outcomes)
    })?;
    let mut latencies: Vec<Duration> = outcomes.iter().flat_map(|o| o.latencies.iter().copied()).collect();
    latencies.sort_unstable();
    if latencies.is_empty() {
        bail!("{path}: no request completed");
    }
    let errors = outcomes.iter().map(|o| o.errors).sum();
    for sample in outcomes.iter().flat_map(|o| &o.samples).take(5) {
        eprintln!("  {path}: unexpected answer {sample}");
    }
    let at = |q: usize| latencies[(latencies.len() * q / 1000).min(latencies.len() - 1)];
    Ok(Row { path, concurrency, throughput: latencies.len() as f64 / secs as f64, p50: at(500), p99: at(990), errors, answer_bytes: outcomes[0].answer_bytes })
}

/// A line of `/proc/self/status` (`VmRSS`, `VmHWM`), in MiB.
fn proc_status_mib(field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with(field)).with_context(|| format!("no {field} in /proc/self/status"))?;
    let kib: f64 = line.trim_start_matches(field).trim_start_matches(':').trim().trim_end_matches("kB").trim().parse()?;
    Ok(kib / 1024.0)
}

fn runtime(threads: usize, name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(threads).thread_name(name).enable_all().build()?)
}

fn main() -> anyhow::Result<()> {
    let secs: u64 = env_or(SECS_VAR, 5)?;
    let server_threads: usize = env_or(SERVER_THREADS_VAR, 1)?;
    let client_threads: usize = env_or(CLIENT_THREADS_VAR, 1)?;
    let levels: Vec<usize> = env_or(CONCURRENCY_VAR, "16,64".to_owned())?.split(',').map(|c| c.trim().parse()).collect::<Result<_, _>>()?;
    let targets: String = env_or(TARGETS_VAR, "both".to_owned())?;
    let servers = runtime(server_threads, "server")?;
    let client = runtime(client_threads, "load")?;

    // Set-up: fixture, store, key, gateway, both listeners.
    let dir = tempfile::tempdir()?;
    let config = write_fixture(dir.path())?;
    let key = Arc::new(SigningKey::generate());
    let started = Instant::now();
    let (gw, data_addr, bare_addr, stop, warden_task, bare_task) = servers.block_on(async {
        let store = AnyStore::open(&StoreLocation::parse(None, &dir.path().join("data"))?).await?;
        let gw = Gateway::start(ConfigSource::File(config), store, Arc::clone(&key)).await?;
        let listeners = Listeners::bind("127.0.0.1:0", "127.0.0.1:0").await?;
        let data_addr = listeners.data_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let warden_task = tokio::spawn(run(Arc::clone(&gw), listeners, async move {
            let _ = stopped.await;
        }));
        let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let bare_addr = bare_listener.local_addr()?;
        let (bare_stop, bare_stopped) = tokio::sync::oneshot::channel::<()>();
        let router = axum::Router::new().route("/v1/decisions", axum::routing::post(bare));
        let bare_task = tokio::spawn(async move {
            axum::serve(bare_listener, router)
                .with_graceful_shutdown(async move {
                    let _ = bare_stopped.await;
                })
                .await
        });
        anyhow::Ok((gw, data_addr, bare_addr, (stop, bare_stop), warden_task, bare_task))
    })?;
    let snapshot = gw.engine().snapshot();
    println!(
        "set-up: {} agents, {} policies compiled in {:.1} s; servers on a {server_threads}-thread tokio runtime, \
         load generator on a separate {client_threads}-thread runtime, one process, {} cores, loopback HTTP/1.1 keep-alive",
        snapshot.agents.len(),
        snapshot.policies.len(),
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(0, usize::from),
    );

    // JWT-SVIDs for TOKENS agents, spread over the set.
    let trust_domain = gw.config().trust_domain.clone();
    let mut tokens = Vec::new();
    for k in 0..TOKENS {
        let spiffe_id = SpiffeId::new(trust_domain.clone(), AgentName::new(agent(k * (AGENTS / TOKENS)))?, InstanceId::new(format!("i-{k}"))?);
        let issued = key.issue(&IssueRequest { spiffe_id, audience: vec!["warden".to_owned()], ttl: Duration::from_secs(3600), now: SystemTime::now() })?;
        tokens.push(HeaderValue::from_str(&format!("Bearer {}", issued.token.expose()))?);
    }
    println!("request body: {} bytes; {} bearer tokens; warm-up {} s, measured {secs} s per run", request_body(0)?.len(), tokens.len(), WARM_UP.as_secs());

    let mut rows = Vec::new();
    for &c in &levels {
        if targets != "warden" {
            rows.push(load(&client, "bare parse handler", bare_addr, c, None, secs)?);
        }
        if targets != "bare" {
            rows.push(load(&client, "POST /v1/decisions", data_addr, c, Some(&tokens), secs)?);
        }
    }

    // Memory: 10,000 live sessions through the engine.
    let args = json!({"amount": 98.7, "iban": payee(0)});
    let instance = InstanceId::new("i-mem")?;
    let names: Vec<AgentName> = (0..AGENTS).map(|i| AgentName::new(agent(i))).collect::<Result<_, _>>()?;
    let started = Instant::now();
    for s in 0..SESSIONS {
        let session = format!("mem-{s}");
        let request = DecisionRequest { agent: &names[s % AGENTS], instance: &instance, session: &session, server: "accounting", tool: "schedule_payment", args: &args };
        let decision = gw.engine().decide(&request);
        if decision.outcome != DecisionOutcome::Allow {
            bail!("session {s}: {:?} {:?}", decision.outcome, decision.reasons);
        }
    }
    let per_decision = started.elapsed() / u32::try_from(SESSIONS)?;
    let rss = proc_status_mib("VmRSS")?;
    let hwm = proc_status_mib("VmHWM")?;
    let live = gw.engine().live_sessions();

    let (stop, bare_stop) = stop;
    let _ = stop.send(());
    let _ = bare_stop.send(());
    servers.block_on(async {
        warden_task.await??;
        bare_task.await??;
        anyhow::Ok(())
    })?;

    println!();
    println!("{:<26} {:>5} {:>9} {:>9} {:>9} {:>7}", "path", "conc", "req/s", "p50", "p99", "errors");
    for row in &rows {
        let bare = rows.iter().find(|b| b.path.starts_with("bare") && b.concurrency == row.concurrency && !row.path.starts_with("bare"));
        let ratio = bare.map_or(String::new(), |b| format!("   ({:.0} % of bare)", 100.0 * row.throughput / b.throughput));
        println!(
            "{:<26} {:>5} {:>9.0} {:>6.0} µs {:>6.0} µs {:>7}{ratio}",
            row.path,
            row.concurrency,
            row.throughput,
            row.p50.as_secs_f64() * 1e6,
            row.p99.as_secs_f64() * 1e6,
            row.errors
        );
    }
    for row in rows.iter().filter(|r| r.concurrency == levels[0]) {
        println!("{}: answers of {} bytes", row.path, row.answer_bytes);
    }
    println!("engine.decide alone: {:.1} µs per decision (single thread, each opening a session)", per_decision.as_secs_f64() * 1e6);
    println!(
        "memory: VmRSS {rss:.0} MiB (peak {hwm:.0} MiB) with {} agents, {} policies, {live} live sessions",
        snapshot.agents.len(),
        snapshot.policies.len()
    );
    if rows.iter().any(|r| r.errors > 0) {
        bail!("some answers were not `200` with `\"decision\":\"allow\"`");
    }
    Ok(())
}
