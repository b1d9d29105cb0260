//! What a [`Classifier`](crate::Classifier) is built from.

use std::collections::BTreeSet;

/// Errors building a classifier from its configuration or a redaction
/// policy, and reading a text as JSON.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// A custom detector's pattern is not a valid regular expression.
    #[error("custom detector `{name}`: invalid pattern `{pattern}`: {message}")]
    InvalidPattern {
        /// The detector's name.
        name: String,
        /// The pattern as configured.
        pattern: String,
        /// What the regex compiler said.
        message: String,
    },
    /// A custom detector has an empty name or class.
    #[error("custom detector `{name}`: name and class must not be empty")]
    EmptyName {
        /// The detector's name (possibly empty).
        name: String,
    },
    /// A confidence outside 0..=1.
    #[error("custom detector `{name}`: confidence `{confidence}` is not between 0 and 1")]
    InvalidConfidence {
        /// The detector's name.
        name: String,
        /// The configured confidence.
        confidence: f32,
    },
    /// The literal prefilter could not be built.
    #[error("cannot build the prefilter: {0}")]
    Prefilter(String),
    /// A built-in detector type to turn off that does not exist.
    #[error("unknown built-in detector `{name}` to disable: expected some of {known}")]
    UnknownDetector {
        /// The name given.
        name: String,
        /// The built-in types, comma-separated.
        known: String,
    },
    /// A redaction key shorter than the minimum.
    #[error("the redaction key is {length} bytes long; at least {min} are needed")]
    ShortRedactionKey {
        /// The key's length in bytes.
        length: usize,
        /// The minimum length in bytes.
        min: usize,
    },
    /// A text given as JSON is not one JSON document (or is nested deeper
    /// than 128 arrays and objects); says where, as serde_json does.
    #[error("line {line} column {column}: not a JSON document: {error}", line = .0.line(), column = .0.column(), error = .0)]
    NotJson(#[source] serde_json::Error),
    /// A redaction rule's class prefix is not a dotted class name.
    #[error("class prefix `{prefix}` is not a dotted class name such as `pii` or `pii.contact`")]
    InvalidClassPrefix {
        /// The prefix as given.
        prefix: String,
    },
}

/// How a classifier is set up: which built-in detectors run, and custom ones.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierConfig {
    /// Built-in detector types to turn off, e.g. `"ip"`, `"phone"`.
    pub disabled: BTreeSet<String>,
    /// Findings below this confidence are dropped.
    pub min_confidence: f32,
    /// Detectors from configuration, run after the built-in ones.
    pub custom: Vec<CustomDetector>,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            disabled: BTreeSet::new(),
            min_confidence: 0.5,
            custom: Vec::new(),
        }
    }
}

/// A detector from configuration: a pattern, a validator, context words and a class.
///
/// The pattern is an ASCII-mode regular expression (`\d`, `\w`, `\b` are
/// ASCII; non-ASCII text still matches literally), run over the whole text, so
/// each custom detector costs one extra scan.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomDetector {
    /// The finding type, e.g. `"employee_id"`.
    pub name: String,
    /// The class findings carry, e.g. `"pii.identity"` or `"acme.internal"`.
    pub class: String,
    /// The regular expression; the whole match is the finding.
    pub pattern: String,
    /// A check the match must pass.
    pub validator: Validator,
    /// Words (case-insensitive) of which one must appear within 64 bytes
    /// before or 32 bytes after the match, or as the JSON key; empty means no
    /// context is needed.
    pub context: Vec<String>,
    /// Confidence of a finding.
    pub confidence: f32,
}

/// The checks a custom detector can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validator {
    /// No check beyond the pattern.
    #[default]
    None,
    /// The Luhn checksum over the match's digits.
    Luhn,
    /// ISO 7064 mod-97 over the match's letters and digits, as in IBAN.
    Mod97,
    /// The US ABA routing-number checksum over nine digits.
    Aba,
    /// At least 3.5 bits of Shannon entropy per byte and 16 bytes long.
    HighEntropy,
}
