//! What an unverified token claims to be, for a sighting: its subject and
//! issuer, read without trusting them (the token was refused).

use base64::Engine as _;

/// The claims a refused token carried, cleaned for display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claimed {
    /// `sub` (a SPIFFE ID, for a JWT-SVID).
    pub subject: Option<String>,
    /// `iss`.
    pub issuer: Option<String>,
}

/// The longest token read for its claims.
const MAX_TOKEN: usize = 16 * 1024;
/// The longest claim kept.
const MAX_CLAIM: usize = 256;

/// The subject and issuer a JWT claims, if it is one; nothing is verified.
///
/// ```
/// use base64::Engine as _;
/// let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
/// let token = format!("{}.{}.sig", b64(r#"{"alg":"ES256"}"#),
///     b64(r#"{"sub":"spiffe://other.org/agent/x/1","iss":"https://idp"}"#));
/// let claimed = warden_inventory::claimed_identity(&token);
/// assert_eq!(claimed.subject.as_deref(), Some("spiffe://other.org/agent/x/1"));
/// assert_eq!(claimed.issuer.as_deref(), Some("https://idp"));
/// assert_eq!(warden_inventory::claimed_identity("junk"), Default::default());
/// ```
pub fn claimed_identity(token: &str) -> Claimed {
    if token.len() > MAX_TOKEN {
        return Claimed::default();
    }
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return Claimed::default();
    };
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('='))
    else {
        return Claimed::default();
    };
    let Ok(serde_json::Value::Object(claims)) = serde_json::from_slice(&bytes) else {
        return Claimed::default();
    };
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(clean);
    Claimed {
        subject: text("sub"),
        issuer: text("iss"),
    }
}

/// `text` without control characters, at most [`MAX_CLAIM`] characters.
pub(crate) fn clean(text: &str) -> String {
    bounded(text, MAX_CLAIM)
}

/// `text` without control characters, at most `max` characters.
pub(crate) fn bounded(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}
