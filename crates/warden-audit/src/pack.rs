//! Evidence packs: a report whose every figure is a [`Claim`] resting on
//! audit records (with inclusion proofs against a signed checkpoint) or on
//! a file's digest, and the offline check that recomputes each claim.
//!
//! ```text
//! PACK/report.json              a PackDocument: the reports and their claims
//! PACK/evidence/vkey            the log's verifier key
//! PACK/evidence/checkpoint.note the signed checkpoint the proofs lead to
//! PACK/evidence/records.jsonl   records first..end of the log, canonical, one a line
//! PACK/evidence/proofs.jsonl    {"index":i,"proof":["<hex>",…]} per record
//! PACK/files/…                  the configuration, manifests and policies in force
//! ```
//!
//! [`measure`] computes a claim's value from records; the report builder
//! and [`verify_pack`] both use it, so a pack verifies exactly when its
//! figures are what its records give.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AuditRecord;

mod verify;

pub use verify::{
    CHECKPOINT_FILE, PROOFS_FILE, PackError, PackReport, RECORDS_FILE, VKEY_FILE, VerifiedClaim,
    verify_pack,
};

/// The format name `report.json` carries in `format`.
pub const PACK_FORMAT: &str = "warden-evidence-pack";
/// The format version this crate writes and reads.
pub const PACK_VERSION: u32 = 1;
/// The report document's file in a pack.
pub const REPORT_FILE: &str = "report.json";
/// The pack's directory of audit evidence.
pub const EVIDENCE_DIR: &str = "evidence";
/// The pack's directory of configuration files, manifests and policies.
pub const FILES_DIR: &str = "files";

/// `report.json`: what an evidence pack claims and where its evidence is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackDocument {
    /// [`PACK_FORMAT`].
    pub format: String,
    /// [`PACK_VERSION`].
    pub version: u32,
    /// When the pack was made (unix ms).
    pub generated_at_ms: i64,
    /// The period the reports cover, `[from_ms, to_ms)`.
    pub period: Period,
    /// The agent the reports are limited to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The deployment: trust domain, policy digest, configuration file.
    pub deployment: Deployment,
    /// The audit evidence: the slice of the log and the checkpoint.
    pub evidence: EvidenceRef,
    /// The files the pack holds under `files/`, with their SHA-256.
    pub files: Vec<FileRef>,
    /// The reports.
    pub reports: Vec<Report>,
}

/// A time range, `[from_ms, to_ms)`, in unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Start, inclusive.
    pub from_ms: i64,
    /// End, exclusive.
    pub to_ms: i64,
}

/// What the reports describe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// The SPIFFE trust domain.
    pub trust_domain: String,
    /// The digest of the policy set in force when the pack was made.
    pub policy_digest: String,
    /// The configuration file, as a path under `files/`.
    pub config_file: String,
}

/// Where the audit evidence is in the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRef {
    /// The first record's index in the log.
    pub first_index: u64,
    /// One past the last record's index (`first_index` when empty).
    pub end_index: u64,
    /// The size of the tree the checkpoint signs (at least `end_index`).
    pub tree_size: u64,
    /// The root it signs, hex.
    pub root: String,
}

/// A file in the pack, with its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// The path under `files/`, with `/` separators.
    pub path: String,
    /// Its hex SHA-256.
    pub sha256: String,
    /// What it is: `config`, `manifest` or `policy`.
    pub role: String,
}

/// One report (EU AI Act, DORA, NIS2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// `eu-ai-act`, `dora` or `nis2`.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its sections.
    pub sections: Vec<Section>,
}

/// A section of a report: claims, optionally a table, notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// A stable id (`eu-ai-act/invoice-bot/art14`).
    pub id: String,
    /// Its heading.
    pub title: String,
    /// What the claims are, in order.
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// A register or timeline, if the section has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Table>,
    /// Remarks for the reader.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Rows and columns; a cell a person must fill says [`TO_COMPLETE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows, as many cells as columns.
    pub rows: Vec<Vec<String>>,
    /// The files (paths under `files/`) the rows are read from.
    pub sources: Vec<String>,
}

/// What a cell or a claim says when only a person can supply it.
pub const TO_COMPLETE: &str = "to be completed by a person";

/// One statement with its value and the evidence it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// A stable id, unique in the pack (`eu-ai-act/invoice-bot/approvals-granted`).
    pub id: String,
    /// What it states, in words.
    pub statement: String,
    /// The figure (a number, a list, an object, `null` when there is none).
    pub value: Value,
    /// What it rests on.
    pub evidence: Evidence,
}

/// What a claim rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Evidence {
    /// Audit records: the value is `measure` over the records of the slice
    /// that `filter` selects, whose indices are `indices`.
    Records {
        /// How the value is computed from them.
        measure: Measure,
        /// Which records count.
        filter: RecordFilter,
        /// The indices of the records the filter selects, ascending.
        indices: Vec<u64>,
    },
    /// A file of the pack: the value is read from it (`field`, when given,
    /// names where); the file's digest is checked.
    File {
        /// The path under `files/`.
        path: String,
        /// Its hex SHA-256.
        sha256: String,
        /// The field the value is read from (`risk.annex_iii`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
    /// The log itself: the checkpoint signature and every inclusion proof.
    Log,
    /// Nothing Warden holds: a person writes it (the value is `null`).
    Person,
}

