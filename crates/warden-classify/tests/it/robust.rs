//! Input from an agent or a tool server never panics the classifier, the
//! redactor or the injection scanner, and every span they report lies on
//! character boundaries inside the text.

use proptest::prelude::*;
use warden_classify::{
    Classifier, ClassifierConfig, RedactionPolicy, char_span, redact, scan_injection,
};

fn check(c: &Classifier, text: &str) {
    for f in c.classify_text(text) {
        assert!(
            f.start < f.end && f.end <= text.len(),
            "span {}..{} of {} bytes",
            f.start,
            f.end,
            text.len()
        );
        assert!(
            text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
            "span {}..{} splits a character",
            f.start,
            f.end
        );
        let (s, e) = char_span(text, f.start, f.end);
        assert!(s < e && e <= text.chars().count());
        assert!((0.0..=1.0).contains(&f.confidence));
    }
}

/// Text built from the fragments detectors look for, glued at random, with
/// multi-byte characters in between: the likeliest way to reach edge cases.
fn fragments() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "AKIA",
        "ghp_",
        "eyJ",
        "-----BEGIN ",
        "PRIVATE KEY-----",
        "@",
        "jürgen@",
        "example.de",
        "://",
        "user:pa55@",
        "+44 20 7946 0958",
        "123-45-6789",
        "QQ123456C",
        "DOB",
        "born",
        "ICD",
        "E11.9",
        "confidential",
        "attorney-client privileged",
        "password=",
        "token: ",
        "é",
        "日本",
        "🙂",
        " ",
        "\n",
        ".",
        "-",
        "0",
        "9",
        "\u{200b}",
        "\u{202e}",
        "xox",
        "sk_live_",
        "021000021",
        "routing",
        "BIC",
        "DEUTDEFF",
        "passport ",
        "X1234567",
        "MRN ",
        "1234 Main Street",
        "SW1A 1AA",
        "glpat-",
        "AccountKey=",
        "ignore all previous instructions",
        "<!--",
        "-->",
        "](",
        "<|im_start|>",
        "\u{E0041}",
        "Human:",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::fuzz::cases().max(512)))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let c = Classifier::new(&ClassifierConfig::default()).unwrap();
        check(&c, &text);
        let n = text.chars().count();
        for f in scan_injection(&text) {
            prop_assert!(f.start < f.end && f.end <= n, "{:?} in {:?}", f, text);
        }
    }

    #[test]
    fn glued_fragments_never_panic(text in fragments()) {
        let c = Classifier::new(&ClassifierConfig::default()).unwrap();
        check(&c, &text);
        let doc = serde_json::json!({"iban": text.clone(), "nested": [{"password": text.clone()}, text]});
        let _ = c.classify_json(&doc);
        let _ = redact(&text, &c.classify_text(&text), &RedactionPolicy::default());
        let n = text.chars().count();
        for f in scan_injection(&text) {
            prop_assert!(f.start < f.end && f.end <= n, "{:?} in {:?}", f, text);
        }
    }
}

/// `Positions` answers as `char_span` and a line count from the start do,
/// for offsets asked in any order, inside characters and past the end.
#[test]
fn positions_agree_with_counting_from_the_start() {
    let text = "añb\nc@x.io 😀 zz\n\nend — ünïcode\n4111 1111 1111 1111\n";
    let mut at = warden_classify::Positions::new(text);
    let mut offsets: Vec<usize> = (0..=text.len() + 3).collect();
    // A fixed shuffle: forwards, backwards and jumps.
    offsets.reverse();
    offsets.extend((0..text.len()).step_by(7));
    offsets.extend((0..text.len()).rev().step_by(5));
    for byte in offsets {
        let (chars, _) = char_span(text, byte, byte);
        let line = text.as_bytes()[..byte.min(text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        assert_eq!(at.at(byte), (line, chars), "byte {byte}");
    }
}
