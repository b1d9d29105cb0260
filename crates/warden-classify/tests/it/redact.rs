//! Redaction of text and JSON: masks, keyed hashes and tokens, overlapping
//! findings, multi-byte text and spans that do not fit the text.

use serde_json::json;
use warden_classify::{
    Finding, RedactionAction, RedactionKey, RedactionPolicy, redact, redact_json,
};

use crate::classifier;

fn key(byte: u8) -> RedactionKey {
    match RedactionKey::new(vec![byte; 32]) {
        Ok(k) => k,
        Err(e) => unreachable!("a 32-byte key is long enough: {e}"),
    }
}

fn finding(detector: &'static str, class: &str, start: usize, end: usize) -> Finding {
    Finding {
        detector,
        class: class.to_owned(),
        confidence: 0.9,
        start,
        end,
    }
}

#[test]
fn masks_by_default_and_keeps_the_last_four_card_digits() {
    let text = "Zoë paid with 4111 1111 1111 1111, mail zoë@bücher.de, SSN 536-22-8714.";
    let out = redact(
        text,
        &classifier().classify_text(text),
        &RedactionPolicy::default(),
    );
    assert_eq!(
        out,
        "Zoë paid with [REDACTED:card ****1111], mail [REDACTED:email], SSN [REDACTED:ssn]."
    );
}

#[test]
fn hashes_and_tokens_are_keyed_stable_and_distinct() {
    let policy = |k| {
        RedactionPolicy::default()
            .with_key(key(k))
            .rule("financial", RedactionAction::Hash)
            .unwrap()
            .rule("pii.contact", RedactionAction::Tokenize)
            .unwrap()
    };
    let c = classifier();
    let run = |text: &str, k| redact(text, &c.classify_text(text), &policy(k));
    let a = run("card 4111 1111 1111 1111 from Ann@Example.com", 1);
    let b = run("card 4111-1111-1111-1111 from ann@example.com", 1);
    assert_eq!(a, b, "normalised values hash and tokenize alike");
    assert!(
        a.starts_with("card [sha256:") && a.contains("] from tok_"),
        "{a}"
    );
    let hash = &a[5..a.find(']').unwrap() + 1];
    assert_eq!(hash.len(), "[sha256:]".len() + 16);
    let token = a.rsplit(' ').next().unwrap();
    assert_eq!(token.len(), "tok_".len() + 24);
    assert!(token[4..].chars().all(|c| c.is_ascii_hexdigit()));
    // Another key, other outputs: without the key a guess cannot be checked.
    assert_ne!(run("card 4111 1111 1111 1111 from ann@example.com", 2), a);
    // The same value as a hash and as a token shares no digits.
    let both = RedactionPolicy::default()
        .with_key(key(1))
        .rule("pii", RedactionAction::Hash)
        .unwrap();
    let hashed = redact(
        "ann@example.com",
        &c.classify_text("ann@example.com"),
        &both,
    );
    assert!(!a.contains(&hashed[8..24]));
}

#[test]
fn hash_without_a_key_masks() {
    let policy = RedactionPolicy::default()
        .rule("pii", RedactionAction::Hash)
        .unwrap()
        .rule("credentials", RedactionAction::Keep)
        .unwrap();
    let text = "ann@example.com password=Hunter2!x";
    let out = redact(text, &classifier().classify_text(text), &policy);
    assert_eq!(out, "[REDACTED:email] password=Hunter2!x");
}

#[test]
fn overlapping_findings_merge_under_the_strongest_action() {
    let text = "αβγ secret-value-here δ";
    let s = text.find("secret").unwrap();
    let e = text.find(" δ").unwrap();
    let findings = [
        finding("secret", "credentials", s, e),
        finding("email", "pii.contact", s + 7, e + 3),
        finding("card", "financial.card", s + 2, s + 5),
    ];
    let policy = RedactionPolicy::default()
        .with_key(key(3))
        .rule("pii", RedactionAction::Tokenize)
        .unwrap()
        .rule("financial", RedactionAction::Hash)
        .unwrap();
    // The union runs from `secret` through `δ`; credentials mask, which hides most.
    assert_eq!(redact(text, &findings, &policy), "αβγ [REDACTED:secret]");
    // Without the masking finding, the union takes the token.
    let out = redact(text, &findings[1..], &policy);
    assert!(out.starts_with("αβγ se") && out.contains("tok_"), "{out}");
    // A kept class neither redacts nor merges.
    let keep = policy.rule("credentials", RedactionAction::Keep).unwrap();
    let out = redact(text, &findings[..1], &keep);
    assert_eq!(out, text);
}

#[test]
fn spans_off_character_boundaries_or_past_the_end_never_panic() {
    let text = "日本語 ann@example.com";
    // Inside the second character: widened to the whole of 本.
    let out = redact(
        text,
        &[finding("email", "pii.contact", 4, 5)],
        &RedactionPolicy::default(),
    );
    assert_eq!(out, "日[REDACTED:email]語 ann@example.com");
    let out = redact(
        text,
        &[finding("email", "pii.contact", 10, 999)],
        &RedactionPolicy::default(),
    );
    assert_eq!(out, "日本語 [REDACTED:email]");
    assert_eq!(
        redact(
            text,
            &[finding("email", "pii.contact", 999, 1000)],
            &RedactionPolicy::default()
        ),
        text
    );
    assert_eq!(
        redact(
            text,
            &[finding("email", "pii.contact", 5, 2)],
            &RedactionPolicy::default()
        ),
        text
    );
}

#[test]
fn redact_json_rewrites_string_and_number_leaves_in_place() {
    let mut doc = json!({
        "customer": {
            "name": "Jürgen",
            "email": "jürgen@bücher.de",
            "cards": ["4111111111111111", 4111111111111111u64],
            "note": "call +44 20 7946 0958 or mail ops@example.com"
        },
        "ok": true
    });
    let findings = classifier().classify_json(&doc);
    let policy = RedactionPolicy::default()
        .with_key(key(9))
        .rule("pii.contact", RedactionAction::Tokenize)
        .unwrap();
    redact_json(&mut doc, &findings, &policy);
    assert_eq!(doc["customer"]["name"], "Jürgen");
    assert!(
        doc["customer"]["email"]
            .as_str()
            .unwrap()
            .starts_with("tok_")
    );
    assert_eq!(doc["customer"]["cards"][0], "[REDACTED:card ****1111]");
    assert_eq!(doc["customer"]["cards"][1], "[REDACTED:card ****1111]");
    let note = doc["customer"]["note"].as_str().unwrap();
    assert!(
        note.starts_with("call tok_") && note.contains(" or mail tok_"),
        "{note}"
    );
    assert_eq!(doc["ok"], true);
    assert!(classifier().classify_json(&doc).is_empty(), "{doc}");
}

#[test]
fn keys_are_checked_and_never_printed() {
    assert!(RedactionKey::new(*b"short").is_err());
    let k = key(7);
    assert_eq!(format!("{k:?}"), "RedactionKey(<redacted>)");
    let policy = RedactionPolicy::default().with_key(k);
    assert!(!format!("{policy:?}").contains("7, 7"));
}
