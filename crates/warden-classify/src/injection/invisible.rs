//! Invisible Unicode: tag characters (U+E0000–U+E007F) and zero-width and
//! bidirectional controls, each judged by the characters around it.
//!
//! All of them are encoded with lead byte 0xE2, 0xEF or 0xF3, so `memchr3`
//! finds the candidates and text without them costs one fast pass.

use super::{Hit, InjectionKind};

/// Whether `c` is one of the characters this module judges.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(u32::from(c),
        0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x2069 | 0xFEFF
        | 0xE0000..=0xE007F)
}

fn is_tag(c: char) -> bool {
    matches!(u32::from(c), 0xE0000..=0xE007F)
}

/// Emoji and the pieces of emoji sequences (variation selector 16, keycap,
/// skin tones), roughly `Extended_Pictographic`.
fn emoji(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B00..=0x2BFF | 0x2190..=0x21FF
        | 0xFE0F | 0x20E3 | 0xA9 | 0xAE | 0x3030 | 0x303D | 0x3297 | 0x3299)
}

/// Scripts in which zero-width (non-)joiners shape letters: Arabic, Syriac,
/// N'Ko, the Indic scripts, Sinhala, Myanmar, Khmer, Mongolian.
fn joining(c: char) -> bool {
    matches!(u32::from(c),
        0x0600..=0x08FF | 0x0900..=0x0DFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x1800..=0x18AF
        | 0xA8E0..=0xA8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFE)
}

