//! Three `warden serve` processes on one PostgreSQL database: changes made at
//! one node are in force at the others within a second, session state and
//! budgets hold exactly whatever node a request lands on, and `kill -9` of a
//! node under load loses no answered decision from the one audit log.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve::{Server, free_port, wait_healthy};
use crate::{examples, text};

/// A fresh database on the test server, dropped at the end.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

impl Database {
    fn create(admin_url: &str) -> Database {
        let name = format!(
            "warden_cluster_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        block_on(async {
            let pool = sqlx::PgPool::connect(admin_url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
        let mut url = url::Url::parse(admin_url).unwrap();
        url.set_path(&name);
        Database {
            admin_url: admin_url.to_owned(),
            url: url.to_string(),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        block_on(async move {
            if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&pool)
                .await;
                pool.close().await;
            }
        });
    }
}

/// Nodes sharing one data directory (keys, witness) and one database.
struct Cluster {
    db: Database,
    dir: tempfile::TempDir,
    nodes: Vec<Option<Server>>,
    data_ports: Vec<u16>,
    admin_ports: Vec<u16>,
}

impl Cluster {
    /// Starts `n` nodes, one after the other (the first creates the keys),
    /// with `tweak` applied to the example set's files first.
    fn start(db: Database, n: usize, tweak: impl FnOnce(&Path)) -> Option<Cluster> {
        let dir = tempfile::tempdir().unwrap();
        warden_test::copy_dir(&examples(), &dir.path().join("config"));
        tweak(&dir.path().join("config"));
        let mut cluster = Cluster {
            db,
            dir,
            nodes: Vec::new(),
            data_ports: Vec::new(),
            admin_ports: Vec::new(),
        };
        for _ in 0..n {
            let (data, admin) = (free_port(), free_port());
            let log = std::fs::File::create(
                cluster
                    .dir
                    .path()
                    .join(format!("node-{}.log", cluster.nodes.len())),
            )
            .unwrap();
            let child = cluster
                .command()
                .args([
                    "serve",
                    "--listen",
                    &format!("127.0.0.1:{data}"),
                    "--admin-listen",
                    &format!("127.0.0.1:{admin}"),
                ])
                .env("WARDEN_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            cluster.nodes.push(Some(Server(child)));
            wait_healthy(data);
            wait_healthy(admin);
            cluster.data_ports.push(data);
            cluster.admin_ports.push(admin);
        }
        Some(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `warden` against this cluster's configuration, data and database.
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
        c.arg("--config")
            .arg(self.dir.path().join("config").join("warden.toml"))
            .arg("--data-dir")
            .arg(self.data_dir())
            .env("WARDEN_STORE", &self.db.url);
        c
    }

    fn token(&self, agent: &str) -> String {
        let out = self
            .command()
            .args(["agent", "token", agent])
            .env("WARDEN_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    }

    fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("admin.token"))
            .unwrap()
            .trim()
            .to_owned()
    }

    fn log(&self, node: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("node-{node}.log")))
            .unwrap_or_default()
    }
}

/// `POST /v1/decisions` at `port`: (status, body).
fn decide(
    client: &reqwest::blocking::Client,
    port: u16,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    let r = client
        .post(format!("http://127.0.0.1:{port}/v1/decisions"))
        .bearer_auth(token)
        .json(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn postgres() -> Option<String> {
    let url = std::env::var("WARDEN_TEST_POSTGRES").ok();
    if url.is_none() {
        warden_test::skip_unless_strict(
            "the three-node tests",
            "WARDEN_TEST_POSTGRES",
            "scripts/test.sh",
        );
    }
    url
}

#[test]
fn three_nodes_share_revocations_taint_and_exact_budgets() {
    let Some(url) = postgres() else { return };
    // An hourly budget small enough to spend in the test.
    let cluster = Cluster::start(Database::create(&url), 3, |config| {
        let path = config.join("agents").join("invoice-bot.yaml");
        let yaml = std::fs::read_to_string(&path).unwrap();
        let yaml = yaml.replace(
            "budgets: { per_session: 20, per_hour: 1000 }",
            "budgets: { per_session: 20, per_hour: 30 }",
        );
        assert!(yaml.contains("per_hour: 30"), "the example's budgets moved");
        std::fs::write(&path, yaml).unwrap();
    })
    .unwrap();
    let client = reqwest::blocking::Client::new();
    let ports = cluster.data_ports.clone();

    // Taint read at node 0 is felt at node 2: the send node 2 allowed
    // before is denied there after the read.
    let support = cluster.token("support-bot");
    let send = json!({"server": "mail", "tool": "send", "session": "case-1",
                      "args": {"to": "auditor@kpmg.example", "subject": "summary", "body": "a summary"}});
    let (_, before) = decide(&client, ports[2], &support, &send);
    assert_eq!(before["decision"], "allow", "{before}");
    let (status, read) = decide(
        &client,
        ports[0],
        &support,
        &json!({"server": "crm", "tool": "lookup_customer", "args": {"id": "c-1"}, "session": "case-1"}),
    );
    assert_eq!((status, read["decision"].as_str()), (200, Some("allow")));
    let observed = client
        .post(format!("http://127.0.0.1:{}/v1/observations", ports[0]))
        .bearer_auth(&support)
        .json(&json!({"decision": read["id"], "output": {"email": "jane.roe@customer-mail.example", "phone": "+49 30 901820"}}))
        .send()
        .unwrap();
    assert_eq!(observed.status().as_u16(), 200);
    let observed: Value = observed.json().unwrap();
    assert!(
        observed["classes"].to_string().contains("pii.contact"),
        "{observed}"
    );
    let (_, tainted) = decide(&client, ports[2], &support, &send);
    assert_eq!(tainted["decision"], "deny", "{tainted}");
    assert!(
        tainted["reasons"]
            .to_string()
            .contains("read `pii.contact` from crm/lookup_customer"),
        "the denial names the read made at another node: {tainted}"
    );

    // A session budget of 20 allows exactly 20 across the nodes under
    // concurrent load; then the hourly budget of 30 allows exactly 10 more.
    let invoice = cluster.token("invoice-bot");
    let burst = |session: &str, requests: usize| -> (usize, Vec<String>) {
        let allowed = Arc::new(Mutex::new(0usize));
        let reasons = Arc::new(Mutex::new(Vec::new()));
        std::thread::scope(|s| {
            for t in 0..6 {
                let (client, invoice, ports) = (&client, &invoice, &ports);
                let (allowed, reasons) = (Arc::clone(&allowed), Arc::clone(&reasons));
                s.spawn(move || {
                    for i in 0..requests / 6 {
                        let port = ports[(t + i) % ports.len()];
                        let (status, d) = decide(
                            client,
                            port,
                            invoice,
                            &json!({"server": "accounting", "tool": "read_invoice",
                                    "args": {"invoice_id": format!("INV-{t}-{i}")}, "session": session}),
                        );
                        assert_eq!(status, 200, "{d}");
                        if d["decision"] == "allow" {
                            *allowed.lock().unwrap() += 1;
                        } else {
                            reasons.lock().unwrap().push(d["reasons"].to_string());
                        }
                    }
                });
            }
        });
        let n = *allowed.lock().unwrap();
        let r = reasons.lock().unwrap().clone();
        (n, r)
    };
    let (allowed, denied) = burst("batch-1", 42);
    assert_eq!(allowed, 20, "exactly the session budget: {denied:?}");
    assert!(
        denied.iter().all(|r| r.contains("session budget 20 spent")),
        "{denied:?}"
    );
    let (allowed, denied) = burst("batch-2", 42);
    assert_eq!(allowed, 10, "exactly what the hour had left: {denied:?}");
    assert!(
        denied.iter().all(|r| r.contains("hourly budget 30 spent")),
        "{denied:?}"
    );

    // A revocation at node 0's admin plane is in force at nodes 1 and 2
    // within a second.
    let research = cluster.token("research-bot");
    let read = json!({"server": "filesystem", "tool": "list_directory", "args": {"path": "/tmp"}, "session": "r-1"});
    for &port in &ports {
        assert_eq!(decide(&client, port, &research, &read).0, 200);
    }
    let revoked = client
        .post(format!(
            "http://127.0.0.1:{}/v1/revocations",
            cluster.admin_ports[0]
        ))
        .bearer_auth(cluster.admin_token())
        .json(&json!({"agent": "research-bot", "reason": "cluster test"}))
        .send()
        .unwrap();
    assert_eq!(
        revoked.status().as_u16(),
        200,
        "{}",
        revoked.text().unwrap()
    );
    let at = Instant::now();
    let mut felt = [None, None];
    while felt.iter().any(Option::is_none) && at.elapsed() < Duration::from_secs(5) {
        for (i, port) in ports[1..].iter().enumerate() {
            if felt[i].is_none() {
                let (status, body) = decide(&client, *port, &research, &read);
                if status == 401 {
                    assert!(body.to_string().contains("revoked"), "{body}");
                    felt[i] = Some(at.elapsed());
                }
            }
        }
    }
    for (i, felt) in felt.iter().enumerate() {
        let felt = felt.unwrap_or_else(|| panic!("node {} never refused the revoked agent", i + 1));
        assert!(
            felt < Duration::from_secs(1),
            "node {} refused it after {felt:?}",
            i + 1
        );
    }
    // A key rotation by the CLI reaches every node: a token signed with the
    // new key is accepted at each within a second, and one signed with the
    // old key still is, until it expires.
    let support_old = cluster.token("support-bot");
    let rotated = cluster
        .command()
        .args(["keys", "rotate"])
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    let support_new = cluster.token("support-bot");
    let kid = |token: &str| {
        use base64::Engine as _;
        let header = token.split('.').next().unwrap();
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        header["kid"].as_str().unwrap().to_owned()
    };
    assert_ne!(
        kid(&support_old),
        kid(&support_new),
        "signed with the new key"
    );
    let lookup = json!({"server": "crm", "tool": "lookup_customer", "args": {"id": "c-2"}, "session": "case-9"});
    let at = Instant::now();
    for &port in &ports {
        while decide(&client, port, &support_new, &lookup).0 != 200 {
            assert!(
                at.elapsed() < Duration::from_secs(1),
                "node at {port} did not take the new key within 1 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(decide(&client, port, &support_old, &lookup).0, 200);
    }
    let listed = cluster
        .command()
        .args(["keys", "list"])
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap();
    let listed = text(&listed.stdout);
    assert!(
        listed.contains(&format!("{}  current since", kid(&support_new))),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("{}  retired", kid(&support_old))),
        "{listed}"
    );

    for node in 0..3 {
        assert!(
            !cluster.log(node).contains("ERROR"),
            "node {node}: {}",
            cluster.log(node)
        );
    }
}

#[test]
fn kill_9_of_a_node_under_load_loses_no_answered_decision() {
    let Some(url) = postgres() else { return };
    let mut cluster = Cluster::start(Database::create(&url), 3, |_| {}).unwrap();
    let support = cluster.token("support-bot");
    let ports = cluster.data_ports.clone();
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    std::thread::scope(|s| {
        for t in 0..6 {
            let (answered, stop, support, ports) = (
                Arc::clone(&answered),
                Arc::clone(&stop),
                support.clone(),
                ports.clone(),
            );
            s.spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let mut i = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let port = ports[(t + i) % ports.len()];
                    let body = json!({"server": "crm", "tool": "lookup_customer",
                                      "args": {"id": format!("c-{t}-{i}")}, "session": format!("load-{t}-{}", i / 40)});
                    let sent = client
                        .post(format!("http://127.0.0.1:{port}/v1/decisions"))
                        .bearer_auth(&support)
                        .json(&body)
                        .send();
                    // A node killed mid-request answers nothing: not counted.
                    if let Ok(r) = sent
                        && r.status().as_u16() == 200
                        && let Ok(d) = r.json::<Value>()
                        && let Some(id) = d["id"].as_str()
                    {
                        answered.lock().unwrap().push(id.to_owned());
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        // The node that has appended most recently is as good a "sequencer"
        // as any: every node appends under the database's lock.
        let mut node = cluster.nodes[0].take().unwrap();
        node.0.kill().unwrap(); // SIGKILL
        let _ = node.0.wait();
        std::thread::sleep(Duration::from_millis(1500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() > 100, "too little load: {}", answered.len());

    // Stop the others so that their last records and checkpoints are in.
    for node in cluster.nodes.iter_mut().skip(1) {
        if let Some(mut server) = node.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &server.0.id().to_string()])
                .status();
            let _ = server.0.wait();
        }
    }
    let verify = cluster
        .command()
        .args(["audit", "verify"])
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    assert!(
        text(&verify.stdout).starts_with("ok:"),
        "{}",
        text(&verify.stdout)
    );
    let export = cluster.dir.path().join("export");
    let out = cluster
        .command()
        .args(["audit", "export"])
        .arg(&export)
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records = std::fs::read_to_string(export.join("records.jsonl")).unwrap();
    let missing: Vec<&String> = answered
        .iter()
        .filter(|id| !records.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered decisions are not in the log: {:?}",
        missing.len(),
        answered.len(),
        &missing[..missing.len().min(5)]
    );
}
