//! What `serde_json` lets through and a policy must not see: an object with
//! the same key twice (serde keeps the last; another parser may take the
//! first, so the tool could act on a value Warden never judged), and a number
//! whose value a 64-bit float cannot hold (`10000.000000000001` reads as
//! `10000.0` and passes `<= 10000`). A request holding either is refused.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The first reason `body` cannot be judged as written, if any: a repeated
/// key or an inexact number. Text that is not JSON gives `None` (the parser
/// reports it, with its position).
///
/// ```
/// assert!(warden_mcp::strict::ambiguity(br#"{"to": "a@example.com", "to": "x@evil.test"}"#).is_some());
/// assert!(warden_mcp::strict::ambiguity(br#"{"amount": 10000.000000000001}"#).is_some());
/// assert!(warden_mcp::strict::ambiguity(br#"{"amount": 98.7}"#).is_none());
/// ```
pub fn ambiguity(body: &[u8]) -> Option<String> {
    if let Some(number) = inexact_number(body) {
        return Some(format!(
            "number `{number}` cannot be represented exactly: write at most 15 significant digits"
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match Unique.deserialize(&mut de) {
        Ok(()) => None,
        // Not JSON at all: the body parser says where.
        Err(e) if e.is_syntax() || e.is_eof() => None,
        Err(e) => Some(e.to_string()),
    }
}

/// Walks a JSON value, refusing an object that repeats a key.
struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Unique)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Keys borrowed from the body where they hold no escape: no
        // allocation per key on the decision path.
        let mut seen: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(KeyText(key)) = map.next_key_seed(KeySeed)? {
            if seen.contains(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format!(
                    "key `{shown}` appears twice in one object"
                )));
            }
            seen.insert(key);
            map.next_value_seed(Unique)?;
        }
        Ok(())
    }
}

/// The first number token of `body` whose value a 64-bit float cannot hold,
/// if any (the half of [`ambiguity`] that a [`StrictValue`] leaves out).
pub fn inexact(body: &[u8]) -> Option<String> {
    inexact_number(body).map(|number| {
        format!(
            "number `{number}` cannot be represented exactly: write at most 15 significant digits"
        )
    })
}

/// What the error of a [`StrictValue`] holding a repeated key says.
pub const REPEATED_KEY: &str = "appears twice in one object";

/// A JSON value that refuses an object repeating a key *while it is parsed*:
/// one pass instead of parsing and then walking the text again. With
/// [`inexact`], a body whose free-form values are all `StrictValue`s (serde's
/// derive already refuses a struct field given twice) is judged as
/// [`ambiguity`] would judge it.
///
/// ```
/// use warden_mcp::strict::StrictValue;
/// assert!(serde_json::from_str::<StrictValue>(r#"{"a": {"to": 1, "to": 2}}"#).is_err());
/// let v: StrictValue = serde_json::from_str(r#"{"a": [1, {"b": "c"}]}"#).unwrap();
/// assert_eq!(v.0["a"][1]["b"], "c");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrictValue(pub serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Building).map(StrictValue)
    }
}

/// Builds a [`serde_json::Value`], refusing a repeated key.
struct Building;

