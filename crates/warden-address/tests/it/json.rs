use serde_json::{Value, json};
use warden_address::{Address, AddressError, MAX_ADDRESSES, MAX_DEPTH, addresses_in};

/// Each entry as its display form, or `!` and the error.
fn read(value: &Value) -> Vec<String> {
    addresses_in(value)
        .into_iter()
        .map(|r| match r {
            Ok(a) => a.to_string(),
            Err(e) => format!("!{e}"),
        })
        .collect()
}

#[test]
fn strings_with_several_addresses() {
    for (value, expected) in [
        (json!("jane@example.com"), vec!["jane@example.com"]),
        (
            json!("x@evil.org colleague@example.com"),
            vec!["x@evil.org", "colleague@example.com"],
        ),
        (
            json!("x@evil.org\tcolleague@example.com"),
            vec!["x@evil.org", "colleague@example.com"],
        ),
        (
            json!("x@evil.org\ncolleague@example.com"),
            vec!["x@evil.org", "colleague@example.com"],
        ),
        (
            json!("x@evil.org\u{00A0}colleague@example.com"),
            vec!["x@evil.org", "colleague@example.com"],
        ),
        (
            json!("a@a.com, b@b.com;c@c.com,"),
            vec!["a@a.com", "b@b.com", "c@c.com"],
        ),
        (
            json!("Jane <j@a.com>, Bob <b@b.com>"),
            vec!["j@a.com", "b@b.com"],
        ),
        (
            json!("\"Doe, Jane\" <j@a.com>; Bob Roe <b@b.com>"),
            vec!["j@a.com", "b@b.com"],
        ),
        (json!("mailto:a@x.com,b@y.com"), vec!["a@x.com", "b@y.com"]),
        (
            json!("https://example.com/a,b;c d@e.com"),
            vec!["https://example.com/a,b;c", "d@e.com"],
        ),
        (
            json!("example.com, wiki.example.org"),
            vec!["example.com", "wiki.example.org"],
        ),
    ] {
        assert_eq!(read(&value), expected, "{value}");
    }
}

#[test]
fn unreadable_pieces_are_errors() {
    for value in [
        json!("Jane Roe"),
        json!(""),
        json!("   "),
        json!(42),
        json!(true),
        json!(null),
        json!({}),
        json!({"name": "Jane Roe"}),
        json!("Jane <j@a.com> x@evil.org"),
        json!(r"https://en.wikipedia.org\@evil.com/"),
    ] {
        let found = addresses_in(&value);
        assert_eq!(found.len(), 1, "{value}");
        assert!(found.iter().all(Result::is_err), "{value}: {found:?}");
    }
    let mixed = addresses_in(&json!(["a@example.com", 7]));
    assert!(mixed.first().is_some_and(Result::is_ok));
    assert!(matches!(
        mixed.get(1),
        Some(Err(AddressError::NotText { kind: "number", .. }))
    ));
}

#[test]
fn objects_and_arrays() {
    for (value, expected) in [
        (
            json!({"address": "x@evil.org", "name": "X"}),
            vec!["x@evil.org"],
        ),
        (
            json!({"Email_Address": "x@evil.org", "note": "hello there"}),
            vec!["x@evil.org"],
        ),
        (
            json!({"to": ["a@a.com", {"email": "b@b.com"}], "subject": "hi"}),
            vec!["a@a.com", "b@b.com"],
        ),
        (json!({"id": "jane@example.com"}), vec!["jane@example.com"]),
        (
            json!({"url": "https://example.com/x"}),
            vec!["https://example.com/x"],
        ),
        (json!({"target": "example.com"}), vec!["example.com"]),
        (
            json!(["a@a.com", ["b@b.com", ["c@c.com"]]]),
            vec!["a@a.com", "b@b.com", "c@c.com"],
        ),
        (json!([]), vec![]),
    ] {
        assert_eq!(read(&value), expected, "{value}");
    }
    let found = addresses_in(&json!({"host": "example.com"}));
    assert!(matches!(found.as_slice(), [Ok(Address::Host(_))]));
}

#[test]
fn work_is_bounded() {
    let many: Vec<Value> = (0..MAX_ADDRESSES + 50)
        .map(|i| json!(format!("u{i}@example.com")))
        .collect();
    let found = addresses_in(&Value::Array(many));
    assert_eq!(found.len(), MAX_ADDRESSES + 1);
    assert!(matches!(
        found.last(),
        Some(Err(AddressError::TooMany { .. }))
    ));

    let text = "a@example.com ".repeat(5_000);
    assert_eq!(addresses_in(&json!(text)).len(), MAX_ADDRESSES + 1);

    let mut deep = json!("a@example.com");
    for _ in 0..MAX_DEPTH + 5 {
        deep = json!([deep]);
    }
    let found = addresses_in(&deep);
    assert!(
        matches!(found.as_slice(), [Err(AddressError::TooDeep { .. })]),
        "{found:?}"
    );
    let mut shallow = json!("a@example.com");
    for _ in 0..MAX_DEPTH {
        shallow = json!([shallow]);
    }
    assert!(matches!(addresses_in(&shallow).as_slice(), [Ok(_)]));
}

#[test]
fn long_values_are_shortened_in_messages() {
    let long = format!("{} {}", "word".repeat(50), "more".repeat(50));
    let found = addresses_in(&json!(long));
    let Some(Err(e)) = found.first() else {
        unreachable!()
    };
    assert!(e.to_string().len() < 160, "{e}");
}

#[test]
fn address_parse_picks_the_form() {
    for (input, kind) in [
        ("jane@example.com", "email"),
        ("Jane <jane@example.com>", "email"),
        ("mailto:jane@example.com", "email"),
        ("https://example.com/", "url"),
        ("example.com/path", "url"),
        ("example.com:8080", "url"),
        ("[::1]:8080", "url"),
        ("example.com", "host"),
        ("192.0.2.1", "host"),
        ("::1", "host"),
    ] {
        let got = match Address::parse(input) {
            Ok(Address::Email(_)) => "email",
            Ok(Address::Url(_)) => "url",
            Ok(Address::Host(_)) => "host",
            Err(e) => unreachable!("{input}: {e}"),
        };
        assert_eq!(got, kind, "{input}");
    }
    for input in ["Jane Roe", "", "javascript:alert(1)", "127.1", "a@b@c"] {
        assert!(Address::parse(input).is_err(), "{input}");
    }
}
