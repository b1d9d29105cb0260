//! What a scan finds: one [`Finding`] per MCP server entry, framework
//! dependency, provider key or container.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The kind of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A server entry in an MCP client's configuration.
    McpServer,
    /// An agent framework, MCP SDK or LLM SDK in a dependency manifest or lock file.
    AgentFramework,
    /// An LLM provider key (or a reference to one) in an env file, shell
    /// profile or CI configuration.
    ProviderKey,
    /// A container (Dockerfile, Compose service, Kubernetes workload) that
    /// runs an MCP server or an agent, or holds provider keys.
    Container,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 4] = [
        Kind::McpServer,
        Kind::AgentFramework,
        Kind::ProviderKey,
        Kind::Container,
    ];

    /// The name used in JSON and as the SARIF rule id's suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::McpServer => "mcp_server",
            Kind::AgentFramework => "agent_framework",
            Kind::ProviderKey => "provider_key",
            Kind::Container => "container",
        }
    }
}

/// How a credential's value is written where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// The value itself is there: a live secret.
    Literal,
    /// A reference resolved elsewhere (`${VAR}`, `${input:…}`,
    /// `${{ secrets.X }}`, `$(…)`, a Kubernetes `secretKeyRef`).
    Reference,
    /// Empty, or a placeholder such as `your-key-here` or `xxx`.
    Placeholder,
}

impl ValueKind {
    /// The name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Literal => "literal",
            ValueKind::Reference => "reference",
            ValueKind::Placeholder => "placeholder",
        }
    }
}

/// A credential, by name and fingerprint, never by value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    /// The variable or header name (`OPENAI_API_KEY`, `Authorization`).
    pub name: String,
    /// The provider (`openai`, `anthropic`, …), or `unknown`.
    pub provider: String,
    /// `sha256:` and the first 12 hex digits of the value's SHA-256, for a
    /// literal value only: the same key found twice has the same fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Whether the value is there, referenced or a placeholder.
    pub value: ValueKind,
}

/// How an MCP client reaches a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// The client starts a process and speaks over its stdin and stdout.
    Stdio,
    /// The client connects to a URL (Streamable HTTP or SSE).
    Http,
}

impl Transport {
    /// The name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "http",
        }
    }
}

/// One thing found: what it is, where, the evidence, and whether Warden
/// governs it. Serialises to the JSON shape of `docs/discover.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// 16 hex digits of SHA-256 over kind, path, line and name: stable
    /// across runs while the file does not move.
    pub id: String,
    /// What kind of finding.
    pub kind: Kind,
    /// The server, package, variable or container name.
    pub name: String,
    /// One human sentence.
    pub what: String,
    /// The file, as walked from the scan root.
    pub path: String,
    /// The 1-based line.
    pub line: usize,
    /// Short and secret-free: a command line with secrets redacted, a
    /// dependency line, `NAME=<literal sha256:…>`.
    pub evidence: String,
    /// The MCP client (`claude-desktop`, `cursor`, …); MCP servers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// How the client reaches the server; MCP servers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// Whether it goes through Warden (`warden mcp wrap`, a Warden `/mcp/`
    /// URL, a container running `warden`).
    pub governed: bool,
    /// The Warden agent it acts as, when that can be read from the
    /// configuration.
    pub agent: Option<String>,
    /// Governed, as an agent that is registered.
    pub covered: bool,
    /// Credentials it carries, by name and fingerprint.
    pub secrets: Vec<SecretRef>,
    /// The framework or SDK (`LangChain`, `MCP SDK`, …); frameworks only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// The package ecosystem (`pypi`, `npm`, `crates.io`, `go`, `maven`,
    /// `nuget`); frameworks only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// The LLM provider; provider keys only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// How the key is written; provider keys only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<ValueKind>,
    /// The configuration turns the server off (`disabled: true`,
    /// `enabled: false`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Which scan root the file is under (index into the roots).
    #[serde(skip)]
    pub root: usize,
    /// The path relative to its scan root, `/`-separated.
    #[serde(skip)]
    pub relative: String,
    /// Found in a lock file (dropped when a manifest beside it declares the
    /// same package).
    #[serde(skip)]
    pub(crate) from_lock: bool,
}

/// Where a file is: its root, its display path and its path under the root.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub(crate) root: usize,
    pub(crate) path: String,
    pub(crate) relative: String,
}

impl Finding {
    /// A finding with its id; the caller fills in the rest.
    pub(crate) fn new(kind: Kind, name: &str, place: &Place, line: usize) -> Finding {
        Finding {
            id: finding_id(kind, &place.path, line, name),
            kind,
            name: name.to_owned(),
            what: String::new(),
            path: place.path.clone(),
            line,
            evidence: String::new(),
            client: None,
            transport: None,
            governed: false,
            agent: None,
            covered: false,
            secrets: Vec::new(),
            framework: None,
            ecosystem: None,
            provider: None,
            value: None,
            disabled: false,
            root: place.root,
            relative: place.relative.clone(),
            from_lock: false,
        }
    }

    /// A literal secret is present (in `secrets` or as the key itself).
    pub fn has_live_secret(&self) -> bool {
        self.value == Some(ValueKind::Literal)
            || self.secrets.iter().any(|s| s.value == ValueKind::Literal)
    }

    /// An MCP server or container that does not go through Warden.
    pub fn bypasses(&self) -> bool {
        matches!(self.kind, Kind::McpServer | Kind::Container) && !self.governed
    }
}

/// 16 hex digits of SHA-256 over kind, path, line and name.
pub(crate) fn finding_id(kind: Kind, path: &str, line: usize, name: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [kind.as_str(), path, &line.to_string(), name] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize().get(..8).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = finding_id(Kind::McpServer, "/a/.mcp.json", 3, "github");
        assert_eq!(a.len(), 16);
        assert_eq!(a, finding_id(Kind::McpServer, "/a/.mcp.json", 3, "github"));
        assert_ne!(a, finding_id(Kind::McpServer, "/a/.mcp.json", 4, "github"));
        assert_ne!(a, finding_id(Kind::Container, "/a/.mcp.json", 3, "github"));
    }
}
