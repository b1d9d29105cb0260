//! The policy contract users rely on: numbers compare as written, an error is
//! a deny, URLs match by exact host, approvals, and budgets.

use serde_json::{Value, json};
use warden_policy::{Engine, Snapshot};
use warden_types::DecisionOutcome::{Allow, Deny, NeedsApproval};

use crate::common::{decide, engine_decide, manifest, snapshot};

fn payments(condition: &str) -> Snapshot {
    let grant = format!(
        "  accounting:\n    schedule_payment:\n      operation: write\n      when: '{condition}'\n"
    );
    snapshot(&[("pay.yaml", &manifest("pay-bot", "", &grant))], &[])
}

fn pay(s: &Snapshot, amount: &str) -> warden_policy::Decision {
    let args: Value = serde_json::from_str(&format!(
        r#"{{"amount": {amount}, "iban": "DE89370400440532013000"}}"#
    ))
    .unwrap();
    decide(s, "pay-bot", "accounting", "schedule_payment", &args)
}

#[test]
fn numbers_compare_as_written() {
    let s = payments("context.args.amount <= 10000");
    for allowed in [
        "98.7",
        "10000",
        "10000.0000",
        "0",
        "0.0001",
        "-5",
        "-99999.5",
        "1e3",
        "9999.9999",
    ] {
        let d = pay(&s, allowed);
        assert_eq!(d.outcome, Allow, "{allowed}: {:?}", d.reasons);
        assert_eq!(d.policies, ["agent/pay-bot/accounting/schedule_payment"]);
    }
    for denied in ["10000.0001", "10001", "25000", "1e5"] {
        let d = pay(&s, denied);
        assert_eq!(d.outcome, Deny, "{denied}");
        assert!(
            d.reasons[0]
                .starts_with("condition `context.args.amount <= 10000` is false with amount = "),
            "{:?}",
            d.reasons
        );
    }
}

#[test]
fn negative_and_fractional_literals_compare_as_written() {
    let s = payments("context.args.amount >= -100.5 && context.args.amount < 0.25");
    for (amount, expected) in [
        ("-100.5", Allow),
        ("-100.5001", Deny),
        ("0.2499", Allow),
        ("0.25", Deny),
        ("-101", Deny),
        ("0", Allow),
    ] {
        assert_eq!(pay(&s, amount).outcome, expected, "{amount}");
    }
}

#[test]
fn unrepresentable_numbers_are_left_out_and_deny() {
    let s = payments("context.args.amount <= 10000");
    for amount in [
        "1.00001",
        "0.123456",
        "922337203685478",
        "9223372036854775807",
        "18446744073709551615",
        "1e20",
        "-1e300",
    ] {
        let d = pay(&s, amount);
        assert_eq!(d.outcome, Deny, "{amount}");
        let all = d.reasons.join("\n");
        assert!(all.contains("an error denies"), "{amount}: {all}");
        assert!(
            all.contains("argument `amount` was left out"),
            "{amount}: {all}"
        );
        assert!(
            all.contains("agent/pay-bot/accounting/schedule_payment"),
            "{amount}: {all}"
        );
    }
    // The largest representable magnitude still compares.
    assert_eq!(pay(&s, "-922337203685477").outcome, Allow);
}

const ORG_FLAG: &str = "// org rules\n\n@id(\"org/flagged\")\n@reason(\"flagged calls are refused\")\nforbid(principal, action, resource in Warden::Server::\"crm\")\nwhen { context.args.flagged == true };\n";

fn crm() -> Snapshot {
    let m = manifest("crm-bot", "", "  crm:\n    lookup_customer: read\n");
    snapshot(&[("crm.yaml", &m)], &[("policies/org.cedar", ORG_FLAG)])
}

