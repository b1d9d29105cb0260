//! Phone numbers, anchored on the digit scan: international (`+44 20 7946
//! 0958`), North American (`(415) 555-2671`, `415-555-2671`) and national
//! numbers without a country prefix (`06 12 34 56 78`, `030 1234567`,
//! `020 7946 0958`, `612 345 678`).
//!
//! The rule for national numbers: a number that starts with the trunk
//! prefix `0` (France, Germany, Italy's landlines, the Netherlands, the UK)
//! is a phone when it is written in at least two groups, the first of 2–5
//! digits (the area code) and none shorter than 2, 10–12 digits in all,
//! with one kind of separator (space, `-`, `.` or `/`), or with the area
//! code in parentheses. Written in one block (`0612345678`), it needs a
//! context word. Numbers without the `0` (Spain's `612 345 678` and
//! `912 34 56 78`, Italy's mobiles `333 123 4567`, North American numbers
//! written with spaces) look like amounts and ids, so they need a context
//! word too: one of [`CONTEXT_PREFIXES`] starting a word, or of
//! [`CONTEXT_WORDS`] as a whole word, within 40 bytes before the number, or
//! a JSON key such as `phone` or `mobile`.

use crate::detect_context::word_in;
use crate::scan::{KeyHint, Scan, alnum};

const PHONE_WORDS: &[&str] = &[
    "phone", "call", "tel", "mobile", "cell", "fax", "contact", "sms",
];

/// Words that make a number without the trunk `0` a phone when they start
/// a word before it: `phone`, `telephone`, `Telefon`, `téléphone`,
/// `teléfono`, `mobile`, `Mobil`, `móvil`, `cellulare`, `call`, …
pub(crate) const CONTEXT_PREFIXES: &[&str] = &[
    "phone",
    "telef",
    "teleph",
    "teléf",
    "téléph",
    "mobil",
    "móvil",
    "movil",
    "portable",
    "handy",
    "cell",
    "call",
    "fax",
    "sms",
    "whatsapp",
    "contact",
    "ring",
    "llam",
    "numero di tel",
];

/// Short words that count only as whole words: `tel`, `tél`, `mob`, `ph`,
/// Dutch `bel` (not `label`, `tell` or `telemetry`).
pub(crate) const CONTEXT_WORDS: &[&str] = &["tel", "tél", "mob", "ph", "bel", "tlf"];

/// Whether a phone context word or key is near the number starting at `start`.
fn in_context(s: &Scan<'_>, start: usize) -> bool {
    if s.hint == Some(KeyHint::Phone) {
        return true;
    }
    let window = s.b.get(start.saturating_sub(40)..start).unwrap_or_default();
    word_in(window, CONTEXT_PREFIXES, false) || word_in(window, CONTEXT_WORDS, true)
}

/// `+CC …` with 8 to 15 digits separated by spaces, dashes, dots or parentheses.
pub(crate) fn international(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let plus = p - 1;
    let before = s.before(plus);
    if alnum(before) || before == b'+' || s.at(p) == b'0' {
        return None;
    }
    let (digits, end) = phone_digits(s, p);
    if !(8..=15).contains(&digits) || alnum(s.at(end)) {
        return None;
    }
    let sure = s.hint == Some(KeyHint::Phone) || s.context(plus, end, PHONE_WORDS, 48, 0);
    s.emit(
        "phone",
        "pii.contact",
        if sure { 0.95 } else { 0.85 },
        plus,
        end,
    );
    Some(end)
}

/// Counts digits from `p` across separator runs of at most two bytes.
fn phone_digits(s: &Scan<'_>, p: usize) -> (usize, usize) {
    let mut i = p;
    let mut digits = 0;
    let mut end = p;
    loop {
        let c = s.at(i);
        if c.is_ascii_digit() {
            digits += 1;
            i += 1;
            end = i;
            if digits > 15 {
                return (digits, end);
            }
            continue;
        }
        let is_sep = |c: u8| matches!(c, b' ' | b'-' | b'.' | b'(' | b')');
        if is_sep(c) && s.at(i + 1).is_ascii_digit() {
            i += 1;
        } else if is_sep(c)
            && is_sep(s.at(i + 1))
            && s.at(i + 2).is_ascii_digit()
            && c != s.at(i + 1)
        {
            i += 2;
        } else {
            return (digits, end);
        }
    }
}

/// `(415) 555-2671`, or a national number with its area code in
/// parentheses, `(030) 123 4567`.
pub(crate) fn parenthesised(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let open = p - 1;
    if alnum(s.before(open)) {
        return None;
    }
    if s.at(p) == b'0' {
        return parenthesised_area(s, p);
    }
    if s.digits(p) != 3 || s.at(p) < b'2' || s.at(p + 3) != b')' {
        return None;
    }
    let mut i = p + 4;
    if s.at(i) == b' ' {
        i += 1;
    }
    let end = us_local(s, i)?;
    let sure = s.hint == Some(KeyHint::Phone) || s.context(open, end, PHONE_WORDS, 48, 0);
    s.emit(
        "phone",
        "pii.contact",
        if sure { 0.9 } else { 0.8 },
        open,
        end,
    );
    Some(end)
}

