//! The audit page: the log's size, its checkpoints, the witness, *verify
//! now* with its progress, and export.

use std::fmt::Write as _;

use crate::Viewer;
use crate::html::{esc, table, time};

/// What the audit page shows.
#[derive(Debug, Clone, Default)]
pub struct AuditView {
    /// Records in the log.
    pub size: u64,
    /// Stored checkpoints, newest first: (size, root hex, created unix ms).
    pub checkpoints: Vec<(u64, String, i64)>,
    /// The newest checkpoint published to the witness directory: (size, file).
    pub witness: Option<(u64, String)>,
    /// The witness directory.
    pub witness_dir: String,
    /// The verifier key checkpoints are signed with.
    pub vkey: String,
    /// The verification job: state (`idle`, `running`, `ok`, `bad`), done,
    /// total, message, first bad index.
    pub verify: VerifyState,
}

/// Where *verify now* stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyState {
    /// `idle`, `running`, `ok` or `bad`.
    pub state: String,
    /// Records checked so far.
    pub done: u64,
    /// Records to check.
    pub total: u64,
    /// What it found.
    pub message: String,
    /// The first record that does not verify.
    pub bad_index: Option<u64>,
    /// When it finished (unix ms).
    pub finished_ms: i64,
}

impl VerifyState {
    /// The state as JSON, for the page's script.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "state": if self.state.is_empty() { "idle" } else { &self.state },
            "done": self.done, "total": self.total, "message": self.message,
            "bad_index": self.bad_index, "finished_ms": self.finished_ms,
        })
    }
}

/// `/console/audit`.
pub fn page(viewer: &Viewer, a: &AuditView) -> String {
    let state = if a.verify.state.is_empty() {
        "idle"
    } else {
        a.verify.state.as_str()
    };
    let bad = a
        .verify
        .bad_index
        .map_or(String::new(), |i| format!(" data-bad-index=\"{i}\""));
    let mut out = super::facts(&[
        (
            "Records",
            format!("<span data-figure=\"audit-size\">{}</span>", a.size),
        ),
        (
            "Witness",
            match &a.witness {
                Some((size, file)) => format!(
                    "newest published checkpoint covers {size} records (<code>{}</code>)",
                    esc(file)
                ),
                None => format!(
                    "nothing published yet in <code>{}</code>",
                    esc(&a.witness_dir)
                ),
            },
        ),
        (
            "Verifier key",
            format!("<code class=\"wrap\">{}</code>", esc(&a.vkey)),
        ),
    ]);
    let _ = write!(
        out,
        "<section aria-labelledby=\"h-verify\"><h2 id=\"h-verify\">Verify</h2>\
         <p>Checks every record against its leaf, every stored node against the recomputed tree, \
         every payload against its digest and every checkpoint's signature and root.</p>\
         <form id=\"verify-form\" method=\"post\" action=\"/console/audit/verify\">{}\
         <button id=\"verify-now\" type=\"submit\">Verify now</button></form>\
         <progress id=\"verify-progress\" max=\"{}\" value=\"{}\" aria-label=\"Verification progress\"></progress>\
         <p><output id=\"verify-status\" data-state=\"{state}\"{bad} role=\"status\">{}</output></p></section>",
        crate::html::csrf_field(&viewer.csrf),
        a.verify.total.max(1),
        a.verify.done,
        esc(&status_text(&a.verify)),
    );
    out.push_str("<h2>Checkpoints</h2>");
    let rows: Vec<String> = a
        .checkpoints
        .iter()
        .map(|(size, root, at)| {
            format!(
                "<tr><td>{size}</td><td><code class=\"wrap\">{}</code></td><td>{}</td></tr>",
                esc(root),
                time(*at)
            )
        })
        .collect();
    out.push_str(&table(
        "checkpoints",
        "Signed checkpoints, newest first",
        &["Size", "Root", "Signed"],
        &rows,
        "No checkpoint yet.",
    ));
    let _ = write!(
        out,
        "<h2>Export</h2><p>Records as JSON Lines (their canonical bytes, leaf hashes and the newest \
         checkpoint), at most 10,000 per file: \
         <a id=\"export\" href=\"/console/audit/export?from={}\" download>the newest records</a>. \
         For a whole-log export with proofs that verify offline, use <code>warden audit export</code>.</p>",
        a.size.saturating_sub(10_000)
    );
    out
}

/// The verification state in words.
pub fn status_text(v: &VerifyState) -> String {
    match v.state.as_str() {
        "running" => format!("verifying… {} of {} records", v.done, v.total),
        "ok" => format!("ok: {}", v.message),
        "bad" => format!("does not verify: {}", v.message),
        _ => "not run from this page yet".to_owned(),
    }
}
