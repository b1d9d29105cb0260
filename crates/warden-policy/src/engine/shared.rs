//! Session state that several nodes share: put in place from the store
//! before a decision, taken out after it (see `warden_store::SessionLock`).

use std::sync::atomic::Ordering;

use crate::context::SessionHistory;
use crate::evaluate::DecisionRequest;

use super::{
    Engine, HourWindow, INSTANCE_SESSION, SessionKey, agent_of, instance_key, session_key,
};

/// One agent instance's state as the store holds it: the session's history,
/// the instance's history across its sessions, and the agent's hourly count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedState {
    /// The session's history (JSON), when it has one.
    pub session: Option<String>,
    /// The instance's history across its sessions (JSON), when it has one.
    pub instance: Option<String>,
    /// `(clock hour, actions counted)` for an agent with an hourly budget.
    pub hour: Option<(u64, u64)>,
}

impl Engine {
    /// The session name under which an instance's history across its
    /// sessions is kept (a control character: no session id holds one).
    pub fn instance_session() -> &'static str {
        INSTANCE_SESSION
    }

    /// Whether `agent` has an hourly budget in the snapshot in force.
    pub fn has_hourly_budget(&self, agent: &warden_types::AgentName) -> bool {
        self.snapshot
            .load()
            .agents
            .get(agent)
            .and_then(|a| a.budgets.per_hour)
            .is_some()
    }

    /// Puts `state` in place for the request's session, instance and agent,
    /// replacing what this node held: a history the store does not hold is
    /// dropped (another node's decisions or an expiry may have ended it).
    /// Refused when a history does not read back or the session limit is
    /// reached.
    pub fn load_shared(
        &self,
        request: &DecisionRequest<'_>,
        state: &SharedState,
    ) -> Result<(), String> {
        self.put(session_key(request), state.session.as_deref())?;
        self.put(instance_key(request), state.instance.as_deref())?;
        if let Some((hour, used)) = state.hour {
            let mut shard = self.hours[self.shard(request.agent)].lock();
            let now = self.current_hour();
            shard.insert(
                request.agent.clone(),
                HourWindow {
                    hour: now,
                    count: if hour == now { used } else { 0 },
                },
            );
        }
        Ok(())
    }

    /// The request's session, instance and (with `hourly`) agent count as
    /// they are now, for the store; they count as saved.
    pub fn export_shared(&self, request: &DecisionRequest<'_>, hourly: bool) -> SharedState {
        let session = self.take(session_key(request));
        let instance = self.take(instance_key(request));
        let hour = hourly.then(|| {
            self.dirty_hours.lock().remove(request.agent);
            let shard = self.hours[self.shard(request.agent)].lock();
            shard
                .get(request.agent)
                .map_or((self.current_hour(), 0), |w| (w.hour, w.count))
        });
        SharedState {
            session,
            instance,
            hour,
        }
    }

    /// Replaces (or, with `None`, drops) the history under `key`.
    fn put(&self, key: SessionKey, json: Option<&str>) -> Result<(), String> {
        let Some(json) = json else {
            let removed = self.sessions[self.shard(&key)].lock().remove(&key);
            if removed.is_some() {
                self.live.fetch_sub(1, Ordering::AcqRel);
                self.forget_one(agent_of(&key));
            }
            return Ok(());
        };
        let mut history: SessionHistory = serde_json::from_str(json)
            .map_err(|e| format!("session state does not read back: {e}"))?;
        history.values.set_key(*self.fingerprint_key.read());
        match self.lookup(&key) {
            Some(existing) => existing.lock().history = history,
            None => {
                self.insert(&key, history)
                    .ok_or_else(|| self.limit_reason(agent_of(&key)))?;
            }
        }
        Ok(())
    }

    /// The history under `key` as JSON, no longer waiting to be saved.
    fn take(&self, key: SessionKey) -> Option<String> {
        let state = self.lookup(&key)?;
        self.dirty[self.shard(&key)].lock().remove(&key);
        let history = state.lock();
        serde_json::to_string(&history.history).ok()
    }
}
