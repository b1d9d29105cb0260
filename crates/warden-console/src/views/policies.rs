//! The policies page: the active set and its digest, whether it compiles,
//! and the example-based tests with their results.

use std::fmt::Write as _;

use serde_json::Value;

use crate::html::{badge, esc, list, n, s, table};

/// `/console/policies`: `policies` is `GET /v1/policies` (filtered, with
/// `total`, `matching` and `q`); `lint` whether the files compile (`Ok`
/// with a summary, or the error); `tests` the results of the test file
/// beside `warden.toml` on the active set, if there is one.
pub fn page(
    policies: &Value,
    lint: &Result<Value, String>,
    tests: &Option<(String, Result<Value, String>)>,
) -> String {
    let mut out = super::facts(&[
        (
            "Digest",
            format!("<code id=\"digest\">{}</code>", esc(&s(policies, "digest"))),
        ),
        ("Policies", list(policies, "policies").len().to_string()),
        (
            "Lint",
            match lint {
                Ok(v) => format!(
                    "<span id=\"lint\" data-state=\"ok\">{} — {} policies, {} agents compile</span>",
                    badge("ok"),
                    n(v, "policies"),
                    n(v, "agents")
                ),
                Err(e) => format!(
                    "<span id=\"lint\" data-state=\"bad\">{} {}</span>",
                    badge("failed"),
                    esc(e)
                ),
            },
        ),
    ]);
    out.push_str("<h2>Tests</h2>");
    match tests {
        None => out.push_str("<p class=\"muted\" id=\"tests\">No <code>policy-tests.yaml</code> beside <code>warden.toml</code>.</p>"),
        Some((file, Err(e))) => {
            let _ = write!(out, "<p id=\"tests\" data-state=\"bad\"><code>{}</code>: {}</p>", esc(file), esc(e));
        }
        Some((file, Ok(v))) => {
            let failed = n(v, "failed");
            let _ = write!(
                out,
                "<p id=\"tests\" data-state=\"{}\"><code>{}</code>: {} passed, {failed} failed</p>",
                if failed == 0 { "ok" } else { "bad" },
                esc(file),
                n(v, "passed")
            );
            let rows: Vec<String> = list(v, "failures")
                .iter()
                .map(|f| {
                    format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&s(f, "name")),
                        esc(&s(f, "expected")),
                        esc(&s(f, "got")),
                        crate::html::joined(f, "reasons")
                    )
                })
                .collect();
            if !rows.is_empty() {
                out.push_str(&table("test-failures", "Failing tests", &["Test", "Expected", "Got", "Reasons"], &rows, ""));
            }
        }
    }
    let _ = write!(
        out,
        "<h2>Active policies</h2><form class=\"filters\" method=\"get\" action=\"/console/policies\" role=\"search\">\
         <label>Policy or file <input name=\"q\" value=\"{}\"></label><button type=\"submit\">Filter</button></form>\
         <p class=\"muted\" id=\"policy-count\">{} of {} policies match; the first {} are shown.</p>",
        esc(&s(policies, "q")),
        n(policies, "matching"),
        n(policies, "total"),
        list(policies, "policies").len()
    );
    for p in list(policies, "policies") {
        let _ = write!(
            out,
            "<section class=\"policy card\"><h3><code>{}</code> <span class=\"muted\">{}</span>{}</h3><pre>{}</pre></section>",
            esc(&s(p, "id")),
            esc(&s(p, "location")),
            if p["approval"].as_bool().unwrap_or(false) {
                " <span class=\"badge warn\">approval</span>"
            } else {
                ""
            },
            esc(&s(p, "cedar"))
        );
    }
    out
}
