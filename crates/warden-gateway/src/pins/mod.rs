//! Tool definitions pinned: every `tools/list` page a session receives is
//! screened against the pinned definitions of its server, and a tool whose
//! definition drifted is withheld from agents until an admin accepts it.
//!
//! - A tool's fingerprint is `sha256:` and the SHA-256 of the RFC 8785
//!   canonical JSON of its `name`, `title`, `description`, `inputSchema`,
//!   `outputSchema` and `annotations` (see `docs/tool-pinning.md`).
//! - Trust on first use: the tools of a server's first complete list are
//!   pinned as seen, except those whose definition carries instructions
//!   aimed at the model (the injection scanner that screens results), which
//!   are withheld on first sight. `pins` under the server in `warden.toml`
//!   pins them explicitly instead: a tool not matching its pin, or without
//!   one, is withheld.
//! - A later change (a new description, a widened schema, a tool new since
//!   the first complete list) is a drift: the tool is withheld (left out of
//!   `tools/list`; a call is refused, naming what changed) until an admin
//!   accepts the definition (`POST /v1/tools/{server}/accept`, `warden tools
//!   accept`). A server may list more tools to a client that can answer its
//!   sampling, elicitation or roots requests, so the first complete list is
//!   kept per set of client features the server was told of. A tool that
//!   leaves the list is simply gone; its pin stays, so it can come back only
//!   as it was pinned (or as a drift).
//! - Pins live in the store; each node keeps them in memory and reloads
//!   when the store's change counter moves: no request reads the store,
//!   only a page that shows something new writes to it. Every sighting that
//!   changes a pin, and every acceptance, is a `tool` audit record.

mod accept;
mod api;
pub(crate) mod definition;
mod status;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use warden_mcp::{ToolPage, Withheld};
use warden_policy::{Config, Transport};
use warden_store::{ToolBaseline, ToolPinRecord, ToolPinStore, ToolSighting};

pub use accept::{AcceptError, accept_tools, tool_record};
pub(crate) use api::{accept, list, post_screen, show};
pub use status::{ToolStatus, config_pins};

use crate::decisions::Via;
use crate::error::ApiError;
use crate::state::{Caller, Gateway};
use definition::Definition;

/// Tools of one page screened at most; the rest are withheld.
pub(crate) const MAX_TOOLS_PER_PAGE: usize = 2000;

/// The pins in force, in memory.
#[derive(Debug, Default)]
pub(crate) struct PinSet {
    servers: HashMap<String, ServerPins>,
}

#[derive(Debug, Default)]
struct ServerPins {
    /// The client features (joined by `,`) whose first complete tool list
    /// was seen.
    baselines: HashSet<String>,
    tools: HashMap<String, Seen>,
}

#[derive(Debug)]
struct Seen {
    fingerprint: String,
    withheld: Option<String>,
}

impl PinSet {
    /// The pins of `records`, with the baselines seen.
    fn build(records: &[ToolPinRecord], baselines: &[ToolBaseline], config: &Config) -> PinSet {
        let mut servers: HashMap<String, ServerPins> = HashMap::new();
        for r in records {
            let status = ToolStatus::of(r, config_pins(config, &r.server));
            servers.entry(r.server.clone()).or_default().tools.insert(
                r.tool.clone(),
                Seen {
                    fingerprint: r.seen_fingerprint.clone(),
                    withheld: status.reason(r),
                },
            );
        }
        for b in baselines {
            servers
                .entry(b.server.clone())
                .or_default()
                .baselines
                .insert(b.features.clone());
        }
        PinSet { servers }
    }
}

/// What a page showed that the pins do not know yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// A tool never seen.
    First,
    /// A definition other than the one last seen.
    Changed,
}

impl Gateway {
    /// Why `server/tool` is withheld from agents, if it is: its pin says so,
    /// or `warden.toml` pins the server's tools and not this one. In memory.
    pub(crate) fn withheld_tool(&self, server: &str, tool: &str) -> Option<String> {
        let pins = self.pins.load();
        if let Some(seen) = pins.servers.get(server).and_then(|s| s.tools.get(tool)) {
            return seen.withheld.clone();
        }
        let pinned = config_pins(&self.config, server)?;
        if pinned.contains_key(tool) || matches!(tool, "resources/read" | "prompts/get") {
            return None;
        }
        Some(format!(
            "tool `{server}/{tool}` is withheld: warden.toml pins the tools of `{server}` and not this one"
        ))
    }

    /// Reloads the pins from the store; returns the records loaded.
    pub(crate) async fn reload_pins(&self) -> Result<Vec<ToolPinRecord>, warden_store::StoreError> {
        let records = self.store.tool_pins().await?;
        let baselines = self.store.tool_baselines().await?;
        self.pins
            .store(Arc::new(PinSet::build(&records, &baselines, &self.config)));
        Ok(records)
    }

