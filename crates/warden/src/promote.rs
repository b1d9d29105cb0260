//! `warden agent register --from-sighting ID`: a starting manifest for an
//! agent Warden saw but does not govern. It grants nothing: the owner fills
//! in the tools it needs, and until then every action it asks for is denied
//! by name rather than refused as an unknown caller.

use std::io::Write as _;

use anyhow::{Context, bail};
use warden_gateway::{ConfigSource, compile_inputs, load_inputs};
use warden_policy::{Config, Manifest};
use warden_store::{AnyStore, InventoryStore};
use warden_types::AgentName;

/// The name a sighting suggests: the agent name of a claimed SPIFFE ID, else
/// its MCP client or user agent, made a valid agent name.
fn suggested_name(claimed: &str, client: &str, user_agent: &str) -> Option<String> {
    let from_spiffe = claimed
        .strip_prefix("spiffe://")
        .and_then(|rest| rest.split('/').skip_while(|p| *p != "agent").nth(1))
        .map(str::to_owned);
    let raw = from_spiffe.or_else(|| {
        [client, user_agent, claimed]
            .into_iter()
            .find(|s| !s.is_empty() && *s != "(many)")
            .map(|s| s.split('/').next().unwrap_or(s).to_owned())
    })?;
    let mut name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name = name.trim_matches('-').to_owned();
    name.truncate(48);
    AgentName::new(name.clone()).ok().map(|_| name)
}

/// YAML double-quoted scalar.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

pub(crate) async fn from_sighting(
    config: &std::sync::Arc<Config>,
    source: &ConfigSource,
    store: &AnyStore,
    id: &str,
    name: Option<String>,
) -> anyhow::Result<()> {
    let sighting = store
        .sighting(id)
        .await?
        .with_context(|| format!("no sighting `{id}` (see `warden inventory --unregistered`)"))?;
    let name = match name {
        Some(n) => n,
        None => suggested_name(&sighting.claimed, &sighting.client, &sighting.user_agent)
            .with_context(|| {
                format!("sighting `{id}` suggests no agent name: give one with `--name`")
            })?,
    };
    let agent = AgentName::new(name.clone()).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    let inputs = load_inputs(source, std::sync::Arc::clone(config), store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(existing) = inputs.manifests.iter().find(|m| m.name == agent) {
        bail!("agent `{agent}` is already registered ({})", existing.file);
    }
    let text = format!(
        "# Written by `warden agent register --from-sighting {id}`: Warden saw\n\
         # {kind} from {source} ({count} times, claimed {claimed}).\n\
         # It grants nothing yet: add the tools this agent needs, then issue it a token.\n\
         name: {agent}\n\
         owner: {owner}\n\
         purpose: {purpose}\n\
         tools: {{}}\n",
        kind = sighting.kind,
        source = if sighting.source.is_empty() {
            "an unknown address"
        } else {
            &sighting.source
        },
        count = sighting.count,
        claimed = if sighting.claimed.is_empty() {
            "nothing"
        } else {
            &sighting.claimed
        },
        owner = quoted("unassigned"),
        purpose = quoted(&format!("unreviewed: promoted from sighting {id}")),
    );
    let path = config.agents_dir.join(format!("{agent}.yaml"));
    let shown = path.display().to_string();
    let manifest = Manifest::parse(&shown, &text, config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut with_it = inputs;
    with_it.manifests.push(manifest);
    compile_inputs(with_it)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(&config.agents_dir)
        .with_context(|| format!("cannot create `{}`", config.agents_dir.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create `{shown}` (does it exist already?)"))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write `{shown}`"))?;
    store.delete_sighting(id).await?;
    println!(
        "wrote {shown}: agent `{agent}` with no grants; the gateway picks it up on its next reload"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_what_was_claimed() {
        assert_eq!(
            suggested_name("spiffe://example.org/agent/ghost-bot/laptop", "", "curl/8").as_deref(),
            Some("ghost-bot")
        );
        assert_eq!(
            suggested_name("", "Claude Desktop/1.2", "").as_deref(),
            Some("claude-desktop")
        );
        assert_eq!(
            suggested_name("", "", "python-httpx/0.28").as_deref(),
            Some("python-httpx")
        );
        assert_eq!(suggested_name("", "", ""), None);
    }
}
