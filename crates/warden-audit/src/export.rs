//! The export directory: what an auditor receives, and the offline check of it.
//!
//! ```text
//! DIR/vkey                   the log's C2SP verifier key, one line
//! DIR/records.jsonl          record i on line i: its canonical encoding (the leaf data)
//! DIR/payloads.jsonl         {"ciphertext":"<base64>","index":i} for sealed payloads kept
//! DIR/checkpoints/<n>.note   signed checkpoint of tree size n
//! ```

use std::fs;
use std::io::{BufWriter, Write as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::canonical::{write_int, write_string};
use crate::{AuditError, Checkpoint};

mod verify;

pub use verify::{ExportReport, VerifyError, verify_export};

/// The file holding the verifier key.
pub const VKEY_FILE: &str = "vkey";
/// The file holding the records, one canonical encoding per line.
pub const RECORDS_FILE: &str = "records.jsonl";
/// The file holding the sealed payloads that were not erased.
pub const PAYLOADS_FILE: &str = "payloads.jsonl";
/// The directory holding the signed checkpoints, `<size>.note`.
pub const CHECKPOINTS_DIR: &str = "checkpoints";

/// Writes an export to `dir`, which must not exist or be empty.
///
/// `records` yields `(index, encoded record, sealed payload ciphertext)` in
/// index order from 0; `checkpoints` are signed notes that must open with
/// `vkey` (one per tree size). The writer checks the numbering and the
/// checkpoints' signatures, not the records' contents: run
/// [`verify_export`] for that.
pub fn write_export(
    dir: &Path,
    records: impl Iterator<Item = (u64, Vec<u8>, Option<Vec<u8>>)>,
    checkpoints: &[String],
    vkey: &str,
) -> Result<(), AuditError> {
    let reject = |reason: String| AuditError::Export { reason };
    let mut opened: Vec<(Checkpoint, &String)> = Vec::with_capacity(checkpoints.len());
    for note in checkpoints {
        let checkpoint = crate::open_checkpoint(note, vkey)
            .map_err(|e| reject(format!("checkpoint does not verify with `{vkey}`: {e}")))?;
        match opened.iter().find(|(c, _)| c.size == checkpoint.size) {
            Some((_, other)) if *other != note => {
                return Err(reject(format!(
                    "two different checkpoints of size {}",
                    checkpoint.size
                )));
            }
            Some(_) => {}
            None => opened.push((checkpoint, note)),
        }
    }
    if dir.exists() {
        let mut entries = fs::read_dir(dir).map_err(AuditError::io(dir))?;
        if entries.next().is_some() {
            return Err(reject(format!("{} is not empty", dir.display())));
        }
    }
    let checkpoint_dir = dir.join(CHECKPOINTS_DIR);
    fs::create_dir_all(&checkpoint_dir).map_err(AuditError::io(&checkpoint_dir))?;

    let records_path = dir.join(RECORDS_FILE);
    let payloads_path = dir.join(PAYLOADS_FILE);
    let mut records_out = create(&records_path)?;
    let mut payloads_out = create(&payloads_path)?;
    let mut line = Vec::new();
    for (position, (index, encoded, ciphertext)) in (0u64..).zip(records) {
        if index != position {
            return Err(reject(format!(
                "record {index} given where record {position} belongs"
            )));
        }
        if encoded.contains(&b'\n') {
            return Err(reject(format!("record {index} contains a newline")));
        }
        records_out
            .write_all(&encoded)
            .and_then(|()| records_out.write_all(b"\n"))
            .map_err(AuditError::io(&records_path))?;
        if let Some(ciphertext) = ciphertext {
            line.clear();
            line.extend_from_slice(b"{\"ciphertext\":");
            write_string(&mut line, &BASE64.encode(ciphertext));
            line.extend_from_slice(b",\"index\":");
            write_int(&mut line, index);
            line.extend_from_slice(b"}\n");
            payloads_out
                .write_all(&line)
                .map_err(AuditError::io(&payloads_path))?;
        }
    }
    finish(records_out, &records_path)?;
    finish(payloads_out, &payloads_path)?;

    for (checkpoint, note) in opened {
        let path = checkpoint_dir.join(format!("{}.note", checkpoint.size));
        fs::write(&path, note).map_err(AuditError::io(&path))?;
    }
    let path = dir.join(VKEY_FILE);
    fs::write(&path, format!("{vkey}\n")).map_err(AuditError::io(&path))?;
    Ok(())
}

fn create(path: &Path) -> Result<BufWriter<fs::File>, AuditError> {
    Ok(BufWriter::with_capacity(
        1 << 16,
        fs::File::create(path).map_err(AuditError::io(path))?,
    ))
}

fn finish(out: BufWriter<fs::File>, path: &Path) -> Result<(), AuditError> {
    let file = out
        .into_inner()
        .map_err(|e| AuditError::io(path)(e.into_error()))?;
    file.sync_all().map_err(AuditError::io(path))
}
