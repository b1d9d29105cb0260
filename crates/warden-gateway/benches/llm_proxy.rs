//! The LLM proxy against a fast fake provider, in one run: the latency it
//! adds to a non-streamed Chat Completions request (p50, p99), the time it
//! adds to a stream's first chunk, and throughput as a share of direct.
//! Warden runs as `warden serve` would (the examples' configuration, SQLite,
//! the audit log at `sync` unless `WARDEN_LLM_DURABILITY=batched`), with
//! classification, provenance and the audit record on the path.
//!
//! `cargo bench -p warden-gateway --bench llm_proxy`
//! (`WARDEN_LLM_REQUESTS`, default 2000; `WARDEN_LLM_SECS`, default 5;
//! `WARDEN_LLM_CONCURRENCY`, default 8)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs,
    reason = "a benchmark"
)]

#[path = "support/common.rs"]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use warden_gateway::{Listeners, run};
use warden_identity::{IssueRequest, SigningKey};
use warden_types::{AgentName, InstanceId, SpiffeId};

const ANSWER: &str = "The printer in room 4 is jammed; a technician is on the way.";

/// A fast provider: a fixed completion, or eight chunks at once.
async fn fake(body: Bytes) -> axum::response::Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let usage = json!({"prompt_tokens": 25, "completion_tokens": 10, "total_tokens": 35});
    if request["stream"] == true {
        let mut out = String::new();
        for word in ANSWER.split(' ').take(8) {
            let chunk = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": {"content": format!("{word} ")}, "finish_reason": null}]});
            out.push_str(&format!("data: {chunk}\n\n"));
        }
        let last = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini", "choices": [], "usage": usage});
        out.push_str(&format!("data: {last}\n\ndata: [DONE]\n\n"));
        return ([("content-type", "text/event-stream")], Body::from(out)).into_response();
    }
    axum::Json(json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": usage}))
    .into_response()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn body(i: u64, stream: bool) -> String {
    json!({"model": "gpt-4o-mini", "stream": stream,
        "messages": [{"role": "user", "content": format!("Summarise ticket {i}: the printer is jammed and shows error E-13")}]})
    .to_string()
}

struct Target {
    url: String,
    auth: String,
}

async fn one(client: &reqwest::Client, t: &Target, i: u64, stream: bool) -> (Duration, Duration) {
    let start = Instant::now();
    let mut r = client
        .post(&t.url)
        .header("authorization", &t.auth)
        .header("content-type", "application/json")
        .header("x-warden-session", format!("bench-{}", i % 100))
        .body(body(i, stream))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let first = r.chunk().await.unwrap();
    let ttfb = start.elapsed();
    assert!(first.is_some());
    while r.chunk().await.unwrap().is_some() {}
    (ttfb, start.elapsed())
}

fn main() -> anyhow::Result<()> {
    let requests: u64 = common::env_or("WARDEN_LLM_REQUESTS", 2000)?;
    let secs: u64 = common::env_or("WARDEN_LLM_SECS", 5)?;
    let concurrency: u64 = common::env_or("WARDEN_LLM_CONCURRENCY", 8)?;
    let durability = std::env::var("WARDEN_LLM_DURABILITY").unwrap_or_else(|_| "sync".into());
    let rt = common::runtime(2, "llm-bench")?;
    rt.block_on(async move {
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let upstream_addr = upstream.local_addr()?;
        tokio::spawn(async move {
            let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(fake));
            axum::serve(upstream, app).await
        });
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("config");
        warden_test::copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples"),
            &config,
        );
        let toml = std::fs::read_to_string(config.join("warden.toml"))?
            .replace(
                "base_url = \"http://127.0.0.1:9200\"",
                &format!("base_url = \"http://{upstream_addr}\""),
            )
            .replace(
                "api_key_env = \"OPENAI_API_KEY\"",
                "api_key_file = \"openai.key\"",
            );
        std::fs::write(config.join("warden.toml"), toml)?;
        std::fs::write(config.join("openai.key"), "sk-bench")?;
        let manifest = std::fs::read_to_string(config.join("agents/support-bot.yaml"))?.replace(
            "per_session: 50, per_hour: 2000, tokens_per_session: 50000",
            "per_session: 1000000, per_hour: 100000000",
        );
        std::fs::write(config.join("agents/support-bot.yaml"), manifest)?;
        let key = Arc::new(SigningKey::generate());
        let gateway = common::start_gateway(
            dir.path(),
            config.join("warden.toml"),
            Arc::clone(&key),
            "WARDEN_LLM_DURABILITY",
        )
        .await?;
        let audience = gateway.config().serve.audience.clone();
        let trust_domain = gateway.config().trust_domain.clone();
        let listeners = Listeners::bind("127.0.0.1:0", "127.0.0.1:0").await?;
        let data = listeners.data_addr()?;
        tokio::spawn(run(gateway, listeners, std::future::pending::<()>()));
        let token = key.issue(&IssueRequest {
            spiffe_id: SpiffeId::new(
                trust_domain,
                AgentName::new("support-bot".to_owned())?,
                InstanceId::new("bench".to_owned())?,
            ),
            audience: vec![audience],
            ttl: Duration::from_secs(3600),
            now: SystemTime::now(),
        })?;
        let direct = Target {
            url: format!("http://{upstream_addr}/v1/chat/completions"),
            auth: "Bearer sk-bench".into(),
        };
        let warden = Target {
            url: format!("http://{data}/llm/openai/v1/chat/completions"),
            auth: format!("Bearer {}", token.token.expose()),
        };
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?;
        for i in 0..200 {
            one(&client, &direct, i, false).await;
            one(&client, &warden, i, false).await;
        }
        // Latency at concurrency 1, alternating blocks of ten.
        let (mut d, mut w, mut ds, mut ws) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut i = 1000;
        while (d.len() as u64) < requests {
            for _ in 0..10 {
                d.push(one(&client, &direct, i, false).await.1);
                w.push(one(&client, &warden, i, false).await.1);
                ds.push(one(&client, &direct, i, true).await.0);
                ws.push(one(&client, &warden, i, true).await.0);
                i += 1;
            }
        }
        for v in [&mut d, &mut w, &mut ds, &mut ws] {
            v.sort();
        }
        let us = |x: Duration| x.as_secs_f64() * 1e6;
        println!("| measure | direct | through Warden | added |\n| --- | --- | --- | --- |");
        for (name, p) in [
            ("non-streamed p50", 0.5),
            ("non-streamed p99", 0.99),
            ("non-streamed p99.9", 0.999),
            ("non-streamed max", 1.0),
        ] {
            let (x, y) = (percentile(&d, p), percentile(&w, p));
            println!(
                "| {name} | {:.0} µs | {:.0} µs | {:.0} µs |",
                us(x),
                us(y),
                us(y) - us(x)
            );
        }
        for (name, p) in [
            ("first chunk of a stream, p50", 0.5),
            ("first chunk of a stream, p99", 0.99),
            ("first chunk of a stream, p99.9", 0.999),
            ("first chunk of a stream, max", 1.0),
        ] {
            let (x, y) = (percentile(&ds, p), percentile(&ws, p));
            println!(
                "| {name} | {:.0} µs | {:.0} µs | {:.0} µs |",
                us(x),
                us(y),
                us(y) - us(x)
            );
        }
        // Throughput at `concurrency`, non-streamed.
        let mut rates = Vec::new();
        for target in [&direct, &warden] {
            let done = Arc::new(AtomicU64::new(0));
            let until = Instant::now() + Duration::from_secs(secs);
            let mut tasks = Vec::new();
            for worker in 0..concurrency {
                let (client, done) = (client.clone(), Arc::clone(&done));
                let t = Target {
                    url: target.url.clone(),
                    auth: target.auth.clone(),
                };
                tasks.push(tokio::spawn(async move {
                    let mut i = 100_000 * (worker + 1);
                    while Instant::now() < until {
                        one(&client, &t, i, false).await;
                        done.fetch_add(1, Ordering::Relaxed);
                        i += 1;
                    }
                }));
            }
            for t in tasks {
                t.await?;
            }
            rates.push(done.load(Ordering::Relaxed) as f64 / secs as f64);
        }
        println!(
            "| requests/s at concurrency {concurrency} | {:.0} | {:.0} ({:.0} %) | |",
            rates[0],
            rates[1],
            rates[1] / rates[0] * 100.0
        );
        println!(
            "(audit durability: {durability}; {requests} requests of each kind, alternating; peak resident size {:.0} MiB, Warden, the fake provider and the client together)",
            common::proc_status_mib("VmHWM")?
        );
        Ok(())
    })
}
