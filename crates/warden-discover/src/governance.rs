//! Whether an MCP server entry goes through Warden, and as which agent.
//!
//! A stdio entry is governed when it launches `warden … mcp wrap …` (the
//! command, or a word of a shell command line); its agent is `--agent NAME`
//! when given, else the `sub` of the JWT-SVID in its `--token-file` (read
//! when the file is at hand, never shown). A URL entry is governed when the
//! URL is a Warden gateway's `/mcp/<server>` endpoint; its agent is the `sub`
//! of a literal bearer JWT in its headers, when there is one.

use std::path::Path;

use base64::Engine as _;
use warden_address::{Host, Url};

/// Where Warden gateways listen: URL entries under these are governed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateways {
    gateways: Vec<Gateway>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Gateway {
    host: Host,
    port: Option<u16>,
    path: String,
}

impl Default for Gateways {
    /// Warden's default data plane: `localhost`, `127.0.0.1` and `[::1]`
    /// on port 7700.
    fn default() -> Gateways {
        Gateways {
            gateways: ["localhost", "127.0.0.1", "[::1]"]
                .into_iter()
                .filter_map(|host| Host::parse(host).ok())
                .map(|host| Gateway {
                    host,
                    port: Some(7700),
                    path: String::new(),
                })
                .collect(),
        }
    }
}

impl Gateways {
    /// The gateways at these base URLs (`https://warden.example.com`,
    /// `http://10.0.0.5:7700/prefix`) instead of the default.
    pub fn from_urls<S: AsRef<str>>(urls: &[S]) -> Result<Gateways, crate::DiscoverError> {
        let gateways = urls
            .iter()
            .map(|u| {
                let text = u.as_ref();
                let parsed = Url::parse(text).map_err(|e| crate::DiscoverError::Gateway {
                    url: text.to_owned(),
                    reason: e.to_string(),
                })?;
                if !parsed.had_scheme() {
                    return Err(crate::DiscoverError::Gateway {
                        url: text.to_owned(),
                        reason: "give the scheme: `http://…` or `https://…`".to_owned(),
                    });
                }
                Ok(Gateway {
                    host: parsed.host().clone(),
                    port: parsed.port_or_default(),
                    path: parsed.path().trim_end_matches('/').to_owned(),
                })
            })
            .collect::<Result<_, crate::DiscoverError>>()?;
        Ok(Gateways { gateways })
    }

    /// Whether `url` is a Warden `/mcp/<server>` endpoint of one of these
    /// gateways. URLs are read by `warden-address`, as the gateway reads
    /// them: one that parsers could read two ways is not governed.
    pub(crate) fn governs_url(&self, url: &str) -> bool {
        let Ok(parsed) = Url::parse(url) else {
            return false;
        };
        if !parsed.had_scheme() {
            return false;
        }
        let port = parsed.port_or_default();
        self.gateways.iter().any(|g| {
            g.host == *parsed.host()
                && g.port == port
                && parsed
                    .path()
                    .strip_prefix(g.path.as_str())
                    .and_then(|rest| rest.strip_prefix("/mcp/"))
                    .is_some_and(|server| !server.trim_matches('/').is_empty())
        })
    }
}

/// The verdict on one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) governed: bool,
    pub(crate) agent: Option<String>,
    /// How: `warden mcp wrap`, or the gateway URL.
    pub(crate) via: Option<String>,
}

/// A stdio entry: `command` with `args`; `base` is the directory relative
/// token file paths are tried against.
pub(crate) fn stdio(command: &str, args: &[String], base: &Path, gateways: &Gateways) -> Verdict {
    // Words of the command line, and of any `sh -c "…"` string in it.
    let mut words: Vec<String> = vec![command.to_owned()];
    for arg in args {
        if arg.contains(' ') {
            words.extend(
                arg.split_whitespace()
                    .map(|w| w.trim_matches(['"', '\'']).to_owned()),
            );
        } else {
            words.push(arg.clone());
        }
    }
    let warden_at = words.iter().position(|w| is_warden_binary(w));
    let wraps = warden_at.is_some_and(|at| {
        let rest = words.get(at + 1..).unwrap_or_default();
        rest.iter()
            .position(|w| w == "mcp")
            .is_some_and(|m| rest.get(m + 1).is_some_and(|w| w == "wrap"))
    });
    if wraps {
        let agent = option_value(&words, "--agent").or_else(|| {
            option_value(&words, "--token-file").and_then(|file| agent_from_token_file(&file, base))
        });
        return Verdict {
            governed: true,
            agent,
            via: Some("warden mcp wrap".to_owned()),
        };
    }
    // A stdio bridge (`npx mcp-remote URL`) to a Warden endpoint.
    if let Some(url) = words.iter().find(|w| gateways.governs_url(w)) {
        return Verdict {
            governed: true,
            agent: None,
            via: Some(crate::redact::url(url)),
        };
    }
    Verdict::default()
}

