//! The DORA report: the ICT asset register of agents (Art. 8), the register
//! of ICT third-party services (Art. 28, register-of-information columns as
//! far as Warden knows them) and incidents classified with their reports'
//! due times (Arts. 17–19).

use serde_json::Value;
use warden_audit::RecordKind;
use warden_audit::pack::{Report, Section, TO_COMPLETE, Table};
use warden_policy::{Destination, Transport};

use crate::claims::Claims;
use crate::incidents;
use crate::inputs::{CONFIG_PATH, ReportInputs, pack_path};

/// Builds the report.
pub(crate) fn report(inputs: &ReportInputs<'_>, c: &Claims<'_>) -> Report {
    let mut sections = vec![assets(inputs, c), third_parties(inputs)];
    let covered = incidents::covered(inputs);
    sections.push(incidents::overview(
        "dora/incidents",
        "ICT-related incidents (Art. 17–19)",
        c,
        covered.is_empty(),
    ));
    for i in covered {
        let critical: Vec<&str> = inputs
            .manifests
            .iter()
            .filter(|m| m.risk.dora_critical && i.agents.iter().any(|a| a == m.name.as_str()))
            .map(|m| m.name.as_str())
            .collect();
        let mut sources = vec![CONFIG_PATH.to_owned()];
        sources.extend(
            inputs
                .agents()
                .filter(|m| i.agents.iter().any(|a| a == m.name.as_str()))
                .map(|m| pack_path(&m.file)),
        );
        let duration = i.closed_at_ms.map_or_else(
            || "ongoing".to_owned(),
            |end| format!("{} min", (end - i.detected_at_ms) / 60_000),
        );
        let criteria = Table {
            columns: [
                "criterion (RTS on classification, Art. 18)",
                "what Warden knows",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows: vec![
                vec![
                    "critical services affected".to_owned(),
                    if critical.is_empty() {
                        "no DORA-critical agent involved".to_owned()
                    } else {
                        format!("yes: {}", critical.join(", "))
                    },
                ],
                vec!["duration and service downtime".to_owned(), duration],
                vec![
                    "clients, counterparts and transactions affected".to_owned(),
                    TO_COMPLETE.to_owned(),
                ],
                vec![
                    "data losses (availability, authenticity, integrity, confidentiality)"
                        .to_owned(),
                    TO_COMPLETE.to_owned(),
                ],
                vec!["geographical spread".to_owned(), TO_COMPLETE.to_owned()],
                vec!["economic impact".to_owned(), TO_COMPLETE.to_owned()],
                vec!["reputational impact".to_owned(), TO_COMPLETE.to_owned()],
                vec![
                    "classification".to_owned(),
                    format!(
                        "major (severity {}, as Warden opened it); {TO_COMPLETE} to confirm",
                        i.severity
                    ),
                ],
            ],
            sources: sources.clone(),
        };
        sections.push(incidents::section(
            "dora/incidents",
            i,
            c,
            criteria,
            i.measures.clone(),
        ));
        sections.push(Section {
            id: format!("dora/incidents/{}/reports", i.id),
            title: format!("Incident {}: reports due (Art. 19)", i.id),
            claims: Vec::new(),
            table: Some(incidents::clocks(
                i,
                "DORA",
                inputs.generated_at_ms,
                sources,
            )),
            notes: Vec::new(),
        });
    }
    Report {
        kind: "dora".to_owned(),
        title: "DORA (Regulation (EU) 2022/2554): ICT assets, third-party services and incidents"
            .to_owned(),
        sections,
    }
}

fn assets(inputs: &ReportInputs<'_>, c: &Claims<'_>) -> Section {
    let mut rows = Vec::new();
    let mut claims = Vec::new();
    let mut sources = vec![CONFIG_PATH.to_owned()];
    for m in inputs.agents() {
        let a = m.name.as_str();
        let file = pack_path(&m.file);
        let prefix = inputs.agent_prefix(a);
        rows.push(vec![
            prefix.clone(),
            a.to_owned(),
            m.purpose.clone(),
            m.owner.clone(),
            if m.risk.dora_critical { "yes" } else { "no" }.to_owned(),
            m.risk.critical_function.clone().unwrap_or_else(|| {
                if m.risk.dora_critical {
                    TO_COMPLETE.to_owned()
                } else {
                    "-".to_owned()
                }
            }),
            m.risk
                .eu_ai_act
                .clone()
                .unwrap_or_else(|| TO_COMPLETE.to_owned()),
            m.may_read.join("; "),
            m.grants
                .iter()
                .map(|g| format!("{}/{}({})", g.server, g.tool, g.operation))
                .collect::<Vec<_>>()
                .join("; "),
        ]);
        claims.push(c.file(
            format!("dora/{a}/critical"),
            &format!("{a} supports a critical or important function"),
            Value::from(m.risk.dora_critical),
            &file,
            Some("risk.dora_critical"),
        ));
        claims.push(c.count(
            format!("dora/{a}/actions"),
            &format!("{a}: actions decided in the period"),
            c.filter(&[RecordKind::Decision], &[], Some(&prefix)),
        ));
        sources.push(file);
    }
    Section {
        id: "dora/assets".to_owned(),
        title: "ICT asset register: agents (Art. 8)".to_owned(),
        claims,
        table: Some(Table {
            columns: [
                "identifier",
                "name",
                "description",
                "owner",
                "supports critical or important function",
                "function",
                "EU AI Act class",
                "data classes",
                "tools granted",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows,
            sources,
        }),
        notes: Vec::new(),
    }
}

fn third_parties(inputs: &ReportInputs<'_>) -> Section {
    let config = inputs.config;
    let users = |server: &str| -> Vec<&str> {
        inputs
            .agents()
            .filter(|m| m.grants.iter().any(|g| g.server == server))
            .map(|m| m.name.as_str())
            .collect()
    };
    let critical = |server: &str| {
        inputs
            .agents()
            .any(|m| m.risk.dora_critical && m.grants.iter().any(|g| g.server == server))
    };
    let mut rows = Vec::new();
    for (name, p) in &config.providers {
        rows.push(vec![
            TO_COMPLETE.to_owned(),
            format!("{name} ({})", p.base_url.host_str().unwrap_or("-")),
            format!("LLM provider API ({:?})", p.kind).to_lowercase(),
            p.region.clone().unwrap_or_else(|| TO_COMPLETE.to_owned()),
            if p.cleared.is_empty() {
                "none".to_owned()
            } else {
                p.cleared.join("; ")
            },
            users(name).join("; "),
            if critical(name) { "yes" } else { "no" }.to_owned(),
            TO_COMPLETE.to_owned(),
            TO_COMPLETE.to_owned(),
        ]);
    }
    for (name, s) in &config.servers {
        if s.destination != Destination::External || config.providers.contains_key(name) {
            continue;
        }
        let how = match s.transport {
            Transport::Stdio { .. } => "tool server (stdio)",
            Transport::Http { .. } => "tool server (HTTP)",
            Transport::Api => "tool API (called by the agent, decided by Warden)",
        };
        rows.push(vec![
            TO_COMPLETE.to_owned(),
            name.clone(),
            how.to_owned(),
            TO_COMPLETE.to_owned(),
            if s.cleared.is_empty() {
                "none".to_owned()
            } else {
                s.cleared.join("; ")
            },
            users(name).join("; "),
            if critical(name) { "yes" } else { "no" }.to_owned(),
            TO_COMPLETE.to_owned(),
            TO_COMPLETE.to_owned(),
        ]);
    }
    Section {
        id: "dora/third-parties".to_owned(),
        title: "Register of information: ICT third-party services (Art. 28)".to_owned(),
        claims: Vec::new(),
        table: Some(Table {
            columns: [
                "provider identifier (LEI, B_05.01.0010)",
                "provider / service name (B_05.01.0050)",
                "type of ICT service (B_02.02.0060)",
                "location of data processing (B_02.02.0150)",
                "data classes it may receive",
                "functions (agents) supported (B_06.01)",
                "supports a critical or important function",
                "substitutability (B_07.01.0050)",
                "contractual arrangement reference (B_02.01.0010)",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows,
            sources: vec![CONFIG_PATH.to_owned()],
        }),
        notes: vec![format!(
            "Tool servers with an external destination and the model providers of `[providers]`. Cells marked \"{TO_COMPLETE}\" are not known to Warden."
        )],
    }
}
