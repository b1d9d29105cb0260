//! Audit records and their canonical encoding.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{json_digest, write_int, write_string};
use crate::{AuditError, Hash, leaf_hash};

/// The record format version this crate writes and reads.
pub const RECORD_VERSION: u32 = 1;

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// A decision on an agent's action (allow, deny, needs approval).
    Decision,
    /// The destruction of the key of an earlier record's sealed payload.
    Erasure,
    /// A human's answer to an approval request.
    Approval,
    /// What the result of an allowed action held: its digest, its data
    /// classes (which taint the session) and injected-instruction findings.
    Observation,
    /// A tool server's tool definition against its pin: pinned on first
    /// sight, withheld (a drift, instructions aimed at the model, a tool new
    /// since the server's tools were pinned), accepted by an admin.
    Tool,
    /// An incident opened, linked to more alerts, or closed: `decision` is
    /// `opened`, `updated` or `closed`, `decision_id` the incident's id.
    Incident,
    /// A change an admin-plane token made by hand: `decision` is
    /// `suspended`, `resumed`, `revoked` or `token_issued`, `agent` the agent
    /// (or instance) it concerns, `reasons` the reason given and `note`
    /// `by <token name>`.
    Admin,
}

impl RecordKind {
    /// The name used in the encoding: `decision`, `erasure`, `approval`,
    /// `observation`, `tool`, `incident` or `admin`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::Erasure => "erasure",
            Self::Approval => "approval",
            Self::Observation => "observation",
            Self::Tool => "tool",
            Self::Incident => "incident",
            Self::Admin => "admin",
        }
    }
}

/// Who approved an action, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalInfo {
    /// The approval request's id.
    pub id: String,
    /// Who answered it.
    pub by: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// One entry of the audit log. Its leaf in the Merkle tree is
