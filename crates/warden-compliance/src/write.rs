//! Writing an evidence pack to a directory.

use std::fs;
use std::path::Path;

use warden_audit::Hash;
use warden_audit::pack::{
    CHECKPOINT_FILE, EVIDENCE_DIR, FILES_DIR, PROOFS_FILE, PackDocument, RECORDS_FILE, REPORT_FILE,
    VKEY_FILE,
};

use crate::error::ComplianceError;
use crate::inputs::PackFile;

/// The audit evidence of a pack, as read from the log.
#[derive(Debug, Clone)]
pub struct AuditSlice {
    /// `(index, canonical encoding)` of each record, in order.
    pub records: Vec<(u64, Vec<u8>)>,
    /// The inclusion proof of each record against the checkpoint, by index.
    pub proofs: Vec<(u64, Vec<Hash>)>,
    /// The signed checkpoint (C2SP note).
    pub checkpoint: String,
    /// The log's verifier key.
    pub vkey: String,
}

/// The HTML file of a pack.
pub const HTML_FILE: &str = "report.html";
/// The PDF file of a pack, when one is rendered.
pub const PDF_FILE: &str = "report.pdf";

/// Writes `doc` (as `report.json` and `report.html`), the audit evidence and
/// `files` to `dir`, which must not exist or be empty.
pub fn write_pack(
    dir: &Path,
    doc: &PackDocument,
    files: &[PackFile],
    audit: &AuditSlice,
) -> Result<(), ComplianceError> {
    if dir.exists()
        && fs::read_dir(dir)
            .map_err(|source| io(dir, source))?
            .next()
            .is_some()
    {
        return Err(ComplianceError::NotEmpty {
            path: dir.to_owned(),
        });
    }
    let evidence = dir.join(EVIDENCE_DIR);
    fs::create_dir_all(&evidence).map_err(|s| io(&evidence, s))?;
    let mut records = Vec::new();
    for (_, encoded) in &audit.records {
        records.extend_from_slice(encoded);
        records.push(b'\n');
    }
    let mut proofs = String::new();
    for (index, proof) in &audit.proofs {
        let line = serde_json::json!({
            "index": index,
            "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
        });
        proofs.push_str(&line.to_string());
        proofs.push('\n');
    }
    put(&evidence.join(RECORDS_FILE), &records)?;
    put(&evidence.join(PROOFS_FILE), proofs.as_bytes())?;
    put(&evidence.join(CHECKPOINT_FILE), audit.checkpoint.as_bytes())?;
    put(
        &evidence.join(VKEY_FILE),
        format!("{}\n", audit.vkey).as_bytes(),
    )?;
    let files_dir = dir.join(FILES_DIR);
    for f in files {
        let path = files_dir.join(&f.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|s| io(parent, s))?;
        }
        put(&path, &f.bytes)?;
    }
    let mut json = serde_json::to_vec_pretty(doc)?;
    json.push(b'\n');
    put(&dir.join(REPORT_FILE), &json)?;
    put(&dir.join(HTML_FILE), crate::html::render(doc).as_bytes())?;
    Ok(())
}

fn put(path: &Path, bytes: &[u8]) -> Result<(), ComplianceError> {
    fs::write(path, bytes).map_err(|s| io(path, s))
}

fn io(path: &Path, source: std::io::Error) -> ComplianceError {
    ComplianceError::Io {
        path: path.to_owned(),
        source,
    }
}
