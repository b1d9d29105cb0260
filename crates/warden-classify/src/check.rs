//! Validators: checksums and structural rules, run only on candidates.

use base64::Engine as _;

/// The Luhn checksum over the ASCII digits of `digits` (other bytes skipped).
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut double = false;
    let mut count = 0;
    for &b in digits.iter().rev() {
        if !b.is_ascii_digit() {
            continue;
        }
        let mut d = u32::from(b - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
        count += 1;
    }
    count > 1 && sum.is_multiple_of(10)
}

/// Whether a card number of these digits has a known issuer prefix and length.
///
/// Visa 4 (13, 16, 19); Mastercard 51–55 and 2221–2720 (16); Mir 2200–2204
/// (16); Amex 34, 37 (15); Diners 300–305, 36, 38, 39 (14–19); JCB 3528–3589
/// (16–19) and the older 15-digit 1800 and 2131; Maestro 50 and 56–69 (12–19),
/// which takes in Discover (6011, 644–649, 65) and UnionPay (62) too.
pub(crate) fn card_issuer(d: &[u8]) -> bool {
    let len = d.len();
    let prefix = |n: usize| -> u32 {
        d.iter()
            .take(n)
            .fold(0, |acc, b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
    };
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    let maestro = (12..=19).contains(&len);
    match p1 {
        1 => p4 == 1800 && len == 15,
        4 => matches!(len, 13 | 16 | 19),
        2 => {
            (len == 16 && ((2221..=2720).contains(&p4) || (2200..=2204).contains(&p4)))
                || (p4 == 2131 && len == 15)
        }
        5 => ((51..=55).contains(&p2) && len == 16) || ((p2 == 50 || p2 >= 56) && maestro),
        3 => {
            (matches!(p2, 34 | 37) && len == 15)
                || (((300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39))
                    && (14..=19).contains(&len))
                || ((3528..=3589).contains(&p4) && (16..=19).contains(&len))
        }
        6 => maestro,
        _ => false,
    }
}

/// IBAN lengths by country (the SWIFT registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The IBAN length for a country code, if the country uses IBAN.
pub(crate) fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c.as_slice() == country)
        .map(|(_, len)| *len)
}

/// ISO 7064 mod-97-10 over alphanumerics, rotated as IBAN does (first four last).
pub(crate) fn mod97(chars: &[u8]) -> bool {
    if chars.len() < 5 {
        return false;
    }
    let (head, tail) = chars.split_at(4);
    let mut rem = 0u32;
    for &b in tail.iter().chain(head) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            b'a'..=b'z' => u32::from(b - b'a') + 10,
            _ => continue,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// The ABA routing-number checksum and Federal Reserve prefix ranges.
pub(crate) fn aba(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n: Vec<u32> = d.iter().map(|b| u32::from(b - b'0')).collect();
    let prefix = n[0] * 10 + n[1];
    let prefix_ok = matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80);
    let sum = 3 * (n[0] + n[3] + n[6]) + 7 * (n[1] + n[4] + n[7]) + (n[2] + n[5] + n[8]);
    prefix_ok && sum.is_multiple_of(10) && n.iter().any(|v| *v != 0)
}

/// US SSN rules: area 001–899 but not 666, group 01–99, serial 0001–9999.
pub(crate) fn ssn(area: u32, group: u32, serial: u32) -> bool {
    let known_invalid = matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999));
    (1..900).contains(&area) && area != 666 && group != 0 && serial != 0 && !known_invalid
}

/// UK National Insurance number prefix and suffix rules.
pub(crate) fn nino(prefix: [u8; 2], suffix: u8) -> bool {
    let [a, b] = prefix;
    let first_ok = a.is_ascii_uppercase() && !b"DFIQUV".contains(&a);
    let second_ok = b.is_ascii_uppercase() && !b"DFIOQUV".contains(&b);
    let banned = matches!(
        &prefix,
        b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
    );
    first_ok && second_ok && !banned && (b'A'..=b'D').contains(&suffix)
}

