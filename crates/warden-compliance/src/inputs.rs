//! What a report is built from, and the files an evidence pack carries.

use sha2::{Digest as _, Sha256};
use warden_audit::AuditRecord;
use warden_audit::pack::{EvidenceRef, FileRef, Period};
use warden_policy::{Config, Manifest};

/// An incident as the reports need it (the monitor's incident, lowered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFacts {
    /// Its id (the `decision_id` of its audit records).
    pub id: String,
    /// Its title.
    pub title: String,
    /// `high`, `critical`, …
    pub severity: String,
    /// `open` or `closed`.
    pub status: String,
    /// When it was detected (unix ms): the clocks start here.
    pub detected_at_ms: i64,
    /// When it was closed (unix ms).
    pub closed_at_ms: Option<i64>,
    /// The agents involved.
    pub agents: Vec<String>,
    /// Measures taken, in words.
    pub measures: Vec<String>,
    /// The regulators' deadlines.
    pub clocks: Vec<ClockFacts>,
}

/// One regulatory deadline of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockFacts {
    /// `NIS2` or `DORA`.
    pub regime: String,
    /// `early-warning`, `notification`, `final`, `initial`, `intermediate`.
    pub stage: String,
    /// When it is due (unix ms).
    pub due_at_ms: i64,
    /// What the deadline is counted from, in words.
    pub basis: String,
}

/// Everything a set of reports is built from.
#[derive(Debug, Clone)]
pub struct ReportInputs<'a> {
    /// The configuration in force.
    pub config: &'a Config,
    /// Its text, as the pack carries it (`files/warden.toml`).
    pub config_text: &'a str,
    /// The agents' manifests.
    pub manifests: &'a [Manifest],
    /// Org-wide policy files: (name, Cedar text).
    pub policies: &'a [(String, String)],
    /// The digest of the policy set in force.
    pub policy_digest: &'a str,
    /// The slice of the audit log the reports rest on: every record from
    /// `evidence.first_index` to `evidence.end_index`, in order.
    pub slice: &'a [AuditRecord],
    /// Where the slice sits in the log and the checkpoint it is proven against.
    pub evidence: EvidenceRef,
    /// The period the reports cover.
    pub period: Period,
    /// Limit the reports to this agent.
    pub agent: Option<&'a str>,
    /// Incidents known to the store.
    pub incidents: &'a [IncidentFacts],
    /// When the reports are made (unix ms): deadlines are judged against it.
    pub generated_at_ms: i64,
}

/// A file the pack carries under `files/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackFile {
    /// Its path under `files/`.
    pub path: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// `config`, `manifest` or `policy`.
    pub role: &'static str,
}

impl PackFile {
    /// Its digest entry for `report.json`.
    pub fn reference(&self) -> FileRef {
        FileRef {
            path: self.path.clone(),
            sha256: hex::encode(Sha256::digest(&self.bytes)),
            role: self.role.to_owned(),
        }
    }
}

/// The path under `files/` of a file named `name` in messages
/// (`agents/invoice-bot.yaml`, `<embedded>/agents/x.yaml`,
/// `registered:api`): relative, `/`-separated, no `..`.
pub fn pack_path(name: &str) -> String {
    let name = name
        .strip_prefix("<embedded>/")
        .map(str::to_owned)
        .or_else(|| {
            name.strip_prefix("registered:")
                .map(|s| format!("registered/{s}"))
        })
        .unwrap_or_else(|| name.to_owned());
    let parts: Vec<String> = name
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        })
        .collect();
    if parts.is_empty() {
        "unnamed".to_owned()
    } else {
        parts.join("/")
    }
}

/// The path of the configuration under `files/`.
pub const CONFIG_PATH: &str = "warden.toml";

impl ReportInputs<'_> {
    /// The files the pack carries: the configuration, the manifests (of the
    /// agents reported on) and the org-wide policies.
    pub fn files(&self) -> Vec<PackFile> {
        let mut files = vec![PackFile {
            path: CONFIG_PATH.to_owned(),
            bytes: self.config_text.as_bytes().to_vec(),
            role: "config",
        }];
        for m in self.agents() {
            files.push(PackFile {
                path: pack_path(&m.file),
                bytes: m.source.as_bytes().to_vec(),
                role: "manifest",
            });
        }
        for (name, text) in self.policies {
            files.push(PackFile {
                path: pack_path(name),
                bytes: text.as_bytes().to_vec(),
                role: "policy",
            });
        }
        files
    }

    /// The manifests reported on: all, or the one `agent` names.
    pub fn agents(&self) -> impl Iterator<Item = &Manifest> {
        self.manifests
            .iter()
            .filter(|m| self.agent.is_none_or(|a| m.name.as_str() == a))
    }

    /// `spiffe://<trust domain>/agent/<name>/`: what every record of the agent's
    /// instances starts with.
    pub fn agent_prefix(&self, agent: &str) -> String {
        format!("spiffe://{}/agent/{agent}/", self.config.trust_domain)
    }
}
