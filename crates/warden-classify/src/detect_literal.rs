//! Detectors anchored on literals found by one Aho-Corasick pass: cloud and
//! service tokens, JWTs, PEM keys, markings, SWIFT/BIC after its key words,
//! and secrets after key words such as `password=` or `api_key:`. The
//! context-word detectors (passport, medical record numbers) and the cloud
//! credentials (GCP, Azure, GitLab) live in their own modules.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::ClassifyError;
use crate::scan::{Scan, alnum, contains_any_ci};
use crate::{check, detect_cloud};

/// What a literal anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Aws,
    GitHub,
    GitHubPat,
    Slack,
    Stripe,
    Jwt,
    Pem,
    Privileged,
    Confidential,
    Swift,
    Bearer,
    GitLab,
}

/// The literals, matched with exact case: case-insensitive matching of short
/// words made the automaton three times slower on prose, so markings anchor
/// on their case variants and are checked around the match. Keep the list at
/// 32 literals of 3 bytes or more: beyond that the automaton's prefilter
/// switches to a slower variant (fat Teddy, or shorter fingerprints), which
/// cost a third of the prose throughput when it happened. So `xox` stands for
/// the five Slack prefixes and `k_live_` for both Stripe ones, the letter
/// before or after the literal checked in code. The prefilter keys on the
/// first three bytes of each literal, so a literal must not start like
/// common words do: GitLab's `gloas-`, `glagent-` and `glimt-` (`glo`, `gla`,
/// `gli`: global, glass, glimpse) cost 15% of the prose throughput and are
/// left to the secret detector after a key word.
const LITERALS: &[(&str, Anchor)] = &[
    ("AKIA", Anchor::Aws),
    ("ASIA", Anchor::Aws),
    ("ghp_", Anchor::GitHub),
    ("gho_", Anchor::GitHub),
    ("ghu_", Anchor::GitHub),
    ("ghs_", Anchor::GitHub),
    ("ghr_", Anchor::GitHub),
    ("github_pat_", Anchor::GitHubPat),
    ("xox", Anchor::Slack),
    ("k_live_", Anchor::Stripe),
    ("eyJ", Anchor::Jwt),
    ("-----BEGIN ", Anchor::Pem),
    ("rivileged", Anchor::Privileged),
    ("RIVILEGED", Anchor::Privileged),
    ("onfidential", Anchor::Confidential),
    ("ONFIDENTIAL", Anchor::Confidential),
    ("BIC", Anchor::Swift),
    ("SWIFT", Anchor::Swift),
    ("wift", Anchor::Swift),
    ("earer", Anchor::Bearer),
    ("glpat-", Anchor::GitLab),
    ("gldt-", Anchor::GitLab),
    ("glrt-", Anchor::GitLab),
    ("glptt-", Anchor::GitLab),
    ("glcbt-", Anchor::GitLab),
    ("glft-", Anchor::GitLab),
    ("glsoat-", Anchor::GitLab),
];

/// Builds the automaton over [`LITERALS`].
pub(crate) fn automaton() -> Result<AhoCorasick, ClassifyError> {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(LITERALS.iter().map(|(lit, _)| lit))
        .map_err(|e| ClassifyError::Prefilter(e.to_string()))
}

/// Handles one literal match; returns the end of what it consumed.
pub(crate) fn literal(s: &mut Scan<'_>, pattern: usize, start: usize, end: usize) -> Option<usize> {
    let (_, anchor) = LITERALS.get(pattern)?;
    match anchor {
        Anchor::Aws => token(
            s,
            start,
            end,
            16,
            16,
            |c| c.is_ascii_uppercase() || c.is_ascii_digit(),
            "aws_access_key",
            0.95,
        ),
        Anchor::GitHub => token(
            s,
            start,
            end,
            36,
            36,
            |c| c.is_ascii_alphanumeric(),
            "github_token",
            0.95,
        ),
        Anchor::GitHubPat => token(
            s,
            start,
            end,
            60,
            255,
            |c| c.is_ascii_alphanumeric() || c == b'_',
            "github_token",
            0.95,
        ),
        Anchor::Slack => {
            if !b"baprs".contains(&s.at(end)) || s.at(end + 1) != b'-' {
                return None;
            }
            token(
                s,
                start,
                end + 2,
                10,
                255,
                |c| c.is_ascii_alphanumeric() || c == b'-',
                "slack_token",
                0.9,
            )
        }
        Anchor::Stripe => {
            let start = start.checked_sub(1)?;
            if !matches!(s.at(start), b's' | b'r') {
                return None;
            }
            token(
                s,
                start,
                end,
                16,
                255,
                |c| c.is_ascii_alphanumeric(),
                "stripe_key",
                0.95,
            )
        }
        Anchor::Jwt => jwt(s, start),
        Anchor::Pem => pem(s, start, end),
        Anchor::Privileged => privileged(s, start.checked_sub(1)?, end),
        Anchor::Confidential => {
            let start = start.checked_sub(1)?;
            if !s.at(start).eq_ignore_ascii_case(&b'c') {
                return None;
            }
            let upper = s.b.get(start..end)?.iter().all(u8::is_ascii_uppercase);
            marking(
                s,
                start,
                end,
                "confidential",
                "confidential",
                if upper { 0.9 } else { 0.6 },
            )
        }
        Anchor::Swift => {
            let start = match s.at(start) {
                b'w' | b'W' => start.checked_sub(1)?,
                _ => start,
            };
            let word = s.b.get(start..end)?;
            if !matches!(word, b"BIC" | b"SWIFT" | b"Swift" | b"swift") {
                return None;
            }
            swift(s, start, end)
        }
        Anchor::Bearer => {
            let start = start.checked_sub(1)?;
            if !matches!(s.at(start), b'B' | b'b') {
                return None;
            }
            bearer(s, start, end)
        }
        Anchor::GitLab => detect_cloud::gitlab_token(s, start, end),
    }
}

