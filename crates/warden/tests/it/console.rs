//! The web console in a real browser (issue 14): `warden serve` with the
//! example configuration and a scripted load of decisions, then
//! `tests/console/console_test.py` drives headless Chromium (Debian's
//! `chromium`, through Playwright for Python) through sign-in, the overview,
//! agents, approvals, suspension, revocation, proofs, roles, CSRF, escaping,
//! axe-core and screenshots, and ends by tampering with the store.
//!
//! The browser, Playwright and axe-core are installed by
//! `tests/console/setup.sh` (scripts/test.sh runs it). Without them the test
//! says SKIPPED loudly, or fails under `WARDEN_TEST_STRICT`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::mcp::{Killed, free_port, wait_port};
use crate::{examples, text, warden};

const IBAN: &str = "DE89370400440532013000";

/// What the browser test needs, or why it cannot run.
fn missing(dir: &Path) -> Option<String> {
    let needed = [
        dir.join(".venv/bin/python"),
        dir.join("node_modules/axe-core/axe.min.js"),
        PathBuf::from("/usr/bin/chromium"),
    ];
    needed
        .iter()
        .find(|p| !p.exists())
        .map(|p| p.display().to_string())
}

/// `warden serve` on the examples, with the first admin token it printed.
struct Served {
    _server: Killed,
    data_port: u16,
    admin_port: u16,
    admin_token: String,
    log: PathBuf,
}

fn serve(data: &Path) -> Served {
    let (data_port, admin_port) = (free_port(), free_port());
    let log = data.join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(examples().join("warden.toml"))
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
        .env_remove("WARDEN_STORE")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // "first start: admin token (role admin) written to …", then the token
    // on a line of its own. The rest of stdout is drained, never closed.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(
        first.starts_with("first start: admin token"),
        "warden serve printed {first:?} first"
    );
    let admin_token = lines
        .next()
        .and_then(Result::ok)
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(!admin_token.is_empty(), "no admin token printed");
    std::thread::spawn(move || for _ in lines {});
    let server = Killed(child);
    wait_port(data_port, "warden serve");
    wait_port(admin_port, "warden serve (admin plane)");
    Served {
        _server: server,
        data_port,
        admin_port,
        admin_token,
        log,
    }
}

