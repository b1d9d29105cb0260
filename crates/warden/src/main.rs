//! `warden`: the command line. Parsing and dispatch only; the work is in the
//! library crates.

mod agent;
mod audit;
mod classify;
mod common;
mod decide;
mod discover;
mod embedded;
mod incident;
mod inventory;
mod keys;
mod mcp;
mod policy;
mod promote;
mod report;
mod serve;
mod tail;
mod tools;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Environment variables Warden reads, declared once.
pub(crate) mod env {
    /// Path of `warden.toml` (same as `--config`).
    pub(crate) const CONFIG: &str = "WARDEN_CONFIG";
    /// The data directory (same as `--data-dir`).
    pub(crate) const DATA_DIR: &str = "WARDEN_DATA_DIR";
    /// A PostgreSQL URL (same as `--store`).
    pub(crate) const STORE: &str = "WARDEN_STORE";
    /// The gateway's data-plane URL for `warden decide`.
    pub(crate) const GATEWAY: &str = "WARDEN_GATEWAY";
    /// A file holding an admin-plane token (`warden tail`).
    pub(crate) const ADMIN_TOKEN_FILE: &str = "WARDEN_ADMIN_TOKEN_FILE";
    /// Log filter (`info`, `warden_gateway=debug`, …).
    pub(crate) const LOG: &str = "WARDEN_LOG";
    /// The key-encryption key of the signing keys, 64 hex digits.
    pub(crate) const KEK: &str = "WARDEN_KEK";
    /// A file holding the key-encryption key (default `keys/kek.key`).
    pub(crate) const KEK_FILE: &str = "WARDEN_KEK_FILE";
    /// An admin-plane token for `warden discover --report` (instead of
    /// `--token-file`).
    pub(crate) const ADMIN_TOKEN: &str = "WARDEN_ADMIN_TOKEN";
}

/// Warden: runtime governance for AI agents.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about = None)]
struct Cli {
    /// `warden.toml` (default: ./warden.toml, then ./examples/warden.toml, then the embedded example set).
    #[arg(long, global = true, env = env::CONFIG)]
    config: Option<PathBuf>,
    /// Where the embedded store, keys and the first admin token live.
    #[arg(long, global = true, env = env::DATA_DIR, default_value = "warden-data")]
    data_dir: PathBuf,
    /// A PostgreSQL URL (`postgres://…`) to use instead of embedded SQLite.
    #[arg(long, global = true, env = env::STORE)]
    store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway: data plane and admin plane.
    Serve(serve::ServeArgs),
    /// Register, list, show, revoke agents; issue their JWT-SVIDs.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Check and test policies.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Ask the running gateway for one decision.
    Decide(decide::DecideArgs),
    /// Find sensitive data (PII, financial, credentials, …) in text.
    Classify(classify::ClassifyArgs),
    /// Verify, prove, checkpoint, export the audit log; erase a payload.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Govern MCP tool servers reached over stdio.
    #[command(subcommand)]
    Mcp(mcp::McpCommand),
    /// Every agent: owner, risk, grants, data, identity and activity; with
    /// `--unregistered`, the agents Warden saw but does not govern.
    Inventory(inventory::InventoryArgs),
    /// Incidents with their NIS2/DORA clocks; report drafts from the audit log.
    #[command(subcommand)]
    Incident(incident::IncidentCommand),
    /// Follow the running gateway's decisions and other events live.
    Tail(tail::TailArgs),
    /// EU AI Act, DORA and NIS2 reports as an evidence pack checked offline
    /// with `warden-audit-verify PACK`.
    Report(report::ReportArgs),
    /// Find agents and agent tooling on hosts and in repositories that Warden does not govern.
    Discover(discover::DiscoverArgs),
    /// List pinned tool definitions; accept changed ones.
    #[command(subcommand)]
    Tools(tools::ToolsCommand),
    /// Create admin-plane tokens.
    #[command(subcommand, name = "admin-token")]
    AdminToken(agent::AdminTokenCommand),
    /// The SPIFFE Workload API for agents on this host.
    #[command(subcommand)]
    Workload(workload::WorkloadCommand),
    /// The trust domain's JWT signing keys: list, rotate.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

/// Whether `error` is a closed pipe on the way out (`warden … | head`): not
/// a failure of the command, which stops quietly as a filter should.
fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `println!` panics when standard output was closed by the reader; such a
/// panic ends the process quietly with the status a shell gives for SIGPIPE
/// (141). Every other panic is reported as before.
fn quiet_on_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env(env::LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let common = common::Common {
        config: cli.config,
        data_dir: cli.data_dir,
        store: cli.store,
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(&common, args).await,
            Command::Agent(cmd) => agent::run(&common, cmd).await,
            Command::Policy(cmd) => policy::run(&common, cmd).await,
            Command::Decide(args) => decide::run(args).await,
            Command::AdminToken(cmd) => agent::run_admin_token(&common, cmd).await,
            Command::Audit(cmd) => audit::run(&common, cmd).await,
            Command::Classify(args) => classify::run(&common, args),
            Command::Mcp(cmd) => mcp::run(&common, cmd).await,
            Command::Inventory(args) => inventory::run(&common, args).await,
            Command::Tail(args) => tail::run(&common, args).await,
            Command::Report(args) => report::run(&common, args).await,
            Command::Incident(cmd) => incident::run(&common, cmd).await,
            Command::Discover(args) => discover::run(&common, args).await,
            Command::Tools(cmd) => tools::run(&common, cmd).await,
            Command::Workload(cmd) => workload::run(&common, cmd).await,
            Command::Keys(cmd) => keys::run(&common, cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) if is_closed_pipe(&e) => ExitCode::from(141),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
