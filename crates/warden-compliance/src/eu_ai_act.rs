//! The EU AI Act report: per agent, the classification and its Annex III
//! basis, record-keeping (Art. 12, Art. 19 and 26(6)), human oversight
//! (Art. 14) and an Annex IV technical-documentation skeleton.

use serde_json::{Value, json};
use warden_audit::RecordKind;
use warden_audit::pack::{Measure, Report, Section};
use warden_policy::{MIN_HIGH_RISK_RETAIN_DAYS, Manifest};

use crate::claims::Claims;
use crate::inputs::{CONFIG_PATH, ReportInputs, pack_path};

/// Builds the report.
pub(crate) fn report(inputs: &ReportInputs<'_>, c: &Claims<'_>) -> Report {
    let mut sections = vec![logging(inputs, c)];
    for m in inputs.agents() {
        sections.push(classification(m, c));
        sections.push(record_keeping(inputs, m, c));
        sections.push(oversight(inputs, m, c));
        sections.push(annex_iv(m, c));
    }
    Report {
        kind: "eu-ai-act".to_owned(),
        title: "EU AI Act (Regulation (EU) 2024/1689): classification, record-keeping and human oversight"
            .to_owned(),
        sections,
    }
}

fn opt(v: Option<&str>) -> Value {
    v.map_or(Value::Null, Value::from)
}

fn classification(m: &Manifest, c: &Claims<'_>) -> Section {
    let a = m.name.as_str();
    let file = pack_path(&m.file);
    let id = |s: &str| format!("eu-ai-act/{a}/{s}");
    let risk = &m.risk;
    let mut claims = vec![
        c.file(
            id("class"),
            "EU AI Act risk class",
            opt(risk.eu_ai_act.as_deref()),
            &file,
            Some("risk.eu_ai_act"),
        ),
        c.file(
            id("annex-iii"),
            "Annex III area and point (Art. 6(2))",
            risk.annex_iii
                .as_ref()
                .map_or(Value::Null, |x| Value::from(x.to_string())),
            &file,
            Some("risk.annex_iii"),
        ),
        c.file(
            id("intended-purpose"),
            "intended purpose (Art. 3(12))",
            Value::from(
                risk.intended_purpose
                    .clone()
                    .unwrap_or_else(|| m.purpose.clone()),
            ),
            &file,
            Some(if risk.intended_purpose.is_some() {
                "risk.intended_purpose"
            } else {
                "purpose"
            }),
        ),
        c.file(
            id("owner"),
            "accountable owner",
            Value::from(m.owner.clone()),
            &file,
            Some("owner"),
        ),
    ];
    if risk.eu_ai_act.as_deref() != Some("high-risk") {
        claims.push(c.file(
            id("not-high-risk-reason"),
            "why the agent is not high-risk (Art. 6(3))",
            opt(risk.not_high_risk_reason.as_deref()),
            &file,
            Some("risk.not_high_risk_reason"),
        ));
    }
    Section {
        id: id("classification"),
        title: format!("{a}: classification"),
        claims,
        table: None,
        notes: Vec::new(),
    }
}

fn record_keeping(inputs: &ReportInputs<'_>, m: &Manifest, c: &Claims<'_>) -> Section {
    let a = m.name.as_str();
    let prefix = inputs.agent_prefix(a);
    let id = |s: &str| format!("eu-ai-act/{a}/{s}");
    let all = c.filter(&[], &[], Some(&prefix));
    Section {
        id: id("art12"),
        title: format!("{a}: record-keeping (Art. 12)"),
        claims: vec![
            c.count(
                id("events-logged"),
                "events logged automatically for the agent in the period",
                all.clone(),
            ),
            c.records(
                id("events-period"),
                "first and last event logged in the period",
                Measure::Span,
                all,
            ),
            c.count(
                id("decisions-allowed"),
                "actions allowed",
                c.filter(&[RecordKind::Decision], &["allow"], Some(&prefix)),
            ),
            c.count(
                id("decisions-denied"),
                "actions denied",
                c.filter(&[RecordKind::Decision], &["deny"], Some(&prefix)),
            ),
        ],
        table: None,
        notes: vec![
            "Integrity and retention of the log are stated once for all agents, under \"Logging\"."
                .to_owned(),
        ],
    }
}

