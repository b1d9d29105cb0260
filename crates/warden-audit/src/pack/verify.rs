//! The offline check of an evidence pack.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::{
    Claim, EVIDENCE_DIR, Evidence, FILES_DIR, Measure, PACK_FORMAT, PACK_VERSION, PackDocument,
    REPORT_FILE, measure, request_indices,
};
use crate::hash::sha256_hex;
use crate::{AuditRecord, Hash, leaf_hash, open_checkpoint, verify_inclusion};

/// The checkpoint file under `evidence/`.
pub const CHECKPOINT_FILE: &str = "checkpoint.note";
/// The records file under `evidence/`.
pub const RECORDS_FILE: &str = "records.jsonl";
/// The proofs file under `evidence/`.
pub const PROOFS_FILE: &str = "proofs.jsonl";
/// The verifier key file under `evidence/`.
pub const VKEY_FILE: &str = "vkey";

/// What a successful [`verify_pack`] checked.
#[derive(Debug, Clone, PartialEq)]
pub struct PackReport {
    /// Records in the pack, each with a verified inclusion proof.
    pub records: u64,
    /// The size of the tree the checkpoint signs.
    pub tree_size: u64,
    /// Its root.
    pub root: Hash,
    /// Files whose digests were checked.
    pub files: usize,
    /// Every claim, verified, in the order of the reports.
    pub claims: Vec<VerifiedClaim>,
}

/// One claim that verified, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedClaim {
    /// Its id.
    pub id: String,
    /// Its value.
    pub value: Value,
    /// How it was checked, in words.
    pub how: String,
}

/// The first thing in a pack that does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// A file of the pack that cannot be read or parsed.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint, or a record or proof against it, does not verify.
    #[error("evidence: {reason}")]
    Evidence {
        /// What is wrong.
        reason: String,
    },
    /// A claim whose evidence is missing or gives another value.
    #[error("claim `{id}`: {reason}")]
    Claim {
        /// The claim's id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofLine {
    index: u64,
    proof: Vec<String>,
}

fn file_error(path: &Path) -> impl Fn(String) -> PackError + '_ {
    move |reason| PackError::File {
        path: path.to_owned(),
        reason,
    }
}

