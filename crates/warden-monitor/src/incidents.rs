//! Incidents: what an alert of high severity (or a person) opens, with the
//! regulators' clocks running from its detection, and drafts of the reports
//! they ask for, built from the evidence.
//!
//! The clocks, counted from detection (Warden classifies an incident as
//! major when it opens it, so classification and detection coincide):
//!
//! | regime | stage | due |
//! | --- | --- | --- |
//! | NIS2 Art. 23(4) | early warning | 24 h after becoming aware |
//! | NIS2 | incident notification | 72 h after becoming aware |
//! | NIS2 | final report | one month (30 days) after the notification |
//! | DORA Art. 19 with its RTS | initial notification | 4 h after classification, at most 24 h after detection |
//! | DORA | intermediate report | 72 h after the initial notification |
//! | DORA | final report | one month (30 days) after the intermediate report |
//!
//! Later stages are counted from the earlier stage's due time (a report
//! submitted earlier moves them earlier; the draft says so).

use serde::{Deserialize, Serialize};

use crate::alerts::{Alert, Evidence};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// An alert an incident links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedAlert {
    /// The alert's id.
    pub id: String,
    /// Its rule.
    pub rule: String,
    /// In words.
    pub message: String,
    /// When (unix ms).
    pub time_ms: i64,
}

/// Something done about the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    /// When (unix ms).
    pub at: i64,
    /// What.
    pub what: String,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Its id (`inc-<detected_at>-<agent>`).
    pub id: String,
    /// A title.
    pub title: String,
    /// `high` or `critical` (or what a person chose).
    pub severity: String,
    /// `open` or `closed`.
    pub status: String,
    /// When it was detected (unix ms): the clocks start here.
    pub detected_at: i64,
    /// Who or what opened it.
    pub opened_by: String,
    /// The agents involved.
    pub agents: Vec<String>,
    /// Its alerts.
    pub alerts: Vec<LinkedAlert>,
    /// The audit records behind it.
    pub evidence: Vec<Evidence>,
    /// Measures taken (a suspension, a revocation, a note).
    pub measures: Vec<Measure>,
    /// When it was closed (unix ms).
    pub closed_at: Option<i64>,
}

/// One regulatory deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clock {
    /// `NIS2` or `DORA`.
    pub regime: &'static str,
    /// The stage (`early-warning`, `notification`, `final`, `initial`, `intermediate`).
    pub stage: &'static str,
    /// When it is due (unix ms).
    pub due_at: i64,
    /// What the deadline is counted from.
    pub basis: &'static str,
}

impl Incident {
    /// An incident opened by `alert`.
    pub fn from_alert(alert: &Alert) -> Self {
        let mut incident = Self {
            id: format!("inc-{}-{}", alert.time_ms, alert.agent),
            title: format!("{} on agent `{}`", alert.rule, alert.agent),
            severity: alert.severity.to_owned(),
            status: "open".to_owned(),
            detected_at: alert.time_ms,
            opened_by: format!("alert rule `{}`", alert.rule),
            agents: vec![alert.agent.clone()],
            alerts: Vec::new(),
            evidence: Vec::new(),
            measures: Vec::new(),
            closed_at: None,
        };
        incident.link(alert);
        incident
    }

    /// Adds `alert` (and its evidence) to the incident.
    pub fn link(&mut self, alert: &Alert) {
        if self.alerts.iter().any(|a| a.id == alert.id) {
            return;
        }
        self.alerts.push(LinkedAlert {
            id: alert.id.clone(),
            rule: alert.rule.clone(),
            message: alert.message.clone(),
            time_ms: alert.time_ms,
        });
        for e in &alert.evidence {
            if !self.evidence.contains(e) {
                self.evidence.push(e.clone());
            }
        }
        if !self.agents.contains(&alert.agent) {
            self.agents.push(alert.agent.clone());
        }
        if alert.action == "suspend" {
            self.measures.push(Measure {
                at: alert.time_ms,
                what: format!(
                    "agent `{}` suspended by alert rule `{}`",
                    alert.agent, alert.rule
                ),
            });
        }
    }

    /// The regulatory clocks, from detection.
    pub fn clocks(&self) -> Vec<Clock> {
        let d = self.detected_at;
        let nis2_notification = d + 72 * HOUR;
        let dora_initial = (d + 4 * HOUR).min(d + 24 * HOUR);
        let dora_intermediate = dora_initial + 72 * HOUR;
        vec![
            Clock {
                regime: "NIS2",
                stage: "early-warning",
                due_at: d + 24 * HOUR,
                basis: "24 h after detection",
            },
            Clock {
                regime: "NIS2",
                stage: "notification",
                due_at: nis2_notification,
                basis: "72 h after detection",
            },
            Clock {
                regime: "NIS2",
                stage: "final",
                due_at: nis2_notification + 30 * DAY,
                basis: "one month after the notification",
            },
            Clock {
                regime: "DORA",
                stage: "initial",
                due_at: dora_initial,
                basis: "4 h after classification (at most 24 h after detection)",
            },
            Clock {
                regime: "DORA",
                stage: "intermediate",
                due_at: dora_intermediate,
                basis: "72 h after the initial notification",
            },
            Clock {
                regime: "DORA",
                stage: "final",
                due_at: dora_intermediate + 30 * DAY,
                basis: "one month after the intermediate report",
            },
        ]
    }
}