#[test]
fn an_erroring_forbid_denies_naming_the_policy() {
    let s = crm();
    let d = decide(
        &s,
        "crm-bot",
        "crm",
        "lookup_customer",
        &json!({"flagged": false}),
    );
    assert_eq!(d.outcome, Allow, "{:?}", d.reasons);
    let d = decide(
        &s,
        "crm-bot",
        "crm",
        "lookup_customer",
        &json!({"flagged": true}),
    );
    assert_eq!(d.outcome, Deny);
    assert_eq!(d.policies, ["org/flagged"]);
    assert!(
        d.reasons[0].contains("forbidden by `org/flagged` (policies/org.cedar:3"),
        "{:?}",
        d.reasons
    );
    assert!(
        d.reasons[0].ends_with(": flagged calls are refused"),
        "{:?}",
        d.reasons
    );
    // Cedar alone would skip the erroring forbid and allow: Warden denies.
    for args in [json!({}), json!({"flagged": null}), json!({"other": 1})] {
        let d = decide(&s, "crm-bot", "crm", "lookup_customer", &args);
        assert_eq!(d.outcome, Deny, "{args}");
        let all = d.reasons.join("\n");
        assert!(
            all.contains("policy `org/flagged` (policies/org.cedar:3"),
            "{all}"
        );
        assert!(all.contains("an error denies"), "{all}");
    }
    // A type mismatch is an error too.
    let d = decide(
        &s,
        "crm-bot",
        "crm",
        "lookup_customer",
        &json!({"flagged": "yes"}),
    );
    assert_eq!(
        d.outcome, Allow,
        "`\"yes\" == true` is false, not an error: {:?}",
        d.reasons
    );
    let s = snapshot(
        &[(
            "crm.yaml",
            &manifest("crm-bot", "", "  crm:\n    lookup_customer: read\n"),
        )],
        &[(
            "org.cedar",
            "@id(\"org/small\")\nforbid(principal, action, resource) when { context.args.n > 3 };\n",
        )],
    );
    let d = decide(
        &s,
        "crm-bot",
        "crm",
        "lookup_customer",
        &json!({"n": "four"}),
    );
    assert_eq!(d.outcome, Deny);
    assert!(
        d.reasons.join("\n").contains("`org/small`"),
        "{:?}",
        d.reasons
    );
}

#[test]
fn null_and_absent_arguments_behave_the_same() {
    let s = payments("context.args.amount <= 10000");
    let absent = decide(
        &s,
        "pay-bot",
        "accounting",
        "schedule_payment",
        &json!({"iban": "x"}),
    );
    let null = decide(
        &s,
        "pay-bot",
        "accounting",
        "schedule_payment",
        &json!({"amount": null, "iban": "x"}),
    );
    assert_eq!(absent.outcome, Deny);
    assert_eq!(absent, null);
    assert!(
        absent.reasons.join("\n").contains("an error denies"),
        "{:?}",
        absent.reasons
    );
    let guarded = payments("context.args has amount && context.args.amount <= 10000");
    let absent = decide(
        &guarded,
        "pay-bot",
        "accounting",
        "schedule_payment",
        &json!({}),
    );
    let null = decide(
        &guarded,
        "pay-bot",
        "accounting",
        "schedule_payment",
        &json!({"amount": null}),
    );
    assert_eq!(absent, null);
    assert_eq!(
        absent.reasons,
        ["condition `context.args has amount` is false with amount = absent"]
    );
}

#[test]
fn arguments_must_be_an_object() {
    let s = payments("context.args.amount <= 10000");
    for args in [json!([1, 2]), json!("x"), json!(null), json!(3)] {
        let d = decide(&s, "pay-bot", "accounting", "schedule_payment", &args);
        assert_eq!(d.outcome, Deny);
        assert_eq!(d.reasons, ["arguments must be a JSON object"]);
    }
}

fn research(condition: &str) -> Snapshot {
    let grant = format!("  web:\n    fetch:\n      operation: read\n      when: '{condition}'\n");
    snapshot(
        &[("research.yaml", &manifest("research-bot", "", &grant))],
        &[],
    )
}