/// How a value is computed from the records a filter selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum Measure {
    /// How many there are.
    Count,
    /// `{"first_ms": …, "last_ms": …}` of their times, `null` when none.
    Span,
    /// The median time from request to answer, in ms, over approval records:
    /// each answer's `approval.at_ms` minus the time of the `needs_approval`
    /// decision with the same `decision_id` (lower median; `null` when none).
    MedianDecisionMs,
    /// The distinct approvers (`approval.by`) of approval records, sorted.
    Approvers,
    /// The distinct `policy_digest`s of the records, sorted: the policy
    /// sets that decided.
    PolicyDigests,
    /// `needs_approval` decisions no approval record answers, whose
    /// `timeout_ms` ran out before `as_of_ms`: how many.
    TimedOut {
        /// The approval timeout in force.
        timeout_ms: i64,
        /// When the count was taken.
        as_of_ms: i64,
    },
}

/// Which records of the slice a claim counts. Every condition must hold;
/// an empty list or an absent field holds for all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFilter {
    /// Record kinds (`decision`, `approval`, `admin`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// Values of `decision` (`allow`, `approved`, `suspended`, `opened`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<String>,
    /// The record's `agent` starts with this (`spiffe://td/agent/<name>/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_prefix: Option<String>,
    /// The record's `decision_id` is this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// `time_ms >= from_ms`.
    pub from_ms: i64,
    /// `time_ms < to_ms`.
    pub to_ms: i64,
}

impl RecordFilter {
    /// Whether `record` passes.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k == record.kind.as_str()))
            && (self.decisions.is_empty()
                || record
                    .decision
                    .as_ref()
                    .is_some_and(|d| self.decisions.contains(d)))
            && self.agent_prefix.as_ref().is_none_or(|p| {
                record
                    .agent
                    .as_ref()
                    .is_some_and(|a| a.starts_with(p.as_str()))
            })
            && self
                .decision_id
                .as_ref()
                .is_none_or(|id| record.decision_id.as_ref() == Some(id))
            && record.time_ms >= self.from_ms
            && record.time_ms < self.to_ms
    }
}

/// The records of `slice` that `filter` selects, and `measure` over them:
/// `(indices, value)`. `slice` is every record of the pack, in index order.
pub fn measure(
    slice: &[AuditRecord],
    filter: &RecordFilter,
    measure: &Measure,
) -> (Vec<u64>, Value) {
    let selected: Vec<&AuditRecord> = slice.iter().filter(|r| filter.matches(r)).collect();
    let indices = selected.iter().map(|r| r.index).collect();
    let value = match measure {
        Measure::Count => Value::from(selected.len()),
        Measure::Span => match (
            selected.iter().map(|r| r.time_ms).min(),
            selected.iter().map(|r| r.time_ms).max(),
        ) {
            (Some(first), Some(last)) => serde_json::json!({"first_ms": first, "last_ms": last}),
            _ => Value::Null,
        },
        Measure::MedianDecisionMs => {
            let asked = requests(slice);
            let mut waits: Vec<i64> = selected
                .iter()
                .filter_map(|r| {
                    let approval = r.approval.as_ref()?;
                    let asked_at = asked.get(r.decision_id.as_deref()?)?;
                    Some(approval.at_ms - asked_at)
                })
                .collect();
            waits.sort_unstable();
            match waits.len() {
                0 => Value::Null,
                n => Value::from(waits[(n - 1) / 2]),
            }
        }
        Measure::Approvers => {
            let by: BTreeSet<&str> = selected
                .iter()
                .filter_map(|r| r.approval.as_ref().map(|a| a.by.as_str()))
                .collect();
            Value::from(by.into_iter().collect::<Vec<_>>())
        }
        Measure::PolicyDigests => {
            let digests: BTreeSet<&str> = selected
                .iter()
                .filter_map(|r| r.policy_digest.as_deref())
                .collect();
            Value::from(digests.into_iter().collect::<Vec<_>>())
        }
        Measure::TimedOut {
            timeout_ms,
            as_of_ms,
        } => {
            let answered: BTreeSet<&str> = slice
                .iter()
                .filter(|r| r.kind == crate::RecordKind::Approval)
                .filter_map(|r| r.decision_id.as_deref())
                .collect();
            let n = selected
                .iter()
                .filter(|r| {
                    r.decision.as_deref() == Some("needs_approval")
                        && r.decision_id
                            .as_deref()
                            .is_some_and(|id| !answered.contains(id))
                        && r.time_ms.saturating_add(*timeout_ms) <= *as_of_ms
                })
                .count();
            Value::from(n)
        }
    };
    (indices, value)
}

/// When each approval request was made: `needs_approval` decisions by id.
fn requests(slice: &[AuditRecord]) -> BTreeMap<&str, i64> {
    slice
        .iter()
        .filter(|r| {
            r.kind == crate::RecordKind::Decision && r.decision.as_deref() == Some("needs_approval")
        })
        .filter_map(|r| Some((r.decision_id.as_deref()?, r.time_ms)))
        .collect()
}

/// The indices of the `needs_approval` records the approval records among
/// `indices` answer: what a [`Measure::MedianDecisionMs`] also rests on.
pub fn request_indices(slice: &[AuditRecord], indices: &[u64]) -> Vec<u64> {
    let indices: BTreeSet<u64> = indices.iter().copied().collect();
    let wanted: BTreeSet<&str> = slice
        .iter()
        .filter(|r| indices.contains(&r.index))
        .filter_map(|r| r.decision_id.as_deref())
        .collect();
    slice
        .iter()
        .filter(|r| {
            r.kind == crate::RecordKind::Decision
                && r.decision.as_deref() == Some("needs_approval")
                && r.decision_id
                    .as_deref()
                    .is_some_and(|id| wanted.contains(id))
        })
        .map(|r| r.index)
        .collect()
}
