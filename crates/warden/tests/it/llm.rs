//! The LLM proxy with the official SDKs (issue 15): a copy of the example
//! configuration with four providers pointing at `tests/llm/fake_upstream.py`
//! (a faithful fake of the OpenAI and Anthropic APIs, streams included), the
//! support bot granted them, `warden serve` holding the provider keys, and
//! `tests/llm/llm_test.py` driving it with the `openai` and `anthropic` Python
//! SDKs as the support bot: pass-through and chunk timing, clearance refusals
//! and redaction, upstream errors, flagged tool calls, a client leaving
//! mid-stream, provenance from the conversation and token budgets.
//!
//! The SDKs are installed by `tests/llm/setup.sh` (scripts/test.sh runs it).
//! Without them the test says SKIPPED loudly, or fails under
//! `WARDEN_TEST_STRICT`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::mcp::{Killed, free_port, wait_port};
use crate::{examples, text};

/// The keys the fake accepts; only `warden serve` is given them.
const OPENAI_KEY: &str = "sk-fake-openai-6b1f0c2d9e8a7b6c";
const ANTHROPIC_KEY: &str = "sk-ant-fake-3e4d5c6b7a8f9e0d";

/// What the test needs, or why it cannot run.
fn missing(dir: &Path) -> Option<String> {
    let python = dir.join(".venv/bin/python");
    if !python.exists() {
        return Some(python.display().to_string());
    }
    let imports = Command::new(&python)
        .args(["-c", "import openai, anthropic"])
        .output()
        .ok()
        .is_some_and(|o| o.status.success());
    (!imports).then(|| "the openai and anthropic SDKs in tests/llm/.venv".to_owned())
}

