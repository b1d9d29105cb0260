//! The cost of running several nodes on one PostgreSQL database, as
//! `warden serve` processes on this machine:
//!
//! - decisions per second and p50/p99/max at concurrency 16 (16 agent
//!   instances, sessions spread), one node against three nodes;
//! - the same with all 16 callers as one agent instance (its decisions run
//!   one at a time across the nodes: the price of exact session state);
//! - revocation propagation: from the revocation's request at node 0 to the
//!   first refusal at nodes 1 and 2, p50 and p99 over 30 revocations;
//! - a node killed with SIGKILL under load: the longest a request waited at
//!   a surviving node around the kill, and how many failed there.
//!
//! `WARDEN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test cargo bench -p warden --bench cluster`
//! (`WARDEN_BENCH_SECS` sets each run's length, default 5).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "a benchmark: a failed unwrap is a failed run"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Cluster {
    url: String,
    admin_url: String,
    db: String,
    dir: tempfile::TempDir,
    nodes: Vec<Option<Node>>,
    data: Vec<u16>,
    admin: Vec<u16>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "no node on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

impl Cluster {
    async fn start(admin_url: &str, n: usize) -> Cluster {
        let db = format!(
            "warden_bench_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let pool = sqlx::PgPool::connect(admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let mut url = url::Url::parse(admin_url).unwrap();
        url.set_path(&db);
        let mut c = Cluster {
            url: url.to_string(),
            admin_url: admin_url.to_owned(),
            db,
            dir: tempfile::tempdir().unwrap(),
            nodes: Vec::new(),
            data: Vec::new(),
            admin: Vec::new(),
        };
        for _ in 0..n {
            let (data, admin) = (free_port(), free_port());
            let child = c
                .command()
                .args(["serve", "--listen", &format!("127.0.0.1:{data}")])
                .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            c.nodes.push(Some(Node(child)));
            wait_listening(data);
            wait_listening(admin);
            c.data.push(data);
            c.admin.push(admin);
        }
        c
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
        c.arg("--config")
            .arg(examples().join("warden.toml"))
            .arg("--data-dir")
            .arg(self.dir.path())
            .env("WARDEN_STORE", &self.url)
            .env("WARDEN_LOG", "error");
        c
    }

    fn token(&self, agent: &str, instance: &str) -> String {
        let out = self
            .command()
            .args(["agent", "token", agent, "--instance", instance])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    async fn stop(mut self) {
        self.nodes.clear();
        let pool = sqlx::PgPool::connect(&self.admin_url).await.unwrap();
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.db
        )))
        .execute(&pool)
        .await;
        pool.close().await;
    }
}

/// What one load run measured.
struct Run {
    ok: usize,
    failed: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

impl Run {
    fn quantile(&mut self, q: f64) -> Duration {
        self.latencies.sort_unstable();
        let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies.get(i).copied().unwrap_or_default()
    }

