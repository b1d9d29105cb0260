//! `warden serve`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use warden_gateway::{Gateway, Listeners};
use warden_store::Store;
use warden_types::Role;

use crate::common::Common;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Data-plane address (default from warden.toml, else 127.0.0.1:7700).
    #[arg(long)]
    listen: Option<String>,
    /// Admin-plane address (default from warden.toml, else 127.0.0.1:7701).
    #[arg(long)]
    admin_listen: Option<String>,
}

/// Creates the first admin token when the store has none: written to a 0600
/// file and printed once, never logged.
async fn first_admin_token(common: &Common, store: &warden_store::AnyStore) -> anyhow::Result<()> {
    if store.admin_token_count().await? > 0 {
        return Ok(());
    }
    let token = warden_identity::generate_admin_token();
    let path = common.data_dir.join("admin.token");
    write_secret(&path, token.expose())?;
    store
        .add_admin_token(
            "initial-admin",
            Role::Admin,
            &warden_identity::token_digest(token.expose()),
            now_millis(),
        )
        .await?;
    println!(
        "first start: admin token (role admin) written to {}",
        path.display()
    );
    println!("  {}", token.expose());
    println!(
        "  (shown once; create more with `warden admin-token create --role approver --name NAME`)"
    );
    Ok(())
}

pub(crate) fn write_secret(path: &std::path::Path, secret: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    writeln!(file, "{secret}").with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) async fn run(common: &Common, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let source = common.source();
    let store = common.open_store().await?;
    let (keys, kek) = common.signing_keys(&store).await?;
    tracing::info!(
        kid = keys.current.key_id(),
        verifying = keys.all.len(),
        "JWT-SVID signing keys loaded from the store"
    );
    first_admin_token(common, &store).await?;
    let config = common.load_config(&source)?;
    let (audit_stop, audit_stopped) = tokio::sync::watch::channel(false);
    let (audit, audit_task) = warden_gateway::audit::AuditLog::start(
        store.clone(),
        common.audit_settings(&config)?,
        audit_stopped,
    )
    .await
    .context("cannot open the audit log")?;
    if let Some(problem) = audit.problem() {
        tracing::error!(%problem, "the audit log is unavailable: every decision will be denied until this is resolved");
    }
    let gateway = Gateway::start_with_keys(source.clone(), store, keys, Some(kek), audit)
        .await
        .with_context(|| format!("cannot start with {}", source.describe()))?;
    gateway.set_redaction_key(common.redaction_key()?);
    gateway
        .engine()
        .set_fingerprint_key(common.fingerprint_key()?);
    let data = args.listen.unwrap_or_else(|| config.serve.listen.clone());
    let admin = args
        .admin_listen
        .unwrap_or_else(|| config.serve.admin_listen.clone());
    let authorities = common
        .x509_authorities(gateway.store(), &config.trust_domain)
        .await?;
    tracing::info!(
        current = %authorities.current.certificate().fingerprint(),
        trusted = authorities.all.len(),
        "X.509 CAs loaded from the store"
    );
    let x509 = warden_gateway::X509Setup::from_authorities(
        &authorities,
        &config.trust_domain,
        config.serve.tls.as_ref(),
    )?;
    let scheme = if x509.tls_enabled() { "https" } else { "http" };
    let listeners = Listeners::bind(&data, &admin).await?.with_x509(x509);
    let snapshot = gateway.engine().snapshot();
    tracing::info!(
        config = %source.describe(),
        data_plane = %format!("{scheme}://{}", listeners.data_addr()?),
        admin_plane = %listeners.admin_addr()?,
        agents = snapshot.agents.len(),
        policies = snapshot.policies.len(),
        digest = %snapshot.digest,
        "warden is serving"
    );
    println!(
        "console: http://{}/console/ (sign in with an admin-plane token)",
        listeners.admin_addr()?
    );
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
    };
    warden_gateway::run(gateway, listeners, shutdown).await?;
    // The listeners are closed: write what is queued and a last checkpoint.
    let _ = audit_stop.send(true);
    let _ = audit_task.await;
    Ok(ExitCode::SUCCESS)
}
