//! Making claims: each figure computed the way the verifier recomputes it.

use serde_json::Value;
use warden_audit::pack::{Claim, Evidence, Measure, RecordFilter, measure};
use warden_audit::{AuditRecord, RecordKind};

use crate::inputs::{PackFile, ReportInputs};

/// What claims are made against: the slice, the period and the pack's files.
pub(crate) struct Claims<'a> {
    slice: &'a [AuditRecord],
    from_ms: i64,
    to_ms: i64,
    files: &'a [PackFile],
    tree_size: u64,
    root: String,
}

impl<'a> Claims<'a> {
    pub(crate) fn new(inputs: &ReportInputs<'a>, files: &'a [PackFile]) -> Self {
        Self {
            slice: inputs.slice,
            from_ms: inputs.period.from_ms,
            to_ms: inputs.period.to_ms,
            files,
            tree_size: inputs.evidence.tree_size,
            root: inputs.evidence.root.clone(),
        }
    }

    /// Records of `kinds` with a `decision` among `decisions`, of the agent
    /// whose SPIFFE IDs start with `prefix`, within the period.
    pub(crate) fn filter(
        &self,
        kinds: &[RecordKind],
        decisions: &[&str],
        prefix: Option<&str>,
    ) -> RecordFilter {
        RecordFilter {
            kinds: kinds.iter().map(|k| k.as_str().to_owned()).collect(),
            decisions: decisions.iter().map(|d| (*d).to_owned()).collect(),
            agent_prefix: prefix.map(str::to_owned),
            decision_id: None,
            from_ms: self.from_ms,
            to_ms: self.to_ms,
        }
    }

    /// A claim on records.
    pub(crate) fn records(
        &self,
        id: String,
        statement: &str,
        how: Measure,
        filter: RecordFilter,
    ) -> Claim {
        let (indices, value) = measure(self.slice, &filter, &how);
        Claim {
            id,
            statement: statement.to_owned(),
            value,
            evidence: Evidence::Records {
                measure: how,
                filter,
                indices,
            },
        }
    }

    /// How many records `filter` selects.
    pub(crate) fn count(&self, id: String, statement: &str, filter: RecordFilter) -> Claim {
        self.records(id, statement, Measure::Count, filter)
    }

    /// A claim read from the pack's file `path` (at `field`).
    pub(crate) fn file(
        &self,
        id: String,
        statement: &str,
        value: Value,
        path: &str,
        field: Option<&str>,
    ) -> Claim {
        let sha256 = self
            .files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.reference().sha256)
            .unwrap_or_default();
        Claim {
            id,
            statement: statement.to_owned(),
            value,
            evidence: Evidence::File {
                path: path.to_owned(),
                sha256,
                field: field.map(str::to_owned),
            },
        }
    }

    /// The log's integrity: the checkpoint and every proof.
    pub(crate) fn log(&self, id: String) -> Claim {
        Claim {
            id,
            statement: "log integrity verified: the checkpoint's signature and each record's inclusion proof"
                .to_owned(),
            value: serde_json::json!({"tree_size": self.tree_size, "root": self.root}),
            evidence: Evidence::Log,
        }
    }

    /// A part only a person can write.
    pub(crate) fn person(id: String, statement: &str) -> Claim {
        Claim {
            id,
            statement: statement.to_owned(),
            value: Value::Null,
            evidence: Evidence::Person,
        }
    }
}
