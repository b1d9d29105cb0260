//! `warden classify` as a user runs it.

use std::process::Command;

use crate::text;

fn classify(args: &[&str], stdin: &str) -> (bool, String, String) {
    let out = warden_test::output_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("classify")
            .args(args),
        stdin.as_bytes(),
    );
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn jsonl_spans_count_unicode_characters_and_near_misses_are_ignored() {
    let input = concat!(
        "{\"text\": \"Grüße an jürgen@example.de, Karte 4111 1111 1111 1111\"}\n",
        "{\"text\": \"bad card 4111 1111 1111 1112, bad IBAN DE89370400440532013001, version 1.2.3.4\"}\n",
    );
    let (ok, out, err) = classify(&["--jsonl"], input);
    assert!(ok, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let first = lines[0]["findings"].as_array().unwrap();
    let email = first.iter().find(|f| f["type"] == "email").unwrap();
    // "Grüße an " is 9 characters (11 bytes): the span counts characters.
    assert_eq!(
        (email["start"].as_u64(), email["end"].as_u64()),
        (Some(9), Some(26))
    );
    assert_eq!(email["class"], "pii.contact");
    assert!(
        first
            .iter()
            .any(|f| f["type"] == "card" && f["class"] == "financial.card")
    );
    assert_eq!(
        lines[1]["findings"],
        serde_json::json!([]),
        "checksum-invalid card and IBAN, a version string"
    );
}

#[test]
fn bad_input_lines_are_named_and_the_rest_still_answered() {
    let (ok, out, err) = classify(
        &["--jsonl"],
        "{\"text\": \"a@example.com\"}\nnot json\n{\"txt\": 1}\n",
    );
    assert!(!ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "one answer per input line");
    assert!(
        lines[1].contains("\"line\":2") && lines[1].contains("invalid JSON"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("\"line\":3"), "{}", lines[2]);
    assert!(err.contains("2 input lines"), "{err}");
}

#[test]
fn plain_text_findings_name_the_line() {
    let (ok, out, _) = classify(&[], "nothing here\nkey AKIAIOSFODNN7EXAMPLE\n");
    assert!(ok);
    assert!(
        out.contains("<stdin>:2: aws_access_key   credentials"),
        "{out}"
    );
    assert!(out.ends_with("1 findings\n"), "{out}");
}

#[test]
fn a_json_document_names_the_path_and_never_the_value() {
    let doc = r#"{"customer": {"iban": "DE89370400440532013000", "note": "fine"},
                  "items": [{"card": "4111 1111 1111 1111"}]}"#;
    let (ok, out, _) = classify(&["--json"], doc);
    assert!(ok, "{out}");
    assert!(out.contains("<stdin>:$.customer.iban: iban"), "{out}");
    assert!(out.contains("$.items[0].card: card"), "{out}");
    assert!(
        !out.contains("DE8937") && !out.contains("4111"),
        "values leak: {out}"
    );
    assert!(out.ends_with("2 findings\n"), "{out}");
    let (ok, _, err) = classify(&["--json"], "{\"a\": 1,\n \"b\": }");
    assert!(!ok);
    assert!(
        err.contains("line 2 column") && err.contains("not a JSON document"),
        "{err}"
    );
}

#[test]
fn detectors_from_warden_toml_are_used_and_bad_ones_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("warden.toml");
    let write = |pattern: &str| {
        std::fs::write(
            &config,
            format!(
                r#"trust_domain = "example.org"

[classes]
custom = ["acme.employee"]

[classify]
disabled = ["ip"]

[[classify.detectors]]
name = "employee_id"
class = "acme.employee"
pattern = '{pattern}'
context = ["employee"]
confidence = 0.8
"#
            ),
        )
        .unwrap();
    };
    let run = |input: &str| {
        warden_test::output_with_stdin(
            Command::new(env!("CARGO_BIN_EXE_warden"))
                .arg("--config")
                .arg(&config)
                .args(["classify", "--jsonl"]),
            input.as_bytes(),
        )
    };
    write(r"EMP-\d{6}");
    let out = run(
        "{\"text\": \"employee EMP-123456 logged in from 10.0.0.7; the shipment left the warehouse on time, reference EMP-999999\"}\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let findings = line["findings"].as_array().unwrap();
    // The custom detector fires near its context word only; `ip` is disabled.
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["type"], "employee_id");
    assert_eq!(findings[0]["class"], "acme.employee");
    assert_eq!(findings[0]["start"], 9);

    write(r"EMP-(\d{6}");
    let out = run("{\"text\": \"x\"}\n");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("detector `employee_id`"), "{err}");
    assert!(err.contains("warden.toml:"), "{err}");
}

#[test]
fn a_json_document_is_walked_as_it_is_read_with_the_same_lines() {
    // The lines `warden classify --json` wrote when it parsed the document
    // into a tree first: escapes, quoted keys, numbers, a repeated key (its
    // first place, its last value).
    let doc = r#"{"customer": {"name": "Ann", "iban": "GB82 WEST 1234 5698 7654 32", "e-mail": "ann@example.com",
  "it's": "+44 20 7946 0958", "pass\u0077ord": "Tr0ub4dor&3", "card": 4111111111111111},
 "items": [{"note": "mail \"bob@example.org\"\nplease"}, ["jürgen@bücher.de"]],
 "ssn": "000", "ssn": "536-22-8714"}"#;
    let (ok, out, err) = classify(&["--json"], doc);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "\
<stdin>:$.customer.iban: iban             financial.account  bytes 0..27  confidence 0.99
<stdin>:$.customer['e-mail']: email            pii.contact        bytes 0..15  confidence 0.99
<stdin>:$.customer['it\\'s']: phone            pii.contact        bytes 0..16  confidence 0.85
<stdin>:$.customer.password: password         credentials        bytes 0..11  confidence 0.90
<stdin>:$.customer.card: card             financial.card     bytes 0..16  confidence 0.99
<stdin>:$.items[0].note: email            pii.contact        bytes 6..21  confidence 0.95
<stdin>:$.items[1][0]: email            pii.contact        bytes 0..18  confidence 0.95
<stdin>:$.ssn: ssn              pii.identity       bytes 0..11  confidence 0.99
8 findings
"
    );
}

#[test]
fn a_json_document_too_deep_or_not_utf8_is_an_error_and_nothing_else() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let (ok, out, err) = classify(&["--json"], &deep);
    assert!(!ok);
    assert_eq!(out, "");
    assert!(
        err.contains("`<stdin>` line 1 column 128: not a JSON document: recursion limit exceeded"),
        "{err}"
    );
    // Findings before the error are not printed: the document is not one.
    let (ok, out, err) = classify(&["--json"], "[\"a@example.com\",\n 1 2]");
    assert!(!ok);
    assert_eq!(out, "");
    assert!(
        err.contains("line 2 column 4: not a JSON document"),
        "{err}"
    );
    let bytes = warden_test::output_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_warden")).args(["classify", "--json"]),
        b"[\"\xff\"]",
    );
    assert!(!bytes.status.success());
    assert!(
        text(&bytes.stderr).contains("`<stdin>` is not UTF-8 text"),
        "{}",
        text(&bytes.stderr)
    );
}
