//! Building the inventory from manifests, configuration and the store.

use std::collections::{BTreeMap, BTreeSet};

use warden_policy::{Config, Manifest, Transport};
use warden_store::{
    ActivitySummary, ClassDelta, InventoryStore, RevocationRecord, Store, TokenRecord,
};

use crate::InventoryError;
use crate::record::{
    Activity, AgentInventory, Budgets, Destination, GrantedTool, Identity, Instance, Inventory,
    Revocation, ThirdParty, Token, Touched,
};

/// An instance that presented a token this recently is live.
const LIVE_MS: i64 = 15 * 60 * 1000;
/// Tokens shown per agent.
const TOKENS_PER_AGENT: usize = 100;
/// Tokens read for the whole inventory.
const TOKENS_READ: i64 = 50_000;

/// What the store holds for the inventory.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Activity per agent, tool and outcome.
    pub activity: Vec<ActivitySummary>,
    /// Classes per agent.
    pub classes: Vec<ClassDelta>,
    /// Tokens.
    pub tokens: Vec<TokenRecord>,
    /// Revocations.
    pub revocations: Vec<RevocationRecord>,
    /// Suspensions.
    pub suspensions: Vec<warden_store::SuspensionRecord>,
}

/// Reads the store and builds the inventory of the agents in `manifests`
/// (only `agent`'s, if given: [`InventoryError::UnknownAgent`] if it has no
/// manifest).
pub async fn collect<S: Store + InventoryStore + warden_store::SuspensionStore>(
    store: &S,
    config: &Config,
    manifests: &[&Manifest],
    agent: Option<&str>,
    now_ms: i64,
) -> Result<Inventory, InventoryError> {
    let manifests: Vec<&Manifest> = match agent {
        Some(name) => {
            let found: Vec<&Manifest> = manifests
                .iter()
                .copied()
                .filter(|m| m.name.as_str() == name)
                .collect();
            if found.is_empty() {
                return Err(InventoryError::UnknownAgent(name.to_owned()));
            }
            found
        }
        None => manifests.to_vec(),
    };
    let sources = Sources {
        activity: store.activity(agent, now_ms).await?,
        classes: store.activity_classes(agent).await?,
        tokens: store.tokens(agent, TOKENS_READ).await?,
        revocations: store.revocations().await?,
        suspensions: store.suspensions().await?,
    };
    Ok(build(config, &manifests, &sources, now_ms))
}

/// Builds the inventory from what [`collect`] read.
pub fn build(
    config: &Config,
    manifests: &[&Manifest],
    sources: &Sources,
    now_ms: i64,
) -> Inventory {
    let mut manifests = manifests.to_vec();
    manifests.sort_by(|a, b| a.name.cmp(&b.name));
    let agents: Vec<AgentInventory> = manifests
        .iter()
        .map(|m| agent(config, m, sources, now_ms))
        .collect();
    let mut third: BTreeMap<String, ThirdParty> = BTreeMap::new();
    for a in &agents {
        for d in a
            .destinations
            .iter()
            .filter(|d| d.destination == "external")
        {
            let entry = third.entry(d.server.clone()).or_insert_with(|| ThirdParty {
                server: d.server.clone(),
                transport: d.transport.clone(),
                cleared: d.cleared.clone(),
                agents: Vec::new(),
            });
            entry.agents.push(a.name.clone());
        }
    }
    Inventory {
        generated_at: now_ms,
        trust_domain: config.trust_domain.to_string(),
        agents,
        third_parties: third.into_values().collect(),
    }
}

fn transport(t: &Transport) -> String {
    match t {
        Transport::Stdio { .. } => "stdio".to_owned(),
        Transport::Http { url } => format!("http {}", url.host_str().unwrap_or_default()),
        Transport::Api => "api".to_owned(),
    }
}

/// Where a grant's data goes and what it is cleared for (the tool's own
/// settings over its server's).
fn destination_of(config: &Config, server: &str, tool: &str) -> (String, Vec<String>) {
    let Some(s) = config.servers.get(server) else {
        return ("unknown".to_owned(), Vec::new());
    };
    let t = s.tools.get(tool);
    let destination = t.and_then(|t| t.destination).unwrap_or(s.destination);
    let cleared = t
        .and_then(|t| t.cleared.clone())
        .unwrap_or_else(|| s.cleared.clone());
    (destination.as_str().to_owned(), cleared)
}

