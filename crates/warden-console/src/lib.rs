//! Warden's web console, rendered on the server.
//!
//! This crate knows how pages look, not where their data comes from: each
//! view takes the JSON the admin API answers (the same documents
//! `/v1/inventory`, `/v1/approvals`, … return) and gives back HTML in which
//! every value from outside is escaped. The gateway serves the pages at
//! `/console`, fetches the data with the signed-in person's own credential
//! (so the admin API's role checks apply unchanged) and keeps the sessions
//! ([`Sessions`]).
//!
//! The pages work without script; one external script
//! ([`assets::SCRIPT`]) adds live updates over the event stream, the
//! in-page check of inclusion proofs and the progress of *verify now*. The
//! Content-Security-Policy ([`CSP`]) allows no inline script.
//!
//! ```
//! use warden_console::{Viewer, html::esc};
//! use warden_types::Role;
//!
//! let viewer = Viewer { name: "alice".into(), role: Role::Auditor, csrf: "t".into() };
//! let page = warden_console::layout::page(&viewer, "Agents", "agents", &esc("<b>"));
//! assert!(page.contains("&lt;b&gt;"));
//! assert!(!page.contains("<b>"));
//! ```

pub mod assets;
pub mod chart;
pub mod html;
pub mod layout;
pub mod session;
pub mod views;

pub use session::{Session, Sessions};

/// The Content-Security-Policy of every console page: nothing but the
/// console's own script, styles and same-origin requests; no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Who is looking at a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The admin token's name.
    pub name: String,
    /// Its role: what the page offers (the server checks again).
    pub role: warden_types::Role,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
}

impl Viewer {
    /// Whether this viewer may approve and reject.
    pub fn can_approve(&self) -> bool {
        self.role.permits(warden_types::Role::Approver)
    }

    /// Whether this viewer may suspend, revoke and issue tokens.
    pub fn is_admin(&self) -> bool {
        self.role.permits(warden_types::Role::Admin)
    }
}
