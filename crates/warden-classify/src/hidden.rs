//! Characters that hide a value without being seen: NUL, the zero-width
//! space, non-joiner and joiner (U+200B–U+200D), the word joiner (U+2060),
//! the byte-order mark (U+FEFF) and the soft hyphen (U+00AD). Inside a
//! value they would break its shape (`4111\u{200b}1111 1111 1111`), so text
//! that holds any is scanned with them removed and the findings' spans are
//! mapped back to the original.
//!
//! Finding out costs a `memchr` pass for NUL and a `memchr3` pass over the
//! lead bytes of the others; text without them (nearly all) is scanned as
//! it is.

use crate::Finding;

/// How many bytes the hidden character at `i` takes, or 0 if there is none.
fn hidden_at(b: &[u8], i: usize) -> usize {
    let next = |k: usize| b.get(i + k).copied().unwrap_or(0);
    match b.get(i) {
        Some(0) => 1,
        Some(0xE2) if next(1) == 0x80 && (0x8B..=0x8D).contains(&next(2)) => 3,
        Some(0xE2) if next(1) == 0x81 && next(2) == 0xA0 => 3,
        Some(0xEF) if next(1) == 0xBB && next(2) == 0xBF => 3,
        Some(0xC2) if next(1) == 0xAD => 2,
        _ => 0,
    }
}

/// Whether `c` is one of the hidden characters.
pub(crate) fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\0' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}'
    )
}

/// The offset of the first hidden character in `b`: in a long text,
/// `memchr` for NUL, then
/// `memchr3` for the lead bytes of the others (`0xC2` is also that of
/// no-break spaces, `«` and `©`, each checked and passed over).
fn first(b: &[u8]) -> Option<usize> {
    if b.len() < 64 {
        // Short values (most JSON strings): a plain loop costs less than
        // setting up the vector searches.
        return b
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, 0 | 0xC2 | 0xE2 | 0xEF))
            .map(|(i, _)| i)
            .find(|&i| hidden_at(b, i) > 0);
    }
    let nul = memchr::memchr(0, b);
    let upto = nul.unwrap_or(b.len());
    let lead = memchr::memchr3_iter(0xC2, 0xE2, 0xEF, b.get(..upto).unwrap_or_default())
        .find(|&i| hidden_at(b, i) > 0);
    lead.or(nul)
}

/// A text with its hidden characters removed, and where each byte came from.
pub(crate) struct Stripped {
    /// The text without hidden characters.
    pub(crate) text: String,
    /// The original offset of each byte of `text`.
    origin: Vec<usize>,
}

impl Stripped {
    /// Removes the hidden characters from `text`, or `None` if it has none.
    pub(crate) fn new(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let from = first(b)?;
        let mut out = Vec::with_capacity(b.len());
        let mut origin = Vec::with_capacity(b.len());
        out.extend_from_slice(b.get(..from)?);
        origin.extend(0..from);
        let mut i = from;
        while i < b.len() {
            let skip = hidden_at(b, i);
            if skip > 0 {
                i += skip;
            } else {
                out.push(b[i]);
                origin.push(i);
                i += 1;
            }
        }
        // Only whole characters were removed, so the rest is still UTF-8.
        let text = String::from_utf8(out).ok()?;
        Some(Self { text, origin })
    }

    /// Maps findings on the stripped text back onto the original: a span
    /// starts where its first byte was and ends after its last byte, so
    /// hidden characters inside it are covered and those around it are not.
    pub(crate) fn map_back(&self, findings: &mut [Finding]) {
        for f in findings {
            let start = self.origin.get(f.start).copied();
            let end = f
                .end
                .checked_sub(1)
                .and_then(|last| self.origin.get(last))
                .map(|last| last + 1);
            if let (Some(start), Some(end)) = (start, end) {
                f.start = start;
                f.end = end;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_maps_back() {
        assert!(Stripped::new("plain text, “quotes” — dashes").is_none());
        let text = "a\u{200b}b\u{ad}c\0d\u{feff}é\u{2060}f\u{200d}";
        let stripped = Stripped::new(text);
        assert_eq!(stripped.as_ref().map(|s| s.text.as_str()), Some("abcdéf"));
        let mut found = [Finding {
            detector: "email",
            class: "pii.contact".to_owned(),
            confidence: 1.0,
            start: 1,
            end: 6,
        }];
        if let Some(s) = stripped {
            s.map_back(&mut found);
        }
        assert_eq!(&text[found[0].start..found[0].end], "b\u{ad}c\0d\u{feff}é");
        assert!("\u{2062}\u{200e}".chars().all(|c| !is_hidden(c)));
        // Long texts take the vector search; a no-break space is passed over.
        let long = format!("{}\u{a0}«x»\u{ad}y\0z", "word ".repeat(20));
        let stripped = Stripped::new(&long).map(|s| s.text);
        assert_eq!(stripped, Some(format!("{}\u{a0}«x»yz", "word ".repeat(20))));
        assert!(Stripped::new(&"“word” — ".repeat(20)).is_none());
        assert!(text.chars().filter(|c| is_hidden(*c)).count() == 6);
    }
}
