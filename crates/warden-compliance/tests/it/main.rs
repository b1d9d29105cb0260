//! Evidence packs built from a log made here, verified by `verify_pack`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::collections::HashMap;
use std::path::Path;

use warden_audit::pack::{EvidenceRef, Period, verify_pack};
use warden_audit::{
    ApprovalInfo, AuditRecord, Checkpoint, CheckpointSigner, CompactRange, RecordKind,
    inclusion_plan,
};
use warden_compliance::{AuditSlice, ReportInputs, ReportKind, build, html, write_pack};
use warden_policy::{Config, Manifest};

const T0: i64 = 1_767_225_600_000;

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn record(index: u64, kind: RecordKind, agent: &str, decision: &str, id: &str) -> AuditRecord {
    let mut r = AuditRecord::new(index, T0 + 1000 * index as i64, kind, "decision_api");
    r.agent = Some(format!("spiffe://example.org/agent/{agent}/laptop-1"));
    r.decision = Some(decision.to_owned());
    r.decision_id = Some(id.to_owned());
    r
}

/// A log: allow, deny, a needs_approval answered after 4 s by `alice`.
fn log() -> Vec<AuditRecord> {
    let mut records = vec![
        record(0, RecordKind::Decision, "invoice-bot", "allow", "d0"),
        record(1, RecordKind::Decision, "invoice-bot", "deny", "d1"),
        record(
            2,
            RecordKind::Decision,
            "invoice-bot",
            "needs_approval",
            "a1",
        ),
        record(3, RecordKind::Decision, "support-bot", "allow", "d3"),
    ];
    let mut approval = record(4, RecordKind::Approval, "invoice-bot", "approved", "a1");
    approval.approval = Some(ApprovalInfo {
        id: "a1".into(),
        by: "alice <script>".into(),
        at_ms: T0 + 6000,
    });
    records.push(approval);
    records
}

fn pack(dir: &Path) -> (String, warden_audit::pack::PackDocument) {
    let config_text = std::fs::read_to_string(examples().join("warden.toml")).unwrap();
    let config = Config::parse("warden.toml", &config_text, &examples()).unwrap();
    let manifests: Vec<Manifest> = ["invoice-bot", "support-bot"]
        .iter()
        .map(|a| {
            let file = format!("agents/{a}.yaml");
            let text = std::fs::read_to_string(examples().join(&file)).unwrap();
            Manifest::parse(&file, &text, &config).unwrap()
        })
        .collect();
    let records = log();
    let signer = CheckpointSigner::generate("audit.example").unwrap();
    let mut tree = CompactRange::new();
    let mut nodes = HashMap::new();
    for r in &records {
        nodes.extend(tree.append(r.leaf_hash()));
    }
    let note = signer.sign(&Checkpoint {
        origin: "audit.example/log".into(),
        size: tree.size(),
        root: tree.root(),
    });
    let inputs = ReportInputs {
        config: &config,
        config_text: &config_text,
        manifests: &manifests,
        policies: &[],
        policy_digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        slice: &records,
        evidence: EvidenceRef {
            first_index: 0,
            end_index: 5,
            tree_size: tree.size(),
            root: hex::encode(tree.root()),
        },
        period: Period {
            from_ms: T0,
            to_ms: T0 + 60_000,
        },
        agent: None,
        incidents: &[],
        generated_at_ms: T0 + 60_000,
    };
    let (doc, files) = build(&inputs, &ReportKind::parse_list("all").unwrap()).unwrap();
    let audit = AuditSlice {
        records: records.iter().map(|r| (r.index, r.encode())).collect(),
        proofs: records
            .iter()
            .map(|r| {
                (
                    r.index,
                    inclusion_plan(r.index, 5)
                        .unwrap()
                        .assemble(&nodes)
                        .unwrap(),
                )
            })
            .collect(),
        checkpoint: note,
        vkey: signer.verifier_key(),
    };
    write_pack(dir, &doc, &files, &audit).unwrap();
    (signer.verifier_key(), doc)
}

fn value(doc: &warden_audit::pack::PackDocument, id: &str) -> serde_json::Value {
    doc.reports
        .iter()
        .flat_map(|r| &r.sections)
        .flat_map(|s| &s.claims)
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no claim `{id}`"))
        .value
        .clone()
}

#[test]
fn a_pack_verifies_and_its_figures_are_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (vkey, doc) = pack(dir.path());
    assert_eq!(value(&doc, "eu-ai-act/invoice-bot/events-logged"), 4);
    assert_eq!(value(&doc, "eu-ai-act/invoice-bot/approvals-asked"), 1);
    assert_eq!(value(&doc, "eu-ai-act/invoice-bot/approvals-granted"), 1);
    assert_eq!(
        value(&doc, "eu-ai-act/invoice-bot/median-decision-ms"),
        4000
    );
    assert_eq!(
        value(&doc, "eu-ai-act/invoice-bot/approvers"),
        serde_json::json!(["alice <script>"])
    );
    assert_eq!(value(&doc, "eu-ai-act/support-bot/events-logged"), 1);
    assert_eq!(value(&doc, "eu-ai-act/logging/events"), 5);
    let report = verify_pack(dir.path(), &vkey).unwrap();
    assert_eq!(report.records, 5);
    assert_eq!(
        report.claims.len(),
        doc.reports
            .iter()
            .flat_map(|r| &r.sections)
            .map(|s| s.claims.len())
            .sum::<usize>()
    );
}

