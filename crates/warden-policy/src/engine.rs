//! The stateful decision point: the current snapshot (swapped atomically),
//! per-session history and budgets, all in memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use warden_types::{AgentName, DecisionOutcome};

use crate::context::SessionHistory;
use crate::evaluate::{Decision, DecisionRequest};
use crate::snapshot::Snapshot;

mod shared;
pub use shared::SharedState;

const SHARDS: usize = 64;

/// Live sessions kept in memory at most, by default (about 200 bytes each plus
/// the tools they used). A new session beyond it is denied until idle ones
/// expire: memory stays bounded whatever session ids agents send.
pub const DEFAULT_MAX_SESSIONS: usize = 200_000;

#[derive(Debug)]
struct SessionState {
    history: SessionHistory,
    last_seen: Instant,
}

/// A session's state, serialised for saving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSession {
    /// The agent.
    pub agent: String,
    /// Its instance.
    pub instance: String,
    /// The session id.
    pub session: String,
    /// The history as JSON.
    pub state: String,
}

/// `agent \0 instance \0 session`: one allocation per lookup, not three.
type SessionKey = String;

#[derive(Debug, Default)]
struct HourWindow {
    hour: u64,
    count: u64,
}

/// The decision point. Cheap to share (`Arc<Engine>`); `decide` takes no
/// global lock and reads no database.
#[derive(Debug)]
pub struct Engine {
    snapshot: ArcSwap<Snapshot>,
    hasher: RandomState,
    sessions: Vec<Mutex<HashMap<SessionKey, Arc<Mutex<SessionState>>>>>,
    /// Sessions changed since they were last taken for saving, by shard.
    dirty: Vec<Mutex<std::collections::HashSet<SessionKey>>>,
    /// Agents whose hourly count changed since last taken for saving.
    dirty_hours: Mutex<std::collections::HashSet<AgentName>>,
    hours: Vec<Mutex<HashMap<AgentName, HourWindow>>>,
    started: Instant,
    epoch_hour_offset: u64,
    live: std::sync::atomic::AtomicUsize,
    max_sessions: usize,
    /// Live sessions per agent, by shard of the agent's name.
    per_agent: Vec<Mutex<HashMap<String, usize>>>,
    max_per_agent: usize,
    fingerprint_key: parking_lot::RwLock<crate::FingerprintKey>,
}

impl Engine {
    /// An engine serving `snapshot`.
    pub fn new(snapshot: Snapshot) -> Engine {
        let epoch_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Engine {
            snapshot: ArcSwap::from_pointee(snapshot),
            hasher: RandomState::new(),
            sessions: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            dirty: (0..SHARDS)
                .map(|_| Mutex::new(Default::default()))
                .collect(),
            dirty_hours: Mutex::new(Default::default()),
            hours: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            started: Instant::now(),
            epoch_hour_offset: epoch_secs,
            live: std::sync::atomic::AtomicUsize::new(0),
            max_sessions: DEFAULT_MAX_SESSIONS,
            per_agent: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            max_per_agent: DEFAULT_MAX_SESSIONS,
            fingerprint_key: parking_lot::RwLock::new(crate::FingerprintKey(rand_key())),
        }
    }

    /// Sets the key of the value fingerprints that provenance keeps (the
    /// gateway keeps one in its data directory, so that persisted sessions
    /// match after a restart).
    pub fn set_fingerprint_key(&self, key: crate::FingerprintKey) {
        *self.fingerprint_key.write() = key;
    }

    /// Sets how many live sessions are kept at most.
    pub fn with_max_sessions(mut self, max: usize) -> Engine {
        self.max_sessions = max.max(1);
        self
    }

    /// Sets how many live sessions one agent (all its instances) may hold,
    /// so that one agent cannot lock the others out.
    pub fn with_max_sessions_per_agent(mut self, max: usize) -> Engine {
        self.max_per_agent = max.max(1);
        self
    }

    /// The snapshot in force.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Swaps in a new snapshot; decisions in flight finish on the old one.
    pub fn replace(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
    }

