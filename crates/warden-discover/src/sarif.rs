//! The report as SARIF 2.1.0, for code-scanning tools: one run, one rule
//! per finding kind, locations relative to each scan root (`ROOT0`, …).

use std::path::Path;

use serde_json::{Value, json};

use crate::finding::{Finding, Kind, ValueKind};
use crate::report::Report;

/// The schema the output conforms to.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn rule(kind: Kind) -> Value {
    let (short, full, level) = match kind {
        Kind::McpServer => (
            "MCP server configured in an MCP client",
            "An MCP client on this host or in this repository is configured to start or reach this MCP server. Unless it goes through `warden mcp wrap` or a Warden `/mcp/` URL, its tool calls bypass Warden's policies and audit log.",
            "warning",
        ),
        Kind::AgentFramework => (
            "Agent framework or LLM SDK dependency",
            "The project depends on an agent framework, MCP SDK or LLM SDK: an agent may run from this code. Register it with Warden and route its tools through the gateway.",
            "note",
        ),
        Kind::ProviderKey => (
            "LLM provider key",
            "An LLM provider key is written in (or referenced by) an env file, shell profile or CI configuration. A written key lets any process call the provider directly, outside Warden.",
            "warning",
        ),
        Kind::Container => (
            "Container running agent tooling",
            "A container runs an MCP server or an agent framework, or carries provider keys, without going through Warden.",
            "warning",
        ),
    };
    json!({
        "id": kind.as_str(),
        "name": kind.as_str(),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["security", "ai-agents", "warden"]},
    })
}

fn level(f: &Finding) -> &'static str {
    match f.kind {
        Kind::McpServer | Kind::Container if !f.governed => "warning",
        Kind::ProviderKey if f.value == Some(ValueKind::Literal) => "warning",
        _ if f.has_live_secret() => "warning",
        _ => "note",
    }
}

/// Percent-encodes a relative path for a URI reference (RFC 3986), keeping `/`.
fn uri_path(relative: &str) -> String {
    let mut out = String::with_capacity(relative.len());
    for b in relative.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The base URI of a root: the directory itself, or a file's directory.
fn base_uri(root: &str) -> String {
    let path = Path::new(root);
    let dir = if path.is_file() {
        path.parent().unwrap_or(path)
    } else {
        path
    };
    url::Url::from_directory_path(dir)
        .map_or_else(|()| format!("file://{root}/"), |u| u.to_string())
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let mut properties = json!({
        "kind": f.kind.as_str(),
        "evidence": f.evidence,
        "governed": f.governed,
        "covered": f.covered,
        "agent": f.agent,
        "secrets": f.secrets,
    });
    for (key, value) in [
        ("client", f.client.clone()),
        ("transport", f.transport.map(|t| t.as_str().to_owned())),
        ("framework", f.framework.clone()),
        ("ecosystem", f.ecosystem.clone()),
        ("provider", f.provider.clone()),
    ] {
        if let (Some(v), Some(map)) = (value, properties.as_object_mut()) {
            map.insert(key.to_owned(), Value::String(v));
        }
    }
    json!({
        "ruleId": f.kind.as_str(),
        "ruleIndex": rule_index,
        "level": level(f),
        "message": {"text": f.what},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri_path(&f.relative), "uriBaseId": format!("ROOT{}", f.root)},
                "region": {"startLine": f.line.max(1)},
            },
        }],
        "partialFingerprints": {"wardenFindingId/v1": f.id},
        "properties": properties,
    })
}

/// The report as a SARIF 2.1.0 log.
pub fn to_sarif(report: &Report) -> Value {
    let rules: Vec<Value> = Kind::ALL.iter().map(|k| rule(*k)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, Kind::ALL.iter().position(|k| *k == f.kind).unwrap_or(0)))
        .collect();
    let bases: serde_json::Map<String, Value> = report
        .scanned
        .roots
        .iter()
        .enumerate()
        .map(|(i, root)| (format!("ROOT{i}"), json!({"uri": base_uri(root)})))
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "warden discover",
                "informationUri": "https://github.com/warden-dev/warden",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": bases,
            "invocations": [{"executionSuccessful": true}],
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(uri_path("a b/c#d.json"), "a%20b/c%23d.json");
        assert!(base_uri("/tmp").starts_with("file:///tmp"));
        assert!(base_uri("/tmp").ends_with('/'));
    }
}