/// Right-to-left letters: Hebrew, Arabic, Syriac, Thaana, N'Ko and the
/// right-to-left blocks of the supplementary planes.
fn rtl(c: char) -> bool {
    matches!(u32::from(c),
        0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFE | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

/// Scripts written without spaces, where a zero-width space marks word breaks.
fn unspaced(c: char) -> bool {
    matches!(u32::from(c), 0x0E00..=0x0FFF | 0x1000..=0x109F | 0x1780..=0x17FF)
}

/// Whether a right-to-left letter lies within 32 characters of `[i, j)`.
fn rtl_near(text: &str, i: usize, j: usize) -> bool {
    let before = text.get(..i).unwrap_or_default().chars().rev().take(32);
    let after = text.get(j..).unwrap_or_default().chars().take(32);
    before.chain(after).any(rtl)
}

/// How suspicious an invisible control at `[i, j)` is; `None` when its
/// neighbours make it legitimate.
fn judge(text: &str, c: char, i: usize, j: usize) -> Option<f32> {
    let prev = text.get(..i).and_then(|t| t.chars().next_back());
    let next = text.get(j..).and_then(|t| t.chars().next());
    let both = |f: fn(char) -> bool| prev.is_some_and(f) && next.is_some_and(f);
    let either = |f: fn(char) -> bool| prev.is_some_and(f) || next.is_some_and(f);
    // A lone zero-width space or word joiner outside a word is a line-break
    // hint (HTML pages put them between tags); inside a word or in a run of
    // invisible characters it hides something.
    let hint = !both(char::is_alphanumeric) && !either(is_invisible);
    let legit = match u32::from(c) {
        0x200B => either(unspaced) || hint,
        0x2060 => hint,
        0x200C => both(joining),
        0x200D => both(emoji) || both(joining),
        0x200E | 0x200F | 0x202A..=0x202C | 0x2066..=0x2069 => rtl_near(text, i, j),
        // Wikipedia's coordinates put U+FEFF around ` / `: next to a space
        // it splits no word.
        0xFEFF => i == 0 || either(char::is_whitespace),
        _ => false,
    };
    if legit {
        return None;
    }
    Some(match u32::from(c) {
        0x202D | 0x202E => 0.95,
        0x202A..=0x202C | 0x2066..=0x2069 | 0xFEFF => 0.85,
        _ => 0.8,
    })
}

/// Appends flags for tag characters and suspicious invisible controls;
/// returns the byte ranges of the flagged characters, for stripping.
pub(super) fn scan(text: &str, out: &mut Vec<Hit>) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut controls: Vec<(usize, usize, f32)> = Vec::new();
    let mut tags: Vec<(usize, usize)> = Vec::new();
    for i in memchr::memchr3_iter(0xE2, 0xEF, 0xF3, b) {
        // Most 0xE2 are punctuation (’ “ — …): rule them out on the bytes.
        let (b1, b2) = (b.get(i + 1).copied(), b.get(i + 2).copied());
        let candidate = matches!(
            (b[i], b1, b2),
            (0xE2, Some(0x80), Some(0x8B..=0x8F | 0xAA..=0xAE))
                | (0xE2, Some(0x81), Some(0xA0..=0xA4 | 0xA6..=0xA9))
                | (0xEF, Some(0xBB), Some(0xBF))
                | (0xF3, Some(0xA0), Some(0x80 | 0x81))
        );
        if !candidate {
            continue;
        }
        let Some(c) = text.get(i..).and_then(|t| t.chars().next()) else {
            continue;
        };
        if !is_invisible(c) {
            continue;
        }
        let j = i + c.len_utf8();
        if is_tag(c) {
            match tags.last_mut() {
                Some(last) if last.1 == i => last.1 = j,
                _ => tags.push((i, j)),
            }
        } else if let Some(confidence) = judge(text, c, i, j) {
            controls.push((i, j, confidence));
        }
    }
    let mut stripped: Vec<(usize, usize)> = Vec::new();
    for (i, j) in tags {
        if !subdivision_flag(text, i, j) {
            out.push(Hit {
                kind: InjectionKind::TagCharacters,
                start: i,
                end: j,
                confidence: 0.99,
                excerpt: Some(decode_tags(&text[i..j])),
            });
            stripped.push((i, j));
        }
    }
    let mut group: Option<(usize, usize, f32, usize)> = None;
    for &(i, j, confidence) in &controls {
        stripped.push((i, j));
        group = match group {
            Some((s, e, c, n)) if i <= e + 8 => Some((s, j, c.max(confidence), n + 1)),
            Some(g) => {
                push_controls(out, g);
                Some((i, j, confidence, 1))
            }
            None => Some((i, j, confidence, 1)),
        };
    }
    if let Some(g) = group {
        push_controls(out, g);
    }
    stripped.sort_unstable();
    stripped
}

fn push_controls(out: &mut Vec<Hit>, (start, end, confidence, count): (usize, usize, f32, usize)) {
    out.push(Hit {
        kind: InjectionKind::InvisibleCharacters,
        start,
        end,
        confidence: if count >= 3 {
            confidence.max(0.95)
        } else {
            confidence
        },
        excerpt: None,
    });
}

/// A black flag followed by tag letters or digits and a cancel tag: an
/// emoji subdivision flag such as England's or Scotland's.
fn subdivision_flag(text: &str, i: usize, j: usize) -> bool {
    let black_flag = text
        .get(..i)
        .and_then(|t| t.chars().next_back())
        .is_some_and(|c| c == '\u{1F3F4}');
    let run: Vec<u32> = text[i..j].chars().map(u32::from).collect();
    let Some((&last, body)) = run.split_last() else {
        return false;
    };
    black_flag
        && last == 0xE007F
        && (2..=6).contains(&body.len())
        && body
            .iter()
            .all(|c| matches!(c, 0xE0030..=0xE0039 | 0xE0061..=0xE007A))
}

/// Tag characters read as the ASCII they mirror.
fn decode_tags(run: &str) -> String {
    let ascii: String = run
        .chars()
        .filter_map(|c| char::from_u32(u32::from(c) - 0xE0000))
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    format!("tags: {}", super::excerpt(&ascii))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<InjectionKind> {
        let mut out = Vec::new();
        scan(text, &mut out);
        out.into_iter().map(|h| h.kind).collect()
    }

    #[test]
    fn legitimate_uses_are_not_flagged() {
        assert!(kinds("family 👨\u{200D}👩\u{200D}👧 and 🏳\u{FE0F}\u{200D}🌈").is_empty());
        assert!(kinds("שלום\u{200F} 123 and مرحبا\u{200E} abc").is_empty());
        assert!(kinds("می\u{200C}خواهم").is_empty());
        assert!(kinds("\u{FEFF}starts with a BOM").is_empty());
        assert!(
            kinds("Scotland 🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}").is_empty()
        );
    }

    #[test]
    fn hidden_characters_are_flagged() {
        use InjectionKind::{InvisibleCharacters, TagCharacters};
        assert_eq!(kinds("ig\u{200B}no\u{200B}re"), [InvisibleCharacters]);
        assert_eq!(kinds("abc\u{202E}fed"), [InvisibleCharacters]);
        assert_eq!(kinds("plain\u{200D}text"), [InvisibleCharacters]);
        assert_eq!(kinds("hi\u{E0069}\u{E0067}\u{E006E}"), [TagCharacters]);
    }
}
