//! One whole decision in process, from the request's JSON text to the answer,
//! with 1,000 agents, 5,000 policies and ~1 KB of arguments.
//!
//! `cargo bench -p warden-policy --bench decision -- --warm-up-time 1 --measurement-time 3`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    reason = "a benchmark"
)]

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_policy::{DecisionRequest, Engine, SessionHistory};
use warden_types::{DecisionOutcome, InstanceId};

fn decision(c: &mut Criterion) {
    let engine = Engine::new(support::snapshot());
    let instance = InstanceId::new("i-1").unwrap();

    let (agent, allow) = support::body(501, "98.7");
    assert_eq!(
        support::decide(&engine, &agent, &instance, &allow).outcome,
        DecisionOutcome::Allow
    );
    c.bench_function("decide_allow_1kb", |b| {
        b.iter(|| support::decide(&engine, &agent, &instance, black_box(&allow)))
    });

    let (agent, deny) = support::body(501, "25000");
    let denied = support::decide(&engine, &agent, &instance, &deny);
    assert_eq!(denied.outcome, DecisionOutcome::Deny);
    assert!(
        denied.reasons[0].starts_with("condition `context.args.amount <= 10501` is false"),
        "{:?}",
        denied.reasons
    );
    c.bench_function("decide_deny_condition_1kb", |b| {
        b.iter(|| support::decide(&engine, &agent, &instance, black_box(&deny)))
    });

    // The same allowed request over the whole policy set, as Cedar alone would.
    let snapshot = engine.snapshot();
    let (agent, text) = support::body(501, "98.7");
    let history = SessionHistory::default();
    let mut group = c.benchmark_group("unsliced");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("decide_unsliced_allow_1kb", |b| {
        b.iter(|| {
            let body: support::Body = serde_json::from_str(black_box(&text)).unwrap();
            let request = DecisionRequest {
                agent: &agent,
                instance: &instance,
                session: &body.session,
                server: &body.server,
                tool: &body.tool,
                args: &body.args,
                classes: &[],
            };
            let d = snapshot.evaluate_unsliced(&request, &history);
            assert_eq!(d.outcome, DecisionOutcome::Allow);
            d
        });
    });
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
