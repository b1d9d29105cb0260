//! Postal addresses where a pattern can honestly find them: a street line
//! such as `1234 Main Street` or `221B Baker Street` (a house number,
//! capitalised name words and a street suffix, optionally a unit and
//! `City, ST 12345`), and UK postcodes with their format rules.
//!
//! Addresses without a house number and a street suffix (`Flat 2, The
//! Maltings`) or in other countries' formats are not found: a pattern for
//! them would find ordinary prose as often as addresses.

use crate::scan::{Scan, alnum};

const SUFFIXES: &[&str] = &[
    "street",
    "st",
    "avenue",
    "ave",
    "road",
    "rd",
    "boulevard",
    "blvd",
    "lane",
    "ln",
    "drive",
    "dr",
    "court",
    "ct",
    "place",
    "pl",
    "terrace",
    "way",
    "parkway",
    "pkwy",
    "circle",
    "highway",
    "hwy",
    "square",
    "sq",
    "crescent",
    "close",
    "gardens",
    "grove",
    "mews",
    "plaza",
    "alley",
    "trail",
];

const DIRECTIONS: &[&str] = &[
    "n", "s", "e", "w", "ne", "nw", "se", "sw", "north", "south", "east", "west",
];

const UNITS: &[&str] = &["apt", "apartment", "suite", "ste", "unit", "floor", "fl"];

const STATES: &[&[u8; 2]] = &[
    b"AL", b"AK", b"AZ", b"AR", b"CA", b"CO", b"CT", b"DE", b"DC", b"FL", b"GA", b"HI", b"ID",
    b"IL", b"IN", b"IA", b"KS", b"KY", b"LA", b"ME", b"MD", b"MA", b"MI", b"MN", b"MS", b"MO",
    b"MT", b"NE", b"NV", b"NH", b"NJ", b"NM", b"NY", b"NC", b"ND", b"OH", b"OK", b"OR", b"PA",
    b"RI", b"SC", b"SD", b"TN", b"TX", b"UT", b"VT", b"VA", b"WA", b"WV", b"WI", b"WY", b"PR",
];

/// Capitalised words that make a title (`5 Tips For The Open Road`), not a street name.
const FUNCTION_WORDS: &[&str] = &[
    "to", "for", "of", "and", "in", "on", "at", "is", "are", "your", "my", "our", "with", "about",
    "from", "you", "we", "i", "a", "an", "the", "or", "by",
];

/// Words before a year that make `1990 Wall Street` a date, not an address.
const YEAR_WORDS: &[&str] = &[
    "in", "since", "by", "of", "until", "from", "year", "before", "after",
];

/// One word: `[start, end)`.
type Word = (usize, usize);

/// The ASCII word (letters, digits, `'`) starting at `i`, if `i` starts one.
fn word_at(s: &Scan<'_>, i: usize) -> Option<Word> {
    if !alnum(s.at(i)) {
        return None;
    }
    let len = s.b[i..]
        .iter()
        .take(40)
        .take_while(|c| alnum(**c) || **c == b'\'')
        .count();
    Some((i, i + len))
}

fn is(w: &[u8], list: &[&str]) -> bool {
    list.iter().any(|x| w.eq_ignore_ascii_case(x.as_bytes()))
}

/// `Main`, `MAIN`, `O'Farrell` or an ordinal such as `5th`.
fn name_word(w: &[u8]) -> bool {
    let capitalised = w.first().is_some_and(u8::is_ascii_uppercase)
        && w[1..]
            .iter()
            .all(|c| c.is_ascii_alphabetic() || *c == b'\'');
    let digits = w.iter().take_while(|c| c.is_ascii_digit()).count();
    let ordinal = digits > 0 && digits <= 3 && is(&w[digits..], &["st", "nd", "rd", "th"]);
    capitalised || ordinal
}

/// Whether the word is capitalised or all capitals (a suffix or direction
/// in lowercase is prose: `3 main points`).
fn capitalised(w: &[u8]) -> bool {
    w.first().is_some_and(u8::is_ascii_uppercase)
}

/// A street line at the house number `[p, run_end)`; returns its end.
pub(crate) fn street(s: &mut Scan<'_>, p: usize, run_end: usize) -> Option<usize> {
    let run = run_end - p;
    if !(1..=5).contains(&run) || s.at(p) == b'0' {
        return None;
    }
    if run == 4 {
        let year = s.b[p..run_end]
            .iter()
            .fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
        if (1900..=2099).contains(&year) && preceded_by(s, p, YEAR_WORDS) {
            return None;
        }
    }
    let mut i = run_end;
    if s.at(i).is_ascii_uppercase() && s.at(i + 1) == b' ' {
        i += 1;
    }
    if s.at(i) != b' ' {
        return None;
    }
    i += 1;
    let mut names = 0;
    let mut end = None;
    while names <= 4 {
        let Some((ws, we)) = word_at(s, i) else {
            break;
        };
        let w = s.b.get(ws..we)?;
        if names > 0 && capitalised(w) && is(w, SUFFIXES) {
            end = Some(we);
        } else if end.is_some() && capitalised(w) && is(w, DIRECTIONS) {
            end = Some(we);
            break;
        } else if end.is_some() || !name_word(w) || is(w, FUNCTION_WORDS) {
            break;
        }
        names += 1;
        if s.at(we) != b' ' {
            break;
        }
        i = we + 1;
    }
    let end = end?;
    if alnum(s.at(end)) {
        return None;
    }
    let (end, full) = match city_state_zip(s, unit(s, end)) {
        Some(e) => (e, true),
        None => (end, false),
    };
    s.emit(
        "street_address",
        "pii.address",
        if full { 0.95 } else { 0.85 },
        p,
        end,
    );
    Some(end)
}

