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
//!
//! With `WARDEN_LOAD_BASELINE=FILE` (CI's short run, `scripts/bench-ci.sh`)
//! it also compares each Warden row's share of the bare handler, in this
//! run, with the share recorded in FILE and fails when it fell below half.

#[path = "load/client.rs"]
mod client;
#[path = "support/common.rs"]
mod common;
#[path = "load/fixture.rs"]
mod fixture;
#[path = "load/servers.rs"]
mod servers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};
use warden_gateway::Gateway;
use warden_identity::SigningKey;
use warden_policy::DecisionRequest;
use warden_types::{AgentName, DecisionOutcome, InstanceId};

use crate::client::{Row, load};
use crate::common::{env_or, proc_status_mib, runtime};
use crate::fixture::{AGENTS, agent, payee, request_body, write_fixture};
use crate::servers::{
    CLIENT_THREADS_VAR, DURABILITY_VAR, SECS_VAR, SERVER_THREADS_VAR, Servers, issue_tokens,
};

/// Comma-separated concurrency levels (default `16,64`).
const CONCURRENCY_VAR: &str = "WARDEN_LOAD_CONCURRENCY";
/// `bare`, `warden` or `both` (default): which servers are loaded.
const TARGETS_VAR: &str = "WARDEN_LOAD_TARGETS";
/// A JSON file of recorded shares of the bare handler (`{"sync@16": 0.11}`):
/// a run whose share fell below half of one fails.
const BASELINE_VAR: &str = "WARDEN_LOAD_BASELINE";

const TOKENS: usize = 64;
const SESSIONS: usize = 10_000;

/// Times `f` over `n` calls, per call.
fn per_call(n: u32, mut f: impl FnMut(u32) -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for i in 0..n {
        f(i)?;
    }
    Ok(started.elapsed() / n)
}

/// Pieces of a decision timed alone, on this thread.
struct Pieces {
    parse: Duration,
    hot: Duration,
    cold: Duration,
}

/// Times the pieces, and opens [`SESSIONS`] sessions (the `cold` decisions).
fn pieces(gw: &Gateway) -> anyhow::Result<Pieces> {
    let body = request_body(0)?;
    let parse = per_call(20_000, |_| {
        std::hint::black_box(serde_json::from_slice::<Value>(&body)?);
        Ok(())
    })?;
    let full: Value = serde_json::from_slice(&body)?;
    let names: Vec<AgentName> = (0..AGENTS)
        .map(|i| AgentName::new(agent(i)))
        .collect::<Result<_, _>>()?;
    let instance = InstanceId::new("i-pieces")?;
    let decide = |agent: &AgentName, session: &str, args: &Value| {
        let request = DecisionRequest {
            agent,
            instance: &instance,
            session,
            server: "accounting",
            tool: "schedule_payment",
            args,
            classes: &[],
        };
        let decision = gw.engine().decide(&request);
        if decision.outcome != DecisionOutcome::Allow {
            bail!(
                "session `{session}`: {:?} {:?}",
                decision.outcome,
                decision.reasons
            );
        }
        Ok(())
    };
    let hot = per_call(20_000, |_| decide(&names[0], "hot", &full["args"]))?;
    let args = json!({"amount": 98.7, "iban": payee(0)});
    let cold = per_call(u32::try_from(SESSIONS)?, |s| {
        decide(&names[s as usize % AGENTS], &format!("mem-{s}"), &args)
    })?;
    Ok(Pieces { parse, hot, cold })
}

/// One durable write alone on this disk, as the sync audit log pays it: a
/// 1 KB append to a file in `dir` and `fdatasync`, 200 times; the median.
fn fsync_alone(dir: &std::path::Path) -> anyhow::Result<Duration> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("fsync-probe"))?;
    let block = [0x5au8; 1024];
    let mut times = Vec::with_capacity(200);
    for _ in 0..200 {
        let started = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        times.push(started.elapsed());
    }
    times.sort_unstable();
    Ok(times[times.len() / 2])
}

