use warden_policy::{AlertAction, Severity};

use super::*;

mod baselines;
mod normal_run;

pub(super) fn rule(name: &str, kind: AlertKind) -> AlertRule {
    AlertRule {
        name: name.into(),
        kind,
        severity: Severity::High,
        action: AlertAction::Notify,
        per: AlertScope::Agent,
        agents: Vec::new(),
        tools: Vec::new(),
        threshold: 3,
        window_secs: 60,
        warm_up: 10,
        sigma: 4,
        recent: 50,
        warm_up_days: 7,
        utc_offset_minutes: 0,
    }
}

pub(super) fn decision(
    index: u64,
    at: i64,
    outcome: &str,
    classes: &[&str],
    hosts: &[&str],
) -> AuditRecord {
    let mut r = AuditRecord::new(index, at, RecordKind::Decision, "decision_api");
    r.decision = Some(outcome.into());
    r.decision_id = Some(format!("d-{index}"));
    r.classes = classes.iter().map(|c| (*c).to_owned()).collect();
    r.destinations = hosts.iter().map(|h| (*h).to_owned()).collect();
    r
}

#[test]
fn more_denials_than_the_threshold_fire_once_per_window_with_evidence() {
    let alerter = Alerter::new(vec![rule("burst", AlertKind::Denials)], vec![]);
    let mut fired = Vec::new();
    for i in 0..10 {
        fired.extend(alerter.on_record("bot", &decision(i, 1_000 + i as i64, "deny", &[], &[])));
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].evidence.len(), 4);
    assert_eq!(fired[0].evidence[3].audit_index, 3);
    assert!(
        fired[0].message.contains("4 denials in 60 s"),
        "{}",
        fired[0].message
    );
    // A window later it may fire again.
    let later = alerter.on_record("bot", &decision(20, 70_000, "deny", &[], &[]));
    assert!(later.is_empty(), "only one denial in the new window");
}

#[test]
fn a_new_class_to_a_new_external_host_after_warm_up() {
    let alerter = Alerter::new(
        vec![
            rule("class", AlertKind::NewClass),
            rule("host", AlertKind::NewDestination),
        ],
        vec!["example.com".into()],
    );
    alerter.seed_classes("bot", ["financial".to_owned()]);
    // Warm-up: its usual work, including new things, fires nothing.
    for i in 0..12 {
        let host = if i % 2 == 0 {
            "partner.example"
        } else {
            "mail.example.com"
        };
        let fired = alerter.on_record(
            "bot",
            &decision(
                i,
                60_000 * i as i64,
                "allow",
                &["financial", "pii.contact"],
                &[host],
            ),
        );
        assert!(fired.is_empty(), "{fired:?}");
    }
    let fired = alerter.on_record(
        "bot",
        &decision(
            50,
            900_000,
            "allow",
            &["health"],
            &["evil.example", "ops.example.com"],
        ),
    );
    let rules: Vec<&str> = fired.iter().map(|a| a.rule.as_str()).collect();
    assert_eq!(rules, ["class", "host"]);
    assert_eq!(fired[0].observed, "health");
    assert_eq!(
        fired[1].observed, "evil.example",
        "an internal host is not a new destination"
    );
    assert_eq!(fired[1].evidence[0].decision_id.as_deref(), Some("d-50"));
}

#[test]
fn a_rate_far_above_the_agents_own_baseline() {
    let alerter = Alerter::new(vec![rule("rate", AlertKind::Rate)], vec![]);
    let mut index = 0;
    // Twenty minutes of 3 to 5 actions a minute.
    for minute in 0..20_i64 {
        for _ in 0..(3 + minute % 3) {
            index += 1;
            let fired = alerter.on_record(
                "bot",
                &decision(index, minute * 60_000 + 10, "allow", &[], &[]),
            );
            assert!(fired.is_empty(), "minute {minute}: {fired:?}");
        }
    }
    let mut fired = Vec::new();
    for _ in 0..60 {
        index += 1;
        fired.extend(
            alerter.on_record("bot", &decision(index, 20 * 60_000 + 10, "allow", &[], &[])),
        );
    }
    assert_eq!(fired.len(), 1);
    assert!(
        fired[0].baseline.contains("per minute over 19 minutes"),
        "{}",
        fired[0].baseline
    );
}

#[test]
fn rules_apply_to_their_agents_only() {
    let mut r = rule("burst", AlertKind::Denials);
    r.agents = vec!["other".into()];
    let alerter = Alerter::new(vec![r], vec![]);
    for i in 0..10 {
        assert!(
            alerter
                .on_record("bot", &decision(i, i as i64, "deny", &[], &[]))
                .is_empty()
        );
    }
}

#[test]
fn a_burst_of_actions_on_a_tool() {
    let mut r = rule("payment-burst", AlertKind::Actions);
    r.threshold = 5;
    r.tools = vec!["accounting/schedule_payment".into()];
    let alerter = Alerter::new(vec![r], vec![]);
    let payment = |i: u64| {
        let mut d = decision(i, 1_000 + i as i64, "allow", &[], &[]);
        d.server = Some("accounting".into());
        d.tool = Some("schedule_payment".into());
        d
    };
    let mut fired = Vec::new();
    for i in 0..5 {
        fired.extend(alerter.on_record("bot", &payment(i)));
        // Other tools do not count.
        fired.extend(alerter.on_record("bot", &decision(100 + i, 1_000, "allow", &[], &[])));
    }
    assert!(fired.is_empty());
    fired.extend(alerter.on_record("bot", &payment(5)));
    assert_eq!(fired.len(), 1);
    assert_eq!(
        fired[0].observed,
        "6 actions on accounting/schedule_payment in 60 s"
    );
    assert_eq!(fired[0].evidence.len(), 6);
}

/// A decision of `instance` of invoice-bot on `server/tool`, with its
/// argument shape.
pub(super) fn call(
    index: u64,
    at: i64,
    instance: &str,
    tool: &str,
    outcome: &str,
    shape: &[&str],
) -> AuditRecord {
    let mut r = decision(index, at, outcome, &[], &[]);
    r.agent = Some(format!("spiffe://example.org/agent/invoice-bot/{instance}"));
    let (server, tool) = tool.split_once('/').unwrap_or(("", tool));
    r.server = Some(server.into());
    r.tool = Some(tool.into());
    r.args_shape = shape.iter().map(|e| (*e).to_owned()).collect();
    r
}
