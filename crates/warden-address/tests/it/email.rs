use warden_address::{AddressError, Domain, Email, Host};

fn email(s: &str) -> Email {
    match Email::parse(s) {
        Ok(e) => e,
        Err(e) => unreachable!("{s}: {e}"),
    }
}

#[test]
fn forms_of_one_address() {
    for input in [
        "jane@example.com",
        "  jane@example.com\n",
        "jane@EXAMPLE.COM",
        "jane@example.com.",
        "Jane Doe <jane@example.com>",
        "\"Jane\" <jane@example.com>",
        "\"Doe, Jane\" <jane@example.com>",
        "\"Jane \\\"JD\\\" Doe\" <jane@example.com>",
        "<jane@example.com>",
        "Jane<jane@example.com>",
        "mailto:jane@example.com",
        "MAILTO:jane@Example.com.",
    ] {
        let e = email(input);
        assert_eq!(e.to_string(), "jane@example.com", "{input}");
        assert_eq!(e.local(), "jane");
    }
}

#[test]
fn local_part_case_is_kept_domain_is_canonical() {
    let e = email("Jane.Doe@Example.COM.");
    assert_eq!(e.local(), "Jane.Doe");
    assert_eq!(e, email("Jane.Doe@example.com"));
    assert_ne!(e, email("jane.doe@example.com"));
    assert_eq!(
        email("jane@bücher.example").to_string(),
        "jane@xn--bcher-kva.example"
    );
}

#[test]
fn what_the_classifier_finds_is_accepted() {
    for input in [
        "john.smith@example.com",
        "j_s%x+tag-1@mail.example.co.uk",
        "jürgen@example.de",
        "info@xn--bcher-kva.example",
        "a@b-c.example",
    ] {
        assert!(Email::parse(input).is_ok(), "{input}");
    }
    // And more than it finds: RFC 5322 atext, single labels, literals.
    for input in [
        "o'brien@example.com",
        "a!#$&*/=?^`{|}~@example.com",
        "root@localhost",
        "jane@[192.0.2.1]",
        "jane@[IPv6:2001:db8::1]",
    ] {
        assert!(Email::parse(input).is_ok(), "{input}");
    }
    assert_eq!(
        email("jane@[192.0.2.1]").domain(),
        &Host::Ipv4([192, 0, 2, 1].into())
    );
    assert_eq!(
        email("jane@[IPv6:2001:DB8::1]").to_string(),
        "jane@[IPv6:2001:db8::1]"
    );
}

#[test]
fn refused() {
    for input in [
        "",
        "jane",
        "@example.com",
        "jane@",
        "a@b@c",
        "a@b@example.com",
        "\"a@b\"@example.com",
        "\"john doe\"@example.com",
        "x@evil.org colleague@example.com",
        "x@evil.org\tcolleague@example.com",
        "x@evil.org\ncolleague@example.com",
        "a@b.com,c@d.com",
        "a@b.com;c@d.com",
        "ja ne@example.com",
        "jane@exa mple.com",
        ".jane@example.com",
        "jane.@example.com",
        "ja..ne@example.com",
        "jane@-bad-.com",
        "jane@example..com",
        "jane@192.0.2.1",
        "jane@[127.1]",
        "jane@[::1]",
        "jane@[example.com]",
        "jane@example.com>",
        "Jane <jane@example.com",
        "Jane <jane@example.com> x@evil.org",
        "jane@example.com <x@evil.org>",
        "\"jane@example.com\" <x@evil.org>",
        "Jane\t<jane@example.com>",
        "Jane < jane@example.com >",
        "\"Jane <jane@example.com>",
        "mailto:jane@example.com?subject=hi",
        "mailto:a@example.com,b@example.com",
        "mailto:jane%40example.com",
        "ja\u{200B}ne@example.com",
        &format!("{}@example.com", "a".repeat(65)),
    ] {
        assert!(Email::parse(input).is_err(), "{input:?} was accepted");
    }
    assert!(matches!(
        Email::parse("a@b@c"),
        Err(AddressError::Email { .. })
    ));
}

#[test]
fn within() {
    let Ok(org) = Domain::parse("example.com") else {
        unreachable!()
    };
    assert!(email("jane@mail.example.com").is_within(&org));
    assert!(!email("jane@example.com.evil.test").is_within(&org));
    assert!(!email("jane@notexample.com").is_within(&org));
    assert!(!email("jane@[192.0.2.1]").is_within(&org));
}