/// One audit record in a report, as read from the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRecord {
    /// Its index in the log.
    pub audit_index: u64,
    /// When (unix ms).
    pub time_ms: i64,
    /// The agent.
    pub agent: String,
    /// `server/tool`.
    pub tool: String,
    /// The decision.
    pub decision: String,
    /// The classes in its arguments.
    pub classes: Vec<String>,
    /// Where it sent to.
    pub destinations: Vec<String>,
}

/// A report draft's content.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `early-warning`, `notification` or `final`.
    pub stage: String,
    /// The incident.
    pub incident: Incident,
    /// The clocks.
    pub clocks: Vec<Clock>,
    /// The evidence records, read from the audit log.
    pub records: Vec<EvidenceRecord>,
    /// Every data class in them.
    pub classes: Vec<String>,
    /// Every destination in them.
    pub destinations: Vec<String>,
    /// Decisions by outcome among them.
    pub decisions: std::collections::BTreeMap<String, usize>,
}

/// The stages a report can be drafted for.
pub const STAGES: &[&str] = &["early-warning", "notification", "final"];

impl Report {
    /// A draft for `stage` from the incident and its evidence records.
    pub fn new(stage: &str, incident: Incident, records: Vec<EvidenceRecord>) -> Self {
        let mut classes: Vec<String> = records.iter().flat_map(|r| r.classes.clone()).collect();
        classes.sort();
        classes.dedup();
        let mut destinations: Vec<String> = records
            .iter()
            .flat_map(|r| r.destinations.clone())
            .collect();
        destinations.sort();
        destinations.dedup();
        let mut decisions = std::collections::BTreeMap::new();
        for r in &records {
            *decisions.entry(r.decision.clone()).or_insert(0) += 1;
        }
        Self {
            stage: stage.to_owned(),
            clocks: incident.clocks(),
            incident,
            records,
            classes,
            destinations,
            decisions,
        }
    }

    /// The draft as Markdown; `when` renders unix ms.
    pub fn markdown(&self, when: impl Fn(i64) -> String) -> String {
        let i = &self.incident;
        let mut out = format!(
            "# {} — {} (draft)\n\nIncident `{}`: {} (severity {}, {}).\n\n",
            match self.stage.as_str() {
                "early-warning" => "NIS2 early warning / DORA initial notification",
                "notification" => "NIS2 incident notification / DORA intermediate report",
                _ => "Final report (NIS2 and DORA)",
            },
            i.title,
            i.id,
            i.title,
            i.severity,
            i.status
        );
        out.push_str(&format!(
            "## When\n\n- Detected: {} (by {})\n",
            when(i.detected_at),
            i.opened_by
        ));
        for c in &self.clocks {
            out.push_str(&format!(
                "- {} {}: due {} ({})\n",
                c.regime,
                c.stage,
                when(c.due_at),
                c.basis
            ));
        }
        out.push_str("\n## What happened\n\n");
        for a in &i.alerts {
            out.push_str(&format!("- {}: {}\n", when(a.time_ms), a.message));
        }
        out.push_str(&format!(
            "\n## Affected\n\n- Agents: {}\n- Data classes: {}\n- Destinations: {}\n- Records: {} ({})\n",
            i.agents.join(", "),
            if self.classes.is_empty() { "none found".to_owned() } else { self.classes.join(", ") },
            if self.destinations.is_empty() { "none".to_owned() } else { self.destinations.join(", ") },
            self.records.len(),
            self.decisions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push_str("\n## Evidence (audit log)\n\n| index | time | agent | tool | decision | classes | destinations |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for r in &self.records {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.audit_index,
                when(r.time_ms),
                r.agent,
                r.tool,
                r.decision,
                r.classes.join(", "),
                r.destinations.join(", ")
            ));
        }
        out.push_str(
            "\nEach record can be proven with `warden audit prove INDEX`.\n\n## Measures taken\n\n",
        );
        if i.measures.is_empty() {
            out.push_str("- none yet\n");
        }
        for m in &i.measures {
            out.push_str(&format!("- {}: {}\n", when(m.at), m.what));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_run_from_detection() {
        let alert = Alert {
            id: "a".into(),
            rule: "r".into(),
            kind: "denials",
            severity: "high",
            action: "suspend",
            per: "agent",
            agent: "bot".into(),
            instance: None,
            time_ms: 1_000,
            message: "m".into(),
            observed: "o".into(),
            baseline: "b".into(),
            evidence: vec![],
        };
        let incident = Incident::from_alert(&alert);
        let due: Vec<(&str, &str, i64)> = incident
            .clocks()
            .iter()
            .map(|c| (c.regime, c.stage, (c.due_at - 1_000) / HOUR))
            .collect();
        assert_eq!(
            due,
            [
                ("NIS2", "early-warning", 24),
                ("NIS2", "notification", 72),
                ("NIS2", "final", 72 + 720),
                ("DORA", "initial", 4),
                ("DORA", "intermediate", 76),
                ("DORA", "final", 76 + 720),
            ]
        );
        assert_eq!(incident.measures.len(), 1, "the suspension is a measure");
    }
}
