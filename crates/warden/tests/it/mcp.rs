//! The MCP gateway between real third-party MCP software: the official Python
//! SDK client (`mcp` from PyPI) in front; the reference servers
//! `@modelcontextprotocol/server-filesystem` and `server-everything` (npm)
//! and a deliberately faulty TS-SDK server behind; over stdio
//! (`warden mcp wrap`) and Streamable HTTP (`/mcp/{server}`).
//!
//! The software is installed by `tests/mcp/setup.sh` (scripts/test.sh runs
//! it); without it these tests fail and say so.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::text;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub(crate) fn mcp_dir() -> PathBuf {
    let dir = repo().join("tests/mcp");
    for needed in [
        ".venv/bin/python",
        "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js",
        "node_modules/@modelcontextprotocol/server-everything/dist/index.js",
    ] {
        assert!(
            dir.join(needed).exists(),
            "{} is missing: run tests/mcp/setup.sh (scripts/test.sh does) to install the MCP SDKs and reference servers",
            dir.join(needed).display()
        );
    }
    dir
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn wait_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start listening on {port}");
}

pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Warden serving a configuration with the reference servers, plus
/// server-everything listening over Streamable HTTP.
struct World {
    dir: tempfile::TempDir,
    data_port: u16,
    admin_port: u16,
    everything: Option<Killed>,
    _warden: Killed,
}

/// The agents every world registers.
const AGENTS: &[(&str, &str)] = &[
    (
        "fs-reader",
        r#"name: fs-reader
owner: records@example.com
purpose: reads shared reports
tools:
  filesystem:
    read_text_file:
      operation: read
      when: 'context.args.path like "{SHARED}/allowed/*"'
    list_directory: read
"#,
    ),
    (
        "helper",
        r#"name: helper
owner: ops@example.com
purpose: exercises server-everything
tools:
  everything:
    echo: { operation: read, when: 'context.args.message like "hello*"' }
    get-sum: { operation: read, approval: "context.args.a > 100" }
    trigger-sampling-request: read
    trigger-elicitation-request: read
    "resources/read": { operation: read, when: 'context.args.uri like "demo://resource/dynamic/text/*"' }
mcp:
  client_features: [sampling, elicitation]
"#,
    ),
    (
        "plain",
        r#"name: plain
owner: ops@example.com
purpose: no server-to-client requests
tools:
  everything:
    echo: read
    trigger-sampling-request: read
    get-roots-list: read
"#,
    ),
    (
        "flaky-user",
        r#"name: flaky-user
owner: ops@example.com
purpose: calls a faulty server
tools:
  flaky: { ok: read, crash: read, hang: read }
budgets: { per_session: 3 }
"#,
    ),
    (
        "redactor",
        r#"name: redactor
owner: care@example.com
purpose: reads customer records with personal data masked
tools:
  flaky:
    customer:
      operation: read
      redact: { pii.contact: mask, financial: tokenize }
"#,
    ),
    (
        "narrow",
        r#"name: narrow
owner: finance@example.com
purpose: may read financial data only
tools:
  flaky: { customer: read, ok: read }
data:
  may_read: [financial]
"#,
    ),
    (
        "support",
        r#"name: support
owner: care@example.com
purpose: reads customer records and mails
tools:
  flaky: { customer: read }
  mail: { send: send }
"#,
    ),
];

impl World {
    fn new() -> World {
        World::with_mcp("")
    }

