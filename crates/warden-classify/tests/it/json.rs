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
