//! Which MCP client a configuration file belongs to, recognised by its path.

/// How a client lays out its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `{"mcpServers": {name: {command, args, env | url, headers}}}` (also
    /// `servers`), the layout most clients share.
    McpServers,
    /// VS Code's `mcp.json`: `servers` (and `inputs`).
    VsCode,
    /// VS Code user or workspace `settings.json`: `mcp.servers` or `"mcp": {"servers"}`.
    VsCodeSettings,
    /// Claude Code's `~/.claude.json`: `mcpServers` and `projects.<dir>.mcpServers`.
    ClaudeUser,
    /// Zed's `settings.json`: `context_servers`.
    Zed,
    /// Continue's `config.yaml` or a `.continue/mcpServers/` block: an
    /// `mcpServers` list (or map).
    Continue,
    /// Continue's older `config.json`: `experimental.modelContextProtocolServers`.
    ContinueJson,
    /// Goose's `config.yaml`: `extensions` with `cmd`, `args`, `envs`, `uri`.
    Goose,
    /// Codex's `config.toml`: `[mcp_servers.<name>]`.
    Codex,
    /// opencode's `opencode.json`: `mcp` (or `mcp.servers`) with `type`
    /// `local`/`remote`, `command` as a list, `environment`.
    OpenCode,
}

/// The file's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// JSON, comments and trailing commas tolerated.
    Json,
    /// YAML.
    Yaml,
    /// TOML.
    Toml,
}

/// A recognised client configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientFile {
    /// The client's id in findings.
    pub(crate) client: &'static str,
    pub(crate) layout: Layout,
    pub(crate) syntax: Syntax,
}

const fn json(client: &'static str, layout: Layout) -> Option<ClientFile> {
    Some(ClientFile {
        client,
        layout,
        syntax: Syntax::Json,
    })
}

/// The client whose configuration lives at `path` (`/`-separated), if any.
pub(crate) fn client_file(path: &str) -> Option<ClientFile> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let parent = parent_name(path);
    let ends = |suffix: &str| path.ends_with(suffix);
    match name {
        "claude_desktop_config.json" => return json("claude-desktop", Layout::McpServers),
        ".mcp.json" | "managed-mcp.json" => return json("claude-code", Layout::McpServers),
        ".claude.json" => return json("claude-code", Layout::ClaudeUser),
        "cline_mcp_settings.json" => return json("cline", Layout::McpServers),
        "opencode.json" | "opencode.jsonc" => return json("opencode", Layout::OpenCode),
        _ => {}
    }
    if ends("/.cursor/mcp.json") {
        return json("cursor", Layout::McpServers);
    }
    if ends("/.vscode/mcp.json") || (name == "mcp.json" && is_vscode_user_dir(path)) {
        return json(vscode_flavour(path), Layout::VsCode);
    }
    if name == "settings.json" && (parent == ".vscode" || is_vscode_user_dir(path)) {
        return json(vscode_flavour(path), Layout::VsCodeSettings);
    }
    if ends("/windsurf/mcp_config.json") || ends("/.windsurf/mcp_config.json") {
        return json("windsurf", Layout::McpServers);
    }
    if ends("/zed/settings.json") || ends("/.zed/settings.json") {
        return json("zed", Layout::Zed);
    }
    if ends("/.continue/config.json") {
        return json("continue", Layout::ContinueJson);
    }
    if ends("/.continue/config.yaml") || ends("/.continue/config.yml") {
        return yaml("continue", Layout::Continue);
    }
    if path.contains("/.continue/mcpServers/") {
        return if name.ends_with(".json") {
            json("continue", Layout::Continue)
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            yaml("continue", Layout::Continue)
        } else {
            None
        };
    }
    if (name == "mcp_settings.json" && path.contains("roo-cline")) || ends("/.roo/mcp.json") {
        return json("roo-code", Layout::McpServers);
    }
    if (name == "mcp_settings.json" && path.contains("kilo-code")) || ends("/.kilocode/mcp.json") {
        return json("kilo-code", Layout::McpServers);
    }
    if ends("/goose/config.yaml") {
        return yaml("goose", Layout::Goose);
    }
    if ends("/.gemini/settings.json") {
        return json("gemini-cli", Layout::McpServers);
    }
    if ends("/.codex/config.toml") {
        return Some(ClientFile {
            client: "codex",
            layout: Layout::Codex,
            syntax: Syntax::Toml,
        });
    }
    if ends("/amazonq/mcp.json") {
        return json("amazon-q", Layout::McpServers);
    }
    if ends("/.lmstudio/mcp.json") {
        return json("lm-studio", Layout::McpServers);
    }
    if ends("/.kiro/settings/mcp.json") {
        return json("kiro", Layout::McpServers);
    }
    if ends("/.copilot/mcp-config.json") {
        return json("copilot-cli", Layout::McpServers);
    }
    if ends("/.junie/mcp/mcp.json") {
        return json("junie", Layout::McpServers);
    }
    if matches!(
        name,
        "mcp.json"
            | "mcp_config.json"
            | "mcp-config.json"
            | "mcp_servers.json"
            | "mcp-servers.json"
    ) {
        return json("unknown", Layout::McpServers);
    }
    None
}