    /// A world with more `[mcp]` settings.
    fn with_mcp(extra_mcp: &str) -> World {
        let mcp = mcp_dir();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let shared = root.join("shared");
        std::fs::create_dir_all(shared.join("allowed")).unwrap();
        std::fs::create_dir_all(shared.join("secret")).unwrap();
        std::fs::write(shared.join("allowed/report.txt"), "revenue up 4%\n").unwrap();
        std::fs::write(shared.join("secret/plans.txt"), "secret plans\n").unwrap();
        std::fs::create_dir_all(root.join("agents")).unwrap();
        for (name, text) in AGENTS {
            let text = text.replace("{SHARED}", shared.to_str().unwrap());
            std::fs::write(root.join("agents").join(format!("{name}.yaml")), text).unwrap();
        }
        let (data_port, admin_port, everything_port) = (free_port(), free_port(), free_port());
        let node_modules = mcp.join("node_modules/@modelcontextprotocol");
        let config = format!(
            r#"trust_domain = "example.org"

[serve]
listen = "127.0.0.1:{data_port}"
admin_listen = "127.0.0.1:{admin_port}"

[mcp]
approval_wait_secs = 4
call_timeout_secs = 3
{extra_mcp}

[organisation]
domains = ["example.com"]

[servers.filesystem]
transport = "stdio"
command = ["node", "{fs}", "{shared}"]
destination = "internal"
cleared = ["pii", "financial"]

[servers.everything]
transport = "http"
url = "http://127.0.0.1:{everything_port}/mcp"
destination = "internal"
cleared = []

[servers.flaky]
transport = "stdio"
command = ["node", "{flaky}"]
destination = "internal"
cleared = ["pii", "financial"]

[servers.mail]
transport = "api"
destination = "internal"
cleared = ["pii", "financial"]

[servers.mail.tools.send]
operation = "send"
destination_argument = "to"
"#,
            fs = node_modules
                .join("server-filesystem/dist/index.js")
                .display(),
            shared = shared.display(),
            flaky = mcp.join("fixtures/flaky-server.mjs").display(),
        );
        std::fs::write(root.join("warden.toml"), config).unwrap();
        let everything = Command::new("node")
            .arg(node_modules.join("server-everything/dist/index.js"))
            .arg("streamableHttp")
            .env("PORT", everything_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let everything = Killed(everything);
        let warden = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("--config")
            .arg(root.join("warden.toml"))
            .arg("--data-dir")
            .arg(root.join("data"))
            .arg("serve")
            .env("WARDEN_LOG", "warn")
            .env_remove("WARDEN_STORE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let warden = Killed(warden);
        wait_port(data_port, "warden serve");
        wait_port(admin_port, "warden serve (admin)");
        wait_port(everything_port, "server-everything");
        let world = World {
            dir,
            data_port,
            admin_port,
            everything: Some(everything),
            _warden: warden,
        };
        for (name, _) in AGENTS {
            let out = world.warden(&["agent", "token", name, "--instance", "i1"]);
            assert!(out.status.success(), "{}", text(&out.stderr));
            std::fs::write(world.token_file(name), &out.stdout).unwrap();
        }
        world
    }

    fn warden(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("--config")
            .arg(self.dir.path().join("warden.toml"))
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(args)
            .env("WARDEN_LOG", "warn")
            .env_remove("WARDEN_STORE")
            .output()
            .unwrap()
    }

    fn shared(&self) -> PathBuf {
        self.dir.path().join("shared")
    }

    fn token_file(&self, agent: &str) -> PathBuf {
        self.dir.path().join(format!("{agent}.jwt"))
    }

    fn token(&self, agent: &str) -> String {
        std::fs::read_to_string(self.token_file(agent))
            .unwrap()
            .trim()
            .to_owned()
    }

    fn gateway(&self) -> String {
        format!("http://127.0.0.1:{}", self.data_port)
    }

    fn admin(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    fn admin_token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("data/admin.token"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// The `warden mcp wrap` command line for `agent` on `server`.
    fn wrap(&self, agent: &str, server: &str, extra: &[&str]) -> Vec<String> {
        let mut cmd = vec![
            env!("CARGO_BIN_EXE_warden").to_owned(),
            "--config".into(),
            self.dir.path().join("warden.toml").display().to_string(),
            "mcp".into(),
            "wrap".into(),
            "--server".into(),
            server.into(),
            "--token-file".into(),
            self.token_file(agent).display().to_string(),
        ];
        if !extra.contains(&"--gateway") {
            cmd.extend(["--gateway".to_owned(), self.gateway()]);
        }
        cmd.extend(extra.iter().map(|s| (*s).to_owned()));
        cmd
    }

    /// Runs the client in the Warden session `session` (an instance's MCP
    /// sessions share its default session otherwise).
    fn client_in(&self, transport: &Transport, session: &'static str, steps: &Value) -> Vec<Value> {
        let named = match transport {
            Transport::Stdio {
                agent,
                server,
                extra,
            } => {
                let mut extra = extra.clone();
                extra.extend(["--session", session]);
                Transport::Stdio {
                    agent,
                    server,
                    extra,
                }
            }
            Transport::Http { agent, server } => Transport::HttpIn {
                agent,
                server,
                session,
            },
            Transport::HttpIn { .. } => transport.clone(),
        };
        self.client(&named, steps)
    }

    /// Runs the Python SDK client over `transport` with `steps`; one JSON
    /// value per line it printed.
    fn client(&self, transport: &Transport, steps: &Value) -> Vec<Value> {
        let mcp = mcp_dir();
        let mut cmd = Command::new(mcp.join(".venv/bin/python"));
        cmd.arg(mcp.join("client.py")).arg("--timeout").arg("20");
        match transport {
            Transport::Stdio {
                agent,
                server,
                extra,
            } => {
                cmd.arg("stdio").arg("--");
                cmd.args(self.wrap(agent, server, extra));
            }
            Transport::Http { agent, server } => {
                cmd.arg("http")
                    .arg(format!("{}/mcp/{server}", self.gateway()))
                    .arg("--token")
                    .arg(self.token(agent));
            }
            Transport::HttpIn {
                agent,
                server,
                session,
            } => {
                cmd.arg("http")
                    .arg(format!("{}/mcp/{server}", self.gateway()))
                    .arg("--token")
                    .arg(self.token(agent))
                    .arg("--header")
                    .arg(format!("Warden-Session={session}"));
            }
        }
        client_lines(cmd, steps, &format!("{transport:?}"))
    }
}

/// Runs the MCP client driver `cmd` with `steps` on its standard input and
/// returns the JSON lines it printed; fails if it could not connect.
pub(crate) fn client_lines(mut cmd: Command, steps: &Value, over: &str) -> Vec<Value> {
    let out =
        warden_test::output_with_stdin(cmd.env("WARDEN_LOG", "warn"), steps.to_string().as_bytes());
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        !lines.is_empty() && lines[0].get("exception").is_none(),
        "the client could not connect over {over}: {lines:?}\n{}",
        text(&out.stderr)
    );
    lines
}

#[derive(Debug, Clone)]
enum Transport {
    Stdio {
        agent: &'static str,
        server: &'static str,
        extra: Vec<&'static str>,
    },
    Http {
        agent: &'static str,
        server: &'static str,
    },
    /// Over Streamable HTTP, in a named Warden session.
    HttpIn {
        agent: &'static str,
        server: &'static str,
        session: &'static str,
    },
}

fn both(agent: &'static str, server: &'static str) -> [Transport; 2] {
    [
        Transport::Stdio {
            agent,
            server,
            extra: Vec::new(),
        },
        Transport::Http { agent, server },
    ]
}

/// server-everything over stdio, for the wrapper (its declared transport is HTTP).
fn everything_stdio(agent: &'static str) -> Transport {
    let js = mcp_dir()
        .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
        .display()
        .to_string();
    Transport::Stdio {
        agent,
        server: "everything",
        extra: vec!["--", "node", Box::leak(js.into_boxed_str()), "stdio"],
    }
}

fn tools(line: &Value) -> Vec<String> {
    let mut names: Vec<String> = line["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {line}"))
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn denied(line: &Value) -> String {
    assert_eq!(line["is_error"], true, "expected a refusal: {line}");
    let text = line["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("Denied by Warden"), "{text}");
    assert_eq!(
        line["meta"]["dev.warden/decision"]["decision"], "deny",
        "{line}"
    );
    text
}

#[test]
fn granted_tools_are_listed_others_hidden_and_conditions_hold_over_both_transports() {
    let world = World::new();
    let shared = world.shared();
    let allowed = shared.join("allowed/report.txt");
    let secret = shared.join("secret/plans.txt");
    let written = shared.join("allowed/new.txt");
    for transport in both("fs-reader", "filesystem") {
        let steps = json!([
            {"op": "list_tools"},
            {"op": "call_tool", "name": "read_text_file", "args": {"path": allowed}},
            {"op": "call_tool", "name": "read_text_file", "args": {"path": secret}},
            {"op": "call_tool", "name": "write_file", "args": {"path": written, "content": "x"}},
            {"op": "call_tool", "name": "list_directory", "args": {"path": shared.join("allowed")}},
        ]);
        let out = world.client(&transport, &steps);
        assert_eq!(out[0]["server"]["name"], "secure-filesystem-server");
        assert_eq!(
            tools(&out[1]),
            ["list_directory", "read_text_file"],
            "{transport:?}"
        );
        assert_eq!(out[2]["is_error"], false, "{}", out[2]);
        assert_eq!(out[2]["text"], "revenue up 4%\n");
        let reason = denied(&out[3]);
        assert!(reason.contains("is false with path"), "{reason}");
        let reason = denied(&out[4]);
        assert!(
            reason.contains("no grant for tool `filesystem/write_file`"),
            "{reason}"
        );
        assert!(!written.exists(), "a refused write must not happen");
        assert!(out[5]["text"].as_str().unwrap().contains("report.txt"));
    }
    // Every decision is in the audit log, by interception point, and the log verifies.
    let verify = world.warden(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    let entries: Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/audit/entries?from=0&to=100", world.admin()))
        .bearer_auth(world.admin_token())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let via: Vec<&str> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record"]["kind"] == "decision")
        .map(|e| e["record"]["interception"].as_str().unwrap())
        .collect();
    assert_eq!(
        via.iter().filter(|v| **v == "mcp_stdio_reported").count(),
        4,
        "{via:?}"
    );
    assert_eq!(
        via.iter().filter(|v| **v == "mcp_http").count(),
        4,
        "{via:?}"
    );
}

#[test]
fn budgets_crashes_and_hangs_over_both_transports() {
    let world = World::new();
    let sessions = [
        ("budget-stdio", "crash-stdio"),
        ("budget-http", "crash-http"),
    ];
    for (transport, (budget, crash)) in both("flaky-user", "flaky").into_iter().zip(sessions) {
        let steps = json!([
            {"op": "call_tool", "name": "ok"},
            {"op": "call_tool", "name": "hang"},
            {"op": "call_tool", "name": "ok"},
            {"op": "call_tool", "name": "ok"},
            {"op": "call_tool", "name": "ok"},
        ]);
        let out = world.client_in(&transport, budget, &steps);
        assert_eq!(out[1]["text"], "fine", "{transport:?}: {}", out[1]);
        // A hung server: the call gets an error at the configured timeout.
        assert_eq!(out[2]["error"]["code"], -32002, "{transport:?}: {}", out[2]);
        let message = out[2]["error"]["message"].as_str().unwrap();
        assert!(message.contains("did not answer within 3 s"), "{message}");
        assert_eq!(out[3]["text"], "fine");
        // per_session: 3 allowed actions (the hung call was allowed too).
        let reason = denied(&out[4]);
        assert!(reason.contains("session budget 3 spent"), "{reason}");
        assert!(denied(&out[5]).contains("session budget 3 spent"));

        // A crash: the call in flight gets a clear error, no hang.
        let steps = json!([{"op": "call_tool", "name": "crash"}]);
        let started = Instant::now();
        let out = world.client_in(&transport, crash, &steps);
        assert!(started.elapsed() < Duration::from_secs(15), "{transport:?}");
        let error = &out[1]["error"];
        assert_eq!(error["code"], -32002, "{transport:?}: {}", out[1]);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("exited") || message.contains("ended"),
            "{message}"
        );
    }
}

#[test]
fn approvals_are_waited_for_and_time_out_over_both_transports() {
    let world = World::new();
    let admin = world.admin();
    let admin_token = world.admin_token();
    for transport in [
        everything_stdio("helper"),
        Transport::Http {
            agent: "helper",
            server: "everything",
        },
    ] {
        // An approver approves the first request that shows up.
        let approver = {
            let (admin, token) = (admin.clone(), admin_token.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                let deadline = Instant::now() + Duration::from_secs(20);
                while Instant::now() < deadline {
                    let list: Value = client
                        .get(format!("{admin}/v1/approvals?status=pending"))
                        .bearer_auth(&token)
                        .send()
                        .unwrap()
                        .json()
                        .unwrap();
                    if let Some(first) = list["approvals"].as_array().and_then(|a| a.first()) {
                        let id = first["id"].as_str().unwrap();
                        let r = client
                            .post(format!("{admin}/v1/approvals/{id}/approve"))
                            .bearer_auth(&token)
                            .json(&json!({"note": "ok by test"}))
                            .send()
                            .unwrap();
                        assert!(r.status().is_success(), "{}", r.text().unwrap());
                        return first["args"].clone();
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                panic!("no approval request appeared");
            })
        };
        let steps = json!([{"op": "call_tool", "name": "get-sum", "args": {"a": 500, "b": 1}}]);
        let out = world.client(&transport, &steps);
        assert_eq!(approver.join().unwrap(), json!({"a": 500, "b": 1}));
        assert_eq!(out[1]["is_error"], false, "{transport:?}: {}", out[1]);
        assert!(
            out[1]["text"].as_str().unwrap().contains("501"),
            "{}",
            out[1]
        );

        // Nobody answers: denied after approval_wait_secs.
        let steps = json!([
            {"op": "call_tool", "name": "get-sum", "args": {"a": 600, "b": 1}},
            {"op": "call_tool", "name": "get-sum", "args": {"a": 6, "b": 1}},
        ]);
        let out = world.client(&transport, &steps);
        let reason = denied(&out[1]);
        assert!(reason.contains("no approver answered within"), "{reason}");
        assert!(out[2]["text"].as_str().unwrap().contains("7"), "{}", out[2]);
        // Leave no pending request for the next transport's approver.
        let list: Value = reqwest::blocking::Client::new()
            .get(format!("{admin}/v1/approvals?status=pending"))
            .bearer_auth(&admin_token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        for a in list["approvals"].as_array().unwrap() {
            reqwest::blocking::Client::new()
                .post(format!(
                    "{admin}/v1/approvals/{}/reject",
                    a["id"].as_str().unwrap()
                ))
                .bearer_auth(&admin_token)
                .json(&json!({}))
                .send()
                .unwrap();
        }
    }
}

#[test]
fn server_to_client_requests_follow_the_manifest_and_answers_get_through() {
    let world = World::new();
    for transport in [
        everything_stdio("helper"),
        Transport::Http {
            agent: "helper",
            server: "everything",
        },
    ] {
        let steps = json!([
            {"op": "list_tools"},
            {"op": "call_tool", "name": "trigger-sampling-request", "args": {"prompt": "hi"}},
            {"op": "call_tool", "name": "trigger-elicitation-request", "args": {}},
            {"op": "call_tool", "name": "echo", "args": {"message": "hello there"}},
            {"op": "call_tool", "name": "echo", "args": {"message": "goodbye"}},
            {"op": "read_resource", "uri": "demo://resource/dynamic/text/1"},
            {"op": "read_resource", "uri": "demo://resource/dynamic/blob/1"},
            {"op": "get_prompt", "name": "simple-prompt"},
            {"op": "ping"},
        ]);
        let out = world.client(&transport, &steps);
        assert_eq!(
            tools(&out[1]),
            [
                "echo",
                "get-sum",
                "trigger-elicitation-request",
                "trigger-sampling-request"
            ],
            "{transport:?}"
        );
        assert_eq!(out[2]["callbacks"], json!(["sampling"]), "{}", out[2]);
        assert!(
            out[2]["text"]
                .as_str()
                .unwrap()
                .contains("sampled-by-test-client")
        );
        // The client's answer to the elicitation reaches the server.
        assert_eq!(out[3]["callbacks"], json!(["elicitation"]), "{}", out[3]);
        assert!(
            out[3]["text"].as_str().unwrap().contains("Name: test"),
            "{}",
            out[3]
        );
        assert_eq!(out[4]["text"], "Echo: hello there");
        assert!(denied(&out[5]).contains("is false with message = \"goodbye\""));
        assert!(
            out[6]["contents"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("Resource 1")
        );
        // Resource and prompt refusals are JSON-RPC errors carrying the decision.
        assert_eq!(out[7]["error"]["code"], -32001, "{}", out[7]);
        assert_eq!(out[7]["error"]["data"]["decision"], "deny");
        assert_eq!(out[8]["error"]["code"], -32001, "{}", out[8]);
        assert!(
            out[8]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no grant for tool `everything/prompts/get`")
        );
        assert_eq!(out[9]["ok"], true);
    }
    // Without mcp.client_features the client's capabilities are hidden from the
    // server, so it never asks (and a request would be refused by Warden).
    for transport in [
        everything_stdio("plain"),
        Transport::Http {
            agent: "plain",
            server: "everything",
        },
    ] {
        let steps = json!([{"op": "list_tools"}, {"op": "call_tool", "name": "echo", "args": {"message": "x"}}]);
        let out = world.client(&transport, &steps);
        assert_eq!(tools(&out[1]), ["echo"], "{transport:?}");
        assert_eq!(out[2]["text"], "Echo: x");
    }
}

#[test]
fn the_wrapper_fails_closed_without_a_gateway() {
    let world = World::new();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let transport = Transport::Stdio {
        agent: "fs-reader",
        server: "filesystem",
        extra: vec!["--gateway", Box::leak(dead.into_boxed_str())],
    };
    let allowed = world.shared().join("allowed/report.txt");
    let steps = json!([
        {"op": "list_tools"},
        {"op": "call_tool", "name": "read_text_file", "args": {"path": allowed}},
    ]);
    let out = world.client(&transport, &steps);
    assert_eq!(
        out[1]["tools"],
        json!([]),
        "no grants known: nothing listed"
    );
    let reason = denied(&out[2]);
    assert!(reason.contains("unreachable"), "{reason}");
    assert!(reason.contains("fail closed"), "{reason}");
}

#[test]
fn a_result_read_over_mcp_taints_a_later_decision_and_is_screened() {
    let world = World::new();
    let session = "support-case-7";
    let transport = Transport::Stdio {
        agent: "support",
        server: "flaky",
        extra: vec!["--session", session],
    };
    let out = world.client(
        &transport,
        &json!([{"op": "call_tool", "name": "customer"}]),
    );
    assert!(out[1]["text"].as_str().unwrap().contains("Jane Roe"));

    // The agent now asks the decision API to mail, in the same session.
    let decide = |to: &str, body: &str| -> Value {
        reqwest::blocking::Client::new()
            .post(format!("{}/v1/decisions", world.gateway()))
            .bearer_auth(world.token("support"))
            .json(
                &json!({"server": "mail", "tool": "send", "session": session,
                          "args": {"to": to, "subject": "summary", "body": body}}),
            )
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    // Paraphrased: no personal data in the arguments themselves.
    let external = decide("someone@gmail.test", "the customer has a UK account");
    assert_eq!(external["decision"], "deny", "{external}");
    let reason = external["reasons"][0].as_str().unwrap();
    assert!(reason.contains("`pii.contact`"), "{reason}");
    assert!(reason.contains("`financial.account`"), "{reason}");
    assert!(
        reason.contains("from flaky/customer (decision "),
        "{reason}"
    );
    let internal = decide("colleague@example.com", "the customer has a UK account");
    assert_eq!(internal["decision"], "allow", "{internal}");

    // The observation is in the log: the result's classes and the injected
    // instruction it carried.
    let entries: Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/audit/entries?from=0&to=100", world.admin()))
        .bearer_auth(world.admin_token())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let observation = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["record"])
        .find(|r| r["kind"] == "observation")
        .unwrap_or_else(|| panic!("no observation record: {entries}"))
        .clone();
    assert_eq!(observation["interception"], "mcp_stdio_reported");
    let classes: Vec<&str> = observation["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(classes.contains(&"pii.contact"), "{classes:?}");
    assert!(classes.contains(&"financial.account"), "{classes:?}");
    assert!(
        observation["note"]
            .as_str()
            .unwrap_or_default()
            .contains("injected instructions"),
        "{observation}"
    );
}

#[test]
fn the_http_endpoint_refuses_bad_input_clearly() {
    let mut world = World::new();
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/mcp/everything", world.gateway());
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}});
    let post = |body: &str, token: Option<&str>, headers: &[(&str, &str)]| {
        let mut r = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_owned());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send().unwrap()
    };
    let token = world.token("helper");

    // No identity: 401 pointing at the protected-resource metadata.
    let r = post(&init.to_string(), None, &[]);
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer resource_metadata=\""),
        "{challenge}"
    );
    let metadata_url = challenge.split('"').nth(1).unwrap();
    let doc: Value = client.get(metadata_url).send().unwrap().json().unwrap();
    assert_eq!(doc["resource"], url);
    let r = post(&init.to_string(), Some("not-a-token"), &[]);
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // DNS rebinding: a foreign Origin or Host is refused.
    let r = post(
        &init.to_string(),
        Some(&token),
        &[("origin", "http://evil.test")],
    );
    assert_eq!(r.status(), 403);
    let r = post(&init.to_string(), Some(&token), &[("host", "evil.test")]);
    assert_eq!(r.status(), 403);

    // Malformed JSON, a batch, a message that is not JSON-RPC, an oversized one.
    let code = |r: reqwest::blocking::Response| -> (u16, i64) {
        let status = r.status().as_u16();
        let body: Value = r.json().unwrap();
        (status, body["error"]["code"].as_i64().unwrap())
    };
    assert_eq!(code(post("{oops", Some(&token), &[])), (400, -32700));
    assert_eq!(
        code(post(&format!("[{init}]"), Some(&token), &[])),
        (400, -32600)
    );
    assert_eq!(
        code(post(r#"{"id":1,"method":"ping"}"#, Some(&token), &[])),
        (400, -32600)
    );
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":"{}"}}}}"#,
        "a".repeat(1_100_000)
    );
    assert_eq!(post(&huge, Some(&token), &[]).status(), 413);

    // A session belongs to the identity that opened it.
    let r = post(&init.to_string(), Some(&token), &[]);
    assert_eq!(r.status(), 200);
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
    let other = world.token("plain");
    let r = post(
        &ping,
        Some(&other),
        &[
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "2025-11-25"),
        ],
    );
    assert_eq!(r.status(), 404);
    // An id reused by two requests in flight is refused, not left hanging.
    // (A tool server that is down answers with a clear error.)
    world.everything.take();
    std::thread::sleep(Duration::from_millis(300));
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                      "params": {"name": "echo", "arguments": {"message": "hello"}}});
    let r = post(
        &call.to_string(),
        Some(&token),
        &[
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "2025-11-25"),
        ],
    );
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], -32002, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{body}"
    );

    // Unknown servers and servers without an MCP transport.
    assert_eq!(
        client
            .post(format!("{}/mcp/nope", world.gateway()))
            .bearer_auth(&token)
            .body("{}")
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        client
            .post(format!("{}/mcp/mail", world.gateway()))
            .bearer_auth(&token)
            .body("{}")
            .send()
            .unwrap()
            .status(),
        404
    );
}

