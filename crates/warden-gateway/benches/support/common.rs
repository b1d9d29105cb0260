//! What the load harnesses share: settings from the environment, runtimes,
//! a gateway with its audit log on, and the process's resident size.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use warden_gateway::{ConfigSource, Gateway};
use warden_identity::SigningKey;
use warden_store::{AnyStore, StoreLocation};

/// The environment variable `name` parsed, else `default`.
pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("`{v}` is not a valid {name}")),
        Err(_) => Ok(default),
    }
}

/// A multi-thread runtime of `threads` workers named `name`.
pub(crate) fn runtime(threads: usize, name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()?)
}

/// A line of `/proc/self/status` (`VmRSS`, `VmHWM`), in MiB.
pub(crate) fn proc_status_mib(field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .with_context(|| format!("no {field} in /proc/self/status"))?;
    let kib: f64 = line
        .trim_start_matches(field)
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib / 1024.0)
}

/// A gateway compiled from `config`, its SQLite store under `dir/data`, its
/// audit log on as in production: `sync` durability unless the variable
/// `durability_var` says `batched` (each `sync` answer waits for its
/// record's group commit). The audit writer lives as long as the process.
pub(crate) async fn start_gateway(
    dir: &Path,
    config: PathBuf,
    key: Arc<SigningKey>,
    durability_var: &str,
) -> anyhow::Result<Arc<Gateway>> {
    let store = AnyStore::open(&StoreLocation::parse(None, &dir.join("data"))?).await?;
    let durability = match std::env::var(durability_var).as_deref() {
        Ok("batched") => warden_policy::Durability::Batched,
        Ok("sync") | Err(_) => warden_policy::Durability::Sync,
        Ok(other) => bail!("`{other}` is not a valid {durability_var} (sync or batched)"),
    };
    let settings = warden_gateway::audit::AuditSettings {
        durability,
        checkpoint_every: 100_000,
        checkpoint_interval: Duration::from_secs(10),
        witness_dir: dir.join("witness"),
        signer: Arc::new(warden_audit::CheckpointSigner::generate(
            "example.org/warden-audit",
        )?),
        origin: "example.org/warden-audit".into(),
        payload_keys: warden_audit::WrapKeyDir::new(dir.join("payload-keys")),
    };
    let (audit_stop, audit_stopped) = tokio::sync::watch::channel(false);
    std::mem::forget(audit_stop);
    let (audit, _audit_task) =
        warden_gateway::audit::AuditLog::start(store.clone(), settings, audit_stopped).await?;
    println!("audit log: durability {durability:?}");
    Ok(Gateway::start(ConfigSource::File(config), store, key, audit).await?)
}
