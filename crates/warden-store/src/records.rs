//! The records the store keeps: plain data, serializable, validated on the way out
//! of the database.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use warden_types::{AgentName, InstanceId, Role};

/// A registered agent: its manifest as the operator wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// The agent's name, unique in the store.
    pub name: AgentName,
    /// The manifest's YAML source.
    pub manifest: String,
    /// The file the manifest came from, e.g. `invoice-bot.yaml`.
    pub source: String,
    /// When the agent was first registered (unix milliseconds).
    pub registered_at: i64,
    /// When the manifest last changed (unix milliseconds).
    pub updated_at: i64,
}

/// A revocation of an agent, or of one instance of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRecord {
    /// The store-assigned id.
    pub id: i64,
    /// The revoked agent.
    pub agent: AgentName,
    /// The revoked instance; `None` revokes every instance of the agent.
    pub instance: Option<InstanceId>,
    /// Why it was revoked.
    pub reason: String,
    /// Who revoked it (an admin token name).
    pub revoked_by: String,
    /// When (unix milliseconds).
    pub revoked_at: i64,
}

/// An admin token, stored only as a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTokenRecord {
    /// The store-assigned id.
    pub id: i64,
    /// A human name for the token.
    pub name: String,
    /// What the token may do.
    pub role: Role,
    /// The SHA-256 of the token, lowercase hex. Unique in the store.
    pub digest: String,
    /// When it was created (unix milliseconds).
    pub created_at: i64,
}

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for a human.
    Pending,
    /// A human approved it; the action may run once.
    Approved,
    /// A human rejected it.
    Rejected,
    /// Nobody decided before it expired.
    Expired,
}

impl ApprovalStatus {
    /// The stored and wire name: `pending`, `approved`, `rejected` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Expired => "expired",
        }
    }
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApprovalStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(ApprovalStatus::Pending),
            "approved" => Ok(ApprovalStatus::Approved),
            "rejected" => Ok(ApprovalStatus::Rejected),
            "expired" => Ok(ApprovalStatus::Expired),
            other => Err(format!(
                "unknown approval status `{other}`: expected pending, approved, rejected or expired"
            )),
        }
    }
}

/// An action held for human approval, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// The id of the decision that asked for approval.
    pub id: String,
    /// The agent that wants to act.
    pub agent: AgentName,
    /// The instance that asked.
    pub instance: InstanceId,
    /// The agent's session.
    pub session: String,
    /// The tool server.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// The operation kind, as text (e.g. `write`).
    pub operation: String,
    /// The tool call's arguments.
    pub args: serde_json::Value,
    /// A digest of the canonical arguments; a consumed approval must match it.
    pub args_digest: String,
    /// Why approval is needed.
    pub reasons: Vec<String>,
    /// The policies that asked for approval.
    pub policies: Vec<String>,
    /// The digest of the policy set that made the decision.
    pub policy_digest: String,
    /// Where the request stands.
    pub status: ApprovalStatus,
    /// When it was requested (unix milliseconds).
    pub created_at: i64,
    /// When it stops being decidable (unix milliseconds).
    pub expires_at: i64,
    /// Who decided it.
    pub decided_by: Option<String>,
    /// When it was decided (unix milliseconds).
    pub decided_at: Option<i64>,
    /// The decider's note.
    pub note: Option<String>,
    /// Whether the approved action has been let through (approvals are single-use).
    pub consumed: bool,
}