/// The examples with providers at the fake and the support bot granted them
/// (docs/llm.md; the checks are listed in tests/llm/README.md).
fn configure(config: &Path, fake_port: u16) {
    warden_test::copy_dir(&examples(), config);
    let base_url = format!("http://127.0.0.1:{fake_port}");
    let toml = config.join("warden.toml");
    let mut text = without_providers(&std::fs::read_to_string(&toml).unwrap());
    text.push_str(&format!(
        r#"
# Added by crates/warden/tests/it/llm.rs: model providers at tests/llm/fake_upstream.py.
[providers.openai]
kind = "openai"
base_url = "{base_url}"
api_key_env = "WARDEN_TEST_OPENAI_KEY"
region = "eu"
cleared = ["pii.contact"]

[providers.openai-public]
kind = "openai"
base_url = "{base_url}"
api_key_env = "WARDEN_TEST_OPENAI_KEY"
region = "eu"
cleared = []

[providers.openai-masked]
kind = "openai"
base_url = "{base_url}"
api_key_file = "openai-masked.key"
region = "eu"
cleared = ["pii.contact"]

[providers.anthropic]
kind = "anthropic"
base_url = "{base_url}"
api_key_env = "WARDEN_TEST_ANTHROPIC_KEY"
region = "eu"
cleared = ["pii.contact"]
"#
    ));
    std::fs::write(&toml, text).unwrap();
    std::fs::write(config.join("openai-masked.key"), format!("{OPENAI_KEY}\n")).unwrap();

    let manifest = config.join("agents/support-bot.yaml");
    let yaml = without_provider_grants(&std::fs::read_to_string(&manifest).unwrap());
    assert!(
        yaml.contains("\ntools:\n")
            && yaml.lines().filter(|l| l.starts_with("budgets:")).count() == 1,
        "examples/agents/support-bot.yaml changed shape (a `tools:` mapping and one `budgets:` line): update crates/warden/tests/it/llm.rs"
    );
    let grants = r#"
tools:
  openai:
    chat:
      operation: send
      when: 'context.args.model like "gpt-*"'
  openai-public:
    chat: send
  openai-masked:
    chat:
      operation: send
      redact: { financial: mask }
  anthropic:
    chat:
      operation: send
      when: 'context.args.model like "claude-*"'
"#;
    let yaml: String = yaml
        .replacen("\ntools:\n", grants, 1)
        .lines()
        .map(|line| {
            if line.starts_with("budgets:") {
                // 35 tokens a call (the fake's usage): a budget spent in ~12 calls.
                "budgets: { per_session: 50, per_hour: 2000, tokens_per_session: 400 }\n".to_owned()
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&manifest, yaml).unwrap();
}

/// `warden.toml` without its `[providers.*]` tables (the test declares its own).
fn without_providers(toml: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in toml.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            skipping = trimmed.starts_with("[providers.") || trimmed.starts_with("[providers]");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A manifest without grants for providers (`  openai:` … under `tools:`;
/// the test writes its own).
fn without_provider_grants(yaml: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent == 2 && !line.trim().is_empty() {
            let key = line.trim().split(':').next().unwrap_or_default();
            skipping = key.starts_with("openai") || key.starts_with("anthropic");
        } else if indent < 2 && !line.trim().is_empty() {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `warden serve` on the configuration, with the first admin token it printed.
struct Served {
    _server: Killed,
    data_port: u16,
    admin_port: u16,
    admin_token: String,
    log: PathBuf,
}

fn serve(config: &Path, data: &Path) -> Served {
    let (data_port, admin_port) = (free_port(), free_port());
    let log = data.join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(config.join("warden.toml"))
        .arg("--data-dir")
        .arg(data)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{data_port}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin_port}"),
        ])
        .env("WARDEN_LOG", "warn")
        .env("WARDEN_TEST_OPENAI_KEY", OPENAI_KEY)
        .env("WARDEN_TEST_ANTHROPIC_KEY", ANTHROPIC_KEY)
        .env_remove("WARDEN_STORE")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // "first start: admin token (role admin) written to …", then the token.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let mut server = Killed(child);
    assert!(
        first.starts_with("first start: admin token"),
        "warden serve printed {first:?} first; its log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let admin_token = lines
        .next()
        .and_then(Result::ok)
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(!admin_token.is_empty(), "no admin token printed");
    std::thread::spawn(move || for _ in lines {});
    // Like mcp::wait_port, but a `warden serve` that exits (a configuration
    // it rejects) fails at once, with its log.
    let deadline = Instant::now() + Duration::from_secs(30);
    for port in [data_port, admin_port] {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.0.try_wait().unwrap() {
                panic!(
                    "warden serve exited ({status}); its log:\n{}",
                    warden_test::file_tail(&log, 4000)
                );
            }
            assert!(
                Instant::now() < deadline,
                "warden serve did not listen on {port} in 30 s; its log:\n{}",
                warden_test::file_tail(&log, 4000)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Served {
        _server: server,
        data_port,
        admin_port,
        admin_token,
        log,
    }
}

#[test]
fn the_official_sdks_work_through_the_llm_proxy() {
    let dir = crate::tests_dir("llm");
    if let Some(what) = missing(&dir) {
        warden_test::skip_unless_strict("the LLM proxy SDK test", &what, "tests/llm/setup.sh");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (root.path().join("config"), root.path().join("data"));
    std::fs::create_dir_all(&data).unwrap();
    let python = dir.join(".venv/bin/python");

    let fake_port = free_port();
    let fake_log = root.path().join("fake_upstream.log");
    let fake = Command::new(&python)
        .arg(dir.join("fake_upstream.py"))
        .args(["--port", &fake_port.to_string()])
        .args(["--openai-key", OPENAI_KEY, "--anthropic-key", ANTHROPIC_KEY])
        .stdout(std::fs::File::create(&fake_log).unwrap())
        .stderr(std::fs::File::create(root.path().join("fake_upstream.err")).unwrap())
        .spawn()
        .unwrap();
    let _fake = Killed(fake);
    wait_port(fake_port, "tests/llm/fake_upstream.py");

    configure(&config, fake_port);
    let served = serve(&config, &data);
    // Taint is per agent instance: one for most checks, one per provenance story.
    let token = |instance: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("--config")
            .arg(config.join("warden.toml"))
            .arg("--data-dir")
            .arg(&data)
            .args(["agent", "token", "support-bot", "--instance", instance])
            .args(["--ttl", "1h"])
            .env_remove("WARDEN_STORE")
            .env("WARDEN_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "agent token: {}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    };

    let output = root.path().join("llm_test.out");
    let file = std::fs::File::create(&output).unwrap();
    let mut child = Command::new(&python)
        .arg(dir.join("llm_test.py"))
        .env(
            "WARDEN_LLM_DATA_URL",
            format!("http://127.0.0.1:{}", served.data_port),
        )
        .env(
            "WARDEN_LLM_ADMIN_URL",
            format!("http://127.0.0.1:{}", served.admin_port),
        )
        .env("WARDEN_LLM_ADMIN_TOKEN", &served.admin_token)
        .env("WARDEN_LLM_AGENT_TOKEN", token("laptop-1"))
        .env("WARDEN_LLM_AGENT_TOKEN_TOOL", token("laptop-2"))
        .env("WARDEN_LLM_AGENT_TOKEN_USER", token("laptop-3"))
        .env(
            "WARDEN_LLM_FAKE_URL",
            format!("http://127.0.0.1:{fake_port}"),
        )
        .env("WARDEN_LLM_OPENAI_KEY", OPENAI_KEY)
        .env("WARDEN_LLM_ANTHROPIC_KEY", ANTHROPIC_KEY)
        // The SDKs read these when no key is given; make sure nothing leaks in.
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_BASE_URL")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let status = warden_test::wait_at_most(&mut child, Duration::from_secs(300));
    let report = std::fs::read_to_string(&output).unwrap_or_default();
    if status.is_some_and(|s| s.success()) {
        eprintln!("{report}");
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "llm_test.py {}:\n{report}\n--- warden serve's log (last 4,000 characters) ---\n{}\n--- the fake's stderr (last 2,000) ---\n{}",
        status.map_or("did not finish in 5 minutes".to_owned(), |s| format!(
            "failed ({s})"
        )),
        warden_test::file_tail(&served.log, 4000),
        warden_test::file_tail(&root.path().join("fake_upstream.err"), 2000),
    );
}
