//! The inventory's records, as the API and `warden inventory --format json`
//! show them.

use std::collections::BTreeMap;

use serde::Serialize;

/// The whole inventory.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    /// When it was built (unix ms).
    pub generated_at: i64,
    /// Warden's trust domain.
    pub trust_domain: String,
    /// One record per registered agent, by name.
    pub agents: Vec<AgentInventory>,
    /// Tool servers whose data leaves the organisation: ICT third-party
    /// services in DORA's terms.
    pub third_parties: Vec<ThirdParty>,
}

/// Everything known about one agent.
#[derive(Debug, Clone, Serialize)]
pub struct AgentInventory {
    /// Its name.
    pub name: String,
    /// Who is accountable for it.
    pub owner: String,
    /// What it is for.
    pub purpose: String,
    /// Its groups.
    pub groups: Vec<String>,
    /// EU AI Act category, as the manifest states it.
    pub eu_ai_act: Option<String>,
    /// Whether it supports a critical or important function (DORA).
    pub dora_critical: bool,
    /// The manifest's file.
    pub manifest: String,
    /// The tools it is granted, per server, with where their data goes.
    pub tools: Vec<GrantedTool>,
    /// The data classes it may read (`data.may_read`).
    pub may_read: Vec<String>,
    /// The destinations its tools reach, with their clearances.
    pub destinations: Vec<Destination>,
    /// Its budgets.
    pub budgets: Budgets,
    /// Who it is: SPIFFE IDs, instances, tokens, revocations.
    pub identity: Identity,
    /// What it did, from the audit log.
    pub activity: Activity,
}

/// The manifest's budgets.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Budgets {
    /// Actions per session.
    pub per_session: Option<u64>,
    /// Actions per hour, all instances together.
    pub per_hour: Option<u64>,
}

/// One grant.
#[derive(Debug, Clone, Serialize)]
pub struct GrantedTool {
    /// The tool server.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// `read`, `write`, `send`, …
    pub operation: String,
    /// Its `when:` condition.
    pub when: Option<String>,
    /// Its approval condition.
    pub approval: Option<String>,
    /// `internal` or `external`.
    pub destination: String,
    /// The classes its destination is cleared for.
    pub cleared: Vec<String>,
    /// Allowed calls in the last 30 days.
    pub used_30d: i64,
    /// When it was last called (allowed or not; unix ms).
    pub last_called: Option<i64>,
}

/// Where a granted server's data goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// The tool server.
    pub server: String,
    /// `internal` or `external`.
    pub destination: String,
    /// Its transport: `stdio`, `http` (with the URL's host) or `api`.
    pub transport: String,
    /// The classes it is cleared for.
    pub cleared: Vec<String>,
}

/// A tool server outside the organisation.
#[derive(Debug, Clone, Serialize)]
pub struct ThirdParty {
    /// The tool server.
    pub server: String,
    /// Its transport (and host).
    pub transport: String,
    /// The classes it is cleared for.
    pub cleared: Vec<String>,
    /// The agents granted a tool of it.
    pub agents: Vec<String>,
}

/// An agent's identity.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    /// Every instance's SPIFFE ID starts with this.
    pub spiffe_id_prefix: String,
    /// Whether the whole agent is revoked.
    pub revoked: bool,
    /// Its suspension (the kill switch), if any: why, by whom, when.
    pub suspended: Option<Revocation>,
    /// Its instances, from the tokens issued and used.
    pub instances: Vec<Instance>,
    /// Its tokens, newest first (at most 100).
    pub tokens: Vec<Token>,
    /// Its revocations.
    pub revocations: Vec<Revocation>,
}

/// One instance.
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    /// Its name.
    pub instance: String,
    /// When a token of it was last used (unix ms).
    pub last_seen: Option<i64>,
    /// Whether it presented a token in the last 15 minutes.
    pub live: bool,
    /// Whether it is revoked.
    pub revoked: bool,
}

/// One token.
#[derive(Debug, Clone, Serialize)]
pub struct Token {
    /// Its `jti`.
    pub jti: String,
    /// Its instance.
    pub instance: String,
    /// When issued (unix ms), if by Warden.
    pub issued_at: Option<i64>,
    /// Who issued it.
    pub issued_by: Option<String>,
    /// When it expires (unix ms).
    pub expires_at: i64,
    /// When last used (unix ms).
    pub last_used_at: Option<i64>,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
}

/// One revocation (or suspension).
#[derive(Debug, Clone, Serialize)]
pub struct Revocation {
    /// The instance, or none for the whole agent.
    pub instance: Option<String>,
    /// Why.
    pub reason: String,
    /// By whom.
    pub by: String,
    /// When (unix ms).
    pub at: i64,
}

/// Counts by outcome (`allow`, `deny`, `needs_approval`, `observation`, `approval`).
pub type Counts = BTreeMap<String, i64>;

/// What an agent did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Activity {
    /// Its first record (unix ms).
    pub first_seen: Option<i64>,
    /// Its last record (unix ms).
    pub last_seen: Option<i64>,
    /// Records by outcome in the current clock hour and the 23 before.
    pub last_24h: Counts,
    /// … the 167 before.
    pub last_7d: Counts,
    /// … the 719 before.
    pub last_30d: Counts,
    /// … ever.
    pub total: Counts,
    /// The data classes its arguments and results held.
    pub classes_touched: Vec<Touched>,
    /// Granted tools never called (`server/tool`).
    pub never_used: Vec<String>,
}

/// A class an agent's records held.
#[derive(Debug, Clone, Serialize)]
pub struct Touched {
    /// The class.
    pub class: String,
    /// In how many records.
    pub count: i64,
    /// The last (unix ms).
    pub last_seen: i64,
    /// Whether `data.may_read` covers it.
    pub cleared: bool,
}
