//! `warden inventory`: every agent, what it may do and what it did; and,
//! with `--unregistered`, the callers and tooling Warden does not govern.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use warden_gateway::{load_inputs, sighting_json};
use warden_inventory::csv::rfc3339;
use warden_inventory::{AgentInventory, Inventory};
use warden_store::InventoryStore;

use crate::common::Common;
use crate::serve::now_millis;

/// How to print.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for a person.
    Table,
    /// The API's JSON.
    Json,
    /// CSV: the agents as rows of a DORA register of ICT assets, external
    /// tool servers as ICT third-party services (see docs/inventory.md).
    Csv,
}

/// `warden inventory [AGENT]`.
#[derive(Debug, Args)]
pub(crate) struct InventoryArgs {
    /// Only this agent (in detail).
    agent: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// List sightings instead: refused callers and `warden discover`
    /// findings not tied to a registered agent.
    #[arg(long, conflicts_with = "agent")]
    unregistered: bool,
}

/// Sightings listed at most.
const SIGHTINGS_LISTED: i64 = 1000;

pub(crate) async fn run(common: &Common, args: InventoryArgs) -> anyhow::Result<ExitCode> {
    let source = common.source();
    let config = common.load_config(&source)?;
    let store = common.open_store().await?;
    if args.unregistered {
        let list = store.sightings(SIGHTINGS_LISTED).await?;
        match args.format {
            Format::Json => {
                let list: Vec<_> = list.iter().map(sighting_json).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"sightings": list}))?
                );
            }
            Format::Csv => anyhow::bail!("--unregistered prints `table` or `json`"),
            Format::Table => print_sightings(&list),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let inputs = load_inputs(&source, Arc::clone(&config), &store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let manifests: Vec<&warden_policy::Manifest> = inputs.manifests.iter().collect();
    let inventory = warden_inventory::collect(
        &store,
        &config,
        &manifests,
        args.agent.as_deref(),
        now_millis(),
    )
    .await
    .context("cannot build the inventory")?;
    match args.format {
        Format::Json => match args.agent {
            Some(_) => println!("{}", serde_json::to_string_pretty(&inventory.agents)?),
            None => println!("{}", serde_json::to_string_pretty(&inventory)?),
        },
        Format::Csv => print!("{}", warden_inventory::csv::register(&inventory)),
        Format::Table => match args.agent {
            Some(_) => inventory.agents.iter().for_each(print_agent),
            None => print_table(&inventory),
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn when(ms: Option<i64>) -> String {
    ms.map_or_else(|| "never".to_owned(), rfc3339)
}

fn count(counts: &warden_inventory::Counts, outcome: &str) -> i64 {
    counts.get(outcome).copied().unwrap_or(0)
}

fn print_table(inventory: &Inventory) {
    println!(
        "{:<20} {:<28} {:<19} {:>5} {:<28} {:>14} {:<20} {:>9} STATUS",
        "NAME", "OWNER", "RISK", "TOOLS", "DATA", "24H ALLOW/DENY", "LAST SEEN", "INSTANCES"
    );
    for a in &inventory.agents {
        let risk = format!(
            "{}{}",
            a.eu_ai_act.as_deref().unwrap_or("unclassified"),
            if a.dora_critical { ",dora" } else { "" }
        );
        let live = a.identity.instances.iter().filter(|i| i.live).count();
        println!(
            "{:<20} {:<28} {:<19} {:>5} {:<28} {:>14} {:<20} {:>9} {}",
            a.name,
            a.owner,
            risk,
            a.tools.len(),
            a.may_read.join(","),
            format!(
                "{}/{}",
                count(&a.activity.last_24h, "allow"),
                count(&a.activity.last_24h, "deny")
            ),
            when(a.activity.last_seen),
            format!("{live}/{}", a.identity.instances.len()),
            if a.identity.revoked {
                "revoked"
            } else {
                "active"
            }
        );
    }
    if !inventory.third_parties.is_empty() {
        println!();
        println!("ICT third-party services (tool servers outside the organisation):");
        for t in &inventory.third_parties {
            println!(
                "  {:<16} {:<28} cleared for [{}]; used by {}",
                t.server,
                t.transport,
                t.cleared.join(", "),
                t.agents.join(", ")
            );
        }
    }
}

fn print_agent(a: &AgentInventory) {
    println!("name:        {}", a.name);
    println!("owner:       {}", a.owner);
    println!("purpose:     {}", a.purpose);
    println!(
        "risk:        eu_ai_act={} dora_critical={}",
        a.eu_ai_act.as_deref().unwrap_or("unclassified"),
        a.dora_critical
    );
    println!("manifest:    {}", a.manifest);
    println!("spiffe:      {}<instance>", a.identity.spiffe_id_prefix);
    println!("may read:    [{}]", a.may_read.join(", "));
    println!(
        "budgets:     per_session={} per_hour={}",
        a.budgets
            .per_session
            .map_or("none".into(), |v| v.to_string()),
        a.budgets.per_hour.map_or("none".into(), |v| v.to_string())
    );
    println!("tools:");
    for t in &a.tools {
        let cond = t
            .when
            .as_ref()
            .map(|w| format!(" when {w}"))
            .unwrap_or_default();
        let approval = t
            .approval
            .as_ref()
            .map(|w| format!(" approval {w}"))
            .unwrap_or_default();
        println!(
            "  {}/{} ({}) -> {} [{}]; {} allowed in 30d, last called {}{cond}{approval}",
            t.server,
            t.tool,
            t.operation,
            t.destination,
            t.cleared.join(", "),
            t.used_30d,
            when(t.last_called)
        );
    }
    let act = &a.activity;
    println!(
        "activity:    first seen {}, last seen {}",
        when(act.first_seen),
        when(act.last_seen)
    );
    for (label, counts) in [
        ("24h", &act.last_24h),
        ("7d", &act.last_7d),
        ("30d", &act.last_30d),
        ("all", &act.total),
    ] {
        let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  {label:<4} {}", parts.join(" "));
    }
    println!("classes touched:");
    for c in &act.classes_touched {
        let note = if c.cleared {
            ""
        } else {
            "  (not in data.may_read)"
        };
        println!(
            "  {} x{} last {}{note}",
            c.class,
            c.count,
            rfc3339(c.last_seen)
        );
    }
    if !act.never_used.is_empty() {
        println!("never used:  {}", act.never_used.join(", "));
    }
    println!("instances:");
    for i in &a.identity.instances {
        println!(
            "  {} last seen {}{}{}",
            i.instance,
            when(i.last_seen),
            if i.live { " (live)" } else { "" },
            if i.revoked { " (revoked)" } else { "" }
        );
    }
    println!("tokens:");
    for t in &a.identity.tokens {
        println!(
            "  {} {} {} issued {} by {}, expires {}, last used {}",
            t.jti,
            t.instance,
            t.state,
            when(t.issued_at),
            t.issued_by.as_deref().unwrap_or("-"),
            rfc3339(t.expires_at),
            when(t.last_used_at)
        );
    }
    if let Some(s) = &a.identity.suspended {
        println!(
            "SUSPENDED:   by {} at {} ({})",
            s.by,
            rfc3339(s.at),
            s.reason
        );
    }
    for r in &a.identity.revocations {
        let which = r.instance.as_deref().unwrap_or("all instances");
        println!(
            "revoked:     {which} by {} at {} ({})",
            r.by,
            rfc3339(r.at),
            r.reason
        );
    }
}

fn print_sightings(list: &[warden_store::SightingRecord]) {
    println!(
        "{:<16} {:<9} {:<20} {:<40} {:<15} {:<24} {:>6} {:<20} TRIED",
        "ID", "ORIGIN", "KIND", "CLAIMED", "SOURCE", "CLIENT", "COUNT", "LAST SEEN"
    );
    for s in list {
        let client = if s.client.is_empty() {
            &s.user_agent
        } else {
            &s.client
        };
        let tools: Vec<String> = serde_json::from_str(&s.tools).unwrap_or_default();
        println!(
            "{:<16} {:<9} {:<20} {:<40} {:<15} {:<24} {:>6} {:<20} {}",
            s.id,
            s.origin,
            s.kind,
            if s.claimed.is_empty() {
                "-"
            } else {
                &s.claimed
            },
            s.source,
            client,
            s.count,
            rfc3339(s.last_seen),
            tools.join(",")
        );
    }
}
