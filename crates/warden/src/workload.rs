//! `warden workload serve`: the SPIFFE Workload API on a Unix socket, for
//! agents on this host. X.509-SVIDs come from the trust domain's current CA
//! and the X.509 bundle holds every CA still trusted (both from the store,
//! re-read every [`CA_RELOAD_PERIOD`]: a rotation reaches the streams),
//! JWT-SVIDs and the JWT bundle from its signing key.

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
    let authorities = common
        .x509_authorities(&store, &config.trust_domain)
        .await?;
    let issuer = Arc::new(WardenIssuer::with_authorities(
        JwtIssuer::new(config.trust_domain.clone(), key),
        Arc::clone(&authorities.current),
        authorities.all.clone(),
    ));
    let kek = common.kek()?;
    let reloader = tokio::spawn(follow_authorities(
        store,
        kek,
        config.trust_domain.clone(),
        authorities.ids(),
        Arc::clone(&issuer),
    ));
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
    let served = warden_workload::serve(&file.workload.socket, entries, issuer, shutdown).await;
    reloader.abort();
    served?;
    Ok(ExitCode::SUCCESS)
}

/// How often the Workload API re-reads the CAs from the store.
const CA_RELOAD_PERIOD: std::time::Duration = std::time::Duration::from_secs(30);

/// Re-reads the CAs every [`CA_RELOAD_PERIOD`]; after a rotation, issues from
/// the new CA and tells the streams of the new bundle.
async fn follow_authorities(
    store: warden_store::AnyStore,
    kek: warden_identity::KeyEncryptionKey,
    trust_domain: warden_types::TrustDomain,
    mut ids: Vec<String>,
    issuer: Arc<WardenIssuer>,
) {
    let mut tick = tokio::time::interval(CA_RELOAD_PERIOD);
    tick.tick().await;
    loop {
        tick.tick().await;
        match warden_gateway::ca_keys::load_authorities(&store, &kek, &trust_domain, None).await {
            Ok(authorities) if authorities.ids() != ids => {
                ids = authorities.ids();
                tracing::info!(trusted = ids.len(), "X.509 CAs changed");
                issuer.set_authorities(authorities.current, authorities.all);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot reload the X.509 CAs"),
        }
    }
}
