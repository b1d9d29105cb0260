//! Load harness for the MCP proxy (`/mcp/{server}`, Streamable HTTP) over
//! loopback: one tool, `echo`, called directly on the tool server and through
//! Warden, in one run.
//!
//! One process: a tool server (by default a minimal MCP server written here,
//! answering `application/json`; with `WARDEN_MCP_UPSTREAM=everything` the
//! reference `server-everything` as a child process, answering calls as SSE),
//! a [`Gateway`] started in process on a temp dir (SQLite store, audit log on)
//! whose `warden.toml` declares the tool server as `echo` and whose one agent
//! is granted `echo` under a condition, so that policy, classification of
//! arguments and results, and audit are all on the path; and a load generator
//! of keep-alive HTTP/1.1 connections, one MCP session per connection
//! (`initialize`, `notifications/initialized`, then `tools/call` in
//! sequence, each answer checked to be the echo). Warden, the in-process tool
//! server and the load generator each run on their own tokio runtime.
//!
//! For each concurrency level it loads the tool server directly, then through
//! Warden, and prints throughput, latency percentiles, the latency Warden adds
//! (percentile through minus the same percentile direct), and the process's
//! CPU time per call (`/proc/self/stat`, in 10 ms ticks, over warm-up and
//! measurement), then the resident size. The run fails if any call is not
//! answered or not answered with the echo.
//!
//! ```text
//! cargo bench -p warden-gateway --bench mcp_proxy
//! WARDEN_MCP_DURABILITY=batched cargo bench -p warden-gateway --bench mcp_proxy
//! tests/mcp/setup.sh && WARDEN_MCP_UPSTREAM=everything cargo bench -p warden-gateway --bench mcp_proxy
//! WARDEN_MCP_SECS=10 WARDEN_MCP_CONCURRENCY=1,4,16 cargo bench -p warden-gateway --bench mcp_proxy
//! ```
//!
//! `WARDEN_MCP_SERVER_THREADS` sizes Warden's runtime (default 1).

#[path = "mcp_proxy/client.rs"]
mod client;
#[path = "support/common.rs"]
mod common;
#[path = "mcp_proxy/report.rs"]
mod report;
#[path = "mcp_proxy/upstream.rs"]
mod upstream;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::bail;
use hyper::header::HeaderValue;
use warden_gateway::{Gateway, Listeners, run};
use warden_identity::{IssueRequest, SigningKey};
use warden_types::{AgentName, InstanceId, SpiffeId};

use crate::client::{Target, WARM_UP};
use crate::common::{env_or, runtime};
use crate::report::{Phase, cpu_ticks, phase, print_report};

/// Seconds measured per phase, after one second of warm-up (default 5).
const SECS_VAR: &str = "WARDEN_MCP_SECS";
/// Comma-separated concurrency levels (default `1,8`).
const CONCURRENCY_VAR: &str = "WARDEN_MCP_CONCURRENCY";
/// `sync` (default) or `batched`: the audit log's durability.
const DURABILITY_VAR: &str = "WARDEN_MCP_DURABILITY";
/// `echo` (default, the in-process server) or `everything` (the reference
/// `server-everything`, installed by `tests/mcp/setup.sh`).
const UPSTREAM_VAR: &str = "WARDEN_MCP_UPSTREAM";
/// Worker threads of Warden's runtime (default 1).
const SERVER_THREADS_VAR: &str = "WARDEN_MCP_SERVER_THREADS";

const AGENT: &str = "bench-agent";

/// `warden.toml` with the tool server as `echo`, and the agent's manifest.
fn write_config(dir: &Path, upstream: SocketAddr) -> anyhow::Result<std::path::PathBuf> {
    let config = format!(
        r#"trust_domain = "example.org"

[servers.echo]
transport = "http"
url = "http://{upstream}/mcp"
destination = "internal"
cleared = ["pii"]
"#
    );
    let manifest = format!(
        r#"name: {AGENT}
owner: bench@example.com
purpose: calls echo through the MCP proxy
tools:
  echo:
    echo: {{ operation: read, when: 'context.args.message like "*"' }}
"#
    );
    std::fs::create_dir_all(dir.join("agents"))?;
    std::fs::create_dir_all(dir.join("policies"))?;
    std::fs::write(dir.join("agents").join(format!("{AGENT}.yaml")), manifest)?;
    let path = dir.join("warden.toml");
    std::fs::write(&path, config)?;
    Ok(path)
}

/// Warden on its runtime until [`Warden::stop`], as `benches/load.rs` starts it.
struct Warden {
    gw: Arc<Gateway>,
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), warden_gateway::GatewayError>>,
}

