//! Each baseline rule: an agent behaves normally through its warm-up, then
//! unlike itself, and the alert names the rule, the evidence and the
//! baseline against what was observed.

use super::*;

const MINUTE: i64 = 60_000;
const READ: &str = "accounting/read_invoice";
const PAY: &str = "accounting/schedule_payment";

#[test]
fn binomial_tails_match_exact_sums() {
    let ln = LnFactorials::default();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.max(1e-300) + 1e-15;
    // Σ_{k≥8} C(10,k) / 2^10 = 56 / 1024.
    assert!(close(ln.binomial_tail(8, 10, 0.5), 56.0 / 1024.0));
    // Exact sums computed independently (Python's math.comb).
    assert!(close(
        ln.binomial_tail(10, 50, 0.03),
        2.017_694_687_866_746e-6
    ));
    assert!(close(
        ln.binomial_tail(40, 1000, 0.02),
        4.339_875_894_746_345_5e-5
    ));
    assert_eq!(ln.binomial_tail(0, 50, 0.1), 1.0);
    // Poisson: P(X ≥ 3 | 1) = 1 - (1 + 1 + 1/2) / e; P(X ≥ 13 | 5.1) and
    // P(X ≥ 2000 | 1500) from sums of exact terms (Python's lgamma);
    // the second past the table, by Stirling's series.
    assert!(close(
        ln.poisson_tail(3, 1.0),
        1.0 - 2.5 / std::f64::consts::E
    ));
    assert!((ln.poisson_tail(13, 5.1) / 0.002_387_175_567_727_502 - 1.0).abs() < 1e-9);
    assert!((ln.poisson_tail(2000, 1500.0) / 6.601_488_115_621_348e-35 - 1.0).abs() < 1e-6);
    assert_eq!(ln.poisson_tail(0, 4.0), 1.0);
    assert_eq!(ln.binomial_tail(51, 50, 0.1), 0.0);
    assert!((baseline::normal_tail(4) - 3.167e-5).abs() < 1e-8);
    assert_eq!(baseline::normal_tail(40), baseline::normal_tail(10));
}

#[test]
fn a_tool_the_agent_hardly_used_becomes_a_large_share_of_its_actions() {
    let mut r = rule("mix", AlertKind::ToolMix);
    (r.warm_up, r.threshold, r.recent) = (100, 10, 50);
    let alerter = Alerter::new(vec![r], vec![]);
    let mut index = 0;
    let mut next = |tool: &str| {
        index += 1;
        call(index, index as i64 * 1000, "i-1", tool, "allow", &[])
    };
    // Its usual mix: three reads to one payment, for 300 actions.
    for i in 0..300 {
        let tool = if i % 4 == 3 { PAY } else { READ };
        assert!(alerter.on_record("invoice-bot", &next(tool)).is_empty());
    }
    // Then it exports, among its usual work: the tenth export in the last
    // fifty actions is the alert.
    let mut fired = Vec::new();
    let mut exports = 0;
    for i in 0..50 {
        let tool = if i % 2 == 0 {
            "accounting/export_ledger"
        } else {
            READ
        };
        exports += usize::from(i % 2 == 0);
        let alerts = alerter.on_record("invoice-bot", &next(tool));
        if exports < 10 {
            assert!(alerts.is_empty(), "{alerts:?}");
        }
        fired.extend(alerts);
    }
    assert_eq!(fired.len(), 1, "once per window: {fired:?}");
    let alert = &fired[0];
    assert_eq!((alert.rule.as_str(), alert.kind), ("mix", "tool_mix"));
    assert_eq!(
        alert.observed,
        "accounting/export_ledger: 10 of the last 50 actions (20 %)"
    );
    assert!(
        alert
            .baseline
            .starts_with("long-run share 0.0 % (0 of 269 actions)"),
        "{}",
        alert.baseline
    );
    assert_eq!(alert.evidence.len(), 10);
    assert_eq!(alert.evidence[0].audit_index, 301);
    assert_eq!(alert.evidence[9].decision_id.as_deref(), Some("d-319"));
}

#[test]
fn a_tools_usual_share_never_fires() {
    let mut r = rule("mix", AlertKind::ToolMix);
    (r.warm_up, r.threshold) = (100, 10);
    let alerter = Alerter::new(vec![r], vec![]);
    // A new tool from the start is its usual work, not a change.
    for i in 0..400_u64 {
        let tool = if i % 2 == 0 { PAY } else { READ };
        let record = call(i, i as i64 * 1000, "i-1", tool, "allow", &[]);
        assert!(alerter.on_record("invoice-bot", &record).is_empty(), "{i}");
    }
}

