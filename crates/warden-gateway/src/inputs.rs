//! Where the configuration, manifests and org-wide policies come from.

use std::path::PathBuf;
use std::sync::Arc;

use warden_policy::{Config, Manifest, PolicyError, PolicyInputs};
use warden_store::{AnyStore, Store};

use crate::error::GatewayError;

/// The source of the configuration and of file-based manifests and policies.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// A `warden.toml` on disk, with `agents/` and `policies/` beside it.
    File(PathBuf),
    /// A configuration compiled into the binary (the example set).
    Embedded {
        /// `warden.toml` text.
        config: &'static str,
        /// Manifests: (file name, YAML).
        manifests: Vec<(&'static str, &'static str)>,
        /// Org-wide policies: (file name, Cedar).
        policies: Vec<(&'static str, &'static str)>,
    },
}

impl ConfigSource {
    /// A fingerprint of the files manifests and org-wide policies are read
    /// from (each file's name, size and modification time in `agents/` and
    /// `policies/`): when it moves, a file was edited, added or removed.
    /// `None` for the embedded set.
    pub(crate) fn files_fingerprint(&self, config: &Config) -> Option<u64> {
        use std::hash::{Hash as _, Hasher as _};
        let ConfigSource::File(_) = self else {
            return None;
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for dir in [&config.agents_dir, &config.policies_dir] {
            let mut entries: Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)> =
                std::fs::read_dir(dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(|e| {
                        let meta = e.metadata().ok()?;
                        Some((e.file_name(), meta.len(), meta.modified().ok()))
                    })
                    .collect();
            entries.sort();
            entries.hash(&mut hasher);
        }
        Some(hasher.finish())
    }

    /// Reads the configuration.
    pub fn config(&self) -> Result<Config, PolicyError> {
        match self {
            ConfigSource::File(path) => Config::load(path),
            ConfigSource::Embedded { config, .. } => Config::parse(
                "<embedded>/warden.toml",
                config,
                std::path::Path::new("<embedded>"),
            ),
        }
    }

    /// Reads file-based manifests and policies.
    pub fn inputs(&self, config: Arc<Config>) -> Result<PolicyInputs, PolicyError> {
        match self {
            ConfigSource::File(_) => PolicyInputs::load(config),
            ConfigSource::Embedded {
                manifests,
                policies,
                ..
            } => {
                let mut parsed = Vec::new();
                let mut errors = Vec::new();
                for (name, text) in manifests {
                    match Manifest::parse(&format!("<embedded>/agents/{name}"), text, &config) {
                        Ok(m) => parsed.push(m),
                        Err(PolicyError::Invalid(d)) => errors.extend(d),
                        Err(e) => return Err(e),
                    }
                }
                if !errors.is_empty() {
                    return Err(PolicyError::Invalid(errors));
                }
                let org_files = policies
                    .iter()
                    .map(|(n, t)| (format!("<embedded>/policies/{n}"), (*t).to_owned()))
                    .collect();
                Ok(PolicyInputs {
                    config,
                    manifests: parsed,
                    org_files,
                })
            }
        }
    }

    /// Describes the source for messages.
    pub fn describe(&self) -> String {
        match self {
            ConfigSource::File(p) => p.display().to_string(),
            ConfigSource::Embedded { .. } => "the embedded example configuration".to_owned(),
        }
    }
}

/// The name under which a registered manifest appears in messages.
pub fn registered_file(source: &str) -> String {
    format!("registered:{source}")
}

/// Loads everything a snapshot is compiled from: files plus the manifests
/// registered in the store.
pub async fn load_inputs(
    source: &ConfigSource,
    config: Arc<Config>,
    store: &AnyStore,
) -> Result<PolicyInputs, GatewayError> {
    let mut inputs = source.inputs(Arc::clone(&config))?;
    let mut errors = Vec::new();
    for record in store.agents().await? {
        match Manifest::parse(&registered_file(&record.source), &record.manifest, &config) {
            Ok(m) => inputs.manifests.push(m),
            Err(PolicyError::Invalid(d)) => errors.extend(d),
            Err(e) => return Err(e.into()),
        }
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(PolicyError::Invalid(errors).into())
    }
}

/// Compiles off the async runtime's worker threads (it takes a while for
/// large sets).
pub async fn compile_inputs(inputs: PolicyInputs) -> Result<warden_policy::Snapshot, PolicyError> {
    match tokio::task::spawn_blocking(move || warden_policy::compile(&inputs)).await {
        Ok(result) => result,
        Err(join) => Err(PolicyError::Invalid(vec![warden_policy::Diagnostic::new(
            warden_policy::Location::new("<compiler>", 0, 0),
            None,
            format!("policy compilation failed: {join}"),
        )])),
    }
}

/// The classifier configuration `warden.toml` asks for (`[classify]`).
pub fn classifier_config(config: &warden_policy::Config) -> warden_classify::ClassifierConfig {
    use warden_classify::{CustomDetector, Validator};
    let settings = &config.classify;
    let defaults = warden_classify::ClassifierConfig::default();
    let custom = settings
        .detectors
        .iter()
        .map(|d| CustomDetector {
            name: d.name.clone(),
            class: d.class.clone(),
            pattern: d.pattern.clone(),
            validator: match d.validator.as_str() {
                "luhn" => Validator::Luhn,
                "mod97" => Validator::Mod97,
                "aba" => Validator::Aba,
                "high_entropy" => Validator::HighEntropy,
                _ => Validator::None,
            },
            context: d.context.clone(),
            confidence: d.confidence,
        })
        .collect();
    warden_classify::ClassifierConfig {
        disabled: settings.disabled.iter().cloned().collect(),
        min_confidence: settings.min_confidence.unwrap_or(defaults.min_confidence),
        custom,
    }
}

/// The classifier `warden.toml` asks for; a detector that cannot be built
/// (a bad pattern) is an error naming it and where it is declared.
pub fn build_classifier(
    config: &warden_policy::Config,
) -> Result<warden_classify::Classifier, GatewayError> {
    let whole = classifier_config(config);
    warden_classify::Classifier::new(&whole).map_err(|e| {
        // Name the detector at fault: try each on its own.
        let culprit = config
            .classify
            .detectors
            .iter()
            .zip(&whole.custom)
            .find(|(_, c)| {
                let one = warden_classify::ClassifierConfig {
                    custom: vec![(*c).clone()],
                    ..warden_classify::ClassifierConfig::default()
                };
                warden_classify::Classifier::new(&one).is_err()
            });
        let at = culprit
            .map(|(d, _)| format!(" ({}: detector `{}`)", d.location, d.name))
            .unwrap_or_default();
        GatewayError::Setup(format!("the classifier cannot be built{at}: {e}"))
    })
}
