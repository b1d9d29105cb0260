//! Credentials: which provider a key belongs to, whether a value is a live
//! secret, a reference or a placeholder, and its fingerprint. A value is
//! held only in [`Secret`], whose `Debug` redacts, and leaves it only as a
//! fingerprint.

use sha2::{Digest, Sha256};

use crate::finding::{SecretRef, ValueKind};

/// A secret value, borrowed from the file it was read from.
pub(crate) struct Secret<'a>(&'a str);

impl std::fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<redacted {}>)", self.fingerprint())
    }
}

impl<'a> Secret<'a> {
    pub(crate) fn new(value: &'a str) -> Secret<'a> {
        Secret(value)
    }

    /// `sha256:` and the first 12 hex digits of the value's SHA-256.
    pub(crate) fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        format!(
            "sha256:{}",
            hex::encode(digest.get(..6).unwrap_or_default())
        )
    }

    /// Literal, reference or placeholder.
    pub(crate) fn kind(&self) -> ValueKind {
        value_kind(self.0)
    }

    /// The provider its prefix names, if any.
    pub(crate) fn provider(&self) -> Option<&'static str> {
        provider_by_value(self.0)
    }
}

/// Value prefixes that name a provider; longest first where they overlap.
const VALUE_PREFIXES: &[(&str, &str)] = &[
    ("sk-ant-", "anthropic"),
    ("sk-proj-", "openai"),
    ("sk-svcacct-", "openai"),
    ("sk-admin-", "openai"),
    ("sk-or-", "openrouter"),
    ("sk-", "openai"),
    ("gsk_", "groq"),
    ("AIza", "google"),
    ("hf_", "huggingface"),
    ("xai-", "xai"),
    ("pplx-", "perplexity"),
    ("r8_", "replicate"),
    ("ABSK", "aws-bedrock"),
    ("lsv2_", "langsmith"),
    ("nvapi-", "nvidia"),
];

/// The provider a value's prefix names.
pub(crate) fn provider_by_value(value: &str) -> Option<&'static str> {
    let value = value.trim();
    let value = value.strip_prefix("Bearer ").unwrap_or(value);
    VALUE_PREFIXES
        .iter()
        .find(|(prefix, _)| value.starts_with(prefix) && value.len() >= prefix.len() + 16)
        .map(|(_, provider)| *provider)
}

enum NameMatch {
    Contains(&'static str),
    Exact(&'static str),
}

/// Variable names that name a provider; the first match wins.
const NAME_PATTERNS: &[(NameMatch, &str)] = &[
    (NameMatch::Contains("AZURE_OPENAI"), "azure-openai"),
    (NameMatch::Contains("OPENROUTER"), "openrouter"),
    (NameMatch::Contains("OPENAI"), "openai"),
    (NameMatch::Contains("ANTHROPIC"), "anthropic"),
    (NameMatch::Contains("CLAUDE"), "anthropic"),
    (NameMatch::Contains("GEMINI"), "google"),
    (NameMatch::Exact("GOOGLE_API_KEY"), "google"),
    (NameMatch::Contains("GOOGLE_GENERATIVE_AI"), "google"),
    (NameMatch::Contains("GROQ"), "groq"),
    (NameMatch::Contains("MISTRAL"), "mistral"),
    (NameMatch::Contains("COHERE"), "cohere"),
    (NameMatch::Exact("CO_API_KEY"), "cohere"),
    (NameMatch::Contains("HUGGINGFACE"), "huggingface"),
    (NameMatch::Contains("HUGGING_FACE"), "huggingface"),
    (NameMatch::Exact("HF_TOKEN"), "huggingface"),
    (NameMatch::Exact("HF_API_KEY"), "huggingface"),
    (NameMatch::Contains("BEDROCK"), "aws-bedrock"),
    (NameMatch::Contains("DEEPSEEK"), "deepseek"),
    (NameMatch::Exact("XAI_API_KEY"), "xai"),
    (NameMatch::Contains("GROK_"), "xai"),
    (NameMatch::Contains("PERPLEXITY"), "perplexity"),
    (NameMatch::Exact("PPLX_API_KEY"), "perplexity"),
    (NameMatch::Contains("TOGETHER_API"), "together"),
    (NameMatch::Contains("FIREWORKS"), "fireworks"),
    (NameMatch::Contains("REPLICATE"), "replicate"),
    (NameMatch::Contains("VOYAGE"), "voyage"),
    (NameMatch::Contains("LANGSMITH"), "langsmith"),
    (NameMatch::Exact("LANGCHAIN_API_KEY"), "langsmith"),
    (NameMatch::Contains("CEREBRAS"), "cerebras"),
    (NameMatch::Exact("NVIDIA_API_KEY"), "nvidia"),
];

/// The provider a credential-like variable name names (`OPENAI_API_KEY`),
/// or `None` (also for `OPENAI_BASE_URL`, which is not a credential).
pub(crate) fn provider_by_name(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    if !is_credential_name(&upper) {
        return None;
    }
    NAME_PATTERNS
        .iter()
        .find(|(pattern, _)| match pattern {
            NameMatch::Contains(p) => upper.contains(p),
            NameMatch::Exact(p) => upper == *p,
        })
        .map(|(_, provider)| *provider)
}

/// Whether a variable or header name says it holds a credential.
pub(crate) fn is_credential_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "AUTHORIZATION",
        "PAT",
    ]
    .iter()
    .any(|w| {
        upper
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|part| part == *w || (part.ends_with(w) && *w != "PAT"))
    })
}

