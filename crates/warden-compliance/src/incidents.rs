//! Incidents in the reports: which ones, their records and their clocks.

use warden_audit::RecordKind;
use warden_audit::pack::{Claim, TO_COMPLETE, Table};

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

/// `ms` (unix milliseconds) as RFC 3339 UTC, to the second.
pub fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
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
