use warden_policy::Severity;

use super::*;

fn rule(name: &str, kind: AlertKind) -> AlertRule {
    AlertRule {
        name: name.into(),
        kind,
        severity: Severity::High,
        action: AlertAction::Notify,
        agents: Vec::new(),
        tools: Vec::new(),
        threshold: 3,
        window_secs: 60,
        warm_up: 10,
        sigma: 4,
    }
}

fn decision(index: u64, at: i64, outcome: &str, classes: &[&str], hosts: &[&str]) -> AuditRecord {
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

/// A deterministic stream of pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Poisson-distributed with mean `lambda` (Knuth).
    fn poisson(&mut self, lambda: f64) -> u64 {
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= (self.next() % 1_000_000) as f64 / 1_000_000.0;
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
}

/// Eight simulated hours of the example agents doing their usual work —
/// rates that swing with the hour, their usual classes and hosts, a few
/// denials — fire no alert of any rule. The figures are the README's.
#[test]
fn a_long_normal_run_fires_no_alert() {
    let mut rules = vec![
        rule("burst", AlertKind::Denials),
        rule("class", AlertKind::NewClass),
        rule("host", AlertKind::NewDestination),
        rule("rate", AlertKind::Rate),
        rule("injection", AlertKind::Injection),
    ];
    rules[0].threshold = 5;
    for r in &mut rules {
        r.warm_up = 50;
    }
    let alerter = Alerter::new(rules, vec!["example.com".into()]);
    let agents: [(&str, f64, &[&str], &[&str]); 3] = [
        (
            "invoice-bot",
            6.0,
            &["financial", "financial.account"],
            &["bank.example.com"],
        ),
        (
            "support-bot",
            4.0,
            &["pii.contact", "pii.address"],
            &["example.com", "partner.example"],
        ),
        ("research-bot", 2.0, &[], &["en.wikipedia.org", "arxiv.org"]),
    ];
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut index = 0;
    let mut actions = 0;
    let mut alerts = Vec::new();
    for minute in 0..(8 * 60_i64) {
        // The working day: busier mid-morning and mid-afternoon.
        let swing = 1.0 + 0.5 * ((minute as f64) / 60.0 * std::f64::consts::PI / 4.0).sin();
        for (agent, base, classes, hosts) in agents {
            for n in 0..rng.poisson(base * swing) {
                index += 1;
                actions += 1;
                let outcome = if rng.next() % 100 < 3 {
                    "deny"
                } else {
                    "allow"
                };
                let class: Vec<&str> = classes
                    .iter()
                    .copied()
                    .filter(|_| rng.next().is_multiple_of(2))
                    .collect();
                let host = [hosts[(rng.next() % hosts.len() as u64) as usize]];
                let at = minute * 60_000 + (n as i64 * 997) % 60_000;
                alerts
                    .extend(alerter.on_record(agent, &decision(index, at, outcome, &class, &host)));
            }
        }
    }
    assert!(actions > 5_000, "{actions}");
    assert!(
        alerts.is_empty(),
        "false alarms over {actions} actions: {alerts:#?}"
    );
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