/// One output line of the CLI, checked.
fn created(out: &std::process::Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

/// Waits until the running gateway accepts an admin token made by the CLI
/// (it learns of new tokens from the store's change feed).
fn wait_accepted(served: &Served, token: &str) {
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = client
            .get(format!(
                "http://127.0.0.1:{}/v1/approvals",
                served.admin_port
            ))
            .bearer_auth(token)
            .send()
            .unwrap();
        if r.status() == 200 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway still refuses an admin token made with `warden admin-token create`: {}",
            r.text().unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The scripted load: each agent's allowed, denied and needs-approval
/// actions, as in the README's walkthrough; every answer is checked.
fn load(served: &Served, tokens: &Value, approver: &str) {
    let client = reqwest::blocking::Client::new();
    let data = format!("http://127.0.0.1:{}", served.data_port);
    let decide = |agent: &str, server: &str, tool: &str, args: Value, session: String| {
        let r = client
            .post(format!("{data}/v1/decisions"))
            .bearer_auth(tokens[agent].as_str().unwrap())
            .json(&json!({"server": server, "tool": tool, "args": args, "session": session}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().unwrap()
    };
    let expect = |d: Value, want: &str| {
        assert_eq!(d["decision"], want, "{d}");
        d
    };
    for i in 0..30 {
        let args = json!({"invoice_id": format!("INV-{i}")});
        let d = decide(
            "invoice-bot",
            "accounting",
            "read_invoice",
            args,
            format!("load-{}", i / 10),
        );
        expect(d, "allow");
    }
    for amount in [98.7, 120.0, 450.0] {
        let args = json!({"amount": amount, "iban": IBAN});
        let d = decide(
            "invoice-bot",
            "accounting",
            "schedule_payment",
            args,
            "pay".into(),
        );
        expect(d, "allow");
    }
    for amount in [25000, 12000] {
        let args = json!({"amount": amount, "iban": IBAN});
        let d = decide(
            "invoice-bot",
            "accounting",
            "schedule_payment",
            args,
            "pay".into(),
        );
        expect(d, "deny");
    }
    let args = json!({"id": "c-1"});
    expect(
        decide("invoice-bot", "crm", "delete_customer", args, "s".into()),
        "deny",
    );
    let mail = json!({"to": "someone@elsewhere.example", "subject": "hi", "body": "hello"});
    expect(
        decide("invoice-bot", "mail", "send", mail.clone(), "s".into()),
        "deny",
    );
    // One approval left pending, one approved over the admin API.
    let args = json!({"amount": 7500, "iban": IBAN, "reference": "load-pending"});
    expect(
        decide(
            "invoice-bot",
            "accounting",
            "schedule_payment",
            args,
            "pay-2".into(),
        ),
        "needs_approval",
    );
    let args = json!({"amount": 9000, "iban": IBAN, "reference": "load-approved"});
    let d = expect(
        decide(
            "invoice-bot",
            "accounting",
            "schedule_payment",
            args,
            "pay-3".into(),
        ),
        "needs_approval",
    );
    let r = client
        .post(format!(
            "http://127.0.0.1:{}/v1/approvals/{}/approve",
            served.admin_port,
            d["id"].as_str().unwrap()
        ))
        .bearer_auth(approver)
        .json(&json!({"note": "checked"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());
    for i in 0..5 {
        let args = json!({"id": format!("c-{i}")});
        let d = decide("support-bot", "crm", "lookup_customer", args, "t-1".into());
        expect(d, "allow");
    }
    expect(
        decide("support-bot", "mail", "send", mail, "t-1".into()),
        "deny",
    );
    let args = json!({"id": "c-9"});
    expect(
        decide("support-bot", "crm", "delete_customer", args, "t-2".into()),
        "needs_approval",
    );
    for page in ["Merkle_tree", "Audit", "Cedar"] {
        let args = json!({"url": format!("https://en.wikipedia.org/wiki/{page}")});
        expect(
            decide("research-bot", "web", "fetch", args, "r-1".into()),
            "allow",
        );
    }
    for host in ["evil.example", "paste.example"] {
        let args = json!({"url": format!("https://{host}/x")});
        expect(
            decide("research-bot", "web", "fetch", args, "r-1".into()),
            "deny",
        );
    }
}

#[test]
fn the_console_works_in_headless_chromium() {
    let dir = crate::tests_dir("console");
    if let Some(what) = missing(&dir) {
        warden_test::skip_unless_strict(
            "the console browser test",
            &what,
            "tests/console/setup.sh",
        );
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let served = serve(data.path());
    let admin_token = |role: &str, name: &str| {
        let out = warden(
            data.path(),
            &["admin-token", "create", "--role", role, "--name", name],
        );
        created(&out, "admin-token create")
    };
    let approver = admin_token("approver", "console-approver");
    let auditor = admin_token("auditor", "console-auditor");
    wait_accepted(&served, &approver);
    wait_accepted(&served, &auditor);
    let mut tokens = serde_json::Map::new();
    for agent in ["invoice-bot", "support-bot", "research-bot"] {
        let out = warden(
            data.path(),
            &[
                "agent",
                "token",
                agent,
                "--instance",
                "laptop-1",
                "--ttl",
                "1h",
            ],
        );
        tokens.insert(agent.to_owned(), created(&out, "agent token").into());
    }
    let tokens = Value::Object(tokens);
    load(&served, &tokens, &approver);

    let repo = dir.join("../..").canonicalize().unwrap();
    let output = data.path().join("console_test.out");
    let file = std::fs::File::create(&output).unwrap();
    let mut python = Command::new(dir.join(".venv/bin/python"));
    python
        .arg(dir.join("console_test.py"))
        .current_dir(&repo)
        .env(
            "WARDEN_CONSOLE_ADMIN_URL",
            format!("http://127.0.0.1:{}", served.admin_port),
        )
        .env(
            "WARDEN_CONSOLE_DATA_URL",
            format!("http://127.0.0.1:{}", served.data_port),
        )
        .env("WARDEN_CONSOLE_ADMIN_TOKEN", &served.admin_token)
        .env("WARDEN_CONSOLE_APPROVER_TOKEN", &approver)
        .env("WARDEN_CONSOLE_APPROVER_NAME", "console-approver")
        .env("WARDEN_CONSOLE_AUDITOR_TOKEN", &auditor)
        .env("WARDEN_CONSOLE_AGENT_TOKENS", tokens.to_string())
        .env(
            "WARDEN_CONSOLE_DB",
            data.path().join(warden_store::SQLITE_FILE_NAME),
        )
        .env_remove("WARDEN_CONSOLE_WARDEN")
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    let mut child = python.spawn().unwrap();
    let status = warden_test::wait_at_most(&mut child, Duration::from_secs(600));
    let report = std::fs::read_to_string(&output).unwrap_or_default();
    if status.is_some_and(|s| s.success()) {
        eprintln!("{report}");
    }
    let log_tail = warden_test::file_tail(&served.log, 4000);
    assert!(
        status.is_some_and(|s| s.success()),
        "console_test.py {}:\n{report}\n--- warden serve's log (last 4,000 characters) ---\n{}",
        status.map_or("did not finish in 10 minutes".to_owned(), |s| format!(
            "failed ({s})"
        )),
        log_tail
    );
}
