//! Canonical JSON (RFC 8785, JCS) writing: the byte form that gets hashed.

use serde_json::Value;

use crate::hash::sha256_hex;

/// Appends `s` as a JSON string escaped the RFC 8785 way: `"` and `\` escaped,
/// `\b \t \n \f \r` in their short forms, other characters below U+0020 as
/// `\u00xx` (lowercase hex), everything else as itself in UTF-8.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends an integer in plain decimal.
pub(crate) fn write_int(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{n}");
}

/// The canonical JSON (RFC 8785) of any JSON value: object members sorted by
/// the UTF-16 code units of their names, no insignificant whitespace, strings
/// escaped minimally, numbers in the ECMAScript shortest form — integers
/// beyond 2^53 too, through the nearest double, as any RFC 8785
/// implementation computes them (the gateway refuses such numbers in
/// arguments, so that two values never share a digest).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out
}

/// The lowercase hex SHA-256 of [`canonical_json`]: what
/// [`AuditRecord::args_digest`](crate::AuditRecord::args_digest) and
/// `result_digest` hold.
pub fn json_digest(value: &Value) -> String {
    sha256_hex(&canonical_json(value))
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            const EXACT: u64 = 1 << 53;
            if let Some(u) = n.as_u64().filter(|u| *u <= EXACT) {
                write_int(out, u);
            } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= EXACT) {
                write_int(out, i);
            } else if let Some(f) = n.as_f64() {
                write_float(out, f);
            } else {
                out.extend_from_slice(n.to_string().as_bytes());
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// ECMAScript `Number.prototype.toString` for a finite double, as RFC 8785
/// requires: shortest round-trip digits, plain notation for exponents in
/// [-7, 21), scientific (`1e+21`, `1.5e-7`) outside.
fn write_float(out: &mut Vec<u8>, f: f64) {
    if f == 0.0 || !f.is_finite() {
        out.push(b'0');
        return;
    }
    if f < 0.0 {
        out.push(b'-');
    }
    // Rust's `{:e}` prints the shortest round-trip digits: `d[.ddd]e[-]x`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i64;
    let n = exponent + 1; // position of the decimal point after the first digit
    let text = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let sign = if n > 0 { '+' } else { '-' };
        let rest = if k > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        format!("{}{rest}e{sign}{}", &digits[..1], (n - 1).abs())
    };
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: &Value) -> String {
        String::from_utf8_lossy(&canonical_json(value)).into_owned()
    }

    #[test]
    fn strings_are_escaped_minimally() {
        let s = "q\"b\\\u{8}\t\n\u{c}\r\u{1}\u{1f}\u{7f}é€😀\u{2028}/";
        assert_eq!(
            text(&json!(s)),
            "\"q\\\"b\\\\\\b\\t\\n\\f\\r\\u0001\\u001f\u{7f}é€😀\u{2028}/\""
        );
    }

    #[test]
    fn numbers_follow_ecmascript() {
        // Cases from RFC 8785 Appendix B and the ES number-to-string rules.
        for (value, want) in [
            (json!(0), "0"),
            (json!(-0.0), "0"),
            (json!(1.0), "1"),
            (json!(-1.5), "-1.5"),
            (json!(1e21), "1e+21"),
            (json!(1e20), "100000000000000000000"),
            (json!(123456789.5), "123456789.5"),
            (json!(0.000001), "0.000001"),
            (json!(1e-7), "1e-7"),
            (json!(5e-324), "5e-324"),
            (json!(1.7976931348623157e308), "1.7976931348623157e+308"),
            (json!(333333333.3333333), "333333333.3333333"),
            (json!(u64::MAX), "18446744073709552000"),
            (json!(9_007_199_254_740_993_u64), "9007199254740992"),
            (json!(9_007_199_254_740_992_u64), "9007199254740992"),
            (json!(-9_007_199_254_740_993_i64), "-9007199254740992"),
            (json!(i64::MIN), "-9223372036854776000"),
        ] {
            assert_eq!(text(&value), want, "{value}");
        }
    }

    #[test]
    fn members_sort_by_utf16_code_units() {
        // RFC 8785 §3.2.3: U+FB33 sorts after U+1F600 (a surrogate pair) in UTF-16.
        let value =
            json!({"\u{fb33}": 1, "\u{1f600}": 2, "b": [true, null], "a": {"y": 1, "x": "z"}});
        assert_eq!(
            text(&value),
            "{\"a\":{\"x\":\"z\",\"y\":1},\"b\":[true,null],\"\u{1f600}\":2,\"\u{fb33}\":1}"
        );
    }
}