/// `attorney-client privileged` or `privileged & confidential`, any case,
/// given the span of the word `privileged`.
fn privileged(s: &mut Scan<'_>, word: usize, end: usize) -> Option<usize> {
    if !s.at(word).eq_ignore_ascii_case(&b'p') {
        return None;
    }
    let ci = |a: &[u8], b: &[u8]| a.eq_ignore_ascii_case(b);
    let lead = ["attorney-client ", "attorney client "]
        .iter()
        .find_map(|l| {
            let from = word.checked_sub(l.len())?;
            ci(s.b.get(from..word)?, l.as_bytes()).then_some(from)
        });
    let tail = [" & confidential", " and confidential"]
        .iter()
        .find_map(|t| ci(s.b.get(end..end + t.len())?, t.as_bytes()).then_some(end + t.len()));
    let end = match s.at(end) {
        b'e' | b'E' => end + 1,
        _ => tail.unwrap_or(end),
    };
    if lead.is_none() && tail.is_none() {
        return None;
    }
    marking(
        s,
        lead.unwrap_or(word),
        end,
        "privileged",
        "privileged",
        0.95,
    )
}

fn base64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// A prefix followed by `min..=max` body bytes and a boundary.
#[expect(
    clippy::too_many_arguments,
    reason = "a flat table of token shapes reads best"
)]
fn token(
    s: &mut Scan<'_>,
    start: usize,
    end: usize,
    min: usize,
    max: usize,
    body: fn(u8) -> bool,
    detector: &'static str,
    confidence: f32,
) -> Option<usize> {
    if alnum(s.before(start)) {
        return None;
    }
    let len =
        s.b.get(end..)?
            .iter()
            .take(max + 1)
            .take_while(|c| body(**c))
            .count();
    if len < min || len > max || alnum(s.at(end + len)) {
        return None;
    }
    s.emit(detector, "credentials", confidence, start, end + len);
    Some(end + len)
}

fn jwt(s: &mut Scan<'_>, start: usize) -> Option<usize> {
    if base64url(s.before(start)) || s.before(start) == b'.' {
        return None;
    }
    let segment = |i: usize| {
        s.b.get(i..)
            .map_or(0, |t| t.iter().take_while(|c| base64url(**c)).count())
    };
    let h = segment(start);
    let payload = start + h + 1;
    if s.at(start + h) != b'.' {
        return None;
    }
    let p = segment(payload);
    let signature = payload + p + 1;
    if p < 2 || s.at(payload + p) != b'.' {
        return None;
    }
    let end = signature + segment(signature);
    if s.at(end) == b'.' && base64url(s.at(end + 1)) {
        return None;
    }
    if !check::jwt_header(s.b.get(start..start + h)?) {
        return None;
    }
    s.emit("jwt", "credentials", 0.95, start, end);
    Some(end)
}

fn pem(s: &mut Scan<'_>, start: usize, end: usize) -> Option<usize> {
    let head = s.b.get(end..(end + 48).min(s.b.len()))?;
    let label_len = memchr::memmem::find(head, b"-----")?;
    let label = head.get(..label_len)?;
    if !label.ends_with(b"PRIVATE KEY") && !label.ends_with(b"PRIVATE KEY BLOCK") {
        return None;
    }
    let body = end + label_len + 5;
    let rest = s.b.get(body..)?;
    let block_end = match memchr::memmem::find(rest, b"-----END ") {
        Some(k) => {
            let tail = rest.get(k + 9..)?;
            body + k + 9 + memchr::memmem::find(tail, b"-----").map_or(0, |t| t + 5)
        }
        None => {
            body + rest
                .iter()
                .take_while(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(
                            c,
                            b'+' | b'/' | b'=' | b'\n' | b'\r' | b':' | b'-' | b' ' | b','
                        )
                })
                .count()
        }
    };
    s.emit("private_key", "credentials", 0.99, start, block_end);
    Some(block_end)
}

