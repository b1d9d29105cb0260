//! Detectors anchored on a run of ASCII digits: cards, IBAN, SSN, NINO,
//! phones, IP addresses, dates of birth, routing numbers, ICD-10 codes, and
//! (in `detect_address`) street lines and UK postcodes.
//!
//! The scan visits the first digit of each run; each detector checks cheaply
//! whether the bytes around it can start its shape before validating.

use crate::scan::{KeyHint, Scan, alnum};
use crate::{check, detect_address, detect_context, detect_date, detect_national, detect_phone};

const CARD_WORDS: &[&str] = &[
    "card",
    "visa",
    "mastercard",
    "amex",
    "credit",
    "debit",
    "pan",
    "maestro",
    "jcb",
];
const SSN_WORDS: &[&str] = &["ssn", "social security"];
const ROUTING_WORDS: &[&str] = &["routing", "aba", "rtn", "transit number"];
const MEDICAL_WORDS: &[&str] = &[
    "diagnos",
    "icd",
    "patient",
    "medical",
    "clinical",
    "condition",
    "treatment",
    "symptom",
    "disorder",
    "disease",
    "prescri",
    "dx",
];
const NINO_WORDS: &[&str] = &["national insurance", "nino", "ni number", "ni no"];
const VERSION_WORDS: &[&str] = &["version", "release", "build", "ver", "v"];

