//! National identifiers with check digits, anchored on the digit scan: the
//! French NIR, the German tax id, the Spanish DNI and NIE, the Italian
//! codice fiscale and the Dutch BSN (the validators are in `check_id`).
//!
//! The NIR, DNI, NIE and codice fiscale have shapes rare enough that the
//! check digit suffices. A German tax id is 11 bare digits and a BSN 9,
//! the shape of order numbers, phones and routing numbers; with a check
//! digit that one number in ten or eleven passes, they also need a context
//! word (`Steuer-IdNr`, `Identifikationsnummer`, `BSN`,
//! `burgerservicenummer`, …) within 48 bytes before, or a JSON key that
//! names them.

use crate::check_id;
use crate::detect_context::word_in;
use crate::scan::{KeyHint, Scan, alnum};

const TAX_ID_PREFIXES: &[&str] = &[
    "steuer",
    "idnr",
    "id-nr",
    "identifikationsnummer",
    "tax id",
    "tax-id",
    "tax identification",
];
const BSN_PREFIXES: &[&str] = &[
    "burgerservicenummer",
    "sofinummer",
    "sofi-nummer",
    "citizen service number",
];

/// Whether one of the context words (prefixes, or `whole` words) precedes
/// `start` within 48 bytes, or the JSON key names a national id.
fn in_context(s: &Scan<'_>, start: usize, prefixes: &[&str], whole: &[&str]) -> bool {
    if s.hint == Some(KeyHint::NationalId) {
        return true;
    }
    let window = s.b.get(start.saturating_sub(48)..start).unwrap_or_default();
    word_in(window, prefixes, false) || word_in(window, whole, true)
}

/// Tries the identifiers whose shape can start at the digit run
/// `[p, run_end)`; returns the end of the one found. Each test starts with
/// a comparison or two, so ordinary numbers cost next to nothing.
pub(crate) fn at_run(s: &mut Scan<'_>, p: usize, run_end: usize) -> Option<usize> {
    let run = run_end - p;
    let prev = s.before(p);
    let next = s.at(run_end);
    if prev.is_ascii_uppercase() {
        if run <= 3
            && let Some(end) = codice_fiscale(s, p)
        {
            return Some(end);
        }
        return (run == 7 && matches!(prev, b'X' | b'Y' | b'Z'))
            .then(|| nie(s, p, run_end))
            .flatten();
    }
    if alnum(prev) {
        return None;
    }
    let first = s.at(p);
    if matches!(first, b'1' | b'2')
        && (run == 1 && next == b' ' || run == 13 || run == 15 || run == 6 && b"AB".contains(&next))
        && let Some(end) = nir(s, p)
    {
        return Some(end);
    }
    if run == 8
        && (next.is_ascii_uppercase() || next == b'-')
        && let Some(end) = dni(s, p, run_end)
    {
        return Some(end);
    }
    if (run == 11 || run == 2 && next == b' ')
        && let Some(end) = tax_id(s, p)
    {
        return Some(end);
    }
    if (run == 9 || run == 4 && next == b'.' || run == 3 && next == b' ')
        && let Some(end) = bsn(s, p)
    {
        return Some(end);
    }
    None
}

/// Whether the identifier ending at `end` is not followed by more of the
/// same: a letter or digit, or a separator and a digit.
fn ends_cleanly(s: &Scan<'_>, end: usize) -> bool {
    let c = s.at(end);
    !(alnum(c) || matches!(c, b' ' | b'.' | b'-' | b'/') && s.at(end + 1).is_ascii_digit())
}

/// Collects `N` characters from `p`, allowing one `sep` before the
/// character indices in `breaks`; `accept(index, byte, so_far)` says which
/// characters fit. Returns them and the end.
fn collect<const N: usize>(
    s: &Scan<'_>,
    p: usize,
    sep: u8,
    breaks: &[usize],
    accept: impl Fn(usize, u8, &[u8]) -> bool,
) -> Option<([u8; N], usize)> {
    let mut out = [0u8; N];
    let (mut n, mut i) = (0, p);
    while n < N {
        let c = s.at(i);
        if accept(n, c, &out[..n]) {
            out[n] = c;
            n += 1;
            i += 1;
        } else if c == sep && n > 0 && breaks.contains(&n) && s.at(i + 1) != sep {
            i += 1;
        } else {
            return None;
        }
    }
    ends_cleanly(s, i).then_some((out, i))
}

