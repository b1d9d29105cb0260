//! `warden report`: after a scripted run on the examples, every figure of
//! every report equals a count taken independently from `warden audit
//! export`; the pack verifies offline elsewhere, and fails naming the claim
//! when a figure is changed or a proof removed; report.json validates
//! against docs/report.schema.json; report.pdf is a real page.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::serve::{Server, free_port, wait_healthy};
use crate::{examples, tests_dir, text, warden};

const IBAN: &str = "DE89370400440532013000";

/// The standalone verifier, built beside `warden` (once per run, so that it
/// is never older than the code under test; cargo does nothing when it is
/// up to date).
fn verifier() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let warden = Path::new(env!("CARGO_BIN_EXE_warden"));
            let target = warden.parent().and_then(Path::parent).unwrap();
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "-q", "-p", "warden-audit-verify", "--target-dir"])
                .arg(target)
                .status()
                .unwrap();
            assert!(status.success(), "cannot build warden-audit-verify");
            warden.with_file_name("warden-audit-verify")
        })
        .clone()
}

fn verify(dir: &Path) -> Output {
    Command::new(verifier()).arg(dir).output().unwrap()
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Runs the scenario against a fresh gateway and returns its data dir and
/// admin port, with the server still running.
struct Run {
    data: tempfile::TempDir,
    admin: String,
    admin_token: String,
    _server: Server,
}

fn scripted_run() -> Run {
    let data = tempfile::tempdir().unwrap();
    let (data_port, admin_port) = (free_port(), free_port());
    let server = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(examples().join("warden.toml"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{data_port}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin_port}")])
        .env("WARDEN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(server);
    wait_healthy(data_port);
    wait_healthy(admin_port);
    let admin_token = std::fs::read_to_string(data.path().join("admin.token"))
        .unwrap()
        .trim()
        .to_owned();
    let token = warden(
        data.path(),
        &["agent", "token", "invoice-bot", "--instance", "laptop-1"],
    );
    assert!(token.status.success(), "{}", text(&token.stderr));
    let jwt = text(&token.stdout).trim().to_owned();
    let client = reqwest::blocking::Client::new();
    let gateway = format!("http://127.0.0.1:{data_port}");
    let admin = format!("http://127.0.0.1:{admin_port}");
    let decide = |server: &str, tool: &str, args: Value| -> Value {
        client
            .post(format!("{gateway}/v1/decisions"))
            .bearer_auth(&jwt)
            .json(&json!({"server": server, "tool": tool, "args": args, "session": "s-1"}))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let admin_post = |path: &str, body: Value| {
        let r = client
            .post(format!("{admin}{path}"))
            .bearer_auth(&admin_token)
            .json(&body)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.text().unwrap());
    };

    assert_eq!(
        decide("accounting", "read_invoice", json!({"invoice_id": "INV-1"}))["decision"],
        "allow"
    );
    assert_eq!(
        decide("crm", "delete_customer", json!({"id": "c-1"}))["decision"],
        "deny"
    );
    assert_eq!(
        decide(
            "accounting",
            "schedule_payment",
            json!({"amount": 25000, "iban": IBAN})
        )["decision"],
        "deny"
    );
    // One approval granted, one rejected.
    let asked = decide(
        "accounting",
        "schedule_payment",
        json!({"amount": 7500, "iban": IBAN}),
    );
    assert_eq!(asked["decision"], "needs_approval", "{asked}");
    let id = asked["id"].as_str().unwrap();
    admin_post(
        &format!("/v1/approvals/{id}/approve"),
        json!({"note": "invoice checked"}),
    );
    let outcome: Value = client
        .get(format!("{gateway}/v1/decisions/{id}?wait=10"))
        .bearer_auth(&jwt)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(outcome["decision"], "allow", "{outcome}");
    let asked = decide(
        "accounting",
        "schedule_payment",
        json!({"amount": 6000, "iban": IBAN}),
    );
    assert_eq!(asked["decision"], "needs_approval", "{asked}");
    let id = asked["id"].as_str().unwrap();
    admin_post(
        &format!("/v1/approvals/{id}/reject"),
        json!({"note": "not ordered"}),
    );
    // A suspension, and the action it stops.
    admin_post(
        "/v1/agents/invoice-bot/suspend",
        json!({"reason": "payment burst"}),
    );
    let mut stopped = Value::Null;
    for _ in 0..50 {
        stopped = decide("accounting", "read_invoice", json!({"invoice_id": "INV-2"}));
        if stopped["decision"] == "deny" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(stopped["decision"], "deny", "{stopped}");
    admin_post("/v1/agents/invoice-bot/resume", json!({}));
    // An incident.
    let opened = warden(
        data.path(),
        &[
            "incident",
            "open",
            "--title",
            "payments outside hours",
            "--agent",
            "invoice-bot",
        ],
    );
    assert!(opened.status.success(), "{}", text(&opened.stderr));
    // A revocation from the command line is an audit record too.
    let revoked = warden(
        data.path(),
        &[
            "agent",
            "revoke",
            "invoice-bot",
            "--instance",
            "laptop-1",
            "--reason",
            "laptop lost",
            "--gateway",
            &gateway,
        ],
    );
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    // A payload erased (crypto-shredding): the first decision's arguments.
    let erased = warden(
        data.path(),
        &["audit", "erase", "0", "--reason", "GDPR request 42"],
    );
    assert!(erased.status.success(), "{}", text(&erased.stderr));
    Run {
        data,
        admin,
        admin_token,
        _server: server,
    }
}

/// The records of an export, as plain JSON.
fn export(data: &Path) -> Vec<Value> {
    let dir = data.join("export");
    let out = warden(data, &["audit", "export", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::read_to_string(dir.join("records.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn str_of<'a>(r: &'a Value, key: &str) -> &'a str {
    r[key].as_str().unwrap_or("")
}

/// The value a claim should have, computed from the export without the
/// claim's own filter: from its id, what the report says it counts.
fn expected(id: &str, records: &[Value], now: i64) -> Value {
    let parts: Vec<&str> = id.split('/').collect();
    let agent_of = |a: &str| format!("spiffe://example.org/agent/{a}/");
    let of = |r: &Value, a: &str| str_of(r, "agent").starts_with(&agent_of(a));
    let is = |r: &Value, kind: &str, decision: &str| {
        str_of(r, "kind") == kind && (decision.is_empty() || str_of(r, "decision") == decision)
    };
    let count = |f: &dyn Fn(&Value) -> bool| json!(records.iter().filter(|r| f(r)).count());
    let answered = |a: &str| -> Vec<&Value> {
        records
            .iter()
            .filter(|r| is(r, "approval", "") && of(r, a))
            .collect()
    };
    match parts.as_slice() {
        ["eu-ai-act", "logging", "events"] => json!(records.len()),
        ["eu-ai-act", "logging", "erasures"] => count(&|r| is(r, "erasure", "")),
        ["eu-ai-act", "logging", "policy-digests"] => {
            let digests: BTreeSet<&str> = records
                .iter()
                .filter(|r| is(r, "decision", ""))
                .filter_map(|r| r["policy_digest"].as_str())
                .collect();
            json!(digests)
        }
        ["eu-ai-act", a, "events-logged"] => count(&|r| of(r, a)),
        ["eu-ai-act", a, "events-period"] => {
            let times: Vec<i64> = records
                .iter()
                .filter(|r| of(r, a))
                .map(|r| r["time_ms"].as_i64().unwrap())
                .collect();
            match (times.iter().min(), times.iter().max()) {
                (Some(f), Some(l)) => json!({"first_ms": f, "last_ms": l}),
                _ => Value::Null,
            }
        }
        ["eu-ai-act", a, "decisions-allowed"] => count(&|r| is(r, "decision", "allow") && of(r, a)),
        ["eu-ai-act", a, "decisions-denied"] => count(&|r| is(r, "decision", "deny") && of(r, a)),
        ["eu-ai-act", a, "approvals-asked"] => {
            count(&|r| is(r, "decision", "needs_approval") && of(r, a))
        }
        ["eu-ai-act", a, "approvals-granted"] => {
            count(&|r| is(r, "approval", "approved") && of(r, a))
        }
        ["eu-ai-act", a, "approvals-rejected"] => {
            count(&|r| is(r, "approval", "rejected") && of(r, a))
        }
        ["eu-ai-act", a, "approvals-timed-out"] => {
            let ids: BTreeSet<&str> = records
                .iter()
                .filter(|r| is(r, "approval", ""))
                .map(|r| str_of(r, "decision_id"))
                .collect();
            count(&|r| {
                is(r, "decision", "needs_approval")
                    && of(r, a)
                    && !ids.contains(str_of(r, "decision_id"))
                    && r["time_ms"].as_i64().unwrap() + 900_000 <= now
            })
        }
        ["eu-ai-act", a, "median-decision-ms"] => {
            let mut waits: Vec<i64> = answered(a)
                .iter()
                .filter_map(|r| {
                    let asked = records.iter().find(|q| {
                        is(q, "decision", "needs_approval") && q["decision_id"] == r["decision_id"]
                    })?;
                    Some(r["approval"]["at_ms"].as_i64()? - asked["time_ms"].as_i64()?)
                })
                .collect();
            waits.sort_unstable();
            waits
                .get(waits.len().saturating_sub(1) / 2)
                .map_or(Value::Null, |w| json!(w))
        }
        ["eu-ai-act", a, "approvers"] => {
            let by: BTreeSet<&str> = answered(a)
                .iter()
                .map(|r| r["approval"]["by"].as_str().unwrap())
                .collect();
            json!(by)
        }
        ["eu-ai-act", a, "suspensions"] => count(&|r| is(r, "admin", "suspended") && of(r, a)),
        ["eu-ai-act", a, "revocations"] => count(&|r| is(r, "admin", "revoked") && of(r, a)),
        ["dora" | "nis2", "incidents", "opened"] => count(&|r| is(r, "incident", "opened")),
        ["dora" | "nis2", "incidents", incident, "records"] => {
            count(&|r| is(r, "incident", "") && str_of(r, "decision_id") == *incident)
        }
        ["dora", a, "actions"] => count(&|r| is(r, "decision", "") && of(r, a)),
        ["nis2", "measures", "denied"] => count(&|r| is(r, "decision", "deny")),
        ["nis2", "measures", "approvals"] => count(&|r| is(r, "decision", "needs_approval")),
        ["nis2", "measures", "incident-records"] => count(&|r| is(r, "incident", "")),
        ["nis2", "measures", "tool-pins"] => count(&|r| is(r, "tool", "")),
        ["nis2", "measures", "admin-changes"] => count(&|r| is(r, "admin", "")),
        _ => panic!("no independent count for the claim `{id}`: add one to this test"),
    }
}

fn claims(doc: &Value) -> Vec<&Value> {
    doc["reports"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["sections"].as_array().unwrap())
        .flat_map(|s| s["claims"].as_array().unwrap())
        .collect()
}

fn claim<'a>(doc: &'a Value, id: &str) -> &'a Value {
    &claims(doc)
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no claim `{id}`"))["value"]
}

#[test]
fn reports_count_what_the_audit_export_holds_and_verify_offline() {
    let run = scripted_run();
    let data = run.data.path();
    let pack = data.join("pack");
    let out = warden(data, &["report", "all", "--out", pack.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let now = now_ms();
    let records = export(data);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(pack.join("report.json")).unwrap()).unwrap();

    // Every figure resting on records equals the independent count.
    let mut checked = 0;
    for c in claims(&doc) {
        if c["evidence"]["kind"] == "records" {
            let id = c["id"].as_str().unwrap();
            assert_eq!(c["value"], expected(id, &records, now), "claim `{id}`");
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} record claims");
    // The run is what the report shows.
    assert_eq!(
        claim(&doc, "eu-ai-act/invoice-bot/approvals-asked"),
        &json!(2)
    );
    assert_eq!(
        claim(&doc, "eu-ai-act/invoice-bot/approvals-granted"),
        &json!(1)
    );
    assert_eq!(
        claim(&doc, "eu-ai-act/invoice-bot/approvals-rejected"),
        &json!(1)
    );
    assert_eq!(claim(&doc, "eu-ai-act/invoice-bot/suspensions"), &json!(1));
    assert_eq!(claim(&doc, "eu-ai-act/invoice-bot/revocations"), &json!(1));
    assert_eq!(claim(&doc, "nis2/incidents/opened"), &json!(1));
    assert_eq!(claim(&doc, "eu-ai-act/logging/erasures"), &json!(1));
    assert_eq!(
        claim(&doc, "eu-ai-act/logging/retention")["retain_days"],
        json!(365)
    );
    let timeline = doc["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "nis2")
        .flat_map(|r| r["sections"].as_array().unwrap())
        .find(|s| s["id"].as_str().unwrap().starts_with("nis2/incidents/inc-"))
        .expect("the incident's NIS2 section");
    let stages: Vec<&str> = timeline["table"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["early-warning", "notification", "final"]);
    assert_eq!(
        claim(&doc, "eu-ai-act/invoice-bot/approvers"),
        &json!(["initial-admin"])
    );
    assert!(
        claim(&doc, "eu-ai-act/invoice-bot/decisions-denied")
            .as_u64()
            .unwrap()
            >= 3
    );
    assert_eq!(claim(&doc, "dora/invoice-bot/critical"), &json!(true));
    assert_eq!(
        claim(&doc, "eu-ai-act/logging/policy-digests"),
        &json!([doc["deployment"]["policy_digest"]])
    );
    assert_eq!(
        claim(&doc, "eu-ai-act/support-bot/class"),
        &json!("limited")
    );
    let sections: Vec<&str> = doc["reports"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["sections"].as_array().unwrap())
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        sections
            .iter()
            .any(|s| s.starts_with("dora/incidents/inc-")),
        "{sections:?}"
    );
    assert!(sections.contains(&"dora/third-parties"));

    // The admin API gives the same figures to an auditor.
    let auditor = warden(
        data,
        &[
            "admin-token",
            "create",
            "--role",
            "auditor",
            "--name",
            "kpmg",
        ],
    );
    assert!(auditor.status.success(), "{}", text(&auditor.stderr));
    let auditor = text(&auditor.stdout).trim().to_owned();
    // The gateway picks the new token up from the store within a moment.
    let mut api = Value::Null;
    for _ in 0..100 {
        api = reqwest::blocking::Client::new()
            .get(format!(
                "{}/v1/reports/eu-ai-act?agent=invoice-bot",
                run.admin
            ))
            .bearer_auth(&auditor)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if api["error"]["code"] != "invalid_token" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(api["format"], "warden-evidence-pack", "{api}");
    assert_eq!(
        claim(&api, "eu-ai-act/invoice-bot/approvals-granted"),
        &json!(1)
    );
    assert!(
        claims(&api)
            .iter()
            .all(|c| !c["id"].as_str().unwrap().contains("support-bot"))
    );
    let refused = reqwest::blocking::Client::new()
        .get(format!("{}/v1/reports/sox", run.admin))
        .bearer_auth(&run.admin_token)
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 404);

    // Offline, in another directory, with the standalone verifier.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("pack");
    warden_test::copy_dir(&pack, &copy);
    let ok = verify(&copy);
    let said = text(&ok.stdout);
    assert!(ok.status.success(), "{said}{}", text(&ok.stderr));
    assert!(
        said.contains("verified eu-ai-act/invoice-bot/approvals-granted = 1"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "ok: evidence pack, {} claims verified",
            claims(&doc).len()
        )),
        "{said}"
    );

    // A changed figure fails, naming the claim.
    let tampered = elsewhere.path().join("figure");
    warden_test::copy_dir(&pack, &tampered);
    let mut changed = doc.clone();
    for r in changed["reports"].as_array_mut().unwrap() {
        for s in r["sections"].as_array_mut().unwrap() {
            for c in s["claims"].as_array_mut().unwrap() {
                if c["id"] == "eu-ai-act/invoice-bot/approvals-granted" {
                    c["value"] = json!(2);
                }
            }
        }
    }
    std::fs::write(
        tampered.join("report.json"),
        serde_json::to_vec_pretty(&changed).unwrap(),
    )
    .unwrap();
    let failed = verify(&tampered);
    assert!(!failed.status.success());
    assert!(
        text(&failed.stderr).contains(
            "claim `eu-ai-act/invoice-bot/approvals-granted`: states 2, the records give 1"
        ),
        "{}",
        text(&failed.stderr)
    );

    // A removed proof fails, naming the first claim that rests on it.
    let granted = claims(&doc)
        .into_iter()
        .find(|c| c["id"] == "eu-ai-act/invoice-bot/approvals-granted")
        .unwrap()["evidence"]["indices"][0]
        .as_u64()
        .unwrap();
    let unproven = elsewhere.path().join("proof");
    warden_test::copy_dir(&pack, &unproven);
    let proofs = std::fs::read_to_string(unproven.join("evidence/proofs.jsonl")).unwrap();
    let kept: String = proofs
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).unwrap()["index"] != json!(granted))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(kept.len(), proofs.len());
    std::fs::write(unproven.join("evidence/proofs.jsonl"), kept).unwrap();
    let failed = verify(&unproven);
    let err = text(&failed.stderr);
    assert!(!failed.status.success());
    assert!(
        err.contains("error: claim `")
            && err.contains(&format!(
                "record {granted} has no inclusion proof in the pack"
            )),
        "{err}"
    );

    // The JSON validates against the published schema.
    schema_check(&pack.join("report.json"));

    // The HTML is self-contained and escaped; the PDF is a real page.
    let html = std::fs::read_to_string(pack.join("report.html")).unwrap();
    assert!(html.contains("invoice-bot: human oversight (Art. 14)"));
    assert!(html.contains("payments over 5,000 wait for a finance approver"));
    assert!(!html.contains("<script") && !html.contains("src=\"http"));
    pdf_check(&pack, &text(&out.stdout));
}

fn schema_check(report: &Path) {
    let python = tests_dir("console").join(".venv/bin/python");
    let has_jsonschema = python.is_file()
        && Command::new(&python)
            .args(["-c", "import jsonschema"])
            .status()
            .is_ok_and(|s| s.success());
    if !has_jsonschema {
        warden_test::skip_unless_strict(
            "report.json schema validation",
            "tests/console/.venv with jsonschema",
            "tests/console/setup.sh",
        );
        return;
    }
    let schema = examples().join("../docs/report.schema.json");
    let script = "import json,sys,jsonschema\n\
        s=json.load(open(sys.argv[1]))\n\
        jsonschema.Draft202012Validator.check_schema(s)\n\
        jsonschema.Draft202012Validator(s).validate(json.load(open(sys.argv[2])))\n\
        print('valid')";
    let out = Command::new(&python)
        .args(["-c", script])
        .arg(&schema)
        .arg(report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report.json does not validate: {}",
        text(&out.stderr)
    );
    // And an invalid one does not: the validator is really checking.
    let mut doc: Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    doc["reports"][0]["sections"][0]["claims"][0]["evidence"] = json!({"kind": "hearsay"});
    let bad = report.with_file_name("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = Command::new(&python)
        .args(["-c", script])
        .arg(&schema)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "an evidence of kind `hearsay` validated"
    );
    std::fs::remove_file(bad).unwrap();
}

fn pdf_check(pack: &Path, said: &str) {
    if !Path::new("/usr/bin/chromium").is_file()
        || Command::new("pdftoppm").arg("-v").output().is_err()
    {
        warden_test::skip_unless_strict(
            "report.pdf rendering",
            "/usr/bin/chromium or pdftoppm",
            "tests/console/setup.sh",
        );
        return;
    }
    assert!(said.contains("rendered "), "{said}");
    let pdf = std::fs::read(pack.join("report.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "report.pdf is not a PDF");
    let out = tempfile::tempdir().unwrap();
    let png = out.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"])
        .arg(pack.join("report.pdf"))
        .arg(&png)
        .status()
        .unwrap();
    assert!(status.success(), "pdftoppm cannot render page 1");
    let image = std::fs::read(png.with_extension("png")).unwrap();
    assert!(
        image.starts_with(b"\x89PNG") && image.len() > 2_000,
        "page 1 rendered to {} bytes",
        image.len()
    );
}

/// The examples, copied so that a test can change them.
fn examples_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        examples().join("warden.toml"),
        dir.path().join("warden.toml"),
    )
    .unwrap();
    warden_test::copy_dir(&examples().join("agents"), &dir.path().join("agents"));
    warden_test::copy_dir(&examples().join("policies"), &dir.path().join("policies"));
    dir
}

fn lint(config: &Path) -> Output {
    let data = config.join("data");
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(config.join("warden.toml"))
        .arg("--data-dir")
        .arg(&data)
        .args(["policy", "lint"])
        .env_remove("WARDEN_STORE")
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn lint_names_each_field_a_classification_claim_lacks() {
    let ok = lint(examples_copy().path());
    assert!(
        ok.status.success(),
        "the examples lint clean: {}{}",
        text(&ok.stdout),
        text(&ok.stderr)
    );
    assert!(
        !text(&ok.stdout).contains("suggestion:"),
        "{}",
        text(&ok.stdout)
    );

    let dir = examples_copy();
    let file = dir.path().join("agents/research-bot.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        yaml.replace(
            "risk: { eu_ai_act: minimal }",
            "risk: { eu_ai_act: high-risk, dora_critical: true }",
        ),
    )
    .unwrap();
    let out = lint(dir.path());
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    for field in ["risk.annex_iii", "risk.oversight", "risk.critical_function"] {
        assert!(
            err.contains(&format!(
                "agents/research-bot.yaml:4:7: field `{field}`: missing `{field}`"
            )),
            "{field}: {err}"
        );
    }
    assert!(err.contains("3 classification field(s) missing"), "{err}");

    // An unknown key is an error naming file and line; a bad Annex III point too.
    std::fs::write(
        &file,
        yaml.replace(
            "risk: { eu_ai_act: minimal }",
            "risk: { eu_ai_act: high-risk, annex_iii: \"5(f)\", oversigt: [a] }",
        ),
    )
    .unwrap();
    let err = text(&lint(dir.path()).stderr);
    assert!(
        err.contains("agents/research-bot.yaml:4")
            && err.contains("unknown field `oversigt` (did you mean `oversight`?)"),
        "{err}"
    );
    assert!(err.contains("Annex III area 5 has points a to d"), "{err}");

    // A classification is suggested from what the agent can do, never applied.
    std::fs::write(
        &file,
        yaml.replace(
            "risk: { eu_ai_act: minimal }",
            "risk: { eu_ai_act: minimal }\ndata: { may_read: [health] }",
        )
        .replace(
            "    list_directory: read",
            "    list_directory: read\n    write_file: write",
        ),
    )
    .unwrap();
    let out = lint(dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("suggestion: agents/research-bot.yaml: agent `research-bot`: consider `eu_ai_act: high-risk` (Annex III 5(a)"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("eu_ai_act: minimal")
    );
}

#[test]
fn a_high_risk_agent_needs_six_months_of_logs() {
    let dir = examples_copy();
    let config = dir.path().join("warden.toml");
    let toml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        toml.replace("retain_days = 365", "retain_days = 90"),
    )
    .unwrap();
    assert!(
        lint(dir.path()).status.success(),
        "no high-risk agent: 90 days is the deployer's choice"
    );
    let file = dir.path().join("agents/research-bot.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        yaml.replace("risk: { eu_ai_act: minimal }", "risk: { eu_ai_act: high-risk, annex_iii: \"4(a)\", oversight: [\"a recruiter reviews each shortlist\"] }"),
    )
    .unwrap();
    let out = lint(dir.path());
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("field `audit.retain_days`: `retain_days = 90` is shorter than the 183 days (six months) EU AI Act Art. 26(6) and Art. 19 require while an agent is high-risk (`research-bot`)"),
        "{err}"
    );
    assert!(err.contains("warden.toml:"), "{err}");
}
