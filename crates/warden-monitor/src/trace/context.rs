//! W3C Trace Context: the `traceparent` header, parsed and written.

use crate::trace::TraceError;

/// A span's place in a trace: the trace id, the span id and whether the
/// trace is sampled, as a `traceparent` header carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace id (16 bytes, never all zero).
    pub trace_id: [u8; 16],
    /// The span id (8 bytes, never all zero).
    pub span_id: [u8; 8],
    /// The `sampled` flag.
    pub sampled: bool,
}

impl TraceContext {
    /// Parses a `traceparent` header value (W3C Trace Context, level 1):
    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. A later
    /// version is read as far as version 00 goes, as the specification asks;
    /// version `ff`, upper-case hex and all-zero ids are refused.
    pub fn parse(header: &str) -> Result<Self, TraceError> {
        let bad = |why: &'static str| TraceError::Traceparent {
            value: header.chars().take(64).collect(),
            why,
        };
        let value = header.trim();
        if !value.is_ascii() {
            return Err(bad("it is not ASCII"));
        }
        let bytes = value.as_bytes();
        if bytes.len() < 55 {
            return Err(bad("it is shorter than 55 characters"));
        }
        let version = hex_bytes::<1>(&value[..2]).ok_or_else(|| bad("the version is not hex"))?;
        match version[0] {
            0xff => return Err(bad("version `ff` is invalid")),
            0x00 if bytes.len() != 55 => return Err(bad("version 00 has exactly 55 characters")),
            _ if bytes.len() > 55 && bytes[55] != b'-' => {
                return Err(bad("fields after the flags must follow a `-`"));
            }
            _ => {}
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return Err(bad("the fields are not separated by `-`"));
        }
        let trace_id = hex_bytes::<16>(&value[3..35])
            .ok_or_else(|| bad("the trace id is not lowercase hex"))?;
        let span_id = hex_bytes::<8>(&value[36..52])
            .ok_or_else(|| bad("the span id is not lowercase hex"))?;
        let flags = hex_bytes::<1>(&value[53..55]).ok_or_else(|| bad("the flags are not hex"))?;
        if trace_id == [0; 16] {
            return Err(bad("the trace id is all zero"));
        }
        if span_id == [0; 8] {
            return Err(bad("the span id is all zero"));
        }
        Ok(Self {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
        })
    }

    /// A new span's context: in `parent`'s trace (and sampling) when there
    /// is one, else in a new trace, sampled.
    pub fn child_of(parent: Option<&TraceContext>) -> Self {
        Self {
            trace_id: parent.map_or_else(random_id::<16>, |p| p.trace_id),
            span_id: random_id::<8>(),
            sampled: parent.is_none_or(|p| p.sampled),
        }
    }

    /// The `traceparent` header value naming this span as the parent.
    pub fn to_header(&self) -> String {
        format!(
            "00-{}-{}-{}",
            hex(&self.trace_id),
            hex(&self.span_id),
            if self.sampled { "01" } else { "00" }
        )
    }

    /// The trace id as 32 lowercase hex digits.
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `N` bytes from exactly `2N` lowercase hex digits.
fn hex_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// A random id, never all zero.
fn random_id<const N: usize>() -> [u8; N] {
    loop {
        let mut id = [0u8; N];
        rand::Rng::fill(&mut rand::thread_rng(), &mut id[..]);
        if id != [0; N] {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let c = TraceContext::parse(GOOD).unwrap();
        assert_eq!(c.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(c.span_id, [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
        assert!(c.sampled);
        assert_eq!(c.to_header(), GOOD);
        let unsampled = TraceContext::parse(&GOOD.replace("-01", "-00")).unwrap();
        assert!(!unsampled.sampled);
    }

    #[test]
    fn a_later_version_is_read_as_far_as_version_00_goes() {
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next";
        assert_eq!(
            TraceContext::parse(later).unwrap().trace_id,
            TraceContext::parse(GOOD).unwrap().trace_id
        );
        assert!(TraceContext::parse(&format!("01{}x", &GOOD[2..])).is_err());
    }

    #[test]
    fn invalid_values_are_refused() {
        for (value, why) in [
            ("", "shorter"),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0é",
                "ASCII",
            ),
            (
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "`ff`",
            ),
            (
                "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "version",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
                "exactly 55",
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "trace id is all zero",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                "span id is all zero",
            ),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "lowercase",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bg-01",
                "span id",
            ),
            (
                "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "separated",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
                "flags",
            ),
        ] {
            let e = TraceContext::parse(value).unwrap_err().to_string();
            assert!(e.contains(why), "{value}: {e}");
        }
    }

    #[test]
    fn a_child_keeps_the_trace_and_gets_a_new_span() {
        let parent = TraceContext::parse(GOOD).unwrap();
        let child = TraceContext::child_of(Some(&parent));
        assert_eq!(child.trace_id, parent.trace_id);
        assert_ne!(child.span_id, parent.span_id);
        let root = TraceContext::child_of(None);
        assert_ne!(root.trace_id, [0; 16]);
        assert!(root.sampled);
        assert_eq!(TraceContext::parse(&root.to_header()).unwrap(), root);
    }
}
