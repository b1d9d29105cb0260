//! What every command shares: where the configuration, store and keys are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use warden_gateway::ConfigSource;
use warden_gateway::ca_keys::{Authorities, LegacyCa, load_authorities};
use warden_gateway::signing_keys::{SigningKeys, load_signing_keys};
use warden_identity::KeyEncryptionKey;
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

    /// The trust domain's X.509 CAs, from the store, sealed under the
    /// key-encryption key: the current one issues, the retired ones stay
    /// trusted. On first use the CA an earlier version kept in
    /// `keys/x509-ca.key` and `keys/x509-ca.pem` is taken in (certificates
    /// it issued stay valid); without those files a new CA is made.
    pub(crate) async fn x509_authorities(
        &self,
        store: &AnyStore,
        trust_domain: &warden_types::TrustDomain,
    ) -> anyhow::Result<Authorities> {
        let kek = self.kek()?;
        let keys = self.data_dir.join("keys");
        let (key, certificate) = (keys.join("x509-ca.key"), keys.join("x509-ca.pem"));
        load_authorities(
            store,
            &kek,
            trust_domain,
            Some(LegacyCa {
                key: &key,
                certificate: &certificate,
            }),
        )
        .await
        .context("cannot load the X.509 CA from the store")
    }

    /// The key-encryption key the signing keys are sealed under in the
    /// store: `WARDEN_KEK` (64 hex digits), else the file `WARDEN_KEK_FILE`
    /// names, else `keys/kek.key` in the data directory (0600, created on
    /// first use). Every node of a cluster needs the same one.
    pub(crate) fn kek(&self) -> anyhow::Result<KeyEncryptionKey> {
        if let Ok(text) = std::env::var(crate::env::KEK) {
            return KeyEncryptionKey::parse(&text)
                .with_context(|| format!("{} is unusable", crate::env::KEK));
        }
        let path = std::env::var_os(crate::env::KEK_FILE)
            .map_or_else(|| self.data_dir.join("keys").join("kek.key"), PathBuf::from);
        let (kek, created) = KeyEncryptionKey::load_or_create(&path).with_context(|| {
            format!(
                "cannot load or create the key-encryption key `{}`",
                path.display()
            )
        })?;
        if created {
            tracing::info!(path = %path.display(), "created the key-encryption key of the signing keys");
        }
        Ok(kek)
    }

    /// The trust domain's JWT signing keys, from the store (made on first
    /// use; an earlier version's `keys/jwt-svid.pem` is taken in), and the
    /// key-encryption key they are sealed under.
    pub(crate) async fn signing_keys(
        &self,
        store: &AnyStore,
    ) -> anyhow::Result<(SigningKeys, KeyEncryptionKey)> {
        let kek = self.kek()?;
        let keys = load_signing_keys(store, &kek, Some(&self.key_path()))
            .await
            .context("cannot load the signing keys from the store")?;
        Ok((keys, kek))
    }
}

impl Common {
    /// The key of redaction's keyed hashes and tokens (32 random bytes, 0600),
    /// created on first use.
    pub(crate) fn redaction_key(&self) -> anyhow::Result<warden_classify::RedactionKey> {
        let (path, bytes) = self.random_key("redaction.key")?;
        warden_classify::RedactionKey::new(bytes)
            .with_context(|| format!("the redaction key `{}` is unusable", path.display()))
    }

    /// The key of the value fingerprints that argument provenance keeps
    /// (32 random bytes, 0600), created on first use: persisted sessions
    /// match their values again after a restart.
    pub(crate) fn fingerprint_key(&self) -> anyhow::Result<warden_policy::FingerprintKey> {
        let (path, bytes) = self.random_key("provenance.key")?;
        let key: [u8; 32] = bytes
            .get(..32)
            .and_then(|b| b.try_into().ok())
            .with_context(|| {
                format!(
                    "the provenance key `{}` is shorter than 32 bytes",
                    path.display()
                )
            })?;
        Ok(warden_policy::FingerprintKey(key))
    }

    /// A key file of 32 random bytes under `keys/` (0600), created on first use.
    fn random_key(&self, name: &str) -> anyhow::Result<(std::path::PathBuf, Vec<u8>)> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = self.data_dir.join("keys").join(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = path.parent().unwrap_or(&self.data_dir);
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create `{}`", dir.display()))?;
                let mut key = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .with_context(|| format!("cannot create `{}`", path.display()))?;
                file.write_all(&key)
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                key.to_vec()
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read `{}`", path.display()));
            }
        };
        Ok((path, bytes))
    }

    /// The audit checkpoint key (Ed25519, 0600), created on first use.
    pub(crate) fn checkpoint_signer(
        &self,
        config: &Config,
    ) -> anyhow::Result<(warden_audit::CheckpointSigner, bool)> {
        let path = self.data_dir.join("keys").join("audit-checkpoint.key");
        warden_audit::CheckpointSigner::load_or_create(&path, &audit_origin(config)).with_context(
            || {
                format!(
                    "cannot load or create the checkpoint key `{}`",
                    path.display()
                )
            },
        )
    }

    /// Where the keys that wrap sealed payloads' keys live (outside the
    /// store, so that an erasure holds in every copy of the database).
    pub(crate) fn payload_keys(&self) -> warden_audit::WrapKeyDir {
        warden_audit::WrapKeyDir::new(self.data_dir.join("keys").join("payload-wrap"))
    }

    /// Where checkpoints are published.
    pub(crate) fn witness_dir(&self, config: &Config) -> PathBuf {
        let dir = Path::new(&config.audit.witness_dir);
        if dir.is_absolute() {
            dir.to_owned()
        } else {
            self.data_dir.join(dir)
        }
    }

    /// The audit writer's settings.
    pub(crate) fn audit_settings(
        &self,
        config: &Config,
    ) -> anyhow::Result<warden_gateway::audit::AuditSettings> {
        let (signer, created) = self.checkpoint_signer(config)?;
        if created {
            tracing::info!(vkey = %signer.verifier_key(), "created the audit checkpoint key");
        }
        Ok(warden_gateway::audit::AuditSettings {
            durability: config.audit.durability,
            checkpoint_every: config.audit.checkpoint_every,
            checkpoint_interval: std::time::Duration::from_secs(
                config.audit.checkpoint_interval_secs,
            ),
            witness_dir: self.witness_dir(config),
            signer: Arc::new(signer),
            origin: audit_origin(config),
            payload_keys: self.payload_keys(),
        })
    }
}

/// The audit log's origin line: `<trust-domain>/warden-audit`.
pub(crate) fn audit_origin(config: &Config) -> String {
    format!("{}/warden-audit", config.trust_domain)
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
