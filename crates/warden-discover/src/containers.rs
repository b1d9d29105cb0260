//! Containers that run MCP servers or agents, or carry provider keys:
//! Dockerfiles here, Compose services and Kubernetes workloads in
//! [`crate::workloads`]. All become a [`Workload`] judged the same way.

use std::path::Path;

use crate::finding::{Finding, Kind, Place, ValueKind};
use crate::frameworks::{Ecosystem, framework};
use crate::governance;
use crate::redact;
use crate::scan::Context;
use crate::secrets::secret_ref;
use crate::text::unquote;

/// A container as declared, in one shape.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workload {
    /// `deployment/support-agent/agent`, a Compose service, a Dockerfile's directory.
    pub(crate) name: String,
    /// `Kubernetes Deployment `x`, container `y``, for the sentence.
    pub(crate) label: String,
    pub(crate) image: Option<String>,
    /// The command and its arguments.
    pub(crate) command: Vec<String>,
    /// Words of install steps (`RUN pip install …`).
    pub(crate) installs: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) line: usize,
}

/// Words that mark an agent framework in an image name or a command line.
const AGENT_WORDS: &[(&str, &str)] = &[
    ("langchain", "LangChain"),
    ("langgraph", "LangGraph"),
    ("crewai", "CrewAI"),
    ("autogen", "AutoGen/AG2"),
    ("llamaindex", "LlamaIndex"),
    ("llama-index", "LlamaIndex"),
    ("smolagents", "smolagents"),
    ("pydantic-ai", "Pydantic AI"),
    ("letta", "Letta"),
];

/// What a workload runs that matters here.
fn signals(w: &Workload) -> Vec<String> {
    let mut out = Vec::new();
    let words: Vec<&String> = w
        .image
        .iter()
        .chain(&w.command)
        .chain(&w.installs)
        .collect();
    let parts = |word: &str| -> Vec<String> {
        word.to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .map(str::to_owned)
            .collect()
    };
    if words.iter().any(|word| {
        parts(word)
            .iter()
            .any(|p| p == "mcp" || p == "modelcontextprotocol" || p == "fastmcp")
    }) {
        out.push("runs an MCP server".to_owned());
    }
    let mut frameworks: Vec<&str> = w
        .installs
        .iter()
        .filter_map(|p| framework(Ecosystem::PyPi, p).or_else(|| framework(Ecosystem::Npm, p)))
        .collect();
    for word in &words {
        let lower = word.to_ascii_lowercase();
        if let Some((_, label)) = AGENT_WORDS.iter().find(|(w, _)| lower.contains(w)) {
            frameworks.push(label);
        }
    }
    frameworks.sort_unstable();
    frameworks.dedup();
    if !frameworks.is_empty() {
        out.push(format!("uses {}", frameworks.join(", ")));
    }
    out
}

/// The finding for a workload, or `None` when it shows no agent tooling.
pub(crate) fn judge(w: &Workload, place: &Place, dir: &Path, cx: &Context<'_>) -> Option<Finding> {
    let mut what = signals(w);
    let secrets: Vec<_> = w
        .env
        .iter()
        .filter_map(|(k, v)| secret_ref(k, v))
        .filter(|s| s.provider != "unknown")
        .collect();
    if !secrets.is_empty() {
        let live = secrets
            .iter()
            .filter(|s| s.value == ValueKind::Literal)
            .count();
        what.push(format!(
            "has {} provider key{} in its environment ({live} written in the file)",
            secrets.len(),
            if secrets.len() == 1 { "" } else { "s" }
        ));
    }
    if what.is_empty() {
        return None;
    }
    let (command, args) = w
        .command
        .split_first()
        .map_or(("", &[][..]), |(c, a)| (c.as_str(), a));
    let mut verdict = governance::stdio(command, args, dir, cx.gateways);
    if !verdict.governed && w.image.as_deref().is_some_and(is_warden_image) {
        verdict.governed = true;
    }
    let mut f = Finding::new(Kind::Container, &w.name, place, w.line);
    f.governed = verdict.governed;
    f.agent = verdict.agent;
    f.covered = f.governed && f.agent.as_ref().is_some_and(|a| cx.registered.contains(a));
    let tail = if f.governed {
        "runs Warden"
    } else {
        "does not go through Warden"
    };
    f.what = format!("{} {}; {tail}", w.label, what.join("; "));
    let image = w
        .image
        .as_deref()
        .map(|i| format!("image {i}"))
        .unwrap_or_default();
    let cmd = if w.command.is_empty() {
        String::new()
    } else {
        redact::command_line(command, args)
    };
    f.evidence = crate::text::short(
        &[image, cmd]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(": "),
        redact::MAX_EVIDENCE,
    );
    f.secrets = secrets;
    Some(f)
}

