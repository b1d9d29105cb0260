//! MCP client configurations: each server entry becomes a finding that says
//! whether it goes through Warden.

use std::path::Path;

use crate::clients::ClientFile;
use crate::finding::{Finding, Kind, Place, Transport, ValueKind};
use crate::governance;
use crate::mcp_layouts::{self, RawServer};
use crate::redact;
use crate::scan::Context;
use crate::secrets::secret_ref;

/// The findings of one client configuration file; `Err` with the parser's
/// message when the file does not parse.
pub(crate) fn analyse(
    file: ClientFile,
    text: &str,
    place: &Place,
    dir: &Path,
    cx: &Context<'_>,
) -> Result<Vec<Finding>, String> {
    let (root, offsets_text) = mcp_layouts::parse(file, text)?;
    Ok(mcp_layouts::servers(file, &root, &offsets_text)
        .iter()
        .map(|server| finding(file, server, place, dir, cx))
        .collect())
}

fn finding(
    file: ClientFile,
    server: &RawServer,
    place: &Place,
    dir: &Path,
    cx: &Context<'_>,
) -> Finding {
    let mut f = Finding::new(Kind::McpServer, &server.name, place, server.line);
    f.client = Some(file.client.to_owned());
    let (transport, verdict, evidence, reach) = match (&server.command, &server.url) {
        (Some(command), _) => (
            Transport::Stdio,
            governance::stdio(command, &server.args, dir, cx.gateways),
            redact::command_line(command, &server.args),
            format!("starts `{}`", command.rsplit('/').next().unwrap_or(command)),
        ),
        (None, Some(url)) => (
            Transport::Http,
            governance::remote(url, &server.headers, cx.gateways),
            redact::url(url),
            format!("connects to {}", host_of(url)),
        ),
        (None, None) => (
            Transport::Stdio,
            governance::Verdict::default(),
            "(provided by an editor extension)".to_owned(),
            "is provided by an editor extension".to_owned(),
        ),
    };
    f.transport = Some(transport);
    f.evidence = evidence;
    f.secrets = server
        .env
        .iter()
        .chain(&server.headers)
        .filter_map(|(name, value)| secret_ref(name, value))
        .collect();
    f.governed = verdict.governed;
    f.agent = verdict.agent.clone();
    f.covered = f.governed && f.agent.as_ref().is_some_and(|a| cx.registered.contains(a));
    f.disabled = server.disabled;
    let label = client_label(file.client);
    let scope = server
        .scope
        .as_ref()
        .map(|s| format!(" (project {s})"))
        .unwrap_or_default();
    let mut what = if f.governed {
        let via = verdict.via.unwrap_or_default();
        let agent = match &f.agent {
            Some(a) if f.covered => format!("as registered agent `{a}`"),
            Some(a) => format!("as agent `{a}`, which is not registered"),
            None => "as an agent the configuration does not name".to_owned(),
        };
        format!(
            "MCP server `{}` in {label}'s configuration{scope} goes through Warden ({via}) {agent}",
            server.name
        )
    } else {
        format!(
            "MCP server `{}` in {label}'s configuration{scope} {reach} directly: it bypasses Warden",
            server.name
        )
    };
    let live = f
        .secrets
        .iter()
        .filter(|s| s.value == ValueKind::Literal)
        .count();
    if live > 0 {
        let plural = if live == 1 { "" } else { "s" };
        what.push_str(&format!(
            "; {live} secret{plural} written in its configuration"
        ));
    }
    if server.disabled {
        what.push_str(" (disabled)");
    }
    f.what = what;
    f
}

fn host_of(url: &str) -> String {
    url::Url::parse(url.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "a URL".to_owned())
}

/// The client's name for people.
pub(crate) fn client_label(client: &str) -> &str {
    match client {
        "claude-desktop" => "Claude Desktop",
        "claude-code" => "Claude Code",
        "cursor" => "Cursor",
        "vscode" => "VS Code",
        "windsurf" => "Windsurf",
        "zed" => "Zed",
        "continue" => "Continue",
        "cline" => "Cline",
        "roo-code" => "Roo Code",
        "kilo-code" => "Kilo Code",
        "goose" => "Goose",
        "gemini-cli" => "Gemini CLI",
        "codex" => "Codex",
        "amazon-q" => "Amazon Q Developer",
        "lm-studio" => "LM Studio",
        "opencode" => "opencode",
        "kiro" => "Kiro",
        "copilot-cli" => "GitHub Copilot CLI",
        "junie" => "Junie",
        _ => "an MCP client",
    }
}
