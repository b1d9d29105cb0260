//! Mistakes in manifests and org-wide policies are reported with the file,
//! line and field, and what was expected.

use std::sync::Arc;

use warden_policy::{Config, PolicyInputs};

use crate::common::{compile_error, config, manifest};

fn parse_error(file: &str, text: &str) -> String {
    match warden_policy::Manifest::parse(file, text, &config()) {
        Ok(_) => panic!("expected `{file}` to be refused"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "`{part}` is not in:\n{message}");
    }
}

#[test]
fn unknown_tool_server_suggests_the_closest() {
    let text = "name: bad-bot\nowner: o@example.com\npurpose: testing\ntools:\n  acounting:\n    read_invoice: read\n";
    let msg = parse_error("bad.yaml", text);
    assert_contains(
        &msg,
        &[
            "bad.yaml:5:3: field `tools.acounting`: unknown tool server `acounting` (did you mean `accounting`?)",
        ],
    );
}

#[test]
fn unknown_operation_names_the_field() {
    let text = "name: bad-bot\nowner: o@example.com\npurpose: testing\ntools:\n  accounting:\n    read_invoice: reed\n";
    let msg = parse_error("bad.yaml", text);
    assert_contains(
        &msg,
        &[
            "bad.yaml:6:",
            "field `tools.accounting.read_invoice`",
            "`reed`",
        ],
    );
}

#[test]
fn missing_owner_is_refused() {
    let text = "name: bad-bot\npurpose: testing\ntools:\n  accounting:\n    read_invoice: read\n";
    let msg = parse_error("bad.yaml", text);
    assert_contains(&msg, &["bad.yaml:1:", "field `owner`", "missing `owner`"]);
}

#[test]
fn every_mistake_in_a_manifest_is_listed() {
    let text = "name: bad-bot\nowner: o@example.com\npurpose: testing\ncolour: blue\ntools:\n  acounting:\n    read_invoice: read\n  mail:\n    send: sned\n";
    let msg = parse_error("bad.yaml", text);
    assert_contains(
        &msg,
        &[
            "bad.yaml:4:1: field `colour`: unknown field `colour`",
            "bad.yaml:6:3:",
            "bad.yaml:9:",
        ],
    );
}

/// A manifest granting `schedule_payment` with the condition on line 8.
fn payment_when(condition: &str) -> String {
    manifest(
        "bad-bot",
        "",
        &format!(
            "  accounting:\n    schedule_payment:\n      operation: write\n      when: '{condition}'\n"
        ),
    )
}

#[test]
fn condition_that_does_not_parse() {
    let msg = compile_error(
        &[("bad.yaml", &payment_when("context.args.amount <= "))],
        &[],
    );
    assert_contains(
        &msg,
        &[
            "bad.yaml:8:",
            "field `tools.accounting.schedule_payment.when`",
            "condition does not parse",
        ],
    );
}