#[test]
fn urls_match_by_exact_host() {
    for condition in [
        "lists.web_hosts.contains(context.hosts.url)",
        r#"context.hosts.url == "www.informations.com""#,
    ] {
        let s = research(condition);
        let fetch = |url: &str| decide(&s, "research-bot", "web", "fetch", &json!({ "url": url }));
        for ok in [
            "https://www.informations.com/article/1",
            "https://WWW.Informations.COM/",
            "http://www.informations.com:8080/x?y=z",
            "https://www.informations.com./",
        ] {
            assert_eq!(
                fetch(ok).outcome,
                Allow,
                "{condition}: {ok}: {:?}",
                fetch(ok).reasons
            );
        }
        for bad in [
            "https://www.true-informations.com/article/1",
            "https://www.informations.com@evil.com/",
            "https://user:pw@evil.com/?https://www.informations.com",
            "https://www.informations.com.evil.com/",
            "https://evil.com/www.informations.com",
            "https://evil.com#@www.informations.com",
            // Parsers disagree on these hosts: refused, never guessed.
            r"https://www.informations.com\@evil.com/",
            "https://www.informations.com\t@evil.com/",
            "https://www.informations.com%2e@evil.com/",
        ] {
            let d = fetch(bad);
            assert_eq!(d.outcome, Deny, "{condition}: {bad}");
        }
        // Without a scheme, a URL names its host as well.
        assert_eq!(
            fetch("www.informations.com/a").outcome,
            Allow,
            "{condition}"
        );
        // Not a URL: no host, so the condition errors, and an error denies.
        for broken in [
            json!({"url": "javascript:alert(1)"}),
            json!({"url": 5}),
            json!({}),
        ] {
            let d = decide(&s, "research-bot", "web", "fetch", &broken);
            assert_eq!(d.outcome, Deny, "{broken}");
            assert!(
                d.reasons.join("\n").contains("an error denies"),
                "{broken}: {:?}",
                d.reasons
            );
        }
    }
}

#[test]
fn approval_turns_allow_into_needs_approval() {
    let m = manifest(
        "pay-bot",
        "groups: [finance]\n",
        "  accounting:\n    schedule_payment:\n      operation: write\n      when: 'context.args.amount <= 10000'\n      approval: 'context.args.amount > 5000'\n    read_invoice: read\n  crm:\n    delete_customer:\n      operation: delete\n      approval: 'true'\n",
    );
    let org = "@id(\"org/second-pair\")\n@approval(\"required\")\n@reason(\"reads of invoices are reviewed\")\npermit(principal in Warden::Group::\"finance\", action == Warden::Action::\"read\", resource == Warden::Tool::\"accounting/read_invoice\")\nwhen { context.args has invoice_id && context.args.invoice_id like \"SECRET-*\" };\n";
    let s = snapshot(&[("pay.yaml", &m)], &[("org.cedar", org)]);
    let pay = |amount: i64| {
        decide(
            &s,
            "pay-bot",
            "accounting",
            "schedule_payment",
            &json!({ "amount": amount }),
        )
    };
    assert_eq!(pay(100).outcome, Allow);
    let d = pay(7500);
    assert_eq!(d.outcome, NeedsApproval);
    assert!(
        d.reasons[0].starts_with(
            "approval required by `agent/pay-bot/accounting/schedule_payment/approval` (pay.yaml:"
        ),
        "{:?}",
        d.reasons
    );
    assert_eq!(pay(20000).outcome, Deny, "approval never widens a grant");
    let d = decide(&s, "pay-bot", "crm", "delete_customer", &json!({}));
    assert_eq!(d.outcome, NeedsApproval);
    let read = |id: &str| {
        decide(
            &s,
            "pay-bot",
            "accounting",
            "read_invoice",
            &json!({ "invoice_id": id }),
        )
    };
    assert_eq!(read("INV-1").outcome, Allow);
    let d = read("SECRET-1");
    assert_eq!(d.outcome, NeedsApproval);
    assert_eq!(
        d.reasons,
        ["approval required by `org/second-pair` (org.cedar:1:1): reads of invoices are reviewed"]
    );
}

const BUDGETED: &str = "  accounting:\n    schedule_payment:\n      operation: write\n      when: 'context.args.amount <= 100'\n";

