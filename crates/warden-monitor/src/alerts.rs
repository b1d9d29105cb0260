//! Alert rules, evaluated on every committed record, off the decision path.
//!
//! Per agent — and, for rules with `per = "instance"`, per instance (SPIFFE
//! ID) — the alerter keeps what its rules need and nothing more
//! ([`state`]): the recent actions and denials (with their evidence), the
//! classes, external hosts and tools it used, its argument shapes per tool,
//! its actions per quarter hour of the day, its long-run action and denial
//! counts, and its per-minute action counts as a running mean and variance
//! (Welford). The baseline statistics are in [`baseline`]. Learning is per
//! node and starts with the process, except classes and the per-tool and
//! denial counts, which are seeded from the store's activity at start.
//! Each rule fires at most once per agent (or instance) per `window_secs`.

mod baseline;
mod state;

use std::collections::HashMap;

use parking_lot::Mutex;
use serde::Serialize;
use warden_audit::{AuditRecord, RecordKind};
use warden_policy::{AlertKind, AlertRule, AlertScope};

use baseline::{Found, LnFactorials};
use state::{AgentState, New};

/// Instances whose history is kept at most; beyond, the one seen least
/// recently is forgotten.
const INSTANCES: usize = 10_000;

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
    /// Unique: `<rule>-<agent>-<time_ms>` (`<rule>-<agent>-<instance>-<time_ms>`
    /// for a rule kept per instance).
    pub id: String,
    /// The rule's name.
    pub rule: String,
    /// What the rule watches (`denials`, `new_class`, …).
    pub kind: &'static str,
    /// `low`, `medium`, `high`, `critical`.
    pub severity: &'static str,
    /// `notify`, `suspend` or `revoke`.
    pub action: &'static str,
    /// Whose baseline: `agent` or `instance`.
    pub per: &'static str,
    /// The agent.
    pub agent: String,
    /// The instance of the record that fired it, when the record names one.
    pub instance: Option<String>,
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
struct States {
    agents: HashMap<String, AgentState>,
    /// By `agent/instance`.
    instances: HashMap<String, AgentState>,
}

/// The rules and each agent's state.
#[derive(Debug, Default)]
pub struct Alerter {
    rules: Vec<AlertRule>,
    internal: Vec<String>,
    per_instance: bool,
    ln: LnFactorials,
    states: Mutex<States>,
}

fn evidence(record: &AuditRecord) -> Evidence {
    Evidence {
        decision_id: record.decision_id.clone(),
        audit_index: record.index,
        time_ms: record.time_ms,
    }
}

/// The instance named by a record's SPIFFE ID
/// (`spiffe://td/agent/NAME/INSTANCE`).
fn instance_of(record: &AuditRecord) -> Option<&str> {
    let spiffe = record.agent.as_deref()?;
    let mut parts = spiffe.strip_prefix("spiffe://")?.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some("agent"), Some(_), Some(instance)) if !instance.is_empty() => Some(instance),
        _ => None,
    }
}

/// What one record showed, for every rule of one scope.
struct Seen<'a> {
    agent: &'a str,
    /// `server/tool`.
    tool: String,
    instance: Option<&'a str>,
    scope: AlertScope,
    record: &'a AuditRecord,
    evidence: Evidence,
}

impl Alerter {
    /// An alerter for `rules`; hosts under `internal` domains are not
    /// external destinations.
    pub fn new(rules: Vec<AlertRule>, internal: Vec<String>) -> Self {
        Self {
            per_instance: rules.iter().any(|r| r.per == AlertScope::Instance),
            rules,
            internal,
            ln: LnFactorials::default(),
            states: Mutex::new(States::default()),
        }
    }

    /// Seeds an agent's known classes (from the store's activity).
    pub fn seed_classes(&self, agent: &str, classes: impl IntoIterator<Item = String>) {
        self.states
            .lock()
            .agents
            .entry(agent.to_owned())
            .or_default()
            .classes
            .extend(classes);
    }

