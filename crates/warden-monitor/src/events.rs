//! Events: what happened, as it happened, for `GET /v1/events`.
//!
//! An event's id is `<boot>-<seq>`: `boot` names this process's run (its
//! start time, hex), `seq` counts from 1. A consumer that resumes with the
//! id of the last event it saw gets the events after it that the ring still
//! holds; if some were dropped from the ring, or the process restarted, it
//! first gets a `gap` event saying so. The id `0` asks for every event the
//! ring still holds.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;
use warden_audit::{AuditRecord, RecordKind};

/// Events held for consumers that resume.
pub const RING: usize = 10_000;
/// How far behind a live consumer may fall before it is dropped.
pub const LAG_LIMIT: usize = 4096;

/// One event.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `<boot>-<seq>`; set when published.
    pub id: String,
    /// `decision`, `observation`, `approval`, `erasure`, `auth_failure`,
    /// `revocation`, `suspension`, `resumption`, `sighting`, `tool`, …
    pub kind: String,
    /// When (unix ms).
    pub time_ms: i64,
    /// The agent's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The tool server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// `allow`, `deny`, `needs_approval` (decisions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The decision's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// The record's index in the audit log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_index: Option<u64>,
    /// Why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The data classes found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Where it was intercepted (`decision_api`, `mcp_http`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// A note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The event as one Server-Sent Events frame (`id:`, `event:`, `data:`
    /// lines), made once when it is published — on the publisher's thread,
    /// the monitor's for audit records — and shared by every consumer.
    #[serde(skip)]
    pub frame: Option<Arc<str>>,
}

impl Event {
    /// The event as one Server-Sent Events frame: the one made when it was
    /// published, or made now.
    pub fn sse_frame(&self) -> std::borrow::Cow<'_, str> {
        match &self.frame {
            Some(frame) => std::borrow::Cow::Borrowed(frame),
            None => std::borrow::Cow::Owned(render(self)),
        }
    }
}

fn render(event: &Event) -> String {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned());
    format!("id: {}\nevent: {}\ndata: {data}\n\n", event.id, event.kind)
}

impl Event {
    /// An event of `kind` now, with nothing else set.
    pub fn new(kind: &str, time_ms: i64) -> Self {
        Self {
            id: String::new(),
            kind: kind.to_owned(),
            time_ms,
            agent: None,
            instance: None,
            server: None,
            tool: None,
            outcome: None,
            decision_id: None,
            audit_index: None,
            reasons: Vec::new(),
            classes: Vec::new(),
            via: None,
            note: None,
            frame: None,
        }
    }

    /// The event of a committed audit record.
    pub fn of_record(record: &AuditRecord) -> Self {
        let (agent, instance) = match record.agent.as_deref() {
            Some(spiffe) => split_spiffe(spiffe),
            None => (None, None),
        };
        let kind = match record.kind {
            RecordKind::Decision if record.agent.is_none() => "auth_failure",
            other => other.as_str(),
        };
        Self {
            kind: kind.to_owned(),
            agent,
            instance,
            server: record.server.clone(),
            tool: record.tool.clone(),
            outcome: record.decision.clone(),
            decision_id: record.decision_id.clone(),
            audit_index: Some(record.index),
            reasons: record.reasons.clone(),
            classes: record.classes.clone(),
            via: Some(record.interception.clone()),
            note: record.note.clone(),
            ..Self::new(kind, record.time_ms)
        }
    }
}

/// `spiffe://td/agent/NAME/INSTANCE` → (NAME, INSTANCE).
fn split_spiffe(spiffe: &str) -> (Option<String>, Option<String>) {
    let mut parts = spiffe
        .strip_prefix("spiffe://")
        .unwrap_or(spiffe)
        .split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some("agent"), Some(agent), instance) => {
            (Some(agent.to_owned()), instance.map(str::to_owned))
        }
        _ => (Some(spiffe.to_owned()), None),
    }
}

/// Which events a consumer wants; an empty field matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these agents.
    pub agents: Vec<String>,
    /// Only these tool servers.
    pub servers: Vec<String>,
    /// Only these tools.
    pub tools: Vec<String>,
    /// Only these outcomes.
    pub outcomes: Vec<String>,
    /// Only these kinds.
    pub kinds: Vec<String>,
}

impl Filter {
    /// Whether `event` passes.
    pub fn matches(&self, event: &Event) -> bool {
        fn pass(wanted: &[String], value: Option<&str>) -> bool {
            wanted.is_empty() || value.is_some_and(|v| wanted.iter().any(|w| w == v))
        }
        pass(&self.agents, event.agent.as_deref())
            && pass(&self.servers, event.server.as_deref())
            && pass(&self.tools, event.tool.as_deref())
            && pass(&self.outcomes, event.outcome.as_deref())
            && pass(&self.kinds, Some(&event.kind))
    }
}

/// What a resuming consumer missed.
#[derive(Debug, Default)]
pub struct Replay {
    /// A `gap` event first, when events after its last one were dropped or
    /// the process restarted.
    pub gap: Option<Event>,
    /// The held events after its last one, filtered, oldest first.
    pub events: Vec<Arc<Event>>,
}

/// The live events from where the replay ended.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Event>>,
    after: u64,
    filter: Filter,
}

