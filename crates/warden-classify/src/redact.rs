//! Redaction: replacing findings in text and JSON according to a policy that
//! maps data classes to an action.
//!
//! Spans are the findings' byte offsets; a span that does not fall on
//! character boundaries (findings from another text, say) is widened to
//! them, and one past the end is cut at the end, so redaction never panics
//! and never leaves half a character of a secret behind.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::hidden::is_hidden;
use crate::{ClassifyError, Finding, JsonFinding};

/// What happens to a finding of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedactionAction {
    /// Replace with `[REDACTED:<type>]`, e.g. `[REDACTED:email]`. A card
    /// keeps its last four digits, `[REDACTED:card ****1111]`, as PCI DSS
    /// allows to show.
    Mask,
    /// Replace with `[sha256:<16 hex digits>]`: the start of HMAC-SHA256 of
    /// the value under the policy's key. Equal values give equal hashes, so
    /// records still join; without the key a hash cannot be checked against
    /// guesses. Numbers (cards, IBANs, phones, …) lose their spaces, dashes,
    /// dots and parentheses and e-mail addresses their case first, so
    /// `4111 1111 1111 1111` and `4111-1111-1111-1111` hash alike.
    Hash,
    /// Replace with `tok_<24 hex digits>`, a stable token derived like
    /// [`Hash`](Self::Hash) but separately, so a token and a hash of the same
    /// value do not match.
    Tokenize,
    /// Leave the value as it is.
    Keep,
}

impl RedactionAction {
    /// How much an action hides, to choose between overlapping findings.
    fn strength(self) -> u8 {
        match self {
            Self::Mask => 3,
            Self::Tokenize => 2,
            Self::Hash => 1,
            Self::Keep => 0,
        }
    }
}

/// The secret key for [`RedactionAction::Hash`] and
/// [`RedactionAction::Tokenize`]: at least 16 bytes, best 32 random ones.
/// `Debug` does not show it and it is wiped from memory when dropped.
#[derive(Clone)]
pub struct RedactionKey(Zeroizing<Vec<u8>>);

impl RedactionKey {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 16;

    /// Wraps `bytes` as a key; fails if shorter than [`Self::MIN_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ClassifyError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.len() < Self::MIN_LEN {
            return Err(ClassifyError::ShortRedactionKey {
                length: bytes.len(),
                min: Self::MIN_LEN,
            });
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for RedactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedactionKey(<redacted>)")
    }
}

/// Which action applies to which class: the rule with the longest matching
/// class prefix wins (`pii` covers `pii.contact` and `pii.identity`,
/// `pii.contact` is more specific), and classes no rule covers get the
/// fallback, [`RedactionAction::Mask`] unless set.
///
/// Without a key, [`RedactionAction::Hash`] and [`RedactionAction::Tokenize`]
/// mask instead: an unkeyed hash of a card number or an SSN can be reversed
/// by trying every value.
///
/// ```
/// use warden_classify::{Classifier, ClassifierConfig, RedactionAction, RedactionKey, RedactionPolicy, redact};
///
/// let key = RedactionKey::new(*b"0123456789abcdef0123456789abcdef")?;
/// let policy = RedactionPolicy::default()
///     .with_key(key)
///     .rule("pii.contact", RedactionAction::Tokenize)?
///     .rule("financial", RedactionAction::Mask)?;
/// let text = "mail ann@example.com, card 4111 1111 1111 1111";
/// let findings = Classifier::new(&ClassifierConfig::default())?.classify_text(text);
/// let out = redact(text, &findings, &policy);
/// assert!(out.starts_with("mail tok_"));
/// assert!(out.ends_with(", card [REDACTED:card ****1111]"));
/// # Ok::<(), warden_classify::ClassifyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RedactionPolicy {
    rules: Vec<(String, RedactionAction)>,
    fallback: RedactionAction,
    key: Option<RedactionKey>,
}

