use serde_json::json;

use crate::classifier;

#[test]
fn json_paths_and_key_context() {
    let c = classifier();
    let doc = json!({
        "customer": {
            "name": "Ann",
            "iban": "GB82 WEST 1234 5698 7654 32",
            "ssn": "536228714",
            "dob": "1985-03-12",
            "e-mail": "ann@example.com",
            "password": "Tr0ub4dor&3",
            "api_key": "q8Zr2LmX0vT7bYw4Kp1NaZ",
            "routing": 21000021,
            "bic": "NWBKGB2L",
            "cards": ["4111111111111111", "4111111111111112"]
        },
        "note": "ok"
    });
    // Member order depends on serde_json's `preserve_order` feature, which
    // another crate in the workspace turns on: compare as sets.
    let mut got: Vec<(String, &str)> = c
        .classify_json(&doc)
        .into_iter()
        .map(|f| (f.path, f.finding.detector))
        .collect();
    got.sort();
    let want = [
        ("$.customer.api_key", "secret"),
        ("$.customer.bic", "swift"),
        ("$.customer.cards[0]", "card"),
        ("$.customer.dob", "dob"),
        ("$.customer['e-mail']", "email"),
        ("$.customer.iban", "iban"),
        ("$.customer.password", "password"),
        ("$.customer.ssn", "ssn"),
    ];
    let mut want: Vec<(String, &str)> = want.iter().map(|(p, k)| ((*p).to_owned(), *k)).collect();
    want.sort();
    assert_eq!(got, want);
    let classes = c.classes(&doc);
    for class in [
        "credentials",
        "financial.account",
        "financial.card",
        "pii.contact",
        "pii.dob",
        "pii.identity",
    ] {
        assert!(classes.contains(class), "{class} missing from {classes:?}");
    }
}

#[test]
fn classes_by_top_level_field_match_the_whole_documents() {
    let c = classifier();
    let doc = json!({
        "to": "ann@example.com",
        "payment": {"iban": "GB82 WEST 1234 5698 7654 32", "amount": 12},
        "note": "ok",
        "e-mail": ["bob@example.org"]
    });
    let by_field = c.classes_by_field(&doc);
    assert_eq!(
        by_field.keys().map(String::as_str).collect::<Vec<_>>(),
        ["e-mail", "payment", "to"],
        "members with no class are left out: {by_field:?}"
    );
    assert!(by_field["to"].contains("pii.contact"), "{by_field:?}");
    assert!(
        by_field["payment"].contains("financial.account"),
        "{by_field:?}"
    );
    let union: std::collections::BTreeSet<String> = by_field.into_values().flatten().collect();
    assert_eq!(union, c.classes(&doc));
    assert!(c.classes_by_field(&json!(["ann@example.com"])).is_empty());
}

/// The class-only walk the decision path uses finds exactly the classes the
/// full walk (paths and texts) finds, in all and under each member.
#[test]
fn class_walk_agrees_with_the_full_walk() {
    use std::collections::{BTreeMap, BTreeSet};
    let c = classifier();
    let docs = [
        json!({
            "customer": {"iban": "GB82 WEST 1234 5698 7654 32", "ssn": "536228714",
                         "cards": ["4111111111111111", {"dob": "1985-03-12"}]},
            "to": "ann@example.com", "amount": 98.7, "routing": 21000021,
            "notes": ["call +44 20 7946 0958", "password: Tr0ub4dor&3"],
            "nothing": [true, null, 1, "plain words"],
        }),
        json!(["4111111111111111", {"api_key": "q8Zr2LmX0vT7bYw4Kp1NaZ"}]),
        json!("jane.roe@example.net"),
    ];
    for doc in &docs {
        let full: BTreeSet<String> = c
            .classify_json(doc)
            .into_iter()
            .map(|f| f.finding.class)
            .collect();
        assert_eq!(c.classes(doc), full, "{doc}");
        let by_field = c.classes_by_field(doc);
        if let serde_json::Value::Object(map) = doc {
            let mut expected = BTreeMap::new();
            for (key, member) in map {
                let found: BTreeSet<String> = c
                    .classify_json(&json!({ key.clone(): member }))
                    .into_iter()
                    .map(|f| f.finding.class)
                    .collect();
                if !found.is_empty() {
                    expected.insert(key.clone(), found);
                }
            }
            assert!(!expected.is_empty());
            assert_eq!(by_field, expected, "{doc}");
        } else {
            assert!(by_field.is_empty());
        }
    }
}

/// What `classify_json_text` pushes, or its error's text.
fn streamed(text: &str) -> Result<Vec<warden_classify::JsonFinding>, String> {
    let mut found = Vec::new();
    classifier()
        .classify_json_text(text, &mut found)
        .map(|()| found)
        .map_err(|e| e.to_string())
}

/// What `classify_json` finds in the tree serde_json parses from `text`,
/// or the error `classify_json_text` must give, made from serde_json's.
fn from_tree(text: &str) -> Result<Vec<warden_classify::JsonFinding>, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => Ok(classifier().classify_json(&value)),
        Err(e) => Err(format!(
            "line {} column {}: not a JSON document: {e}",
            e.line(),
            e.column()
        )),
    }
}