const fn yaml(client: &'static str, layout: Layout) -> Option<ClientFile> {
    Some(ClientFile {
        client,
        layout,
        syntax: Syntax::Yaml,
    })
}

fn parent_name(path: &str) -> &str {
    let mut parts = path.rsplit('/');
    parts.next();
    parts.next().unwrap_or_default()
}

/// `…/Code/User/…` and the other VS Code builds' user profile directories.
fn is_vscode_user_dir(path: &str) -> bool {
    [
        "/Code/User/",
        "/Code - Insiders/User/",
        "/VSCodium/User/",
        "/Cursor/User/",
        "/Windsurf/User/",
    ]
    .iter()
    .any(|d| path.contains(d))
}

fn vscode_flavour(path: &str) -> &'static str {
    if path.contains("/Cursor/User/") {
        "cursor"
    } else if path.contains("/Windsurf/User/") {
        "windsurf"
    } else {
        "vscode"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(path: &str) -> Option<&'static str> {
        client_file(path).map(|c| c.client)
    }

    #[test]
    fn recognises_clients() {
        assert_eq!(
            client("/h/.config/Claude/claude_desktop_config.json"),
            Some("claude-desktop")
        );
        assert_eq!(client("/repo/.mcp.json"), Some("claude-code"));
        assert_eq!(client("/h/.claude.json"), Some("claude-code"));
        assert_eq!(client("/repo/.cursor/mcp.json"), Some("cursor"));
        assert_eq!(client("/repo/.vscode/mcp.json"), Some("vscode"));
        assert_eq!(client("/h/.config/Code/User/settings.json"), Some("vscode"));
        assert_eq!(
            client("/h/.config/Cursor/User/settings.json"),
            Some("cursor")
        );
        assert_eq!(
            client("/h/.codeium/windsurf/mcp_config.json"),
            Some("windsurf")
        );
        assert_eq!(client("/h/.config/zed/settings.json"), Some("zed"));
        assert_eq!(
            client("/repo/.continue/mcpServers/pw.yaml"),
            Some("continue")
        );
        assert_eq!(client("/h/.continue/config.yaml"), Some("continue"));
        assert_eq!(
            client("/h/x/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"),
            Some("cline")
        );
        assert_eq!(client("/h/.config/goose/config.yaml"), Some("goose"));
        assert_eq!(client("/h/.gemini/settings.json"), Some("gemini-cli"));
        assert_eq!(client("/h/.codex/config.toml"), Some("codex"));
        assert_eq!(client("/h/.aws/amazonq/mcp.json"), Some("amazon-q"));
        assert_eq!(client("/h/.lmstudio/mcp.json"), Some("lm-studio"));
        assert_eq!(client("/repo/opencode.json"), Some("opencode"));
        assert_eq!(client("/repo/tools/mcp.json"), Some("unknown"));
        assert_eq!(client("/repo/settings.json"), None);
        assert_eq!(client("/repo/package.json"), None);
    }
}
