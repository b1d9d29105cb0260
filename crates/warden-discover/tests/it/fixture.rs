//! Every expected finding, and none from what must be skipped.

use warden_discover::{Finding, Kind, Transport, ValueKind};

use crate::{SECRET_MARKER, fixture_copy, scan_fixture};

fn find<'a>(findings: &'a [Finding], kind: Kind, name: &str, path_end: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.kind == kind && f.name == name && f.relative.ends_with(path_end))
        .unwrap_or_else(|| {
            let all: Vec<String> = findings
                .iter()
                .map(|f| format!("{:?} {} {}", f.kind, f.name, f.relative))
                .collect();
            panic!(
                "no {kind:?} `{name}` in {path_end}; found:\n{}",
                all.join("\n")
            )
        })
}

/// (name, file, client, transport, governed)
const MCP_SERVERS: &[(&str, &str, &str, Transport, bool)] = &[
    (
        "filesystem",
        "Claude/claude_desktop_config.json",
        "claude-desktop",
        Transport::Stdio,
        false,
    ),
    (
        "brave-search",
        "Claude/claude_desktop_config.json",
        "claude-desktop",
        Transport::Stdio,
        false,
    ),
    (
        "shared-files",
        "Claude/claude_desktop_config.json",
        "claude-desktop",
        Transport::Stdio,
        true,
    ),
    (
        "sentry",
        "home/.claude.json",
        "claude-code",
        Transport::Http,
        false,
    ),
    (
        "postgres",
        "home/.claude.json",
        "claude-code",
        Transport::Stdio,
        false,
    ),
    (
        "github",
        "repo/.mcp.json",
        "claude-code",
        Transport::Stdio,
        false,
    ),
    (
        "linear",
        "repo/.cursor/mcp.json",
        "cursor",
        Transport::Stdio,
        false,
    ),
    (
        "crm-through-warden",
        "repo/.cursor/mcp.json",
        "cursor",
        Transport::Stdio,
        true,
    ),
    (
        "perplexity",
        "repo/.vscode/mcp.json",
        "vscode",
        Transport::Stdio,
        false,
    ),
    (
        "fetch",
        "Code/User/settings.json",
        "vscode",
        Transport::Stdio,
        false,
    ),
    (
        "crm",
        "windsurf/mcp_config.json",
        "windsurf",
        Transport::Http,
        true,
    ),
    (
        "zed-git",
        "zed/settings.json",
        "zed",
        Transport::Stdio,
        false,
    ),
    (
        "mcp-server-postgres",
        "zed/settings.json",
        "zed",
        Transport::Stdio,
        false,
    ),
    (
        "SQLite",
        "home/.continue/config.yaml",
        "continue",
        Transport::Stdio,
        false,
    ),
    (
        "Browser search",
        "mcpServers/playwright.yaml",
        "continue",
        Transport::Stdio,
        false,
    ),
    (
        "puppeteer",
        "cline_mcp_settings.json",
        "cline",
        Transport::Stdio,
        false,
    ),
    (
        "tavily",
        "goose/config.yaml",
        "goose",
        Transport::Stdio,
        false,
    ),
    (
        "context7",
        ".codex/config.toml",
        "codex",
        Transport::Stdio,
        false,
    ),
    ("docs", ".codex/config.toml", "codex", Transport::Http, true),
    (
        "github",
        ".gemini/settings.json",
        "gemini-cli",
        Transport::Http,
        false,
    ),
    (
        "aws-docs",
        "amazonq/mcp.json",
        "amazon-q",
        Transport::Stdio,
        false,
    ),
    (
        "everything",
        "repo/opencode.json",
        "opencode",
        Transport::Stdio,
        false,
    ),
];

