//! Writing an export and verifying it offline; every alteration is named.

use std::fs;
use std::path::{Path, PathBuf};

use warden_audit::export::{CHECKPOINTS_DIR, PAYLOADS_FILE, RECORDS_FILE};
use warden_audit::*;

const ORIGIN: &str = "warden.test/audit";

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    vkey: String,
    signer: CheckpointSigner,
    records: Vec<(u64, Vec<u8>, Option<Vec<u8>>)>,
    keys: Vec<Option<PayloadKey>>,
}

fn record(index: u64, payload: Option<&SealedPayload>) -> AuditRecord {
    let mut record = AuditRecord::new(
        index,
        1_767_225_600_000 + index as i64,
        RecordKind::Decision,
        "mcp_http",
    );
    record.agent = Some(format!("spiffe://example.org/agent/bot/{}", index % 3));
    record.tool = Some("send_mail".into());
    record.decision = Some(
        if index.is_multiple_of(4) {
            "deny"
        } else {
            "allow"
        }
        .into(),
    );
    record.reasons = vec![format!("reason \"{index}\"")];
    record.payload_digest = payload.map(SealedPayload::digest);
    record
}

/// An export of `n` records, every third with a sealed payload, checkpoints
/// at each size in `sizes`.
fn fixture(n: u64, sizes: &[u64]) -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let path = dir.path().join("export");
    let signer = CheckpointSigner::generate("warden.test").unwrap_or_else(|e| unreachable!("{e}"));
    let mut range = CompactRange::new();
    let mut records = Vec::new();
    let mut keys = Vec::new();
    let mut notes = Vec::new();
    for index in 0..n {
        let sealed = index
            .is_multiple_of(3)
            .then(|| seal(format!("args of {index}").as_bytes()));
        let encoded = record(index, sealed.as_ref().map(|s| &s.0)).encode();
        range.append(leaf_hash(&encoded));
        keys.push(sealed.as_ref().map(|s| s.1.clone()));
        records.push((index, encoded, sealed.map(|s| s.0.ciphertext)));
        if sizes.contains(&range.size()) {
            notes.push(signer.sign(&Checkpoint {
                origin: ORIGIN.into(),
                size: range.size(),
                root: range.root(),
            }));
        }
    }
    if sizes.contains(&0) {
        notes.push(signer.sign(&Checkpoint {
            origin: ORIGIN.into(),
            size: 0,
            root: empty_root(),
        }));
    }
    let vkey = signer.verifier_key();
    write_export(&path, records.clone().into_iter(), &notes, &vkey)
        .unwrap_or_else(|e| unreachable!("{e}"));
    Fixture {
        _dir: dir,
        path,
        vkey,
        signer,
        records,
        keys,
    }
}

fn verify(f: &Fixture) -> Result<ExportReport, VerifyError> {
    verify_export(&f.path, &f.vkey)
}

fn flip(path: &Path, offset: usize, mask: u8) {
    let mut bytes = fs::read(path).unwrap_or_default();
    bytes[offset] ^= mask;
    fs::write(path, bytes).unwrap_or_default();
}

#[test]
fn a_written_export_verifies() {
    let f = fixture(100, &[0, 10, 64, 100]);
    let report = verify(&f).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(
        (report.records, report.checkpoints, report.size),
        (100, 4, 100)
    );
    let leaves: Vec<Hash> = f.records.iter().map(|r| leaf_hash(&r.1)).collect();
    assert_eq!(report.root, root_of(&leaves));
    assert_eq!(
        fs::read_to_string(f.path.join("vkey")).ok(),
        Some(format!("{}\n", f.vkey))
    );
    // The payloads open with their keys.
    let (_, _, Some(ciphertext)) = &f.records[3] else {
        unreachable!()
    };
    let key = f.keys[3].as_ref().unwrap_or_else(|| unreachable!());
    let payload = SealedPayload {
        ciphertext: ciphertext.clone(),
    };
    assert_eq!(open(&payload, key).ok(), Some(b"args of 3".to_vec()));
}

#[test]
fn an_empty_export_verifies() {
    let f = fixture(0, &[0]);
    let report = verify(&f).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(
        (report.records, report.checkpoints, report.root),
        (0, 1, empty_root())
    );
}

