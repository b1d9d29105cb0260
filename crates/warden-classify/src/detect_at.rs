//! Detectors anchored on `@`: passwords in URLs and e-mail addresses.

use crate::scan::{KeyHint, Scan};

/// Tries a URL password first (`scheme://user:pass@host`), then an e-mail.
pub(crate) fn at_sign(s: &mut Scan<'_>, at: usize) -> Option<usize> {
    url_password(s, at).or_else(|| email(s, at))
}

fn url_password(s: &mut Scan<'_>, at: usize) -> Option<usize> {
    let lo = at.saturating_sub(256);
    let window = s.b.get(lo..at)?;
    let stop =
        |c: &u8| c.is_ascii_whitespace() || matches!(c, b'/' | b'"' | b'\'' | b'<' | b'>' | b'@');
    let user_start = window.iter().rposition(stop).map_or(lo, |k| lo + k + 1);
    if s.at(user_start.checked_sub(1)?) != b'/'
        || s.at(user_start.checked_sub(2)?) != b'/'
        || s.at(user_start.checked_sub(3)?) != b':'
    {
        return None;
    }
    if !s.before(user_start - 3).is_ascii_alphanumeric() {
        return None;
    }
    let colon = user_start + s.b.get(user_start..at)?.iter().position(|c| *c == b':')?;
    let pass = s.b.get(colon + 1..at)?;
    if pass.is_empty() {
        return None;
    }
    let placeholder = pass.iter().all(|c| *c == b'*' || *c == b'x')
        || matches!(pass.first(), Some(b'$' | b'<' | b'{' | b'%'))
        || pass.eq_ignore_ascii_case(b"password");
    if !placeholder {
        s.emit("url_password", "credentials", 0.95, colon + 1, at);
    }
    Some(at + 1)
}

fn local_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
    } else {
        c.is_alphanumeric()
    }
}

fn domain_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '-'
    } else {
        c.is_alphanumeric()
    }
}

fn email(s: &mut Scan<'_>, at: usize) -> Option<usize> {
    let text = s.text;
    let mut start = at;
    while let Some(c) = text.get(..start).and_then(|t| t.chars().next_back()) {
        if !local_char(c) || at - start > 64 {
            break;
        }
        start -= c.len_utf8();
    }
    while s.at(start) == b'.' {
        start += 1;
    }
    let local = s.b.get(start..at)?;
    if local.is_empty()
        || local.ends_with(b".")
        || local.windows(2).any(|w| w == b"..")
        || at - start > 64
    {
        return None;
    }
    // The domain: labels of letters, digits and hyphens joined by single dots.
    let rest = text.get(at + 1..)?;
    let mut end = at + 1;
    let mut labels = 0;
    let mut last_label = (end, end);
    let mut chars = rest.char_indices().peekable();
    let mut label_start = end;
    loop {
        let mut label_end = label_start;
        while let Some(&(_, c)) = chars.peek() {
            if domain_char(c) {
                label_end += c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let label = s.b.get(label_start..label_end)?;
        if label.is_empty() || label.starts_with(b"-") || label.ends_with(b"-") || label.len() > 63
        {
            break;
        }
        labels += 1;
        end = label_end;
        last_label = (label_start, label_end);
        let dot_then_label = chars.peek().is_some_and(|&(_, c)| c == '.')
            && text
                .get(label_end + 1..)
                .and_then(|t| t.chars().next())
                .is_some_and(domain_char);
        if !dot_then_label {
            break;
        }
        chars.next();
        label_start = label_end + 1;
    }
    let tld = text.get(last_label.0..last_label.1)?;
    let tld_ok = (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
        || tld.starts_with("xn--");
    if labels < 2 || !tld_ok || end - at > 254 || s.at(end) == b'@' {
        return None;
    }
    let confidence = if s.hint == Some(KeyHint::Email) {
        0.99
    } else {
        0.95
    };
    s.emit("email", "pii.contact", confidence, start, end);
    Some(end)
}