#[test]
fn session_budget_counts_allowed_actions_only() {
    let m = manifest("pay-bot", "budgets: { per_session: 3 }\n", BUDGETED);
    let engine = Engine::new(snapshot(&[("pay.yaml", &m)], &[]));
    let call = |session: &str, amount: i64| {
        engine_decide(
            &engine,
            "pay-bot",
            "i-1",
            session,
            "accounting",
            "schedule_payment",
            &json!({ "amount": amount }),
        )
        .outcome
    };
    for _ in 0..5 {
        assert_eq!(
            call("s-1", 500),
            Deny,
            "denied calls do not consume the budget"
        );
    }
    for i in 0..3 {
        assert_eq!(call("s-1", 10), Allow, "allowed call {i}");
    }
    let d = engine_decide(
        &engine,
        "pay-bot",
        "i-1",
        "s-1",
        "accounting",
        "schedule_payment",
        &json!({ "amount": 10 }),
    );
    assert_eq!(d.outcome, Deny);
    assert!(
        d.reasons[0].starts_with("session budget 3 spent"),
        "{:?}",
        d.reasons
    );
    assert_eq!(call("s-2", 10), Allow, "another session has its own budget");
    assert_eq!(
        engine_decide(
            &engine,
            "pay-bot",
            "i-2",
            "s-1",
            "accounting",
            "schedule_payment",
            &json!({ "amount": 10 })
        )
        .outcome,
        Allow,
        "and so does another instance's"
    );
    assert_eq!(engine.live_sessions(), 3);
}

#[test]
fn hourly_budget_is_shared_across_instances() {
    let m = manifest("pay-bot", "budgets: { per_hour: 4 }\n", BUDGETED);
    let other = manifest("other-bot", "budgets: { per_hour: 1 }\n", BUDGETED);
    let engine = Engine::new(snapshot(&[("pay.yaml", &m), ("other.yaml", &other)], &[]));
    let call = |agent: &str, instance: &str, amount: i64| {
        engine_decide(
            &engine,
            agent,
            instance,
            &format!("session-of-{instance}"),
            "accounting",
            "schedule_payment",
            &json!({ "amount": amount }),
        )
    };
    assert_eq!(call("pay-bot", "i-1", 10).outcome, Allow);
    assert_eq!(
        call("pay-bot", "i-1", 999).outcome,
        Deny,
        "denied calls are refunded"
    );
    assert_eq!(call("pay-bot", "i-2", 10).outcome, Allow);
    assert_eq!(call("pay-bot", "i-3", 10).outcome, Allow);
    assert_eq!(call("pay-bot", "i-2", 999).outcome, Deny);
    assert_eq!(call("pay-bot", "i-4", 10).outcome, Allow);
    let d = call("pay-bot", "i-5", 10);
    assert_eq!(d.outcome, Deny);
    assert!(
        d.reasons[0].starts_with("hourly budget 4 spent"),
        "{:?}",
        d.reasons
    );
    assert_eq!(
        call("other-bot", "i-1", 10).outcome,
        Allow,
        "budgets are per agent"
    );
    assert_eq!(call("other-bot", "i-1", 10).outcome, Deny);
}

#[test]
fn engine_history_feeds_session_conditions() {
    let m = manifest(
        "pay-bot",
        "",
        "  accounting:\n    read_invoice: read\n    schedule_payment:\n      operation: write\n      when: 'context.session.tools.contains(\"accounting/read_invoice\") && context.session.actions < 2'\n",
    );
    let engine = Engine::new(snapshot(&[("pay.yaml", &m)], &[]));
    let call = |tool: &str| {
        engine_decide(
            &engine,
            "pay-bot",
            "i-1",
            "s-1",
            "accounting",
            tool,
            &json!({}),
        )
        .outcome
    };
    assert_eq!(call("schedule_payment"), Deny, "nothing read yet");
    assert_eq!(call("read_invoice"), Allow);
    assert_eq!(call("schedule_payment"), Allow, "one action so far");
    assert_eq!(call("schedule_payment"), Deny, "two actions so far");
}

