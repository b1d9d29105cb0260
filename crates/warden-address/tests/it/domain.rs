use warden_address::{AddressError, Domain, Host};

fn d(s: &str) -> Domain {
    match Domain::parse(s) {
        Ok(d) => d,
        Err(e) => unreachable!("{s}: {e}"),
    }
}

#[test]
fn canonical_forms() {
    for (input, canonical) in [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("  example.com \n", "example.com"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("ｅｘａｍｐｌｅ.com", "example.com"),
        ("example\u{3002}com", "example.com"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("localhost", "localhost"),
        ("a-b.example", "a-b.example"),
    ] {
        assert_eq!(d(input).as_str(), canonical, "{input}");
    }
}

#[test]
fn homoglyphs_get_their_own_name() {
    let cyrillic = d("\u{0435}xample.com");
    assert_eq!(cyrillic.as_str(), "xn--xample-2of.com");
    assert_ne!(cyrillic, d("example.com"));
    assert!(!cyrillic.is_within(&d("example.com")));
}

#[test]
fn refused() {
    let long_label = format!("{}.com", "a".repeat(64));
    let long_name = format!("{}com", "abcdefghi.".repeat(26));
    for input in [
        "",
        "   ",
        ".",
        "..",
        "example.com..",
        ".example.com",
        "a..b",
        "-bad-.com",
        "bad-.com",
        "-bad.com",
        long_label.as_str(),
        long_name.as_str(),
        "exa mple.com",
        "exa\tmple.com",
        "ex%41mple.com",
        "a/b.com",
        "a@b.com",
        "a*b.com",
        "192.0.2.1",
        "127.1",
        "example.123",
        "[::1]",
    ] {
        assert!(Domain::parse(input).is_err(), "{input:?} was accepted");
    }
    assert!(matches!(Domain::parse(""), Err(AddressError::Empty { .. })));
    let max_label = format!("{}.com", "a".repeat(63));
    assert!(Domain::parse(&max_label).is_ok());
}

#[test]
fn within_is_at_a_label_boundary() {
    let org = d("example.com");
    assert!(d("example.com").is_within(&org));
    assert!(d("mail.example.com").is_within(&org));
    assert!(d("a.b.EXAMPLE.com.").is_within(&org));
    assert!(!d("notexample.com").is_within(&org));
    assert!(!d("example.com.evil.test").is_within(&org));
    assert!(!d("com").is_within(&org));
    assert!(!Host::parse("192.0.2.1").is_ok_and(|h| h.is_within(&org)));
}

#[test]
fn hosts() {
    assert_eq!(
        Host::parse("192.0.2.1").ok(),
        Some(Host::Ipv4([192, 0, 2, 1].into()))
    );
    assert_eq!(
        Host::parse("192.0.2.1.").ok(),
        Some(Host::Ipv4([192, 0, 2, 1].into()))
    );
    assert_eq!(
        Host::parse("0.0.0.0").ok(),
        Some(Host::Ipv4([0, 0, 0, 0].into()))
    );
    let v6 = Host::parse("[::1]").ok();
    assert_eq!(v6, Host::parse("::1").ok());
    assert_eq!(v6.map(|h| h.to_string()).as_deref(), Some("[::1]"));
    assert_eq!(
        Host::parse("[2001:DB8:0:0::1]")
            .map(|h| h.to_string())
            .ok()
            .as_deref(),
        Some("[2001:db8::1]")
    );
    for input in [
        "127.1",
        "0x7f.0.0.1",
        "2130706433",
        "0177.0.0.1",
        "1.2.3.256",
        "1.2.3.4.5",
        "01.2.3.4",
        "fe80::1%eth0",
        "[::1",
        "[example.com]",
        "１２７.０.０.１.１",
    ] {
        assert!(Host::parse(input).is_err(), "{input:?} was accepted");
    }
    // Fullwidth digits map to ASCII under UTS #46, as WHATWG reads them.
    assert_eq!(
        Host::parse("１２７.０.０.１").ok(),
        Some(Host::Ipv4([127, 0, 0, 1].into()))
    );
}