/// `555-2671` at `i` (exchange 2–9); returns the end.
fn us_local(s: &Scan<'_>, i: usize) -> Option<usize> {
    let sep = s.at(i + 3);
    let ok = s.digits(i) == 3
        && s.at(i) >= b'2'
        && matches!(sep, b'-' | b'.' | b' ')
        && s.digits(i + 4) == 4
        && !alnum(s.at(i + 8))
        && !(matches!(s.at(i + 8), b'-' | b'.') && s.at(i + 9).is_ascii_digit());
    ok.then_some(i + 8)
}

/// `415-555-2671` or `415.555.2671` (area and exchange 2–9).
pub(crate) fn us(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let sep = s.at(p + 3);
    if s.at(p) < b'2' || !matches!(sep, b'-' | b'.') || s.at(p + 7) != sep {
        return None;
    }
    let end = us_local(s, p + 4)?;
    let sure = s.hint == Some(KeyHint::Phone) || s.context(p, end, PHONE_WORDS, 48, 0);
    s.emit("phone", "pii.contact", if sure { 0.9 } else { 0.7 }, p, end);
    Some(end)
}

/// A separator between the groups of a national number.
fn separator(c: u8) -> bool {
    matches!(c, b' ' | b'-' | b'.' | b'/')
}

/// The digit groups of a national number from `i`, joined by one kind of
/// separator: their lengths (at most six), how many, the digit count (at
/// most 12) and the end. `None` when the digits run on past that (another
/// separator and more digits, or a letter), as in ids and amounts.
fn groups(s: &Scan<'_>, from: usize) -> Option<([usize; 6], usize, usize, usize)> {
    let mut lens = [0usize; 6];
    let (mut n, mut total, mut i, mut sep) = (0, 0, from, 0u8);
    loop {
        let run = s.digits(i);
        if n == lens.len() || run == 0 {
            return None;
        }
        lens[n] = run;
        n += 1;
        total += run;
        i += run;
        if total > 12 {
            return None;
        }
        let c = s.at(i);
        if separator(c) && (sep == 0 || sep == c) && s.at(i + 1).is_ascii_digit() {
            sep = c;
            i += 1;
        } else {
            break;
        }
    }
    let c = s.at(i);
    if alnum(c) || separator(c) && s.at(i + 1).is_ascii_digit() {
        return None;
    }
    Some((lens, n, total, i))
}

/// A national number without a country prefix at the digit run
/// `[p, run_end)`, by the rule in the module doc.
pub(crate) fn national(s: &mut Scan<'_>, p: usize, run_end: usize) -> Option<usize> {
    let run = run_end - p;
    let first = s.at(p);
    if first == b'0' {
        if run < 2 || s.at(p + 1) == b'0' {
            return None;
        }
        let (lens, n, total, end) = groups(s, p)?;
        let lens = &lens[..n];
        let date_like = n >= 3 && lens[..3] == [2, 2, 4];
        let grouped = n >= 2
            && lens[0] <= 5
            && lens.iter().all(|l| *l >= 2)
            && (10..=12).contains(&total)
            && !date_like;
        let sure = in_context(s, p);
        if grouped || n == 1 && (10..=11).contains(&total) && sure {
            s.emit("phone", "pii.contact", if sure { 0.9 } else { 0.8 }, p, end);
            return Some(end);
        }
        return None;
    }
    let could = run == 3 && separator(s.at(run_end)) || (9..=10).contains(&run);
    if first < b'2' || !could {
        return None;
    }
    let (lens, n, total, end) = groups(s, p)?;
    let lens = &lens[..n];
    let shape =
        (9..=10).contains(&total) && lens.iter().all(|l| *l >= 2) && (n == 1 || lens[0] == 3);
    if shape && in_context(s, p) {
        s.emit("phone", "pii.contact", 0.85, p, end);
        return Some(end);
    }
    None
}

/// `(030) 123 4567`: a 2–5 digit area code starting with `0` in
/// parentheses, then groups of 2 or more digits, 10–12 digits in all.
fn parenthesised_area(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let open = p - 1;
    let area = s.digits(p);
    if s.at(p + 1) == b'0' || !(2..=5).contains(&area) || s.at(p + area) != b')' {
        return None;
    }
    let mut i = p + area + 1;
    if s.at(i) == b' ' {
        i += 1;
    }
    let (lens, n, total, end) = groups(s, i)?;
    if !(10..=12).contains(&(area + total)) || lens[..n].iter().any(|l| *l < 2) {
        return None;
    }
    let sure = in_context(s, open);
    s.emit(
        "phone",
        "pii.contact",
        if sure { 0.9 } else { 0.8 },
        open,
        end,
    );
    Some(end)
}
