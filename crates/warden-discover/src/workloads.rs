//! Compose services and Kubernetes workloads as [`Workload`]s.

use serde_json::Value;

use crate::containers::Workload;
use crate::text::{find_from, line_at};

/// Whether a file name is a Compose file.
pub(crate) fn is_compose(name: &str) -> bool {
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    yaml && (name.starts_with("docker-compose") || name.starts_with("compose."))
}

/// Whether YAML text may hold Kubernetes workloads (checked before parsing).
pub(crate) fn may_be_kubernetes(text: &str) -> bool {
    text.contains("kind:") && text.contains("containers:")
}

/// The services of a Compose file; `Err` when it does not parse.
pub(crate) fn compose(text: &str) -> Result<Vec<Workload>, String> {
    let root: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let Some(services) = root.get("services").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let from = find_from(text, 0, "services:").unwrap_or(0);
    Ok(services
        .iter()
        .map(|(name, svc)| {
            let mut command = words(svc.get("entrypoint"));
            command.extend(words(svc.get("command")));
            Workload {
                name: name.clone(),
                label: format!("Compose service `{name}`"),
                image: svc.get("image").and_then(Value::as_str).map(str::to_owned),
                command,
                installs: Vec::new(),
                env: env_map_or_list(svc.get("environment")),
                line: line_at(
                    text,
                    find_from(text, from, &format!("{name}:")).unwrap_or(from),
                ),
            }
        })
        .collect())
}

/// The containers of every Kubernetes workload in a (multi-document) YAML
/// file. Documents that do not parse (Helm templates) are skipped.
pub(crate) fn kubernetes(text: &str) -> Vec<Workload> {
    let mut out = Vec::new();
    let mut offset = 0;
    for doc in split_documents(text) {
        let start = offset;
        offset += doc.len();
        let Ok(root) = serde_yaml_ng::from_str::<Value>(doc) else {
            continue;
        };
        let Some(kind) = root.get("kind").and_then(Value::as_str) else {
            continue;
        };
        let spec = match kind {
            "Pod" => root.get("spec"),
            "CronJob" => root.pointer("/spec/jobTemplate/spec/template/spec"),
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "Job"
            | "ReplicationController" => root.pointer("/spec/template/spec"),
            _ => None,
        };
        let Some(spec) = spec else { continue };
        let workload = root
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("unnamed");
        for key in ["initContainers", "containers"] {
            for c in spec
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("unnamed");
                let image = c.get("image").and_then(Value::as_str).map(str::to_owned);
                let mut command = words(c.get("command"));
                command.extend(words(c.get("args")));
                let anchor = image
                    .as_deref()
                    .map_or_else(|| format!("name: {name}"), |i| format!("image: {i}"));
                let at = find_from(text, start, &anchor)
                    .or_else(|| find_from(text, start, &format!("name: {name}")))
                    .unwrap_or(start);
                out.push(Workload {
                    name: format!("{}/{workload}/{name}", kind.to_ascii_lowercase()),
                    label: format!("Kubernetes {kind} `{workload}`, container `{name}`,"),
                    image,
                    command,
                    installs: Vec::new(),
                    env: kubernetes_env(c.get("env")),
                    line: line_at(text, at),
                });
            }
        }
    }
    out
}

/// Documents separated by `---` lines, each with its trailing newline.
fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(text.get(start..offset).unwrap_or_default());
            start = offset;
        }
        offset += line.len();
    }
    docs.push(text.get(start..).unwrap_or_default());
    docs
}

/// `env: [{name, value} | {name, valueFrom}]`; a `valueFrom` is a reference.
fn kubernetes_env(env: Option<&Value>) -> Vec<(String, String)> {
    env.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.get("name")?.as_str()?.to_owned();
            let value = match (e.get("value"), e.get("valueFrom")) {
                (Some(v), _) => scalar(v),
                (None, Some(from)) => {
                    let secret = from
                        .get("secretKeyRef")
                        .or_else(|| from.get("configMapKeyRef"));
                    let source = secret
                        .and_then(|s| {
                            Some(format!(
                                "{}/{}",
                                s.get("name")?.as_str()?,
                                s.get("key")?.as_str()?
                            ))
                        })
                        .unwrap_or_default();
                    format!("${{valueFrom:{source}}}")
                }
                (None, None) => String::new(),
            };
            Some((name, value))
        })
        .collect()
}

/// Compose `environment`: a map, or a list of `NAME=value`.
fn env_map_or_list(env: Option<&Value>) -> Vec<(String, String)> {
    match env {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                // `- NAME` passes the host's value through: a reference.
                None => (item.to_owned(), format!("${{{item}}}")),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A command as a list, or a string split on whitespace.
fn words(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(list)) => list.iter().map(scalar).collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_workloads() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: agent\nspec:\n  template:\n    spec:\n      containers:\n        - name: github\n          image: ghcr.io/github/github-mcp-server:1.0\n          env:\n            - name: OPENAI_API_KEY\n              valueFrom:\n                secretKeyRef: {name: llm, key: openai}\n";
        assert!(may_be_kubernetes(text));
        let w = kubernetes(text);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].name, "deployment/agent/github");
        assert_eq!(w[0].line, 14);
        assert_eq!(w[0].env[0].1, "${valueFrom:llm/openai}");
    }

    #[test]
    fn compose_services() {
        let text = "services:\n  agent:\n    image: my/crewai-agent\n    environment:\n      - ANTHROPIC_API_KEY\n      - MODE=x\n";
        let w = compose(text).unwrap();
        assert_eq!(w[0].name, "agent");
        assert_eq!(w[0].line, 2);
        assert_eq!(w[0].env[0].1, "${ANTHROPIC_API_KEY}");
    }
}