#[test]
fn flipping_any_record_byte_names_the_record_or_its_checkpoint() {
    // Every byte of the first record, every ninth byte elsewhere
    // (each verification checks Ed25519 signatures, slow in debug builds).
    let f = fixture(8, &[5, 8]);
    let records_path = f.path.join(RECORDS_FILE);
    let original = fs::read(&records_path).unwrap_or_default();
    let mut line_starts = vec![0usize];
    line_starts.extend(
        original
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1),
    );
    for offset in 0..original.len() {
        let line = line_starts
            .iter()
            .rposition(|start| *start <= offset)
            .unwrap_or(0) as u64;
        if line != 0 && offset % 9 != 0 {
            continue;
        }
        let masks: &[u8] = if offset % 4 == 0 {
            &[0x01, 0x20]
        } else {
            &[0x01]
        };
        for &mask in masks {
            fs::write(&records_path, &original).unwrap_or_default();
            flip(&records_path, offset, mask);
            match verify(&f) {
                Ok(_) => unreachable!("byte {offset} ^ {mask:#x} went unnoticed"),
                Err(VerifyError::Record { index, .. }) => {
                    assert!(index == line || index == line + 1, "{offset}")
                }
                Err(VerifyError::RootMismatch { size, .. }) => {
                    assert_eq!(size, if line < 5 { 5 } else { 8 }, "byte {offset}")
                }
                Err(VerifyError::Payload { index, .. }) => assert_eq!(index, line, "byte {offset}"),
                Err(other) => unreachable!("byte {offset}: {other}"),
            }
        }
    }
}

#[test]
fn flipping_any_payload_byte_names_the_payload() {
    let f = fixture(10, &[10]);
    let payloads_path = f.path.join(PAYLOADS_FILE);
    let original = fs::read(&payloads_path).unwrap_or_default();
    for offset in 0..original.len() {
        fs::write(&payloads_path, &original).unwrap_or_default();
        flip(&payloads_path, offset, 0x01);
        match verify(&f) {
            Err(VerifyError::Payload { .. } | VerifyError::Malformed { .. }) => {}
            other => unreachable!("byte {offset}: {other:?}"),
        }
    }
}

#[test]
fn flipping_any_checkpoint_byte_names_the_file() {
    let f = fixture(10, &[4, 10]);
    let file = f.path.join(CHECKPOINTS_DIR).join("4.note");
    let original = fs::read(&file).unwrap_or_default();
    for offset in 0..original.len() {
        fs::write(&file, &original).unwrap_or_default();
        flip(&file, offset, 0x01);
        match verify(&f) {
            Err(VerifyError::Checkpoint { file: named, .. }) => assert_eq!(named, file),
            other => unreachable!("byte {offset}: {other:?}"),
        }
    }
}