/// A URL entry with its headers.
pub(crate) fn remote(url: &str, headers: &[(String, String)], gateways: &Gateways) -> Verdict {
    if !gateways.governs_url(url) {
        return Verdict::default();
    }
    let agent = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .find_map(|(_, value)| agent_from_jwt(value.trim().strip_prefix("Bearer ")?));
    Verdict {
        governed: true,
        agent,
        via: Some(crate::redact::url(url)),
    }
}

fn is_warden_binary(word: &str) -> bool {
    let name = word.rsplit(['/', '\\']).next().unwrap_or(word);
    name == "warden" || name == "warden.exe"
}

/// The value of `--name VALUE` or `--name=VALUE`.
fn option_value(words: &[String], name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    words.iter().enumerate().find_map(|(i, w)| {
        if w == name {
            words.get(i + 1).cloned()
        } else {
            w.strip_prefix(&prefix).map(str::to_owned)
        }
    })
}

/// The agent of the JWT-SVID in a token file (at most 16 KiB).
fn agent_from_token_file(file: &str, base: &Path) -> Option<String> {
    let path = Path::new(file);
    let path = if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    };
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > 16 * 1024 {
        return None;
    }
    agent_from_jwt(std::fs::read_to_string(&path).ok()?.trim())
}

/// The agent name in a JWT-SVID's `sub`
/// (`spiffe://<trust-domain>/agent/<name>/<instance>`); the signature is
/// not checked: this names, it does not authenticate.
pub(crate) fn agent_from_jwt(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let sub = claims.get("sub")?.as_str()?;
    let path = sub.strip_prefix("spiffe://")?.split_once('/')?.1;
    let mut parts = path.split('/');
    (parts.next()? == "agent").then_some(())?;
    parts.next().filter(|n| !n.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn jwt(sub: &str) -> String {
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.sig",
            b64(serde_json::json!({"alg": "ES256"})),
            b64(serde_json::json!({"sub": sub}))
        )
    }

    #[test]
    fn wrap_is_governed() {
        let g = Gateways::default();
        let base = Path::new("/nonexistent");
        let v = stdio(
            "/usr/local/bin/warden",
            &words("--config w.toml mcp wrap --server fs --agent research-bot --token-file r.jwt"),
            base,
            &g,
        );
        assert!(v.governed);
        assert_eq!(v.agent.as_deref(), Some("research-bot"));
        let v = stdio(
            "warden",
            &words("mcp wrap --server fs --token-file r.jwt"),
            base,
            &g,
        );
        assert!(v.governed && v.agent.is_none());
        let v = stdio(
            "sh",
            &["-c".into(), "exec warden mcp wrap --server fs".into()],
            base,
            &g,
        );
        assert!(v.governed);
        assert!(
            !stdio(
                "npx",
                &words("-y @modelcontextprotocol/server-filesystem /tmp"),
                base,
                &g
            )
            .governed
        );
        assert!(!stdio("warden", &words("serve"), base, &g).governed);
        assert!(
            stdio(
                "npx",
                &words("mcp-remote http://127.0.0.1:7700/mcp/files"),
                base,
                &g
            )
            .governed
        );
    }

    #[test]
    fn token_file_names_the_agent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bot.jwt"),
            jwt("spiffe://example.org/agent/support-bot/laptop-1"),
        )
        .unwrap();
        let v = stdio(
            "warden",
            &words("mcp wrap --server fs --token-file bot.jwt"),
            dir.path(),
            &Gateways::default(),
        );
        assert_eq!(v.agent.as_deref(), Some("support-bot"));
    }

    #[test]
    fn urls() {
        let g = Gateways::default();
        assert!(g.governs_url("http://localhost:7700/mcp/filesystem"));
        assert!(!g.governs_url("http://localhost:7700/mcp/"));
        assert!(!g.governs_url("http://localhost:8080/mcp/filesystem"));
        assert!(!g.governs_url("https://api.githubcopilot.com/mcp/"));
        let corp = Gateways::from_urls(&["https://warden.corp.example/gw"]).unwrap();
        assert!(corp.governs_url("https://warden.corp.example/gw/mcp/crm"));
        assert!(!corp.governs_url("https://warden.corp.example/mcp/crm"));
        assert!(!corp.governs_url("http://localhost:7700/mcp/filesystem"));
        let headers = vec![(
            "Authorization".to_owned(),
            format!("Bearer {}", jwt("spiffe://td/agent/crm-bot/i")),
        )];
        let v = remote("http://127.0.0.1:7700/mcp/crm", &headers, &g);
        assert_eq!(v.agent.as_deref(), Some("crm-bot"));
        assert!(Gateways::from_urls(&["not a url"]).is_err());
        assert!(Gateways::from_urls(&["warden.corp.example"]).is_err());
        assert!(g.governs_url("http://LOCALHOST:7700/mcp/files"));
        assert!(g.governs_url("http://[::1]:7700/mcp/files"));
        assert!(!g.governs_url("localhost:7700/mcp/files"));
        assert!(!g.governs_url(r"http://localhost:7700\@evil.example:7700/mcp/x"));
    }
}
