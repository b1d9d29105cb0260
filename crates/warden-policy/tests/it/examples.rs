//! Every example file loads, compiles, and passes its own policy tests.

use std::path::PathBuf;
use std::sync::Arc;

use warden_policy::{Config, PolicyInputs, TestCases, compile};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn example_set_compiles() {
    let config =
        Arc::new(Config::load(&examples().join("warden.toml")).unwrap_or_else(|e| panic!("{e}")));
    let inputs = PolicyInputs::load(config).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inputs.manifests.len(), 3, "the three example agents");
    assert_eq!(inputs.org_files.len(), 1, "policies/org.cedar");
    let snapshot = compile(&inputs).unwrap_or_else(|e| panic!("{e}"));
    assert!(snapshot.policy("org/no-external-send").is_some());
    assert!(
        snapshot
            .policy("agent/invoice-bot/accounting/schedule_payment/approval")
            .is_some_and(|p| p.approval)
    );
}

#[test]
fn example_policy_tests_pass() {
    let config = Arc::new(Config::load(&examples().join("warden.toml")).unwrap());
    let snapshot = compile(&PolicyInputs::load(config).unwrap()).unwrap();
    let path = examples().join("policy-tests.yaml");
    let cases = TestCases::parse("policy-tests.yaml", &std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!cases.is_empty());
    let report = cases.run(&snapshot);
    let failures: Vec<String> = report
        .failures
        .iter()
        .map(|f| {
            format!(
                "- {}: expected {}, got {} because {:?}",
                f.name, f.expected, f.got, f.reasons
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(report.passed, cases.len());
}

/// The commented `[alerts]` example in `examples/warden.toml`, uncommented,
/// parses, with the rules it documents.
#[test]
fn the_commented_alerts_example_parses() {
    let path = examples().join("warden.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut in_alerts = false;
    let mut uncommented = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    uncommented.push('\n');
    for line in text.lines() {
        in_alerts |= line.starts_with("# [[alerts.");
        if in_alerts {
            match line.strip_prefix("# ") {
                Some(l) if !l.starts_with(' ') => {
                    uncommented.push_str(l);
                    uncommented.push('\n');
                }
                Some(_) => {}
                None => break,
            }
        }
    }
    let config = Config::parse("warden.toml", &uncommented, &examples())
        .unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    let kinds: Vec<&str> = config
        .alerts
        .rules
        .iter()
        .map(|r| r.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "actions",
            "new_class",
            "argument_shape",
            "tool_mix",
            "time_of_day"
        ]
    );
    assert_eq!(config.alerts.webhooks.len(), 1);
}
