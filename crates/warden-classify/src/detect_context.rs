//! Identifiers with no checksum of their own, found only after a context
//! word: passport numbers after `passport` (or `passeport`, `Reisepass`,
//! `pasaporte`, `passaporto`, `paspoort`) and medical record numbers after
//! `MRN`, `medical record` or `patient ID`.
//!
//! Both are anchored on the digit scan: a token of the right shape (which
//! rules out most numbers at once) is a finding only when its context word
//! precedes it, so `Passport No. X1234567` and `MRN: 00482913` are found
//! while `Passport.js 12` and `mRNA-1273 lot 4839201` are not.

use crate::scan::{Scan, alnum};

const PASSPORT_WORDS: &[&str] = &[
    "passport",
    "passeport",
    "reisepass",
    "pasaporte",
    "passaporto",
    "paspoort",
];

/// Whether `t` has the shape of a passport number: 6 to 9 capitals and
/// digits, at least two digits, at most five letters, and not a `YYYYMMDD` date.
pub(crate) fn passport_shape(t: &[u8]) -> bool {
    let digits = t.iter().filter(|c| c.is_ascii_digit()).count();
    (6..=9).contains(&t.len())
        && t.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && digits >= 2
        && t.len() - digits <= 5
        && !compact_date(t)
}

/// `YYYYMMDD` with a plausible year, month and day.
fn compact_date(t: &[u8]) -> bool {
    if t.len() != 8 || !t.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| t[r].iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
    (1900..=2099).contains(&n(0..4)) && (1..=12).contains(&n(4..6)) && (1..=31).contains(&n(6..8))
}

/// Whether `t` has the shape of a medical record number: 5 to 16 capitals,
/// digits and inner hyphens, at least five digits, at most four letters, not
/// a date such as `2024-03-01`.
pub(crate) fn mrn_shape(t: &[u8]) -> bool {
    if !(5..=16).contains(&t.len()) || t.starts_with(b"-") || t.ends_with(b"-") {
        return false;
    }
    let (mut digits, mut letters) = (0, 0);
    for (i, c) in t.iter().enumerate() {
        match c {
            b'0'..=b'9' => digits += 1,
            b'A'..=b'Z' => letters += 1,
            b'-' if t.get(i + 1) != Some(&b'-') => {}
            _ => return false,
        }
    }
    let date = t.len() == 10
        && (t[4] == b'-' && t[7] == b'-' || t[2] == b'-' && t[5] == b'-')
        && digits == 8;
    digits >= 5 && letters <= 4 && !date
}

const MRN_WORDS: &[&str] = &[
    "mrn",
    "medical record",
    "patient id",
    "patient-id",
    "patient_id",
    "patientid",
    "patient no",
    "patient number",
    "patient #",
    "hospital number",
];

/// Whether one of `words` (lowercase ASCII) starts a word in `window`,
/// ignoring ASCII case; with `whole`, it must also end one (so `mRNA` is not
/// `MRN`, while `Reisepassnummer` contains `Reisepass`).
pub(crate) fn word_in(window: &[u8], words: &[&str], whole: bool) -> bool {
    let alpha = |i: usize| window.get(i).is_some_and(u8::is_ascii_alphabetic);
    (0..window.len()).any(|i| {
        // Only where a word starts; then only words with that first letter.
        let first = window[i].to_ascii_lowercase();
        (i == 0 || !alpha(i - 1))
            && words.iter().any(|w| {
                let w = w.as_bytes();
                w[0] == first
                    && window
                        .get(i..i + w.len())
                        .is_some_and(|x| x.eq_ignore_ascii_case(w))
                    && !(whole && alpha(i + w.len()))
            })
    })
}

/// At the digit run starting at `p`: the token around it (capitals, digits
/// and inner hyphens) is a passport number if `passport` or a translation
/// precedes it within 48 bytes, or a medical record number if `MRN`,
/// `medical record` or `patient ID` precedes it within 32 bytes. Returns the
/// token's end when it is one.
///
/// The caller skips runs of fewer than five digits with neither a capital
/// nor a hyphen beside them: most numbers in prose, and none of these tokens.
pub(crate) fn identifier(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let id_char = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    // Fast exits for the commonest numbers that reach here: long digit runs
    // (order numbers) and ISO dates.
    let run = s.digits(p);
    if run > 16 || run == 4 && s.at(p + 4) == b'-' && s.at(p + 7) == b'-' {
        return None;
    }
    let back = s.b[p.saturating_sub(16)..p]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_uppercase() || **c == b'-')
        .count();
    let mut start = p - back;
    while s.at(start) == b'-' {
        start += 1;
    }
    if alnum(s.before(start)) || s.before(start) == b'-' && start < p {
        return None;
    }
    let len = s.b[start..]
        .iter()
        .take(17)
        .take_while(|c| id_char(**c) || **c == b'-')
        .count();
    let mut end = start + len;
    while s.at(end - 1) == b'-' {
        end -= 1;
    }
    if end - start > 16 || alnum(s.at(end)) {
        return None;
    }
    let token = s.b.get(start..end)?;
    let plain = token.iter().all(|c| id_char(*c));
    if plain && passport_shape(token) {
        let window = s.b.get(start.saturating_sub(48)..start)?;
        if word_in(window, PASSPORT_WORDS, false) {
            s.emit("passport", "pii.identity", 0.9, start, end);
            return Some(end);
        }
    }
    if mrn_shape(token) {
        let window = s.b.get(start.saturating_sub(32)..start)?;
        if word_in(window, MRN_WORDS, true) {
            s.emit("mrn", "health", 0.9, start, end);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(passport_shape(b"X1234567"));
        assert!(passport_shape(b"C01X00T47"));
        assert!(passport_shape(b"123456789"));
        assert!(!passport_shape(b"20310405"));
        assert!(!passport_shape(b"NUMBER"));
        assert!(!passport_shape(b"AB12"));
        assert!(mrn_shape(b"00482913"));
        assert!(mrn_shape(b"PT-0048812"));
        assert!(!mrn_shape(b"2024-03-01"));
        assert!(!mrn_shape(b"1273"));
        assert!(!mrn_shape(b"ABCDE-12345"));
    }
}
