//! The classifier: built once, then scans text and JSON.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Mutex, OnceLock};

use aho_corasick::AhoCorasick;
use regex::bytes::{Regex, RegexBuilder};

use crate::config::{ClassifierConfig, ClassifyError, Validator};
use crate::hidden::Stripped;
use crate::scan::{KeyHint, Scan, contains_any_ci};
use crate::{
    Finding, check, detect_at, detect_cloud, detect_context, detect_digits, detect_literal,
};

/// Detects classified data in text and JSON. Build once, share freely (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct Classifier {
    literals: AhoCorasick,
    disabled: BTreeSet<String>,
    min_confidence: f32,
    custom: Vec<Custom>,
}

#[derive(Debug, Clone)]
struct Custom {
    name: &'static str,
    class: String,
    regex: Regex,
    validator: Validator,
    context: Vec<String>,
    confidence: f32,
}

/// Interns custom detector names so findings can carry `&'static str`; each
/// distinct name is leaked once for the life of the process.
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The types of the built-in detectors (what [`ClassifierConfig::disabled`]
/// may name, and what findings report as their type).
pub const BUILTIN_DETECTORS: &[&str] = &[
    "aws_access_key",
    "azure_client_secret",
    "azure_storage_key",
    "card",
    "confidential",
    "de_tax_id",
    "dob",
    "email",
    "es_dni",
    "es_nie",
    "fr_nir",
    "gcp_service_account",
    "github_token",
    "gitlab_token",
    "iban",
    "icd10",
    "ip",
    "it_codice_fiscale",
    "jwt",
    "mrn",
    "nino",
    "nl_bsn",
    "passport",
    "password",
    "phone",
    "private_key",
    "privileged",
    "routing",
    "secret",
    "slack_token",
    "ssn",
    "street_address",
    "stripe_key",
    "swift",
    "uk_postcode",
    "url_password",
];

impl Classifier {
    /// Builds a classifier; fails on an invalid custom detector or a
    /// disabled type that is not a built-in one.
    pub fn new(config: &ClassifierConfig) -> Result<Self, ClassifyError> {
        if let Some(name) = config
            .disabled
            .iter()
            .find(|d| !BUILTIN_DETECTORS.contains(&d.as_str()))
        {
            return Err(ClassifyError::UnknownDetector {
                name: name.clone(),
                known: BUILTIN_DETECTORS.join(", "),
            });
        }
        let mut custom = Vec::with_capacity(config.custom.len());
        for d in &config.custom {
            if d.name.is_empty() || d.class.is_empty() {
                return Err(ClassifyError::EmptyName {
                    name: d.name.clone(),
                });
            }
            if !(0.0..=1.0).contains(&d.confidence) {
                return Err(ClassifyError::InvalidConfidence {
                    name: d.name.clone(),
                    confidence: d.confidence,
                });
            }
            let regex = RegexBuilder::new(&d.pattern)
                .unicode(false)
                .build()
                .map_err(|e| ClassifyError::InvalidPattern {
                    name: d.name.clone(),
                    pattern: d.pattern.clone(),
                    message: e.to_string(),
                })?;
            custom.push(Custom {
                name: intern(&d.name),
                class: d.class.clone(),
                regex,
                validator: d.validator,
                context: d.context.iter().map(|w| w.to_ascii_lowercase()).collect(),
                confidence: d.confidence,
            });
        }
        Ok(Self {
            literals: detect_literal::automaton()?,
            disabled: config.disabled.clone(),
            min_confidence: config.min_confidence,
            custom,
        })
    }

    /// Finds classified data in `text`, ordered by start offset; spans are byte offsets.
    pub fn classify_text(&self, text: &str) -> Vec<Finding> {
        self.scan(text, None)
    }

    /// The set of classes found in `text`.
    pub fn classes_of_text(&self, text: &str) -> BTreeSet<String> {
        self.classify_text(text)
            .into_iter()
            .map(|f| f.class)
            .collect()
    }

    /// Scans `text`, which sits under the JSON key `key` if any; text with
    /// NUL or zero-width characters is scanned without them.
    pub(crate) fn scan(&self, text: &str, key: Option<&str>) -> Vec<Finding> {
        match Stripped::new(text) {
            Some(stripped) => {
                let mut out = self.scan_visible(&stripped.text, key);
                stripped.map_back(&mut out);
                out
            }
            None => self.scan_visible(text, key),
        }
    }

    /// Scans `text`, which holds no hidden characters.
    fn scan_visible(&self, text: &str, key: Option<&str>) -> Vec<Finding> {
        let mut s = Scan::new(text, key, &self.disabled);
        let mut next = 0;
        for at in memchr::memchr_iter(b'@', s.b) {
            if at >= next {
                next = detect_at::at_sign(&mut s, at).unwrap_or(at + 1);
            }
        }
        let mut next = 0;
        for m in self.literals.find_iter(s.b) {
            if m.start() >= next {
                next = detect_literal::literal(&mut s, m.pattern().as_usize(), m.start(), m.end())
                    .unwrap_or(0);
            }
        }
        let mut next = 0;
        for sep in memchr::memchr2_iter(b'=', b':', s.b) {
            if sep >= next {
                next = detect_literal::assignment(&mut s, sep).unwrap_or(0);
            }
        }
        detect_digits::scan(&mut s);
        self.whole_value(&mut s);
        for c in &self.custom {
            c.scan(&mut s);
        }
        let mut out = s.out;
        out.retain(|f| f.confidence >= self.min_confidence);
        resolve_overlaps(&mut out);
        out
    }

    /// Under a key such as `password` or `swift`, the whole value is the finding.
    fn whole_value(&self, s: &mut Scan<'_>) {
        let v = s.text.trim();
        let start = s.text.len() - s.text.trim_start().len();
        let end = start + v.len();
        let covered = s.out.iter().any(|f| f.start <= start && f.end >= end);
        if v.is_empty() || covered || v.contains(char::is_whitespace) {
            return;
        }
        let b = v.as_bytes();
        match s.hint {
            Some(KeyHint::Password) if !placeholder(b) && !detect_literal::url_or_path(b) => {
                s.emit("password", "credentials", 0.9, start, end)
            }
            Some(KeyHint::Secret) if detect_cloud::azure_secret_shape(b) => {
                s.emit("azure_client_secret", "credentials", 0.95, start, end)
            }
            Some(KeyHint::Secret) if check::high_entropy(b) => {
                s.emit("secret", "credentials", 0.85, start, end)
            }
            Some(KeyHint::Swift) if detect_literal::bic_shape(b) => {
                s.emit("swift", "financial.account", 0.95, start, end);
            }
            Some(KeyHint::Passport) if detect_context::passport_shape(b) => {
                s.emit("passport", "pii.identity", 0.9, start, end);
            }
            Some(KeyHint::MedicalRecord) if detect_context::mrn_shape(b) => {
                s.emit("mrn", "health", 0.9, start, end);
            }
            _ => {}
        }
    }
}

fn placeholder(v: &[u8]) -> bool {
    v.iter().all(|c| *c == b'*' || *c == b'x') || matches!(v.first(), Some(b'$' | b'<' | b'{'))
}

impl Custom {
    fn scan(&self, s: &mut Scan<'_>) {
        let words: Vec<&str> = self.context.iter().map(String::as_str).collect();
        let key_matches = s.key.is_some_and(|k| contains_any_ci(k.as_bytes(), &words));
        for m in self.regex.find_iter(s.b) {
            let bytes = m.as_bytes();
            let valid = match self.validator {
                Validator::None => true,
                Validator::Luhn => check::luhn(bytes),
                Validator::Mod97 => check::mod97(
                    &bytes
                        .iter()
                        .copied()
                        .filter(u8::is_ascii_alphanumeric)
                        .collect::<Vec<_>>(),
                ),
                Validator::Aba => check::aba(
                    &bytes
                        .iter()
                        .copied()
                        .filter(u8::is_ascii_digit)
                        .collect::<Vec<_>>(),
                ),
                Validator::HighEntropy => check::high_entropy(bytes),
            };
            let in_context =
                words.is_empty() || key_matches || s.context(m.start(), m.end(), &words, 64, 32);
            if valid && in_context {
                s.emit(self.name, &self.class, self.confidence, m.start(), m.end());
            }
        }
    }
}

/// Orders findings by start and drops any inside an earlier, wider one.
fn resolve_overlaps(out: &mut Vec<Finding>) {
    out.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(b.confidence.total_cmp(&a.confidence))
    });
    let mut kept: Vec<Finding> = Vec::with_capacity(out.len());
    let mut reach = 0;
    for f in out.drain(..) {
        let inside = kept.last().is_some() && f.end <= reach;
        if !inside {
            reach = reach.max(f.end);
            kept.push(f);
        }
    }
    *out = kept;
}
