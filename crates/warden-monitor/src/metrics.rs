//! Metrics in the Prometheus text exposition format (version 0.0.4).
//!
//! Everything is counted from committed audit records and batches, by the
//! audit writer's task: the decision path itself never touches a metric.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use parking_lot::Mutex;

/// Decision latency buckets, in seconds.
const LATENCY: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];
/// Audit commit buckets, in seconds.
const COMMIT: &[f64] = &[
    0.000_1, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];
/// Audit batch size buckets, in records.
const BATCH: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, value: f64) {
        for (bound, count) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Debug)]
struct Inner {
    decisions: BTreeMap<[String; 4], u64>,
    latency: BTreeMap<String, Histogram>,
    auth_failures: BTreeMap<String, u64>,
    observations: BTreeMap<String, u64>,
    findings: BTreeMap<String, u64>,
    batch: Histogram,
    commit: Histogram,
    log_size: u64,
    checkpoints: u64,
    alerts: BTreeMap<String, u64>,
    alerts_dropped: u64,
}

/// The counters and histograms.
#[derive(Debug)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                decisions: BTreeMap::new(),
                latency: BTreeMap::new(),
                auth_failures: BTreeMap::new(),
                observations: BTreeMap::new(),
                findings: BTreeMap::new(),
                batch: Histogram::new(BATCH),
                commit: Histogram::new(COMMIT),
                log_size: 0,
                checkpoints: 0,
                alerts: BTreeMap::new(),
                alerts_dropped: 0,
            }),
        }
    }
}

/// A value read when the metrics are scraped (pending approvals, sessions…).
#[derive(Debug, Clone)]
pub struct Gauge {
    /// Its name (`warden_approvals_pending`).
    pub name: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// Its value.
    pub value: f64,
}

/// A label value, escaped as the format wants.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

impl Metrics {
    pub(crate) fn decision(
        &self,
        agent: &str,
        server: &str,
        tool: &str,
        outcome: &str,
        latency_us: Option<u64>,
    ) {
        let mut inner = self.inner.lock();
        *inner
            .decisions
            .entry([agent.into(), server.into(), tool.into(), outcome.into()])
            .or_default() += 1;
        if let Some(us) = latency_us {
            inner
                .latency
                .entry(outcome.to_owned())
                .or_insert_with(|| Histogram::new(LATENCY))
                .observe(us as f64 / 1e6);
        }
    }

    pub(crate) fn auth_failure(&self, plane: &str) {
        *self
            .inner
            .lock()
            .auth_failures
            .entry(plane.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn observation(&self, agent: &str) {
        *self
            .inner
            .lock()
            .observations
            .entry(agent.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn finding(&self, class: &str) {
        *self
            .inner
            .lock()
            .findings
            .entry(class.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn audit_batch(&self, records: usize, seconds: f64, log_size: u64) {
        let mut inner = self.inner.lock();
        inner.batch.observe(records as f64);
        inner.commit.observe(seconds);
        inner.log_size = log_size;
    }

    pub(crate) fn alert(&self, rule: &str) {
        *self.inner.lock().alerts.entry(rule.to_owned()).or_default() += 1;
    }

    pub(crate) fn alert_dropped(&self) {
        self.inner.lock().alerts_dropped += 1;
    }

    pub(crate) fn checkpoint(&self) {
        self.inner.lock().checkpoints += 1;
    }

    /// The exposition, with `gauges` read by the caller appended.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let inner = self.inner.lock();
        let mut out = String::with_capacity(4096);
        header(
            &mut out,
            "warden_decisions_total",
            "counter",
            "Decisions recorded, by agent, tool and outcome.",
        );
        for ([agent, server, tool, outcome], n) in &inner.decisions {
            let _ = writeln!(
                out,
                "warden_decisions_total{{agent=\"{}\",server=\"{}\",tool=\"{}\",outcome=\"{}\"}} {n}",
                escape(agent),
                escape(server),
                escape(tool),
                escape(outcome)
            );
        }
        header(
            &mut out,
            "warden_decision_duration_seconds",
            "histogram",
            "Time to decide, by outcome (policy evaluation, not the audit write).",
        );
        for (outcome, h) in &inner.latency {
            h.render(
                &mut out,
                "warden_decision_duration_seconds",
                &format!("outcome=\"{}\"", escape(outcome)),
            );
        }
        header(
            &mut out,
            "warden_auth_failures_total",
            "counter",
            "Refused authentications, by plane.",
        );
        for (plane, n) in &inner.auth_failures {
            let _ = writeln!(
                out,
                "warden_auth_failures_total{{plane=\"{}\"}} {n}",
                escape(plane)
            );
        }
        header(
            &mut out,
            "warden_observations_total",
            "counter",
            "Tool results reported, by agent.",
        );
        for (agent, n) in &inner.observations {
            let _ = writeln!(
                out,
                "warden_observations_total{{agent=\"{}\"}} {n}",
                escape(agent)
            );
        }
        header(
            &mut out,
            "warden_classifier_findings_total",
            "counter",
            "Records holding each data class.",
        );
        for (class, n) in &inner.findings {
            let _ = writeln!(
                out,
                "warden_classifier_findings_total{{class=\"{}\"}} {n}",
                escape(class)
            );
        }
        header(
            &mut out,
            "warden_audit_batch_records",
            "histogram",
            "Records per audit commit.",
        );
        inner
            .batch
            .render(&mut out, "warden_audit_batch_records", "");
        header(
            &mut out,
            "warden_audit_commit_seconds",
            "histogram",
            "Time to commit (and fsync) one audit batch.",
        );
        inner
            .commit
            .render(&mut out, "warden_audit_commit_seconds", "");
        header(
            &mut out,
            "warden_audit_log_records",
            "gauge",
            "Records in the audit log.",
        );
        let _ = writeln!(out, "warden_audit_log_records {}", inner.log_size);
        header(
            &mut out,
            "warden_audit_checkpoints_total",
            "counter",
            "Checkpoints signed by this process.",
        );
        let _ = writeln!(out, "warden_audit_checkpoints_total {}", inner.checkpoints);
        header(
            &mut out,
            "warden_alerts_total",
            "counter",
            "Alerts fired, by rule.",
        );
        for (rule, n) in &inner.alerts {
            let _ = writeln!(out, "warden_alerts_total{{rule=\"{}\"}} {n}", escape(rule));
        }
        header(
            &mut out,
            "warden_alerts_dropped_total",
            "counter",
            "Alerts dropped because the delivery queue was full.",
        );
        let _ = writeln!(out, "warden_alerts_dropped_total {}", inner.alerts_dropped);
        for g in gauges {
            header(&mut out, g.name, "gauge", g.help);
            let _ = writeln!(out, "{} {}", g.name, g.value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.decision("a\"b", "s", "t", "allow", Some(30));
        m.decision("a\"b", "s", "t", "allow", Some(3_000));
        let text = m.render(&[Gauge {
            name: "warden_sessions",
            help: "Live sessions.",
            value: 3.0,
        }]);
        assert!(
            text.contains(
                r#"warden_decisions_total{agent="a\"b",server="s",tool="t",outcome="allow"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"warden_decision_duration_seconds_bucket{outcome="allow",le="0.00005"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"warden_decision_duration_seconds_bucket{outcome="allow",le="+Inf"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains("warden_sessions 3\n"), "{text}");
    }
}
