//! Writes a small sample export (25 records, some with sealed payloads, one
//! erased, checkpoints at 10 and 25) and verifies it.
//!
//! `cargo run -p warden-audit --example export -- /tmp/warden-export`
//! then `warden-audit-verify /tmp/warden-export`.

use std::path::PathBuf;
use std::process::ExitCode;

use warden_audit::{
    AuditError, AuditRecord, Checkpoint, CheckpointSigner, CompactRange, RecordKind, seal,
    verify_export, write_export,
};

fn run(dir: PathBuf) -> Result<(), AuditError> {
    let signer = CheckpointSigner::generate("example.warden")?;
    let mut range = CompactRange::new();
    let (mut records, mut notes) = (Vec::new(), Vec::new());
    for index in 0..25u64 {
        let kind = if index == 20 {
            RecordKind::Erasure
        } else {
            RecordKind::Decision
        };
        let mut record = AuditRecord::new(
            index,
            1_767_225_600_000 + 1000 * index as i64,
            kind,
            "mcp_stdio",
        );
        let mut ciphertext = None;
        if kind == RecordKind::Erasure {
            record.erases = Some(3);
            record.note = Some("payload of record 3 erased on request".into());
        } else {
            record.agent = Some("spiffe://example.org/agent/invoice-bot/1".into());
            record.tool = Some("read_invoice".into());
            record.decision = Some("allow".into());
            if index % 3 == 0 {
                let (sealed, _key) = seal(format!("{{\"invoice\":{index}}}").as_bytes());
                record.payload_digest = Some(sealed.digest());
                // Record 3's key was destroyed: its ciphertext is not exported.
                ciphertext = (index != 3).then_some(sealed.ciphertext);
            }
        }
        let encoded = record.encode();
        range.append(warden_audit::leaf_hash(&encoded));
        records.push((index, encoded, ciphertext));
        if range.size() == 10 || range.size() == 25 {
            let checkpoint = Checkpoint {
                origin: "example.warden/audit".into(),
                size: range.size(),
                root: range.root(),
            };
            notes.push(signer.sign(&checkpoint));
        }
    }
    write_export(&dir, records.into_iter(), &notes, &signer.verifier_key())?;
    match verify_export(&dir, &signer.verifier_key()) {
        Ok(report) => println!("wrote {} records to {}", report.records, dir.display()),
        Err(e) => println!("wrote an export that does not verify: {e}"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("warden-export"), PathBuf::from);
    match run(dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
