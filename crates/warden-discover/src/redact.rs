//! Evidence without secrets: command lines and URLs as found, with anything
//! that looks like a credential replaced by its fingerprint.

use crate::finding::ValueKind;
use crate::secrets::{Secret, is_credential_name, provider_by_value, value_kind};
use crate::text::short;

/// The longest evidence string.
pub(crate) const MAX_EVIDENCE: usize = 160;

/// A command and its arguments, shell-quoted where needed, secrets redacted.
pub(crate) fn command_line(command: &str, args: &[String]) -> String {
    let mut parts = vec![quote(&redact_word(command))];
    let mut after_secret_flag = false;
    for arg in args {
        let shown = if after_secret_flag && value_kind(arg) == ValueKind::Literal {
            redacted(arg)
        } else {
            redact_word(arg)
        };
        after_secret_flag = is_secret_flag(arg);
        parts.push(quote(&shown));
    }
    short(&parts.join(" "), MAX_EVIDENCE)
}

/// A URL with user information and query values redacted.
pub(crate) fn url(text: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(text.trim()) else {
        return short(&redact_word(text), MAX_EVIDENCE);
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // Fails only for URLs that cannot have user information.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let shown = if is_credential_name(&k) || looks_secret(&v) {
                    "<redacted>".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), shown)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    short(parsed.as_str(), MAX_EVIDENCE)
}

/// `--api-key`, `--token`-style flags whose next argument is secret; not
/// those that name where a secret is (`--token-file`, `--api-key-env`).
fn is_secret_flag(arg: &str) -> bool {
    let Some(flag) = arg.strip_prefix('-') else {
        return false;
    };
    let name = flag.trim_start_matches('-').to_ascii_uppercase();
    let names_a_place = ["FILE", "PATH", "DIR", "ENV", "VAR", "NAME", "ID"]
        .iter()
        .any(|w| name.ends_with(w));
    !flag.contains('=') && !names_a_place && is_credential_name(&name)
}

fn redact_word(word: &str) -> String {
    // `NAME=value` and `--api-key=value`
    if let Some((key, value)) = word.split_once('=') {
        let name = key.trim_start_matches('-');
        if (is_credential_name(name) && value_kind(value) == ValueKind::Literal)
            || looks_secret(value)
        {
            return format!("{key}={}", redacted(value));
        }
    }
    // `Authorization: Bearer …` as a header argument
    if let Some((key, value)) = word.split_once(':')
        && is_credential_name(key.trim())
        && value_kind(value) == ValueKind::Literal
    {
        return format!("{key}: {}", redacted(value.trim()));
    }
    if looks_secret(word) {
        return redacted(word);
    }
    if word.starts_with("http://") || word.starts_with("https://") {
        return url(word);
    }
    word.to_owned()
}

fn redacted(value: &str) -> String {
    format!("<redacted:{}>", Secret::new(value).fingerprint())
}

/// A provider key, a JWT, or a long high-entropy token.
pub(crate) fn looks_secret(word: &str) -> bool {
    let word = word.trim();
    if provider_by_value(word).is_some() {
        return true;
    }
    if word.starts_with("eyJ") && word.matches('.').count() == 2 && word.len() > 30 {
        return true;
    }
    word.len() >= 24
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'='))
        && word.bytes().any(|b| b.is_ascii_digit())
        && word.bytes().any(|b| b.is_ascii_uppercase())
        && word.bytes().any(|b| b.is_ascii_lowercase())
        && entropy(word) > 3.5
}

/// Shannon entropy in bits per character.
fn entropy(word: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in word.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
    }
    let n = word.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

fn quote(word: &str) -> String {
    if word.is_empty() || word.contains([' ', '"', '\'']) {
        format!("'{}'", word.replace('\'', "'\\''"))
    } else {
        word.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-proj-R4nd0mV4lu3Th4tL00ksL1keAK3yZZq";

    #[test]
    fn command_lines_hide_secrets() {
        let args: Vec<String> = [
            "-y",
            "@x/server",
            "--api-key",
            KEY,
            &format!("--token={KEY}"),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let shown = command_line("npx", &args);
        assert!(!shown.contains("R4nd0m"), "{shown}");
        assert!(
            shown.starts_with("npx -y @x/server --api-key <redacted:sha256:"),
            "{shown}"
        );
        let header = command_line(
            "npx",
            &["--header".into(), format!("Authorization: Bearer {KEY}")],
        );
        assert!(!header.contains("R4nd0m"), "{header}");
        assert_eq!(
            command_line("uvx", &["mcp-server-git".into()]),
            "uvx mcp-server-git"
        );
    }

    #[test]
    fn urls_hide_credentials() {
        let shown = url(&format!(
            "https://user:pw@mcp.example.com/mcp?api_key={KEY}&region=eu"
        ));
        assert!(
            !shown.contains("R4nd0m") && !shown.contains("pw@"),
            "{shown}"
        );
        assert!(shown.contains("region=eu"));
    }

    #[test]
    fn paths_are_not_secrets() {
        assert!(!looks_secret("/home/user/projects/warden"));
        assert!(!looks_secret("@modelcontextprotocol/server-filesystem"));
        assert!(looks_secret("ghp_Abc123Def456Ghi789Jkl012Mno345"));
    }
}
