//! The SARIF output validates against the official SARIF 2.1.0 JSON schema
//! (OASIS, errata01; committed as `tests/sarif-schema-2.1.0.json`), checked
//! with the Python `jsonschema` package of the MCP test environment
//! (`tests/mcp/.venv`, made by `tests/mcp/setup.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{fixture_copy, scan_fixture};

fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp/.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run tests/mcp/setup.sh (scripts/test.sh does) to install the Python test environment with `jsonschema`",
        python.display()
    );
    python
}

const VALIDATE: &str = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
log = json.load(sys.stdin)
validator = jsonschema.validators.validator_for(schema)
validator.check_schema(schema)
errors = sorted(validator(schema).iter_errors(log), key=lambda e: list(e.path))
for e in errors:
    print("/".join(map(str, e.path)), ":", e.message)
sys.exit(1 if errors else 0)
"#;

fn validate(log: &serde_json::Value) -> (bool, String) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sarif-schema-2.1.0.json");
    let out = warden_test::output_with_stdin(
        Command::new(python()).arg("-c").arg(VALIDATE).arg(&schema),
        log.to_string().as_bytes(),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn sarif_validates_against_the_schema() {
    let (_dir, root) = fixture_copy();
    let report = scan_fixture(&root);
    let log = warden_discover::to_sarif(&report);
    let (ok, errors) = validate(&log);
    assert!(ok, "SARIF does not validate:\n{errors}");

    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "warden discover");
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 4);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    let bypass = results
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .contains("`filesystem`")
        })
        .unwrap();
    assert_eq!(bypass["level"], "warning");
    assert_eq!(bypass["ruleId"], "mcp_server");
    let location = &bypass["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "home/.config/Claude/claude_desktop_config.json"
    );
    assert_eq!(location["artifactLocation"]["uriBaseId"], "ROOT0");
    assert_eq!(location["region"]["startLine"], 3);
    let base = run["originalUriBaseIds"]["ROOT0"]["uri"].as_str().unwrap();
    assert!(
        base.starts_with("file:///") && base.ends_with("/tree/"),
        "{base}"
    );
    let governed = results
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .contains("`shared-files`")
        })
        .unwrap();
    assert_eq!(governed["level"], "note");
}

#[test]
fn the_validator_rejects_an_invalid_log() {
    let (ok, errors) =
        validate(&serde_json::json!({"version": "2.1.0", "runs": [{"results": []}]}));
    assert!(!ok, "a run without a tool must not validate");
    assert!(errors.contains("tool"), "{errors}");
}
