//! The report as one print-ready, self-contained HTML page; every value
//! from the inputs is escaped.

use std::fmt::Write as _;

use serde_json::Value;
use warden_audit::pack::{Claim, Evidence, Measure, PackDocument, TO_COMPLETE};

use warden_types::rfc3339 as time;

/// Escapes text for HTML element content and quoted attribute values.
pub use warden_console::html::esc as escape;

const STYLE: &str = "body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#111}\
h1{font-size:18pt}h2{font-size:15pt;margin-top:1.5em;border-bottom:2px solid #333;page-break-before:always}\
h2:first-of-type{page-break-before:auto}h3{font-size:12pt;margin-top:1.2em}\
table{border-collapse:collapse;width:100%;margin:.5em 0;page-break-inside:auto}tr{page-break-inside:avoid}\
th,td{border:1px solid #999;padding:3px 6px;text-align:left;vertical-align:top;font-size:9.5pt}\
th{background:#eee}.person{color:#a40;font-style:italic}.ev{color:#555;font-size:8.5pt}\
.meta td:first-child{width:14em}@page{size:A4;margin:15mm}";

/// Renders `doc` as HTML.
pub fn render(doc: &PackDocument) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Warden compliance evidence</title><style>{STYLE}</style></head><body>\n<h1>Warden compliance evidence</h1>\n<table class=\"meta\">"
    );
    let meta = [
        ("generated", time(doc.generated_at_ms)),
        ("period", format!("{} to {}", time(doc.period.from_ms), time(doc.period.to_ms))),
        ("agents", doc.agent.clone().unwrap_or_else(|| "all".to_owned())),
        ("trust domain", doc.deployment.trust_domain.clone()),
        ("policy digest", doc.deployment.policy_digest.clone()),
        ("audit records", format!("{}..{} of a log of {} (root {})", doc.evidence.first_index, doc.evidence.end_index, doc.evidence.tree_size, doc.evidence.root)),
        ("verify", "warden-audit-verify PACK: checks the checkpoint, every inclusion proof and file digest, and recomputes every figure".to_owned()),
    ];
    for (k, v) in meta {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(&v));
    }
    h.push_str("</table>\n");
    for report in &doc.reports {
        let _ = writeln!(
            h,
            "<h2 id=\"{}\">{}</h2>",
            escape(&report.kind),
            escape(&report.title)
        );
        for section in &report.sections {
            let _ = writeln!(
                h,
                "<section id=\"{}\"><h3>{}</h3>",
                escape(&section.id),
                escape(&section.title)
            );
            if !section.claims.is_empty() {
                h.push_str("<table><tr><th>statement</th><th>value</th><th>evidence</th></tr>\n");
                for claim in &section.claims {
                    claim_row(&mut h, claim);
                }
                h.push_str("</table>\n");
            }
            if let Some(table) = &section.table {
                h.push_str("<table><tr>");
                for c in &table.columns {
                    let _ = write!(h, "<th>{}</th>", escape(c));
                }
                h.push_str("</tr>\n");
                for row in &table.rows {
                    h.push_str("<tr>");
                    for cell in row {
                        let class = if cell == TO_COMPLETE {
                            " class=\"person\""
                        } else {
                            ""
                        };
                        let _ = write!(h, "<td{class}>{}</td>", escape(cell));
                    }
                    h.push_str("</tr>\n");
                }
                let _ = writeln!(
                    h,
                    "</table><p class=\"ev\">from {}</p>",
                    escape(&table.sources.join(", "))
                );
            }
            for note in &section.notes {
                let _ = writeln!(h, "<p>{}</p>", escape(note));
            }
            h.push_str("</section>\n");
        }
    }
    h.push_str("</body></html>\n");
    h
}

fn claim_row(h: &mut String, claim: &Claim) {
    let (value, class) = match (&claim.evidence, &claim.value) {
        (Evidence::Person, _) => (TO_COMPLETE.to_owned(), " class=\"person\""),
        (
            Evidence::Records {
                measure: Measure::Span,
                ..
            },
            Value::Object(o),
        ) => (
            format!(
                "{} to {}",
                o.get("first_ms")
                    .and_then(Value::as_i64)
                    .map(time)
                    .unwrap_or_default(),
                o.get("last_ms")
                    .and_then(Value::as_i64)
                    .map(time)
                    .unwrap_or_default()
            ),
            "",
        ),
        (_, v) => (display(v), ""),
    };
    let evidence = match &claim.evidence {
        Evidence::Records { indices, .. } => {
            let shown: Vec<String> = indices.iter().take(20).map(u64::to_string).collect();
            let more = if indices.len() > 20 {
                format!(" … ({} records)", indices.len())
            } else {
                String::new()
            };
            format!("audit records [{}]{more}", shown.join(", "))
        }
        Evidence::File {
            path,
            sha256,
            field,
        } => format!(
            "{path}{} sha256:{}",
            field
                .as_ref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default(),
            &sha256[..12.min(sha256.len())]
        ),
        Evidence::Log => "signed checkpoint and inclusion proofs".to_owned(),
        Evidence::Person => String::new(),
    };
    let _ = writeln!(
        h,
        "<tr id=\"{}\"><td>{}</td><td{class}>{}</td><td class=\"ev\">{}</td></tr>",
        escape(&claim.id),
        escape(&claim.statement),
        escape(&value),
        escape(&evidence)
    );
}

fn display(v: &Value) -> String {
    match v {
        Value::Null => "none".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join("; "),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}: {}", display(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}
