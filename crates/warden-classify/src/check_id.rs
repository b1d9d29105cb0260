//! Check digits of national identifiers: the French NIR, the German tax id
//! (Steuer-IdNr), the Spanish DNI and NIE, the Italian codice fiscale and
//! the Dutch BSN. Each takes the identifier's characters without separators.

/// The decimal value of ASCII digits (other bytes count as 0).
fn number(d: &[u8]) -> u64 {
    d.iter()
        .fold(0u64, |a, c| a * 10 + u64::from(c.wrapping_sub(b'0') % 10))
}

/// French NIR (numéro de sécurité sociale): 13 characters and a 2-digit key
/// equal to 97 − (number mod 97). Sex 1 or 2, month 01–12 (or 20, 30–42,
/// 50–99 for unknown or provisional months); Corsica's departments `2A` and
/// `2B` count as 19 and 18.
pub(crate) fn nir(c: &[u8; 15]) -> bool {
    let mut d = *c;
    match &c[5..7] {
        b"2A" => d[5..7].copy_from_slice(b"19"),
        b"2B" => d[5..7].copy_from_slice(b"18"),
        _ => {}
    }
    if !d.iter().all(u8::is_ascii_digit) || !matches!(d[0], b'1' | b'2') {
        return false;
    }
    let month = number(&d[3..5]);
    let month_ok = matches!(month, 1..=12 | 20 | 30..=42 | 50..=99);
    month_ok && 97 - number(&d[..13]) % 97 == number(&d[13..])
}

