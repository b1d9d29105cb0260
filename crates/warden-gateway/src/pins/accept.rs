//! The audit records of tool pins, and accepting a definition.

use std::collections::BTreeMap;

use warden_audit::{AuditRecord, RecordKind};
use warden_policy::Config;
use warden_store::{AnyStore, ToolPinRecord, ToolPinStore};

use super::{ToolStatus, config_pins};

/// The audit record of a tool pin event: `decision` is `pinned`,
/// `withheld` or `accepted`.
pub fn tool_record(
    record: &ToolPinRecord,
    pins: Option<&BTreeMap<String, String>>,
    decision: &str,
    reasons: Vec<String>,
    interception: &str,
    agent: Option<&str>,
) -> AuditRecord {
    let mut audit = AuditRecord::new(0, crate::now_millis(), RecordKind::Tool, interception);
    audit.agent = agent.map(str::to_owned);
    audit.server = Some(record.server.clone());
    audit.tool = Some(record.tool.clone());
    audit.decision = Some(decision.to_owned());
    audit.reasons = reasons;
    let pinned = match pins {
        Some(p) => format!(
            "pinned in warden.toml {}",
            p.get(&record.tool).map_or("none", String::as_str)
        ),
        None => format!(
            "pinned {}",
            record.pinned_fingerprint.as_deref().unwrap_or("none")
        ),
    };
    audit.note = Some(format!("seen {}; {pinned}", record.seen_fingerprint));
    audit
}

/// Why tools cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// No such tool server.
    #[error("no tool server `{0}`")]
    NoServer(String),
    /// A named tool was never seen on the server.
    #[error(
        "no tool `{tool}` has been seen on `{server}` (`warden tools list {server}` shows them)"
    )]
    NoTool {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
    },
    /// `warden.toml` pins the server's tools.
    #[error(
        "the tools of `{0}` are pinned in warden.toml: change `pins` under [servers.{0}] there (`warden tools list {0}` shows the fingerprints seen)"
    )]
    PinnedInConfig(String),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] warden_store::StoreError),
}

/// Accepts the definitions last seen of `server`'s tools (only `tools`, if
/// given) that are not the pinned ones, `by` whom, and returns the tools
/// accepted (as they were before) with their audit records, to append.
pub async fn accept_tools(
    store: &AnyStore,
    config: &Config,
    server: &str,
    tools: Option<&[String]>,
    by: &str,
    interception: &str,
) -> Result<(Vec<ToolPinRecord>, Vec<AuditRecord>), AcceptError> {
    if !config.servers.contains_key(server) {
        return Err(AcceptError::NoServer(server.to_owned()));
    }
    if config_pins(config, server).is_some() {
        return Err(AcceptError::PinnedInConfig(server.to_owned()));
    }
    if let Some(named) = tools {
        let known = store.tool_pins().await?;
        if let Some(tool) = named
            .iter()
            .find(|t| !known.iter().any(|r| r.server == server && r.tool == **t))
        {
            return Err(AcceptError::NoTool {
                server: server.to_owned(),
                tool: tool.clone(),
            });
        }
    }
    let accepted = store
        .accept_tools(server, tools, by, crate::now_millis())
        .await?;
    let records = accepted
        .iter()
        .map(|before| {
            let was = ToolStatus::of(before, None)
                .reason(before)
                .unwrap_or_default();
            let mut record = tool_record(
                before,
                None,
                "accepted",
                vec![format!("accepted by `{by}`"), was],
                interception,
                None,
            );
            record.note = Some(format!(
                "pinned {} (before: {})",
                before.seen_fingerprint,
                before.pinned_fingerprint.as_deref().unwrap_or("none")
            ));
            record
        })
        .collect();
    Ok((accepted, records))
}