#[test]
fn every_mcp_server_with_its_client_and_verdict() {
    let (_dir, root) = fixture_copy();
    let report = scan_fixture(&root);
    let mcp: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.kind == Kind::McpServer)
        .collect();
    for (name, file, client, transport, governed) in MCP_SERVERS {
        let f = find(&report.findings, Kind::McpServer, name, file);
        assert_eq!(f.client.as_deref(), Some(*client), "{name}");
        assert_eq!(f.transport, Some(*transport), "{name}");
        assert_eq!(f.governed, *governed, "{name}: {}", f.what);
        assert!(f.line > 1, "{name} at line {}", f.line);
    }
    assert_eq!(
        mcp.len(),
        MCP_SERVERS.len(),
        "unexpected MCP servers: {mcp:#?}"
    );
    let clients: std::collections::BTreeSet<_> =
        mcp.iter().filter_map(|f| f.client.clone()).collect();
    assert!(clients.len() >= 8, "{clients:?}");

    // Governed and covered: the registered agent named by `--agent`.
    let wrapped = find(
        &report.findings,
        Kind::McpServer,
        "shared-files",
        "claude_desktop_config.json",
    );
    assert_eq!(
        (wrapped.agent.as_deref(), wrapped.covered),
        (Some("research-bot"), true)
    );
    // Governed as an agent read from the bearer JWT, which is not registered.
    let crm = find(&report.findings, Kind::McpServer, "crm", "mcp_config.json");
    assert_eq!(
        (crm.agent.as_deref(), crm.covered),
        (Some("crm-bot"), false)
    );
    let bypass = find(
        &report.findings,
        Kind::McpServer,
        "filesystem",
        "claude_desktop_config.json",
    );
    assert!(bypass.what.contains("bypasses Warden"), "{}", bypass.what);
    assert_eq!(bypass.line, 3);
    assert!(
        bypass
            .evidence
            .starts_with("npx -y @modelcontextprotocol/server-filesystem")
    );
    // Secrets in env: literal with a fingerprint, references without.
    let brave = find(
        &report.findings,
        Kind::McpServer,
        "brave-search",
        "claude_desktop_config.json",
    );
    assert_eq!(brave.secrets[0].name, "BRAVE_API_KEY");
    assert!(
        brave.secrets[0]
            .fingerprint
            .as_deref()
            .is_some_and(|f| f.starts_with("sha256:"))
    );
    let github = find(
        &report.findings,
        Kind::McpServer,
        "github",
        "repo/.mcp.json",
    );
    assert_eq!(github.secrets[0].value, ValueKind::Reference);
    let perplexity = find(
        &report.findings,
        Kind::McpServer,
        "perplexity",
        ".vscode/mcp.json",
    );
    assert_eq!(
        (
            perplexity.secrets[0].provider.as_str(),
            perplexity.secrets[0].value
        ),
        ("perplexity", ValueKind::Reference)
    );
    assert!(
        find(
            &report.findings,
            Kind::McpServer,
            "puppeteer",
            "cline_mcp_settings.json"
        )
        .disabled
    );
    assert_eq!(
        find(
            &report.findings,
            Kind::McpServer,
            "postgres",
            ".claude.json"
        )
        .evidence,
        "npx -y @modelcontextprotocol/server-postgres postgresql://localhost/app"
    );
}

#[test]
fn frameworks_in_four_and_more_ecosystems() {
    let (_dir, root) = fixture_copy();
    let report = scan_fixture(&root);
    for (name, file, ecosystem) in [
        ("langgraph", "repo/pyproject.toml", "pypi"),
        ("mcp", "repo/pyproject.toml", "pypi"),
        ("anthropic", "repo/pyproject.toml", "pypi"),
        ("crewai", "repo/requirements.txt", "pypi"),
        ("llama-index-core", "repo/requirements.txt", "pypi"),
        ("langchain-core", "repo/uv.lock", "pypi"),
        ("@modelcontextprotocol/sdk", "web/package.json", "npm"),
        ("@openai/agents", "web/package.json", "npm"),
        ("openai", "web/package.json", "npm"),
        ("@anthropic-ai/sdk", "web/package-lock.json", "npm"),
        ("rmcp", "rust-tool/Cargo.toml", "crates.io"),
        ("async-openai", "rust-tool/Cargo.toml", "crates.io"),
        ("github.com/mark3labs/mcp-go", "go-svc/go.mod", "go"),
        (
            "dev.langchain4j:langchain4j-open-ai",
            "java-svc/pom.xml",
            "maven",
        ),
        (
            "Microsoft.SemanticKernel",
            "dotnet-svc/Agent.csproj",
            "nuget",
        ),
    ] {
        let f = find(&report.findings, Kind::AgentFramework, name, file);
        assert_eq!(f.ecosystem.as_deref(), Some(ecosystem), "{name}");
        assert!(!f.governed && !f.covered);
    }
    // A package declared in the manifest is not reported again from the lock file.
    let locked: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.relative.ends_with("uv.lock") || f.relative.ends_with("package-lock.json"))
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(locked, ["langchain-core", "@anthropic-ai/sdk"]);
}