#[test]
fn condition_that_does_not_type_check() {
    let msg = compile_error(
        &[("bad.yaml", &payment_when(r#"context.args.amount like "x""#))],
        &[],
    );
    assert_contains(
        &msg,
        &[
            "bad.yaml:8:",
            "field `tools.accounting.schedule_payment.when`",
            "does not type-check against the input schema of `accounting/schedule_payment`",
        ],
    );
}

#[test]
fn misspelt_argument_does_not_type_check() {
    let msg = compile_error(
        &[("bad.yaml", &payment_when("context.args.amout <= 10000"))],
        &[],
    );
    assert_contains(
        &msg,
        &[
            "bad.yaml:8:",
            "field `tools.accounting.schedule_payment.when`",
            "amout",
            "does not type-check",
        ],
    );
}

#[test]
fn approval_condition_is_type_checked_too() {
    let text = manifest(
        "bad-bot",
        "",
        "  accounting:\n    schedule_payment:\n      operation: write\n      approval: 'context.args.iban > 5'\n",
    );
    let msg = compile_error(&[("bad.yaml", &text)], &[]);
    assert_contains(
        &msg,
        &[
            "bad.yaml:8:",
            "field `tools.accounting.schedule_payment.approval`",
            "does not type-check",
        ],
    );
}

#[test]
fn unknown_list_suggests_the_closest() {
    let msg = compile_error(
        &[(
            "bad.yaml",
            &payment_when("lists.payess.contains(context.args.iban)"),
        )],
        &[],
    );
    assert_contains(
        &msg,
        &[
            "bad.yaml:8:",
            "field `tools.accounting.schedule_payment.when`",
            "unknown list `payess` (did you mean `payees`?)",
        ],
    );
}

#[test]
fn multiplication_is_refused() {
    let msg = compile_error(
        &[(
            "bad.yaml",
            &payment_when("context.args.amount * 2 <= 10000"),
        )],
        &[],
    );
    assert_contains(&msg, &["bad.yaml:8:", "multiplication is not supported"]);
}

#[test]
fn a_mistake_on_a_later_line_of_a_condition_names_that_line() {
    let text = manifest(
        "bad-bot",
        "",
        "  accounting:\n    schedule_payment:\n      operation: write\n      when: |\n        context.args.amount <= 10000 &&\n        lists.payess.contains(context.args.iban)\n",
    );
    let msg = compile_error(&[("bad.yaml", &text)], &[]);
    assert_contains(
        &msg,
        &["bad.yaml:10: field `tools.accounting.schedule_payment.when`: unknown list `payess`"],
    );
    // A folded scalar joins its lines, so the condition's first line is named.
    let folded = text.replace("when: |", "when: >-");
    let msg = compile_error(&[("bad.yaml", &folded)], &[]);
    assert_contains(
        &msg,
        &["bad.yaml:9:9: field `tools.accounting.schedule_payment.when`: unknown list `payess`"],
    );
}

#[test]
fn duplicate_agent_names_both_files() {
    let grant = "  accounting:\n    read_invoice: read\n";
    let msg = compile_error(
        &[
            ("agents/a.yaml", &manifest("dup-bot", "", grant)),
            ("agents/b.yaml", &manifest("dup-bot", "", grant)),
        ],
        &[],
    );
    assert_contains(
        &msg,
        &[
            "agents/b.yaml:1:",
            "field `name`",
            "duplicate agent `dup-bot`",
            "agents/a.yaml",
        ],
    );
}

#[test]
fn org_policy_mistakes_name_their_line() {
    let grant = manifest("ok-bot", "", "  accounting:\n    read_invoice: read\n");
    let org = "// header\n\nforbid(principal, action, resource in Warden::Server::\"acounting\");\n\npermit(principal, action, resource)\nwhen { context.args.x <<< 3 };\n\nforbid(principal, action, resource) when { lists.nope.contains(\"x\") };\n";
    let msg = compile_error(&[("ok.yaml", &grant)], &[("policies/org.cedar", org)]);
    assert_contains(
        &msg,
        &[
            "policies/org.cedar:3:",
            "`Warden::Server::\"acounting\"`, which does not exist",
            "policies/org.cedar:5:",
            "policy does not parse",
            "policies/org.cedar:8:",
            "unknown list `nope`",
        ],
    );
}

#[test]
fn loading_a_directory_collects_every_file_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("warden.toml"), crate::common::CONFIG).unwrap();
    std::fs::create_dir(dir.path().join("agents")).unwrap();
    std::fs::write(dir.path().join("agents/a.yaml"), "name: a-bot\nowner: o@example.com\npurpose: p\ntools:\n  acounting:\n    read_invoice: read\n").unwrap();
    std::fs::write(
        dir.path().join("agents/b.yml"),
        "name: b-bot\npurpose: p\ntools:\n  mail:\n    send: send\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("agents/notes.txt"), "not a manifest").unwrap();
    let config = Arc::new(Config::load(&dir.path().join("warden.toml")).unwrap());
    let msg = PolicyInputs::load(config).unwrap_err().to_string();
    assert_contains(
        &msg,
        &[
            "agents/a.yaml:5:3:",
            "unknown tool server `acounting`",
            "agents/b.yml:1:",
            "missing `owner`",
        ],
    );
    assert!(!msg.contains("notes.txt"), "{msg}");
}

#[test]
fn a_tool_name_with_a_slash_is_refused() {
    let config = crate::common::config();
    let text = "name: odd-bot\nowner: a@example.com\npurpose: x\ntools:\n  accounting:\n    read/invoice: read\n";
    let err = warden_policy::Manifest::parse("odd.yaml", text, &config)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "odd.yaml:6:5: field `tools.accounting.read/invoice`: tool name `read/invoice` must be"
        ),
        "{err}"
    );
}