fn is_warden_image(image: &str) -> bool {
    let name = image.rsplit('/').next().unwrap_or(image);
    name == "warden" || name.starts_with("warden:") || name.starts_with("warden@")
}

/// Whether a file name is a Dockerfile.
pub(crate) fn is_dockerfile(name: &str) -> bool {
    name == "Dockerfile"
        || name == "Containerfile"
        || name.starts_with("Dockerfile.")
        || name.ends_with(".Dockerfile")
        || name.ends_with(".dockerfile")
}

/// A Dockerfile as one workload (its last stage's image, every stage's
/// installs, `ENV` and the last `CMD`/`ENTRYPOINT`).
pub(crate) fn dockerfile(text: &str, place: &Place) -> Workload {
    let dir = place.relative.rsplit_once('/').map_or(".", |(d, _)| d);
    let mut w = Workload {
        name: dir.rsplit('/').next().unwrap_or(dir).to_owned(),
        label: format!("Dockerfile {}", place.relative),
        line: 1,
        ..Workload::default()
    };
    let mut entrypoint: Vec<String> = Vec::new();
    let mut cmd: Vec<String> = Vec::new();
    // Continuation lines joined, with the line each instruction starts on.
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        joined.push_str(line.trim_end().trim_end_matches('\\'));
        joined.push(' ');
        if line.trim_end().ends_with('\\') {
            pending = Some((start, joined));
        } else {
            logical.push((start, joined));
        }
    }
    logical.extend(pending);
    for (line, instruction) in logical {
        let trimmed = instruction.trim();
        let (op, rest) = trimmed
            .split_once(char::is_whitespace)
            .unwrap_or((trimmed, ""));
        match op.to_ascii_uppercase().as_str() {
            "FROM" => {
                w.image = rest.split_whitespace().next().map(str::to_owned);
                w.line = line;
            }
            "RUN" => w.installs.extend(install_packages(rest)),
            "ENV" => w.env.extend(env_pairs(rest)),
            "CMD" => cmd = exec_words(rest),
            "ENTRYPOINT" => entrypoint = exec_words(rest),
            _ => {}
        }
    }
    w.command = entrypoint.into_iter().chain(cmd).collect();
    w
}

/// Packages named after `pip install`, `uv add`, `npm install`, ….
fn install_packages(run: &str) -> Vec<String> {
    let words: Vec<&str> = run.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, pair) in words.windows(2).enumerate() {
        if let [tool, verb] = pair {
            let installs = matches!(*verb, "install" | "add" | "i") && !tool.starts_with('-');
            if !installs {
                continue;
            }
            for word in words.iter().skip(i + 2) {
                if matches!(*word, "&&" | ";" | "||" | "|") {
                    break;
                }
                if !word.starts_with('-') {
                    let name = word.trim_matches(['"', '\'']);
                    let end = name
                        .get(1..)
                        .and_then(|n| n.find(['=', '<', '>', '~', '[', '@']))
                        .map_or(name.len(), |e| e + 1);
                    out.push(name.get(..end).unwrap_or(name).to_owned());
                }
            }
        }
    }
    out
}

/// `ENV A=1 B="2"` or `ENV A 1`.
fn env_pairs(rest: &str) -> Vec<(String, String)> {
    let rest = rest.trim();
    if let Some((name, value)) = rest
        .split_once(char::is_whitespace)
        .filter(|(n, _)| !n.contains('='))
    {
        return vec![(name.to_owned(), unquote(value).to_owned())];
    }
    rest.split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), unquote(v).to_owned()))
        .collect()
}

/// `["a", "b"]` (exec form) or `a b` (shell form).
fn exec_words(rest: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(rest.trim())
        .unwrap_or_else(|_| rest.split_whitespace().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_workload() {
        let text = "FROM python:3.12-slim AS base\nRUN pip install --no-cache-dir \\\n    langgraph==0.2 mcp && rm -rf /x\nENV OPENAI_API_KEY=${OPENAI_API_KEY} MODE=prod\nCMD [\"python\", \"-m\", \"agent\"]\n";
        let place = Place {
            root: 0,
            path: "/r/svc/Dockerfile".into(),
            relative: "svc/Dockerfile".into(),
        };
        let w = dockerfile(text, &place);
        assert_eq!(w.image.as_deref(), Some("python:3.12-slim"));
        assert_eq!(w.installs, ["langgraph", "mcp"]);
        assert_eq!(w.env[0].0, "OPENAI_API_KEY");
        assert_eq!(w.command, ["python", "-m", "agent"]);
        assert_eq!(w.name, "svc");
        let s = signals(&w);
        assert_eq!(s, ["runs an MCP server", "uses LangGraph, MCP SDK"]);
    }
}