    /// Seeds an agent's long-run counts (from the store's activity): its
    /// `actions` on `server/tool`, `denials` of them.
    pub fn seed_tool(&self, agent: &str, tool: &str, actions: u64, denials: u64) {
        let mut states = self.states.lock();
        let state = states.agents.entry(agent.to_owned()).or_default();
        *state.tools.entry(tool.to_owned()).or_default() += actions;
        state.decisions += actions;
        state.denied += denials;
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
        let instance = instance_of(record);
        let mut seen = Seen {
            agent,
            tool: format!(
                "{}/{}",
                record.server.as_deref().unwrap_or_default(),
                record.tool.as_deref().unwrap_or_default()
            ),
            instance,
            scope: AlertScope::Agent,
            record,
            evidence: evidence(record),
        };
        let mut fired = Vec::new();
        let mut states = self.states.lock();
        let state = states.agents.entry(agent.to_owned()).or_default();
        self.evaluate(state, &seen, &mut fired);
        if let (true, Some(instance)) = (self.per_instance, instance) {
            let key = format!("{agent}/{instance}");
            if !states.instances.contains_key(&key) && states.instances.len() >= INSTANCES {
                let oldest = states
                    .instances
                    .iter()
                    .min_by_key(|(_, s)| s.last_ms)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    states.instances.remove(&oldest);
                }
            }
            seen.scope = AlertScope::Instance;
            self.evaluate(states.instances.entry(key).or_default(), &seen, &mut fired);
        }
        fired
    }

    /// Counts the record into `state`, runs the rules of `seen.scope` on
    /// it, then learns what it showed.
    fn evaluate(&self, state: &mut AgentState, seen: &Seen<'_>, fired: &mut Vec<Alert>) {
        let record = seen.record;
        let at = record.time_ms;
        let is_action = record.kind == RecordKind::Decision;
        let tool = seen.tool.as_str();
        let new_tool = is_action && !state.tools.contains_key(tool);
        state.count(record, tool, &seen.evidence);
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
        let (new_shape, tool_calls) = state.new_shape(record, tool);
        let injected = record.kind == RecordKind::Observation
            && record
                .note
                .as_deref()
                .is_some_and(|n| n.contains("injected instructions"));
        for rule in self.rules.iter().filter(|r| r.per == seen.scope) {
            if !rule.agents.is_empty() && !rule.agents.iter().any(|a| a == seen.agent) {
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
            let one = || vec![seen.evidence.clone()];
            let found: Found = match rule.kind {
                AlertKind::Actions => is_action
                    .then(|| actions(rule, state, at, window_ms))
                    .flatten(),
                AlertKind::Denials => {
                    let recent: Vec<Evidence> = state
                        .denials
                        .iter()
                        .filter(|e| at - e.time_ms < window_ms)
                        .cloned()
                        .collect();
                    (recent.len() as u64 > rule.threshold
                        && record.decision.as_deref() == Some("deny"))
                    .then(|| {
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
                        one(),
                    )
                }),
                AlertKind::NewDestination => (warm && !new_hosts.is_empty()).then(|| {
                    (
                        new_hosts.join(", "),
                        format!("{} external hosts sent to before", state.hosts.len()),
                        one(),
                    )
                }),
                AlertKind::Injection => injected.then(|| {
                    (
                        "a tool result carrying injected instructions".to_owned(),
                        "none expected".to_owned(),
                        one(),
                    )
                }),
                AlertKind::Rate => (is_action && warm)
                    .then(|| rate(rule, state, &self.ln, one()))
                    .flatten(),
                AlertKind::NewTool => (warm && new_tool).then(|| {
                    (
                        format!("a first call of {}", tool),
                        format!("{} tools called before", state.tools.len() - 1),
                        one(),
                    )
                }),
                AlertKind::ToolMix => is_action
                    .then(|| baseline::tool_mix(rule, state, tool, &self.ln))
                    .flatten(),
                AlertKind::DenialRatio => is_action
                    .then(|| baseline::denial_ratio(rule, state, record, &self.ln))
                    .flatten(),
                AlertKind::ArgumentShape => (tool_calls >= rule.warm_up && !new_shape.is_empty())
                    .then(|| {
                        (
                            format!("{} called with {}", tool, new_shape.join(", ")),
                            format!(
                                "{} shape entries seen over {tool_calls} calls",
                                state.shapes.get(tool).map_or(0, |s| s.seen.len())
                            ),
                            one(),
                        )
                    }),
                AlertKind::TimeOfDay => is_action
                    .then(|| baseline::time_of_day(rule, state, record, &seen.evidence))
                    .flatten(),
            };
            if let Some((observed, baseline, evidence)) = found {
                state.last_fired.insert(rule.name.clone(), at);
                fired.push(alert(rule, seen, observed, baseline, evidence));
            }
        }
        let new = New {
            classes: new_classes,
            hosts: new_hosts,
            shape: new_shape,
        };
        state.learn(record, tool, new);
    }
}

