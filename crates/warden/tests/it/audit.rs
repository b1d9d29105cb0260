//! `warden audit …` and the log's durability, as a user runs them.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{examples, text, warden};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data: &std::path::Path, port: u16, admin: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(examples().join("warden.toml"))
        .arg("--data-dir")
        .arg(data)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
        ])
        .env("WARDEN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "warden serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn token(data: &std::path::Path) -> String {
    let out = warden(data, &["agent", "token", "invoice-bot", "--ttl", "1h"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

/// Answered decision ids, collected while a load runs.
type Answered = Arc<Mutex<BTreeSet<String>>>;

async fn load(port: u16, token: String, answered: Answered, workers: usize) {
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (client, token, answered) = (client.clone(), token.clone(), Arc::clone(&answered));
        tasks.push(tokio::spawn(async move {
            for i in 0..100_000u64 {
                let body = serde_json::json!({"server": "accounting", "tool": "read_invoice",
                    "args": {"invoice_id": format!("INV-{w}-{i}")}, "session": format!("load-{w}-{}", i / 15)});
                let Ok(r) = client.post(format!("http://127.0.0.1:{port}/v1/decisions")).bearer_auth(&token).json(&body).send().await else {
                    return;
                };
                let Ok(v) = r.json::<serde_json::Value>().await else { return };
                if let Some(id) = v["id"].as_str() {
                    answered.lock().unwrap().insert(id.to_owned());
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

#[test]
fn kill_9_mid_load_loses_no_answered_decision_and_the_log_verifies() {
    let data = tempfile::tempdir().unwrap();
    let (port, admin) = (free_port(), free_port());
    let mut server = start(data.path(), port, admin);
    let token = token(data.path());
    let answered: Answered = Arc::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let load_task = {
        let answered = Arc::clone(&answered);
        rt.spawn(load(port, token, answered, 16))
    };
    // Let a few hundred decisions through, then kill -9 in the middle of the load.
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.lock().unwrap().len() < 300 {
        assert!(Instant::now() < deadline, "the load did not get going");
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    rt.block_on(load_task).unwrap();
    let answered = answered.lock().unwrap().clone();

    // Every answered decision has its record.
    let export = data.path().join("export");
    let out = warden(data.path(), &["audit", "export", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records = std::fs::read_to_string(export.join("records.jsonl")).unwrap();
    let recorded: BTreeSet<String> = records
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["decision_id"].as_str().map(str::to_owned))
        .collect();
    let missing: Vec<&String> = answered.difference(&recorded).collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered decisions have no record: {:?}",
        missing.len(),
        answered.len(),
        &missing[..missing.len().min(5)]
    );

    let verify = warden(data.path(), &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    assert!(
        text(&verify.stdout).starts_with("ok: "),
        "{}",
        text(&verify.stdout)
    );

    // A restarted server carries on with the same log.
    let mut server = start(data.path(), port, admin);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn export_verifies_offline_with_the_standalone_verifier_and_erasure_keeps_it_verifiable() {
    let data = tempfile::tempdir().unwrap();
    let (port, admin) = (free_port(), free_port());
    let mut server = start(data.path(), port, admin);
    let token = token(data.path());
    let client = reqwest::blocking::Client::new();
    for amount in [98.7, 25000.0, 120.0] {
        let body = serde_json::json!({"server": "accounting", "tool": "schedule_payment",
            "args": {"amount": amount, "iban": "DE89370400440532013000"}, "session": "s"});
        let r = client
            .post(format!("http://127.0.0.1:{port}/v1/decisions"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Erase record 0's arguments while the server runs (GDPR): the erasure is itself a record.
    let erase = warden(
        data.path(),
        &["audit", "erase", "0", "--reason", "data subject request 42"],
    );
    assert!(erase.status.success(), "{}", text(&erase.stderr));
    assert!(
        text(&erase.stdout).contains("the erasure is record 3"),
        "{}",
        text(&erase.stdout)
    );
    // Records 1 and 2 shared record 0's wrapping key: wrapped again, and the
    // old key's file is gone (the server's writer takes a fresh key).
    assert!(
        text(&erase.stdout)
            .contains("its wrapping key is destroyed; 2 other payload keys were wrapped again"),
        "{}",
        text(&erase.stdout)
    );
    let again = warden(data.path(), &["audit", "erase", "0", "--reason", "twice"]);
    assert!(!again.status.success());
    // The server keeps appending after the CLI did.
    let body = serde_json::json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "x"}, "session": "s"});
    client
        .post(format!("http://127.0.0.1:{port}/v1/decisions"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let verify = warden(data.path(), &["audit", "verify"]);
    assert!(
        text(&verify.stdout).starts_with("ok: 5 records"),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );

    // Export, then verify the export elsewhere with nothing but the standalone verifier.
    let export = data.path().join("export");
    let out = warden(data.path(), &["audit", "export", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let elsewhere = tempfile::tempdir().unwrap();
    for entry in walk(&export) {
        let target = elsewhere.path().join(entry.strip_prefix(&export).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
    let verifier =
        std::path::Path::new(env!("CARGO_BIN_EXE_warden")).with_file_name("warden-audit-verify");
    if verifier.exists() {
        let out = Command::new(&verifier)
            .arg(elsewhere.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).starts_with("ok: 5 records"),
            "{}",
            text(&out.stdout)
        );
    } else {
        assert!(
            std::env::var_os("WARDEN_TEST_STRICT").is_none(),
            "WARDEN_TEST_STRICT is set: the standalone verifier check may not be skipped (build `warden-audit-verify`)"
        );
        eprintln!(
            "SKIPPED: the standalone verifier check (`{}` is not built; `cargo test --workspace` builds it)",
            verifier.display()
        );
    }
    let offline = warden(
        data.path(),
        &[
            "audit",
            "verify",
            "--export",
            elsewhere.path().to_str().unwrap(),
        ],
    );
    assert!(
        text(&offline.stdout).starts_with("ok: 5 records"),
        "{}",
        text(&offline.stdout)
    );

    // Tamper with the copy: the first bad record is named.
    let records = elsewhere.path().join("records.jsonl");
    let tampered = std::fs::read_to_string(&records)
        .unwrap()
        .replacen("\"deny\"", "\"allow\"", 1);
    std::fs::write(&records, tampered).unwrap();
    let offline = warden(
        data.path(),
        &[
            "audit",
            "verify",
            "--export",
            elsewhere.path().to_str().unwrap(),
        ],
    );
    assert!(!offline.status.success());
    assert!(
        text(&offline.stdout).starts_with("FAILED"),
        "{}",
        text(&offline.stdout)
    );

    // A proof a third party can check.
    let prove = warden(data.path(), &["audit", "prove", "1"]);
    assert!(prove.status.success(), "{}", text(&prove.stderr));
    let p: serde_json::Value = serde_json::from_slice(&prove.stdout).unwrap();
    let cp = warden_audit::open_checkpoint(
        p["checkpoint"].as_str().unwrap(),
        p["vkey"].as_str().unwrap(),
    )
    .unwrap();
    let leaf = warden_audit::leaf_hash(p["record"].as_str().unwrap().as_bytes());
    let path: Vec<warden_audit::Hash> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let bytes: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&h.as_str().unwrap()[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            bytes.try_into().unwrap()
        })
        .collect();
    warden_audit::verify_inclusion(&leaf, 1, cp.size, &path, &cp.root).unwrap();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_graceful_shutdown_publishes_a_checkpoint_covering_every_record() {
    let data = tempfile::tempdir().unwrap();
    let (port, admin) = (free_port(), free_port());
    let mut server = start(data.path(), port, admin);
    let token = token(data.path());
    let body = serde_json::json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "x"}, "session": "s"});
    let r = reqwest::blocking::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/decisions"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(server.wait().unwrap().success(), "a clean exit on SIGTERM");
    assert!(
        data.path()
            .join("witness")
            .join(format!("{:020}.note", 1))
            .is_file(),
        "the final checkpoint is published"
    );
    let verify = warden(data.path(), &["audit", "verify"]);
    assert!(
        text(&verify.stdout).starts_with("ok: 1 records, 1 checkpoints"),
        "{}",
        text(&verify.stdout)
    );
}

/// Issue 11: "a gateway restarted in the middle of a tainted session still
/// refuses that session's uncleared send", and a spent budget stays spent.
#[test]
fn a_restart_forgets_neither_taint_nor_budgets() {
    let data = tempfile::tempdir().unwrap();
    let (port, admin) = (free_port(), free_port());
    let mut server = start(data.path(), port, admin);
    let agent_token = |agent: &str| {
        let out = warden(data.path(), &["agent", "token", agent, "--ttl", "1h"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    };
    let (support, invoices) = (agent_token("support-bot"), agent_token("invoice-bot"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // No pooled connection outlives the killed server.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let post = |path: &str, token: &str, body: serde_json::Value| {
        let request = client
            .post(format!("http://127.0.0.1:{port}{path}"))
            .bearer_auth(token)
            .json(&body);
        rt.block_on(async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<serde_json::Value>().await.unwrap()
        })
    };
    let read = serde_json::json!({"server": "filesystem", "tool": "read_text_file", "session": "case-7",
        "args": {"path": "/srv/examples/shared/customers/jane-roe.txt"}});
    let d = post("/v1/decisions", &support, read);
    assert_eq!(d["decision"], "allow", "{d}");
    let o = post(
        "/v1/observations",
        &support,
        serde_json::json!({"decision": d["id"],
        "output": "Name: Jane Roe\nE-mail: jane.roe@customer-mail.example\nDate of birth: 12/03/1984"}),
    );
    assert!(o["classes"].to_string().contains("pii"), "{o}");
    for i in 0..20 {
        let d = post(
            "/v1/decisions",
            &invoices,
            serde_json::json!({"server": "accounting",
            "tool": "read_invoice", "session": "s-budget", "args": {"invoice_id": format!("INV-{i}")}}),
        );
        assert_eq!(d["decision"], "allow", "{d}");
    }
    // Session state is written behind within a watch period (250 ms).
    std::thread::sleep(Duration::from_millis(1500));
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();

    let mut server = start(data.path(), port, admin);
    let send = serde_json::json!({"server": "mail", "tool": "send", "session": "case-7",
        "args": {"to": "auditor@kpmg.example", "subject": "case 7", "body": "a summary"}});
    let d = post("/v1/decisions", &support, send);
    assert_eq!(d["decision"], "deny", "{d}");
    assert!(
        d["reasons"]
            .to_string()
            .contains("filesystem/read_text_file"),
        "{d}"
    );
    let d = post(
        "/v1/decisions",
        &invoices,
        serde_json::json!({"server": "accounting",
        "tool": "read_invoice", "session": "s-budget", "args": {"invoice_id": "INV-21"}}),
    );
    assert_eq!(d["decision"], "deny", "{d}");
    assert!(
        d["reasons"].to_string().contains("session budget 20 spent"),
        "{d}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