impl Subscription {
    /// The next event that passes the filter; `Err(n)` when this consumer
    /// fell `n` events behind and must be dropped; `Ok(None)` when the
    /// monitor is gone.
    pub async fn next(&mut self) -> Result<Option<Arc<Event>>, u64> {
        loop {
            match self.receiver.recv().await {
                Ok(event) => {
                    if seq_of(&event.id) <= self.after || !self.filter.matches(&event) {
                        continue;
                    }
                    return Ok(Some(event));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(n),
                Err(broadcast::error::RecvError::Closed) => return Ok(None),
            }
        }
    }
}

fn seq_of(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The ring and the channel.
#[derive(Debug)]
pub(crate) struct Bus {
    boot: String,
    seq: AtomicU64,
    ring: Mutex<VecDeque<Arc<Event>>>,
    live: broadcast::Sender<Arc<Event>>,
}

impl Bus {
    pub(crate) fn new() -> Self {
        let boot = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Self {
            boot: format!("{boot:x}"),
            seq: AtomicU64::new(0),
            ring: Mutex::new(VecDeque::with_capacity(RING)),
            live: broadcast::channel(LAG_LIMIT).0,
        }
    }

    pub(crate) fn publish(&self, mut event: Event) {
        // The ring's lock orders ids with the ring, so a consumer that
        // subscribes between two events neither misses nor repeats one.
        let mut ring = self.ring.lock();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        event.id = format!("{}-{seq}", self.boot);
        event.frame = Some(render(&event).into());
        let event = Arc::new(event);
        if ring.len() == RING {
            ring.pop_front();
        }
        ring.push_back(Arc::clone(&event));
        // No receivers is not an error: nobody is watching.
        let _ = self.live.send(event);
    }

    pub(crate) fn subscribe(&self, filter: &Filter, last: Option<&str>) -> (Replay, Subscription) {
        let ring = self.ring.lock();
        let receiver = self.live.subscribe();
        let newest = self.seq.load(Ordering::Relaxed);
        let mut replay = Replay::default();
        if let Some(last) = last {
            let (boot, after) = last.rsplit_once('-').unwrap_or(("", "0"));
            let after: u64 = after.parse().unwrap_or(0);
            let oldest = ring.front().map_or(newest + 1, |e| seq_of(&e.id));
            let from = if last == "0" {
                // Everything still held.
                0
            } else if boot != self.boot {
                replay.gap = Some(gap(
                    "Warden restarted since that event: events in between are not held",
                ));
                0
            } else {
                if after + 1 < oldest {
                    replay.gap = Some(gap(&format!(
                        "{} events after `{last}` are no longer held",
                        oldest - after - 1
                    )));
                }
                after
            };
            replay.events = ring
                .iter()
                .filter(|e| seq_of(&e.id) > from && filter.matches(e))
                .cloned()
                .collect();
        }
        (
            replay,
            Subscription {
                receiver,
                after: newest,
                filter: filter.clone(),
            },
        )
    }
}

fn gap(note: &str) -> Event {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Event {
        note: Some(note.to_owned()),
        ..Event::new("gap", now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(bus: &Bus, agent: &str, outcome: &str) {
        bus.publish(Event {
            agent: Some(agent.into()),
            outcome: Some(outcome.into()),
            ..Event::new("decision", 1)
        });
    }

    #[tokio::test]
    async fn a_consumer_resumes_after_its_last_event_and_filters_apply() {
        let bus = Bus::new();
        for n in 0..5 {
            decision(&bus, if n % 2 == 0 { "a" } else { "b" }, "allow");
        }
        let (replay, _) = bus.subscribe(&Filter::default(), None);
        assert!(replay.events.is_empty(), "no Last-Event-ID: live only");
        let last = format!("{}-2", bus.boot);
        let only_a = Filter {
            agents: vec!["a".into()],
            ..Filter::default()
        };
        let (replay, mut live) = bus.subscribe(&only_a, Some(&last));
        assert!(replay.gap.is_none());
        let ids: Vec<u64> = replay.events.iter().map(|e| seq_of(&e.id)).collect();
        assert_eq!(ids, [3, 5]);
        decision(&bus, "b", "deny");
        decision(&bus, "a", "deny");
        let next = live.next().await.unwrap().unwrap();
        assert_eq!((seq_of(&next.id), next.agent.as_deref()), (7, Some("a")));
    }

    #[tokio::test]
    async fn a_restart_or_a_dropped_stretch_is_a_gap() {
        let bus = Bus::new();
        for _ in 0..(RING + 10) {
            decision(&bus, "a", "allow");
        }
        let (replay, _) = bus.subscribe(&Filter::default(), Some(&format!("{}-3", bus.boot)));
        assert!(replay.gap.unwrap().note.unwrap().contains("no longer held"));
        assert_eq!(replay.events.len(), RING);
        let (replay, _) = bus.subscribe(&Filter::default(), Some("0-3"));
        assert!(replay.gap.unwrap().note.unwrap().contains("restarted"));
    }

    #[tokio::test]
    async fn a_slow_consumer_is_told_it_fell_behind() {
        let bus = Bus::new();
        let (_, mut live) = bus.subscribe(&Filter::default(), None);
        for _ in 0..(LAG_LIMIT + 5) {
            decision(&bus, "a", "allow");
        }
        assert_eq!(live.next().await.unwrap_err(), 5);
    }
}