#[test]
fn live_sessions_are_bounded_and_expire() {
    let m = manifest("pay-bot", "", BUDGETED);
    let engine = Engine::new(snapshot(&[("pay.yaml", &m)], &[])).with_max_sessions(2);
    let call = |session: &str| {
        engine_decide(
            &engine,
            "pay-bot",
            "i-1",
            session,
            "accounting",
            "schedule_payment",
            &json!({ "amount": 10 }),
        )
    };
    assert_eq!(call("a").outcome, Allow);
    assert_eq!(call("b").outcome, Allow);
    let refused = call("c");
    assert_eq!(refused.outcome, Deny);
    assert_eq!(
        refused.reasons,
        ["too many live sessions (2): a new session is refused until idle ones expire"]
    );
    assert_eq!(call("a").outcome, Allow, "live sessions keep working");
    assert_eq!(engine.live_sessions(), 2);
    assert_eq!(engine.expire_sessions(std::time::Duration::ZERO), 2);
    assert_eq!(
        call("c").outcome,
        Allow,
        "room again once idle ones expired"
    );
}

/// Issue 11: one agent could lock every other agent out of new sessions.
#[test]
fn one_agent_cannot_take_every_session() {
    let pay = manifest("pay-bot", "", BUDGETED);
    let other = manifest("other-bot", "", BUDGETED);
    let engine = Engine::new(snapshot(&[("pay.yaml", &pay), ("other.yaml", &other)], &[]))
        .with_max_sessions(10)
        .with_max_sessions_per_agent(2);
    let call = |agent: &str, session: &str| {
        engine_decide(
            &engine,
            agent,
            "i-1",
            session,
            "accounting",
            "schedule_payment",
            &json!({ "amount": 10 }),
        )
    };
    assert_eq!(call("pay-bot", "a").outcome, Allow);
    assert_eq!(call("pay-bot", "b").outcome, Allow);
    let refused = call("pay-bot", "c");
    assert_eq!(refused.outcome, Deny);
    assert!(
        refused.reasons[0].contains("agent `pay-bot` holds 2 live sessions, its limit"),
        "{:?}",
        refused.reasons
    );
    assert_eq!(
        call("other-bot", "a").outcome,
        Allow,
        "another agent still gets sessions"
    );
    // A refused request leaves no session behind.
    let denied = call("other-bot", "over-limit");
    assert_eq!(denied.outcome, Allow);
    let too_much = engine_decide(
        &engine,
        "other-bot",
        "i-1",
        "x",
        "accounting",
        "schedule_payment",
        &json!({ "amount": 1_000_000 }),
    );
    assert_eq!(too_much.outcome, Deny);
    assert_eq!(engine.live_sessions(), 4);
    assert_eq!(engine.expire_sessions(std::time::Duration::ZERO), 4);
    assert_eq!(
        call("pay-bot", "c").outcome,
        Allow,
        "room again once idle ones expired"
    );
}

/// Issue 11: a schema's `required` fields were not enforced on a grant
/// without a condition.
#[test]
fn required_arguments_are_enforced_without_a_condition() {
    let config = format!(
        "{}\n[servers.accounting.tools.approve]\noperation = \"write\"\ninput_schema = {{ type = \"object\", required = [\"invoice_id\"], properties = {{ invoice_id = {{ type = \"string\" }} }} }}\n",
        crate::common::CONFIG
    );
    let config = std::sync::Arc::new(
        warden_policy::Config::parse("warden.toml", &config, std::path::Path::new(".")).unwrap(),
    );
    let m = manifest("ap-bot", "", "  accounting:\n    approve: write\n");
    let inputs = warden_policy::PolicyInputs {
        manifests: vec![warden_policy::Manifest::parse("ap.yaml", &m, &config).unwrap()],
        config,
        org_files: vec![],
    };
    let s = warden_policy::compile(&inputs).unwrap();
    for missing in [json!({}), json!({"invoice_id": null})] {
        let d = decide(&s, "ap-bot", "accounting", "approve", &missing);
        assert_eq!(d.outcome, Deny, "{missing}");
        assert_eq!(
            d.reasons,
            [
                "argument `invoice_id` is missing: the input schema of `accounting/approve` requires it"
            ]
        );
    }
    let d = decide(
        &s,
        "ap-bot",
        "accounting",
        "approve",
        &json!({"invoice_id": "INV-1"}),
    );
    assert_eq!(d.outcome, Allow, "{:?}", d.reasons);
}
