//! Reading each client's layout into one shape: [`RawServer`].

use serde_json::{Map, Value};

use crate::clients::{ClientFile, Layout, Syntax};
use crate::text::{find_from, find_json_key, line_at, strip_jsonc};

/// One server entry as a client declares it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RawServer {
    pub(crate) name: String,
    pub(crate) command: Option<String>,
    pub(crate) args: Vec<String>,
    pub(crate) url: Option<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) disabled: bool,
    pub(crate) line: usize,
    /// The project a per-project entry belongs to (`~/.claude.json`).
    pub(crate) scope: Option<String>,
    /// Declared without a command by an editor extension (Zed).
    pub(crate) from_extension: bool,
}

/// The file parsed as a JSON value, and the text offsets refer to.
pub(crate) fn parse(file: ClientFile, text: &str) -> Result<(Value, String), String> {
    match file.syntax {
        Syntax::Json => {
            let stripped = strip_jsonc(text);
            let value = serde_json::from_str(&stripped).map_err(|e| e.to_string())?;
            Ok((value, stripped))
        }
        Syntax::Yaml => {
            let value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
            Ok((value, text.to_owned()))
        }
        Syntax::Toml => {
            let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
            let value = serde_json::to_value(table).map_err(|e| e.to_string())?;
            Ok((value, text.to_owned()))
        }
    }
}

/// The servers a client configuration declares.
pub(crate) fn servers(file: ClientFile, root: &Value, text: &str) -> Vec<RawServer> {
    let lines = Lines {
        text,
        syntax: file.syntax,
    };
    let mut out = Vec::new();
    let at = |path: &[&str]| path.iter().try_fold(root, |v, k| v.get(*k));
    match file.layout {
        Layout::McpServers => {
            for key in ["mcpServers", "servers"] {
                collect(at(&[key]), &lines, lines.key(0, key), None, &mut out);
            }
        }
        Layout::VsCode => collect(
            at(&["servers"]),
            &lines,
            lines.key(0, "servers"),
            None,
            &mut out,
        ),
        Layout::VsCodeSettings => {
            let section = lines.key(0, "mcp").and_then(|m| lines.key(m, "servers"));
            collect(at(&["mcp", "servers"]), &lines, section, None, &mut out);
            collect(
                at(&["mcp.servers"]),
                &lines,
                lines.key(0, "mcp.servers"),
                None,
                &mut out,
            );
        }
        Layout::ClaudeUser => {
            collect(
                at(&["mcpServers"]),
                &lines,
                lines.key(0, "mcpServers"),
                None,
                &mut out,
            );
            if let Some(projects) = at(&["projects"]).and_then(Value::as_object) {
                let from = lines.key(0, "projects").unwrap_or(0);
                for (dir, project) in projects {
                    let section = lines
                        .key(from, dir)
                        .and_then(|p| lines.key(p, "mcpServers"));
                    collect(
                        project.get("mcpServers"),
                        &lines,
                        section,
                        Some(dir),
                        &mut out,
                    );
                }
            }
        }
        Layout::Zed => collect(
            at(&["context_servers"]),
            &lines,
            lines.key(0, "context_servers"),
            None,
            &mut out,
        ),
        Layout::Continue => collect(
            at(&["mcpServers"]),
            &lines,
            lines.key(0, "mcpServers"),
            None,
            &mut out,
        ),
        Layout::ContinueJson => {
            collect(
                at(&["mcpServers"]),
                &lines,
                lines.key(0, "mcpServers"),
                None,
                &mut out,
            );
            let key = "modelContextProtocolServers";
            collect(
                at(&["experimental", key]),
                &lines,
                lines.key(0, key),
                None,
                &mut out,
            );
        }
        Layout::Goose => collect(
            at(&["extensions"]),
            &lines,
            lines.key(0, "extensions"),
            None,
            &mut out,
        ),
        Layout::Codex => collect(at(&["mcp_servers"]), &lines, None, None, &mut out),
        Layout::OpenCode => {
            let section = lines.key(0, "mcp");
            match at(&["mcp", "servers"]) {
                Some(servers) => collect(Some(servers), &lines, section, None, &mut out),
                None => collect(at(&["mcp"]), &lines, section, None, &mut out),
            }
        }
    }
    out
}

/// Finds where keys are, in the file's syntax.
struct Lines<'a> {
    text: &'a str,
    syntax: Syntax,
}

