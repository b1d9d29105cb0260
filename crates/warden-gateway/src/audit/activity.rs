//! What a batch of audit records adds to the agents' activity: counts per
//! agent, clock hour, tool and outcome, and the data classes they held. The
//! store writes them in the same transaction as the records, so the
//! inventory's figures are the log's.

use std::collections::HashMap;

use warden_audit::{AuditRecord, RecordKind};
use warden_store::{ActivityDelta, ClassDelta};

/// The agent's name in a record's `agent` field: the name part of
/// `spiffe://<td>/agent/<name>/<instance>`, or the field itself when it is
/// not a SPIFFE ID.
pub(crate) fn agent_name(agent: &str) -> &str {
    agent
        .strip_prefix("spiffe://")
        .and_then(|rest| {
            let mut parts = rest.splitn(4, '/');
            let _domain = parts.next()?;
            (parts.next()? == "agent").then_some(())?;
            parts.next()
        })
        .unwrap_or(agent)
}

/// The outcome a record counts under, or `None` for records that are not an
/// agent's (erasures, failed authentications).
fn outcome(record: &AuditRecord) -> Option<&str> {
    match record.kind {
        RecordKind::Decision => record.decision.as_deref(),
        RecordKind::Observation => Some("observation"),
        RecordKind::Approval => Some("approval"),
        RecordKind::Erasure | RecordKind::Tool | RecordKind::Incident | RecordKind::Admin => None,
    }
}

/// Sums `records` into activity and class deltas.
pub(crate) fn deltas<'a>(
    records: impl Iterator<Item = &'a AuditRecord>,
) -> (Vec<ActivityDelta>, Vec<ClassDelta>) {
    type Key<'k> = (&'k str, i64, &'k str, &'k str, &'k str);
    let mut activity: HashMap<Key<'a>, (i64, i64, i64)> = HashMap::new();
    let mut classes: HashMap<(&'a str, &'a str), (i64, i64, i64)> = HashMap::new();
    for record in records {
        let (Some(agent), Some(outcome)) = (record.agent.as_deref(), outcome(record)) else {
            continue;
        };
        let agent = agent_name(agent);
        let at = record.time_ms;
        let key = (
            agent,
            at.div_euclid(3_600_000),
            record.server.as_deref().unwrap_or(""),
            record.tool.as_deref().unwrap_or(""),
            outcome,
        );
        let entry = activity.entry(key).or_insert((0, at, at));
        add(entry, at);
        for class in &record.classes {
            let entry = classes.entry((agent, class)).or_insert((0, at, at));
            add(entry, at);
        }
    }
    let activity = activity
        .into_iter()
        .map(
            |((agent, hour, server, tool, outcome), (count, first_ms, last_ms))| ActivityDelta {
                agent: agent.to_owned(),
                hour,
                server: server.to_owned(),
                tool: tool.to_owned(),
                outcome: outcome.to_owned(),
                count,
                first_ms,
                last_ms,
            },
        )
        .collect();
    let classes = classes
        .into_iter()
        .map(|((agent, class), (count, first_ms, last_ms))| ClassDelta {
            agent: agent.to_owned(),
            class: class.to_owned(),
            count,
            first_ms,
            last_ms,
        })
        .collect();
    (activity, classes)
}

fn add(entry: &mut (i64, i64, i64), at: i64) {
    entry.0 += 1;
    entry.1 = entry.1.min(at);
    entry.2 = entry.2.max(at);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(agent: Option<&str>, decision: &str, at: i64, classes: &[&str]) -> AuditRecord {
        let mut r = AuditRecord::new(0, at, RecordKind::Decision, "decision_api");
        r.agent = agent.map(str::to_owned);
        r.server = Some("crm".into());
        r.tool = Some("lookup".into());
        r.decision = Some(decision.into());
        r.classes = classes.iter().map(|c| (*c).to_owned()).collect();
        r
    }

    #[test]
    fn names_come_from_spiffe_ids() {
        assert_eq!(
            agent_name("spiffe://example.org/agent/invoice-bot/laptop-1"),
            "invoice-bot"
        );
        assert_eq!(agent_name("invoice-bot"), "invoice-bot");
        assert_eq!(
            agent_name("spiffe://example.org/workload/x"),
            "spiffe://example.org/workload/x"
        );
    }

    #[test]
    fn records_are_summed_by_agent_hour_tool_and_outcome() {
        let bot = "spiffe://example.org/agent/bot/a";
        let records = [
            record(Some(bot), "allow", 3_600_000, &["pii.contact"]),
            record(
                Some(bot),
                "allow",
                3_600_500,
                &["pii.contact", "financial.iban"],
            ),
            record(Some(bot), "deny", 3_600_100, &[]),
            record(Some(bot), "allow", 7_200_000, &[]),
            // A failed authentication names no agent: not counted.
            record(None, "deny", 3_600_000, &[]),
        ];
        let (mut activity, mut classes) = deltas(records.iter());
        activity.sort_by_key(|a| (a.hour, a.outcome.clone()));
        classes.sort_by(|a, b| a.class.cmp(&b.class));
        let counts: Vec<_> = activity
            .iter()
            .map(|a| (a.hour, a.outcome.as_str(), a.count, a.first_ms, a.last_ms))
            .collect();
        assert_eq!(
            counts,
            [
                (1, "allow", 2, 3_600_000, 3_600_500),
                (1, "deny", 1, 3_600_100, 3_600_100),
                (2, "allow", 1, 7_200_000, 7_200_000)
            ]
        );
        assert!(
            activity
                .iter()
                .all(|a| a.agent == "bot" && a.tool == "lookup")
        );
        let classes: Vec<_> = classes
            .iter()
            .map(|c| (c.class.as_str(), c.count))
            .collect();
        assert_eq!(classes, [("financial.iban", 1), ("pii.contact", 2)]);
    }
}
