//! Decision outcomes and admin roles.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What Warden decided about one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// The action may run.
    Allow,
    /// The action may not run.
    Deny,
    /// The action may run once a human approves it.
    NeedsApproval,
}

impl DecisionOutcome {
    /// The wire name: `allow`, `deny` or `needs_approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionOutcome::Allow => "allow",
            DecisionOutcome::Deny => "deny",
            DecisionOutcome::NeedsApproval => "needs_approval",
        }
    }
}

impl fmt::Display for DecisionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role an admin token carries on the admin plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything: agents, revocations, policies, approvals.
    Admin,
    /// Approve or reject pending actions; read.
    Approver,
    /// Read only.
    Auditor,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
        }
    }

    /// Whether a token with this role may do what `needed` allows.
    pub fn permits(self, needed: Role) -> bool {
        match needed {
            Role::Auditor => true,
            Role::Approver => matches!(self, Role::Admin | Role::Approver),
            Role::Admin => self == Role::Admin,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "approver" => Ok(Role::Approver),
            "auditor" => Ok(Role::Auditor),
            other => Err(format!(
                "unknown role `{other}`: expected admin, approver or auditor"
            )),
        }
    }
}
