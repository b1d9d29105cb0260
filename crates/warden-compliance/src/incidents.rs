//! Incidents in the reports: which ones, their records and their clocks.

use warden_audit::RecordKind;
use warden_audit::pack::{Claim, Section, TO_COMPLETE, Table};
use warden_types::rfc3339 as time;

use crate::claims::Claims;
use crate::inputs::{IncidentFacts, ReportInputs};

/// The incidents the reports cover: detected in the period, or recorded in
/// the slice, and involving the agent reported on.
pub(crate) fn covered<'a>(inputs: &'a ReportInputs<'_>) -> Vec<&'a IncidentFacts> {
    inputs
        .incidents
        .iter()
        .filter(|i| {
            let in_period =
                i.detected_at_ms >= inputs.period.from_ms && i.detected_at_ms < inputs.period.to_ms;
            let recorded = inputs.slice.iter().any(|r| {
                r.kind == RecordKind::Incident && r.decision_id.as_deref() == Some(i.id.as_str())
            });
            (in_period || recorded) && inputs.agent.is_none_or(|a| i.agents.iter().any(|x| x == a))
        })
        .collect()
}

/// The section that opens a report's incidents: how many were opened in the
/// period (`<prefix>/opened`), or a note that there were none.
pub(crate) fn overview(prefix: &str, title: &str, c: &Claims<'_>, none: bool) -> Section {
    Section {
        id: prefix.to_owned(),
        title: title.to_owned(),
        claims: vec![opened(format!("{prefix}/opened"), c)],
        table: None,
        notes: if none {
            vec!["No incident in the period.".to_owned()]
        } else {
            Vec::new()
        },
    }
}

/// One incident's section: its title, the claim on its records, `table` and
/// `notes`.
pub(crate) fn section(
    prefix: &str,
    i: &IncidentFacts,
    c: &Claims<'_>,
    table: Table,
    notes: Vec<String>,
) -> Section {
    Section {
        id: format!("{prefix}/{}", i.id),
        title: format!(
            "Incident {}: {} (detected {})",
            i.id,
            i.title,
            time(i.detected_at_ms)
        ),
        claims: vec![records(format!("{prefix}/{}/records", i.id), i, c)],
        table: Some(table),
        notes,
    }
}

/// The claim counting the incidents opened in the period.
pub(crate) fn opened(id: String, c: &Claims<'_>) -> Claim {
    c.count(
        id,
        "incidents opened in the period (audit records of kind incident, opened)",
        c.filter(&[RecordKind::Incident], &["opened"], None),
    )
}

/// The claim counting an incident's own audit records.
pub(crate) fn records(id: String, incident: &IncidentFacts, c: &Claims<'_>) -> Claim {
    let mut filter = c.filter(&[RecordKind::Incident], &[], None);
    filter.decision_id = Some(incident.id.clone());
    c.count(
        id,
        "audit records of the incident (opened, updated, closed)",
        filter,
    )
}

/// The deadlines of `regime` as a table: stage, due, basis, state, sent.
pub(crate) fn clocks(
    incident: &IncidentFacts,
    regime: &str,
    now_ms: i64,
    sources: Vec<String>,
) -> Table {
    let rows = incident
        .clocks
        .iter()
        .filter(|k| k.regime == regime)
        .map(|k| {
            let state = if incident.status == "closed" {
                "incident closed"
            } else if k.due_at_ms < now_ms {
                "overdue unless sent"
            } else {
                "due"
            };
            vec![
                k.stage.clone(),
                time(k.due_at_ms),
                k.basis.clone(),
                state.to_owned(),
                TO_COMPLETE.to_owned(),
            ]
        })
        .collect();
    Table {
        columns: [
            "stage",
            "due (UTC)",
            "counted from",
            "state at generation",
            "sent (when, to whom)",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        sources,
    }
}