/// German Steueridentifikationsnummer: 11 digits, no leading zero; among the
/// first ten, exactly one digit occurs twice or three times (three not in a
/// row) and the others at most once; the last is the ISO 7064 MOD 11,10 check
/// digit.
pub(crate) fn steuer_id(d: &[u8; 11]) -> bool {
    if !d.iter().all(u8::is_ascii_digit) || d[0] == b'0' {
        return false;
    }
    let mut counts = [0u8; 10];
    for c in &d[..10] {
        counts[usize::from(c - b'0')] += 1;
    }
    let repeated: Vec<usize> = (0..10).filter(|k| counts[*k] > 1).collect();
    let rule = match repeated.as_slice() {
        [k] => {
            counts[*k] == 2
                || counts[*k] == 3 && !d[..10].windows(3).any(|w| w.iter().all(|c| *c == w[0]))
        }
        _ => false,
    };
    let mut product = 10u32;
    for c in &d[..10] {
        let mut sum = (u32::from(c - b'0') + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    rule && u32::from(d[10] - b'0') == check
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spanish DNI: 8 digits and the letter `TRWAGMYFPDXBNJZSQVHLCKE[n mod 23]`.
pub(crate) fn dni(digits: &[u8; 8], letter: u8) -> bool {
    digits.iter().all(u8::is_ascii_digit)
        && usize::try_from(number(digits) % 23)
            .ok()
            .and_then(|k| DNI_LETTERS.get(k))
            == Some(&letter)
}

/// Spanish NIE: `X`, `Y` or `Z` (read as 0, 1, 2), 7 digits and the DNI letter.
pub(crate) fn nie(prefix: u8, digits: &[u8; 7], letter: u8) -> bool {
    let lead = match prefix {
        b'X' => b'0',
        b'Y' => b'1',
        b'Z' => b'2',
        _ => return false,
    };
    let mut all = [lead; 8];
    all[1..].copy_from_slice(digits);
    dni(&all, letter)
}

/// Values of `A–Z` at odd (1st, 3rd, …) positions of a codice fiscale; a
/// digit counts as the letter at its index (`0` as `A`, `1` as `B`, …).
const CF_ODD: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

/// Letters that replace digits in a codice fiscale when two people would
/// share one (omocodia): `L` for 0 to `V` for 9.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

/// Italian codice fiscale: 6 letters (surname, name), 2 year digits, a month
/// letter (`ABCDEHLMPRST`), 2 day digits, a letter and 3 digits (place), and
/// a check letter. Digits may be replaced by omocodia letters. The check
/// letter is the sum of the odd-position table values and the even-position
/// values (digits 0–9, letters 0–25), mod 26, as a letter.
pub(crate) fn codice_fiscale(c: &[u8; 16]) -> bool {
    let digit_like = |b: u8| b.is_ascii_digit() || OMOCODIA.contains(&b);
    let shape = c[..6].iter().all(u8::is_ascii_uppercase)
        && [6, 7, 9, 10, 12, 13, 14].iter().all(|&i| digit_like(c[i]))
        && b"ABCDEHLMPRST".contains(&c[8])
        && c[11].is_ascii_uppercase()
        && c[15].is_ascii_uppercase();
    if !shape {
        return false;
    }
    let mut sum = 0u32;
    for (i, &b) in c[..15].iter().enumerate() {
        let k = match b {
            b'0'..=b'9' => usize::from(b - b'0'),
            b'A'..=b'Z' => usize::from(b - b'A'),
            _ => return false,
        };
        sum += if i % 2 == 0 {
            CF_ODD.get(k).copied().unwrap_or(0)
        } else {
            u32::try_from(k).unwrap_or(0)
        };
    }
    u32::from(c[15] - b'A') == sum % 26
}

/// Dutch BSN (burgerservicenummer): 9 digits passing the 11-test, weights
/// 9 down to 2 and −1 for the last digit; not all zeros.
pub(crate) fn bsn(d: &[u8; 9]) -> bool {
    if !d.iter().all(u8::is_ascii_digit) || d.iter().all(|c| *c == b'0') {
        return false;
    }
    let weights = [9i32, 8, 7, 6, 5, 4, 3, 2, -1];
    let sum: i32 = d
        .iter()
        .zip(weights)
        .map(|(c, w)| i32::from(c - b'0') * w)
        .sum();
    sum % 11 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_nir() {
        assert!(nir(b"185037512345641"));
        assert!(!nir(b"185037512345642"));
        assert!(nir(b"290052A12345629"));
        assert!(!nir(b"290052A12345630"));
        assert!(!nir(b"290052C12345629"));
        // Sex 3 and month 13 are not NIRs even with a matching key.
        assert!(!nir(b"385037512345699"));
        assert!(!nir(b"185137512345641"));
    }

    #[test]
    fn german_tax_id() {
        assert!(steuer_id(b"86095742719"));
        assert!(steuer_id(b"65929970489"));
        assert!(!steuer_id(b"86095742718"));
        // The check digit fits, but no digit repeats.
        assert!(!steuer_id(b"12345678903"));
        // A digit three times in a row.
        assert!(!steuer_id(b"11123456780"));
        assert!(!steuer_id(b"06095742719"));
    }

    #[test]
    fn spanish_dni_and_nie() {
        assert!(dni(b"12345678", b'Z'));
        assert!(!dni(b"12345678", b'A'));
        assert!(nie(b'X', b"1234567", b'L'));
        assert!(nie(b'Y', b"1234567", b'X'));
        assert!(nie(b'Z', b"1234567", b'R'));
        assert!(!nie(b'X', b"1234567", b'M'));
        assert!(!nie(b'W', b"1234567", b'L'));
    }

    #[test]
    fn italian_codice_fiscale() {
        assert!(codice_fiscale(b"RSSMRA85T10A562S"));
        assert!(codice_fiscale(b"RSSMRA85T10A56NH"));
        assert!(!codice_fiscale(b"RSSMRA85T10A562T"));
        // `F` is not a month letter.
        assert!(!codice_fiscale(b"RSSMRA85F10A562S"));
    }

    #[test]
    fn dutch_bsn() {
        assert!(bsn(b"111222333"));
        assert!(bsn(b"123456782"));
        assert!(!bsn(b"123456783"));
        assert!(!bsn(b"000000000"));
    }
}