/// Whether the word just before `p` (past spaces and `:`) is one of `words`.
fn preceding_word_is(s: &Scan<'_>, p: usize, words: &[&str]) -> bool {
    let head = s.b.get(..p).unwrap_or_default();
    let gap = head
        .iter()
        .rev()
        .take_while(|c| matches!(c, b' ' | b':'))
        .count();
    let head = &head[..head.len() - gap];
    let len = head
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    let word = &head[head.len() - len..];
    words
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

/// Finds the next ASCII digit at or after `i`, skipping 32-byte blocks without one.
fn next_digit(b: &[u8], start: usize) -> Option<usize> {
    let rest = b.get(start..)?;
    let mut blocks = rest.chunks_exact(32);
    let mut offset = start;
    for block in blocks.by_ref() {
        let any = block
            .iter()
            .fold(0u8, |acc, &c| acc | u8::from(c.wrapping_sub(b'0') < 10));
        if any != 0 {
            return block
                .iter()
                .position(u8::is_ascii_digit)
                .map(|k| offset + k);
        }
        offset += 32;
    }
    blocks
        .remainder()
        .iter()
        .position(u8::is_ascii_digit)
        .map(|k| offset + k)
}

/// Runs the digit-anchored detectors over the whole text.
pub(crate) fn scan(s: &mut Scan<'_>) {
    let mut i = 0;
    while let Some(p) = next_digit(s.b, i) {
        let run_end = p + s.digits(p);
        let end = at_run(s, p, run_end);
        i = end.max(run_end);
    }
}

/// Tries each detector at the digit run `[p, run_end)`; returns where to go on.
fn at_run(s: &mut Scan<'_>, p: usize, run_end: usize) -> usize {
    let prev = s.before(p);
    let next = s.at(run_end);
    let joined = |c: u8| c.is_ascii_uppercase() || c == b'-';
    if (run_end - p >= 5 || joined(prev) || joined(next))
        && let Some(end) = detect_context::identifier(s, p)
    {
        return end;
    }
    if let Some(end) = detect_national::at_run(s, p, run_end) {
        return end;
    }
    if prev.is_ascii_uppercase() || prev == b' ' {
        let found = iban(s, p)
            .or_else(|| nino(s, p))
            .or_else(|| {
                prev.is_ascii_uppercase()
                    .then(|| detect_address::uk_postcode(s, p))
                    .flatten()
            })
            .or_else(|| icd10(s, p));
        if let Some(end) = found {
            return end;
        }
    }
    if (next == b':' || prev == b':' || prev.is_ascii_hexdigit())
        && let Some(end) = ipv6(s, p)
    {
        return end;
    }
    if alnum(prev) || prev == b'_' {
        return run_end;
    }
    let run = run_end - p;
    let found = match prev {
        b'+' => detect_phone::international(s, p),
        b'(' => detect_phone::parenthesised(s, p),
        _ => None,
    };
    if let Some(end) = found {
        return end;
    }
    if matches!(prev, b'.' | b'-' | b'/' | b'+' | b',') && s.before(p - 1).is_ascii_digit() {
        return run_end;
    }
    if next == b'.'
        && run <= 3
        && let Some(end) = ipv4(s, p)
    {
        return end;
    }
    if let Some(end) = detect_date::date(s, p, run_end) {
        return end;
    }
    let word = |i: usize| s.at(i).is_ascii_uppercase() || s.at(i).is_ascii_digit();
    if (next == b' ' && word(run_end + 1) || next.is_ascii_uppercase() && s.at(run_end + 1) == b' ')
        && let Some(end) = detect_address::street(s, p, run_end)
    {
        return end;
    }
    if run == 3
        && matches!(next, b'-' | b' ' | b'.')
        && let Some(end) = ssn_formatted(s, p).or_else(|| detect_phone::us(s, p))
    {
        return end;
    }
    if let Some(end) = detect_phone::national(s, p, run_end) {
        return end;
    }
    if run >= 4
        && let Some(end) = card(s, p)
    {
        return end;
    }
    if run == 9 && !alnum(next) {
        routing_or_ssn(s, p, run_end);
    }
    run_end
}

fn iban(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let start = p.checked_sub(2)?;
    let cc = s.b.get(start..p)?;
    if !cc.iter().all(u8::is_ascii_uppercase)
        || alnum(s.before(start))
        || !s.at(p + 1).is_ascii_digit()
    {
        return None;
    }
    let len = check::iban_length(cc)?;
    let mut chars = [0u8; 34];
    chars[0] = cc[0];
    chars[1] = cc[1];
    let mut n = 2;
    let mut i = p;
    while n < len {
        let c = s.at(i);
        if c.is_ascii_digit() || c.is_ascii_uppercase() {
            chars[n] = c;
            n += 1;
            i += 1;
        } else if c == b' ' && n % 4 == 0 && alnum(s.at(i + 1)) {
            i += 1;
        } else {
            break;
        }
    }
    if n != len || alnum(s.at(i)) {
        return None;
    }
    if !check::mod97(&chars[..n]) {
        // IBAN-shaped but invalid: swallow it so no card is found inside.
        return Some(i);
    }
    let sure = s.hint == Some(KeyHint::Iban) || s.context(start, i, &["iban"], 48, 0);
    s.emit(
        "iban",
        "financial.account",
        if sure { 0.99 } else { 0.95 },
        start,
        i,
    );
    Some(i)
}

fn nino(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let start = if s.before(p) == b' ' {
        p.checked_sub(3)?
    } else {
        p.checked_sub(2)?
    };
    let prefix = [s.at(start), s.at(start + 1)];
    if alnum(s.before(start)) || !prefix.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    let mut i = p;
    let mut count = 0;
    while count < 6 {
        let c = s.at(i);
        if c.is_ascii_digit() {
            count += 1;
            i += 1;
        } else if c == b' ' && count % 2 == 0 && count > 0 && s.at(i + 1).is_ascii_digit() {
            i += 1;
        } else {
            return None;
        }
    }
    if s.at(i) == b' ' {
        i += 1;
    }
    let suffix = s.at(i);
    if !check::nino(prefix, suffix) || alnum(s.at(i + 1)) {
        return None;
    }
    let sure = s.hint == Some(KeyHint::Nino) || s.context(start, i + 1, NINO_WORDS, 64, 16);
    s.emit(
        "nino",
        "pii.identity",
        if sure { 0.95 } else { 0.75 },
        start,
        i + 1,
    );
    Some(i + 1)
}

fn icd10(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let start = p.checked_sub(1)?;
    let letter = s.at(start);
    if !letter.is_ascii_uppercase() || letter == b'U' || alnum(s.before(start)) {
        return None;
    }
    if !(s.at(p + 1).is_ascii_digit() || s.at(p + 1) == b'A' || s.at(p + 1) == b'B') {
        return None;
    }
    let mut end = p + 2;
    if s.at(end) == b'.' && alnum(s.at(end + 1)) {
        let mut j = end + 1;
        while j < end + 5 && (s.at(j).is_ascii_digit() || s.at(j).is_ascii_uppercase()) {
            j += 1;
        }
        end = j;
    }
    if alnum(s.at(end)) {
        return None;
    }
    if s.hint == Some(KeyHint::Medical) || s.context(start, end, MEDICAL_WORDS, 80, 40) {
        s.emit("icd10", "health", 0.85, start, end);
        return Some(end);
    }
    None
}

fn ipv4(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let mut i = p;
    for octet in 0..4 {
        let n = s.digits(i);
        let field = s.b.get(i..i + n)?;
        if n == 0 || n > 3 || (n > 1 && field[0] == b'0') {
            return None;
        }
        let value = field.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
        if value > 255 {
            return None;
        }
        i += n;
        if octet < 3 {
            if s.at(i) != b'.' {
                return None;
            }
            i += 1;
        }
    }
    if alnum(s.at(i)) || (matches!(s.at(i), b'.' | b'-') && alnum(s.at(i + 1))) {
        return Some(i);
    }
    if preceding_word_is(s, p, VERSION_WORDS) {
        return Some(i);
    }
    s.emit("ip", "pii.contact", 0.8, p, i);
    Some(i)
}

fn ipv6(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let mut start = p;
    while start > 0 && p - start < 40 {
        let c = s.at(start - 1);
        if c.is_ascii_hexdigit() || c == b':' {
            start -= 1;
        } else {
            break;
        }
    }
    let mut end = p;
    while end - start < 45 {
        let c = s.at(end);
        if c.is_ascii_hexdigit() || c == b':' || c == b'.' {
            end += 1;
        } else {
            break;
        }
    }
    if alnum(s.before(start)) || alnum(s.at(end)) {
        return None;
    }
    let mut candidate = s.text.get(start..end)?;
    for _ in 0..2 {
        if candidate.bytes().filter(|c| *c == b':').count() >= 2
            && candidate.parse::<std::net::Ipv6Addr>().is_ok()
        {
            let end = start + candidate.len();
            s.emit("ip", "pii.contact", 0.85, start, end);
            return Some(end);
        }
        candidate = candidate.strip_suffix([':', '.'])?;
    }
    None
}

fn ssn_formatted(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let sep = s.at(p + 3);
    if s.digits(p + 4) != 2 || s.at(p + 6) != sep || s.digits(p + 7) != 4 {
        return None;
    }
    let end = p + 11;
    if alnum(s.at(end)) || (matches!(s.at(end), b'-' | b'.') && s.at(end + 1).is_ascii_digit()) {
        return None;
    }
    let d = |i: usize, n: usize| {
        s.b[i..i + n]
            .iter()
            .fold(0u32, |a, c| a * 10 + u32::from(c - b'0'))
    };
    if !check::ssn(d(p, 3), d(p + 4, 2), d(p + 7, 4)) {
        return None;
    }
    let sure = s.hint == Some(KeyHint::Ssn) || s.context(p, end, SSN_WORDS, 48, 0);
    match (sep, sure) {
        (b'-', _) => s.emit(
            "ssn",
            "pii.identity",
            if sure { 0.99 } else { 0.85 },
            p,
            end,
        ),
        (_, true) => s.emit("ssn", "pii.identity", 0.9, p, end),
        _ => return None,
    }
    Some(end)
}

fn card(s: &mut Scan<'_>, p: usize) -> Option<usize> {
    let mut digits = [0u8; 19];
    let mut n = 0;
    let mut ends: [(usize, usize); 8] = [(0, 0); 8];
    let mut groups = 0;
    let mut i = p;
    let mut sep = 0u8;
    loop {
        let run = s.digits(i);
        if n + run > 19 || groups == ends.len() {
            break;
        }
        digits[n..n + run].copy_from_slice(&s.b[i..i + run]);
        n += run;
        i += run;
        ends[groups] = (n, i);
        groups += 1;
        let c = s.at(i);
        if matches!(c, b' ' | b'-') && (sep == 0 || sep == c) && s.at(i + 1).is_ascii_digit() {
            sep = c;
            i += 1;
        } else {
            break;
        }
    }
    let after_ok = |end: usize| {
        let c = s.at(end);
        !(alnum(c) || matches!(c, b'.' | b',' | b'-') && s.at(end + 1).is_ascii_digit())
    };
    // Twelve digits (the shortest Maestro) are a card only with a card word
    // or written in fours: bare, they are as likely an order number.
    let in_fours = |k: usize| {
        ends[..k]
            .iter()
            .enumerate()
            .all(|(g, e)| e.0 == 4 * (g + 1))
    };
    for (k, &(count, end)) in ends[..groups].iter().enumerate().rev() {
        let d = &digits[..count];
        if (12..=19).contains(&count) && after_ok(end) && check::luhn(d) && check::card_issuer(d) {
            let sure = s.hint == Some(KeyHint::Card) || s.context(p, end, CARD_WORDS, 48, 0);
            if count == 12 && !sure && !in_fours(k + 1) {
                continue;
            }
            s.emit(
                "card",
                "financial.card",
                if sure { 0.99 } else { 0.9 },
                p,
                end,
            );
            return Some(end);
        }
    }
    None
}

fn routing_or_ssn(s: &mut Scan<'_>, p: usize, end: usize) {
    let d = &s.b[p..end];
    if check::aba(d)
        && (s.hint == Some(KeyHint::Routing) || s.context(p, end, ROUTING_WORDS, 48, 0))
    {
        s.emit("routing", "financial.account", 0.9, p, end);
        return;
    }
    let v = |i: usize, n: usize| {
        d[i..i + n]
            .iter()
            .fold(0u32, |a, c| a * 10 + u32::from(c - b'0'))
    };
    if check::ssn(v(0, 3), v(3, 2), v(5, 4))
        && (s.hint == Some(KeyHint::Ssn) || s.context(p, end, SSN_WORDS, 48, 0))
    {
        s.emit("ssn", "pii.identity", 0.8, p, end);
    }
}