#[test]
fn the_streaming_walk_finds_what_the_tree_walk_finds() {
    let docs = [
        r#"{"customer": {"name": "Ann", "iban": "GB82 WEST 1234 5698 7654 32",
            "e-mail": "ann@example.com", "cards": ["4111111111111111", {"dob": "1985-03-12"}]},
            "note": "call +44 20 7946 0958", "routing": 21000021, "amount": 98.7}"#,
        // Escapes in values and keys: the key `password` written with an
        // escape still gives its context, the value is unescaped.
        r#"{"pass\u0077ord": "Tr0ub4dor&3", "note": "mail \"ann@example.com\"\n\ttab",
            "j\u00fcrgen": "j\u00fcrgen@b\u00fccher.de", "emoji": "\ud83d\ude00 a@example.com"}"#,
        // Keys that need brackets and quoting in the path.
        r#"{"e-mail": "a@example.com", "it's": "b@example.com", "back\\slash": "c@example.com",
            "": "d@example.com", "1st": "e@example.com", "ключ": "f@example.com",
            "a.b[0]": "g@example.com", "$.x['y']": "h@example.com"}"#,
        // Numbers: their decimal form as `Value` prints it is what is scanned.
        r#"{"card": 4111111111111111, "ssn": 536228714, "n": [-0, 0.1, -12, 1e20, 1.5E-7,
            123456789012345678901234567890, 18446744073709551615, -9223372036854775808,
            2.50, 4.111111111111111e15]}"#,
        // Arrays inherit their key; nothing to find; scalars at the top.
        r#"[[["4111 1111 1111 1111"]], {"tags": ["a", "b"], "ok": [true, false, null]}, {}, []]"#,
        r#""jane.roe@example.net""#,
        "  4111111111111111  ",
        "null",
        r#"{"text": "Grüße an jürgen@example.de, Karte 4111 1111 1111 1111 – 🎉"}"#,
        // Hidden characters inside a value.
        r#"{"note": "a\u200b@example.com 4111\u00001111 1111 1111"}"#,
    ];
    let mut total = 0;
    for doc in docs {
        let tree = from_tree(doc).unwrap();
        assert_eq!(streamed(doc).unwrap(), tree, "{doc}");
        total += tree.len();
    }
    assert!(
        total > 20,
        "the documents have findings to compare: {total}"
    );
}

#[test]
fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
    let docs = [
        r#"{"email": "a@example.com", "note": "4111 1111 1111 1111", "email": "b@example.org"}"#,
        r#"{"x": {"email": "a@example.com", "email": 1}, "y": "c@example.com"}"#,
        r#"[{"email": "a@example.com"}, {"k": 1, "k": "b@example.org"}]"#,
    ];
    for doc in docs {
        assert_eq!(streamed(doc), from_tree(doc), "{doc}");
    }
    let found = streamed(docs[0]).unwrap();
    let texts: Vec<&str> = found.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(texts, ["b@example.org", "4111 1111 1111 1111"]);
    // Many members, the repeat far from the first: the set of keys.
    let mut doc = String::from("{");
    for i in 0..100 {
        doc.push_str(&format!("\"k{i}\": \"{i}@example.com\", "));
    }
    doc.push_str("\"k7\": \"last@example.com\"}");
    assert_eq!(streamed(&doc), from_tree(&doc));
    assert_eq!(streamed(&doc).unwrap()[7].text, "last@example.com");
}

#[test]
fn text_that_is_not_one_json_document_is_named_by_line_and_column() {
    let docs = [
        "",
        "{\"a\": 1,\n \"b\": }",
        "[1, 2,]",
        "{\"a\": \"unterminated",
        "{\"a\": \"bad \\x escape\"}",
        "[\"\\ud800\"]",
        "[\"tab\tinside\"]",
        "{\"a\": 1} {\"b\": 2}",
        "{\"a\": 1e400}",
        "{\"email\": \"a@example.com\",\n \"email\": \"b@example.org\", oops}",
        "{1: 2}",
        "\u{feff}{}",
    ];
    for doc in docs {
        let err = streamed(doc).unwrap_err();
        assert_eq!(Err(err.clone()), from_tree(doc), "{doc:?}");
        assert!(err.starts_with("line "), "{err}");
    }
    assert_eq!(
        streamed("{\"a\": 1,\n \"b\": }").unwrap_err(),
        "line 2 column 7: not a JSON document: expected value at line 2 column 7"
    );
}

#[test]
fn nesting_past_serde_jsons_limit_is_an_error_not_an_overflow() {
    warden_test::on_small_stack(|| {
        for depth in [1, 64, 127, 128, 129, 10_000, 1_000_000] {
            for (open, close) in [("[", "]"), ("{\"password\":", "}")] {
                let doc = format!(
                    "{}\"Tr0ub4dor&3\"{}",
                    open.repeat(depth),
                    close.repeat(depth)
                );
                let got = streamed(&doc);
                assert_eq!(got, from_tree(&doc), "depth {depth}");
                if depth > 128 {
                    let err = got.unwrap_err();
                    assert!(err.contains("recursion limit exceeded"), "{err}");
                    assert!(err.starts_with("line 1 column "), "{err}");
                }
            }
        }
    });
}