#[test]
fn provider_keys_and_containers() {
    let (_dir, root) = fixture_copy();
    let report = scan_fixture(&root);
    for (name, file, provider, value) in [
        (
            "ANTHROPIC_API_KEY",
            "repo/.env",
            "anthropic",
            ValueKind::Literal,
        ),
        ("OPENAI_API_KEY", "repo/.env", "openai", ValueKind::Literal),
        ("GOOGLE_API_KEY", "repo/.env", "google", ValueKind::Literal),
        ("GROQ_API_KEY", "repo/.env", "groq", ValueKind::Reference),
        (
            "MISTRAL_API_KEY",
            "repo/.env",
            "mistral",
            ValueKind::Placeholder,
        ),
        (
            "OPENAI_API_KEY",
            "home/.zshrc",
            "openai",
            ValueKind::Literal,
        ),
        (
            "ANTHROPIC_API_KEY",
            "home/.zshrc",
            "anthropic",
            ValueKind::Reference,
        ),
        (
            "OPENAI_API_KEY",
            "workflows/agent.yml",
            "openai",
            ValueKind::Reference,
        ),
    ] {
        let f = find(&report.findings, Kind::ProviderKey, name, file);
        assert_eq!(
            (f.provider.as_deref(), f.value),
            (Some(provider), Some(value)),
            "{name} in {file}"
        );
        assert_eq!(
            f.secrets[0].fingerprint.is_some(),
            value == ValueKind::Literal
        );
    }
    let keys = report
        .findings
        .iter()
        .filter(|f| f.kind == Kind::ProviderKey)
        .count();
    assert_eq!(keys, 8, "OPENAI_BASE_URL and PORT are not keys");

    let agent = find(
        &report.findings,
        Kind::Container,
        "deployment/support-agent/agent",
        "deploy/k8s.yaml",
    );
    assert_eq!(agent.secrets.len(), 2);
    assert_eq!(agent.line, 22);
    assert!(agent.has_live_secret() && !agent.governed);
    let mcp = find(
        &report.findings,
        Kind::Container,
        "deployment/support-agent/github-mcp",
        "deploy/k8s.yaml",
    );
    assert!(mcp.what.contains("runs an MCP server"), "{}", mcp.what);
    find(&report.findings, Kind::Container, "repo", "repo/Dockerfile");
    find(
        &report.findings,
        Kind::Container,
        "crew",
        "docker-compose.yml",
    );
    let containers: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Container)
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        containers.len(),
        4,
        "nginx and postgres are not agents: {containers:?}"
    );
}

#[test]
fn nothing_from_ignored_binary_or_dependency_files() {
    let (_dir, root) = fixture_copy();
    let report = scan_fixture(&root);
    for f in &report.findings {
        assert!(
            !f.relative.starts_with("ignored/"),
            "from an ignored directory: {f:?}"
        );
        assert!(
            !f.relative.ends_with("local.secret.env"),
            "from an ignored file: {f:?}"
        );
        assert!(!f.relative.contains("blob/"), "from a binary file: {f:?}");
        assert!(
            !f.relative.contains("node_modules/"),
            "from node_modules: {f:?}"
        );
        assert!(
            !f.name.contains("binary") && !f.name.contains("ignored"),
            "{f:?}"
        );
    }
    assert_eq!(report.scanned.skipped_binary, 1);
    assert_eq!(report.scanned.unparsable, 0, "{:?}", report.problems);
    // 37 files, less 3 ignored and 1 under node_modules
    assert_eq!(report.scanned.files, 33, "{:?}", report.scanned);
}

#[test]
fn no_secret_value_in_any_output() {
    let (_dir, root) = fixture_copy();
    // The marker is in the files scanned…
    let env = std::fs::read_to_string(root.join("repo/.env")).unwrap();
    assert!(env.contains(SECRET_MARKER));
    let report = scan_fixture(&root);
    let outputs = [
        ("table", report.table()),
        ("json", serde_json::to_string_pretty(&report).unwrap()),
        (
            "sarif",
            serde_json::to_string_pretty(&warden_discover::to_sarif(&report)).unwrap(),
        ),
    ];
    // …and in none of the outputs, nor is any fake key's public prefix
    // followed by more of the key.
    for (format, text) in outputs {
        assert!(
            !text.contains(SECRET_MARKER),
            "{format} output leaks a secret:\n{text}"
        );
        for prefix in [
            "sk-ant-api03-",
            "sk-proj-",
            "AIza",
            "tvly-",
            "ctx7sk-",
            "eyJ",
        ] {
            assert!(
                !text.contains(prefix),
                "{format} output shows `{prefix}`:\n{text}"
            );
        }
    }
}

#[test]
fn json_has_the_documented_shape() {
    let (_dir, root) = fixture_copy();
    let report = scan_fixture(&root);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["host"], "fixture-host");
    for key in [
        "roots",
        "files",
        "bytes",
        "seconds",
        "files_per_second",
        "skipped_binary",
        "skipped_large",
    ] {
        assert!(json["scanned"].get(key).is_some(), "scanned.{key}");
    }
    let server = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "filesystem")
        .unwrap();
    for key in [
        "id",
        "kind",
        "name",
        "what",
        "path",
        "line",
        "evidence",
        "client",
        "transport",
        "governed",
        "agent",
        "covered",
        "secrets",
    ] {
        assert!(server.get(key).is_some(), "finding.{key} in {server}");
    }
    assert_eq!(server["id"].as_str().unwrap().len(), 16);
    assert_eq!(server["kind"], "mcp_server");
    assert!(server["agent"].is_null());
    let framework = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "agent_framework")
        .unwrap();
    assert!(framework.get("client").is_none() && framework.get("transport").is_none());
    // Stable ids: a second scan gives the same.
    let again = scan_fixture(&root);
    let ids =
        |r: &warden_discover::Report| r.findings.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&report), ids(&again));
}
