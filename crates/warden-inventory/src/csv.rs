//! The inventory as CSV: the agents as rows of a DORA register of ICT
//! assets (Art. 8: identification and classification), and the tool servers
//! whose data leaves the organisation as ICT third-party services (Art. 28).
//!
//! Columns, in order (documented in `docs/inventory.md`):
//!
//! | column | agent row (`ict_asset`) | third-party row (`ict_third_party_service`) |
//! | --- | --- | --- |
//! | `record_type` | `ict_asset` | `ict_third_party_service` |
//! | `identifier` | the SPIFFE ID prefix | `warden-server:<name>` |
//! | `name` | the agent | the tool server |
//! | `description` | the purpose | its transport (and host) |
//! | `owner` | the owner | — |
//! | `supports_critical_function` | `yes`/`no` (manifest `risk.dora_critical`) | `yes` if an agent that does uses it |
//! | `eu_ai_act_category` | manifest `risk.eu_ai_act` | — |
//! | `status` | `active`, `suspended`, `revoked` | — |
//! | `data_classes` | `data.may_read` | the classes it is cleared for |
//! | `related` | the external servers it uses | the agents that use it |
//! | `tools_granted` | `server/tool(operation)` | — |
//! | `first_seen`, `last_seen` | RFC 3339 UTC, from the audit log | — |
//! | `actions_30d`, `denials_30d` | allowed and denied decisions, 30 days | — |
//!
//! Lists are `;`-separated. A cell that a spreadsheet would read as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`.

use crate::record::{AgentInventory, Inventory};

/// The header row.
pub const COLUMNS: &[&str] = &[
    "record_type",
    "identifier",
    "name",
    "description",
    "owner",
    "supports_critical_function",
    "eu_ai_act_category",
    "status",
    "data_classes",
    "related",
    "tools_granted",
    "first_seen",
    "last_seen",
    "actions_30d",
    "denials_30d",
];

/// The inventory as CSV (RFC 4180, CRLF line ends).
pub fn register(inventory: &Inventory) -> String {
    let mut out = String::new();
    row(&mut out, COLUMNS.iter().map(|c| (*c).to_owned()));
    for a in &inventory.agents {
        row(&mut out, agent_row(a));
    }
    for t in &inventory.third_parties {
        let critical = inventory
            .agents
            .iter()
            .any(|a| a.dora_critical && t.agents.contains(&a.name));
        row(
            &mut out,
            [
                "ict_third_party_service".to_owned(),
                format!("warden-server:{}", t.server),
                t.server.clone(),
                t.transport.clone(),
                String::new(),
                yes_no(critical),
                String::new(),
                String::new(),
                t.cleared.join(";"),
                t.agents.join(";"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        );
    }
    out
}

fn agent_row(a: &AgentInventory) -> [String; 15] {
    let external: Vec<&str> = a
        .destinations
        .iter()
        .filter(|d| d.destination == "external")
        .map(|d| d.server.as_str())
        .collect();
    let tools: Vec<String> = a
        .tools
        .iter()
        .map(|t| format!("{}/{}({})", t.server, t.tool, t.operation))
        .collect();
    let count = |outcome: &str| {
        a.activity
            .last_30d
            .get(outcome)
            .copied()
            .unwrap_or(0)
            .to_string()
    };
    [
        "ict_asset".to_owned(),
        a.identity.spiffe_id_prefix.clone(),
        a.name.clone(),
        a.purpose.clone(),
        a.owner.clone(),
        yes_no(a.dora_critical),
        a.eu_ai_act.clone().unwrap_or_default(),
        if a.identity.revoked {
            "revoked"
        } else {
            "active"
        }
        .to_owned(),
        a.may_read.join(";"),
        external.join(";"),
        tools.join(";"),
        a.activity.first_seen.map(rfc3339).unwrap_or_default(),
        a.activity.last_seen.map(rfc3339).unwrap_or_default(),
        count("allow"),
        count("deny"),
    ]
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&cell_text(&cell));
    }
    out.push_str("\r\n");
}

/// One cell, defused and quoted as needed.
fn cell_text(cell: &str) -> String {
    let defused = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

pub use warden_types::rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_defused() {
        assert_eq!(cell_text("plain"), "plain");
        assert_eq!(cell_text("a,b"), "\"a,b\"");
        assert_eq!(cell_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell_text("-1"), "'-1");
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_536_467_000), "2026-12-06T05:54:27Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
