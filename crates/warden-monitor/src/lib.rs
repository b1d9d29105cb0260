//! Warden's live view of what its agents do.
//!
//! [`Monitor`] is fed by the audit writer after each commit — so every
//! event and every metric describes something already on record, carries
//! its audit index, and costs the decision path nothing — and by the
//! gateway for what is not an audit record (revocations, suspensions,
//! sightings).
//!
//! - **Events** ([`Event`]): a bounded ring of the most recent ones, for a
//!   consumer that resumes with `Last-Event-ID`, and a broadcast channel for
//!   live ones. A consumer that falls [`LAG_LIMIT`] events behind is dropped
//!   with a final `dropped` event; publishing never waits for anyone.
//! - **Metrics** ([`Metrics`]): counters and histograms in the Prometheus
//!   text format. Label values are bounded: an agent is a label only if it
//!   is registered, a tool only if it is declared or granted; anything else
//!   is `other`.
//! - **Traces** ([`trace`]): when an OTLP endpoint is configured, one span
//!   per governed action, in the trace the client's `traceparent` names,
//!   exported in batches from a background task that never slows a
//!   decision.
//!
//! ```
//! use warden_audit::{AuditRecord, RecordKind};
//! use warden_monitor::{Filter, Monitor};
//!
//! let monitor = Monitor::new();
//! monitor.set_known(["invoice-bot".to_owned()], [("accounting".to_owned(), "read_invoice".to_owned())]);
//! let mut record = AuditRecord::new(7, 1_700_000_000_000, RecordKind::Decision, "decision_api");
//! record.agent = Some("spiffe://example.org/agent/invoice-bot/laptop".into());
//! record.server = Some("accounting".into());
//! record.tool = Some("read_invoice".into());
//! record.decision = Some("allow".into());
//! monitor.on_records(&[&record]);
//! let (replayed, _live) = monitor.subscribe(&Filter::default(), Some("0"));
//! assert_eq!(replayed.events[0].agent.as_deref(), Some("invoice-bot"));
//! assert_eq!(replayed.events[0].audit_index, Some(7));
//! assert!(monitor.metrics().render(&[]).contains(
//!     r#"warden_decisions_total{agent="invoice-bot",server="accounting",tool="read_invoice",outcome="allow"} 1"#
//! ));
//! ```

mod events;
mod metrics;
pub mod trace;

pub use events::{Event, Filter, LAG_LIMIT, RING, Replay, Subscription};
pub use metrics::{Gauge, Metrics};

use std::collections::HashSet;
use std::sync::Arc;

use arc_swap::ArcSwap;
use warden_audit::{AuditRecord, RecordKind};

/// Which agents and tools may be label values.
#[derive(Debug, Default)]
struct Known {
    agents: HashSet<String>,
    tools: HashSet<(String, String)>,
}

/// The event stream and the metrics, fed from the audit writer and the
/// gateway.
#[derive(Debug)]
pub struct Monitor {
    events: events::Bus,
    metrics: Metrics,
    known: ArcSwap<Known>,
}

impl Default for Monitor {
    fn default() -> Self {
        Self::new()
    }
}

impl Monitor {
    /// An empty monitor.
    pub fn new() -> Self {
        Self {
            events: events::Bus::new(),
            metrics: Metrics::default(),
            known: ArcSwap::from_pointee(Known::default()),
        }
    }

    /// The registered agents and the declared or granted tools: the only
    /// label values metrics use (others count as `other`).
    pub fn set_known(
        &self,
        agents: impl IntoIterator<Item = String>,
        tools: impl IntoIterator<Item = (String, String)>,
    ) {
        self.known.store(Arc::new(Known {
            agents: agents.into_iter().collect(),
            tools: tools.into_iter().collect(),
        }));
    }

    /// Records just committed to the audit log, with their indices set.
    pub fn on_records(&self, records: &[&AuditRecord]) {
        let known = self.known.load();
        for record in records {
            let event = Event::of_record(record);
            self.count(&known, record, &event);
            self.events.publish(event);
        }
    }

    fn count(&self, known: &Known, record: &AuditRecord, event: &Event) {
        let agent = event
            .agent
            .as_deref()
            .filter(|a| known.agents.contains(*a))
            .unwrap_or("other");
        let (server, tool) = match (record.server.as_deref(), record.tool.as_deref()) {
            (Some(s), Some(t)) if known.tools.contains(&(s.to_owned(), t.to_owned())) => (s, t),
            _ => ("other", "other"),
        };
        match record.kind {
            RecordKind::Decision if record.agent.is_none() => {
                self.metrics.auth_failure(&record.interception);
            }
            RecordKind::Decision => {
                let outcome = record.decision.as_deref().unwrap_or("unknown");
                self.metrics
                    .decision(agent, server, tool, outcome, record.latency_us);
            }
            RecordKind::Observation => self.metrics.observation(agent),
            RecordKind::Approval | RecordKind::Erasure | RecordKind::Tool => {}
        }
        for class in &record.classes {
            self.metrics.finding(class);
        }
    }

    /// A batch the audit writer committed: its size and how long the commit took.
    pub fn on_batch(&self, records: usize, commit_seconds: f64, log_size: u64) {
        self.metrics.audit_batch(records, commit_seconds, log_size);
    }

    /// A checkpoint was signed.
    pub fn on_checkpoint(&self) {
        self.metrics.checkpoint();
    }

    /// Publishes an event that is not an audit record (a revocation, a
    /// suspension, a sighting).
    pub fn publish(&self, event: Event) {
        self.events.publish(event);
    }

    /// The events after `last_event_id` that are still held, and the live
    /// stream from there, both filtered.
    pub fn subscribe(
        &self,
        filter: &Filter,
        last_event_id: Option<&str>,
    ) -> (Replay, Subscription) {
        self.events.subscribe(filter, last_event_id)
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
