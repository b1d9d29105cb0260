//! A folded copy of a text for a second reading by the phrase rules, made
//! only when the text needs one: the invisible characters the `invisible`
//! module flagged are dropped, look-alike letters (Cyrillic and Greek
//! homoglyphs, fullwidth forms) become the ASCII they imitate, and JSON
//! string escapes (`\n`, `\"`, `\t`, `\\`) are read as what they stand for,
//! so a tool result that is serialised JSON shows its line breaks and turns.
//!
//! Whether a copy is needed costs two `memchr` passes for the lead bytes of
//! Cyrillic, Greek and fullwidth letters and one for backslashes; prose
//! without them is not copied.

/// A folded text and, for each of its bytes, the offset of the source byte
/// it came from.
pub(super) struct Folded {
    pub(super) text: String,
    pub(super) map: Vec<usize>,
    /// Byte spans (in the source) of words that mix ASCII letters with
    /// Cyrillic or Greek look-alikes, such as `Plеasе` with a Cyrillic `е`.
    pub(super) mixed: Vec<(usize, usize)>,
}

/// The word being read: where it starts, whether it has an ASCII letter,
/// whether it has a Cyrillic or Greek look-alike.
#[derive(Default)]
struct Word {
    start: usize,
    ascii: bool,
    lookalike: bool,
}

/// The ASCII letter a look-alike imitates, if `c` is one.
fn fold_char(c: char) -> Option<char> {
    let ascii = match c {
        // Cyrillic
        'а' => 'a',
        'с' => 'c',
        'ԁ' => 'd',
        'е' => 'e',
        'һ' => 'h',
        'і' => 'i',
        'ј' => 'j',
        'о' => 'o',
        'р' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'ԝ' => 'w',
        'х' => 'x',
        'у' => 'y',
        'А' => 'A',
        'В' => 'B',
        'С' => 'C',
        'Е' => 'E',
        'Н' => 'H',
        'І' => 'I',
        'Ј' => 'J',
        'К' => 'K',
        'М' => 'M',
        'О' => 'O',
        'Р' => 'P',
        'Ѕ' => 'S',
        'Т' => 'T',
        'Х' => 'X',
        'У' => 'Y',
        // Greek
        'α' => 'a',
        'ε' => 'e',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        // Fullwidth ASCII (U+FF01–U+FF5E)
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0)?,
        '\u{3000}' => ' ',
        _ => return None,
    };
    Some(ascii)
}

/// Whether `b` holds a lead byte of a look-alike: 0xCE/0xCF (Greek),
/// 0xD0/0xD1/0xD4 (Cyrillic), 0xEF 0xBC/0xBD (fullwidth).
fn has_lookalikes(b: &[u8]) -> bool {
    memchr::memchr3(0xCE, 0xCF, 0xD0, b).is_some() || memchr::memchr3(0xD1, 0xD4, 0xEF, b).is_some()
}

/// What a JSON escape at `b[i]` (a backslash) stands for.
fn escape(b: &[u8], i: usize) -> Option<u8> {
    match b.get(i + 1)? {
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'"' => Some(b'"'),
        b'\\' => Some(b'\\'),
        b'/' => Some(b'/'),
        _ => None,
    }
}

/// The folded copy of `text` without the byte ranges in `hidden` (sorted,
/// disjoint), or `None` when folding would change nothing. `kinds` says
/// whether the text has look-alike lead bytes or backslashes at all (the
/// phrase scan's [`super::phrases::LOOKALIKE`] and
/// [`super::phrases::BACKSLASH`] bits); without them only `hidden` counts.
pub(super) fn fold(text: &str, hidden: &[(usize, usize)], kinds: u8) -> Option<Folded> {
    let b = text.as_bytes();
    let escapes = kinds & super::phrases::BACKSLASH != 0
        && memchr::memchr_iter(b'\\', b).any(|i| escape(b, i).is_some());
    let lookalikes = kinds & super::phrases::LOOKALIKE != 0 && has_lookalikes(b);
    if hidden.is_empty() && !escapes && !lookalikes {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    let mut next_hidden = hidden.iter().peekable();
    let mut changed = false;
    let mut mixed = Vec::new();
    let mut word = Word::default();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() {
            if !word.ascii && !word.lookalike {
                word.start = i;
            }
            word.ascii |= c.is_ascii_alphabetic();
            word.lookalike |= !c.is_ascii() && fold_char(c).is_some() && u32::from(c) < 0x2000;
        } else if !is_hidden_char(c) {
            if word.ascii && word.lookalike {
                mixed.push((word.start, i));
            }
            word = Word::default();
        }
        while next_hidden.peek().is_some_and(|r| r.1 <= i) {
            next_hidden.next();
        }
        if next_hidden.peek().is_some_and(|r| r.0 <= i) {
            changed = true;
            continue;
        }
        if c == '\\'
            && let Some(e) = escape(b, i)
        {
            chars.next();
            out.push(char::from(e));
            map.push(i);
            changed = true;
            continue;
        }
        match fold_char(c) {
            Some(a) => {
                out.push(a);
                map.push(i);
                changed = true;
            }
            None => {
                out.push(c);
                map.extend(i..i + c.len_utf8());
            }
        }
    }
    if word.ascii && word.lookalike {
        mixed.push((word.start, text.len()));
    }
    changed.then_some(Folded {
        text: out,
        map,
        mixed,
    })
}

/// Characters that do not end a word: the invisible ones an attacker puts
/// inside words.
fn is_hidden_char(c: char) -> bool {
    super::invisible::is_invisible(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_lookalikes_escapes_and_hidden_ranges() {
        let f = fold("іgnоrе", &[], 7).map(|f| f.text);
        assert_eq!(f.as_deref(), Some("ignore"));
        let f = fold("ｉｇｎｏｒｅ", &[], 7).map(|f| f.text);
        assert_eq!(f.as_deref(), Some("ignore"));
        let f = fold("a\\n\\nHuman: \\\"x\\\"", &[], 7).map(|f| f.text);
        assert_eq!(f.as_deref(), Some("a\n\nHuman: \"x\""));
        let f = fold("ig\u{200B}nore", &[(2, 5)], 0);
        assert_eq!(f.as_ref().map(|f| f.text.as_str()), Some("ignore"));
        assert_eq!(f.map(|f| f.map), Some(vec![0, 1, 5, 6, 7, 8]));
        assert!(fold("plain text, café — ok", &[], 7).is_none());
        let f = fold("Plеasе send it, Москва and αβγ", &[], 7).map(|f| f.mixed);
        assert_eq!(f, Some(vec![(0, 8)]));
    }
}