impl Warden {
    async fn start(
        dir: &Path,
        config: std::path::PathBuf,
        key: Arc<SigningKey>,
    ) -> anyhow::Result<Warden> {
        let gw = crate::common::start_gateway(dir, config, key, DURABILITY_VAR).await?;
        let listeners = Listeners::bind("127.0.0.1:0", "127.0.0.1:0").await?;
        let addr = listeners.data_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(run(Arc::clone(&gw), listeners, shutdown));
        Ok(Warden {
            gw,
            addr,
            stop,
            task,
        })
    }

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        Ok(self.task.await??)
    }
}

/// `Bearer <JWT-SVID>` of the agent.
fn bearer(gw: &Gateway, key: &SigningKey) -> anyhow::Result<HeaderValue> {
    let spiffe_id = SpiffeId::new(
        gw.config().trust_domain.clone(),
        AgentName::new(AGENT)?,
        InstanceId::new("i-bench")?,
    );
    let issued = key.issue(&IssueRequest {
        spiffe_id,
        audience: vec![gw.config().serve.audience.clone()],
        ttl: Duration::from_secs(3600),
        now: SystemTime::now(),
    })?;
    Ok(HeaderValue::from_str(&format!(
        "Bearer {}",
        issued.token.expose()
    ))?)
}

fn main() -> anyhow::Result<()> {
    let secs: u64 = env_or(SECS_VAR, 5)?;
    let levels: String = env_or(CONCURRENCY_VAR, "1,8".to_owned())?;
    let levels: Vec<usize> = levels
        .split(',')
        .map(|c| c.trim().parse())
        .collect::<Result<_, _>>()?;
    let server_threads: usize = env_or(SERVER_THREADS_VAR, 1)?;
    let everything = match std::env::var(UPSTREAM_VAR).as_deref() {
        Ok("everything") => true,
        Ok("echo") | Err(_) => false,
        Ok(other) => bail!("`{other}` is not a valid {UPSTREAM_VAR} (echo or everything)"),
    };
    let warden_runtime = runtime(server_threads, "warden")?;
    let upstream_runtime = runtime(1, "upstream")?;
    let client_runtime = runtime(1, "load")?;

    // The tool server.
    let (upstream_stop, upstream_stopped) = tokio::sync::oneshot::channel();
    let (node, upstream_addr, upstream_task) = if everything {
        let node = upstream::Everything::start()?;
        let addr = node.addr;
        (Some(node), addr, None)
    } else {
        let (addr, task) = upstream_runtime.block_on(upstream::start_echo(upstream_stopped))?;
        (None, addr, Some(task))
    };

    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), upstream_addr)?;
    let key = Arc::new(SigningKey::generate());
    let warden = warden_runtime.block_on(Warden::start(dir.path(), config, Arc::clone(&key)))?;
    let token = bearer(&warden.gw, &key)?;
    println!(
        "upstream: {}; Warden on a {server_threads}-thread runtime, {} on 1 thread, load generator on 1 thread; \
         {} cores; loopback HTTP/1.1 keep-alive; warm-up {} s, measured {secs} s per phase; load average: {}",
        if everything {
            "server-everything (node, SSE answers)"
        } else {
            "in-process echo server (JSON answers)"
        },
        if everything {
            "node"
        } else {
            "the echo server"
        },
        std::thread::available_parallelism().map_or(0, usize::from),
        WARM_UP.as_secs(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );

    let echo_prefix = if everything { "Echo: " } else { "" };
    let direct = Target {
        addr: upstream_addr,
        path: "/mcp",
        token: None,
        echo_prefix,
    };
    let through = Target {
        addr: warden.addr,
        path: "/mcp/echo",
        token: Some(token),
        echo_prefix,
    };
    let node_pid = node.as_ref().map(upstream::Everything::pid);
    // Fails early if the node's CPU time cannot be read.
    if let Some(pid) = node_pid {
        cpu_ticks(&pid.to_string())?;
    }
    let started = Instant::now();
    let mut phases: Vec<(Phase, Phase)> = Vec::new();
    for &c in &levels {
        let d = phase(&client_runtime, "direct", &direct, c, secs, node_pid)?;
        let w = phase(&client_runtime, "warden", &through, c, secs, node_pid)?;
        phases.push((d, w));
    }
    print_report(&phases, started.elapsed())?;

    warden_runtime.block_on(warden.stop())?;
    let _ = upstream_stop.send(());
    if let Some(task) = upstream_task {
        upstream_runtime.block_on(task)??;
    }
    drop(node);
    let errors: u64 = phases.iter().map(|(d, w)| d.errors + w.errors).sum();
    if errors > 0 {
        bail!("{errors} calls were not answered, or not answered with the echo");
    }
    Ok(())
}
