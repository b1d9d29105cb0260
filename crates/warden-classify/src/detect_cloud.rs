//! Cloud credentials with a recognisable frame: GCP service-account keys,
//! Azure storage account keys and client secrets, GitLab tokens.

use base64::Engine as _;

use crate::scan::{Scan, alnum};

/// How far around a `"private_key_id"` the `"type": "service_account"` may sit.
const SERVICE_ACCOUNT_WINDOW: usize = 4096;

/// In a service-account key file (`"type": "service_account"` nearby), the
/// 40-hex value of `"private_key_id"` at `[start, end)`; the PEM
/// `"private_key"` is reported by the private-key detector.
pub(crate) fn gcp_service_account(s: &mut Scan<'_>, start: usize, end: usize) -> bool {
    let value = &s.b[start..end];
    if value.len() != 40 || !value.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let lo = start.saturating_sub(SERVICE_ACCOUNT_WINDOW);
    let hi = (end + SERVICE_ACCOUNT_WINDOW).min(s.b.len());
    let window = &s.b[lo..hi];
    let typed = memchr::memmem::find_iter(window, b"\"service_account\"").any(|at| {
        window[..at]
            .trim_ascii_end()
            .strip_suffix(b":")
            .is_some_and(|t| t.trim_ascii_end().ends_with(b"\"type\""))
    });
    if typed {
        s.emit("gcp_service_account", "credentials", 0.99, start, end);
    }
    typed
}

/// `AccountKey=<base64 of 64 bytes>` in an Azure storage connection string.
pub(crate) fn azure_account_key(s: &mut Scan<'_>, value: usize) -> Option<usize> {
    let len =
        s.b.get(value..)?
            .iter()
            .take(100)
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
            .count();
    let key = s.b.get(value..value + len)?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(key).ok()?;
    if decoded.len() != 64 || alnum(s.at(value + len)) {
        return None;
    }
    s.emit("azure_storage_key", "credentials", 0.99, value, value + len);
    Some(value + len)
}

/// An Entra ID (Azure AD) client secret: three characters, a digit, `Q~`
/// and 31 to 34 more of `[A-Za-z0-9_~.-]`. Reported after a key such as
/// `client_secret` or `AZURE_CLIENT_SECRET`.
pub(crate) fn azure_secret_shape(v: &[u8]) -> bool {
    let secret_char = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'~' | b'.' | b'-');
    (37..=40).contains(&v.len())
        && v[3].is_ascii_digit()
        && &v[4..6] == b"Q~"
        && v.iter().all(secret_char)
}

/// `glpat-`, `gldt-`, `glrt-`, `glptt-`, `glcbt-`, `glft-` or `glsoat-`,
/// then at least 20 of `[A-Za-z0-9_-]` (routable tokens also carry inner
/// dots), given the span of the prefix.
pub(crate) fn gitlab_token(s: &mut Scan<'_>, start: usize, end: usize) -> Option<usize> {
    if alnum(s.before(start)) {
        return None;
    }
    let body = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-');
    let mut i = end;
    while i < end + 255 {
        let dot = s.at(i) == b'.' && body(s.at(i + 1));
        if !body(s.at(i)) && !dot {
            break;
        }
        i += 1;
    }
    if i - end < 20 {
        return None;
    }
    s.emit("gitlab_token", "credentials", 0.95, start, i);
    Some(i)
}
