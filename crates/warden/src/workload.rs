//! `warden workload serve`: the SPIFFE Workload API on a Unix socket, for
//! agents on this host. X.509-SVIDs and the X.509 bundle come from the trust
//! domain's CA (`keys/x509-ca.*`), JWT-SVIDs and the JWT bundle from its
//! signing key.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use serde::Deserialize;
use warden_workload::{JwtIssuer, WardenIssuer, WorkloadConfig};

use crate::common::Common;

#[derive(Debug, Subcommand)]
pub(crate) enum WorkloadCommand {
    /// Serve the SPIFFE Workload API on a Unix socket until interrupted.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// A TOML file with a `[workload]` section: `socket` and the
    /// `[[workload.entries]]` (`spiffe_id`, and `uid`, `gid`, `path` selectors).
    #[arg(long)]
    entries: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesFile {
    workload: WorkloadConfig,
}

pub(crate) async fn run(common: &Common, command: WorkloadCommand) -> anyhow::Result<ExitCode> {
    match command {
        WorkloadCommand::Serve(args) => serve(common, args).await,
    }
}

async fn serve(common: &Common, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let path = &args.entries;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let file: EntriesFile =
        toml::from_str(&text).with_context(|| format!("cannot parse `{}`", path.display()))?;
    let entries = file
        .workload
        .checked_entries()
        .with_context(|| format!("in `{}`", path.display()))?;
    let config = common.load_config(&common.source())?;
    let store = common.open_store().await?;
    let (keys, _) = common.signing_keys(&store).await?;
    let key = keys.current;
    let (ca, _) = common.x509_authority(&config.trust_domain)?;
    let issuer = WardenIssuer::new(JwtIssuer::new(config.trust_domain.clone(), key), ca);
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
        tracing::info!("shutting down the workload API");
    };
    warden_workload::serve(&file.workload.socket, entries, Arc::new(issuer), shutdown).await?;
    Ok(ExitCode::SUCCESS)
}