fn oversight(inputs: &ReportInputs<'_>, m: &Manifest, c: &Claims<'_>) -> Section {
    let a = m.name.as_str();
    let prefix = inputs.agent_prefix(a);
    let p = Some(prefix.as_str());
    let file = pack_path(&m.file);
    let id = |s: &str| format!("eu-ai-act/{a}/{s}");
    let needs_human: Vec<String> = m
        .grants
        .iter()
        .filter_map(|g| {
            g.approval
                .as_ref()
                .map(|cond| format!("{}/{} when {}", g.server, g.tool, cond.text))
        })
        .collect();
    let answered = c.filter(&[RecordKind::Approval], &[], p);
    let timeout_ms = i64::try_from(inputs.config.serve.approval_timeout_secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    Section {
        id: id("art14"),
        title: format!("{a}: human oversight (Art. 14)"),
        claims: vec![
            c.file(
                id("needs-human"),
                "actions that need a human's approval",
                Value::from(needs_human),
                &file,
                Some("tools.*.approval"),
            ),
            c.file(
                id("oversight-measures"),
                "oversight measures declared",
                Value::from(m.risk.oversight.clone()),
                &file,
                Some("risk.oversight"),
            ),
            c.count(
                id("approvals-asked"),
                "approvals asked",
                c.filter(&[RecordKind::Decision], &["needs_approval"], p),
            ),
            c.count(
                id("approvals-granted"),
                "approvals granted",
                c.filter(&[RecordKind::Approval], &["approved"], p),
            ),
            c.count(
                id("approvals-rejected"),
                "approvals rejected",
                c.filter(&[RecordKind::Approval], &["rejected"], p),
            ),
            c.records(
                id("approvals-timed-out"),
                "approvals that timed out unanswered",
                Measure::TimedOut {
                    timeout_ms,
                    as_of_ms: inputs.generated_at_ms,
                },
                c.filter(&[RecordKind::Decision], &["needs_approval"], p),
            ),
            c.records(
                id("median-decision-ms"),
                "median time to decide an approval (ms)",
                Measure::MedianDecisionMs,
                answered.clone(),
            ),
            c.records(id("approvers"), "who decided", Measure::Approvers, answered),
            c.count(
                id("suspensions"),
                "suspensions (kill switch)",
                c.filter(&[RecordKind::Admin], &["suspended"], p),
            ),
            c.count(
                id("revocations"),
                "revocations",
                c.filter(&[RecordKind::Admin], &["revoked"], p),
            ),
        ],
        table: None,
        notes: Vec::new(),
    }
}

fn annex_iv(m: &Manifest, c: &Claims<'_>) -> Section {
    let a = m.name.as_str();
    let file = pack_path(&m.file);
    let id = |s: &str| format!("eu-ai-act/{a}/annex-iv/{s}");
    let tools: Vec<String> = m
        .grants
        .iter()
        .map(|g| format!("{}/{} ({})", g.server, g.tool, g.operation))
        .collect();
    Section {
        id: format!("eu-ai-act/{a}/annex-iv"),
        title: format!("{a}: technical documentation (Annex IV skeleton)"),
        claims: vec![
            c.file(id("1a-purpose"), "1(a) intended purpose, provider and version", Value::from(m.risk.intended_purpose.clone().unwrap_or_else(|| m.purpose.clone())), &file, Some("purpose")),
            c.file(id("1b-tools"), "1(b) how it interacts with other systems: tools granted", Value::from(tools), &file, Some("tools")),
            c.file(id("2-data"), "2(d) data it may receive", Value::from(m.may_read.clone()), &file, Some("data.may_read")),
            c.file(id("2e-oversight"), "2(e) human oversight measures", Value::from(m.risk.oversight.clone()), &file, Some("risk.oversight")),
            Claims::person(id("2a-development"), "2(a)–(c) development methods, design and system architecture of the model"),
            Claims::person(id("2d-training-data"), "2(d) training data and data governance"),
            Claims::person(id("2g-validation"), "2(g) validation and testing, accuracy and robustness metrics of the model"),
            Claims::person(id("5-risk-management"), "5 the risk management system (Art. 9)"),
            Claims::person(id("8-declaration"), "8 the EU declaration of conformity"),
            Claims::person(id("9-post-market"), "9 the post-market monitoring plan (Art. 72)"),
        ],
        table: None,
        notes: vec![
            "Logging (Annex IV 2(e), Art. 12) is the record-keeping section; the decisions denied there measure the controls' robustness in use.".to_owned(),
        ],
    }
}

fn logging(inputs: &ReportInputs<'_>, c: &Claims<'_>) -> Section {
    let id = |s: &str| format!("eu-ai-act/logging/{s}");
    let high_risk = inputs
        .manifests
        .iter()
        .any(|m| m.risk.eu_ai_act.as_deref() == Some("high-risk"));
    let days = inputs.config.audit.retain_days;
    Section {
        id: "eu-ai-act/logging".to_owned(),
        title: "Logging: the audit log's integrity and retention (Art. 12, 19, 26(6))".to_owned(),
        claims: vec![
            c.count(id("events"), "events logged in the period, all agents and kinds", c.filter(&[], &[], None)),
            c.log(id("integrity")),
            c.records(
                id("policy-digests"),
                "policy sets that decided in the period (digests; the one in force now is the deployment's)",
                Measure::PolicyDigests,
                c.filter(&[RecordKind::Decision], &[], None),
            ),
            c.file(
                id("retention"),
                "audit retention configured, against the six-month minimum (Art. 19, 26(6))",
                json!({
                    "retain_days": days,
                    "minimum_days": MIN_HIGH_RISK_RETAIN_DAYS,
                    "high_risk_agents": high_risk,
                    "meets_minimum": days.is_none_or(|d| d >= MIN_HIGH_RISK_RETAIN_DAYS),
                }),
                CONFIG_PATH,
                Some("audit.retain_days"),
            ),
            c.count(id("erasures"), "payloads erased (crypto-shredding) in the period", c.filter(&[RecordKind::Erasure], &[], None)),
        ],
        table: None,
        notes: vec![
            "Warden never deletes audit records; `retain_days` states how long the deployer keeps them (unset: indefinitely). An erasure destroys one record's payload key; the record and every proof stay valid.".to_owned(),
        ],
    }
}
