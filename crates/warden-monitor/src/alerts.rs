//! Alert rules, evaluated on every committed record, off the decision path.
//!
//! Per agent, the alerter keeps what its rules need and nothing more: the
//! recent denials (with their evidence), the classes and external hosts it
//! has touched, how many actions it took, and its per-minute action counts
//! as a running mean and variance (Welford). Learning is per node and
//! starts with the process, except classes, which are seeded from the
//! store's activity at start. Each rule fires at most once per agent per
//! `window_secs`.

use std::collections::{HashMap, HashSet, VecDeque};

use parking_lot::Mutex;
use serde::Serialize;
use warden_audit::{AuditRecord, RecordKind};
use warden_policy::{AlertAction, AlertKind, AlertRule};

/// Denials kept per agent for the evidence of a `denials` alert.
const EVIDENCE: usize = 64;
/// Actions kept per agent for `actions` rules (a threshold above this
/// cannot fire).
const RECENT: usize = 1024;

/// A record an alert points to.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Evidence {
    /// The decision's id.
    pub decision_id: Option<String>,
    /// Its index in the audit log.
    pub audit_index: u64,
    /// When (unix ms).
    pub time_ms: i64,
}

/// One alert.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// Unique: `<rule>-<agent>-<time_ms>`.
    pub id: String,
    /// The rule's name.
    pub rule: String,
    /// What the rule watches (`denials`, `new_class`, …).
    pub kind: &'static str,
    /// `low`, `medium`, `high`, `critical`.
    pub severity: &'static str,
    /// `notify` or `suspend`.
    pub action: &'static str,
    /// The agent.
    pub agent: String,
    /// When (unix ms).
    pub time_ms: i64,
    /// In words.
    pub message: String,
    /// What was observed (a count, a class, a host).
    pub observed: String,
    /// What the agent's history says (a threshold, the known set's size, the mean and deviation).
    pub baseline: String,
    /// The records behind it.
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Default)]
struct AgentState {
    actions: u64,
    /// Recent actions: (rule-independent) tool and evidence, for `actions` rules.
    recent: VecDeque<(String, Evidence)>,
    denials: VecDeque<Evidence>,
    classes: HashSet<String>,
    hosts: HashSet<String>,
    minute: i64,
    in_minute: u64,
    minutes: u64,
    mean: f64,
    m2: f64,
    last_fired: HashMap<String, i64>,
}

impl AgentState {
    /// Closes finished minutes into the running mean and variance (idle
    /// minutes count as zero, at most a day of them).
    fn roll_to(&mut self, minute: i64) {
        if self.minute == 0 {
            self.minute = minute;
            return;
        }
        let mut gap = (minute - self.minute).clamp(0, 1440);
        while gap > 0 {
            let x = self.in_minute as f64;
            self.minutes += 1;
            let delta = x - self.mean;
            self.mean += delta / self.minutes as f64;
            self.m2 += delta * (x - self.mean);
            self.in_minute = 0;
            gap -= 1;
        }
        self.minute = self.minute.max(minute);
    }

    fn deviation(&self) -> f64 {
        if self.minutes < 2 {
            0.0
        } else {
            (self.m2 / (self.minutes - 1) as f64).sqrt()
        }
    }
}

/// The rules and each agent's state.
#[derive(Debug, Default)]
pub struct Alerter {
    rules: Vec<AlertRule>,
    internal: Vec<String>,
    agents: Mutex<HashMap<String, AgentState>>,
}

fn evidence(record: &AuditRecord) -> Evidence {
    Evidence {
        decision_id: record.decision_id.clone(),
        audit_index: record.index,
        time_ms: record.time_ms,
    }
}

impl Alerter {
    /// An alerter for `rules`; hosts under `internal` domains are not
    /// external destinations.
    pub fn new(rules: Vec<AlertRule>, internal: Vec<String>) -> Self {
        Self {
            rules,
            internal,
            agents: Mutex::new(HashMap::new()),
        }
    }

    /// Seeds an agent's known classes (from the store's activity).
    pub fn seed_classes(&self, agent: &str, classes: impl IntoIterator<Item = String>) {
        self.agents
            .lock()
            .entry(agent.to_owned())
            .or_default()
            .classes
            .extend(classes);
    }

