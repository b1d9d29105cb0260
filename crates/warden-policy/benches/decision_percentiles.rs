//! p50, p99 and p99.9 of one whole decision (`Engine::decide` from the
//! request's JSON text), each call timed on its own, with a breakdown of
//! where the time goes.
//!
//! `cargo bench -p warden-policy --bench decision_percentiles`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    clippy::print_stdout,
    reason = "a benchmark"
)]

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use warden_policy::{DecisionRequest, Engine, SessionHistory};
use warden_types::InstanceId;

const WARM_UP: usize = 10_000;
const ITERATIONS: usize = 100_000;

fn percentiles(label: &str, mut f: impl FnMut()) {
    for _ in 0..WARM_UP {
        f();
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        f();
        samples.push(start.elapsed());
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{label:<34} p50 {:>8.2} µs   p99 {:>8.2} µs   p99.9 {:>8.2} µs   max {:>8.2} µs   mean {:>8.2} µs",
        micros(at(0.50)),
        micros(at(0.99)),
        micros(at(0.999)),
        micros(samples[samples.len() - 1]),
        micros(mean)
    );
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let started = Instant::now();
    let engine = Engine::new(support::snapshot());
    println!(
        "compiled 1,000 agents and 5,000 policies in {:.2} s; {ITERATIONS} timed calls each, after {WARM_UP} warm-up calls",
        started.elapsed().as_secs_f64()
    );
    let instance = InstanceId::new("i-1").unwrap();

    let (agent, allow) = support::body(501, "98.7");
    let (_, deny) = support::body(501, "25000");
    let parsed: support::Body = serde_json::from_str(&allow).unwrap();
    let slice = engine
        .snapshot()
        .slice_size(&agent, &parsed.server, &parsed.tool)
        .unwrap();
    println!(
        "request body: {} bytes; its slice holds {slice} of 5,000 policies",
        allow.len()
    );
    percentiles("decide, allow (whole)", || {
        black_box(support::decide(
            &engine,
            &agent,
            &instance,
            black_box(&allow),
        ));
    });
    percentiles("decide, deny by condition (whole)", || {
        black_box(support::decide(
            &engine,
            &agent,
            &instance,
            black_box(&deny),
        ));
    });

    // Breakdown of the allow path.
    percentiles("  JSON parse of the body only", || {
        black_box(serde_json::from_str::<support::Body>(black_box(&allow)).unwrap());
    });
    let body: support::Body = serde_json::from_str(&allow).unwrap();
    let request = DecisionRequest {
        agent: &agent,
        instance: &instance,
        session: &body.session,
        server: &body.server,
        tool: &body.tool,
        args: &body.args,
        classes: &[],
    };
    percentiles("  Engine::decide, parsed request", || {
        black_box(engine.decide(black_box(&request)));
    });
    let snapshot = engine.snapshot();
    let history = SessionHistory::default();
    percentiles("  Snapshot::evaluate (no budgets)", || {
        black_box(snapshot.evaluate(black_box(&request), &history));
    });
}
