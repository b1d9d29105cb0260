//! Console sessions: a random id in an `HttpOnly`, `SameSite=Strict`
//! cookie, a CSRF token per session, and the credential the person signed
//! in with, kept only in this process's memory.
//!
//! Sign-in today exchanges an admin-plane token for a session
//! ([`Sessions::open`]); the token stays on the server, is used for the
//! admin API calls the pages make (so a revoked or demoted token stops
//! working mid-session) and is wiped when the session ends. Sign-in through
//! an OpenID Connect provider is the next step: it would end in the same
//! [`Sessions::open`] with a credential the gateway maps to a role. Sessions
//! live on one node; behind a load balancer, pin the console to a node.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::RngCore;
use subtle::ConstantTimeEq;
use warden_types::Role;
use zeroize::Zeroizing;

/// How long a session lasts after sign-in, whatever it does.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a session lasts unused.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// Most sessions held at once; the oldest goes first.
pub const MAX_SESSIONS: usize = 4096;
/// The cookie's name.
pub const COOKIE: &str = "warden_console";

/// One signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token's name (shown, and named in audit records).
    pub name: String,
    /// The token's role when the session opened.
    pub role: Role,
    /// The CSRF token every state-changing request must carry.
    pub csrf: String,
    /// The credential, for the admin API calls the pages make.
    pub credential: Zeroizing<String>,
}

#[derive(Debug)]
struct Held {
    session: Session,
    opened: Instant,
    used: Instant,
}

/// The sessions of this node.
#[derive(Debug, Default)]
pub struct Sessions {
    held: Mutex<HashMap<String, Held>>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    /// No sessions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens a session; returns its id (the cookie's value).
    pub fn open(&self, name: String, role: Role, credential: String) -> (String, Session) {
        let id = random_hex();
        let session = Session {
            name,
            role,
            csrf: random_hex(),
            credential: Zeroizing::new(credential),
        };
        let now = Instant::now();
        let mut held = self.held.lock();
        held.retain(|_, h| alive(h, now));
        if held.len() >= MAX_SESSIONS
            && let Some(oldest) = held
                .iter()
                .min_by_key(|(_, h)| h.used)
                .map(|(k, _)| k.clone())
        {
            held.remove(&oldest);
        }
        held.insert(
            id.clone(),
            Held {
                session: session.clone(),
                opened: now,
                used: now,
            },
        );
        (id, session)
    }

    /// The live session with `id`, marked as used.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut held = self.held.lock();
        let entry = held.get_mut(id)?;
        if !alive(entry, now) {
            held.remove(id);
            return None;
        }
        entry.used = now;
        Some(entry.session.clone())
    }

    /// Ends the session with `id`.
    pub fn close(&self, id: &str) {
        self.held.lock().remove(id);
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.held.lock().len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn alive(held: &Held, now: Instant) -> bool {
    now.duration_since(held.opened) < LIFETIME && now.duration_since(held.used) < IDLE
}

/// Whether `given` is the session's CSRF token (constant time).
pub fn csrf_matches(session: &Session, given: &str) -> bool {
    !given.is_empty() && bool::from(session.csrf.as_bytes().ct_eq(given.as_bytes()))
}

/// The session id in a `Cookie` header, if any.
pub fn cookie_value(header: &str) -> Option<&str> {
    header.split(';').find_map(|part| {
        let (name, value) = part.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty()).then_some(value)
    })
}

/// The `Set-Cookie` value for a new session (`secure` under TLS).
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_find_and_close() {
        let sessions = Sessions::new();
        let (id, session) = sessions.open("alice".into(), Role::Approver, "secret".into());
        assert_eq!(id.len(), 64);
        let found = sessions.get(&id).map(|s| s.name);
        assert_eq!(found.as_deref(), Some("alice"));
        assert!(csrf_matches(&session, &session.csrf));
        assert!(!csrf_matches(&session, ""));
        assert!(!csrf_matches(&session, "0000"));
        sessions.close(&id);
        assert!(sessions.get(&id).is_none());
        assert!(sessions.get("unknown").is_none());
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        assert_eq!(cookie_value("a=1; warden_console=abc; b=2"), Some("abc"));
        assert_eq!(cookie_value("warden_console="), None);
        assert_eq!(cookie_value("other=1"), None);
        let cookie = set_cookie("abc", false);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("Secure"));
        assert!(set_cookie("abc", true).ends_with("; Secure"));
    }

    #[test]
    fn the_oldest_session_goes_when_full() {
        let sessions = Sessions::new();
        let (first, _) = sessions.open("a".into(), Role::Auditor, "t".into());
        for _ in 1..MAX_SESSIONS {
            sessions.open("b".into(), Role::Auditor, "t".into());
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        sessions.open("c".into(), Role::Auditor, "t".into());
        assert_eq!(sessions.len(), MAX_SESSIONS);
        assert!(sessions.get(&first).is_none());
    }
}