fn marking(
    s: &mut Scan<'_>,
    start: usize,
    end: usize,
    detector: &'static str,
    class: &str,
    confidence: f32,
) -> Option<usize> {
    if alnum(s.before(start)) || alnum(s.at(end)) {
        return None;
    }
    s.emit(detector, class, confidence, start, end);
    Some(end)
}

/// Countries a BIC may name beyond those in the IBAN table.
const BIC_COUNTRIES: &[&[u8; 2]] = &[
    b"US", b"CA", b"AU", b"NZ", b"JP", b"CN", b"HK", b"SG", b"IN", b"ZA", b"MX", b"AR", b"CL",
    b"CO", b"KR", b"TW", b"TH", b"MY", b"ID", b"PH", b"VN", b"NG", b"KE", b"MA", b"PE",
];

/// Whether `t` has the shape of a BIC: 4 letters, a country, 2 alphanumerics, optional 3.
pub(crate) fn bic_shape(t: &[u8]) -> bool {
    let upper_or_digit = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    (t.len() == 8 || t.len() == 11)
        && t[..6].iter().all(u8::is_ascii_uppercase)
        && t[6..].iter().all(upper_or_digit)
        && (check::iban_length(&t[4..6]).is_some()
            || BIC_COUNTRIES.iter().any(|c| c.as_slice() == &t[4..6]))
}

fn swift(s: &mut Scan<'_>, start: usize, end: usize) -> Option<usize> {
    if alnum(s.before(start)) || alnum(s.at(end)) {
        return None;
    }
    let mut i = end;
    for _ in 0..4 {
        while i < s.b.len() && i < end + 40 && !alnum(s.at(i)) {
            i += 1;
        }
        let len = s.b.get(i..)?.iter().take_while(|c| alnum(**c)).count();
        if len == 0 {
            return None;
        }
        let t = s.b.get(i..i + len)?;
        if bic_shape(t) {
            s.emit("swift", "financial.account", 0.9, i, i + len);
            return Some(i + len);
        }
        i += len;
    }
    None
}

fn placeholder(v: &[u8]) -> bool {
    v.iter()
        .all(|c| matches!(c, b'*' | b'x' | b'X' | b'.' | b'-' | b'_'))
        || matches!(v.first(), Some(b'$' | b'<' | b'{' | b'%' | b'['))
        || [
            &b"null"[..],
            b"none",
            b"true",
            b"false",
            b"password",
            b"secret",
            b"token",
            b"redacted",
        ]
        .iter()
        .any(|w| v.eq_ignore_ascii_case(w))
}

/// Value prefixes that a specific token detector reports on its own.
fn known_token(v: &[u8]) -> bool {
    [
        &b"eyJ"[..],
        b"AKIA",
        b"ASIA",
        b"ghp_",
        b"gho_",
        b"ghu_",
        b"ghs_",
        b"ghr_",
        b"github_pat_",
        b"xox",
        b"sk_live_",
        b"rk_live_",
        b"glpat-",
        b"gldt-",
        b"glrt-",
        b"glptt-",
        b"glcbt-",
    ]
    .iter()
    .any(|p| v.starts_with(p))
}

const PASSWORD_WORDS: &[&str] = &["password", "passwd", "pwd", "passphrase"];
const SECRET_WORDS: &[&str] = &[
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "accesskey",
    "private_key",
    "auth",
];

