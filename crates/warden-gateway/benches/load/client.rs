//! The load generator: keep-alive HTTP/1.1 connections, one per worker,
//! requests in sequence, each one timed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::bail;
use axum::http::StatusCode;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;

use crate::fixture::request_body;

pub(crate) const WARM_UP: Duration = Duration::from_secs(1);
const ALLOW: &[u8] = br#""decision":"allow""#;

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
    samples: Vec<String>,
    answer_bytes: usize,
    all: u64,
}

/// One keep-alive connection sending requests in sequence until `end`;
/// requests started after `measure_from` are recorded.
async fn worker(
    addr: SocketAddr,
    token: Option<HeaderValue>,
    body: Bytes,
    measure_from: Instant,
    end: Instant,
) -> anyhow::Result<Outcome> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
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
        out.all += 1;
        if started < measure_from {
            continue;
        }
        out.latencies.push(elapsed);
        out.answer_bytes = answer.len();
        if status != StatusCode::OK || !answer.windows(ALLOW.len()).any(|w| w == ALLOW) {
            out.errors += 1;
            if out.samples.len() < 3 {
                out.samples
                    .push(format!("{status}: {}", String::from_utf8_lossy(&answer)));
            }
        }
    }
    drop(sender);
    driver.await??;
    Ok(out)
}

pub(crate) struct Row {
    pub(crate) path: &'static str,
    pub(crate) concurrency: usize,
    pub(crate) throughput: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) p999: Duration,
    pub(crate) max: Duration,
    pub(crate) errors: u64,
    pub(crate) answer_bytes: usize,
    /// Server threads' CPU time per request, over warm-up and measurement.
    pub(crate) server_cpu: Duration,
    /// Cores busy on server and load-generator threads.
    pub(crate) cores: (f64, f64),
}

/// CPU time used so far by this process's threads named `name`
/// (`/proc/self/task/*/schedstat`).
fn thread_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let mut nanos = 0;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            nanos += stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(nanos)
}

pub(crate) fn load(
    client: &tokio::runtime::Runtime,
    path: &'static str,
    addr: SocketAddr,
    concurrency: usize,
    tokens: Option<&[HeaderValue]>,
    secs: u64,
) -> anyhow::Result<Row> {
    let (server_before, load_before, wall) =
        (thread_cpu("server"), thread_cpu("load"), Instant::now());
    let measure_from = Instant::now() + WARM_UP;
    let end = measure_from + Duration::from_secs(secs);
    let outcomes = client.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..concurrency {
            let token = tokens.map(|t| t[w % t.len()].clone());
            tasks.push(tokio::spawn(worker(
                addr,
                token,
                request_body(w)?,
                measure_from,
                end,
            )));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await??);
        }
        anyhow::Ok(outcomes)
    })?;
    let server_cpu = thread_cpu("server").saturating_sub(server_before);
    let load_cpu = thread_cpu("load").saturating_sub(load_before);
    let wall = wall.elapsed();
    let all: u64 = outcomes.iter().map(|o| o.all).sum();
    let mut latencies: Vec<Duration> = outcomes
        .iter()
        .flat_map(|o| o.latencies.iter().copied())
        .collect();
    latencies.sort_unstable();
    if latencies.is_empty() {
        bail!("{path}: no request completed");
    }
    let errors = outcomes.iter().map(|o| o.errors).sum();
    for sample in outcomes.iter().flat_map(|o| &o.samples).take(5) {
        eprintln!("  {path}: unexpected answer {sample}");
    }
    let at = |q: usize| latencies[(latencies.len() * q / 1000).min(latencies.len() - 1)];
    Ok(Row {
        path,
        concurrency,
        throughput: latencies.len() as f64 / secs as f64,
        p50: at(500),
        p99: at(990),
        p999: latencies[(latencies.len() * 999 / 1000).min(latencies.len() - 1)],
        max: latencies[latencies.len() - 1],
        errors,
        answer_bytes: outcomes[0].answer_bytes,
        server_cpu: server_cpu / u32::try_from(all.max(1))?,
        cores: (
            server_cpu.as_secs_f64() / wall.as_secs_f64(),
            load_cpu.as_secs_f64() / wall.as_secs_f64(),
        ),
    })
}