    fn line(&mut self, what: &str) {
        let (p50, p99) = (self.quantile(0.5), self.quantile(0.99));
        let max = self.latencies.last().copied().unwrap_or_default();
        println!(
            "{what:<44} {:>8.0} decisions/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  failed {}",
            self.ok as f64 / self.seconds,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            self.failed
        );
    }
}

/// 16 callers for `secs`, caller i at node i mod n with token i mod tokens.
async fn load(
    ports: &[u16],
    tokens: &[String],
    secs: f64,
    kill: Option<(Duration, &mut Option<Node>)>,
) -> (Run, Vec<(Instant, Duration, bool, usize)>) {
    let client = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for t in 0..16 {
        let (client, stop, ports, token) = (
            client.clone(),
            Arc::clone(&stop),
            ports.to_vec(),
            tokens[t % tokens.len()].clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let node = (t + i) % ports.len();
                let body = json!({"server": "crm", "tool": "lookup_customer",
                    "args": {"id": format!("c-{t}-{i}")}, "session": format!("s-{t}-{}", i / 50)});
                let at = Instant::now();
                let sent = client
                    .post(format!("http://127.0.0.1:{}/v1/decisions", ports[node]))
                    .bearer_auth(&token)
                    .json(&body)
                    .timeout(Duration::from_secs(15))
                    .send()
                    .await;
                let ok = matches!(&sent, Ok(r) if r.status().is_success());
                if let Ok(r) = sent {
                    let _ = r.bytes().await;
                }
                seen.push((at, at.elapsed(), ok, node));
            }
            seen
        }));
    }
    if let Some((after, node)) = kill {
        tokio::time::sleep(after).await;
        if let Some(mut n) = node.take() {
            n.0.kill().unwrap();
            let _ = n.0.wait();
        }
        tokio::time::sleep(Duration::from_secs_f64(secs) - after).await;
    } else {
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    let run = Run {
        ok: all.iter().filter(|s| s.2).count(),
        failed: all.iter().filter(|s| !s.2).count(),
        seconds,
        latencies: all.iter().filter(|s| s.2).map(|s| s.1).collect(),
    };
    (run, all)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Ok(url) = std::env::var("WARDEN_TEST_POSTGRES") else {
        eprintln!("set WARDEN_TEST_POSTGRES=postgres://… to run the cluster benchmark");
        return;
    };
    let secs: f64 = std::env::var("WARDEN_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    println!("{secs} s per run, 16 concurrent callers, durability sync, loopback PostgreSQL");
    for n in [1usize, 3] {
        let cluster = Cluster::start(&url, n).await;
        let tokens: Vec<String> = (0..16)
            .map(|i| cluster.token("support-bot", &format!("w-{i}")))
            .collect();
        load(&cluster.data, &tokens, 1.0, None).await; // warm-up
        let (mut run, _) = load(&cluster.data, &tokens, secs, None).await;
        run.line(&format!("{n} node(s), 16 instances"));
        let (mut run, _) = load(&cluster.data, &tokens[..1], secs, None).await;
        run.line(&format!("{n} node(s), 1 instance (serialised)"));
        if n == 3 {
            // Revocation propagation.
            let client = reqwest::Client::new();
            let admin = std::fs::read_to_string(cluster.dir.path().join("admin.token")).unwrap();
            let mut felt = Vec::new();
            for r in 0..30 {
                let instance = format!("rev-{r}");
                let token = cluster.token("research-bot", &instance);
                let body = json!({"server": "filesystem", "tool": "list_directory",
                                  "args": {"path": "/tmp"}, "session": "r"});
                for &port in &cluster.data[1..] {
                    let r = client
                        .post(format!("http://127.0.0.1:{port}/v1/decisions"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                }
                let at = Instant::now();
                let revoked = client
                    .post(format!(
                        "http://127.0.0.1:{}/v1/revocations",
                        cluster.admin[0]
                    ))
                    .bearer_auth(admin.trim())
                    .json(
                        &json!({"agent": "research-bot", "instance": instance, "reason": "bench"}),
                    )
                    .send()
                    .await
                    .unwrap();
                assert!(revoked.status().is_success());
                for &port in &cluster.data[1..] {
                    loop {
                        let r = client
                            .post(format!("http://127.0.0.1:{port}/v1/decisions"))
                            .bearer_auth(&token)
                            .json(&body)
                            .send()
                            .await
                            .unwrap();
                        if r.status().as_u16() == 401 {
                            felt.push(at.elapsed());
                            break;
                        }
                        assert!(at.elapsed() < Duration::from_secs(10), "never revoked");
                    }
                }
            }
            felt.sort_unstable();
            let q = |p: f64| felt[((felt.len() as f64 - 1.0) * p).round() as usize];
            println!(
                "revocation at node 0 refused at nodes 1 and 2 (60 samples): p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
                ms(q(0.5)),
                ms(q(0.99)),
                ms(*felt.last().unwrap())
            );
        }
        cluster.stop().await;
    }
    // A node killed under load.
    let mut cluster = Cluster::start(&url, 3).await;
    let tokens: Vec<String> = (0..16)
        .map(|i| cluster.token("support-bot", &format!("w-{i}")))
        .collect();
    let ports = cluster.data.clone();
    let kill_after = Duration::from_secs_f64(secs / 2.0);
    let started = Instant::now();
    let (_, seen) = load(
        &ports,
        &tokens,
        secs,
        Some((kill_after, &mut cluster.nodes[0])),
    )
    .await;
    let kill_at = started + kill_after;
    let around: Vec<&(Instant, Duration, bool, usize)> = seen
        .iter()
        .filter(|s| s.3 != 0 && s.0 + s.1 >= kill_at && s.0 <= kill_at + Duration::from_secs(1))
        .collect();
    let longest = around.iter().map(|s| s.1).max().unwrap_or_default();
    let failed = around.iter().filter(|s| !s.2).count();
    let before: Vec<Duration> = seen
        .iter()
        .filter(|s| s.3 != 0 && s.0 + s.1 < kill_at && s.2)
        .map(|s| s.1)
        .collect();
    let before_max = before.iter().max().copied().unwrap_or_default();
    println!(
        "SIGKILL of node 0 under load: at nodes 1 and 2, longest request in the second after it {:.1} ms (before it: {:.1} ms), {failed} failed of {}",
        ms(longest),
        ms(before_max),
        around.len()
    );
    cluster.stop().await;
}