impl Lines<'_> {
    /// The offset of key `key` at or after `from`.
    fn key(&self, from: usize, key: &str) -> Option<usize> {
        match self.syntax {
            Syntax::Json => find_json_key(self.text, from, key),
            Syntax::Yaml => [
                format!("{key}:"),
                format!("\"{key}\":"),
                format!("'{key}':"),
            ]
            .iter()
            .filter_map(|n| find_from(self.text, from, n))
            .min(),
            Syntax::Toml => [
                format!("[mcp_servers.{key}]"),
                format!("[mcp_servers.\"{key}\"]"),
                format!("{key} = {{"),
            ]
            .iter()
            .filter_map(|n| find_from(self.text, from, n))
            .min(),
        }
    }

    /// The line of a server named `name` in a section starting at `section`.
    fn entry(&self, section: Option<usize>, name: &str, listed: bool) -> usize {
        let from = section.unwrap_or(0);
        let found = if listed {
            find_from(self.text, from, name)
        } else {
            self.key(from, name)
        };
        found.or(section).map_or(1, |o| line_at(self.text, o))
    }
}

/// Servers in a map (`{name: entry}`) or a list (`[{name, …}]`).
fn collect(
    section: Option<&Value>,
    lines: &Lines<'_>,
    at: Option<usize>,
    scope: Option<&str>,
    out: &mut Vec<RawServer>,
) {
    let entries: Vec<(String, &Value, bool)> = match section {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v, false)).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| (list_name(v, i), v, true))
            .collect(),
        _ => return,
    };
    for (name, value, listed) in entries {
        let Some(mut server) = entry(&name, value) else {
            continue;
        };
        server.line = lines.entry(at, &name, listed);
        server.scope = scope.map(str::to_owned);
        out.push(server);
    }
}

fn list_name(v: &Value, i: usize) -> String {
    let transport = v.get("transport").unwrap_or(v);
    v.get("name")
        .and_then(Value::as_str)
        .or_else(|| transport.get("command").and_then(Value::as_str))
        .map_or_else(|| format!("server-{}", i + 1), str::to_owned)
}

/// One entry, in any of the layouts; `None` for what is not a server
/// process or URL (Goose's built-in extensions, malformed entries).
fn entry(name: &str, value: &Value) -> Option<RawServer> {
    // Continue's config.json nests the server under `transport`.
    let obj = value.get("transport").unwrap_or(value).as_object()?;
    let kind = str_of(obj, &["type"]).unwrap_or_default();
    if matches!(kind, "builtin" | "platform" | "frontend" | "inline_python") {
        return None;
    }
    let mut server = RawServer {
        name: name.to_owned(),
        ..RawServer::default()
    };
    let command = obj.get("command").or_else(|| obj.get("cmd"));
    match command {
        Some(Value::String(c)) => server.command = Some(c.clone()),
        Some(Value::Array(parts)) => {
            let mut words = parts.iter().map(scalar);
            server.command = words.next();
            server.args.extend(words);
        }
        // Zed's older layout: `"command": {"path", "args", "env"}`.
        Some(Value::Object(inner)) => {
            server.command = str_of(inner, &["path"]).map(str::to_owned);
            server.args.extend(list(inner.get("args")));
            server.env.extend(pairs(inner.get("env")));
        }
        _ => {}
    }
    server.args.extend(list(obj.get("args")));
    server.url =
        str_of(obj, &["url", "serverUrl", "httpUrl", "uri", "endpoint"]).map(str::to_owned);
    for key in ["env", "environment", "envs"] {
        server.env.extend(pairs(obj.get(key)));
    }
    server.headers.extend(pairs(obj.get("headers")));
    server.headers.extend(pairs(obj.get("http_headers")));
    server.headers.extend(pairs(
        obj.get("requestOptions").and_then(|r| r.get("headers")),
    ));
    if let Some(var) = str_of(obj, &["bearer_token_env_var"]) {
        server
            .headers
            .push(("Authorization".to_owned(), format!("Bearer ${{{var}}}")));
    }
    server.disabled = obj.get("disabled").and_then(Value::as_bool) == Some(true)
        || obj.get("enabled").and_then(Value::as_bool) == Some(false);
    if server.command.is_none() && server.url.is_none() {
        // Zed context servers that an extension provides name no command.
        server.from_extension =
            obj.contains_key("settings") || str_of(obj, &["source"]) == Some("extension");
        if !server.from_extension {
            return None;
        }
    }
    Some(server)
}

fn str_of<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(scalar).collect())
        .unwrap_or_default()
}

fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
        .unwrap_or_default()
}
