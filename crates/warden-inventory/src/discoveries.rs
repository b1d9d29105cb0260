//! A `warden discover` report, pushed to a running Warden
//! (`POST /v1/inventory/discoveries`), becomes sightings with the origin
//! `discover`: one per finding, keyed by the host it ran on and the
//! finding's id, so that pushing the same scan again only counts it again.
//!
//! The report is read strictly: unknown top-level fields are refused, each
//! finding must have a `kind`, a `name` and a `path`; strings are cut to a
//! bounded length and at most [`MAX_FINDINGS`] findings are taken per push.

use serde::Deserialize;
use serde_json::{Value, json};
use warden_store::SightingRecord;

use crate::InventoryError;
use crate::claims::bounded;
use crate::sightings::sighting_id;

/// Findings taken from one report.
pub const MAX_FINDINGS: usize = 10_000;

/// The kinds of finding taken.
pub const KINDS: &[&str] = &["mcp_server", "agent_framework", "provider_key", "container"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    #[expect(dead_code, reason = "accepted and ignored: the scan's own figures")]
    scanned: Option<Value>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted and ignored: files the scan could not read"
    )]
    problems: Option<Value>,
    findings: Vec<Value>,
}

/// The sightings a report's findings make, seen at `now_ms`; `peer` is the
/// address it came from (used when the report names no host).
pub fn parse(body: &[u8], peer: &str, now_ms: i64) -> Result<Vec<SightingRecord>, InventoryError> {
    let report: Report = serde_json::from_slice(body).map_err(|e| {
        InventoryError::BadReport(format!("not a `warden discover` JSON report: {e}"))
    })?;
    if let Some(v) = report.version.filter(|v| *v != 1) {
        return Err(InventoryError::BadReport(format!(
            "report version {v} is not supported (expected 1)"
        )));
    }
    if report.findings.len() > MAX_FINDINGS {
        return Err(InventoryError::BadReport(format!(
            "{} findings is over the limit of {MAX_FINDINGS} per report",
            report.findings.len()
        )));
    }
    let host = report
        .host
        .as_deref()
        .map(|h| bounded(h, 255))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| peer.to_owned());
    report
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| finding(i, f, &host, now_ms))
        .collect()
}

fn finding(i: usize, f: &Value, host: &str, now_ms: i64) -> Result<SightingRecord, InventoryError> {
    let text = |field: &str, max: usize| -> Option<String> {
        f.get(field)
            .and_then(Value::as_str)
            .map(|s| bounded(s, max))
    };
    let required = |field: &str, max: usize| {
        text(field, max).filter(|s| !s.is_empty()).ok_or_else(|| {
            InventoryError::BadReport(format!(
                "findings[{i}]: field `{field}` is missing or not a string"
            ))
        })
    };
    let kind = required("kind", 64)?;
    if !KINDS.contains(&kind.as_str()) {
        return Err(InventoryError::BadReport(format!(
            "findings[{i}].kind: `{kind}` is not one of {}",
            KINDS.join(", ")
        )));
    }
    let name = required("name", 256)?;
    let path = required("path", 1024)?;
    let line = f.get("line").and_then(Value::as_u64).unwrap_or(0);
    let id = text("id", 64).unwrap_or_else(|| format!("{kind}:{path}:{line}:{name}"));
    let secrets: Vec<Value> = f
        .get("secrets")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .take(32)
                .map(|s| {
                    let field = |k: &str| s.get(k).and_then(Value::as_str).map(|v| bounded(v, 128));
                    json!({"name": field("name"), "provider": field("provider"), "fingerprint": field("fingerprint")})
                })
                .collect()
        })
        .unwrap_or_default();
    let detail = json!({
        "what": text("what", 512),
        "path": path,
        "line": line,
        "evidence": text("evidence", 512),
        "transport": text("transport", 16),
        "governed": f.get("governed").and_then(Value::as_bool).unwrap_or(false),
        "covered": f.get("covered").and_then(Value::as_bool).unwrap_or(false),
        "agent": text("agent", 128),
        "secrets": secrets,
    });
    Ok(SightingRecord {
        id: sighting_id(&["discover", host, &id]),
        origin: "discover".to_owned(),
        kind,
        claimed: name,
        source: host.to_owned(),
        user_agent: String::new(),
        client: text("client", 128).unwrap_or_default(),
        detail: detail.to_string(),
        tools: "[]".to_owned(),
        count: 1,
        first_seen: now_ms,
        last_seen: now_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_become_sightings_and_bad_reports_are_named() {
        let body = br#"{"version":1,"host":"dev-7","findings":[
            {"id":"abc","kind":"mcp_server","name":"filesystem","what":"MCP server","path":"/home/a/.cursor/mcp.json","line":4,
             "evidence":"npx -y @modelcontextprotocol/server-filesystem","client":"cursor","governed":false,
             "secrets":[{"name":"GITHUB_TOKEN","provider":"github","fingerprint":"sha256:0123456789ab"}]}]}"#;
        let s = parse(body, "127.0.0.1", 9).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(
            (
                s[0].kind.as_str(),
                s[0].claimed.as_str(),
                s[0].source.as_str()
            ),
            ("mcp_server", "filesystem", "dev-7")
        );
        assert!(s[0].detail.contains("GITHUB_TOKEN") && s[0].detail.contains("\"line\":4"));
        // The same finding pushed again has the same id.
        assert_eq!(parse(body, "127.0.0.1", 10).unwrap()[0].id, s[0].id);

        let missing = parse(
            br#"{"findings":[{"kind":"mcp_server","path":"x"}]}"#,
            "h",
            1,
        )
        .unwrap_err();
        assert!(
            missing.to_string().contains("findings[0]: field `name`"),
            "{missing}"
        );
        let kind = parse(
            br#"{"findings":[{"kind":"virus","name":"n","path":"x"}]}"#,
            "h",
            1,
        )
        .unwrap_err();
        assert!(
            kind.to_string().contains("findings[0].kind: `virus`"),
            "{kind}"
        );
        let extra = parse(br#"{"findings":[],"surprise":1}"#, "h", 1).unwrap_err();
        assert!(extra.to_string().contains("surprise"), "{extra}");
    }
}