#[test]
fn a_changed_manifest_or_another_key_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (vkey, _) = pack(dir.path());
    let other = CheckpointSigner::generate("audit.example")
        .unwrap()
        .verifier_key();
    let err = verify_pack(dir.path(), &other).unwrap_err().to_string();
    assert!(err.contains("the checkpoint does not verify"), "{err}");
    let manifest = dir.path().join("files/agents/invoice-bot.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("dora_critical: true", "dora_critical: false"),
    )
    .unwrap();
    let err = verify_pack(dir.path(), &vkey).unwrap_err().to_string();
    assert!(err.contains("invoice-bot.yaml: its SHA-256 is"), "{err}");
}

#[test]
fn the_html_escapes_what_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    let (_, doc) = pack(dir.path());
    let page = html::render(&doc);
    assert!(page.contains("alice &lt;script&gt;"));
    assert!(!page.contains("alice <script>"));
    assert_eq!(
        html::escape(r#"<a href="x">&'"#),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
}

#[test]
fn an_unknown_kind_is_refused_by_name() {
    let err = ReportKind::parse_list("sox").unwrap_err().to_string();
    assert_eq!(
        err,
        "unknown report `sox`: expected eu-ai-act, dora, nis2 or all"
    );
}

/// Rewrites the pack's report.json through `change`.
fn edit(dir: &Path, change: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("report.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    change(&mut doc);
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
}

fn claim_mut<'a>(doc: &'a mut serde_json::Value, id: &str) -> &'a mut serde_json::Value {
    doc["reports"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .flat_map(|r| r["sections"].as_array_mut().unwrap())
        .flat_map(|s| s["claims"].as_array_mut().unwrap())
        .find(|c| c["id"] == id)
        .unwrap()
}

#[test]
fn a_claim_citing_other_records_or_a_person_claim_with_a_value_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (vkey, _) = pack(dir.path());
    edit(dir.path(), |doc| {
        claim_mut(doc, "eu-ai-act/invoice-bot/decisions-denied")["evidence"]["indices"] =
            serde_json::json!([0]);
    });
    let err = verify_pack(dir.path(), &vkey).unwrap_err().to_string();
    assert_eq!(
        err,
        "claim `eu-ai-act/invoice-bot/decisions-denied`: it cites records [0], its filter selects [1]"
    );

    let dir = tempfile::tempdir().unwrap();
    let (vkey, _) = pack(dir.path());
    edit(dir.path(), |doc| {
        claim_mut(doc, "eu-ai-act/invoice-bot/annex-iv/5-risk-management")["value"] =
            serde_json::json!("done");
    });
    let err = verify_pack(dir.path(), &vkey).unwrap_err().to_string();
    assert!(
        err.contains("a claim left to a person carries no value from Warden"),
        "{err}"
    );
}

#[test]
fn a_changed_record_or_a_file_outside_the_pack_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (vkey, _) = pack(dir.path());
    let records = dir.path().join("evidence/records.jsonl");
    let text = std::fs::read_to_string(&records).unwrap();
    std::fs::write(&records, text.replacen("\"deny\"", "\"allow\"", 1)).unwrap();
    let err = verify_pack(dir.path(), &vkey).unwrap_err().to_string();
    assert!(
        err.starts_with("evidence: record 1: inclusion proof does not verify"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let (vkey, _) = pack(dir.path());
    edit(dir.path(), |doc| {
        doc["files"][0]["path"] = serde_json::json!("../../etc/passwd")
    });
    let err = verify_pack(dir.path(), &vkey).unwrap_err().to_string();
    assert!(
        err.contains("file path `../../etc/passwd` leaves the pack"),
        "{err}"
    );
}

#[test]
fn measures_take_the_lower_median_and_count_unanswered_approvals_once_timed_out() {
    use warden_audit::pack::{Measure, RecordFilter, measure};
    let mut records = log();
    // A second request, answered after 10 s: waits are 4 s and 10 s.
    records.push(record(
        5,
        RecordKind::Decision,
        "invoice-bot",
        "needs_approval",
        "a2",
    ));
    let mut late = record(6, RecordKind::Approval, "invoice-bot", "rejected", "a2");
    late.approval = Some(ApprovalInfo {
        id: "a2".into(),
        by: "bob".into(),
        at_ms: T0 + 15_000,
    });
    records.push(late);
    // And one nobody answered.
    records.push(record(
        7,
        RecordKind::Decision,
        "invoice-bot",
        "needs_approval",
        "a3",
    ));
    let all = RecordFilter {
        from_ms: T0,
        to_ms: T0 + 60_000,
        ..RecordFilter::default()
    };
    let approvals = RecordFilter {
        kinds: vec!["approval".into()],
        ..all.clone()
    };
    let (indices, median) = measure(&records, &approvals, &Measure::MedianDecisionMs);
    assert_eq!(indices, [4, 6]);
    assert_eq!(median, 4000);
    assert_eq!(
        measure(&records, &approvals, &Measure::Approvers).1,
        serde_json::json!(["alice <script>", "bob"])
    );
    let asked = RecordFilter {
        decisions: vec!["needs_approval".into()],
        ..all
    };
    let timed_out = |as_of_ms| {
        measure(
            &records,
            &asked,
            &Measure::TimedOut {
                timeout_ms: 900_000,
                as_of_ms,
            },
        )
        .1
    };
    assert_eq!(timed_out(T0 + 7_000 + 899_999), 0);
    assert_eq!(timed_out(T0 + 7_000 + 900_000), 1);
}
