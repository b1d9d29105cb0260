//! Where a tool stands against its pin, and why it is withheld.

use std::collections::BTreeMap;

use warden_policy::Config;
use warden_store::ToolPinRecord;

use super::definition;

/// The `pins` of `server` in `warden.toml`, when it has any (otherwise its
/// tools are pinned on first use).
pub fn config_pins<'a>(config: &'a Config, server: &str) -> Option<&'a BTreeMap<String, String>> {
    config
        .servers
        .get(server)
        .map(|s| &s.pins)
        .filter(|p| !p.is_empty())
}

/// Where a tool stands against its pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolStatus {
    /// The definition last seen is the pinned one.
    Pinned,
    /// It changed since it was pinned: what changed.
    Drift(Vec<String>),
    /// It carries instructions aimed at the model.
    Flagged {
        /// The findings, `kind at path`.
        finding: String,
        /// What changed since it was pinned (empty if it never was).
        changes: Vec<String>,
    },
    /// It is new since the server's tools were pinned.
    New,
    /// `warden.toml` pins the server's tools, not this one.
    Unpinned,
    /// It does not match its pin in `warden.toml`.
    Mismatch {
        /// The pin.
        pin: String,
    },
}

impl ToolStatus {
    /// Where `record` stands; `pins` are its server's in `warden.toml`, if
    /// any.
    pub fn of(record: &ToolPinRecord, pins: Option<&BTreeMap<String, String>>) -> ToolStatus {
        if let Some(pins) = pins {
            return match pins.get(&record.tool) {
                None => ToolStatus::Unpinned,
                Some(pin) if *pin == record.seen_fingerprint => ToolStatus::Pinned,
                Some(pin) => ToolStatus::Mismatch { pin: pin.clone() },
            };
        }
        let changes = || match &record.pinned_definition {
            Some(old) => definition::changes(old, &record.seen_definition),
            None => Vec::new(),
        };
        match (&record.pinned_fingerprint, &record.finding) {
            (Some(pinned), _) if *pinned == record.seen_fingerprint => ToolStatus::Pinned,
            (_, Some(finding)) => ToolStatus::Flagged {
                finding: finding.clone(),
                changes: changes(),
            },
            (None, None) => ToolStatus::New,
            (Some(_), None) => ToolStatus::Drift(changes()),
        }
    }

    /// Its name: `pinned`, `drift`, `flagged`, `new`, `unpinned`, `mismatch`.
    pub fn name(&self) -> &'static str {
        match self {
            ToolStatus::Pinned => "pinned",
            ToolStatus::Drift(_) => "drift",
            ToolStatus::Flagged { .. } => "flagged",
            ToolStatus::New => "new",
            ToolStatus::Unpinned => "unpinned",
            ToolStatus::Mismatch { .. } => "mismatch",
        }
    }

    /// Why the tool is withheld from agents; `None` when it is not.
    pub fn reason(&self, record: &ToolPinRecord) -> Option<String> {
        let (server, tool) = (&record.server, &record.tool);
        let accept = format!("an admin accepts it with `warden tools accept {server}`");
        let why = match self {
            ToolStatus::Pinned => return None,
            ToolStatus::Drift(changes) => format!(
                "its definition changed since it was pinned ({}); {accept}",
                changes.join(", ")
            ),
            ToolStatus::Flagged { finding, changes } => {
                let changed = if changes.is_empty() {
                    String::new()
                } else {
                    format!("changed since it was pinned ({}) and ", changes.join(", "))
                };
                format!(
                    "its definition {changed}carries instructions aimed at the model ({finding}); an admin who has reviewed it accepts it with `warden tools accept {server} --tool {tool}`"
                )
            }
            ToolStatus::New => {
                format!("it is new since the tools of `{server}` were pinned; {accept}")
            }
            ToolStatus::Unpinned => format!(
                "warden.toml pins the tools of `{server}` and not this one (its fingerprint is {})",
                record.seen_fingerprint
            ),
            ToolStatus::Mismatch { pin } => format!(
                "its definition does not match its pin in warden.toml (seen {}, pinned {pin})",
                record.seen_fingerprint
            ),
        };
        Some(format!("tool `{server}/{tool}` is withheld: {why}"))
    }
}
