//! What the alerter keeps per agent (or per instance): counts and small
//! sets, updated online from each committed record.

use std::collections::{HashMap, HashSet, VecDeque};

use warden_audit::{AuditRecord, RecordKind};

use super::Evidence;

/// Denials kept for the evidence of a `denials` alert.
const EVIDENCE: usize = 64;
/// Actions kept for `actions`, `tool_mix` and `denial_ratio` rules (a
/// threshold or a window above this cannot fire).
pub(super) const RECENT: usize = 1024;
/// Tools whose argument shapes are kept, and shape entries per tool:
/// beyond these, nothing new is learned (nor reported).
const SHAPE_TOOLS: usize = 256;
const SHAPE_ENTRIES: usize = 256;
/// Quarter hours in a day: the time-of-day histogram's buckets (every
/// offset from UTC in use is a whole number of quarter hours).
const QUARTERS: usize = 96;

/// What a record showed that its agent's state had not seen.
#[derive(Debug, Default)]
pub(super) struct New {
    pub(super) classes: Vec<String>,
    pub(super) hosts: Vec<String>,
    /// Argument shape entries new for the record's tool.
    pub(super) shape: Vec<String>,
}

/// One of the latest actions.
#[derive(Debug)]
pub(super) struct RecentAction {
    /// `server/tool`.
    pub(super) tool: String,
    pub(super) denied: bool,
    pub(super) evidence: Evidence,
}

/// The argument shapes seen for one tool.
#[derive(Debug, Default)]
pub(super) struct Shapes {
    /// Calls seen before this one.
    pub(super) calls: u64,
    pub(super) seen: HashSet<String>,
}

/// One agent's (or instance's) history, as its rules need it.
#[derive(Debug, Default)]
pub(super) struct AgentState {
    /// Actions seen by this process.
    pub(super) actions: u64,
    /// Actions ever (seeded from the store's activity, then counted).
    pub(super) decisions: u64,
    /// Denials ever (seeded, then counted).
    pub(super) denied: u64,
    /// Actions ever per `server/tool` (seeded, then counted).
    pub(super) tools: HashMap<String, u64>,
    pub(super) recent: VecDeque<RecentAction>,
    pub(super) denials: VecDeque<Evidence>,
    pub(super) classes: HashSet<String>,
    pub(super) hosts: HashSet<String>,
    pub(super) shapes: HashMap<String, Shapes>,
    /// Actions per quarter hour of the UTC day ([`QUARTERS`] once the
    /// first is learned).
    pub(super) quarters: Vec<u64>,
    /// The first action this process saw, and the latest (unix ms).
    pub(super) first_ms: Option<i64>,
    pub(super) last_ms: i64,
    pub(super) minute: i64,
    pub(super) in_minute: u64,
    pub(super) minutes: u64,
    pub(super) mean: f64,
    pub(super) m2: f64,
    pub(super) last_fired: HashMap<String, i64>,
}

fn push_bounded<T>(list: &mut VecDeque<T>, item: T, bound: usize) {
    list.push_back(item);
    if list.len() > bound {
        list.pop_front();
    }
}

impl AgentState {
    /// Closes finished minutes into the running mean and variance (idle
    /// minutes count as zero, at most an hour of them per gap: nights and
    /// weekends off do not dilute the working rate).
    fn roll_to(&mut self, minute: i64) {
        if self.minute == 0 {
            self.minute = minute;
            return;
        }
        let mut gap = (minute - self.minute).clamp(0, 60);
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

    /// The standard deviation of the per-minute action counts.
    pub(super) fn deviation(&self) -> f64 {
        if self.minutes < 2 {
            0.0
        } else {
            (self.m2 / (self.minutes - 1) as f64).sqrt()
        }
    }

    /// Counts `record` in before the rules look: the action, its minute,
    /// its tool, its denial. (What is new — classes, hosts, shapes, the
    /// hour — is learned after, by [`learn`](Self::learn).)
    pub(super) fn count(&mut self, record: &AuditRecord, tool: &str, evidence: &Evidence) {
        let denied = record.decision.as_deref() == Some("deny");
        if denied {
            push_bounded(&mut self.denials, evidence.clone(), EVIDENCE);
        }
        if record.kind != RecordKind::Decision {
            return;
        }
        self.roll_to(record.time_ms.div_euclid(60_000));
        self.actions += 1;
        self.in_minute += 1;
        self.decisions += 1;
        self.denied += u64::from(denied);
        self.last_ms = record.time_ms;
        self.first_ms.get_or_insert(record.time_ms);
        match self.tools.get_mut(tool) {
            Some(n) => *n += 1,
            None => {
                self.tools.insert(tool.to_owned(), 1);
            }
        }
        let action = RecentAction {
            tool: tool.to_owned(),
            denied,
            evidence: evidence.clone(),
        };
        push_bounded(&mut self.recent, action, RECENT);
    }

    /// The shape entries of `record` never seen for its tool, and how many
    /// calls of the tool came before.
    pub(super) fn new_shape(&self, record: &AuditRecord, tool: &str) -> (Vec<String>, u64) {
        if record.kind != RecordKind::Decision || record.args_shape.is_empty() {
            return (Vec::new(), 0);
        }
        match self.shapes.get(tool) {
            Some(shapes) => (
                record
                    .args_shape
                    .iter()
                    .filter(|e| !shapes.seen.contains(*e))
                    .cloned()
                    .collect(),
                shapes.calls,
            ),
            None => (record.args_shape.clone(), 0),
        }
    }

    /// Learns what `record` showed after the rules looked: its new classes,
    /// hosts and argument shape entries, and its hour.
    pub(super) fn learn(&mut self, record: &AuditRecord, tool: &str, new: New) {
        let New {
            classes,
            hosts,
            shape,
        } = new;
        self.classes.extend(classes);
        self.hosts.extend(hosts);
        if record.kind != RecordKind::Decision {
            return;
        }
        let quarter = record
            .time_ms
            .div_euclid(15 * 60_000)
            .rem_euclid(QUARTERS as i64);
        self.quarters.resize(QUARTERS, 0);
        if let Some(q) = self.quarters.get_mut(quarter as usize) {
            *q += 1;
        }
        if record.args_shape.is_empty() {
            return;
        }
        if !self.shapes.contains_key(tool) {
            if self.shapes.len() >= SHAPE_TOOLS {
                return;
            }
            self.shapes.insert(tool.to_owned(), Shapes::default());
        }
        let Some(shapes) = self.shapes.get_mut(tool) else {
            return;
        };
        shapes.calls += 1;
        for entry in shape {
            if shapes.seen.len() < SHAPE_ENTRIES {
                shapes.seen.insert(entry);
            }
        }
    }

    /// Actions in the local hour of `time_ms` on a clock `offset_minutes`
    /// from UTC, and the hour (0–23).
    pub(super) fn in_local_hour(&self, time_ms: i64, offset_minutes: i32) -> (u64, i64) {
        let local_quarter = (time_ms.div_euclid(15 * 60_000) + i64::from(offset_minutes) / 15)
            .rem_euclid(QUARTERS as i64);
        let hour = local_quarter / 4;
        let count = (0..4)
            .map(|k| {
                let utc =
                    (hour * 4 + k - i64::from(offset_minutes) / 15).rem_euclid(QUARTERS as i64);
                self.quarters.get(utc as usize).copied().unwrap_or(0)
            })
            .sum();
        (count, hour)
    }
}
