//! Alerts and incidents: what fired, its evidence, and the regulatory
//! clocks of each incident.

use std::fmt::Write as _;

use serde_json::Value;

use super::{action_form, facts};
use crate::Viewer;
use crate::html::{badge, esc, joined, list, n, s, table, time, url};

fn evidence_links(items: &[Value]) -> String {
    items
        .iter()
        .map(|e| {
            let i = n(e, "audit_index");
            format!("<a href=\"/console/records/{i}\">#{i}</a>")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn alert_row(a: &Value) -> String {
    format!(
        "<tr data-alert=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/console/agents/{}\">{}</a></td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(&s(a, "id")),
        time(n(a, "time_ms")),
        esc(&s(a, "rule")),
        badge(&s(a, "severity")),
        url(&s(a, "agent")),
        esc(&s(a, "agent")),
        esc(&s(a, "observed")),
        esc(&s(a, "baseline")),
        esc(&s(a, "action")),
        evidence_links(list(a, "evidence")),
    )
}

/// `/console/alerts` (`GET /v1/alerts`).
pub fn alerts_page(alerts: &Value) -> String {
    let head = [
        "Time", "Rule", "Severity", "Agent", "Observed", "Baseline", "Action", "Evidence",
    ];
    let rows: Vec<String> = list(alerts, "alerts").iter().map(alert_row).collect();
    let mut out = String::from("<div data-live=\"alerts\">");
    out.push_str(&table(
        "alerts",
        "Recent alerts, newest first",
        &head,
        &rows,
        "No alert has fired since this node started.",
    ));
    out.push_str("</div><h2>Undelivered (dead letters)</h2>");
    let dead: Vec<String> = list(alerts, "dead_letters")
        .iter()
        .map(|d| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s(d, "webhook")),
                esc(&s(&d["alert"], "id")),
                n(d, "attempts"),
                esc(&s(d, "error"))
            )
        })
        .collect();
    out.push_str(&table(
        "dead-letters",
        "Alerts no webhook took",
        &["Webhook", "Alert", "Attempts", "Last error"],
        &dead,
        "Every alert was delivered.",
    ));
    out
}

/// `/console/incidents` (`GET /v1/incidents`).
pub fn incidents_page(incidents: &Value, now_ms: i64) -> String {
    let rows: Vec<String> = list(incidents, "incidents")
        .iter()
        .map(|item| {
            let i = &item["incident"];
            let next = list(item, "clocks")
                .iter()
                .filter(|c| n(c, "due_at") > now_ms)
                .min_by_key(|c| n(c, "due_at"))
                .map_or("—".to_owned(), |c| {
                    format!(
                        "{} {} due {}",
                        esc(&s(c, "regime")),
                        esc(&s(c, "stage")),
                        time(n(c, "due_at"))
                    )
                });
            format!(
                "<tr data-incident=\"{id}\"><th scope=\"row\"><a href=\"/console/incidents/{u}\">{id}</a></th>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{next}</td></tr>",
                esc(&s(i, "title")),
                badge(&s(i, "severity")),
                badge(&s(i, "status")),
                time(n(i, "detected_at")),
                joined(i, "agents"),
                id = esc(&s(i, "id")),
                u = url(&s(i, "id")),
            )
        })
        .collect();
    table(
        "incidents",
        "Incidents, newest first",
        &[
            "Incident",
            "Title",
            "Severity",
            "Status",
            "Detected",
            "Agents",
            "Next clock",
        ],
        &rows,
        "No incident.",
    )
}

/// `/console/incidents/{id}` (`GET /v1/incidents/{id}`).
pub fn incident_page(viewer: &Viewer, item: &Value, now_ms: i64) -> String {
    let i = &item["incident"];
    let id = s(i, "id");
    let mut out = facts(&[
        ("Status", badge(&s(i, "status"))),
        ("Severity", badge(&s(i, "severity"))),
        ("Detected", time(n(i, "detected_at"))),
        ("Opened by", esc(&s(i, "opened_by"))),
        ("Agents", joined(i, "agents")),
        ("Closed", time(i["closed_at"].as_i64().unwrap_or(0))),
    ]);
    out.push_str("<h2>Regulatory clocks</h2>");
    let clocks: Vec<String> = list(item, "clocks")
        .iter()
        .map(|c| {
            let due = n(c, "due_at");
            let state = if due <= now_ms {
                "overdue or past"
            } else {
                "open"
            };
            format!(
                "<tr class=\"clock\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s(c, "regime")),
                esc(&s(c, "stage")),
                time(due),
                badge(state),
                esc(&s(c, "basis"))
            )
        })
        .collect();
    out.push_str(&table(
        "clocks",
        "What is due when, counted from detection",
        &["Regime", "Stage", "Due", "State", "Basis"],
        &clocks,
        "No clock.",
    ));
    out.push_str("<h2>Alerts</h2><ul>");
    for a in list(i, "alerts") {
        let _ = write!(
            out,
            "<li>{} — {} ({})</li>",
            time(n(a, "time_ms")),
            esc(&s(a, "message")),
            esc(&s(a, "rule"))
        );
    }
    let _ = write!(
        out,
        "</ul><h2>Evidence</h2><p>{}</p><h2>Measures taken</h2><ul>",
        evidence_links(list(i, "evidence"))
    );
    for m in list(i, "measures") {
        let _ = write!(
            out,
            "<li>{} — {}</li>",
            time(n(m, "at")),
            esc(&s(m, "what"))
        );
    }
    out.push_str("</ul><h2>Report drafts</h2><ul>");
    for stage in ["early-warning", "notification", "final"] {
        let _ = write!(
            out,
            "<li><a href=\"/console/incidents/{u}/report?stage={stage}\">{stage}</a></li>",
            u = url(&id)
        );
    }
    out.push_str("</ul>");
    if viewer.is_admin() && s(i, "status") != "closed" {
        out.push_str(&action_form(
            "action-close",
            &format!("/console/incidents/{}/close", url(&id)),
            &viewer.csrf,
            "Close incident",
            "<label>Note <input name=\"note\" maxlength=\"1000\"></label>",
        ));
    }
    out
}

/// A report draft (Markdown) shown as text.
pub fn report_page(id: &str, stage: &str, markdown: &str) -> String {
    format!(
        "<p><a href=\"/console/incidents/{}\">Back to the incident</a> — the {} draft, from the audit log.</p>\
         <pre id=\"report\">{}</pre>",
        url(id),
        esc(stage),
        esc(markdown)
    )
}
