//! Offline verification of an export directory.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use super::{CHECKPOINTS_DIR, PAYLOADS_FILE, RECORDS_FILE};
use crate::checkpoint::check_verifier_key;
use crate::hash::sha256_hex;
use crate::{AuditRecord, Checkpoint, CompactRange, Hash, leaf_hash, open_checkpoint};

/// What a successful [`verify_export`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// Records verified.
    pub records: u64,
    /// Signed checkpoints verified.
    pub checkpoints: u64,
    /// The tree size (equal to `records`, and to the largest checkpoint's size).
    pub size: u64,
    /// The root of the tree of that size.
    pub root: Hash,
}

/// The first thing in an export that does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The verifier key given is not a valid C2SP Ed25519 verifier key.
    #[error("{reason}")]
    VerifierKey {
        /// What is wrong with it.
        reason: String,
    },
    /// A record that does not decode, is misnumbered or is inconsistent.
    #[error("record {index}: {reason}")]
    Record {
        /// The record's position in `records.jsonl` (from 0).
        index: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A sealed payload that does not match its record.
    #[error("payload of record {index}: {reason}")]
    Payload {
        /// The record the payload claims to belong to.
        index: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A line of a file that does not parse.
    #[error("{}:{line}: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint file that does not verify.
    #[error("checkpoint {}: {reason}", file.display())]
    Checkpoint {
        /// The checkpoint file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The records do not hash to the root a checkpoint signs: some record
    /// before `size` was altered, removed or inserted.
    #[error(
        "records 0..{size} hash to root {} but checkpoints/{size}.note signs root {}: a record among them was altered, removed or inserted",
        hex::encode(found),
        hex::encode(expected)
    )]
    RootMismatch {
        /// The checkpoint's tree size.
        size: u64,
        /// The root the checkpoint signs.
        expected: Hash,
        /// The root the records hash to.
        found: Hash,
    },
    /// Records that no checkpoint covers: anyone could have appended them.
    #[error("records {signed}..{records} are not covered by a signed checkpoint")]
    Unsigned {
        /// The largest checkpoint's tree size.
        signed: u64,
        /// The number of records in the export.
        records: u64,
    },
    /// A file that cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VerifyError + '_ {
    move |source| VerifyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Verifies an export directory (see the [module docs](crate::export) and
/// `docs/audit-format.md`) against the log's verifier key, offline.
///
/// Checks, in order of tree position, that each record is canonical, is
/// numbered by its position and matches its sealed payload's digest; that the
/// records hash to the root every checkpoint signs; and that each checkpoint's
/// signature verifies and the largest covers every record. A payload that is
/// absent (erased) is fine. Returns the first failure.
pub fn verify_export(dir: &Path, vkey: &str) -> Result<ExportReport, VerifyError> {
    check_verifier_key(vkey).map_err(|e| VerifyError::VerifierKey {
        reason: e.to_string(),
    })?;
    let checkpoints = read_checkpoints(&dir.join(CHECKPOINTS_DIR), vkey)?;
    let mut payloads = Payloads::open(dir.join(PAYLOADS_FILE))?;
    let records_path = dir.join(RECORDS_FILE);
    let file = fs::File::open(&records_path).map_err(io(&records_path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);

    let mut range = CompactRange::new();
    let mut pending = checkpoints.iter().peekable();
    let mut line = Vec::with_capacity(1024);
    loop {
        while let Some((_, checkpoint)) = pending.next_if(|(_, c)| c.size == range.size()) {
            let found = range.root();
            if found != checkpoint.root {
                return Err(VerifyError::RootMismatch {
                    size: checkpoint.size,
                    expected: checkpoint.root,
                    found,
                });
            }
        }
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .map_err(io(&records_path))?
            == 0
        {
            break;
        }
        let index = range.size();
        let record_error = |reason: String| VerifyError::Record { index, reason };
        let Some(bytes) = line.strip_suffix(b"\n") else {
            return Err(record_error(
                "the last line has no newline (truncated file?)".into(),
            ));
        };
        let record = AuditRecord::decode(bytes).map_err(|e| record_error(e.to_string()))?;
        if record.index != index {
            return Err(record_error(format!(
                "the record says it is record {}",
                record.index
            )));
        }
        if record.erases.is_some_and(|erased| erased >= index) {
            return Err(record_error(
                "it erases a record that comes after it".into(),
            ));
        }
        payloads.check(index, record.payload_digest.as_deref())?;
        range.append_with(leaf_hash(bytes), |_, _| {});
    }
    if let Some((file, checkpoint)) = pending.next() {
        return Err(VerifyError::Checkpoint {
            file: file.clone(),
            reason: format!(
                "signs tree size {} but the export holds {} records (were records removed?)",
                checkpoint.size,
                range.size()
            ),
        });
    }
    payloads.finish()?;
    let signed = checkpoints.last().map_or(0, |(_, c)| c.size);
    if signed != range.size() {
        return Err(VerifyError::Unsigned {
            signed,
            records: range.size(),
        });
    }
    Ok(ExportReport {
        records: range.size(),
        checkpoints: checkpoints.len() as u64,
        size: range.size(),
        root: range.root(),
    })
}

/// Reads, verifies and sorts the checkpoints; all must share one origin.
fn read_checkpoints(dir: &Path, vkey: &str) -> Result<Vec<(PathBuf, Checkpoint)>, VerifyError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let size = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".note"))
            .filter(|n| !n.is_empty() && (*n == "0" || !n.starts_with('0')))
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok());
        files.push((size, path));
    }
    files.sort();
    let mut out: Vec<(PathBuf, Checkpoint)> = Vec::with_capacity(files.len());
    for (size, file) in files {
        let fail = |reason: String| VerifyError::Checkpoint {
            file: file.clone(),
            reason,
        };
        let Some(size) = size else {
            return Err(fail("not named `<tree size>.note`".into()));
        };
        let bytes = fs::read(&file).map_err(io(&file))?;
        let note = String::from_utf8(bytes).map_err(|_| fail("not UTF-8".into()))?;
        let checkpoint = open_checkpoint(&note, vkey).map_err(|e| fail(e.to_string()))?;
        if checkpoint.size != size {
            return Err(fail(format!(
                "signs tree size {} but is named {size}.note",
                checkpoint.size
            )));
        }
        if let Some((_, first)) = out.first()
            && first.origin != checkpoint.origin
        {
            return Err(fail(format!(
                "origin `{}` differs from `{}` in the other checkpoints",
                checkpoint.origin, first.origin
            )));
        }
        out.push((file, checkpoint));
    }
    Ok(out)
}