#[test]
fn erased_payloads_still_verify() {
    let f = fixture(20, &[20]);
    // The payload of record 3 dropped from the export, as after its key was destroyed.
    let payloads_path = f.path.join(PAYLOADS_FILE);
    let text = fs::read_to_string(&payloads_path).unwrap_or_default();
    let kept: String = text
        .lines()
        .filter(|l| !l.ends_with(",\"index\":3}"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(kept.lines().count() + 1, text.lines().count());
    fs::write(&payloads_path, kept).unwrap_or_default();
    assert!(verify(&f).is_ok());
    // Without the key the ciphertext that is kept tells nothing, and the log verifies.
    fs::remove_file(&payloads_path).unwrap_or_default();
    assert_eq!(verify(&f).map(|r| r.records).ok(), Some(20));
}

#[test]
fn structural_problems_are_named() {
    // Records beyond the last checkpoint.
    let f = fixture(10, &[8]);
    assert!(matches!(
        verify(&f),
        Err(VerifyError::Unsigned {
            signed: 8,
            records: 10
        })
    ));

    // A removed last record: the checkpoint of size 10 outlives it.
    let f = fixture(10, &[5, 10]);
    let records_path = f.path.join(RECORDS_FILE);
    let text = fs::read_to_string(&records_path).unwrap_or_default();
    let fewer: String = text.lines().take(9).map(|l| format!("{l}\n")).collect();
    fs::write(&records_path, &fewer).unwrap_or_default();
    assert!(matches!(verify(&f), Err(VerifyError::Checkpoint { .. })));

    // A removed middle record shifts the numbering.
    let gap: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    fs::write(&records_path, &gap).unwrap_or_default();
    assert!(matches!(
        verify(&f),
        Err(VerifyError::Record { index: 2, .. })
    ));

    // A truncated last line.
    fs::write(&records_path, text.trim_end_matches('\n')).unwrap_or_default();
    assert!(matches!(
        verify(&f),
        Err(VerifyError::Record { index: 9, .. })
    ));
    fs::write(&records_path, &text).unwrap_or_default();
    assert!(verify(&f).is_ok());

    // A checkpoint misnamed, or a stray file.
    let dir = f.path.join(CHECKPOINTS_DIR);
    fs::rename(dir.join("5.note"), dir.join("6.note")).unwrap_or_default();
    assert!(matches!(verify(&f), Err(VerifyError::Checkpoint { .. })));
    fs::rename(dir.join("6.note"), dir.join("05.note")).unwrap_or_default();
    assert!(matches!(verify(&f), Err(VerifyError::Checkpoint { .. })));
    fs::rename(dir.join("05.note"), dir.join("5.note")).unwrap_or_default();
    assert!(verify(&f).is_ok());

    // A checkpoint signed by another key, or a checkpoint of another origin.
    let other = CheckpointSigner::generate("warden.test").unwrap_or_else(|e| unreachable!("{e}"));
    let good = fs::read_to_string(dir.join("5.note")).unwrap_or_default();
    let checkpoint = open_checkpoint(&good, &f.vkey).unwrap_or_else(|e| unreachable!("{e}"));
    fs::write(dir.join("5.note"), other.sign(&checkpoint)).unwrap_or_default();
    assert!(matches!(verify(&f), Err(VerifyError::Checkpoint { .. })));
    let moved = Checkpoint {
        origin: "elsewhere".into(),
        ..checkpoint.clone()
    };
    fs::write(dir.join("5.note"), f.signer.sign(&moved)).unwrap_or_default();
    assert!(matches!(verify(&f), Err(VerifyError::Checkpoint { .. })));
    // A validly signed checkpoint with the wrong root.
    let forged = Checkpoint {
        root: [0; 32],
        ..checkpoint
    };
    fs::write(dir.join("5.note"), f.signer.sign(&forged)).unwrap_or_default();
    assert!(matches!(
        verify(&f),
        Err(VerifyError::RootMismatch { size: 5, .. })
    ));

    // A bad verifier key, a missing records file.
    assert!(matches!(
        verify_export(&f.path, "nonsense"),
        Err(VerifyError::VerifierKey { .. })
    ));
    fs::remove_file(&records_path).unwrap_or_default();
    assert!(matches!(verify(&f), Err(VerifyError::Io { .. })));
}

#[test]
fn payload_lines_must_match_records() {
    let f = fixture(10, &[10]);
    let payloads_path = f.path.join(PAYLOADS_FILE);
    let text = fs::read_to_string(&payloads_path).unwrap_or_default();
    // A payload for a record without payload_digest.
    let moved = text.replacen(",\"index\":3}", ",\"index\":4}", 1);
    fs::write(&payloads_path, moved).unwrap_or_default();
    assert!(matches!(
        verify(&f),
        Err(VerifyError::Payload { index: 4, .. })
    ));
    // Two payloads swapped (out of order).
    let lines: Vec<&str> = text.lines().collect();
    let swapped = format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2..].join("\n"));
    fs::write(&payloads_path, swapped).unwrap_or_default();
    assert!(matches!(
        verify(&f),
        Err(VerifyError::Payload { index: 0, .. })
    ));
    // A payload past the last record.
    fs::write(
        &payloads_path,
        format!("{text}{{\"ciphertext\":\"AAAA\",\"index\":99}}\n"),
    )
    .unwrap_or_default();
    assert!(matches!(
        verify(&f),
        Err(VerifyError::Payload { index: 99, .. })
    ));
}

#[test]
fn write_export_refuses_bad_input() {
    let f = fixture(3, &[3]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let note = f.signer.sign(&Checkpoint {
        origin: ORIGIN.into(),
        size: 0,
        root: empty_root(),
    });
    // Not empty.
    assert!(write_export(&f.path, std::iter::empty(), &[], &f.vkey).is_err());
    // Misnumbered.
    let records = vec![(1u64, b"{}".to_vec(), None)];
    assert!(write_export(&dir.path().join("a"), records.into_iter(), &[], &f.vkey).is_err());
    // A record with a newline.
    let records = vec![(0u64, b"{\n}".to_vec(), None)];
    assert!(write_export(&dir.path().join("b"), records.into_iter(), &[], &f.vkey).is_err());
    // A checkpoint of another key.
    let other = CheckpointSigner::generate("x").unwrap_or_else(|e| unreachable!("{e}"));
    assert!(
        write_export(
            &dir.path().join("c"),
            std::iter::empty(),
            &[note],
            &other.verifier_key()
        )
        .is_err()
    );
}