fn agent(config: &Config, m: &Manifest, sources: &Sources, now_ms: i64) -> AgentInventory {
    let name = m.name.as_str();
    let rows: Vec<&ActivitySummary> = sources
        .activity
        .iter()
        .filter(|r| r.agent == name)
        .collect();
    let tools: Vec<GrantedTool> = m
        .grants
        .iter()
        .map(|g| {
            let (destination, cleared) = destination_of(config, &g.server, &g.tool);
            let of_tool = rows
                .iter()
                .filter(|r| r.server == g.server && r.tool == g.tool);
            GrantedTool {
                server: g.server.clone(),
                tool: g.tool.clone(),
                operation: g.operation.to_string(),
                when: g.when.as_ref().map(|c| c.text.clone()),
                approval: g.approval.as_ref().map(|c| c.text.clone()),
                destination,
                cleared,
                used_30d: of_tool
                    .clone()
                    .filter(|r| r.outcome == "allow")
                    .map(|r| r.month)
                    .sum(),
                last_called: of_tool
                    .filter(|r| r.outcome != "observation")
                    .map(|r| r.last_ms)
                    .max(),
            }
        })
        .collect();
    let servers: BTreeSet<&str> = m.grants.iter().map(|g| g.server.as_str()).collect();
    let destinations = servers
        .iter()
        .filter_map(|server| {
            let s = config.servers.get(*server)?;
            Some(Destination {
                server: (*server).to_owned(),
                destination: s.destination.as_str().to_owned(),
                transport: transport(&s.transport),
                cleared: s.cleared.clone(),
            })
        })
        .collect();
    let mut activity = Activity::default();
    for r in &rows {
        for (counts, n) in [
            (&mut activity.last_24h, r.day),
            (&mut activity.last_7d, r.week),
            (&mut activity.last_30d, r.month),
            (&mut activity.total, r.total),
        ] {
            *counts.entry(r.outcome.clone()).or_default() += n;
        }
        activity.first_seen = Some(
            activity
                .first_seen
                .map_or(r.first_ms, |f| f.min(r.first_ms)),
        );
        activity.last_seen = Some(activity.last_seen.map_or(r.last_ms, |l| l.max(r.last_ms)));
    }
    for counts in [
        &mut activity.last_24h,
        &mut activity.last_7d,
        &mut activity.last_30d,
    ] {
        counts.retain(|_, n| *n > 0);
    }
    activity.classes_touched = sources
        .classes
        .iter()
        .filter(|c| c.agent == name)
        .map(|c| Touched {
            class: c.class.clone(),
            count: c.count,
            last_seen: c.last_ms,
            cleared: m
                .may_read
                .iter()
                .any(|r| c.class == *r || c.class.starts_with(&format!("{r}."))),
        })
        .collect();
    activity.never_used = tools
        .iter()
        .filter(|t| {
            !rows
                .iter()
                .any(|r| r.server == t.server && r.tool == t.tool && r.outcome == "allow")
        })
        .map(|t| format!("{}/{}", t.server, t.tool))
        .collect();
    AgentInventory {
        name: name.to_owned(),
        owner: m.owner.clone(),
        purpose: m.purpose.clone(),
        groups: m.groups.clone(),
        eu_ai_act: m.risk.eu_ai_act.clone(),
        dora_critical: m.risk.dora_critical,
        manifest: m.file.clone(),
        tools,
        may_read: m.may_read.clone(),
        destinations,
        budgets: Budgets {
            per_session: m.budgets.per_session,
            per_hour: m.budgets.per_hour,
        },
        identity: identity(config, name, sources, now_ms),
        activity,
    }
}

fn identity(config: &Config, name: &str, sources: &Sources, now_ms: i64) -> Identity {
    let revocations: Vec<&RevocationRecord> = sources
        .revocations
        .iter()
        .filter(|r| r.agent.as_str() == name)
        .collect();
    let agent_revoked = revocations.iter().any(|r| r.instance.is_none());
    let instance_revoked = |instance: &str| {
        agent_revoked
            || revocations
                .iter()
                .any(|r| r.instance.as_ref().is_some_and(|i| i.as_str() == instance))
    };
    let tokens: Vec<&TokenRecord> = sources.tokens.iter().filter(|t| t.agent == name).collect();
    let mut instances: BTreeMap<&str, Option<i64>> = BTreeMap::new();
    for t in &tokens {
        let seen = instances.entry(t.instance.as_str()).or_default();
        *seen = (*seen).max(t.last_used_at);
    }
    Identity {
        spiffe_id_prefix: format!("spiffe://{}/agent/{name}/", config.trust_domain),
        revoked: agent_revoked,
        suspended: sources
            .suspensions
            .iter()
            .find(|s| s.agent == name)
            .map(|s| Revocation {
                instance: None,
                reason: s.reason.clone(),
                by: s.by.clone(),
                at: s.at,
            }),
        instances: instances
            .into_iter()
            .map(|(instance, last_seen)| Instance {
                instance: instance.to_owned(),
                last_seen,
                live: last_seen.is_some_and(|t| now_ms - t <= LIVE_MS),
                revoked: instance_revoked(instance),
            })
            .collect(),
        tokens: tokens
            .iter()
            .take(TOKENS_PER_AGENT)
            .map(|t| Token {
                jti: t.jti.clone(),
                instance: t.instance.clone(),
                issued_at: t.issued_at,
                issued_by: t.issued_by.clone(),
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
                state: if instance_revoked(&t.instance) {
                    "revoked"
                } else if t.expires_at <= now_ms {
                    "expired"
                } else {
                    "active"
                },
            })
            .collect(),
        revocations: revocations
            .iter()
            .map(|r| Revocation {
                instance: r.instance.as_ref().map(|i| i.as_str().to_owned()),
                reason: r.reason.clone(),
                by: r.revoked_by.clone(),
                at: r.revoked_at,
            })
            .collect(),
    }
}