    fn shard<K: Hash>(&self, key: &K) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }

    fn current_hour(&self) -> u64 {
        (self.epoch_hour_offset + self.started.elapsed().as_secs()) / 3600
    }

    /// Notes that a session changed, so that [`Engine::take_changed`] saves it.
    fn changed(&self, key: SessionKey) {
        self.dirty[self.shard(&key)].lock().insert(key);
    }

    /// The session's key and state, created if new; `None` when it is new
    /// and the limit is reached.
    fn session_keyed(
        &self,
        request: &DecisionRequest<'_>,
    ) -> Option<(SessionKey, Arc<Mutex<SessionState>>)> {
        let key = session_key(request);
        let state = match self.lookup(&key) {
            Some(s) => s,
            None => self.create(&key)?,
        };
        Some((key, state))
    }

    fn lookup(&self, key: &SessionKey) -> Option<Arc<Mutex<SessionState>>> {
        self.sessions[self.shard(key)].lock().get(key).cloned()
    }

    /// An empty history carrying the engine's fingerprint key.
    fn fresh_history(&self) -> SessionHistory {
        let mut history = SessionHistory::default();
        history.values.set_key(*self.fingerprint_key.read());
        history
    }

    /// The session `key`, created empty if no one else created it meanwhile;
    /// `None` when the limit is reached.
    fn create(&self, key: &SessionKey) -> Option<Arc<Mutex<SessionState>>> {
        self.insert(key, self.fresh_history())
    }

    fn insert(
        &self,
        key: &SessionKey,
        history: SessionHistory,
    ) -> Option<Arc<Mutex<SessionState>>> {
        let mut shard = self.sessions[self.shard(key)].lock();
        if let Some(existing) = shard.get(key) {
            return Some(Arc::clone(existing));
        }
        use std::sync::atomic::Ordering;
        let agent = agent_of(key);
        {
            let mut counts = self.per_agent[self.shard(&agent)].lock();
            let n = counts.entry(agent.to_owned()).or_default();
            if *n >= self.max_per_agent {
                return None;
            }
            *n += 1;
        }
        if self.live.fetch_add(1, Ordering::AcqRel) >= self.max_sessions {
            self.live.fetch_sub(1, Ordering::AcqRel);
            self.forget_one(agent);
            return None;
        }
        let state = Arc::new(Mutex::new(SessionState {
            history,
            last_seen: Instant::now(),
        }));
        shard.insert(key.clone(), Arc::clone(&state));
        Some(state)
    }

    /// Reserves one action of the agent's hourly budget; `false` when spent.
    fn reserve_hour(&self, agent: &AgentName, limit: u64) -> bool {
        let hour = self.current_hour();
        let mut shard = self.hours[self.shard(agent)].lock();
        let w = shard.entry(agent.clone()).or_default();
        if w.hour != hour {
            *w = HourWindow { hour, count: 0 };
        }
        if w.count >= limit {
            return false;
        }
        w.count += 1;
        drop(shard);
        self.dirty_hours.lock().insert(agent.clone());
        true
    }

    fn refund_hour(&self, agent: &AgentName) {
        let mut shard = self.hours[self.shard(agent)].lock();
        if let Some(w) = shard.get_mut(agent) {
            w.count = w.count.saturating_sub(1);
        }
    }

    /// Decides one action. Budgets count allowed actions only; an allowed
    /// action is added to the session's history. A refused request creates
    /// no session.
    pub fn decide(&self, request: &DecisionRequest<'_>) -> Decision {
        self.decide_in(&self.snapshot.load_full(), request)
    }

    /// Decides as [`Engine::decide`] does, under `snapshot` (the caller's,
    /// so that everything it does around the decision reads the same one).
    pub fn decide_in(&self, snapshot: &Arc<Snapshot>, request: &DecisionRequest<'_>) -> Decision {
        let per_hour = snapshot
            .agents
            .get(request.agent)
            .and_then(|a| a.budgets.per_hour);
        if let Some(limit) = per_hour
            && !self.reserve_hour(request.agent, limit)
        {
            return Decision::deny(
                &snapshot.digest,
                format!(
                    "hourly budget {limit} spent: `{}` allowed {limit} actions this hour",
                    request.agent
                ),
            );
        }
        let refund = |d: Decision| {
            if per_hour.is_some() {
                self.refund_hour(request.agent);
            }
            d
        };
        let key = session_key(request);
        let (session, first) = match self.lookup(&key) {
            Some(s) => (s, None),
            None => {
                // A new session: decide on an empty history first, so that a
                // refused request leaves nothing behind.
                let d = self.evaluate(snapshot, request, &self.fresh_history());
                if d.outcome != DecisionOutcome::Allow {
                    return refund(d);
                }
                match self.create(&key) {
                    Some(s) => (s, Some(d)),
                    None => {
                        return refund(Decision::deny(
                            &snapshot.digest,
                            self.limit_reason(request.agent.as_str()),
                        ));
                    }
                }
            }
        };
        // One decision at a time per session, so that budget checks and history
        // updates are atomic.
        let mut state = session.lock();
        state.last_seen = Instant::now();
        let decision = match first {
            Some(d) if state.history.is_fresh() => d,
            _ => self.evaluate(snapshot, request, &state.history),
        };
        if decision.outcome == DecisionOutcome::Allow {
            state.history.actions += 1;
            state
                .history
                .tools
                .insert(format!("{}/{}", request.server, request.tool));
            drop(state);
            self.changed(key);
        } else if per_hour.is_some() {
            self.refund_hour(request.agent);
        }
        decision
    }

    /// Evaluates with the instance's history across its sessions, if any.
    fn evaluate(
        &self,
        snapshot: &Snapshot,
        request: &DecisionRequest<'_>,
        history: &SessionHistory,
    ) -> Decision {
        match self.lookup(&instance_key(request)) {
            Some(instance) => {
                let instance = instance.lock();
                snapshot.evaluate_in_instance(request, history, &instance.history)
            }
            None => snapshot.evaluate(request, history),
        }
    }

    /// Applies `f` to the instance's history across its sessions (created
    /// if new), so that another session id does not shed what was observed.
    fn in_instance(&self, request: &DecisionRequest<'_>, f: impl FnOnce(&mut SessionHistory)) {
        let key = instance_key(request);
        let Some(state) = self.lookup(&key).or_else(|| self.create(&key)) else {
            return;
        };
        let mut state = state.lock();
        state.last_seen = Instant::now();
        f(&mut state.history);
        drop(state);
        self.changed(key);
    }

    /// Counts an action that became allowed later (an approved request) against
    /// the budgets and the session's history. `false` when the agent's hourly
    /// budget is spent: the action must then be refused.
    pub fn record_allowed(&self, request: &DecisionRequest<'_>) -> bool {
        let snapshot = self.snapshot.load();
        if let Some(limit) = snapshot
            .agents
            .get(request.agent)
            .and_then(|a| a.budgets.per_hour)
            && !self.reserve_hour(request.agent, limit)
        {
            return false;
        }
        let Some((key, session)) = self.session_keyed(request) else {
            return true;
        };
        let mut state = session.lock();
        state.history.actions += 1;
        state
            .history
            .tools
            .insert(format!("{}/{}", request.server, request.tool));
        drop(state);
        self.changed(key);
        true
    }

    /// Records what a result held: its classes taint the session (each keeps
    /// the first call it came from), and a result flagged for injected
    /// instructions marks it. Refused (`false`) when the session is new and
    /// the session limit is reached. [`Engine::observe_result`] also keeps
    /// the result's values.
    pub fn observe(
        &self,
        request: &DecisionRequest<'_>,
        classes: &[String],
        injection: Option<&str>,
        source: &str,
    ) -> bool {
        let result = crate::ObservedResult {
            output: &serde_json::Value::Null,
            classes,
            sensitive: &[],
            injection,
            source,
        };
        self.observe_result(request, &result)
    }

    /// Records what a tool result held, by value, for provenance and lineage:
    /// every value in `output`, the text and class of each sensitive finding,
    /// and whether the result was screened as carrying injected instructions.
    /// Also taints and flags the session as [`Engine::observe`] does.
    /// Refused (`false`) when the session is new and the limit is reached.
    pub fn observe_result(
        &self,
        request: &DecisionRequest<'_>,
        result: &crate::ObservedResult<'_>,
    ) -> bool {
        let Some((key, session)) = self.session_keyed(request) else {
            return false;
        };
        let mut state = session.lock();
        state.last_seen = Instant::now();
        let mark = |h: &mut SessionHistory| {
            h.taint(result.classes, result.source);
            if let Some(kinds) = result.injection
                && h.flagged.is_none()
            {
                h.flagged = Some(format!("{}: {kinds}", result.source));
            }
            h.values.observe_result(
                result.output,
                result.sensitive,
                result.injection.is_some(),
                result.source,
            );
        };
        mark(&mut state.history);
        drop(state);
        self.changed(key);
        self.in_instance(request, mark);
        true
    }

    /// Records a user message of the session: the values in it are the
    /// user's (`context.provenance.<arg>` = `user`). Refused (`false`) when
    /// the session is new and the limit is reached.
    pub fn observe_user(&self, request: &DecisionRequest<'_>, message: &serde_json::Value) -> bool {
        let Some((key, session)) = self.session_keyed(request) else {
            return false;
        };
        let mut state = session.lock();
        state.last_seen = Instant::now();
        state.history.values.observe_user(message);
        drop(state);
        self.changed(key);
        true
    }

    /// The sessions that changed since the last call, serialised, for saving
    /// (write-behind: the gateway saves them every few hundred milliseconds).
    pub fn take_changed(&self) -> Vec<SavedSession> {
        let mut out = Vec::new();
        for shard in &self.dirty {
            let keys = std::mem::take(&mut *shard.lock());
            for key in keys {
                let Some(state) = self.lookup(&key) else {
                    continue;
                };
                let Ok(json) = serde_json::to_string(&state.lock().history) else {
                    continue;
                };
                let mut parts = key.splitn(3, '\0');
                let (Some(agent), Some(instance), Some(session)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                out.push(SavedSession {
                    agent: agent.to_owned(),
                    instance: instance.to_owned(),
                    session: session.to_owned(),
                    state: json,
                });
            }
        }
        out
    }

    /// Marks a session as changed again (its save failed).
    pub fn mark_changed(&self, agent: &str, instance: &str, session: &str) {
        self.changed([agent, instance, session].join("\0"));
    }

    /// Marks an agent's hourly count as changed again (its save failed).
    pub fn mark_hour_changed(&self, agent: &AgentName) {
        self.dirty_hours.lock().insert(agent.clone());
    }

    /// Puts a saved session back (at start); refused when its state does not
    /// read back or the session limit is reached.
    pub fn restore(&self, saved: &SavedSession) -> Result<(), String> {
        let mut history: SessionHistory = serde_json::from_str(&saved.state)
            .map_err(|e| format!("session state does not read back: {e}"))?;
        history.values.set_key(*self.fingerprint_key.read());
        let key = [saved.agent.as_str(), &saved.instance, &saved.session].join("\0");
        self.insert(&key, history)
            .map(|_| ())
            .ok_or_else(|| "too many live sessions".to_owned())
    }

    /// The hourly counts that changed since the last call: (agent, clock
    /// hour since the epoch, actions counted).
    pub fn take_changed_hours(&self) -> Vec<(AgentName, u64, u64)> {
        let agents = std::mem::take(&mut *self.dirty_hours.lock());
        agents
            .into_iter()
            .filter_map(|agent| {
                let shard = self.hours[self.shard(&agent)].lock();
                let w = shard.get(&agent)?;
                Some((agent.clone(), w.hour, w.count))
            })
            .collect()
    }

    /// Puts back an agent's count for a clock hour (at start); counts of
    /// other hours than the current one are ignored.
    pub fn restore_hour(&self, agent: &AgentName, hour: u64, used: u64) {
        if hour != self.current_hour() {
            return;
        }
        let mut shard = self.hours[self.shard(agent)].lock();
        let w = shard.entry(agent.clone()).or_default();
        if w.hour != hour {
            *w = HourWindow { hour, count: 0 };
        }
        w.count = w.count.max(used);
    }

    /// The clock hour budgets count in (hours since the Unix epoch).
    pub fn hour_now(&self) -> u64 {
        self.current_hour()
    }

    /// Drops sessions idle for longer than `idle`; returns how many were dropped.
    pub fn expire_sessions(&self, idle: Duration) -> usize {
        let mut dropped = 0;
        for shard in &self.sessions {
            let mut map = shard.lock();
            let mut gone = Vec::new();
            map.retain(|key, s| {
                let keep = s.try_lock().is_none_or(|s| s.last_seen.elapsed() < idle);
                if !keep {
                    gone.push(agent_of(key).to_owned());
                }
                keep
            });
            drop(map);
            for agent in &gone {
                self.forget_one(agent);
            }
            dropped += gone.len();
        }
        self.live
            .fetch_sub(dropped, std::sync::atomic::Ordering::AcqRel);
        dropped
    }

    /// Why a new session of `agent` was refused.
    fn limit_reason(&self, agent: &str) -> String {
        let held = self.per_agent[self.shard(&agent)]
            .lock()
            .get(agent)
            .copied()
            .unwrap_or(0);
        if held >= self.max_per_agent {
            format!(
                "agent `{agent}` holds {held} live sessions, its limit: a new session is refused until idle ones expire"
            )
        } else {
            format!(
                "too many live sessions ({}): a new session is refused until idle ones expire",
                self.max_sessions
            )
        }
    }

    fn forget_one(&self, agent: &str) {
        let mut counts = self.per_agent[self.shard(&agent)].lock();
        if let Some(n) = counts.get_mut(agent) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(agent);
            }
        }
    }

    /// The number of live sessions.
    pub fn live_sessions(&self) -> usize {
        self.sessions.iter().map(|s| s.lock().len()).sum()
    }
}

fn rand_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    let state = RandomState::new();
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&state.hash_one(i).to_le_bytes());
    }
    key
}

/// `agent \0 instance \0 session`.
fn session_key(request: &DecisionRequest<'_>) -> SessionKey {
    let (a, i, s) = (
        request.agent.as_str(),
        request.instance.as_str(),
        request.session,
    );
    let mut key: SessionKey = String::with_capacity(a.len() + i.len() + s.len() + 2);
    key.push_str(a);
    key.push('\0');
    key.push_str(i);
    key.push('\0');
    key.push_str(s);
    key
}

/// The session name under which an instance's history across its sessions
/// is kept: a control character, which no session id may hold.
const INSTANCE_SESSION: &str = "\u{1}instance";

/// The key of the instance's history across its sessions.
fn instance_key(request: &DecisionRequest<'_>) -> SessionKey {
    session_key(&DecisionRequest {
        session: INSTANCE_SESSION,
        ..*request
    })
}

/// The agent part of a session key.
fn agent_of(key: &str) -> &str {
    key.split('\0').next().unwrap_or(key)
}