/// Verifies the evidence pack in `dir` with the log's verifier key `vkey`:
/// the checkpoint's signature, each record's inclusion proof against it,
/// each file's digest, and every claim, recomputed from the records it
/// rests on. Names the first claim (or record, or file) that fails.
pub fn verify_pack(dir: &Path, vkey: &str) -> Result<PackReport, PackError> {
    let report_path = dir.join(REPORT_FILE);
    let text =
        fs::read_to_string(&report_path).map_err(|e| file_error(&report_path)(e.to_string()))?;
    let doc: PackDocument =
        serde_json::from_str(&text).map_err(|e| file_error(&report_path)(e.to_string()))?;
    if doc.format != PACK_FORMAT || doc.version != PACK_VERSION {
        return Err(file_error(&report_path)(format!(
            "format `{}` version {} is not `{PACK_FORMAT}` version {PACK_VERSION}",
            doc.format, doc.version
        )));
    }
    let evidence = dir.join(EVIDENCE_DIR);

    // The checkpoint.
    let cp_path = evidence.join(CHECKPOINT_FILE);
    let note = fs::read_to_string(&cp_path).map_err(|e| file_error(&cp_path)(e.to_string()))?;
    let checkpoint = open_checkpoint(&note, vkey).map_err(|e| PackError::Evidence {
        reason: format!("the checkpoint does not verify with the key `{vkey}`: {e}"),
    })?;
    let e = &doc.evidence;
    if checkpoint.size != e.tree_size || hex::encode(checkpoint.root) != e.root {
        return Err(PackError::Evidence {
            reason: format!(
                "report.json names tree size {} root {}, the checkpoint signs size {} root {}",
                e.tree_size,
                e.root,
                checkpoint.size,
                hex::encode(checkpoint.root)
            ),
        });
    }
    if e.end_index < e.first_index || e.end_index > checkpoint.size {
        return Err(PackError::Evidence {
            reason: format!(
                "records {}..{} do not fit a tree of size {}",
                e.first_index, e.end_index, checkpoint.size
            ),
        });
    }

    // The records and their proofs.
    let records_path = evidence.join(RECORDS_FILE);
    let text = fs::read(&records_path).map_err(|e| file_error(&records_path)(e.to_string()))?;
    let mut slice = Vec::new();
    let mut leaves = BTreeMap::new();
    for (n, line) in (0u64..).zip(text.split(|b| *b == b'\n').filter(|l| !l.is_empty())) {
        let record = AuditRecord::decode(line)
            .map_err(|err| file_error(&records_path)(format!("line {}: {err}", n + 1)))?;
        if record.index != e.first_index + n {
            return Err(file_error(&records_path)(format!(
                "line {}: record {} where record {} belongs",
                n + 1,
                record.index,
                e.first_index + n
            )));
        }
        leaves.insert(record.index, leaf_hash(line));
        slice.push(record);
    }
    if e.first_index + slice.len() as u64 != e.end_index {
        return Err(file_error(&records_path)(format!(
            "holds {} records, report.json says {}..{}",
            slice.len(),
            e.first_index,
            e.end_index
        )));
    }
    let proofs_path = evidence.join(PROOFS_FILE);
    let text =
        fs::read_to_string(&proofs_path).map_err(|e| file_error(&proofs_path)(e.to_string()))?;
    let mut proven = BTreeSet::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let at = |reason: String| file_error(&proofs_path)(format!("line {}: {reason}", n + 1));
        let p: ProofLine = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let leaf = leaves.get(&p.index).ok_or_else(|| {
            at(format!(
                "a proof for record {}, which the pack does not hold",
                p.index
            ))
        })?;
        let proof = p
            .proof
            .iter()
            .map(|h| {
                hex::decode(h)
                    .ok()
                    .and_then(|b| Hash::try_from(b.as_slice()).ok())
                    .ok_or_else(|| at(format!("`{h}` is not a hex SHA-256")))
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        verify_inclusion(leaf, p.index, checkpoint.size, &proof, &checkpoint.root).map_err(
            |err| PackError::Evidence {
                reason: format!("record {}: {err}", p.index),
            },
        )?;
        proven.insert(p.index);
    }

    // The files.
    let files_dir = dir.join(FILES_DIR);
    let mut digests = BTreeMap::new();
    for f in &doc.files {
        let path = safe_join(&files_dir, &f.path).ok_or_else(|| {
            file_error(&report_path)(format!("file path `{}` leaves the pack", f.path))
        })?;
        let bytes = fs::read(&path).map_err(|e| file_error(&path)(e.to_string()))?;
        let digest = sha256_hex(&bytes);
        if digest != f.sha256 {
            return Err(file_error(&path)(format!(
                "its SHA-256 is {digest}, report.json says {}",
                f.sha256
            )));
        }
        digests.insert(f.path.as_str(), digest);
    }

    // The claims.
    let mut seen = BTreeSet::new();
    let mut claims = Vec::new();
    for report in &doc.reports {
        for section in &report.sections {
            if let Some(table) = &section.table {
                for source in &table.sources {
                    if !digests.contains_key(source.as_str()) {
                        return Err(PackError::Evidence {
                            reason: format!(
                                "section `{}`: its table's source `{source}` is not a file of the pack",
                                section.id
                            ),
                        });
                    }
                }
            }
            for claim in &section.claims {
                if !seen.insert(claim.id.as_str()) {
                    return Err(claim_error(claim, "its id is used twice".to_owned()));
                }
                let how = check_claim(
                    claim,
                    &slice,
                    &proven,
                    &digests,
                    (checkpoint.size, &checkpoint.root),
                )?;
                claims.push(VerifiedClaim {
                    id: claim.id.clone(),
                    value: claim.value.clone(),
                    how,
                });
            }
        }
    }
    Ok(PackReport {
        records: slice.len() as u64,
        tree_size: checkpoint.size,
        root: checkpoint.root,
        files: digests.len(),
        claims,
    })
}

fn claim_error(claim: &Claim, reason: String) -> PackError {
    PackError::Claim {
        id: claim.id.clone(),
        reason,
    }
}

fn check_claim(
    claim: &Claim,
    slice: &[AuditRecord],
    proven: &BTreeSet<u64>,
    digests: &BTreeMap<&str, String>,
    (tree_size, root): (u64, &Hash),
) -> Result<String, PackError> {
    match &claim.evidence {
        Evidence::Records {
            measure: how,
            filter,
            indices,
        } => {
            let mut cited = indices.clone();
            if *how == Measure::MedianDecisionMs {
                cited.extend(request_indices(slice, indices));
            }
            let held = |i: u64| {
                slice
                    .first()
                    .is_some_and(|f| i >= f.index && i - f.index < slice.len() as u64)
            };
            for i in &cited {
                if !held(*i) {
                    return Err(claim_error(claim, format!("record {i} is not in the pack")));
                }
                if !proven.contains(i) {
                    return Err(claim_error(
                        claim,
                        format!("record {i} has no inclusion proof in the pack"),
                    ));
                }
            }
            let (selected, value) = measure(slice, filter, how);
            if selected != *indices {
                return Err(claim_error(
                    claim,
                    format!(
                        "it cites records {}, its filter selects {}",
                        list(indices),
                        list(&selected)
                    ),
                ));
            }
            if value != claim.value {
                return Err(claim_error(
                    claim,
                    format!("states {}, the records give {value}", claim.value),
                ));
            }
            Ok(format!(
                "recomputed from {} proven record{}",
                cited.len(),
                if cited.len() == 1 { "" } else { "s" }
            ))
        }
        Evidence::File { path, sha256, .. } => match digests.get(path.as_str()) {
            Some(d) if d == sha256 => Ok(format!(
                "file {path} sha256 {}",
                &sha256[..12.min(sha256.len())]
            )),
            Some(d) => Err(claim_error(
                claim,
                format!("rests on {path} with SHA-256 {sha256}, the pack's file has {d}"),
            )),
            None => Err(claim_error(
                claim,
                format!("rests on {path}, which the pack does not list"),
            )),
        },
        Evidence::Log => {
            if let Some(r) = slice.iter().find(|r| !proven.contains(&r.index)) {
                return Err(claim_error(
                    claim,
                    format!("record {} has no inclusion proof in the pack", r.index),
                ));
            }
            let signed = serde_json::json!({"tree_size": tree_size, "root": hex::encode(root)});
            if claim.value != signed {
                return Err(claim_error(
                    claim,
                    format!("states {}, the checkpoint signs {signed}", claim.value),
                ));
            }
            Ok("checkpoint signature and every inclusion proof".to_owned())
        }
        Evidence::Person => {
            if claim.value.is_null() {
                Ok("left to a person".to_owned())
            } else {
                Err(claim_error(
                    claim,
                    "a claim left to a person carries no value from Warden".to_owned(),
                ))
            }
        }
    }
}

fn list(indices: &[u64]) -> String {
    const SHOWN: usize = 12;
    let mut s: Vec<String> = indices.iter().take(SHOWN).map(u64::to_string).collect();
    if indices.len() > SHOWN {
        s.push(format!("… ({} in all)", indices.len()));
    }
    format!("[{}]", s.join(", "))
}

/// `base/relative`, refusing absolute paths and `..`.
fn safe_join(base: &Path, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| base.join(rel))
}
