//! The overview: decisions per minute, denials and their reasons, what is
//! waiting, what is wrong, who is active, and the audit log's health.

use std::fmt::Write as _;

use crate::chart::{minute_bars, ranked_bars};
use crate::html::{esc, time, url};

/// What the overview shows; the gateway fills it from the audit log, the
/// store and the monitor.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// Decision records per outcome over the whole log: allow, deny, needs_approval.
    pub totals: [u64; 3],
    /// Decisions per minute over the last hour, oldest first.
    pub minutes: Vec<[u64; 3]>,
    /// How many records the minute chart read (the newest ones).
    pub window_records: u64,
    /// Denial reasons in that window, most frequent first.
    pub top_reasons: Vec<(String, u64)>,
    /// Pending approvals.
    pub pending_approvals: u64,
    /// Alerts held in memory (recent) and undeliverable ones.
    pub alerts: u64,
    /// Undelivered alerts (dead letters).
    pub dead_letters: u64,
    /// Open incidents.
    pub open_incidents: u64,
    /// Agents with a record in the last five minutes.
    pub active_agents: Vec<String>,
    /// Registered agents.
    pub agents: u64,
    /// Suspended agents.
    pub suspended: Vec<String>,
    /// Records in the audit log.
    pub audit_size: u64,
    /// The newest checkpoint: size and time (unix ms).
    pub checkpoint: Option<(u64, i64)>,
    /// The last verification on this node: time, and the failure if any.
    pub verified: Option<(i64, Option<String>)>,
}

fn figure(key: &str, label: &str, value: String, href: &str) -> String {
    format!(
        "<div class=\"figure\"><dt><a href=\"{href}\">{label}</a></dt><dd data-figure=\"{key}\">{value}</dd></div>"
    )
}

/// The overview's body.
pub fn render(o: &Overview) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"h-decisions\"><h2 id=\"h-decisions\">Decisions</h2><dl class=\"figures\">",
    );
    for (i, (key, label)) in [
        ("allow", "Allowed"),
        ("deny", "Denied"),
        ("needs_approval", "Needed approval"),
    ]
    .iter()
    .enumerate()
    {
        out.push_str(&figure(
            key,
            label,
            o.totals[i].to_string(),
            &format!("/console/activity?outcome={key}"),
        ));
    }
    out.push_str(&figure(
        "pending",
        "Pending approvals",
        format!(
            "<span id=\"pending-approvals\">{}</span>",
            o.pending_approvals
        ),
        "/console/approvals",
    ));
    out.push_str("</dl>");
    out.push_str(&minute_bars(
        "decisions-chart",
        "Decisions per minute over the last hour: allowed, denied, needing approval",
        &o.minutes,
    ));
    let _ = write!(
        out,
        "<p class=\"legend\"><span class=\"key s-allow\"></span>allowed \
         <span class=\"key s-deny\"></span>denied <span class=\"key s-approval\"></span>needed approval \
         — from the newest {} audit records; totals are over the whole log.</p></section>",
        o.window_records
    );
    out.push_str("<div class=\"columns\"><section aria-labelledby=\"h-reasons\"><h2 id=\"h-reasons\">Top denial reasons</h2>");
    if o.top_reasons.is_empty() {
        out.push_str(
            "<p class=\"empty\">No denials in the window.</p><ol id=\"top-reasons\"></ol>",
        );
    } else {
        out.push_str(&ranked_bars(
            "top-reasons",
            "Denial reasons",
            &o.top_reasons,
        ));
    }
    out.push_str("</section><section aria-labelledby=\"h-now\"><h2 id=\"h-now\">Now</h2><dl class=\"figures\">");
    out.push_str(&figure(
        "active",
        "Agents active (5 min)",
        format!(
            "<span id=\"agents-active\">{}</span> of {}",
            o.active_agents.len(),
            o.agents
        ),
        "/console/agents",
    ));
    out.push_str(&figure(
        "alerts",
        "Recent alerts",
        o.alerts.to_string(),
        "/console/alerts",
    ));
    out.push_str(&figure(
        "dead-letters",
        "Undelivered alerts",
        o.dead_letters.to_string(),
        "/console/alerts",
    ));
    out.push_str(&figure(
        "incidents",
        "Open incidents",
        o.open_incidents.to_string(),
        "/console/incidents",
    ));
    out.push_str("</dl>");
    if !o.active_agents.is_empty() {
        out.push_str("<p>Active: ");
        let links: Vec<String> = o
            .active_agents
            .iter()
            .map(|a| format!("<a href=\"/console/agents/{}\">{}</a>", url(a), esc(a)))
            .collect();
        out.push_str(&links.join(", "));
        out.push_str("</p>");
    }
    if !o.suspended.is_empty() {
        let _ = write!(
            out,
            "<p class=\"warn-text\">Suspended: {}</p>",
            o.suspended
                .iter()
                .map(|a| format!("<a href=\"/console/agents/{}\">{}</a>", url(a), esc(a)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out.push_str("</section></div><section aria-labelledby=\"h-audit\"><h2 id=\"h-audit\">Audit log</h2><dl class=\"figures\">");
    out.push_str(&figure(
        "audit-size",
        "Records",
        o.audit_size.to_string(),
        "/console/audit",
    ));
    let checkpoint = o.checkpoint.map_or("none yet".to_owned(), |(size, at)| {
        format!("{size} records, {}", time(at))
    });
    out.push_str(&figure(
        "checkpoint",
        "Last checkpoint",
        checkpoint,
        "/console/audit",
    ));
    let verified = match &o.verified {
        None => "not since this node started".to_owned(),
        Some((at, None)) => format!("ok, {}", time(*at)),
        Some((at, Some(e))) => format!(
            "<strong class=\"bad-text\">failed</strong>, {}: {}",
            time(*at),
            esc(e)
        ),
    };
    out.push_str(&figure(
        "verified",
        "Last verification",
        verified,
        "/console/audit",
    ));
    out.push_str("</dl></section>");
    out
}