/// Placeholder words: a value holding one of these is not a live secret.
const PLACEHOLDERS: &[&str] = &[
    "your",
    "xxx",
    "<",
    "...",
    "…",
    "changeme",
    "change-me",
    "change_me",
    "replace",
    "placeholder",
    "example",
    "dummy",
    "insert",
    "todo",
    "fixme",
    "redacted",
    "***",
    "none",
    "null",
];

/// Literal, reference or placeholder.
pub(crate) fn value_kind(value: &str) -> ValueKind {
    let v = value.trim();
    let v = v.strip_prefix("Bearer ").unwrap_or(v).trim();
    if v.starts_with('$')
        || v.contains("${")
        || v.contains("{{")
        || v.contains("$(")
        || (v.starts_with('%') && v.ends_with('%') && v.len() > 2)
        || v.starts_with("op://")
        || v.starts_with("vault:")
    {
        return ValueKind::Reference;
    }
    let lower = v.to_ascii_lowercase();
    let body = VALUE_PREFIXES
        .iter()
        .find_map(|(p, _)| v.strip_prefix(p))
        .unwrap_or(v);
    let one_char = body
        .chars()
        .next()
        .is_some_and(|c| body.chars().all(|d| d == c));
    if v.len() < 8 || one_char || PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return ValueKind::Placeholder;
    }
    ValueKind::Literal
}

/// A [`SecretRef`] for `name = value` when the name or the value says it is
/// a credential; `None` otherwise (`DEBUG=1`, `PORT=3000`).
pub(crate) fn secret_ref(name: &str, value: &str) -> Option<SecretRef> {
    let secret = Secret::new(value);
    let provider = provider_by_name(name).or_else(|| secret.provider());
    if provider.is_none() && !is_credential_name(name) {
        return None;
    }
    let kind = secret.kind();
    Some(SecretRef {
        name: name.to_owned(),
        provider: provider.unwrap_or("unknown").to_owned(),
        fingerprint: (kind == ValueKind::Literal).then(|| secret.fingerprint()),
        value: kind,
    })
}

/// How a secret shows in evidence: never the value.
pub(crate) fn evidence_value(secret: &SecretRef) -> String {
    match (&secret.value, &secret.fingerprint) {
        (ValueKind::Literal, Some(fp)) => format!("<{} key {fp}>", secret.provider),
        (kind, _) => format!("<{}>", kind.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_by_value_and_name() {
        assert_eq!(
            provider_by_value("sk-ant-api03-abcdefghijklmnopqrstuvwxyz"),
            Some("anthropic")
        );
        assert_eq!(
            provider_by_value("sk-proj-abcdefghijklmnopqrstuvwxyz"),
            Some("openai")
        );
        assert_eq!(
            provider_by_value("gsk_abcdefghijklmnopqrstuvwxyz"),
            Some("groq")
        );
        assert_eq!(provider_by_value("sk-"), None);
        assert_eq!(provider_by_name("OPENAI_API_KEY"), Some("openai"));
        assert_eq!(
            provider_by_name("AZURE_OPENAI_API_KEY"),
            Some("azure-openai")
        );
        assert_eq!(provider_by_name("OPENAI_BASE_URL"), None);
        assert_eq!(provider_by_name("DISCO_API_KEY"), None);
        assert_eq!(provider_by_name("HF_TOKEN"), Some("huggingface"));
        assert_eq!(provider_by_name("GITHUB_PERSONAL_ACCESS_TOKEN"), None);
        assert!(is_credential_name("GITHUB_PERSONAL_ACCESS_TOKEN"));
        assert!(is_credential_name("Authorization"));
        assert!(!is_credential_name("PORT"));
        assert!(!is_credential_name("KEYBOARD"));
    }

    #[test]
    fn value_kinds() {
        assert_eq!(value_kind("${OPENAI_API_KEY}"), ValueKind::Reference);
        assert_eq!(value_kind("${input:github-token}"), ValueKind::Reference);
        assert_eq!(
            value_kind("${{ secrets.OPENAI_API_KEY }}"),
            ValueKind::Reference
        );
        assert_eq!(value_kind("$(pass show openai)"), ValueKind::Reference);
        assert_eq!(value_kind("Bearer $TOKEN"), ValueKind::Reference);
        assert_eq!(value_kind(""), ValueKind::Placeholder);
        assert_eq!(value_kind("your-key-here"), ValueKind::Placeholder);
        assert_eq!(value_kind("sk-xxxxxxxxxxxxxxxx"), ValueKind::Placeholder);
        assert_eq!(value_kind("<YOUR_TOKEN>"), ValueKind::Placeholder);
        assert_eq!(
            value_kind("sk-ant-api03-Q7vR2mK9pL4xN8wT3yB6"),
            ValueKind::Literal
        );
    }

    #[test]
    fn fingerprints_never_show_the_value() {
        let value = "sk-ant-api03-Q7vR2mK9pL4xN8wT3yB6";
        let s = Secret::new(value);
        assert!(s.fingerprint().starts_with("sha256:"));
        assert_eq!(s.fingerprint().len(), "sha256:".len() + 12);
        assert!(!format!("{s:?}").contains("Q7vR"));
        let r = secret_ref("ANTHROPIC_API_KEY", value).unwrap();
        assert_eq!(r.provider, "anthropic");
        assert_eq!(r.fingerprint.as_deref(), Some(s.fingerprint().as_str()));
        assert!(secret_ref("PORT", "3000").is_none());
        let reference = secret_ref("OPENAI_API_KEY", "${OPENAI_API_KEY}").unwrap();
        assert_eq!(reference.value, ValueKind::Reference);
        assert!(reference.fingerprint.is_none());
    }
}
