//! The in-memory set of revoked agents and agent instances.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use warden_types::{AgentName, InstanceId, SpiffeId};

/// Which agents (every instance) and which single agent instances are revoked.
///
/// The set belongs to one trust domain: it matches SPIFFE IDs by agent name and
/// instance only. It is built to be swapped whole (with `arc-swap`, say) on the
/// hot path: `clone` is cheap because the contents are shared, and a change
/// copies them once ([`Arc::make_mut`]).
#[derive(Debug, Clone, Default)]
pub struct RevocationSet {
    agents: Arc<HashSet<AgentName>>,
    instances: Arc<HashMap<AgentName, HashSet<InstanceId>>>,
}

impl RevocationSet {
    /// An empty set: nothing is revoked.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revokes every instance of `agent`, present and future.
    pub fn revoke_agent(&mut self, agent: AgentName) {
        Arc::make_mut(&mut self.agents).insert(agent);
    }

    /// Revokes one `instance` of `agent`.
    pub fn revoke_instance(&mut self, agent: AgentName, instance: InstanceId) {
        Arc::make_mut(&mut self.instances)
            .entry(agent)
            .or_default()
            .insert(instance);
    }

    /// Whether this SPIFFE ID is revoked, either its whole agent or this
    /// instance.
    pub fn is_revoked(&self, id: &SpiffeId) -> bool {
        self.is_agent_revoked(id.agent())
            || self
                .instances
                .get(id.agent())
                .is_some_and(|instances| instances.contains(id.instance()))
    }

    /// Whether every instance of `agent` is revoked.
    pub fn is_agent_revoked(&self, agent: &AgentName) -> bool {
        self.agents.contains(agent)
    }

    /// The number of revocations: whole agents plus single instances.
    pub fn len(&self) -> usize {
        self.agents.len() + self.instances.values().map(HashSet::len).sum::<usize>()
    }

    /// Whether nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use warden_types::TrustDomain;

    use super::*;

    fn id(agent: &str, instance: &str) -> SpiffeId {
        SpiffeId::new(
            TrustDomain::new("example.org").unwrap(),
            AgentName::new(agent).unwrap(),
            InstanceId::new(instance).unwrap(),
        )
    }

    #[test]
    fn revoking_an_agent_revokes_all_its_instances() {
        let mut set = RevocationSet::new();
        assert!(set.is_empty());
        set.revoke_agent(AgentName::new("invoice-bot").unwrap());
        assert!(set.is_revoked(&id("invoice-bot", "i-1")));
        assert!(set.is_revoked(&id("invoice-bot", "i-2")));
        assert!(!set.is_revoked(&id("mail-bot", "i-1")));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn revoking_an_instance_revokes_only_that_instance() {
        let mut set = RevocationSet::new();
        set.revoke_instance(
            AgentName::new("invoice-bot").unwrap(),
            InstanceId::new("i-1").unwrap(),
        );
        assert!(set.is_revoked(&id("invoice-bot", "i-1")));
        assert!(!set.is_revoked(&id("invoice-bot", "i-2")));
        assert!(!set.is_revoked(&id("mail-bot", "i-1")));
        assert_eq!(set.len(), 1);
        assert!(!set.is_empty());
    }

    #[test]
    fn a_clone_is_unaffected_by_later_changes() {
        let mut set = RevocationSet::new();
        let before = set.clone();
        set.revoke_agent(AgentName::new("invoice-bot").unwrap());
        assert!(before.is_empty());
        assert!(!before.is_revoked(&id("invoice-bot", "i-1")));
        assert_eq!(set.len(), 1);
    }
}
