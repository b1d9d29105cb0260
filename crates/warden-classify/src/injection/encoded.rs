//! Base64 payloads that decode to an instruction or a role marker.
//!
//! Runs of at least 24 base64 characters are found by probing every 24th
//! byte (a run that long must cover a probe), so prose costs a few byte
//! checks per word. A run is decoded only if its first bytes decode to
//! printable UTF-8: images, keys and hashes stop there.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::{Hit, InjectionKind};

/// The shortest run looked at: 18 decoded bytes, about three words.
const MIN_RUN: usize = 24;
/// The longest run decoded.
const MAX_RUN: usize = 64 * 1024;

/// Which bytes belong to the standard or URL-safe base64 alphabet.
const BASE64: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
        c += 1;
    }
    table
};

fn base64_char(c: u8) -> bool {
    BASE64[usize::from(c)]
}

/// The runs of at least [`MIN_RUN`] base64 characters in `b`.
fn runs(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    // Everything before `q` is done, and `b[q - 1]` ends a run (or q is 0).
    let mut q = 0;
    while let Some(&c) = b.get(q + MIN_RUN - 1) {
        let probe = q + MIN_RUN - 1;
        if !base64_char(c) {
            q = probe + 1;
            continue;
        }
        let head = &b[q..probe];
        let s = head
            .iter()
            .rposition(|c| !base64_char(*c))
            .map_or(q, |k| q + k + 1);
        let e = probe
            + 1
            + b[probe + 1..]
                .iter()
                .position(|c| !base64_char(*c))
                .unwrap_or(b.len() - probe - 1);
        if e - s >= MIN_RUN {
            out.push((s, e));
        }
        q = e + 1;
    }
    out
}

fn engine(url_safe: bool) -> GeneralPurpose {
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    GeneralPurpose::new(
        if url_safe {
            &alphabet::URL_SAFE
        } else {
            &alphabet::STANDARD
        },
        config,
    )
}

/// Whether decoded bytes read as text: valid UTF-8 (a cut character at the
/// end allowed) and at most a tenth control characters.
fn printable(bytes: &[u8]) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) if bytes.len() - e.valid_up_to() < 4 && e.error_len().is_none() => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    let total = valid.chars().count();
    let control = valid
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    total > 0 && control * 10 <= total
}

/// Appends an encoded-payload flag for each base64 run whose decoded text
/// holds an instruction, a role marker or hidden markup.
pub(super) fn scan(text: &str, out: &mut Vec<Hit>) {
    let b = text.as_bytes();
    for (s, e) in runs(b) {
        let run = &b[s..e.min(s + MAX_RUN)];
        let kinds = [
            run.iter().any(u8::is_ascii_lowercase),
            run.iter().any(u8::is_ascii_uppercase),
            run.iter().any(u8::is_ascii_digit),
        ];
        if kinds.iter().filter(|k| **k).count() < 2 {
            continue;
        }
        let engine = engine(run.iter().any(|c| matches!(c, b'-' | b'_')));
        let head = &run[..run.len().min(32) / 4 * 4];
        if !engine.decode(head).is_ok_and(|d| printable(&d)) {
            continue;
        }
        let usable = if run.len() % 4 == 1 {
            &run[..run.len() - 1]
        } else {
            run
        };
        let Ok(decoded) = engine.decode(usable) else {
            continue;
        };
        let decoded = String::from_utf8_lossy(&decoded);
        let inner = super::hits(&decoded, false);
        let Some(best) = inner
            .iter()
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        else {
            continue;
        };
        let shown = best.excerpt.clone().unwrap_or_else(|| {
            super::excerpt(decoded.get(best.start..best.end).unwrap_or_default())
        });
        let mut end = e;
        while end < b.len() && end < e + 2 && b[end] == b'=' {
            end += 1;
        }
        out.push(Hit {
            kind: InjectionKind::EncodedPayload,
            start: s,
            end,
            confidence: best.confidence.min(0.95),
            excerpt: Some(format!("base64: {shown}")),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_found_wherever_they_start() {
        let text = "word aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ= and x".as_bytes();
        assert_eq!(runs(text), [(5, 36)]);
        let long = "b".repeat(30);
        for pad in 0..30 {
            let t = format!("{} {long} end", "a ".repeat(pad));
            assert_eq!(runs(t.as_bytes()).len(), 1, "{t}");
        }
        assert!(runs(b"short words only, nothing long here at all.").is_empty());
    }
}
