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

mod alerts;
mod events;
pub mod incidents;
mod metrics;
pub mod trace;

pub use alerts::{Alert, Alerter, Evidence};
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
    alerter: Alerter,
    alerts: tokio::sync::mpsc::Sender<Alert>,
    alerts_rx: parking_lot::Mutex<Option<tokio::sync::mpsc::Receiver<Alert>>>,
}

/// Alerts waiting for delivery at most; more are counted and dropped.
pub const ALERT_QUEUE: usize = 1024;

impl Default for Monitor {
    fn default() -> Self {
        Self::new()
    }
}

impl Monitor {
    /// An empty monitor, with no alert rules.
    pub fn new() -> Self {
        Self::with_alerts(Alerter::default())
    }

    /// A monitor that evaluates `alerter`'s rules on every record.
    pub fn with_alerts(alerter: Alerter) -> Self {
        let (alerts, rx) = tokio::sync::mpsc::channel(ALERT_QUEUE);
        Self {
            events: events::Bus::new(),
            metrics: Metrics::default(),
            known: ArcSwap::from_pointee(Known::default()),
            alerter,
            alerts,
            alerts_rx: parking_lot::Mutex::new(Some(rx)),
        }
    }

    /// The alerter (to seed what agents touched before).
    pub fn alerter(&self) -> &Alerter {
        &self.alerter
    }

    /// The alerts fired, for the one task that delivers them (`None` after
    /// the first call).
    pub fn take_alerts(&self) -> Option<tokio::sync::mpsc::Receiver<Alert>> {
        self.alerts_rx.lock().take()
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
            let agent = event.agent.clone();
            self.events.publish(event);
            if let Some(agent) = agent {
                for alert in self.alerter.on_record(&agent, record) {
                    self.raise(alert);
                }
            }
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
            RecordKind::Approval
            | RecordKind::Erasure
            | RecordKind::Tool
            | RecordKind::Incident
            | RecordKind::Admin => {}
        }
        for class in &record.classes {
            self.metrics.finding(class);
        }
    }

    /// Publishes an alert, counts it, and queues it for delivery (dropped
    /// and counted when the queue is full: delivery never holds anyone up).
    fn raise(&self, alert: Alert) {
        self.metrics.alert(&alert.rule);
        let mut event = Event::new("alert", alert.time_ms);
        event.agent = Some(alert.agent.clone());
        event.outcome = Some(alert.severity.to_owned());
        event.reasons = vec![alert.message.clone()];
        event.note = Some(alert.rule.clone());
        event.audit_index = alert.evidence.last().map(|e| e.audit_index);
        self.events.publish(event);
        if self.alerts.try_send(alert).is_err() {
            self.metrics.alert_dropped();
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
