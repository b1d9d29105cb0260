//! What the alert rules cost per committed record: every rule kind, the
//! baselines also per instance, on the records of 64 agents (two instances
//! each) doing their usual work — the monitoring benchmark's rule set.
//!
//! ```text
//! cargo bench -p warden-monitor --bench alerts
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_audit::{AuditRecord, RecordKind};
use warden_monitor::Alerter;
use warden_policy::{AlertAction, AlertKind, AlertRule, AlertScope, Severity};

fn rule(kind: AlertKind, per: AlertScope) -> AlertRule {
    AlertRule {
        name: format!("{}-{}", kind.as_str(), per.as_str()),
        kind,
        severity: Severity::Medium,
        action: AlertAction::Notify,
        per,
        agents: Vec::new(),
        tools: Vec::new(),
        threshold: match kind {
            AlertKind::Actions => 1_000_000,
            AlertKind::Denials | AlertKind::DenialRatio => 5,
            AlertKind::ToolMix => 10,
            _ => 0,
        },
        window_secs: 60,
        warm_up: 50,
        sigma: 5,
        recent: 50,
        warm_up_days: 7,
        utc_offset_minutes: 0,
    }
}

fn rules() -> Vec<AlertRule> {
    use AlertKind::*;
    let mut rules: Vec<AlertRule> = [
        Actions,
        Denials,
        NewClass,
        NewDestination,
        Injection,
        Rate,
        NewTool,
        ToolMix,
        DenialRatio,
        ArgumentShape,
        TimeOfDay,
    ]
    .into_iter()
    .map(|k| rule(k, AlertScope::Agent))
    .collect();
    for k in [Rate, ToolMix, DenialRatio, ArgumentShape, TimeOfDay] {
        rules.push(rule(k, AlertScope::Instance));
    }
    rules
}

fn record(i: u64) -> (String, AuditRecord) {
    let agent = format!("agent-{:04}", (i % 64) * 15);
    let mut r = AuditRecord::new(
        i,
        1_767_600_000_000 + i as i64 * 2,
        RecordKind::Decision,
        "decision_api",
    );
    r.agent = Some(format!("spiffe://example.org/agent/{agent}/i-{}", i % 2));
    r.decision_id = Some(format!("0190b7e4-7d3a-7c2e-9f00-{i:012}"));
    r.server = Some("accounting".into());
    r.tool = Some(
        if i.is_multiple_of(4) {
            "read_invoice"
        } else {
            "schedule_payment"
        }
        .into(),
    );
    r.decision = Some(if i % 50 == 7 { "deny" } else { "allow" }.into());
    r.classes = vec!["financial.account".into()];
    r.args_shape = [
        "amount:number",
        "currency:string",
        "due_date:string",
        "iban:string",
        "iban:string:financial.account",
        "lines:array",
        "memo:string",
        "reference:string",
    ]
    .map(String::from)
    .to_vec();
    (agent, r)
}

fn alerts(c: &mut Criterion) {
    let alerter = Alerter::new(rules(), vec!["example.com".into()]);
    let records: Vec<(String, AuditRecord)> = (0..100_000).map(record).collect();
    // Warm: every agent past its warm-up, the windows full.
    for (agent, r) in &records[..50_000] {
        black_box(alerter.on_record(agent, r));
    }
    let mut next = 50_000;
    c.bench_function("alerter: 16 rules, one record", |b| {
        b.iter(|| {
            let (agent, r) = &records[next];
            next = if next + 1 == records.len() {
                50_000
            } else {
                next + 1
            };
            black_box(alerter.on_record(agent, r))
        });
    });
    let none = Alerter::new(Vec::new(), Vec::new());
    c.bench_function("alerter: no rules, one record", |b| {
        b.iter(|| black_box(none.on_record("agent-0000", &records[0].1)));
    });
}

criterion_group!(benches, alerts);
criterion_main!(benches);
