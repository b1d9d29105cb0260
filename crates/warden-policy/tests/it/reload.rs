//! Reloads are atomic, a broken set never replaces a running one, and every
//! decision names the policy set it was made under.

use serde_json::json;
use warden_policy::Engine;
use warden_types::DecisionOutcome::{Allow, Deny};

use crate::common::{engine_decide, manifest, snapshot, try_compile};

fn grant(limit: &str) -> String {
    manifest(
        "pay-bot",
        "",
        &format!(
            "  accounting:\n    schedule_payment:\n      operation: write\n      when: 'context.args.amount <= {limit}'\n"
        ),
    )
}

#[test]
fn replace_swaps_and_a_broken_set_leaves_the_old_one_running() {
    let engine = Engine::new(snapshot(&[("pay.yaml", &grant("100"))], &[]));
    let pay = |amount: i64| {
        engine_decide(
            &engine,
            "pay-bot",
            "i-1",
            "s-1",
            "accounting",
            "schedule_payment",
            &json!({ "amount": amount }),
        )
    };
    let before = pay(50);
    assert_eq!(before.outcome, Allow);

    engine.replace(snapshot(&[("pay.yaml", &grant("10"))], &[]));
    let after = pay(50);
    assert_eq!(after.outcome, Deny);
    assert_ne!(before.policy_digest, after.policy_digest);
    assert_eq!(engine.snapshot().digest, after.policy_digest);

    // A broken input set is refused; the engine keeps deciding with what it has.
    let broken = try_compile(&[("pay.yaml", &grant("10 +"))], &[]);
    assert!(broken.is_err());
    let broken = try_compile(
        &[("pay.yaml", &grant("10"))],
        &[("org.cedar", "forbid(principal, action, resource")],
    );
    let err = broken
        .expect_err("an unterminated policy is refused")
        .to_string();
    assert!(err.contains("org.cedar:1:"), "{err}");
    let still = pay(50);
    assert_eq!(still.outcome, Deny);
    assert_eq!(still.policy_digest, after.policy_digest);
    assert_eq!(pay(5).outcome, Allow);
}

#[test]
fn decisions_carry_a_stable_policy_digest() {
    let org =
        "@id(\"org/x\")\nforbid(principal, action == Warden::Action::\"delete\", resource);\n";
    let a = snapshot(&[("pay.yaml", &grant("100"))], &[("org.cedar", org)]);
    let b = snapshot(&[("pay.yaml", &grant("100"))], &[("org.cedar", org)]);
    assert!(a.digest.starts_with("sha256:"), "{}", a.digest);
    assert_eq!(a.digest.len(), "sha256:".len() + 64);
    assert_eq!(
        a.digest, b.digest,
        "recompiling the same inputs gives the same digest"
    );

    let engine = Engine::new(a);
    let d = engine_decide(
        &engine,
        "pay-bot",
        "i-1",
        "s-1",
        "accounting",
        "schedule_payment",
        &json!({ "amount": 1 }),
    );
    assert_eq!(d.policy_digest, b.digest);
    let unknown = engine_decide(
        &engine,
        "nobody",
        "i-1",
        "s-1",
        "accounting",
        "schedule_payment",
        &json!({}),
    );
    assert_eq!(unknown.outcome, Deny);
    assert_eq!(
        unknown.policy_digest, b.digest,
        "early denials carry the digest too"
    );

    let changed_policy = snapshot(&[("pay.yaml", &grant("101"))], &[("org.cedar", org)]);
    assert_ne!(changed_policy.digest, b.digest);
    let changed_org = snapshot(
        &[("pay.yaml", &grant("100"))],
        &[("org.cedar", &org.replace("delete", "send"))],
    );
    assert_ne!(changed_org.digest, b.digest);
    // A comment or a file name is not a policy.
    let commented = snapshot(
        &[("other.yaml", &grant("100"))],
        &[("org2.cedar", &format!("// note\n{org}"))],
    );
    assert_eq!(commented.digest, b.digest);
}