/// One line of `payloads.jsonl`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadLine {
    index: u64,
    ciphertext: String,
}

/// `payloads.jsonl`, read in step with the records.
struct Payloads {
    path: PathBuf,
    reader: Option<BufReader<fs::File>>,
    line_number: u64,
    /// The next payload not yet matched to a record: index and ciphertext.
    next: Option<(u64, Vec<u8>)>,
}

impl Payloads {
    fn open(path: PathBuf) -> Result<Self, VerifyError> {
        let reader = match fs::File::open(&path) {
            Ok(file) => Some(BufReader::with_capacity(1 << 16, file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&path)(e)),
        };
        let mut payloads = Self {
            path,
            reader,
            line_number: 0,
            next: None,
        };
        payloads.advance()?;
        Ok(payloads)
    }

    fn advance(&mut self) -> Result<(), VerifyError> {
        self.next = None;
        let Some(reader) = &mut self.reader else {
            return Ok(());
        };
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(io(&self.path))? == 0 {
            return Ok(());
        }
        self.line_number += 1;
        let malformed = |reason: String| VerifyError::Malformed {
            path: self.path.clone(),
            line: self.line_number,
            reason,
        };
        let parsed: PayloadLine =
            serde_json::from_str(&line).map_err(|e| malformed(e.to_string()))?;
        let ciphertext = BASE64
            .decode(&parsed.ciphertext)
            .map_err(|_| VerifyError::Payload {
                index: parsed.index,
                reason: "the ciphertext is not standard base64".into(),
            })?;
        self.next = Some((parsed.index, ciphertext));
        Ok(())
    }

    /// Checks the payload of record `index`, if the export kept one.
    fn check(&mut self, index: u64, digest: Option<&str>) -> Result<(), VerifyError> {
        let Some((payload_index, ciphertext)) = &self.next else {
            return Ok(());
        };
        let fail = |reason: String| {
            Err(VerifyError::Payload {
                index: *payload_index,
                reason,
            })
        };
        if *payload_index < index {
            return fail("out of order or duplicated in payloads.jsonl".into());
        }
        if *payload_index > index {
            return Ok(());
        }
        let found = sha256_hex(ciphertext);
        match digest {
            None => return fail("the record has no payload_digest".into()),
            Some(expected) if expected != found => {
                return fail(format!(
                    "the ciphertext hashes to {found}, the record says {expected}"
                ));
            }
            Some(_) => {}
        }
        self.advance()
    }

    /// Fails on a payload left over after the last record.
    fn finish(&self) -> Result<(), VerifyError> {
        match &self.next {
            Some((index, _)) => Err(VerifyError::Payload {
                index: *index,
                reason: "there is no record with this index".into(),
            }),
            None => Ok(()),
        }
    }
}
