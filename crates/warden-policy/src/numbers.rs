//! Fixed-point numbers: how JSON numbers reach Cedar conditions.
//!
//! Cedar has 64-bit integers and no floats. Warden scales every number a
//! condition can see — JSON arguments, session counters, and every numeric
//! literal written in a condition — by [`SCALE`] (10,000, four decimal places,
//! like Cedar's `decimal`). Because both sides of a comparison are scaled, a
//! condition compares numbers as written: `context.args.amount <= 10000` holds
//! for `98.7` (987000 ≤ 100000000) as for `98`. Addition and subtraction keep
//! working; multiplication would scale twice and is refused at load.
//!
//! A number that cannot be represented exactly (more than four decimals, or
//! beyond ±922 trillion) is left out of the context, so a condition reading it
//! errors — and an error denies.

/// The fixed-point scale: numbers are stored as `value * SCALE`.
pub const SCALE: i64 = 10_000;

/// The number of decimal places [`SCALE`] keeps.
pub const DECIMALS: u32 = 4;

/// Why a number cannot be represented in fixed point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// More decimal places than [`DECIMALS`].
    #[error("`{0}` has more than 4 decimal places")]
    TooPrecise(String),
    /// Outside the representable range.
    #[error("`{0}` is outside the range conditions can compare (±922337203685477)")]
    OutOfRange(String),
    /// Not a number at all.
    #[error("`{0}` is not a number")]
    NotANumber(String),
}

/// Scales a decimal literal such as `98.7`, `-5`, `1e3` or `2.5E-2`.
pub fn scale_decimal(text: &str) -> Result<i64, NumberError> {
    let bad = || NumberError::NotANumber(text.to_owned());
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => {
            let exp: i32 = body[i + 1..].parse().map_err(|_| bad())?;
            (&body[..i], exp)
        }
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // digits * 10^(exponent - frac_len) * SCALE = digits * 10^(exponent - frac_len + 4)
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let shift = i64::from(exponent) - frac_part.len() as i64 + i64::from(DECIMALS);
    let mut value: i128 = 0;
    let (kept, dropped) = if shift >= 0 {
        (digits, "")
    } else {
        let cut = digits.len().saturating_sub(shift.unsigned_abs() as usize);
        digits.split_at(cut)
    };
    if dropped.bytes().any(|b| b != b'0') {
        return Err(NumberError::TooPrecise(text.to_owned()));
    }
    for b in kept.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .filter(|v| *v <= i128::from(i64::MAX))
            .ok_or_else(|| NumberError::OutOfRange(text.to_owned()))?;
    }
    if shift > 0 {
        for _ in 0..shift {
            value = value
                .checked_mul(10)
                .filter(|v| *v <= i128::from(i64::MAX))
                .ok_or_else(|| NumberError::OutOfRange(text.to_owned()))?;
        }
    }
    let value = if negative { -value } else { value };
    i64::try_from(value).map_err(|_| NumberError::OutOfRange(text.to_owned()))
}

/// Scales a JSON number.
pub fn scale_json(number: &serde_json::Number) -> Result<i64, NumberError> {
    if let Some(i) = number.as_i64() {
        return i
            .checked_mul(SCALE)
            .ok_or_else(|| NumberError::OutOfRange(i.to_string()));
    }
    if let Some(u) = number.as_u64() {
        return Err(NumberError::OutOfRange(u.to_string()));
    }
    // serde_json prints floats in their shortest round-trip form, which is the
    // number as written for any value a person types.
    scale_decimal(&number.to_string())
}

/// Scales an integer count (session counters and the like).
pub fn scale_count(count: u64) -> i64 {
    i64::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(SCALE))
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_scale_exactly() {
        assert_eq!(scale_decimal("98.7"), Ok(987_000));
        assert_eq!(scale_decimal("10000"), Ok(100_000_000));
        assert_eq!(scale_decimal("-5"), Ok(-50_000));
        assert_eq!(scale_decimal("0.0001"), Ok(1));
        assert_eq!(scale_decimal("1e3"), Ok(10_000_000));
        assert_eq!(scale_decimal("2.5E-2"), Ok(250));
        assert_eq!(scale_decimal("1.50000"), Ok(15_000));
        assert_eq!(scale_decimal("007"), Ok(70_000));
    }

    #[test]
    fn precision_and_range_are_refused_not_rounded() {
        assert!(matches!(
            scale_decimal("0.00001"),
            Err(NumberError::TooPrecise(_))
        ));
        assert!(matches!(
            scale_decimal("1e300"),
            Err(NumberError::OutOfRange(_))
        ));
        assert!(matches!(
            scale_decimal("abc"),
            Err(NumberError::NotANumber(_))
        ));
        assert!(matches!(
            scale_decimal("."),
            Err(NumberError::NotANumber(_))
        ));
    }

    #[test]
    fn json_numbers_compare_as_written() {
        let n: serde_json::Number = serde_json::from_str("98.7").unwrap();
        let limit = scale_decimal("10000").unwrap();
        assert!(scale_json(&n).unwrap() <= limit);
        let n: serde_json::Number = serde_json::from_str("10000.0001").unwrap();
        assert!(scale_json(&n).unwrap() > limit);
        let n: serde_json::Number = serde_json::from_str("18446744073709551615").unwrap();
        assert!(scale_json(&n).is_err());
    }
}
