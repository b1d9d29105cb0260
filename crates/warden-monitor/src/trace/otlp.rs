//! The OTLP protobuf encoding of spans: an `ExportTraceServiceRequest`
//! (opentelemetry-proto `collector/trace/v1`), written by hand for the few
//! messages Warden sends, so that no code generator or gRPC stack is needed.

use crate::trace::{AttributeValue, Span, SpanKind};

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, u64::from(field) << 3 | u64::from(wire));
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    tag(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A nested message, written by `body` and length-prefixed.
fn message(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    bytes_field(out, field, &inner);
}

/// `AnyValue`: string 1, bool 2, int 3, array 5 (`ArrayValue.values` 1).
fn any_value(out: &mut Vec<u8>, value: &AttributeValue) {
    match value {
        AttributeValue::String(s) => bytes_field(out, 1, s.as_bytes()),
        AttributeValue::Bool(b) => {
            tag(out, 2, VARINT);
            varint(out, u64::from(*b));
        }
        AttributeValue::Int(i) => {
            tag(out, 3, VARINT);
            varint(out, *i as u64);
        }
        AttributeValue::Strings(list) => message(out, 5, |array| {
            for s in list {
                message(array, 1, |v| bytes_field(v, 1, s.as_bytes()));
            }
        }),
    }
}

/// `KeyValue`: key 1, value 2.
fn key_value(out: &mut Vec<u8>, field: u32, key: &str, value: &AttributeValue) {
    message(out, field, |kv| {
        bytes_field(kv, 1, key.as_bytes());
        message(kv, 2, |v| any_value(v, value));
    });
}

/// `Span`: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6,
/// start 7, end 8, attributes 9.
fn span(out: &mut Vec<u8>, span: &Span) {
    message(out, 2, |s| {
        bytes_field(s, 1, &span.context.trace_id);
        bytes_field(s, 2, &span.context.span_id);
        if let Some(parent) = &span.parent_span_id {
            bytes_field(s, 4, parent);
        }
        bytes_field(s, 5, span.name.as_bytes());
        tag(s, 6, VARINT);
        varint(
            s,
            match span.kind {
                SpanKind::Internal => 1,
                SpanKind::Server => 2,
            },
        );
        tag(s, 7, FIXED64);
        s.extend_from_slice(&span.start_unix_nanos.to_le_bytes());
        tag(s, 8, FIXED64);
        s.extend_from_slice(&span.end_unix_nanos.to_le_bytes());
        for (key, value) in &span.attributes {
            key_value(s, 9, key, value);
        }
    });
}

/// The body of `POST /v1/traces`: one resource (`service.name`), one
/// instrumentation scope (`warden`), the spans.
pub(crate) fn export_request(service_name: &str, spans: &[Span]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 * spans.len() + 64);
    message(&mut out, 1, |resource_spans| {
        message(resource_spans, 1, |resource| {
            key_value(
                resource,
                1,
                "service.name",
                &AttributeValue::String(service_name.to_owned()),
            );
        });
        message(resource_spans, 2, |scope_spans| {
            message(scope_spans, 1, |scope| {
                bytes_field(scope, 1, b"warden");
                bytes_field(scope, 2, env!("CARGO_PKG_VERSION").as_bytes());
            });
            for s in spans {
                span(scope_spans, s);
            }
        });
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_base_128() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        out.clear();
        varint(&mut out, (-1i64) as u64);
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn a_string_attribute_is_a_key_value_message() {
        let mut out = Vec::new();
        key_value(&mut out, 9, "k", &AttributeValue::String("v".into()));
        // field 9 LEN, 8 bytes: key "k", value { string_value "v" }
        assert_eq!(out, [0x4a, 8, 0x0a, 1, b'k', 0x12, 3, 0x0a, 1, b'v']);
    }
}
