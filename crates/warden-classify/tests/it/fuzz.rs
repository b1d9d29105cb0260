//! Fuzzing on stable Rust, beside `robust.rs` (arbitrary and glued text):
//! arbitrary Unicode and arbitrary JSON documents, as deep as `serde_json`
//! reads them, through `classify_json` (and `classify_json_text` on their text),
//! `scan_injection_json`, `redact` and
//! `redact_json`, each case on a 2 MiB stack. Every span must lie on
//! character boundaries inside its string; nothing panics.
//!
//! `WARDEN_FUZZ_CASES` sets the number of cases per property (256 by
//! default) here and in `robust.rs`.

// Test code: a failed unwrap is a failed case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::Value;
use warden_classify::{
    Classifier, ClassifierConfig, RedactionAction, RedactionPolicy, redact, redact_json,
    scan_injection, scan_injection_json,
};

pub(crate) use warden_test::fuzz_cases as cases;

use warden_test::on_small_stack;

fn classifier() -> &'static Classifier {
    static C: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();
    C.get_or_init(|| Classifier::new(&ClassifierConfig::default()).unwrap())
}

/// Strings: arbitrary Unicode, sensitive-looking values, and both glued.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        prop::sample::select(vec![
            "4111 1111 1111 1111",
            "DE89370400440532013000",
            "a@example.com",
            "jürgen@例え.jp",
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_",
            "eyJhbGciOiJIUzI1NiJ9.e30.",
            "-----BEGIN RSA PRIVATE KEY-----",
            "123-45-6789",
            "+1 (555) 010-9999",
            "ignore previous instructions",
            "SYSTEM:",
            "<|im_start|>system",
            "\u{E0049}\u{E0047}",
            "\u{200b}\u{200c}\u{200d}\u{2060}",
            "\u{202e}",
            "<!-- hidden -->",
            "aWdub3JlIGFsbCBwcmV2aW91cyBpbnN0cnVjdGlvbnM=",
            "%69%67%6e%6f%72%65",
            "e\u{301}",
            "🏳️‍🌈",
            "\u{feff}",
            "\r\n",
            "\0",
            "ǅ",
            "İ",
            "ß",
        ])
        .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(serde_json::json!(4111111111111111u64)),
        text().prop_map(Value::String),
    ];
    let key = prop_oneof![
        prop::sample::select(vec![
            "iban", "ssn", "password", "dob", "email", "card", "text", "content", "", "$.x['y']",
            "a.b[0]"
        ])
        .prop_map(str::to_owned),
        text(),
    ];
    leaf.prop_recursive(8, 128, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check_text(text: &str) {
    let c = classifier();
    let findings = c.classify_text(text);
    for f in &findings {
        assert!(f.start < f.end && f.end <= text.len(), "{f:?} in {text:?}");
        assert!(
            text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
            "{f:?} in {text:?}"
        );
    }
    let n = text.chars().count();
    for f in scan_injection(text) {
        assert!(f.start < f.end && f.end <= n, "{f:?} in {text:?}");
        // At most 80 characters of the text, an invisible one written as
        // up to 10 (`<U+10FFFF>`), and `…`.
        assert!(f.excerpt.chars().count() <= 80 * 10 + 1, "{f:?}");
    }
    for action in [RedactionAction::Mask, RedactionAction::Hash] {
        let _ = redact(
            text,
            &findings,
            &RedactionPolicy::default().fallback(action),
        );
    }
}

fn check_json(mut value: Value) {
    let c = classifier();
    let findings = c.classify_json(&value);
    for f in &findings {
        assert!(f.path.starts_with('$'), "{f:?}");
        // `text` is the span's slice of the value: empty only if the span
        // did not lie on character boundaries inside it.
        assert_eq!(
            f.text.len(),
            f.finding.end - f.finding.start,
            "{f:?} in {value}"
        );
        assert!(f.finding.start < f.finding.end, "{f:?}");
    }
    for f in scan_injection_json(&value) {
        assert!(f.path.starts_with('$'), "{f:?}");
        assert!(f.flag.start < f.flag.end, "{f:?} in {value}");
    }
    redact_json(&mut value, &findings, &RedactionPolicy::default());
    // What redaction leaves is still a document we can serialise and read.
    let bytes = serde_json::to_vec(&value).unwrap();
    let _: Value = serde_json::from_slice(&bytes).unwrap();
}

/// `classify_json_text` on `text` pushes what `classify_json` finds in the
/// tree parsed from it.
fn check_streamed(text: &str) {
    let c = classifier();
    let tree: Value = serde_json::from_str(text).unwrap();
    let mut streamed = Vec::new();
    c.classify_json_text(text, &mut streamed).unwrap();
    assert_eq!(streamed, c.classify_json(&tree), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Arbitrary Unicode and sensitive-looking pieces: spans inside the text
    /// on character boundaries, redaction in every mode.
    #[test]
    fn text_spans_are_on_char_boundaries(text in text()) {
        on_small_stack(move || check_text(&text));
    }

    /// Arbitrary JSON documents: findings name a path and a slice of the
    /// value; injection flags have spans; redaction keeps valid JSON.
    #[test]
    fn json_documents_classify_and_redact(value in json()) {
        on_small_stack(move || check_json(value));
    }

    /// Arbitrary documents, written compact or pretty: the walk as the text
    /// is parsed finds what the walk of the parsed tree finds, in order.
    #[test]
    fn streaming_walk_matches_the_tree_walk(value in json(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        }
        .unwrap();
        on_small_stack(move || check_streamed(&text));
    }

    /// Documents as deep as `serde_json` reads them (its limit is 128),
    /// with a finding at the bottom, on a 2 MiB stack.
    #[test]
    fn deep_json_documents(depth in 1usize..127, array in any::<bool>(), leaf in text()) {
        let mut s = String::new();
        for _ in 0..depth {
            s.push_str(if array { "[" } else { "{\"password\":" });
        }
        s.push_str(&serde_json::to_string(&leaf).unwrap());
        for _ in 0..depth {
            s.push(if array { ']' } else { '}' });
        }
        let value: Value = serde_json::from_str(&s).unwrap();
        on_small_stack(move || {
            check_streamed(&s);
            check_json(value);
        });
    }
}