#[test]
fn a_denial_ratio_far_above_the_agents_own() {
    let mut r = rule("denied", AlertKind::DenialRatio);
    (r.warm_up, r.threshold, r.sigma) = (100, 5, 5);
    let alerter = Alerter::new(vec![r], vec![]);
    let mut index = 0;
    let mut next = |outcome: &str| {
        index += 1;
        call(index, index as i64 * 1000, "i-1", READ, outcome, &[])
    };
    // One denial in fifty, for 500 actions.
    for i in 0..500 {
        let outcome = if i % 50 == 49 { "deny" } else { "allow" };
        assert!(alerter.on_record("invoice-bot", &next(outcome)).is_empty());
    }
    // Then one in three.
    let mut fired = Vec::new();
    for i in 0..60 {
        let outcome = if i % 3 == 0 { "deny" } else { "allow" };
        fired.extend(alerter.on_record("invoice-bot", &next(outcome)));
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    let alert = &fired[0];
    assert_eq!(alert.kind, "denial_ratio");
    // Nine denials in fifty under a long-run 9 in 475 is P = 9.5e-7, not
    // yet below 5σ's 2.9e-7; ten is P = 7.8e-8 (exact sums, checked with
    // Python's math.comb).
    assert_eq!(alert.observed, "10 denials in the last 50 actions (20 %)");
    assert_eq!(
        alert.baseline,
        "long-run denial ratio 1.9 % (9 of 475 actions); P(≥ 10) = 7.8e-8 ≤ 2.9e-7 (5σ)"
    );
    let indices: Vec<u64> = alert.evidence.iter().map(|e| e.audit_index).collect();
    assert_eq!(indices, [500, 501, 504, 507, 510, 513, 516, 519, 522, 525]);
}

#[test]
fn an_argument_shape_never_seen_for_the_tool() {
    let mut r = rule("shape", AlertKind::ArgumentShape);
    r.warm_up = 50;
    let alerter = Alerter::new(vec![r], vec![]);
    let usual = [
        "amount:number",
        "iban:string",
        "iban:string:financial.account",
    ];
    let mut index = 0;
    let mut next = |tool: &str, shape: &[&str]| {
        index += 1;
        call(index, index as i64 * 1000, "i-1", tool, "allow", shape)
    };
    // Within its warm-up (counted in calls of the tool), a new optional
    // field is learned, not reported.
    for i in 0..60 {
        let mut shape = usual.to_vec();
        if i == 20 {
            shape.push("memo:string");
        }
        assert!(
            alerter
                .on_record("invoice-bot", &next(PAY, &shape))
                .is_empty()
        );
        // Another tool's calls do not warm this one up.
        assert!(
            alerter
                .on_record("invoice-bot", &next(READ, &["id:string"]))
                .is_empty()
        );
    }
    // Known entries in any subset: nothing new.
    assert!(
        alerter
            .on_record("invoice-bot", &next(PAY, &["amount:number", "memo:string"]))
            .is_empty()
    );
    // A field's new type, and a class in a field that never held one.
    let fired = alerter.on_record(
        "invoice-bot",
        &next(
            PAY,
            &[
                "amount:string",
                "iban:string",
                "memo:string",
                "memo:string:pii.contact",
            ],
        ),
    );
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        fired[0].observed,
        "accounting/schedule_payment called with amount:string, memo:string:pii.contact"
    );
    assert_eq!(fired[0].baseline, "4 shape entries seen over 61 calls");
    assert_eq!(fired[0].evidence[0].audit_index, 122);
    // The first call of a tool has nothing to compare with.
    assert!(
        alerter
            .on_record("invoice-bot", &next("mail/send", &["to:string"]))
            .is_empty()
    );
}

#[test]
fn an_hour_of_the_day_the_agent_was_never_active_in() {
    let mut r = rule("night", AlertKind::TimeOfDay);
    (r.warm_up, r.warm_up_days, r.utc_offset_minutes) = (100, 7, 120);
    r.threshold = 0;
    let alerter = Alerter::new(vec![r], vec![]);
    let day = 24 * 60 * MINUTE;
    let mut index = 0;
    let mut at = |time_ms: i64| {
        index += 1;
        alerter.on_record(
            "invoice-bot",
            &call(index, time_ms, "i-1", READ, "allow", &[]),
        )
    };
    // Nine to five UTC (11 to 19 on its clock), for six days: a night
    // action is still within the warm-up of seven days.
    for d in 0..6 {
        for minute in (9 * 60..17 * 60).step_by(10) {
            assert!(at(d * day + minute * MINUTE).is_empty());
        }
    }
    assert!(
        at(6 * day + 3 * 60 * MINUTE).is_empty(),
        "six days of history"
    );
    for minute in (9 * 60..17 * 60).step_by(10) {
        assert!(at(7 * day + minute * MINUTE).is_empty(), "its usual hours");
    }
    // 01:30 UTC on day 8: 03:30 on its clock, an hour it never worked.
    let fired = at(8 * day + 90 * MINUTE);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        fired[0].observed,
        "an action between 03:00 and 03:59 (UTC+02:00)"
    );
    assert_eq!(
        fired[0].baseline,
        "0 of 337 actions over 7 days in that hour"
    );
    // 03:00 UTC (05:00 on its clock) on day 6 was seen once: "almost
    // never" is `threshold`, 0 here.
    let fired = at(9 * day + 3 * 60 * MINUTE + 5 * MINUTE);
    assert!(
        fired.is_empty(),
        "one action before in that hour: {fired:?}"
    );
}