/// Whether a JWT header segment decodes to a JSON object with an `alg` string.
pub(crate) fn jwt_header(segment: &[u8]) -> bool {
    let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let trimmed = segment.strip_suffix(b"=").unwrap_or(segment);
    let Ok(bytes) = engine.decode(trimmed) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("alg").map(serde_json::Value::is_string))
        .unwrap_or(false)
}

/// Shannon entropy in bits per byte.
pub(crate) fn entropy(s: &[u8]) -> f32 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let len = s.len() as f32;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = c as f32 / len;
            -p * p.log2()
        })
        .sum()
}

/// Whether a secret-looking value has entropy and a mix of character kinds.
pub(crate) fn high_entropy(s: &[u8]) -> bool {
    let kinds = [
        s.iter().any(u8::is_ascii_lowercase),
        s.iter().any(u8::is_ascii_uppercase),
        s.iter().any(u8::is_ascii_digit),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    s.len() >= 16 && kinds >= 2 && entropy(s) >= 3.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_valid_and_rejects_off_by_one() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"4111 1111 1111 1111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(luhn(b"378282246310005"));
    }

    #[test]
    fn issuers() {
        assert!(card_issuer(b"4111111111111111"));
        assert!(card_issuer(b"5555555555554444"));
        assert!(card_issuer(b"2223003122003222"));
        assert!(card_issuer(b"378282246310005"));
        assert!(card_issuer(b"6011111111111117"));
        assert!(card_issuer(b"3530111333300000"));
        assert!(!card_issuer(b"1234567812345670"));
        assert!(!card_issuer(b"411111111111111"));
        // Maestro from 12 digits, 50 and 56–69 only.
        assert!(card_issuer(b"675964982648"));
        assert!(card_issuer(b"500000000009"));
        assert!(!card_issuer(b"510000000008"));
        assert!(!card_issuer(b"550000000004"));
        assert!(!card_issuer(b"67596498264"));
        assert!(!card_issuer(b"400000000002"));
        // 15-digit JCB.
        assert!(card_issuer(b"180000000000002"));
        assert!(card_issuer(b"213112345678904"));
        assert!(!card_issuer(b"1800000000000002"));
        assert!(!card_issuer(b"213200000000000"));
    }

    #[test]
    fn iban_mod97() {
        assert!(mod97(b"GB82WEST12345698765432"));
        assert!(mod97(b"DE89370400440532013000"));
        assert!(!mod97(b"GB83WEST12345698765432"));
        assert_eq!(iban_length(b"GB"), Some(22));
        assert_eq!(iban_length(b"US"), None);
    }

    #[test]
    fn aba_checksum() {
        assert!(aba(b"021000021"));
        assert!(aba(b"011401533"));
        assert!(!aba(b"021000022"));
        assert!(!aba(b"000000000"));
    }

    #[test]
    fn ssn_and_nino_rules() {
        assert!(ssn(123, 45, 6789));
        assert!(!ssn(666, 45, 6789));
        assert!(!ssn(900, 45, 6789));
        assert!(!ssn(123, 0, 6789));
        assert!(!ssn(123, 45, 0));
        assert!(nino(*b"AB", b'C'));
        assert!(!nino(*b"GB", b'C'));
        assert!(!nino(*b"DA", b'C'));
        assert!(!nino(*b"AB", b'E'));
    }

    #[test]
    fn jwt_and_entropy() {
        assert!(jwt_header(b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"));
        assert!(!jwt_header(b"eyJ0eXAiOiJKV1QifQ"));
        assert!(high_entropy(b"q8Zr2LmX0vT7bYw4Kp1N"));
        assert!(!high_entropy(b"aaaaaaaaaaaaaaaaaaaa"));
        assert!(!high_entropy(b"short1A"));
    }
}
