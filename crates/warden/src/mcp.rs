//! `warden mcp wrap`: what an MCP client launches instead of a stdio tool
//! server. It starts the real server and governs every message between them,
//! asking the running gateway for each decision.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use warden_mcp::{Ended, Mediator, RemoteGovernor, StdioOptions, run_stdio};
use warden_policy::Transport;

use crate::common::Common;

#[derive(Debug, Subcommand)]
pub(crate) enum McpCommand {
    /// Sit between an MCP client and a stdio tool server (launch this instead of the server).
    Wrap(WrapArgs),
}

#[derive(Debug, Args)]
pub(crate) struct WrapArgs {
    /// The tool server, as declared in warden.toml.
    #[arg(long)]
    server: String,
    /// File holding the agent's JWT-SVID (read again for each request, so it can be rotated).
    #[arg(long)]
    token_file: PathBuf,
    /// The gateway's data plane.
    #[arg(long, env = crate::env::GATEWAY, default_value = "http://127.0.0.1:7700")]
    gateway: String,
    /// The Warden session decisions are made in (default: `default`, the
    /// instance's default session, shared with the decision API's); taint is
    /// kept per instance across sessions either way.
    #[arg(long)]
    session: Option<String>,
    /// The server's command, instead of the one declared in warden.toml.
    #[arg(last = true)]
    command: Vec<String>,
}

pub(crate) async fn run(common: &Common, cmd: McpCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        McpCommand::Wrap(args) => wrap(common, args).await,
    }
}

async fn wrap(common: &Common, args: WrapArgs) -> anyhow::Result<ExitCode> {
    let source = common.source();
    let config = common.load_config(&source)?;
    let Some(server) = config.servers.get(&args.server) else {
        bail!(
            "no tool server `{}` in {}: declare it under [servers.{}]",
            args.server,
            source.describe(),
            args.server
        );
    };
    // A declared command runs where warden.toml is, so relative paths in it
    // mean the same as for the gateway; a command given here runs where
    // this is run.
    let (command, cwd) = if args.command.is_empty() {
        match &server.transport {
            Transport::Stdio { command } => (
                command.clone(),
                Some(config.base_dir.clone()).filter(|d| !d.as_os_str().is_empty()),
            ),
            _ => bail!(
                "tool server `{}` is not a stdio server in {}: give its command after `--`",
                args.server,
                source.describe()
            ),
        }
    } else {
        (args.command, None)
    };
    std::fs::metadata(&args.token_file)
        .with_context(|| format!("cannot read the token file `{}`", args.token_file.display()))?;
    let session = args.session.unwrap_or_else(|| "default".to_owned());
    let governor = RemoteGovernor::new(
        &args.gateway,
        &args.server,
        &session,
        args.token_file,
        Duration::from_secs(config.mcp.approval_wait_secs),
    );
    let options = StdioOptions {
        command,
        cwd,
        call_timeout: Duration::from_secs(config.mcp.call_timeout_secs),
        max_message_bytes: config.serve.max_body_bytes,
    };
    tracing::info!(server = %args.server, %session, gateway = %args.gateway, "wrapping the tool server");
    let mediator = Arc::new(Mediator::new(Arc::new(governor)));
    let ended = tokio::select! {
        ended = run_stdio(mediator, options, tokio::io::stdin(), tokio::io::stdout()) => ended?,
        _ = shutdown_signal() => {
            tracing::info!("signalled: stopping the tool server");
            return Ok(ExitCode::SUCCESS);
        }
    };
    Ok(match ended {
        Ended::ClientClosed => ExitCode::SUCCESS,
        Ended::ServerExited(status) => {
            tracing::error!(%status, "the tool server exited");
            ExitCode::FAILURE
        }
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