#[test]
fn redaction_obligations_rewrite_results_over_both_transports() {
    let world = World::new();
    let mut tokens = Vec::new();
    for transport in both("redactor", "flaky") {
        let out = world.client(
            &transport,
            &json!([{"op": "call_tool", "name": "customer"}]),
        );
        let text = out[1]["text"].as_str().unwrap();
        assert!(text.contains("Customer: Jane Roe"), "{text}");
        assert!(text.contains("[REDACTED:email]"), "{text}");
        assert!(!text.contains("jane.roe@"), "{text}");
        assert!(!text.contains("GB29NWBK60161331926819"), "{text}");
        let token = text
            .split("IBAN ")
            .nth(1)
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_owned();
        assert!(token.starts_with("tok_"), "{text}");
        tokens.push(token);
    }
    // Tokens are stable: the same value gives the same token.
    assert_eq!(tokens[0], tokens[1]);
}

#[test]
fn results_the_manifest_may_not_read_are_withheld() {
    let world = World::new();
    for transport in both("narrow", "flaky") {
        let out = world.client(
            &transport,
            &json!([{"op": "call_tool", "name": "customer"}, {"op": "call_tool", "name": "ok"}]),
        );
        assert_eq!(out[1]["is_error"], true, "{transport:?}: {}", out[1]);
        let text = out[1]["text"].as_str().unwrap();
        assert!(text.starts_with("Withheld by Warden"), "{text}");
        assert!(text.contains("`pii.contact`"), "{text}");
        assert!(!text.contains("jane.roe@"), "{text}");
        assert_eq!(
            out[1]["meta"]["dev.warden/decision"]["decision"],
            "withheld"
        );
        // A result without such data is delivered.
        assert_eq!(out[2]["text"], "fine");
    }
}

