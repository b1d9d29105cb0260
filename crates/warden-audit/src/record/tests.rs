use serde_json::json;

use super::*;
use crate::canonical::canonical_json;

/// The worked example of `docs/audit-format.md`.
fn worked_example() -> AuditRecord {
    let mut record = AuditRecord::new(0, 1_767_225_600_000, RecordKind::Decision, "mcp_stdio");
    record.agent = Some("spiffe://example.org/agent/invoice-bot/1".into());
    record.server = Some("accounting".into());
    record.tool = Some("schedule_payment".into());
    record.operation = Some("write".into());
    record.args_digest = Some(AuditRecord::args_digest(
        &json!({"amount": 98.7, "payee": "ACME"}),
    ));
    record.decision = Some("allow".into());
    record.policies = vec!["invoice-bot/schedule_payment".into()];
    record.classes = vec!["financial".into()];
    record.latency_us = Some(412);
    record
}

const WORKED_EXAMPLE: &str = "{\"agent\":\"spiffe://example.org/agent/invoice-bot/1\",\"args_digest\":\"ARGS\",\"classes\":[\"financial\"],\"decision\":\"allow\",\"index\":0,\"interception\":\"mcp_stdio\",\"kind\":\"decision\",\"latency_us\":412,\"operation\":\"write\",\"policies\":[\"invoice-bot/schedule_payment\"],\"reasons\":[],\"server\":\"accounting\",\"time_ms\":1767225600000,\"tool\":\"schedule_payment\",\"version\":1}";

#[test]
fn worked_example_matches_the_documentation() {
    let record = worked_example();
    let args = record.args_digest.clone().unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(&canonical_json(&json!({"amount": 98.7, "payee": "ACME"}))),
        r#"{"amount":98.7,"payee":"ACME"}"#
    );
    assert_eq!(
        args,
        "2c8054dc1e29ac6c866aab3018777dd6745f352e997d6135b8a720a39bb0ecc1"
    );
    let text = String::from_utf8_lossy(&record.encode()).into_owned();
    assert_eq!(text, WORKED_EXAMPLE.replace("ARGS", &args));
    assert_eq!(
        hex::encode(record.leaf_hash()),
        "e7ea0ef541d7805da181c8ce04a8c5daec3a5f959d3ccc0ea72498e6107ed5e4"
    );
}

fn full_record() -> AuditRecord {
    let mut record = worked_example();
    record.index = 42;
    record.time_ms = -5;
    record.kind = RecordKind::Approval;
    record.policy_digest = Some("abc".into());
    record.reasons = vec!["amount \"large\"\n".into(), "é\u{1}".into()];
    record.result_digest = Some("def".into());
    record.approval = Some(ApprovalInfo {
        id: "ap-1".into(),
        by: "alice@example.com".into(),
        at_ms: 7,
    });
    record.payload_digest = Some("0".repeat(64));
    record.erases = Some(3);
    record.note = Some("note".into());
    record.decision_id = Some("d-1".into());
    record.args_shape = vec!["amount:number".into(), "payee:string:pii.contact".into()];
    record
}

#[test]
fn encoding_equals_generic_canonical_json_of_the_serde_form() {
    for record in [
        worked_example(),
        full_record(),
        AuditRecord::new(0, 0, RecordKind::Erasure, ""),
        AuditRecord::new(1, 0, RecordKind::Tool, "mcp_http"),
    ] {
        let value = serde_json::to_value(&record).unwrap_or_default();
        assert_eq!(record.encode(), canonical_json(&value));
        assert_eq!(AuditRecord::decode(&record.encode()).ok(), Some(record));
    }
}

#[test]
fn non_canonical_encodings_are_rejected() {
    let canonical = String::from_utf8_lossy(&full_record().encode()).into_owned();
    assert!(AuditRecord::decode(canonical.as_bytes()).is_ok());
    let variants = [
        canonical.replacen("{", "{ ", 1),
        format!("{canonical}\n"),
        format!(" {canonical}"),
        canonical.replacen("\"agent\"", "\"agent\" ", 1),
        canonical.replacen(",\"version\":1}", ",\"version\":1,\"extra\":1}", 1),
        canonical.replacen("{", "{\"tool2\":null,", 1),
        canonical.replacen("\"note\":\"note\"", "\"note\":\"not\\u0065\"", 1),
        canonical.replacen("\\u0001", "\\u0001".to_uppercase().as_str(), 1),
        canonical.replacen("é", "\\u00e9", 1),
        canonical.replacen("\"index\":42", "\"index\":42.0", 1),
        canonical.replacen("\"index\":42", "\"index\":042", 1),
        canonical.replacen("\"index\":42", "\"index\":4.2e1", 1),
        canonical.replacen("\"version\":1", "\"version\":2", 1),
        canonical.replacen("\"kind\":\"approval\"", "\"kind\":\"Approval\"", 1),
        // Members out of order.
        canonical
            .replacen(
                "\"agent\":\"spiffe://example.org/agent/invoice-bot/1\",",
                "",
                1,
            )
            .replacen(
                "\"version\":1}",
                "\"version\":1,\"agent\":\"spiffe://example.org/agent/invoice-bot/1\"}",
                1,
            ),
        // A duplicated member.
        canonical.replacen("{", "{\"agent\":\"x\",", 1),
        // An explicit null.
        AuditRecord::new(0, 0, RecordKind::Decision, "cli")
            .encode()
            .iter()
            .map(|&b| b as char)
            .collect::<String>()
            .replacen("{", "{\"agent\":null,", 1),
    ];
    for variant in variants {
        assert_ne!(variant, canonical);
        assert!(
            AuditRecord::decode(variant.as_bytes()).is_err(),
            "accepted {variant}"
        );
    }
}

#[test]
fn decode_rejects_garbage_without_panicking() {
    for bytes in [
        &b""[..],
        b"null",
        b"[]",
        b"{",
        b"\xff\xfe",
        b"{\"version\":1}",
    ] {
        assert!(AuditRecord::decode(bytes).is_err());
    }
}

proptest::proptest! {
    #[test]
    fn any_strings_round_trip(
        agent in proptest::option::of(".*"),
        note in proptest::option::of("\\PC*"),
        reasons in proptest::collection::vec(proptest::string::string_regex("[\\x00-\\x7f]*").unwrap_or_else(|_| unreachable!()), 0..4),
        // A record's integers (a leaf index, milliseconds since 1970,
        // microseconds) stay below 2^53, where RFC 8785 writes them exactly.
        index in 0..=(1u64 << 53),
        time_ms in -(1i64 << 53)..=(1i64 << 53),
        latency in proptest::option::of(0..=(1u64 << 53)),
    ) {
        let mut record = AuditRecord::new(index, time_ms, RecordKind::Decision, "decision_api");
        record.agent = agent;
        record.note = note;
        record.reasons = reasons;
        record.latency_us = latency;
        let bytes = record.encode();
        proptest::prop_assert!(!bytes.contains(&b'\n'));
        proptest::prop_assert_eq!(AuditRecord::decode(&bytes).ok(), Some(record.clone()));
        let value = serde_json::to_value(&record).unwrap_or_default();
        proptest::prop_assert_eq!(bytes, canonical_json(&value));
    }
}
