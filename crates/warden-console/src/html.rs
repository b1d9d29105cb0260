//! Escaping and small pieces of markup.

use std::fmt::Write as _;

use serde_json::Value;

/// `text` with `& < > " '` escaped: safe in element content and in quoted
/// attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` percent-encoded for a URL path segment or query value.
pub fn url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The string at `key` of `value` (empty when absent; numbers and booleans
/// as text).
pub fn s<'a>(value: &'a Value, key: &str) -> std::borrow::Cow<'a, str> {
    match value.get(key) {
        Some(Value::String(text)) => text.as_str().into(),
        Some(Value::Null) | None => "".into(),
        Some(other) => other.to_string().into(),
    }
}

/// The integer at `key` (0 when absent).
pub fn n(value: &Value, key: &str) -> i64 {
    value.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// The array at `key` (empty when absent).
pub fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The strings of the array at `key`, escaped and joined with `, `.
pub fn joined(value: &Value, key: &str) -> String {
    list(value, key)
        .iter()
        .map(|v| esc(v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A unix-millisecond time as `YYYY-MM-DD HH:MM:SS` UTC inside a `<time>`
/// element (empty for 0).
pub fn time(ms: i64) -> String {
    if ms <= 0 {
        return "—".to_owned();
    }
    let (y, mo, d, h, mi, s) = warden_types::civil_utc(ms);
    format!(
        "<time datetime=\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z\">{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}</time>"
    )
}

/// A badge for an outcome or state (`allow`, `deny`, …): a word, never a
/// colour alone.
pub fn badge(word: &str) -> String {
    let class = match word {
        "allow" | "approved" | "active" | "ok" | "verified" | "closed" => "good",
        "deny" | "rejected" | "revoked" | "suspended" | "critical" | "high" | "failed" => "bad",
        "needs_approval" | "pending" | "medium" | "open" => "warn",
        _ => "plain",
    };
    format!("<span class=\"badge {class}\">{}</span>", esc(word))
}

/// A hidden CSRF field for a form.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(csrf)
    )
}

/// A table: `head` cells and rows of already-rendered cells, with an
/// `id` and a caption; `empty` when there are no rows.
pub fn table(id: &str, caption: &str, head: &[&str], rows: &[String], empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"empty\" id=\"{id}-empty\">{}</p>", esc(empty));
    }
    let mut out = format!(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{c}\"><table id=\"{id}\"><caption>{c}</caption><thead><tr>",
        c = esc(caption)
    );
    for h in head {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str(row);
    }
    out.push_str("</tbody></table></div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn encodes_url_parts() {
        assert_eq!(url("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
    }

    #[test]
    fn renders_utc_times() {
        assert!(time(0).contains('—'));
        assert!(time(1_767_225_600_000).contains("2026-01-01 00:00:00"));
        assert!(time(951_782_400_000).contains("2000-02-29"));
    }
}
