//! Unit tests of the crate's internal helpers.

use crate::error::shown;
use crate::host::ends_in_number;

#[test]
fn shown_shortens_and_escapes() {
    assert_eq!(shown("a\tb\nc d"), "a\\tb\\nc d");
    let long = "x".repeat(100);
    let s = shown(&long);
    assert_eq!(s.chars().count(), 65);
    assert!(s.ends_with('…'));
}

#[test]
fn ends_in_number_follows_whatwg() {
    for name in [
        "1.2.3.4",
        "127.1",
        "2130706433",
        "0x7f.1",
        "a.0x",
        "example.123",
    ] {
        assert!(ends_in_number(name), "{name}");
    }
    for name in ["example.com", "1.2.3.a", "0xg", "x1"] {
        assert!(!ends_in_number(name), "{name}");
    }
}

#[test]
fn error_messages_are_lowercase_with_backticks() {
    let e = crate::Url::parse(r"https://a\@b/")
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            "`https://a\\@b/` holds a backslash (WHATWG reads it as `/`, curl and Python as part \
             of the authority): parsers disagree on its host"
        )
    );
    let e = crate::Domain::parse("").err().map(|e| e.to_string());
    assert_eq!(e.as_deref(), Some("`` is empty: it names no address"));
}