    /// Screens one `tools/list` page of `server` that `caller`'s session
    /// received: records what is new (first sight, a drift, the end of the
    /// first complete list), and returns the tools withheld from agents,
    /// with why.
    pub(crate) async fn screen_tools(
        &self,
        caller: &Caller,
        server: &str,
        page: ToolPage<'_>,
        via: Via,
    ) -> Result<Withheld, ApiError> {
        match self.config.servers.get(server).map(|s| &s.transport) {
            None => return Err(ApiError::not_found(format!("no tool server `{server}`"))),
            Some(Transport::Api) => {
                return Err(ApiError::bad_request(
                    "bad_request",
                    format!("tool server `{server}` has transport `api`: it has no tool list"),
                ));
            }
            Some(_) => {}
        }
        if !self
            .engine
            .snapshot()
            .agents
            .contains_key(caller.svid.spiffe_id.agent())
        {
            return Err(ApiError::unauthorized(
                "unknown_agent",
                "agent is not registered",
            ));
        }
        let mut withheld = Withheld::new();
        let mut definitions = Vec::with_capacity(page.tools.len().min(MAX_TOOLS_PER_PAGE));
        for tool in page.tools {
            let Some(d) = Definition::of(tool) else {
                // A name Warden cannot pin: the agent does not see it.
                if let Some(name) = tool.get("name").and_then(serde_json::Value::as_str) {
                    withheld.insert(
                        name.to_owned(),
                        format!(
                            "a tool of `{server}` is withheld: its name is empty or longer than {} bytes",
                            definition::MAX_TOOL_NAME
                        ),
                    );
                }
                continue;
            };
            if definitions.len() >= MAX_TOOLS_PER_PAGE {
                withheld.insert(
                    d.name.clone(),
                    format!(
                        "tool `{server}/{}` is withheld: the page lists more than {MAX_TOOLS_PER_PAGE} tools",
                        d.name
                    ),
                );
                continue;
            }
            definitions.push(d);
        }
        if self.unknown_to_pins(server, &definitions, page) {
            // One screening writes at a time on this node; the next one
            // sees what it wrote.
            let _writing = self.pin_writes.lock().await;
            if self.unknown_to_pins(server, &definitions, page) {
                self.record_sightings(caller, server, &definitions, page, via)
                    .await
                    .map_err(|e| ApiError::store(&e))?;
            }
        }
        for d in &definitions {
            if let Some(why) = self.withheld_tool(server, &d.name) {
                withheld.insert(d.name.clone(), why);
            }
        }
        Ok(withheld)
    }

    /// Whether the page shows something the pins do not know.
    fn unknown_to_pins(
        &self,
        server: &str,
        definitions: &[Definition],
        page: ToolPage<'_>,
    ) -> bool {
        let pins = self.pins.load();
        let Some(known) = pins.servers.get(server) else {
            return !definitions.is_empty();
        };
        (closes_baseline(definitions, page) && !known.baselines.contains(&features(page)))
            || definitions.iter().any(|d| {
                known
                    .tools
                    .get(&d.name)
                    .is_none_or(|s| s.fingerprint != d.fingerprint)
            })
    }

    async fn record_sightings(
        &self,
        caller: &Caller,
        server: &str,
        definitions: &[Definition],
        page: ToolPage<'_>,
        via: Via,
    ) -> Result<(), warden_store::StoreError> {
        let features = features(page);
        let pins = self.pins.load_full();
        let known = pins.servers.get(server);
        let baseline = known.is_some_and(|k| k.baselines.contains(&features));
        let first_use = config_pins(&self.config, server).is_none();
        let mut events = Vec::new();
        let mut findings = Vec::new();
        for d in definitions {
            let event = match known.and_then(|k| k.tools.get(&d.name)) {
                None => Event::First,
                Some(s) if s.fingerprint != d.fingerprint => Event::Changed,
                Some(_) => continue,
            };
            events.push((d, event));
            findings.push(d.finding());
        }
        let sightings: Vec<ToolSighting<'_>> = events
            .iter()
            .zip(&findings)
            .map(|((d, _), finding)| ToolSighting {
                tool: &d.name,
                fingerprint: &d.fingerprint,
                definition: &d.stored,
                finding: finding.as_deref(),
                pin: first_use && !baseline && finding.is_none(),
            })
            .collect();
        self.store
            .record_tool_sightings(
                server,
                &features,
                &sightings,
                closes_baseline(definitions, page) && !baseline,
                crate::now_millis(),
            )
            .await?;
        let records = self.reload_pins().await?;
        let pinned = config_pins(&self.config, server);
        for (d, event) in &events {
            let Some(r) = records
                .iter()
                .find(|r| r.server == server && r.tool == d.name)
            else {
                continue;
            };
            let (decision, reasons) = match (ToolStatus::of(r, pinned).reason(r), event) {
                (Some(why), _) => ("withheld", vec![why]),
                (None, Event::First) => ("pinned", vec!["first sight".to_owned()]),
                (None, Event::Changed) => ("pinned", vec!["definition back to its pin".to_owned()]),
            };
            tracing::info!(server, tool = %d.name, decision, "tool definition screened");
            let record = tool_record(
                r,
                pinned,
                decision,
                reasons,
                via.as_str(),
                Some(&caller.spiffe),
            );
            if let Err(e) = self.audit.append_deferred(record).await {
                tracing::error!(error = %e, "a tool pin event could not be recorded");
            }
        }
        Ok(())
    }
}

/// Whether the page ends a complete list that pins something: an empty list
/// is no baseline (tools a server registers later are pinned on first use).
fn closes_baseline(definitions: &[Definition], page: ToolPage<'_>) -> bool {
    page.last && !definitions.is_empty()
}

/// The client features of a page's session, as baselines are kept.
fn features(page: ToolPage<'_>) -> String {
    page.client_features.join(",")
}

#[cfg(test)]
#[allow(
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]
mod tests;