    fn is_internal(&self, host: &str) -> bool {
        self.internal.iter().any(|d| {
            host == d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|r| r.ends_with('.'))
        })
    }

    /// The alerts `record` (of `agent`, committed) fires.
    pub fn on_record(&self, agent: &str, record: &AuditRecord) -> Vec<Alert> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let mut agents = self.agents.lock();
        let state = agents.entry(agent.to_owned()).or_default();
        let at = record.time_ms;
        let decision = record.decision.as_deref();
        let is_action = record.kind == RecordKind::Decision;
        if is_action {
            state.roll_to(at.div_euclid(60_000));
            state.actions += 1;
            state.in_minute += 1;
        }
        if is_action {
            let tool = format!(
                "{}/{}",
                record.server.as_deref().unwrap_or_default(),
                record.tool.as_deref().unwrap_or_default()
            );
            state.recent.push_back((tool, evidence(record)));
            if state.recent.len() > RECENT {
                state.recent.pop_front();
            }
        }
        if decision == Some("deny") {
            state.denials.push_back(evidence(record));
            if state.denials.len() > EVIDENCE {
                state.denials.pop_front();
            }
        }
        let new_classes: Vec<String> = record
            .classes
            .iter()
            .filter(|c| !state.classes.contains(*c))
            .cloned()
            .collect();
        // Attempts count: a denied send to a new place is news too.
        let new_hosts: Vec<String> = record
            .destinations
            .iter()
            .filter(|h| !self.is_internal(h) && !state.hosts.contains(*h))
            .cloned()
            .collect();
        let injected = record.kind == RecordKind::Observation
            && record
                .note
                .as_deref()
                .is_some_and(|n| n.contains("injected instructions"));
        let mut fired = Vec::new();
        for rule in &self.rules {
            if !rule.agents.is_empty() && !rule.agents.iter().any(|a| a == agent) {
                continue;
            }
            let window_ms =
                i64::try_from(rule.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
            if state
                .last_fired
                .get(&rule.name)
                .is_some_and(|t| at - t < window_ms)
            {
                continue;
            }
            let warm = state.actions > rule.warm_up;
            let found = match rule.kind {
                AlertKind::Actions => {
                    let recent: Vec<Evidence> = state
                        .recent
                        .iter()
                        .filter(|(tool, e)| {
                            at - e.time_ms < window_ms
                                && (rule.tools.is_empty() || rule.tools.contains(tool))
                        })
                        .map(|(_, e)| e.clone())
                        .collect();
                    (is_action && recent.len() as u64 > rule.threshold).then(|| {
                        let on = if rule.tools.is_empty() {
                            String::new()
                        } else {
                            format!(" on {}", rule.tools.join(", "))
                        };
                        (
                            format!("{} actions{on} in {} s", recent.len(), rule.window_secs),
                            format!("at most {} allowed", rule.threshold),
                            recent,
                        )
                    })
                }
                AlertKind::Denials => {
                    let recent: Vec<Evidence> = state
                        .denials
                        .iter()
                        .filter(|e| at - e.time_ms < window_ms)
                        .cloned()
                        .collect();
                    (recent.len() as u64 > rule.threshold && decision == Some("deny")).then(|| {
                        (
                            format!("{} denials in {} s", recent.len(), rule.window_secs),
                            format!("at most {} allowed", rule.threshold),
                            recent,
                        )
                    })
                }
                AlertKind::NewClass => (warm && !new_classes.is_empty()).then(|| {
                    (
                        new_classes.join(", "),
                        format!("{} classes touched before", state.classes.len()),
                        vec![evidence(record)],
                    )
                }),
                AlertKind::NewDestination => (warm && !new_hosts.is_empty()).then(|| {
                    (
                        new_hosts.join(", "),
                        format!("{} external hosts sent to before", state.hosts.len()),
                        vec![evidence(record)],
                    )
                }),
                AlertKind::Injection => injected.then(|| {
                    (
                        "a tool result carrying injected instructions".to_owned(),
                        "none expected".to_owned(),
                        vec![evidence(record)],
                    )
                }),
                AlertKind::Rate => {
                    // Far above its spread, three times its mean and ten
                    // actions over it: a burst, not a busy hour.
                    let limit = (state.mean + f64::from(rule.sigma) * state.deviation().max(1.0))
                        .max(3.0 * state.mean)
                        .max(state.mean + 10.0);
                    (is_action && warm && state.minutes >= 5 && state.in_minute as f64 > limit)
                        .then(|| {
                            (
                                format!("{} actions this minute", state.in_minute),
                                format!(
                                    "mean {:.1} ± {:.1} per minute over {} minutes (limit {:.1})",
                                    state.mean,
                                    state.deviation(),
                                    state.minutes,
                                    limit
                                ),
                                vec![evidence(record)],
                            )
                        })
                }
            };
            if let Some((observed, baseline, evidence)) = found {
                state.last_fired.insert(rule.name.clone(), at);
                fired.push(Alert {
                    id: format!("{}-{agent}-{at}", rule.name),
                    rule: rule.name.clone(),
                    kind: rule.kind.as_str(),
                    severity: rule.severity.as_str(),
                    action: match rule.action {
                        AlertAction::Notify => "notify",
                        AlertAction::Suspend => "suspend",
                    },
                    agent: agent.to_owned(),
                    time_ms: at,
                    message: format!(
                        "{} ({}): agent `{agent}`: {observed}; {baseline}",
                        rule.name,
                        rule.kind.as_str()
                    ),
                    observed,
                    baseline,
                    evidence,
                });
            }
        }
        state.classes.extend(new_classes);
        state.hosts.extend(new_hosts);
        fired
    }
}

#[cfg(test)]
mod tests;
