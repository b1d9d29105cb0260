//! Runs the binary on exports written by `warden_audit::write_export`.

use std::path::Path;
use std::process::Command;

use warden_audit::{
    AuditRecord, Checkpoint, CheckpointSigner, CompactRange, RecordKind, leaf_hash, write_export,
};

fn export(dir: &Path) -> String {
    let signer = CheckpointSigner::generate("cli.test").unwrap_or_else(|e| unreachable!("{e}"));
    let mut range = CompactRange::new();
    let mut records = Vec::new();
    for index in 0..5u64 {
        let encoded = AuditRecord::new(index, 0, RecordKind::Decision, "cli").encode();
        range.append(leaf_hash(&encoded));
        records.push((index, encoded, None));
    }
    let note = signer.sign(&Checkpoint {
        origin: "cli.test/log".into(),
        size: 5,
        root: range.root(),
    });
    write_export(dir, records.into_iter(), &[note], &signer.verifier_key())
        .unwrap_or_else(|e| unreachable!("{e}"));
    hex::encode(range.root())
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden-audit-verify"))
        .args(args)
        .output()
        .unwrap_or_else(|e| unreachable!("{e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verifies_a_good_export_and_names_the_first_failure() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let dir = tmp.path().join("export");
    let root = export(&dir);
    let dir_arg = dir.to_string_lossy().into_owned();

    let (ok, stdout, _) = run(&[&dir_arg]);
    assert!(ok);
    assert_eq!(
        stdout,
        format!("ok: 5 records, 1 checkpoints, tree size 5, root {root}\n")
    );

    let vkey = std::fs::read_to_string(dir.join("vkey")).unwrap_or_default();
    let (ok, _, _) = run(&[&dir_arg, "--vkey-string", vkey.trim()]);
    assert!(ok);
    let other = CheckpointSigner::generate("cli.test").unwrap_or_else(|e| unreachable!("{e}"));
    let (ok, _, stderr) = run(&[&dir_arg, "--vkey-string", &other.verifier_key()]);
    assert!(!ok);
    assert!(
        stderr.contains("checkpoint") && stderr.contains("5.note"),
        "{stderr}"
    );

    let records = dir.join("records.jsonl");
    let text = std::fs::read_to_string(&records).unwrap_or_default();
    std::fs::write(&records, text.replacen("\"index\":2,", "\"index\":3,", 1)).unwrap_or_default();
    let (ok, stdout, stderr) = run(&[&dir_arg]);
    assert!(!ok && stdout.is_empty());
    assert!(stderr.starts_with("error: record 2:"), "{stderr}");

    let (ok, _, stderr) = run(&[&dir_arg, "--vkey", "/nonexistent/vkey"]);
    assert!(!ok && stderr.contains("/nonexistent/vkey"));
}
