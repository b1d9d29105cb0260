//! `warden tools list | accept`: the tool definitions Warden pinned, and
//! accepting a changed one.

use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;
use warden_gateway::audit::append_direct;
use warden_gateway::pins::{ToolStatus, accept_tools, config_pins};
use warden_store::ToolPinStore;

use crate::agent::{Applied, wait_applied};
use crate::common::Common;

#[derive(Debug, Subcommand)]
pub(crate) enum ToolsCommand {
    /// List the tools Warden has seen, with their pins; those withheld say why.
    List {
        /// Only this tool server.
        server: Option<String>,
    },
    /// Accept the definitions last seen of a server's tools: they become the pinned ones.
    Accept {
        /// The tool server.
        server: String,
        /// Only this tool (repeatable); default: every tool of the server.
        #[arg(long = "tool")]
        tools: Vec<String>,
        /// The running gateway's data plane (its admin plane with
        /// `[serve.tls]`), waited for until it serves the accepted tools
        /// (default: `[serve] listen` of the configuration).
        #[arg(long, env = crate::env::GATEWAY)]
        gateway: Option<String>,
    },
}

pub(crate) async fn run(common: &Common, command: ToolsCommand) -> anyhow::Result<ExitCode> {
    let source = common.source();
    let config = common.load_config(&source)?;
    let store = common.open_store().await?;
    match command {
        ToolsCommand::List { server } => {
            if let Some(s) = &server
                && !config.servers.contains_key(s)
            {
                bail!("no tool server `{s}` in {}", source.describe());
            }
            let records: Vec<_> = store
                .tool_pins()
                .await?
                .into_iter()
                .filter(|r| server.as_ref().is_none_or(|s| *s == r.server))
                .collect();
            if records.is_empty() {
                println!(
                    "no tools seen yet: tools are pinned when an agent's session first lists them"
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<16} {:<28} {:<9} {:<12} SEEN FINGERPRINT",
                "SERVER", "TOOL", "STATUS", "PINNED BY"
            );
            let mut withheld = Vec::new();
            for r in &records {
                let pins = config_pins(&config, &r.server);
                let status = ToolStatus::of(r, pins);
                let by = match (pins, &r.accepted_by) {
                    (Some(_), _) => "warden.toml",
                    (None, Some(by)) => by.as_str(),
                    (None, None) if r.pinned_fingerprint.is_some() => "first use",
                    (None, None) => "-",
                };
                println!(
                    "{:<16} {:<28} {:<9} {:<12} {}",
                    r.server,
                    r.tool,
                    status.name(),
                    by,
                    r.seen_fingerprint
                );
                withheld.extend(status.reason(r));
            }
            for why in withheld {
                println!("\n{why}");
            }
        }
        ToolsCommand::Accept {
            server,
            tools,
            gateway,
        } => {
            let named = (!tools.is_empty()).then_some(tools.as_slice());
            let (accepted, records) =
                accept_tools(&store, &config, &server, named, "cli", "cli").await?;
            if accepted.is_empty() {
                println!(
                    "nothing to accept: the tools of `{server}` seen last are the pinned ones"
                );
                return Ok(ExitCode::SUCCESS);
            }
            append_direct(
                &store,
                None,
                records.into_iter().map(|r| (r, None)).collect(),
            )
            .await?;
            for r in &accepted {
                println!(
                    "accepted `{server}/{}`: {} (was {})",
                    r.tool,
                    r.seen_fingerprint,
                    r.pinned_fingerprint.as_deref().unwrap_or("not pinned")
                );
            }
            let change = warden_store::Store::latest_change(&store).await?;
            let gateway = gateway.unwrap_or_else(|| crate::agent::health_url(&config));
            let gateway = gateway.trim_end_matches('/');
            match wait_applied(gateway, change).await {
                Applied::Yes => println!("the gateway at {gateway} serves them from now on"),
                Applied::NoGateway => {
                    println!("no gateway answers at {gateway}: one that starts serves them")
                }
                Applied::NotYet => eprintln!(
                    "warning: the gateway at {gateway} has not applied the change yet (is it watching this store?)"
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