impl<'de> DeserializeSeed<'de> for Building {
    type Value = serde_json::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<serde_json::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Building {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<serde_json::Value, E> {
        Ok(serde_json::Number::from_f64(v)
            .map_or(serde_json::Value::Null, serde_json::Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<serde_json::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(Building)? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<serde_json::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Building)?;
            match out.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(slot) => {
                    let shown: String = slot.key().chars().take(64).collect();
                    return Err(de::Error::custom(format!("key `{shown}` {REPEATED_KEY}")));
                }
            }
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// A key's text, borrowed when it can be.
struct KeyText<'de>(Cow<'de, str>);

/// Reads a key as [`KeyText`].
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = KeyText<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<KeyText<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = KeyText<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<KeyText<'de>, E> {
        Ok(KeyText(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<KeyText<'de>, E> {
        Ok(KeyText(Cow::Owned(v.to_owned())))
    }
}

/// The first number token of a JSON text whose value does not survive a
/// round trip through `f64`, compared by value (`1.50` and `1.5e0` are fine).
fn inexact_number(body: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                // To the closing quote, stepping over escapes; a string is
                // most of a body, so its bytes are skipped in bulk.
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', body.get(i..).unwrap_or_default()) {
                        Some(at) if body[i + at] == b'"' => {
                            i += at;
                            break;
                        }
                        Some(at) => i += at + 2,
                        None => {
                            i = body.len();
                            break;
                        }
                    }
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < body.len()
                    && matches!(body[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let token = std::str::from_utf8(&body[start..i]).ok()?;
                if !exact(token) {
                    return Some(token.chars().take(64).collect());
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether `token` (a JSON number) is exactly the value its nearest `f64`
/// prints as: both written as digits and a decimal exponent, then compared.
fn exact(token: &str) -> bool {
    if short(token) {
        return true;
    }
    let Ok(value) = token.parse::<f64>() else {
        return false;
    };
    if !value.is_finite() {
        return false;
    }
    // Integers up to 2^53 are exact in a double, as in every JSON parser.
    const EXACT: u64 = 1 << 53;
    if let Ok(i) = token.parse::<i64>() {
        return i.unsigned_abs() <= EXACT;
    }
    decimal(token) == decimal(&format!("{value:e}"))
}

/// Whether `token` (a JSON number) has at most 15 significant digits and a
/// magnitude well inside the normal range of `f64` (explicit exponent of at
/// most 250, mantissa of at most 40 characters): every such decimal is the
/// value its nearest `f64` prints as (15 is `f64`'s `DIGITS`), so the
/// comparison [`exact`] makes is known without making it. Counts leading
/// zeros of a fraction as not significant and trailing zeros as significant
/// (erring towards the full comparison).
fn short(token: &str) -> bool {
    let text = token.strip_prefix('-').unwrap_or(token);
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(p) => (&text[..p], &text[p + 1..]),
        None => (text, ""),
    };
    let exponent = exponent.trim_start_matches(['+', '-']);
    if mantissa.len() > 40
        || exponent.len() > 3
        || exponent
            .parse::<u16>()
            .map_or(!exponent.is_empty(), |e| e > 250)
    {
        return false;
    }
    let significant = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .skip_while(|&b| b == b'0')
        .count();
    significant <= 15
}

/// (negative, significant digits without leading or trailing zeros, exponent
/// of the last digit): a canonical decimal form.
fn decimal(text: &str) -> (bool, String, i64) {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(p) => (&text[..p], text[p + 1..].parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = format!("{whole}{fraction}");
    let mut exponent = exponent - i64::try_from(fraction.len()).unwrap_or(0);
    while digits.ends_with('0') && digits.len() > 1 {
        digits.pop();
        exponent += 1;
    }
    let digits = digits.trim_start_matches('0').to_owned();
    if digits.is_empty() {
        return (false, "0".to_owned(), 0);
    }
    (negative, digits, exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_lose_precision_are_found() {
        for bad in [
            r#"{"amount": 10000.000000000001}"#,
            r#"{"amount": 5000.00000000000000001}"#,
            r#"{"a": [1, 2, 123456789012345678901234567890]}"#,
            r#"{"amount": 1e400}"#,
            r#"{"id": 9007199254740993}"#,
            r#"{"id": 18446744073709551615}"#,
        ] {
            assert!(ambiguity(bad.as_bytes()).is_some(), "{bad}");
        }
        for good in [
            r#"{"amount": 98.7, "n": -5, "big": 9007199254740992, "e": 1.5e3, "z": 0.0, "s": "10000.000000000001"}"#,
            r#"{"amount": 10000.00, "x": 1E-7, "y": 0.1}"#,
        ] {
            assert_eq!(ambiguity(good.as_bytes()), None, "{good}");
        }
    }

    #[test]
    fn the_short_path_agrees_with_the_full_comparison() {
        let mut tokens = vec![
            "0",
            "-0",
            "0.0",
            "98.7",
            "1e-7",
            "1E+7",
            "0.000000000000001",
            "123456789012345",
            "1234567890123456",
            "0.1234567890123456",
            "9.99999999999999e250",
            "1e251",
            "1e-250",
            "1e-300",
            "4.9e-324",
            "100000000000000000000",
            "1.5e3",
            "00.5",
        ];
        let generated: Vec<String> = (0..20_000u64)
            .map(|i| {
                let digits = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % 10u64.pow(1 + (i % 17) as u32);
                let point = (i / 7) % 18;
                let text = digits.to_string();
                let text = if (point as usize) < text.len() {
                    format!("{}.{}", &text[..point as usize], &text[point as usize..])
                } else {
                    text
                };
                let text = text
                    .strip_prefix('.')
                    .map_or(text.clone(), |t| format!("0.{t}"));
                match i % 5 {
                    0 => format!("{text}e{}", (i / 5) % 320),
                    1 => format!("-{text}E-{}", (i / 5) % 320),
                    _ => text,
                }
            })
            .collect();
        tokens.extend(generated.iter().map(String::as_str));
        for token in tokens {
            if short(token) {
                let value: f64 = token.parse().unwrap_or(f64::NAN);
                assert!(
                    value.is_finite() && decimal(token) == decimal(&format!("{value:e}")),
                    "{token}"
                );
            }
        }
        assert!(short("98.7") && short("123456789012345") && !short("1234567890123456"));
        assert!(!short("1e251") && !short("1e-300") && short("1e-250"));
    }

    #[test]
    fn repeated_keys_are_found_at_any_depth() {
        for bad in [
            r#"{"to": "a@example.com", "to": "x@evil.test"}"#,
            r#"{"args": {"x": 1, "y": {"k": 1, "k": 2}}}"#,
            r#"[{"a": 1}, {"b": 1, "\u0062": 2}]"#,
        ] {
            let why = ambiguity(bad.as_bytes()).unwrap_or_default();
            assert!(why.contains("appears twice"), "{bad}: {why}");
        }
        assert_eq!(ambiguity(br#"{"a": {"k": 1}, "b": {"k": 1}}"#), None);
        assert_eq!(
            ambiguity(b"{not json"),
            None,
            "syntax errors are the parser's to report"
        );
    }
}
