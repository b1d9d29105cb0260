//! `[providers]` in `warden.toml`: the model providers agents reach through
//! the LLM proxy (`/llm/{provider}/…` on the data plane).
//!
//! ```toml
//! [providers.openai]
//! kind = "openai"                      # openai (any OpenAI-compatible server) | anthropic
//! base_url = "https://api.openai.com"  # the API paths (/v1/chat/completions, …) are appended
//! api_key_env = "OPENAI_API_KEY"       # or api_key_file = "keys/openai.key"
//! region = "us"
//! cleared = []                         # the data classes it may receive
//! ```
//!
//! A provider is a destination like a tool server: manifests grant it as a
//! server with one tool, `chat` (operation `send`, destination `external`),
//! whose arguments are the request's body; flow rules, session taint and
//! redaction obligations apply to it as to any send.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Diagnostics, Location};

/// The one tool a provider offers to manifests.
pub const CHAT_TOOL: &str = "chat";

/// Which API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI's (Chat Completions, Responses), or any compatible server.
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
}

impl ProviderKind {
    /// The name used in `warden.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }
}

/// Where a provider's API key is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable of the gateway's process.
    Env(String),
    /// A file (relative paths from `warden.toml`'s directory).
    File(PathBuf),
}

/// One model provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// Its name: the URL segment and the server name in manifests.
    pub name: String,
    /// Its API.
    pub kind: ProviderKind,
    /// The upstream the API paths are appended to.
    pub base_url: url::Url,
    /// Its API key's source.
    pub api_key: KeySource,
    /// Where it processes data, as declared (shown in the inventory).
    pub region: Option<String>,
    /// The classes it is cleared to receive.
    pub cleared: Vec<String>,
    /// Where it is declared.
    pub location: Location,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    kind: String,
    base_url: String,
    api_key_env: Option<String>,
    api_key_file: Option<String>,
    region: Option<String>,
    cleared: Option<toml::Spanned<Vec<String>>>,
}

impl RawProvider {
    /// The `cleared` list, for the configuration's class check.
    pub(crate) fn cleared(&self) -> Option<&toml::Spanned<Vec<String>>> {
        self.cleared.as_ref()
    }
}

/// Lowers one `[providers.NAME]`, naming every mistake with its place.
pub(crate) fn lower(
    name: &str,
    raw: RawProvider,
    location: Location,
    diags: &mut Diagnostics,
    base_dir: &std::path::Path,
) -> Option<ProviderConfig> {
    let field = |f: &str| Some(format!("providers.{name}.{f}"));
    let kind = match raw.kind.as_str() {
        "openai" => ProviderKind::OpenAi,
        "anthropic" => ProviderKind::Anthropic,
        other => {
            diags.push(
                location,
                field("kind"),
                format!("unknown provider kind `{other}` (expected openai or anthropic)"),
            );
            return None;
        }
    };
    let base_url = match url::Url::parse(&raw.base_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => u,
        _ => {
            diags.push(
                location,
                field("base_url"),
                format!("`{}` is not an http(s) URL without a query", raw.base_url),
            );
            return None;
        }
    };
    let api_key = match (raw.api_key_env, raw.api_key_file) {
        (Some(env), None) if !env.is_empty() => KeySource::Env(env),
        (None, Some(file)) if !file.is_empty() => KeySource::File(base_dir.join(file)),
        _ => {
            diags.push(
                location,
                field("api_key_env"),
                "a provider needs exactly one of `api_key_env` and `api_key_file`: agents never hold its key",
            );
            return None;
        }
    };
    Some(ProviderConfig {
        name: name.to_owned(),
        kind,
        base_url,
        api_key,
        region: raw.region,
        cleared: raw
            .cleared
            .map(toml::Spanned::into_inner)
            .unwrap_or_default(),
        location,
    })
}
