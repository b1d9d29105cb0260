//! What every command shares: where the configuration, store and keys are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use warden_gateway::ConfigSource;
use warden_identity::SigningKey;
use warden_policy::Config;
use warden_store::{AnyStore, StoreLocation};

/// Global options.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    pub(crate) config: Option<PathBuf>,
    pub(crate) data_dir: PathBuf,
    pub(crate) store: Option<String>,
}

impl Common {
    /// The configuration source: `--config`, else `./warden.toml`, else
    /// `./examples/warden.toml`, else the embedded example set.
    pub(crate) fn source(&self) -> ConfigSource {
        if let Some(path) = &self.config {
            return ConfigSource::File(path.clone());
        }
        for candidate in ["warden.toml", "examples/warden.toml"] {
            if Path::new(candidate).is_file() {
                return ConfigSource::File(candidate.into());
            }
        }
        crate::embedded::source()
    }

    pub(crate) fn load_config(&self, source: &ConfigSource) -> anyhow::Result<Arc<Config>> {
        let config = source
            .config()
            .with_context(|| format!("cannot load {}", source.describe()))?;
        Ok(Arc::new(config))
    }

    pub(crate) async fn open_store(&self) -> anyhow::Result<AnyStore> {
        let location = StoreLocation::parse(self.store.as_deref(), &self.data_dir)?;
        AnyStore::open(&location)
            .await
            .with_context(|| format!("cannot open the store at {location}"))
    }

    pub(crate) fn key_path(&self) -> PathBuf {
        self.data_dir.join("keys").join("jwt-svid.pem")
    }

    /// The trust domain's signing key, created on first use (0600).
    pub(crate) fn signing_key(&self) -> anyhow::Result<(SigningKey, bool)> {
        let path = self.key_path();
        SigningKey::load_or_create(&path)
            .with_context(|| format!("cannot load or create the signing key `{}`", path.display()))
    }
}

/// Parses `90s`, `15m`, `2h`, `1d`.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration: expected a number and s, m, h or d, as in `15m`")
    })?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(format!(
                "`{text}` has unknown unit `{unit}`: expected s, m, h or d"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(secs))
}
