//! The NIS2 report: incidents on the Art. 23 timeline (early warning 24 h,
//! notification 72 h, final report one month) and the measures in place
//! mapped to Art. 21(2).

use warden_audit::RecordKind;
use warden_audit::pack::{Report, Section, Table};

use crate::claims::Claims;
use crate::incidents;
use crate::inputs::{CONFIG_PATH, ReportInputs, pack_path};

/// Builds the report.
pub(crate) fn report(inputs: &ReportInputs<'_>, c: &Claims<'_>) -> Report {
    let covered = incidents::covered(inputs);
    let mut sections = vec![incidents::overview(
        "nis2/incidents",
        "Significant incidents (Art. 23)",
        c,
        covered.is_empty(),
    )];
    for i in covered {
        let mut notes = vec![format!(
            "severity {}, status {}, agents {}",
            i.severity,
            i.status,
            i.agents.join(", ")
        )];
        notes.extend(i.measures.iter().cloned());
        let clocks = incidents::clocks(
            i,
            "NIS2",
            inputs.generated_at_ms,
            vec![CONFIG_PATH.to_owned()],
        );
        sections.push(incidents::section("nis2/incidents", i, c, clocks, notes));
    }
    sections.push(measures(inputs, c));
    Report {
        kind: "nis2".to_owned(),
        title: "NIS2 (Directive (EU) 2022/2555): incident reporting and risk-management measures"
            .to_owned(),
        sections,
    }
}

fn measures(inputs: &ReportInputs<'_>, c: &Claims<'_>) -> Section {
    let id = |s: &str| format!("nis2/measures/{s}");
    let mut sources = vec![CONFIG_PATH.to_owned()];
    sources.extend(inputs.agents().map(|m| pack_path(&m.file)));
    let row = |point: &str, measure: &str, evidence: &str| {
        vec![point.to_owned(), measure.to_owned(), evidence.to_owned()]
    };
    Section {
        id: "nis2/measures".to_owned(),
        title: "Cybersecurity risk-management measures (Art. 21(2))".to_owned(),
        claims: vec![
            c.count(
                id("denied"),
                "(i) actions denied by access control in the period",
                c.filter(&[RecordKind::Decision], &["deny"], None),
            ),
            c.count(
                id("approvals"),
                "(i) actions held for a human's approval in the period",
                c.filter(&[RecordKind::Decision], &["needs_approval"], None),
            ),
            c.count(
                id("incident-records"),
                "(b) incident records in the period",
                c.filter(&[RecordKind::Incident], &[], None),
            ),
            c.count(
                id("tool-pins"),
                "(d) tool definitions pinned, withheld or accepted in the period",
                c.filter(&[RecordKind::Tool], &[], None),
            ),
            c.count(
                id("admin-changes"),
                "(i) changes made by hand (suspend, resume, revoke, tokens) in the period",
                c.filter(&[RecordKind::Admin], &[], None),
            ),
            c.log(id("log-integrity")),
        ],
        table: Some(Table {
            columns: ["Art. 21(2) point", "measure in place", "evidence"]
                .map(str::to_owned)
                .to_vec(),
            rows: vec![
                row(
                    "(a) risk analysis and security policies",
                    "each agent's manifest: owner, purpose, risk class, least-privilege grants",
                    "files/agents/*.yaml",
                ),
                row(
                    "(b) incident handling",
                    "alerts open incidents with NIS2 and DORA clocks; every change is an audit record",
                    "incident records; this report's incident sections",
                ),
                row(
                    "(c) business continuity",
                    "the kill switch (suspend) and revocation per agent; fail-closed gateway",
                    "admin records",
                ),
                row(
                    "(d) supply chain security",
                    "tool definitions pinned against rug pulls; third-party register",
                    "tool records; DORA third-party register",
                ),
                row(
                    "(e) security in acquisition, development and maintenance",
                    "policies linted and tested before they apply",
                    "the policy digest in force",
                ),
                row(
                    "(f) assessing the effectiveness of measures",
                    "decisions allowed and denied counted from the audit log",
                    "decision records",
                ),
                row(
                    "(h) cryptography and encryption",
                    "arguments sealed per record (ChaCha20-Poly1305), checkpoints signed (Ed25519), Merkle log (RFC 9162)",
                    "the checkpoint and inclusion proofs of this pack",
                ),
                row(
                    "(i) access control and asset management",
                    "default deny; per-agent SPIFFE identities; manifests as the asset register",
                    "denied decisions; DORA asset register",
                ),
                row(
                    "(j) multi-factor and continuous authentication",
                    "short-lived JWT-SVIDs verified on every action",
                    "every decision record names the SPIFFE ID",
                ),
                row(
                    "(g) basic cyber hygiene and training",
                    "—",
                    "to be completed by a person",
                ),
            ],
            sources,
        }),
        notes: Vec::new(),
    }
}