impl Default for RedactionPolicy {
    /// Masks every class.
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            fallback: RedactionAction::Mask,
            key: None,
        }
    }
}

impl RedactionPolicy {
    /// Sets the key that hashes and tokens are derived with.
    #[must_use]
    pub fn with_key(mut self, key: RedactionKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Applies `action` to `class_prefix` and the classes under it (a later
    /// rule for the same prefix replaces an earlier one). The prefix is a
    /// dotted class name such as `pii` or `pii.contact`.
    pub fn rule(
        mut self,
        class_prefix: &str,
        action: RedactionAction,
    ) -> Result<Self, ClassifyError> {
        let valid = !class_prefix.is_empty()
            && class_prefix.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
        if !valid {
            return Err(ClassifyError::InvalidClassPrefix {
                prefix: class_prefix.to_owned(),
            });
        }
        self.rules.retain(|(p, _)| p != class_prefix);
        self.rules.push((class_prefix.to_owned(), action));
        Ok(self)
    }

    /// Sets the action for classes no rule covers.
    #[must_use]
    pub fn fallback(mut self, action: RedactionAction) -> Self {
        self.fallback = action;
        self
    }

    /// The action for `class` as configured (the longest matching prefix, or
    /// the fallback).
    pub fn action_for(&self, class: &str) -> RedactionAction {
        self.rules
            .iter()
            .filter(|(prefix, _)| {
                class == prefix
                    || class
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.fallback, |(_, action)| *action)
    }

    /// The action carried out: hashing and tokenizing need the key.
    fn effective(&self, class: &str) -> RedactionAction {
        match self.action_for(class) {
            RedactionAction::Hash | RedactionAction::Tokenize if self.key.is_none() => {
                RedactionAction::Mask
            }
            action => action,
        }
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts` under `key`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::Mac as _;
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The value as hashed: numbers without separators, e-mail in lowercase.
fn normalise(detector: &str, value: &str) -> String {
    let value: String = value.chars().filter(|c| !is_hidden(*c)).collect();
    match detector {
        "card" | "iban" | "ssn" | "routing" | "nino" | "phone" | "uk_postcode" | "passport"
        | "mrn" | "fr_nir" | "de_tax_id" | "es_dni" | "es_nie" | "it_codice_fiscale" | "nl_bsn" => {
            value
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                .map(|c| c.to_ascii_uppercase())
                .collect()
        }
        "email" => value.to_lowercase(),
        _ => value,
    }
}

/// The replacement for `value`, found by `detector`, under `action`.
fn replacement(
    detector: &str,
    value: &str,
    action: RedactionAction,
    key: Option<&RedactionKey>,
    whole_card: bool,
) -> String {
    let keyed = |label: &[u8]| {
        key.map(|k| hmac_sha256(&k.0, &[label, normalise(detector, value).as_bytes()]))
    };
    match action {
        RedactionAction::Keep => return value.to_owned(),
        RedactionAction::Hash => {
            if let Some(h) = keyed(b"warden-redact-hash\0") {
                return format!("[sha256:{}]", hex(&h[..8]));
            }
        }
        RedactionAction::Tokenize => {
            if let Some(t) = keyed(b"warden-redact-token\0") {
                return format!("tok_{}", hex(&t[..12]));
            }
        }
        RedactionAction::Mask => {}
    }
    if detector == "card" && whole_card {
        let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
        let last: String = digits[digits.len().saturating_sub(4)..].iter().collect();
        return format!("[REDACTED:card ****{last}]");
    }
    format!("[REDACTED:{detector}]")
}

/// `text` with each finding replaced as `policy` says for its class.
///
/// Overlapping findings are merged into one replacement of their union,
/// under the most hiding action among them (mask, then token, then hash)
/// and that finding's type; a finding whose class is kept does not merge.
pub fn redact(text: &str, findings: &[Finding], policy: &RedactionPolicy) -> String {
    struct Span<'f> {
        start: usize,
        end: usize,
        finding: &'f Finding,
        action: RedactionAction,
        parts: usize,
    }
    let mut spans: Vec<Span<'_>> = findings
        .iter()
        .filter_map(|f| {
            let action = policy.effective(&f.class);
            let end = ceil(text, f.end);
            let start = floor(text, f.start.min(end));
            (action != RedactionAction::Keep && start < end).then_some(Span {
                start,
                end,
                finding: f,
                action,
                parts: 1,
            })
        })
        .collect();
    spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut merged: Vec<Span<'_>> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start < last.end => {
                last.end = last.end.max(s.end);
                last.parts += 1;
                if s.action.strength() > last.action.strength() {
                    last.action = s.action;
                    last.finding = s.finding;
                }
            }
            _ => merged.push(s),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in &merged {
        out.push_str(&text[at..s.start]);
        let f = s.finding;
        let whole_card =
            s.parts == 1 && floor(text, f.start) == s.start && ceil(text, f.end) == s.end;
        out.push_str(&replacement(
            f.detector,
            &text[s.start..s.end],
            s.action,
            policy.key.as_ref(),
            whole_card,
        ));
        at = s.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Rewrites, in place, every string of `value` that has findings (as
/// returned by [`Classifier::classify_json`](crate::Classifier::classify_json)
/// on the same value) with [`redact`]. A number with a finding (a card
/// number written as a JSON number, say) becomes the redacted string.
/// Object keys are left alone; findings whose path is not in `value` are
/// ignored.
pub fn redact_json(value: &mut Value, findings: &[JsonFinding], policy: &RedactionPolicy) {
    let mut by_path: HashMap<&str, Vec<Finding>> = HashMap::new();
    for f in findings {
        by_path
            .entry(f.path.as_str())
            .or_default()
            .push(f.finding.clone());
    }
    let mut path = String::from("$");
    walk(value, &mut path, &by_path, policy);
}

fn walk(
    value: &mut Value,
    path: &mut String,
    by_path: &HashMap<&str, Vec<Finding>>,
    policy: &RedactionPolicy,
) {
    match value {
        Value::String(s) => {
            if let Some(found) = by_path.get(path.as_str()) {
                *s = redact(s, found, policy);
            }
        }
        Value::Number(n) => {
            if let Some(found) = by_path.get(path.as_str()) {
                *value = Value::String(redact(&n.to_string(), found, policy));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                crate::json::push_index(path, i);
                walk(item, path, by_path, policy);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let len = path.len();
                crate::json::push_key(path, k);
                walk(v, path, by_path, policy);
                path.truncate(len);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

fn floor(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_default())
            .collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let cases: [(Vec<u8>, &[u8], &str); 3] = [
            (
                vec![0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, mac) in cases {
            let (a, b) = data.split_at(data.len() / 2);
            assert_eq!(hmac_sha256(&key, &[a, b]).to_vec(), unhex(mac));
        }
    }

    #[test]
    fn prefixes_pick_the_longest_rule() {
        let p = RedactionPolicy::default()
            .fallback(RedactionAction::Keep)
            .rule("pii", RedactionAction::Hash)
            .and_then(|p| p.rule("pii.contact", RedactionAction::Tokenize));
        let Ok(p) = p else {
            unreachable!("valid prefixes")
        };
        assert_eq!(p.action_for("pii.contact"), RedactionAction::Tokenize);
        assert_eq!(p.action_for("pii.identity"), RedactionAction::Hash);
        assert_eq!(p.action_for("pii"), RedactionAction::Hash);
        assert_eq!(p.action_for("piix"), RedactionAction::Keep);
        assert_eq!(p.action_for("credentials"), RedactionAction::Keep);
        assert!(
            RedactionPolicy::default()
                .rule("", RedactionAction::Mask)
                .is_err()
        );
        assert!(
            RedactionPolicy::default()
                .rule("pii..x", RedactionAction::Mask)
                .is_err()
        );
    }
}
