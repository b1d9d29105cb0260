//! Approvals: the queue of actions waiting for a person, each with its exact
//! arguments (redacted for auditors), why it needs approval, what the
//! session did before and the time left; approve or reject with a note.

use std::fmt::Write as _;

use serde_json::Value;

use crate::Viewer;
use crate::html::{badge, csrf_field, esc, joined, list, n, s, table, time, url};

/// A pending approval and what the page shows beside it.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The approval (`GET /v1/approvals` item), its `args` already redacted
    /// for the viewer.
    pub approval: Value,
    /// The instance's earlier records, newest first.
    pub history: Vec<Value>,
}

fn pending_item(viewer: &Viewer, p: &Pending, now_ms: i64) -> String {
    let a = &p.approval;
    let id = s(a, "id");
    let expires = n(a, "expires_at");
    let left = (expires - now_ms).max(0) / 1000;
    let args = serde_json::to_string_pretty(&a["args"]).unwrap_or_default();
    let mut out = format!(
        "<li class=\"approval card\" data-id=\"{id}\"><h2>{agent} wants {server}/{tool} <span class=\"muted\">({op})</span></h2>\
         <p>Instance <code>{instance}</code>, session <code>{session}</code>; asked {asked}; \
         <span class=\"left\" data-expires=\"{expires}\">{left} s left</span>.</p>\
         <h3>Why approval is needed</h3><ul>{reasons}</ul>\
         <h3>Arguments</h3><pre class=\"args\">{args}</pre>",
        id = esc(&id),
        agent = esc(&s(a, "agent")),
        server = esc(&s(a, "server")),
        tool = esc(&s(a, "tool")),
        op = esc(&s(a, "operation")),
        instance = esc(&s(a, "instance")),
        session = esc(&s(a, "session")),
        asked = time(n(a, "created_at")),
        reasons = list(a, "reasons")
            .iter()
            .map(|r| format!("<li>{}</li>", esc(r.as_str().unwrap_or_default())))
            .collect::<String>(),
        args = esc(&args),
    );
    if !p.history.is_empty() {
        let _ = write!(
            out,
            "<details><summary>Earlier in this instance ({})</summary>{}</details>",
            p.history.len(),
            super::activity::rows_table(&p.history, &format!("history-{}", esc(&id)), "")
        );
    }
    if viewer.can_approve() {
        let base = format!("/console/approvals/{}", url(&id));
        let _ = write!(
            out,
            "<div class=\"decide\">\
             <form class=\"approve\" method=\"post\" action=\"{base}/approve\">{f}\
             <label>Note <textarea name=\"note\" rows=\"2\" maxlength=\"1000\"></textarea></label>\
             <button type=\"submit\" class=\"good\">Approve</button></form>\
             <form class=\"reject\" method=\"post\" action=\"{base}/reject\">{f}\
             <label>Note <textarea name=\"note\" rows=\"2\" maxlength=\"1000\"></textarea></label>\
             <button type=\"submit\" class=\"danger\">Reject</button></form></div>",
            f = csrf_field(&viewer.csrf)
        );
    }
    out.push_str("</li>");
    out
}

/// The pending list alone (the live script swaps it in).
pub fn pending_list(viewer: &Viewer, pending: &[Pending], now_ms: i64) -> String {
    let mut out = String::from("<ul id=\"approvals\" class=\"cards\">");
    for p in pending {
        out.push_str(&pending_item(viewer, p, now_ms));
    }
    out.push_str("</ul>");
    if pending.is_empty() {
        out.push_str("<p class=\"empty\" id=\"approvals-empty\">Nothing is waiting.</p>");
    }
    out
}

/// `/console/approvals`: the queue, then the recently decided ones.
pub fn page(viewer: &Viewer, pending: &[Pending], decided: &[Value], now_ms: i64) -> String {
    let mut out = String::new();
    if !viewer.can_approve() {
        out.push_str("<p class=\"muted\">You are signed in as an auditor: you can see the queue but not decide. Arguments are shown with classified values masked.</p>");
    }
    let _ = write!(
        out,
        "<div id=\"pending\" data-live=\"approvals\">{}</div>",
        pending_list(viewer, pending, now_ms)
    );
    out.push_str("<h2>Decided</h2>");
    let rows: Vec<String> = decided
        .iter()
        .map(|a| {
            format!(
                "<tr data-approval=\"{}\"><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s(a, "id")),
                esc(&s(a, "agent")),
                esc(&s(a, "server")),
                esc(&s(a, "tool")),
                badge(&s(a, "status")),
                esc(&s(a, "decided_by")),
                time(a["decided_at"].as_i64().unwrap_or(0)),
                esc(&s(a, "note")),
                joined(a, "policies"),
            )
        })
        .collect();
    out.push_str(&table(
        "decided",
        "Recently decided approvals",
        &["Agent", "Tool", "Status", "By", "When", "Note", "Policies"],
        &rows,
        "None decided yet.",
    ));
    out
}
