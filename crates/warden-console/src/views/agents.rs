//! The inventory: every agent, the unregistered ones Warden saw, and one
//! agent's page with its grants, identity, data and recent decisions.

use std::fmt::Write as _;

use serde_json::Value;

use super::{action_form, facts};
use crate::Viewer;
use crate::html::{badge, esc, joined, list, n, s, table, time, url};

fn counts(value: &Value) -> String {
    let Some(map) = value.as_object() else {
        return "—".to_owned();
    };
    if map.is_empty() {
        return "—".to_owned();
    }
    map.iter()
        .map(|(k, v)| format!("{} {}", esc(k), v.as_i64().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The state word of an inventory entry: `revoked`, `suspended` or `active`.
pub fn state(agent: &Value) -> &'static str {
    let identity = &agent["identity"];
    if identity["revoked"].as_bool().unwrap_or(false) {
        "revoked"
    } else if !identity["suspended"].is_null() {
        "suspended"
    } else {
        "active"
    }
}

/// `/console/agents`: the inventory (`GET /v1/inventory`) and sightings
/// (`GET /v1/sightings`).
pub fn list_page(inventory: &Value, sightings: &Value) -> String {
    let rows: Vec<String> = list(inventory, "agents")
        .iter()
        .map(|a| {
            let name = s(a, "name");
            let tools = list(a, "tools").len();
            let risk = if a["eu_ai_act"].is_null() {
                String::new()
            } else {
                esc(&s(a, "eu_ai_act"))
            };
            format!(
                "<tr data-agent=\"{n}\"><th scope=\"row\"><a href=\"/console/agents/{u}\">{n}</a></th>\
                 <td>{owner}</td><td>{risk}{dora}</td><td>{tools}</td><td>{data}</td>\
                 <td>{state}</td><td>{seen}</td><td>{day}</td></tr>",
                n = esc(&name),
                u = url(&name),
                owner = esc(&s(a, "owner")),
                dora = if a["dora_critical"].as_bool().unwrap_or(false) {
                    " <span class=\"badge warn\">DORA critical</span>"
                } else {
                    ""
                },
                data = joined(a, "may_read"),
                state = badge(state(a)),
                seen = time(a["activity"]["last_seen"].as_i64().unwrap_or(0)),
                day = counts(&a["activity"]["last_24h"]),
            )
        })
        .collect();
    let mut out = table(
        "agents",
        "Registered agents",
        &[
            "Agent",
            "Owner",
            "Risk",
            "Tools",
            "May read",
            "State",
            "Last seen",
            "Last 24 h",
        ],
        &rows,
        "No agents are registered.",
    );
    out.push_str("<h2>Unregistered agents Warden saw</h2>");
    let seen: Vec<String> = list(sightings, "sightings")
        .iter()
        .map(|x| {
            format!(
                "<tr data-sighting=\"{id}\"><td>{claimed}</td><td>{kind}</td><td>{source}</td>\
                 <td>{ua}</td><td>{count}</td><td>{last}</td><td>{tools}</td></tr>",
                id = esc(&s(x, "id")),
                claimed = esc(&s(x, "claimed")),
                kind = esc(&s(x, "kind")),
                source = esc(&s(x, "source")),
                ua = esc(&s(x, "user_agent")),
                count = n(x, "count"),
                last = time(n(x, "last_seen")),
                tools = joined(x, "tools"),
            )
        })
        .collect();
    out.push_str(&table(
        "sightings",
        "Sightings: refused identities and MCP clients",
        &[
            "Claimed identity",
            "Refusal",
            "Source",
            "User agent",
            "Times",
            "Last seen",
            "Tools tried",
        ],
        &seen,
        "No unregistered agent was seen.",
    ));
    out
}

/// What an agent page shows besides the inventory entry.
#[derive(Debug, Clone, Default)]
pub struct AgentExtras {
    /// Its newest records (decoded audit records), newest first.
    pub recent: Vec<Value>,
    /// A token just issued from this page, shown once.
    pub new_token: Option<String>,
    /// A message after an action (suspended, revoked, …).
    pub notice: Option<String>,
    /// Its allowed actions in the last hour (what the hourly budget counts).
    pub hour_use: u64,
}

/// `/console/agents/{name}`: one inventory entry (`GET /v1/inventory/{name}`).
pub fn agent_page(viewer: &Viewer, agent: &Value, extras: &AgentExtras) -> String {
    let name = s(agent, "name");
    let base = format!("/console/agents/{}", url(&name));
    let identity = &agent["identity"];
    let st = state(agent);
    let mut out = String::new();
    if let Some(notice) = &extras.notice {
        let _ = write!(
            out,
            "<p class=\"notice\" role=\"status\">{}</p>",
            esc(notice)
        );
    }
    if let Some(token) = &extras.new_token {
        let _ = write!(
            out,
            "<section class=\"notice\"><h2>New token</h2><p>Shown once; give it to the agent instance.</p>\
             <pre id=\"new-token\">{}</pre></section>",
            esc(token)
        );
    }
    let suspended = if identity["suspended"].is_null() {
        String::new()
    } else {
        format!(
            " — {} by {} at {}",
            esc(&s(&identity["suspended"], "reason")),
            esc(&s(&identity["suspended"], "by")),
            time(n(&identity["suspended"], "at"))
        )
    };
    out.push_str(&facts(&[
        (
            "State",
            format!("<span id=\"agent-state\">{st}</span>{suspended}"),
        ),
        ("Owner", esc(&s(agent, "owner"))),
        ("Purpose", esc(&s(agent, "purpose"))),
        ("Groups", joined(agent, "groups")),
        (
            "EU AI Act",
            if agent["eu_ai_act"].is_null() {
                "—".to_owned()
            } else {
                esc(&s(agent, "eu_ai_act"))
            },
        ),
        ("SPIFFE ID", format!("<code>{}…</code>", esc(&s(identity, "spiffe_id_prefix")))),
        ("Manifest", format!("<code>{}</code>", esc(&s(agent, "manifest")))),
        ("May read", joined(agent, "may_read")),
        (
            "Budgets",
            format!(
                "per session {}; per hour {} — <span id=\"hour-use\">{}</span> allowed in the last hour",
                budget(&agent["budgets"]["per_session"]),
                budget(&agent["budgets"]["per_hour"]),
                extras.hour_use
            ),
        ),
        (
            "Activity",
            format!(
                "24 h: {}; 30 d: {}; first {}, last {}",
                counts(&agent["activity"]["last_24h"]),
                counts(&agent["activity"]["last_30d"]),
                time(agent["activity"]["first_seen"].as_i64().unwrap_or(0)),
                time(agent["activity"]["last_seen"].as_i64().unwrap_or(0))
            ),
        ),
    ]));
    if viewer.is_admin() {
        out.push_str("<section aria-labelledby=\"h-actions\"><h2 id=\"h-actions\">Actions</h2><div class=\"actions\">");
        if st == "suspended" {
            out.push_str(&action_form(
                "action-resume",
                &format!("{base}/resume"),
                &viewer.csrf,
                "Resume",
                "",
            ));
        } else if st == "active" {
            out.push_str(&action_form(
                "action-suspend",
                &format!("{base}/suspend"),
                &viewer.csrf,
                "Suspend",
                "<label>Reason <input name=\"reason\" maxlength=\"500\"></label>",
            ));
        }
        if st != "revoked" {
            out.push_str(&action_form(
                "action-revoke danger",
                &format!("{base}/revoke"),
                &viewer.csrf,
                "Revoke",
                "<label>Reason <input name=\"reason\" maxlength=\"500\"></label>",
            ));
            out.push_str(&action_form(
                "action-token",
                &format!("{base}/token"),
                &viewer.csrf,
                "Issue token",
                "<label>Instance <input name=\"instance\" value=\"console\" maxlength=\"64\" required></label>\
                 <label>Lifetime <select name=\"ttl\"><option>15m</option><option selected>1h</option><option>8h</option></select></label>",
            ));
        }
        out.push_str("</div></section>");
    }
    let grants: Vec<String> = list(agent, "tools")
        .iter()
        .map(|g| {
            format!(
                "<tr class=\"grant\"><td data-col=\"server\">{}</td><td data-col=\"tool\">{}</td>\
                 <td data-col=\"operation\">{}</td><td data-col=\"condition\"><code>{}</code></td>\
                 <td data-col=\"approval\"><code>{}</code></td><td data-col=\"destination\">{}</td>\
                 <td data-col=\"last-called\">{}</td></tr>",
                esc(&s(g, "server")),
                esc(&s(g, "tool")),
                esc(&s(g, "operation")),
                esc(&s(g, "when")),
                esc(&s(g, "approval")),
                esc(&s(g, "destination")),
                time(g["last_called"].as_i64().unwrap_or(0)),
            )
        })
        .collect();
    out.push_str("<h2>Grants</h2>");
    out.push_str(&table(
        "grants",
        "What the manifest grants",
        &[
            "Server",
            "Tool",
            "Operation",
            "Condition",
            "Approval rule",
            "Destination",
            "Last called",
        ],
        &grants,
        "The manifest grants nothing.",
    ));
    let classes: Vec<String> = list(&agent["activity"], "classes_touched")
        .iter()
        .map(|c| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s(c, "class")),
                n(c, "count"),
                time(n(c, "last_seen")),
                if c["cleared"].as_bool().unwrap_or(false) {
                    badge("cleared")
                } else {
                    badge("not cleared")
                }
            )
        })
        .collect();
    out.push_str("<h2>Data classes touched</h2>");
    out.push_str(&table(
        "classes",
        "Classes its arguments and results held",
        &["Class", "Records", "Last", "In data.may_read"],
        &classes,
        "No classified data yet.",
    ));
    out.push_str("<h2>Identity</h2>");
    let instances: Vec<String> = list(identity, "instances")
        .iter()
        .map(|i| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s(i, "instance")),
                time(i["last_seen"].as_i64().unwrap_or(0)),
                if i["revoked"].as_bool().unwrap_or(false) {
                    badge("revoked")
                } else if i["live"].as_bool().unwrap_or(false) {
                    badge("active")
                } else {
                    badge("idle")
                }
            )
        })
        .collect();
    out.push_str(&table(
        "instances",
        "Instances",
        &["Instance", "Last seen", "State"],
        &instances,
        "No instance has acted yet.",
    ));
    let tokens: Vec<String> = list(identity, "tokens")
        .iter()
        .map(|t| {
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s(t, "jti")),
                esc(&s(t, "instance")),
                esc(&s(t, "issued_by")),
                time(t["issued_at"].as_i64().unwrap_or(0)),
                time(n(t, "expires_at")),
                badge(&s(t, "state")),
            )
        })
        .collect();
    out.push_str(&table(
        "tokens",
        "Tokens",
        &[
            "Token id",
            "Instance",
            "Issued by",
            "Issued",
            "Expires",
            "State",
        ],
        &tokens,
        "No token recorded.",
    ));
    let revocations: Vec<String> = list(identity, "revocations")
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(r["instance"].as_str().unwrap_or("every instance")),
                esc(&s(r, "reason")),
                esc(&s(r, "by")),
                time(n(r, "at")),
            )
        })
        .collect();
    out.push_str(&table(
        "revocations",
        "Revocations",
        &["Instance", "Reason", "By", "When"],
        &revocations,
        "Never revoked.",
    ));
    out.push_str("<h2>Recent decisions</h2>");
    out.push_str(&super::activity::rows_table(
        &extras.recent,
        "recent",
        "No decisions yet.",
    ));
    let _ = write!(
        out,
        "<p><a href=\"/console/activity?agent={}\">All of its activity</a></p>",
        url(&name)
    );
    out
}

fn budget(value: &Value) -> String {
    value.as_u64().map_or("none".to_owned(), |v| v.to_string())
}