/// At a `=` or `:`, a key word before it (`password = value`,
/// `"api_key": "value"`, `DB_PASSWORD=value`) makes the value after it a
/// finding: any non-placeholder value after a password word, a high-entropy
/// one after a secret word.
pub(crate) fn assignment(s: &mut Scan<'_>, sep: usize) -> Option<usize> {
    let mut k = sep;
    while k > 0 && s.at(k - 1) == b' ' {
        k -= 1;
    }
    if matches!(s.before(k), b'"' | b'\'') {
        k -= 1;
    }
    let ident_len =
        s.b.get(k.saturating_sub(40)..k)?
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
            .count();
    if ident_len < 3 {
        return None;
    }
    let ident = s.b.get(k - ident_len..k)?;
    if ident.eq_ignore_ascii_case(b"AccountKey") && s.at(sep) == b'=' {
        return detect_cloud::azure_account_key(s, sep + 1);
    }
    let password = contains_any_ci(ident, PASSWORD_WORDS);
    if !password && !contains_any_ci(ident, SECRET_WORDS) {
        return None;
    }
    let mut i = sep;
    match (s.at(i), s.at(i + 1)) {
        (b':', b'=') | (b'=', b'>') => i += 2,
        _ => i += 1,
    }
    while s.at(i) == b' ' {
        i += 1;
    }
    if matches!(s.at(i), b'"' | b'\'') {
        i += 1;
    }
    if password && s.at(i) == b'{' && s.at(i + 1) != b'{' {
        return braced_password(s, i + 1);
    }
    let value_start = i;
    let stop = |c: u8| {
        c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b';' | b',' | b'&' | b'}' | 0)
    };
    let mut len =
        s.b.get(i..)?
            .iter()
            .take(512)
            .take_while(|c| !stop(**c))
            .count();
    // A full stop that ends the sentence is not part of the value.
    if len > 1 && s.at(i + len - 1) == b'.' && s.at(i + len - 2) != b'.' {
        len -= 1;
    }
    let value = s.b.get(value_start..value_start + len)?;
    let value_end = value_start + len;
    if ident.eq_ignore_ascii_case(b"private_key_id")
        && detect_cloud::gcp_service_account(s, value_start, value_end)
    {
        return Some(value_end);
    }
    if contains_any_ci(ident, &["secret"]) && detect_cloud::azure_secret_shape(value) {
        s.emit(
            "azure_client_secret",
            "credentials",
            0.95,
            value_start,
            value_end,
        );
        return Some(value_end);
    }
    if value.is_empty()
        || placeholder(value)
        || known_token(value)
        || value.contains(&b'@') && value.contains(&b'/')
        || url_or_path(value)
    {
        return None;
    }
    if password && starts_sentence(s, value, value_end) {
        return None;
    }
    if password {
        if value.len() < 4 {
            return None;
        }
        let plain_word = value.iter().all(u8::is_ascii_lowercase);
        s.emit(
            "password",
            "credentials",
            if plain_word { 0.6 } else { 0.85 },
            value_start,
            value_end,
        );
    } else if check::high_entropy(value) {
        s.emit("secret", "credentials", 0.8, value_start, value_end);
    } else {
        return None;
    }
    Some(value_end)
}

/// Whether a value is a URL (`https://…`, `www.…`) or a path (`/home/jane`,
/// `~/x`): what follows `password:` in a password-reset mail, or `PWD=` in a
/// shell environment, and not a password. A password inside a URL is
/// `url_password`'s.
pub(crate) fn url_or_path(v: &[u8]) -> bool {
    memchr::memmem::find(v, b"://").is_some()
        || v.get(..4).is_some_and(|h| h.eq_ignore_ascii_case(b"www."))
        || v.starts_with(b"/")
        || v.starts_with(b"~/")
}

/// Whether a value of letters only is followed by another word, so that it
/// starts a sentence (`Password: see the vault`, `reset password: click the
/// link`) rather than being a password. A password of letters followed by
/// prose (`password: letmein please`) is missed: the price of not tainting
/// every mail that talks about passwords.
fn starts_sentence(s: &Scan<'_>, value: &[u8], value_end: usize) -> bool {
    value.iter().all(u8::is_ascii_alphabetic)
        && s.at(value_end) == b' '
        && s.at(value_end + 1).is_ascii_alphabetic()
}

/// An ODBC value in braces, `PWD={p@ss;word}` (`}}` escapes a brace), from
/// just inside the brace. A lone identifier (`{DB_PASSWORD}`) is a template
/// placeholder, not a password.
fn braced_password(s: &mut Scan<'_>, from: usize) -> Option<usize> {
    let mut i = from;
    let close = loop {
        match s.at(i) {
            b'}' if s.at(i + 1) == b'}' => i += 2,
            b'}' => break i,
            0 | b'\n' => return None,
            _ if i - from > 256 => return None,
            _ => i += 1,
        }
    };
    let value = s.b.get(from..close)?;
    let identifier = value
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if value.len() < 4 || identifier || placeholder(value) {
        return None;
    }
    s.emit("password", "credentials", 0.85, from, close);
    Some(close + 1)
}

fn bearer(s: &mut Scan<'_>, start: usize, end: usize) -> Option<usize> {
    if alnum(s.before(start)) || s.at(end) != b' ' {
        return None;
    }
    let value_start = end + 1;
    let len =
        s.b.get(value_start..)?
            .iter()
            .take(4096)
            .take_while(|c| base64url(**c) || matches!(c, b'.' | b'+' | b'/' | b'='))
            .count();
    let value = s.b.get(value_start..value_start + len)?;
    if known_token(value) || len < 20 || !check::high_entropy(value) {
        return None;
    }
    s.emit(
        "secret",
        "credentials",
        0.85,
        value_start,
        value_start + len,
    );
    Some(value_start + len)
}