#[test]
fn a_first_call_of_a_tool_after_warm_up() {
    let alerter = Alerter::new(vec![rule("tool", AlertKind::NewTool)], vec![]);
    alerter.seed_tool("invoice-bot", "mail/send", 3, 0);
    for i in 0..11 {
        let tool = if i == 5 { PAY } else { READ };
        let record = call(i, i as i64, "i-1", tool, "allow", &[]);
        assert!(alerter.on_record("invoice-bot", &record).is_empty(), "{i}");
    }
    let seeded = call(20, 20, "i-1", "mail/send", "allow", &[]);
    assert!(
        alerter.on_record("invoice-bot", &seeded).is_empty(),
        "seeded from the store"
    );
    let fired = alerter.on_record(
        "invoice-bot",
        &call(21, 21, "i-1", "crm/export", "deny", &[]),
    );
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].observed, "a first call of crm/export");
    assert_eq!(fired[0].baseline, "3 tools called before");
}

#[test]
fn a_rule_kept_per_instance_names_the_instance_unlike_its_siblings() {
    let mut per_instance = rule("denied", AlertKind::DenialRatio);
    (per_instance.warm_up, per_instance.per) = (100, AlertScope::Instance);
    per_instance.action = AlertAction::Revoke;
    let mut per_agent = per_instance.clone();
    (per_agent.name, per_agent.per) = ("denied-agent".into(), AlertScope::Agent);
    let alerter = Alerter::new(vec![per_instance, per_agent], vec![]);
    let mut index = 0;
    // Three instances, one denial in twenty each.
    for i in 0..600 {
        index += 1;
        let instance = ["i-1", "i-2", "i-3"][i % 3];
        let outcome = if (i / 3) % 20 == 19 { "deny" } else { "allow" };
        let record = call(index, index as i64 * 1000, instance, READ, outcome, &[]);
        assert!(alerter.on_record("invoice-bot", &record).is_empty(), "{i}");
    }
    // Instance i-2 is then denied every other time; its siblings are not.
    let mut fired = Vec::new();
    for i in 0..60 {
        for instance in ["i-1", "i-2", "i-3"] {
            index += 1;
            let outcome = if instance == "i-2" && i % 2 == 0 {
                "deny"
            } else {
                "allow"
            };
            let record = call(index, index as i64 * 1000, instance, READ, outcome, &[]);
            fired.extend(alerter.on_record("invoice-bot", &record));
        }
    }
    let alert = fired
        .iter()
        .find(|a| a.rule == "denied")
        .unwrap_or_else(|| panic!("{fired:?}"));
    assert_eq!((alert.per, alert.action), ("instance", "revoke"));
    assert_eq!(alert.instance.as_deref(), Some("i-2"));
    assert!(
        alert.id.starts_with("denied-invoice-bot-i-2-"),
        "{}",
        alert.id
    );
    assert!(
        alert.message.contains("instance `i-2`"),
        "{}",
        alert.message
    );
    assert!(
        fired
            .iter()
            .filter(|a| a.rule == "denied")
            .all(|a| a.instance.as_deref() == Some("i-2"))
    );
    // Its evidence is i-2's own denials (every third record from #2 on).
    assert!(
        alert.evidence.iter().all(|e| e.audit_index % 3 == 2),
        "{alert:?}"
    );
    // A rule kept per agent names the instance whose record fired it, and
    // its baseline is the agent's.
    let agent_alert = fired
        .iter()
        .find(|a| a.rule == "denied-agent")
        .unwrap_or_else(|| panic!("{fired:?}"));
    assert_eq!(
        (agent_alert.per, agent_alert.instance.as_deref()),
        ("agent", Some("i-2"))
    );
    assert_eq!(
        agent_alert.id,
        format!("denied-agent-invoice-bot-{}", agent_alert.time_ms)
    );
}