/// Whether the word before `p` is one of `words`.
fn preceded_by(s: &Scan<'_>, p: usize, words: &[&str]) -> bool {
    let head = s.b.get(..p).unwrap_or_default().trim_ascii_end();
    let len = head
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    is(&head[head.len() - len..], words)
}

/// `, Apt 4B`, ` Suite 200`, ` #12` after the street; returns the new end.
fn unit(s: &Scan<'_>, end: usize) -> usize {
    let mut i = end;
    if s.at(i) == b',' {
        i += 1;
    }
    if s.at(i) != b' ' {
        return end;
    }
    i += 1;
    if s.at(i) == b'#' {
        i += 1;
    } else {
        let Some((ws, we)) = word_at(s, i) else {
            return end;
        };
        if !is(&s.b[ws..we], UNITS) {
            return end;
        }
        i = we;
        if s.at(i) == b'.' {
            i += 1;
        }
        if s.at(i) == b' ' {
            i += 1;
        }
    }
    let len = s.b[i..]
        .iter()
        .take(7)
        .take_while(|c| alnum(**c) || **c == b'-')
        .count();
    if (1..=6).contains(&len) && !alnum(s.at(i + len)) {
        i + len
    } else {
        end
    }
}

/// `, Springfield, IL 62704` (a valid state and a ZIP or ZIP+4) after `end`.
fn city_state_zip(s: &Scan<'_>, end: usize) -> Option<usize> {
    if s.b.get(end..end + 2)? != b", " {
        return None;
    }
    let mut i = end + 2;
    for _ in 0..3 {
        let (ws, we) = word_at(s, i)?;
        if !name_word(&s.b[ws..we]) {
            return None;
        }
        i = we;
        if s.at(i) == b',' {
            break;
        }
        if s.at(i) != b' ' {
            return None;
        }
        i += 1;
    }
    if s.b.get(i..i + 2)? != b", " {
        return None;
    }
    let state = s.b.get(i + 2..i + 4)?;
    if !STATES.iter().any(|st| st.as_slice() == state) || s.at(i + 4) != b' ' {
        return None;
    }
    let zip = i + 5;
    if s.digits(zip) != 5 {
        return None;
    }
    let mut end = zip + 5;
    if s.at(end) == b'-' && s.digits(end + 1) == 4 {
        end += 5;
    }
    (!alnum(s.at(end))).then_some(end)
}

/// A UK postcode whose outward code has its first digit at `p`: `SW1A 1AA`,
/// `M1 1AE`, `B33 8TH`, `EC1A 1BB`. Letters are checked by position (no Q V X
/// first, no I J Z second, the restricted third and fourth letters, no C I K
/// M O V in the inward code); a single space separates the halves.
pub(crate) fn uk_postcode(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let letters = if p >= 2 && s.at(p - 2).is_ascii_uppercase() {
        2
    } else {
        1
    };
    let start = p - letters;
    if alnum(s.before(start)) {
        return None;
    }
    let area = s.b.get(start..p)?;
    if b"QVX".contains(&area[0]) || (letters == 2 && b"IJZ".contains(&area[1])) {
        return None;
    }
    let digits = s.digits(p);
    let mut i = p + digits;
    if !(1..=2).contains(&digits) {
        return None;
    }
    if s.at(i).is_ascii_uppercase() {
        let allowed: &[u8] = if letters == 1 {
            b"ABCDEFGHJKPSTUW"
        } else {
            b"ABEHMNPRVWXY"
        };
        if digits != 1 || !allowed.contains(&s.at(i)) {
            return None;
        }
        i += 1;
    }
    if s.at(i) != b' ' || !s.at(i + 1).is_ascii_digit() {
        return None;
    }
    let inward = s.b.get(i + 2..i + 4)?;
    let end = i + 4;
    let inward_ok = inward
        .iter()
        .all(|c| c.is_ascii_uppercase() && !b"CIKMOV".contains(c));
    if !inward_ok || alnum(s.at(end)) {
        return None;
    }
    s.emit("uk_postcode", "pii.address", 0.85, start, end);
    Some(end)
}