/// `1 85 03 75 123 456 41`, `185037512345641`, `2 90 05 2A 123 456 29`.
fn nir(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let (chars, end) = collect::<15>(s, p, b' ', &[1, 3, 5, 7, 10, 13], |n, c, so_far| {
        c.is_ascii_digit() || n == 6 && matches!(c, b'A' | b'B') && so_far.get(5) == Some(&b'2')
    })?;
    if !check_id::nir(&chars) {
        return None;
    }
    s.emit("fr_nir", "pii.identity", 0.9, p, end);
    Some(end)
}

/// `12345678Z` or `12345678-Z`.
fn dni(s: &mut Scan<'_>, p: usize, run_end: usize) -> Option<usize> {
    let letter_at = if s.at(run_end) == b'-' {
        run_end + 1
    } else {
        run_end
    };
    let digits: [u8; 8] = s.b.get(p..run_end)?.try_into().ok()?;
    if !check_id::dni(&digits, s.at(letter_at)) || alnum(s.at(letter_at + 1)) {
        return None;
    }
    s.emit("es_dni", "pii.identity", 0.9, p, letter_at + 1);
    Some(letter_at + 1)
}

/// `X1234567L`, `Y-1234567-X`: the digit run is the seven digits.
fn nie(s: &mut Scan<'_>, p: usize, run_end: usize) -> Option<usize> {
    let start = p - 1;
    if alnum(s.before(start)) {
        return None;
    }
    let letter_at = if s.at(run_end) == b'-' {
        run_end + 1
    } else {
        run_end
    };
    let digits: [u8; 7] = s.b.get(p..run_end)?.try_into().ok()?;
    if !check_id::nie(s.at(start), &digits, s.at(letter_at)) || alnum(s.at(letter_at + 1)) {
        return None;
    }
    s.emit("es_nie", "pii.identity", 0.9, start, letter_at + 1);
    Some(letter_at + 1)
}

/// A 16-character token of capitals and digits around the digit run at `p`.
fn codice_fiscale(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let id = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    let back =
        s.b.get(p.saturating_sub(16)..p)?
            .iter()
            .rev()
            .take_while(|c| id(c))
            .count();
    let start = p - back;
    if back >= 16 || alnum(s.before(start)) {
        return None;
    }
    let len =
        s.b.get(start..)?
            .iter()
            .take(17)
            .take_while(|c| id(c))
            .count();
    let chars: [u8; 16] = s.b.get(start..start + len)?.try_into().ok()?;
    if !check_id::codice_fiscale(&chars) {
        return None;
    }
    s.emit("it_codice_fiscale", "pii.identity", 0.9, start, start + 16);
    Some(start + 16)
}

/// `86095742719` or `86 095 742 719` after a tax-id word.
fn tax_id(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let (digits, end) = collect::<11>(s, p, b' ', &[2, 5, 8], |_, c, _| c.is_ascii_digit())?;
    if !check_id::steuer_id(&digits) || !in_context(s, p, TAX_ID_PREFIXES, &["tin", "idnr"]) {
        return None;
    }
    s.emit("de_tax_id", "pii.identity", 0.9, p, end);
    Some(end)
}

/// `111222333`, `1112.22.333` or `111 222 333` after `BSN` or `burgerservicenummer`.
fn bsn(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let sep = match s.at(p + s.digits(p)) {
        b'.' => b'.',
        _ => b' ',
    };
    let breaks: &[usize] = if sep == b'.' { &[4, 6] } else { &[3, 6] };
    let (digits, end) = collect::<9>(s, p, sep, breaks, |_, c, _| c.is_ascii_digit())?;
    if !check_id::bsn(&digits) || !in_context(s, p, BSN_PREFIXES, &["bsn", "sofi"]) {
        return None;
    }
    s.emit("nl_bsn", "pii.identity", 0.9, p, end);
    Some(end)
}
