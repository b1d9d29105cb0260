//! Text helpers: line numbers, JSON with comments, short evidence.

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    memchr::memchr_iter(b'\n', text.as_bytes().get(..end).unwrap_or_default()).count() + 1
}

/// The offset of the first `needle` at or after `from`.
pub(crate) fn find_from(text: &str, from: usize, needle: &str) -> Option<usize> {
    text.get(from..)?.find(needle).map(|i| i + from)
}

/// The offset of JSON object key `"key"` (followed by `:`) at or after `from`.
pub(crate) fn find_json_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    let mut at = from;
    while let Some(found) = find_from(text, at, &quoted) {
        let rest = text.get(found + quoted.len()..).unwrap_or_default();
        if rest.trim_start().starts_with(':') {
            return Some(found);
        }
        at = found + quoted.len();
    }
    None
}

/// JSON with comments (JSONC, as VS Code and Zed write their settings):
/// `//` and `/* */` comments become spaces and trailing commas are dropped,
/// keeping every byte offset (so line numbers stay right).
pub(crate) fn strip_jsonc(text: &str) -> String {
    let mut out = text.as_bytes().to_vec();
    blank_comments(&mut out);
    drop_trailing_commas(&mut out);
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

fn blank_comments(bytes: &mut [u8]) {
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or_default();
        let next = bytes.get(i + 1).copied();
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match (b, next) {
            (b'"', _) => in_string = true,
            (b'/', Some(b'/')) => {
                while i < bytes.len() && bytes.get(i) != Some(&b'\n') {
                    set(bytes, i, b' ');
                    i += 1;
                }
                continue;
            }
            (b'/', Some(b'*')) => {
                let start = i;
                i += 2;
                while i < bytes.len()
                    && !(bytes.get(i) == Some(&b'*') && bytes.get(i + 1) == Some(&b'/'))
                {
                    i += 1;
                }
                let end = (i + 2).min(bytes.len());
                for j in start..end {
                    if bytes.get(j) != Some(&b'\n') {
                        set(bytes, j, b' ');
                    }
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

fn drop_trailing_commas(bytes: &mut [u8]) {
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or_default();
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b',' {
            let next = bytes
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .find(|c| !c.is_ascii_whitespace());
            if matches!(next, Some(b'}' | b']')) {
                set(bytes, i, b' ');
            }
        }
        i += 1;
    }
}

fn set(bytes: &mut [u8], i: usize, value: u8) {
    if let Some(b) = bytes.get_mut(i) {
        *b = value;
    }
}

/// At most `max` characters of `text`, with `…` when cut; newlines become spaces.
pub(crate) fn short(text: &str, max: usize) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A value as written in a line-based file: unquoted, without a trailing
/// `# comment` or `;`.
pub(crate) fn unquote(raw: &str) -> &str {
    let raw = raw.trim();
    for quote in ['"', '\''] {
        if let Some(rest) = raw.strip_prefix(quote) {
            return rest
                .find(quote)
                .map_or(rest, |end| rest.get(..end).unwrap_or(rest));
        }
    }
    let raw = raw.find(" #").map_or(raw, |i| raw.get(..i).unwrap_or(raw));
    raw.trim().trim_end_matches(';').trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonc_keeps_offsets_and_parses() {
        let text = "{\n  // a comment with \"quotes\"\n  \"a\": \"http://x\", /* b\n */ \"b\": [1, 2,],\n}\n";
        let stripped = strip_jsonc(text);
        assert_eq!(stripped.len(), text.len());
        let v: serde_json::Value = serde_json::from_str(&stripped).unwrap();
        assert_eq!(v["a"], "http://x");
        assert_eq!(v["b"][1], 2);
        assert_eq!(
            line_at(&stripped, find_json_key(&stripped, 0, "b").unwrap()),
            4
        );
    }

    #[test]
    fn unquotes() {
        assert_eq!(unquote(" \"sk-1 2\" # c"), "sk-1 2");
        assert_eq!(unquote("abc # comment"), "abc");
        assert_eq!(unquote("'x'"), "x");
        assert_eq!(unquote("v;"), "v");
    }

    #[test]
    fn shortens() {
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(short("a\nb", 10), "a b");
    }
}
