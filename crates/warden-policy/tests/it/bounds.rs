//! Inputs that would exhaust the stack of Cedar's recursive parser, validator
//! or evaluator are refused before Cedar sees them, naming the file and line
//! (the reproduction: a condition nested 150 deep killed the gateway).

use crate::common::{compile_error, manifest, snapshot};

fn deep(open: &str, close: &str, depth: usize) -> String {
    format!("{}true{}", open.repeat(depth), close.repeat(depth))
}

#[test]
fn deeply_nested_org_policies_are_refused_naming_the_file() {
    for body in [
        deep("(", ")", 150),
        deep("(", ")", 100_000),
        format!("{}1{}.contains(1)", "[".repeat(150), "]".repeat(150)),
        format!("{}1{} == 1", "{a:".repeat(150), "}".repeat(150)),
        {
            let mut s = "true".to_owned();
            for _ in 0..200 {
                s = format!("if true then {s} else false");
            }
            s
        },
        vec!["true"; 100_000].join(" && "),
        format!("{} == 1", vec!["1"; 100_000].join(" + ")),
    ] {
        let text = format!("permit(principal, action, resource) when {{ {body} }};");
        let msg = compile_error(&[], &[("policies/deep.cedar", &text)]);
        assert!(msg.contains("policies/deep.cedar:1"), "{msg}");
        assert!(
            msg.contains("nested deeper than") || msg.contains("longer than"),
            "{msg}"
        );
    }
}

#[test]
fn deeply_nested_manifest_conditions_are_refused_naming_the_field() {
    let when = deep("(", ")", 150);
    let m = manifest(
        "deep-bot",
        "",
        &format!("  crm:\n    lookup: {{ operation: read, when: \"{when}\" }}\n"),
    );
    let msg = compile_error(&[("agents/deep.yaml", &m)], &[]);
    assert!(msg.contains("agents/deep.yaml:"), "{msg}");
    assert!(msg.contains("tools.crm.lookup"), "{msg}");
    assert!(msg.contains("nested deeper than 32 levels"), "{msg}");
}

#[test]
fn conditions_within_the_bounds_compile_and_decide() {
    let nested = deep("(", ")", 32);
    let chain = ["context.args.a == \"x\""; 12].join(" || ");
    let m = manifest(
        "ok-bot",
        "",
        &format!(
            "  crm:\n    lookup: {{ operation: read, when: \"{}\" }}\n    update: {{ operation: write, when: '{}' }}\n",
            nested, chain
        ),
    );
    let s = snapshot(&[("agents/ok.yaml", &m)], &[]);
    let d = crate::common::decide(&s, "ok-bot", "crm", "lookup", &serde_json::json!({}));
    assert_eq!(d.outcome, warden_types::DecisionOutcome::Allow, "{d:?}");
    let d = crate::common::decide(
        &s,
        "ok-bot",
        "crm",
        "update",
        &serde_json::json!({"a": "x"}),
    );
    assert_eq!(d.outcome, warden_types::DecisionOutcome::Allow, "{d:?}");
}