/// `leaf_hash(record.encode())`; see `docs/audit-format.md`.
///
/// ```
/// use warden_audit::{AuditRecord, RecordKind};
///
/// let mut record = AuditRecord::new(7, 1_700_000_000_000, RecordKind::Decision, "cli");
/// record.decision = Some("allow".into());
/// let bytes = record.encode();
/// assert_eq!(AuditRecord::decode(&bytes)?, record);
/// # Ok::<(), warden_audit::AuditError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// The record format version, [`RECORD_VERSION`].
    pub version: u32,
    /// The record's position in the log (its leaf index).
    pub index: u64,
    /// When the action was decided, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// What the record is about.
    pub kind: RecordKind,
    /// The id of the decision (or approval request) this record is about, as
    /// the gateway's API reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// The agent instance's SPIFFE ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Where the action was intercepted: `decision_api`, `mcp_stdio`,
    /// `mcp_http`, `cli` (`admin_api` for approvals).
    pub interception: String,
    /// The tool server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The operation (read, write, send, delete, execute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Hex SHA-256 of the canonical JSON of the arguments ([`json_digest`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_digest: Option<String>,
    /// The arguments' shape, never their values: sorted, distinct entries
    /// `field:type` (type one of `string`, `number`, `bool`, `array`,
    /// `object`, `null`; one level of nesting as `parent.child:type`) and
    /// `field:type:class` for each data class the classifier found in a
    /// top-level field. Bounded; absent when empty, so records written
    /// before it keep their encoding and hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args_shape: Vec<String>,
    /// The decision: `allow`, `deny`, `needs_approval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The policies that decided.
    pub policies: Vec<String>,
    /// Digest of the policy set in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_digest: Option<String>,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// Data classes seen in the arguments (classified only where policy can
    /// use them: none for a call that no permit reaches).
    pub classes: Vec<String>,
    /// Where the action sends data: the hosts its destination arguments
    /// name (recipients' domains, URLs' hosts), canonical. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<String>,
    /// Hex SHA-256 of the canonical JSON of the tool's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_digest: Option<String>,
    /// Time spent deciding, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// The human approval, when one was needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalInfo>,
    /// Hex SHA-256 of the sealed payload's ciphertext ([`SealedPayload::digest`](crate::SealedPayload::digest)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_digest: Option<String>,
    /// For an erasure record: the index of the record whose payload key was destroyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erases: Option<u64>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AuditRecord {
    /// A record of version 1 with the required fields set and all others empty.
    pub fn new(
        index: u64,
        time_ms: i64,
        kind: RecordKind,
        interception: impl Into<String>,
    ) -> Self {
        Self {
            version: RECORD_VERSION,
            index,
            time_ms,
            kind,
            decision_id: None,
            agent: None,
            interception: interception.into(),
            server: None,
            tool: None,
            operation: None,
            args_digest: None,
            args_shape: Vec::new(),
            decision: None,
            policies: Vec::new(),
            policy_digest: None,
            reasons: Vec::new(),
            classes: Vec::new(),
            destinations: Vec::new(),
            result_digest: None,
            latency_us: None,
            approval: None,
            payload_digest: None,
            erases: None,
            note: None,
        }
    }

    /// The canonical encoding: JSON with members sorted bytewise by name, no
    /// insignificant whitespace, absent (`None`) fields omitted, integers in
    /// plain decimal and strings escaped as RFC 8785 says. These bytes are the
    /// leaf data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let mut w = ObjectWriter::new(&mut out);
        // Members in bytewise order of their names (a test checks this).
        if let Some(agent) = &self.agent {
            w.string("agent", agent);
        }
        if let Some(approval) = &self.approval {
            let out = w.key("approval");
            let mut a = ObjectWriter::new(out);
            a.int("at_ms", approval.at_ms);
            a.string("by", &approval.by);
            a.string("id", &approval.id);
            a.finish();
        }
        w.opt_string("args_digest", &self.args_digest);
        if !self.args_shape.is_empty() {
            w.strings("args_shape", &self.args_shape);
        }
        w.strings("classes", &self.classes);
        w.opt_string("decision", &self.decision);
        w.opt_string("decision_id", &self.decision_id);
        if !self.destinations.is_empty() {
            w.strings("destinations", &self.destinations);
        }
        if let Some(erases) = self.erases {
            w.int("erases", erases);
        }
        w.int("index", self.index);
        w.string("interception", &self.interception);
        w.string("kind", self.kind.as_str());
        if let Some(latency) = self.latency_us {
            w.int("latency_us", latency);
        }
        w.opt_string("note", &self.note);
        w.opt_string("operation", &self.operation);
        w.opt_string("payload_digest", &self.payload_digest);
        w.strings("policies", &self.policies);
        w.opt_string("policy_digest", &self.policy_digest);
        w.strings("reasons", &self.reasons);
        w.opt_string("result_digest", &self.result_digest);
        w.opt_string("server", &self.server);
        w.int("time_ms", self.time_ms);
        w.opt_string("tool", &self.tool);
        w.int("version", self.version);
        w.finish();
        out
    }

    /// Parses a canonical encoding. Rejects anything [`encode`](Self::encode)
    /// would not have written byte for byte (whitespace, member order, escapes,
    /// `null`s, unknown members), and versions other than 1.
    pub fn decode(bytes: &[u8]) -> Result<Self, AuditError> {
        let record: Self =
            serde_json::from_slice(bytes).map_err(|e| AuditError::RecordMalformed {
                reason: e.to_string(),
            })?;
        if record.version != RECORD_VERSION {
            return Err(AuditError::RecordVersion {
                version: record.version,
            });
        }
        let canonical = record.encode();
        if canonical != bytes {
            return Err(AuditError::RecordNotCanonical {
                expected: String::from_utf8_lossy(&canonical).into_owned(),
            });
        }
        Ok(record)
    }

    /// The record's leaf hash: `leaf_hash(self.encode())`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }

    /// The digest to put in [`args_digest`](Self::args_digest) (or
    /// `result_digest`) for a JSON value: hex SHA-256 of its RFC 8785 form.
    pub fn args_digest(args: &Value) -> String {
        json_digest(args)
    }
}

/// Writes one JSON object's members, in the order given.
struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn key(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_string(self.out, name);
        self.out.push(b':');
        self.out
    }

    fn string(&mut self, name: &str, value: &str) {
        write_string(self.key(name), value);
    }

    fn opt_string(&mut self, name: &str, value: &Option<String>) {
        if let Some(value) = value {
            self.string(name, value);
        }
    }

    fn int(&mut self, name: &str, value: impl std::fmt::Display) {
        write_int(self.key(name), value);
    }

    fn strings(&mut self, name: &str, values: &[String]) {
        let out = self.key(name);
        out.push(b'[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(out, value);
        }
        out.push(b']');
    }

    fn finish(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests;
