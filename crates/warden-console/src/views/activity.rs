//! Activity: the audit log's decisions as a live, filterable list, and one
//! record's page with its reasons, policies, classes, arguments and the
//! inclusion proof checked in the page.

use std::fmt::Write as _;

use serde_json::Value;

use super::facts;
use crate::html::{badge, esc, joined, list, n, s, table, time, url};

/// The agent name and instance in a record's `agent` (a SPIFFE ID).
pub fn agent_of(record: &Value) -> (String, String) {
    let id = s(record, "agent");
    let mut parts = id
        .strip_prefix("spiffe://")
        .map(|rest| rest.splitn(4, '/').collect::<Vec<_>>())
        .unwrap_or_default();
    if parts.len() == 4 && parts[1] == "agent" {
        let instance = parts.pop().unwrap_or_default().to_owned();
        let name = parts.pop().unwrap_or_default().to_owned();
        (name, instance)
    } else {
        (id.into_owned(), String::new())
    }
}

/// The outcome word of a record: its decision, or its kind.
pub fn outcome(record: &Value) -> String {
    match record.get("decision").and_then(Value::as_str) {
        Some(d) => d.to_owned(),
        None => s(record, "kind").into_owned(),
    }
}

/// One row for a record (decoded audit record JSON).
pub fn row(record: &Value) -> String {
    let (agent, instance) = agent_of(record);
    let index = n(record, "index");
    let out = outcome(record);
    let reasons = list(record, "reasons")
        .first()
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!(
        "<tr data-index=\"{index}\" data-outcome=\"{o}\" data-agent=\"{a}\">\
         <td><a href=\"/console/records/{index}\">{index}</a></td><td>{t}</td>\
         <td><a href=\"/console/agents/{au}\">{a}</a> <span class=\"muted\">{i}</span></td>\
         <td>{server}/{tool}</td><td>{badge}</td><td>{reason}</td></tr>",
        o = esc(&out),
        a = esc(&agent),
        au = url(&agent),
        i = esc(&instance),
        t = time(n(record, "time_ms")),
        server = esc(&s(record, "server")),
        tool = esc(&s(record, "tool")),
        badge = badge(&out),
        reason = esc(reasons),
    )
}

/// A table of records, newest first.
pub fn rows_table(records: &[Value], id: &str, empty: &str) -> String {
    let rows: Vec<String> = records.iter().map(row).collect();
    if rows.is_empty() {
        // The live script fills the table, so it exists even when empty.
        return format!(
            "<p class=\"empty\">{}</p>{}",
            esc(empty),
            table_shell(id, "")
        );
    }
    table(
        id,
        "Records, newest first",
        &["Index", "Time", "Agent", "Tool", "Outcome", "First reason"],
        &rows,
        empty,
    )
}

fn table_shell(id: &str, rows: &str) -> String {
    format!(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Records, newest first\"><table id=\"{id}\"><caption>Records, newest first</caption><thead><tr>\
         <th scope=\"col\">Index</th><th scope=\"col\">Time</th><th scope=\"col\">Agent</th>\
         <th scope=\"col\">Tool</th><th scope=\"col\">Outcome</th><th scope=\"col\">First reason</th>\
         </tr></thead><tbody>{rows}</tbody></table></div>"
    )
}

/// The filters of the activity page (from its query string).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Agent name.
    pub agent: String,
    /// `allow`, `deny`, `needs_approval`.
    pub outcome: String,
    /// Tool name.
    pub tool: String,
}

/// `/console/activity`: the filter form and the newest matching records;
/// the page's script adds new ones as they are decided.
pub fn list_page(filters: &Filters, records: &[Value], scanned: u64) -> String {
    let option = |value: &str, label: &str| {
        format!(
            "<option value=\"{value}\"{}>{label}</option>",
            if filters.outcome == value {
                " selected"
            } else {
                ""
            }
        )
    };
    let mut out = format!(
        "<form class=\"filters\" method=\"get\" action=\"/console/activity\" role=\"search\">\
         <label>Agent <input name=\"agent\" value=\"{}\"></label>\
         <label>Tool <input name=\"tool\" value=\"{}\"></label>\
         <label>Outcome <select name=\"outcome\">{}{}{}{}</select></label>\
         <button type=\"submit\">Filter</button></form>",
        esc(&filters.agent),
        esc(&filters.tool),
        option("", "any"),
        option("allow", "allow"),
        option("deny", "deny"),
        option("needs_approval", "needs approval"),
    );
    let _ = write!(
        out,
        "<p class=\"muted\">Showing {} matching decisions among the newest {scanned} audit records; \
         new ones appear at the top as they are decided.</p>",
        records.len()
    );
    let rows: String = records.iter().map(row).collect();
    out.push_str(&table_shell("activity", &rows));
    out
}

