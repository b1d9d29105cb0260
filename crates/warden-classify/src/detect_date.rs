//! Dates, anchored on the digit scan: `1985-03-14`, `14/03/1985`,
//! `14.03.1985`, `03/14/1985`, `14 March 1985`, `March 14, 1985`, and month
//! names in French, German, Spanish, Italian and Dutch (`14 mars 1985`,
//! `14. März 1985`, `14 marzo 1985`, `14 maart 1985`).
//!
//! A date is a date of birth only after a context word ([`DOB_WORDS`]:
//! `born`, `DOB`, `date of birth`, `né le`, `geboren`, `fecha de
//! nacimiento`, `data di nascita`, `geboortedatum`, …) starting a word
//! within 48 bytes before it (so `stubborn` is not `born`), or under a key such as `dob`, `birth_date` or
//! `date_of_birth`. Other dates are swallowed, so no phone or card detector
//! fires inside them.

use crate::detect_context::word_in;
use crate::scan::{KeyHint, Scan, alnum};

/// Words that make a date a date of birth when one starts a word (ASCII
/// case ignored). Looked for only at word starts with a matching first
/// letter: a substring search for each word cost 40% of the prose
/// throughput once the list grew to six languages.
pub(crate) const DOB_WORDS: &[&str] = &[
    "born",
    "dob",
    "d.o.b",
    "date of birth",
    "birth date",
    "birthdate",
    "birthday",
    "né le",
    "née le",
    "né(e) le",
    "date de naissance",
    "geboren",
    "geburtsdatum",
    "geburtstag",
    "nacimiento",
    "nacido el",
    "nacida el",
    "data di nascita",
    "nato il",
    "nata il",
    "geboortedatum",
];

/// Month names and abbreviations, lowercase: English, French, German,
/// Spanish, Italian and Dutch.
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "janvier",
    "février",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "decembre",
    "januar",
    "jänner",
    "februar",
    "märz",
    "maerz",
    "juni",
    "juli",
    "oktober",
    "dezember",
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "setiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "gennaio",
    "febbraio",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "settembre",
    "ottobre",
    "dicembre",
    "januari",
    "februari",
    "maart",
    "mei",
    "augustus",
];

/// A letter of a month name: ASCII or any byte of a multi-byte character.
fn letter(c: u8) -> bool {
    c.is_ascii_alphabetic() || c >= 0x80
}

/// Whether `w` is a month name, any case.
fn month_word(w: &[u8]) -> bool {
    if !(3..=12).contains(&w.len()) {
        return false;
    }
    let Ok(word) = std::str::from_utf8(w) else {
        return false;
    };
    let lower = word.to_lowercase();
    MONTHS.contains(&lower.as_str())
}

/// The value of the `n` ASCII digits at `i`, if exactly `n` digits are there.
fn num(s: &Scan<'_>, i: usize, n: usize) -> Option<u32> {
    (n <= 9 && s.digits(i) == n).then(|| {
        s.b.get(i..i + n)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |a, c| a * 10 + u32::from(c - b'0'))
    })
}

fn year_ok(y: u32) -> bool {
    (1900..=2099).contains(&y)
}

fn day_month(a: u32, b: u32) -> bool {
    (1..=31).contains(&a) && (1..=12).contains(&b)
}

/// `1985-03-14`, `14/03/1985`, `14.03.1985`, `03/14/1985`.
fn numeric(s: &Scan<'_>, p: usize, run: usize) -> Option<(usize, usize)> {
    let sep = s.at(p + run);
    if run == 4 {
        let y = num(s, p, 4)?;
        let m = num(s, p + 5, 2)?;
        let d = num(s, p + 8, 2)?;
        return (year_ok(y) && s.at(p + 7) == sep && day_month(d, m)).then_some((p, p + 10));
    }
    let a = num(s, p, run)?;
    let second = p + run + 1;
    let blen = s.digits(second);
    let b = num(s, second, blen).filter(|_| blen == 1 || blen == 2)?;
    let third = second + blen + 1;
    let y = num(s, third, 4)?;
    let ok = s.at(second + blen) == sep && year_ok(y) && (day_month(a, b) || day_month(b, a));
    ok.then_some((p, third + 4))
}

/// `14 March 1985`, `14. März 1985`: the day is the run at `p`.
fn day_month_year(s: &Scan<'_>, p: usize, run: usize) -> Option<(usize, usize)> {
    let mut word_start = p + run + 1;
    if s.at(p + run) == b'.' {
        word_start += 1;
    }
    let len =
        s.b.get(word_start..)?
            .iter()
            .take(13)
            .take_while(|c| letter(**c))
            .count();
    let word_end = word_start + len;
    let y = num(s, word_end + 1, 4)?;
    let d = num(s, p, run)?;
    let ok = s.at(word_end) == b' '
        && (1..=31).contains(&d)
        && year_ok(y)
        && month_word(s.b.get(word_start..word_end)?);
    ok.then_some((p, word_end + 5))
}

/// `March 14, 1985` or `March 14 1985`: the day is the run at `p`.
fn month_day_year(s: &Scan<'_>, p: usize, run: usize) -> Option<(usize, usize)> {
    if s.before(p) != b' ' {
        return None;
    }
    let year_at = match s.at(p + run) {
        b',' if s.at(p + run + 1) == b' ' => p + run + 2,
        b' ' => p + run + 1,
        _ => return None,
    };
    let y = num(s, year_at, 4)?;
    let d = num(s, p, run)?;
    let head = s.b.get(p.saturating_sub(14)..p - 1)?;
    let len = head.iter().rev().take_while(|c| letter(**c)).count();
    let word_start = p - 1 - len;
    let ok = (1..=31).contains(&d) && year_ok(y) && month_word(s.b.get(word_start..p - 1)?);
    ok.then_some((word_start, year_at + 4))
}

/// A date at the digit run `[p, run_end)`: reported as a date of birth near
/// its context words and swallowed otherwise; returns its end.
pub(crate) fn date(s: &mut Scan<'_>, p: usize, run_end: usize) -> Option<usize> {
    let run = run_end - p;
    let sep = s.at(run_end);
    let short = run == 1 || run == 2;
    let found = if (run == 4 || short)
        && matches!(sep, b'-' | b'/' | b'.')
        && s.at(run_end + 1).is_ascii_digit()
    {
        numeric(s, p, run)
    } else if short && (sep == b' ' || sep == b'.' && s.at(run_end + 1) == b' ') {
        day_month_year(s, p, run).or_else(|| month_day_year(s, p, run))
    } else if short && sep == b',' {
        month_day_year(s, p, run)
    } else {
        None
    };
    let (start, end) = found?;
    if alnum(s.at(end)) {
        return None;
    }
    let window = s.b.get(start.saturating_sub(48)..start).unwrap_or_default();
    if s.hint == Some(KeyHint::Dob) || word_in(window, DOB_WORDS, false) {
        s.emit("dob", "pii.dob", 0.85, start, end);
    }
    Some(end)
}