fn print_report(rows: &[Row], pieces: &Pieces, gw: &Gateway) -> anyhow::Result<()> {
    println!();
    println!(
        "{:<20} {:>4} {:>8} {:>9} {:>9} {:>9} {:>9} {:>7} {:>14} {:>7}",
        "path", "conc", "req/s", "p50", "p99", "p99.9", "max", "errors", "server CPU", "cores"
    );
    for row in rows {
        let bare = rows.iter().find(|b| {
            b.path.starts_with("bare")
                && b.concurrency == row.concurrency
                && !row.path.starts_with("bare")
        });
        let ratio = bare.map_or(String::new(), |b| {
            format!(
                "   ({:.0} % of bare)",
                100.0 * row.throughput / b.throughput
            )
        });
        println!(
            "{:<20} {:>4} {:>8.0} {:>6.0} µs {:>6.0} µs {:>6.0} µs {:>6.0} µs {:>7} {:>7.1} µs/req {:>3.1}+{:.1}{ratio}",
            row.path,
            row.concurrency,
            row.throughput,
            row.p50.as_secs_f64() * 1e6,
            row.p99.as_secs_f64() * 1e6,
            row.p999.as_secs_f64() * 1e6,
            row.max.as_secs_f64() * 1e6,
            row.errors,
            row.server_cpu.as_secs_f64() * 1e6,
            row.cores.0,
            row.cores.1,
        );
    }
    println!(
        "server CPU: CPU time of the server threads per request; cores: cores busy on server + load-generator threads"
    );
    for row in rows.iter().filter(|r| r.concurrency == rows[0].concurrency) {
        println!("{}: answers of {} bytes", row.path, row.answer_bytes);
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "alone on one thread: parse the body {:.1} µs; engine.decide {:.1} µs (same session, the 1 KB args), {:.1} µs (each opening a session)",
        us(pieces.parse),
        us(pieces.hot),
        us(pieces.cold)
    );
    let snapshot = gw.engine().snapshot();
    println!(
        "memory: VmRSS {:.0} MiB (peak {:.0} MiB) with {} agents, {} policies, {} live sessions",
        proc_status_mib("VmRSS")?,
        proc_status_mib("VmHWM")?,
        snapshot.agents.len(),
        snapshot.policies.len(),
        gw.engine().live_sessions()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let secs: u64 = env_or(SECS_VAR, 5)?;
    let server_threads: usize = env_or(SERVER_THREADS_VAR, 1)?;
    let client_threads: usize = env_or(CLIENT_THREADS_VAR, 1)?;
    let levels = env_or(CONCURRENCY_VAR, "16,64".to_owned())?;
    let levels: Vec<usize> = levels
        .split(',')
        .map(|c| c.trim().parse())
        .collect::<Result<_, _>>()?;
    let targets: String = env_or(TARGETS_VAR, "both".to_owned())?;
    let server_runtime = runtime(server_threads, "server")?;
    let client_runtime = runtime(client_threads, "load")?;

    let dir = tempfile::tempdir()?;
    let config = write_fixture(dir.path())?;
    let key = Arc::new(SigningKey::generate());
    let started = Instant::now();
    let servers = server_runtime.block_on(Servers::start(dir.path(), config, Arc::clone(&key)))?;
    let snapshot = servers.gw.engine().snapshot();
    println!(
        "set-up: {} agents, {} policies compiled in {:.1} s; servers on a {server_threads}-thread tokio runtime, \
         load generator on a separate {client_threads}-thread runtime, one process, {} cores, loopback HTTP/1.1 keep-alive; \
         load average before the runs: {}",
        snapshot.agents.len(),
        snapshot.policies.len(),
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(0, usize::from),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    let tokens = issue_tokens(&servers.gw, &key, TOKENS)?;
    println!(
        "request body: {} bytes; {} bearer tokens; warm-up {} s, measured {secs} s per run",
        request_body(0)?.len(),
        tokens.len(),
        client::WARM_UP.as_secs()
    );

    let mut rows = Vec::new();
    for &c in &levels {
        if targets != "warden" {
            rows.push(load(
                &client_runtime,
                "bare parse handler",
                servers.bare_addr,
                c,
                None,
                secs,
            )?);
        }
        if targets != "bare" {
            rows.push(load(
                &client_runtime,
                "POST /v1/decisions",
                servers.data_addr,
                c,
                Some(&tokens),
                secs,
            )?);
        }
    }
    let pieces = pieces(&servers.gw)?;
    print_report(&rows, &pieces, &servers.gw)?;
    println!(
        "fsync alone on this disk (1 KB append + fdatasync, median of 200): {:.0} µs",
        fsync_alone(dir.path())?.as_secs_f64() * 1e6
    );
    server_runtime.block_on(servers.stop())?;
    if rows.iter().any(|r| r.errors > 0) {
        bail!("some answers were not `200` with `\"decision\":\"allow\"`");
    }
    if let Ok(file) = std::env::var(BASELINE_VAR) {
        check_baseline(&file, &rows)?;
    }
    Ok(())
}

/// Compares each Warden row's share of the bare handler (same concurrency,
/// this run) with the share recorded in `file` under `<durability>@<c>`;
/// fails when one fell below half of it (wide enough for a noisy machine).
fn check_baseline(file: &str, rows: &[Row]) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read the baseline `{file}`: {e}"))?;
    let recorded: std::collections::BTreeMap<String, f64> =
        serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!("the baseline `{file}` is not a JSON object of shares: {e}")
        })?;
    let durability = std::env::var(DURABILITY_VAR).unwrap_or_else(|_| "sync".into());
    let mut failed = Vec::new();
    let mut checked = 0;
    for row in rows.iter().filter(|r| !r.path.starts_with("bare")) {
        let Some(bare) = rows
            .iter()
            .find(|b| b.path.starts_with("bare") && b.concurrency == row.concurrency)
        else {
            continue;
        };
        let key = format!("{durability}@{}", row.concurrency);
        let Some(&floor) = recorded.get(&key) else {
            bail!("the baseline `{file}` has no share for `{key}`");
        };
        let share = row.throughput / bare.throughput;
        checked += 1;
        let verdict = if share < floor / 2.0 {
            "REGRESSED"
        } else {
            "ok"
        };
        println!(
            "baseline {key}: {:.1} % of bare now, {:.1} % recorded, fails below {:.1} %: {verdict}",
            share * 100.0,
            floor * 100.0,
            floor * 50.0
        );
        if share < floor / 2.0 {
            failed.push(key);
        }
    }
    if checked == 0 {
        bail!("no row to compare with the baseline `{file}` (run both targets)");
    }
    if !failed.is_empty() {
        bail!(
            "throughput regressed beyond 2x against the bare handler: {}",
            failed.join(", ")
        );
    }
    Ok(())
}