/// `actions`: more than `threshold` actions (on `tools`) in the window.
/// Counted first (newest back, stopping at the window's start); the
/// evidence is copied only when the rule fires.
fn actions(rule: &AlertRule, state: &AgentState, at: i64, window_ms: i64) -> Found {
    // The latest actions are in commit order, which is time order within
    // a batch's milliseconds: the window starts where they turn recent.
    let start = state
        .recent
        .partition_point(|a| at - a.evidence.time_ms >= window_ms);
    let in_window = || {
        state
            .recent
            .range(start..)
            .filter(|a| rule.tools.is_empty() || rule.tools.contains(&a.tool))
    };
    let count = if rule.tools.is_empty() {
        state.recent.len() - start
    } else {
        in_window().count()
    };
    if count as u64 <= rule.threshold {
        return None;
    }
    let recent: Vec<Evidence> = in_window().map(|a| a.evidence.clone()).collect();
    let on = if rule.tools.is_empty() {
        String::new()
    } else {
        format!(" on {}", rule.tools.join(", "))
    };
    Some((
        format!("{} actions{on} in {} s", recent.len(), rule.window_secs),
        format!("at most {} allowed", rule.threshold),
        recent,
    ))
}

/// `rate`: far above its spread, three times its mean and ten actions over
/// it — a burst, not a busy hour — and as unlikely as a `sigma`-σ
/// deviation under a Poisson law at its mean plus one deviation (counts
/// are skewed and busy hours swing: a normal bound alone fires on them).
fn rate(rule: &AlertRule, state: &AgentState, ln: &LnFactorials, evidence: Vec<Evidence>) -> Found {
    let limit = (state.mean + f64::from(rule.sigma) * state.deviation().max(1.0))
        .max(3.0 * state.mean)
        .max(state.mean + 10.0);
    if state.minutes < 5 || state.in_minute as f64 <= limit {
        return None;
    }
    let tail = ln.poisson_tail(state.in_minute, state.mean + state.deviation());
    (tail <= baseline::normal_tail(rule.sigma)).then(|| {
        (
            format!("{} actions this minute", state.in_minute),
            format!(
                "mean {:.1} ± {:.1} per minute over {} minutes (limit {:.1}; Poisson P = {tail:.1e})",
                state.mean,
                state.deviation(),
                state.minutes,
                limit
            ),
            evidence,
        )
    })
}

fn alert(
    rule: &AlertRule,
    seen: &Seen<'_>,
    observed: String,
    baseline: String,
    evidence: Vec<Evidence>,
) -> Alert {
    let (agent, at) = (seen.agent, seen.record.time_ms);
    let (id, who) = match (seen.scope, seen.instance) {
        (AlertScope::Instance, Some(i)) => (
            format!("{}-{agent}-{i}-{at}", rule.name),
            format!("agent `{agent}` instance `{i}`"),
        ),
        _ => (
            format!("{}-{agent}-{at}", rule.name),
            format!("agent `{agent}`"),
        ),
    };
    Alert {
        id,
        rule: rule.name.clone(),
        kind: rule.kind.as_str(),
        severity: rule.severity.as_str(),
        action: rule.action.as_str(),
        per: rule.per.as_str(),
        agent: agent.to_owned(),
        instance: seen.instance.map(str::to_owned),
        time_ms: at,
        message: format!(
            "{} ({}): {who}: {observed}; {baseline}",
            rule.name,
            rule.kind.as_str()
        ),
        observed,
        baseline,
        evidence,
    }
}

#[cfg(test)]
mod tests;