#[test]
fn hosted_server_processes_are_bounded_and_stopped_with_their_session() {
    let world = World::with_mcp("max_hosted_servers = 1");
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/mcp/filesystem", world.gateway());
    let token = world.token("fs-reader");
    let open = || open_raw_session(&client, &url, &token);
    let first = open();
    assert_eq!(first.status(), 200);
    let sid = first.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = first.text().unwrap();
    assert!(body.contains("secure-filesystem-server"), "{body}");
    // One process is running: a second session is refused, clearly.
    let second = open();
    assert_eq!(second.status(), 503);
    let body: Value = second.json().unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_hosted_servers"),
        "{body}"
    );
    // Ending the first session stops its process and makes room.
    let end = client
        .delete(&url)
        .bearer_auth(&token)
        .header("mcp-session-id", &sid)
        .send()
        .unwrap();
    assert_eq!(end.status(), 200);
    assert_eq!(open().status(), 200);
}

#[test]
fn a_client_that_leaves_mid_call_does_not_wedge_the_session() {
    let world = World::new();
    let url = format!("{}/mcp/flaky", world.gateway());
    let token = world.token("flaky-user");
    let post = |id: u64, method: &str, params: Value, sid: Option<&str>, timeout: Duration| {
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap();
        let mut r = client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
            );
        if let Some(sid) = sid {
            r = r.header("mcp-session-id", sid);
        }
        r.send().and_then(|r| {
            let sid = r
                .headers()
                .get("mcp-session-id")
                .map(|v| v.to_str().unwrap().to_owned());
            r.text().map(|t| (sid, t))
        })
    };
    let long = Duration::from_secs(20);
    let t0 = Instant::now();
    let (sid, _) = post(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "raw", "version": "0"}}),
        None,
        long,
    )
    .unwrap();
    let sid = sid.unwrap();
    // The client gives up on a hung call after half a second and goes away.
    let gone = post(
        2,
        "tools/call",
        json!({"name": "hang", "arguments": {}}),
        Some(&sid),
        Duration::from_millis(500),
    );
    assert!(gone.is_err());
    // The session goes on.
    let (_, ping) = post(3, "ping", json!({}), Some(&sid), long).unwrap();
    assert!(ping.contains("\"id\":3"), "{ping}");
    let (_, ok) = post(
        4,
        "tools/call",
        json!({"name": "ok", "arguments": {}}),
        Some(&sid),
        long,
    )
    .unwrap();
    assert!(ok.contains("fine"), "{ok}");
    // Each answer's stream ended with its response, not at the call timeout
    // (3 s here): the whole exchange, the abandoned call included, is quick.
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

/// Issue 11: one agent (or one client that never sends DELETE) could take
/// every hosted server process.
#[test]
fn hosted_server_processes_are_bounded_per_agent() {
    let world = World::with_mcp("max_hosted_servers = 3\nmax_hosted_servers_per_agent = 1");
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/mcp/filesystem", world.gateway());
    let token = world.token("fs-reader");
    let open = || open_raw_session(&client, &url, &token);
    let first = open();
    assert_eq!(first.status(), 200);
    let second = open();
    assert_eq!(second.status(), 503);
    let body: Value = second.json().unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("agent `fs-reader` runs 1 hosted tool server processes already"),
        "{message}"
    );
}

/// Opens an MCP session at `url` with a raw `initialize` (no SDK).
fn open_raw_session(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
) -> reqwest::blocking::Response {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}});
    client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string())
        .send()
        .unwrap()
}