/// What a record page shows besides the record.
#[derive(Debug, Clone, Default)]
pub struct RecordExtras {
    /// The record's canonical bytes as stored (the leaf's data).
    pub canonical: String,
    /// The deciding policies: (id, `file:line`).
    pub policies: Vec<(String, String)>,
    /// The arguments, redacted for the viewer's role (when the payload is
    /// still held and the decision was one the gateway remembers).
    pub args: Option<Value>,
    /// Earlier records of the same agent instance, newest first.
    pub earlier: Vec<Value>,
}

/// `/console/records/{index}`.
pub fn record_page(record: &Value, extras: &RecordExtras) -> String {
    let index = n(record, "index");
    let (agent, instance) = agent_of(record);
    let mut out = facts(&[
        ("Outcome", badge(&outcome(record))),
        ("Kind", esc(&s(record, "kind"))),
        (
            "Decision id",
            format!("<code>{}</code>", esc(&s(record, "decision_id"))),
        ),
        ("Time", time(n(record, "time_ms"))),
        (
            "Agent",
            format!(
                "<a href=\"/console/agents/{}\">{}</a> instance <code>{}</code>",
                url(&agent),
                esc(&agent),
                esc(&instance)
            ),
        ),
        (
            "Action",
            format!(
                "{}/{} ({})",
                esc(&s(record, "server")),
                esc(&s(record, "tool")),
                esc(&s(record, "operation"))
            ),
        ),
        ("Interception", esc(&s(record, "interception"))),
        ("Classes found", joined(record, "classes")),
        ("Destinations", joined(record, "destinations")),
        (
            "Arguments digest",
            format!("<code>{}</code>", esc(&s(record, "args_digest"))),
        ),
        (
            "Policy set",
            format!("<code>{}</code>", esc(&s(record, "policy_digest"))),
        ),
        ("Latency", format!("{} µs", n(record, "latency_us"))),
        ("Note", esc(&s(record, "note"))),
    ]);
    out.push_str("<h2>Reasons</h2><ul id=\"reasons\">");
    for r in list(record, "reasons") {
        let _ = write!(out, "<li>{}</li>", esc(r.as_str().unwrap_or_default()));
    }
    out.push_str("</ul><h2>Deciding policies</h2>");
    let policies: Vec<String> = extras
        .policies
        .iter()
        .map(|(id, at)| {
            format!(
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                esc(id),
                esc(at)
            )
        })
        .collect();
    out.push_str(&table(
        "policies",
        "Policies that decided (in the active set)",
        &["Policy", "File and line"],
        &policies,
        "No policy decided (denied by default or before policy).",
    ));
    out.push_str("<h2>Arguments</h2>");
    match &extras.args {
        Some(args) => {
            let pretty = serde_json::to_string_pretty(args).unwrap_or_default();
            let _ = write!(out, "<pre id=\"args\">{}</pre>", esc(&pretty));
        }
        None => out.push_str(
            "<p class=\"muted\">Not held here: the log keeps the arguments' digest; \
             the sealed payload is read with <code>warden audit show</code>.</p>",
        ),
    }
    let _ = write!(
        out,
        "<h2>Inclusion in the audit log</h2>\
         <p>Record {index}. The page hashes the record's bytes below as a leaf and checks the \
         inclusion proof against the newest signed checkpoint's root (or the log's current root \
         when no checkpoint covers it yet).</p>\
         <p><output id=\"proof-status\" data-state=\"pending\" data-index=\"{index}\" role=\"status\">checking…</output></p>\
         <details><summary>Canonical record bytes</summary><pre id=\"canonical\">{}</pre></details>",
        esc(&extras.canonical)
    );
    out.push_str("<h2>Earlier actions of this instance</h2>");
    out.push_str(&rows_table(
        &extras.earlier,
        "earlier",
        "None in the records read.",
    ));
    out
}
