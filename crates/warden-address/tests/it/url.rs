use warden_address::{AddressError, Host, Url};

fn host(s: &str) -> Host {
    match Url::parse(s) {
        Ok(u) => u.host().clone(),
        Err(e) => unreachable!("{s}: {e}"),
    }
}

fn domain_host(s: &str) -> Host {
    match Host::parse(s) {
        Ok(h) => h,
        Err(e) => unreachable!("{s}: {e}"),
    }
}

#[test]
fn accepted_with_their_hosts() {
    for (input, expected) in [
        ("https://example.com/", "example.com"),
        ("http://example.com", "example.com"),
        ("HTTPS://EXAMPLE.COM/Path", "example.com"),
        ("https://example.com./", "example.com"),
        ("https://example.com:8443/x?y#z", "example.com"),
        ("ftp://files.example.com/pub", "files.example.com"),
        ("wss://socket.example.com/chat", "socket.example.com"),
        ("ssh://git.example.com/repo", "git.example.com"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("https://xn--bcher-kva.example/", "xn--bcher-kva.example"),
        ("https://ｅｘａｍｐｌｅ.com/", "example.com"),
        ("https://good.example@evil.example/", "evil.example"),
        ("https://user:pass@evil.example:8080/", "evil.example"),
        ("https://en.wikipedia.org%2F@evil.com", "evil.com"),
        ("https://@example.com/", "example.com"),
        ("https://example.com/%2e%2e/a%20b", "example.com"),
        ("https://example.com/a@b.com", "example.com"),
        (
            "https://example.com?next=https://evil.com\\x",
            "example.com",
        ),
        ("https://example.com#\\@evil.com", "example.com"),
        ("https://user?@evil.com/", "user"),
        ("  https://example.com/  ", "example.com"),
        ("example.com", "example.com"),
        ("example.com/path", "example.com"),
        ("example.com:8080/path", "example.com"),
        ("localhost:3000", "localhost"),
        ("http://192.0.2.1/", "192.0.2.1"),
        ("http://[::1]:8080/", "[::1]"),
        ("http://[2001:DB8::1]/", "[2001:db8::1]"),
        ("http://[::ffff:127.0.0.1]/", "[::ffff:127.0.0.1]"),
        ("https://my_host.example/", "my_host.example"),
    ] {
        assert_eq!(host(input), domain_host(expected), "{input}");
    }
}

#[test]
fn idn_and_punycode_are_one_host() {
    assert_eq!(
        host("https://bücher.example/"),
        host("https://xn--bcher-kva.example/")
    );
    assert_eq!(host("https://Example.com./"), host("https://example.com/"));
}

#[test]
fn ports_and_schemes() {
    // Input, port as written, port or default, scheme, written with a scheme.
    type Case = (&'static str, Option<u16>, Option<u16>, &'static str, bool);
    let cases: [Case; 6] = [
        ("https://example.com/", None, Some(443), "https", true),
        (
            "https://example.com:443/",
            Some(443),
            Some(443),
            "https",
            true,
        ),
        (
            "http://example.com:8080/",
            Some(8080),
            Some(8080),
            "http",
            true,
        ),
        ("http://example.com:0080/", Some(80), Some(80), "http", true),
        ("example.com:8080", Some(8080), Some(8080), "https", false),
        ("ssh://example.com/", None, None, "ssh", true),
    ];
    for (input, port, default, scheme, had_scheme) in cases {
        let Ok(u) = Url::parse(input) else {
            unreachable!("{input} refused")
        };
        assert_eq!(u.port(), port, "{input}");
        assert_eq!(u.port_or_default(), default, "{input}");
        assert_eq!(u.scheme(), scheme, "{input}");
        assert_eq!(u.had_scheme(), had_scheme, "{input}");
    }
}

#[test]
fn ambiguous_values_are_refused() {
    for input in [
        r"https://en.wikipedia.org\@evil.com/",
        r"https://evil.com\.good.com/",
        r"http:\\evil.com",
        r"https:/\evil.com",
        "https://exa\tmple.com/",
        "https://example.com/a\nb",
        "https://example.com/\ra",
        "https://exa mple.com/",
        "https://example.com/a b",
        "https://ex%61mple.com/",
        "https://example%2ecom/",
        "https://a@b@evil.com/",
        "https://good.com@evil.com@other.com/",
        "http://0x7f.1/",
        "http://2130706433/",
        "http://127.1/",
        "http://0177.0.0.1/",
        "http://1.2.3.4.5/",
    ] {
        assert!(
            matches!(Url::parse(input), Err(AddressError::Ambiguous { .. })),
            "{input:?}: {:?}",
            Url::parse(input)
        );
    }
}

#[test]
fn other_refusals() {
    for input in [
        "",
        "not a url",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,hi",
        "mailto:jane@example.com",
        "file:///etc/passwd",
        "http:example.com",
        "https:/example.com",
        "https:///example.com",
        "//example.com/x",
        "/etc/passwd",
        "https://",
        "https://:443/",
        "https://example.com:/",
        "https://example.com:65536/",
        "https://example.com:8o/",
        "https://example.com:1:2/",
        "https://::1/",
        "http://[::1/",
        "http://[::1]x/",
        "http://[fe80::1%25eth0]/",
        "https://-bad-.com/",
        "https://exa*mple.com/",
        "https://a..b/",
        "jane@example.com",
        "jane@example.com/x",
        "urn:isbn:0451450523",
        "https://evil.com／.good.com/",
        "https://good.com＠evil.com/",
    ] {
        assert!(Url::parse(input).is_err(), "{input:?} was accepted");
    }
}

#[test]
fn display_hides_the_password() {
    let Ok(u) = Url::parse("https://user:secret@example.com/x") else {
        unreachable!()
    };
    assert!(u.has_userinfo());
    assert_eq!(u.to_string(), "https://user:****@example.com/x");
    assert!(u.as_str().contains("secret"));
    let Ok(u) = Url::parse("example.com/a/../b?q=1") else {
        unreachable!()
    };
    assert_eq!(u.as_str(), "https://example.com/b?q=1");
    assert_eq!(u.path(), "/b");
    assert_eq!(u.query(), Some("q=1"));
}

#[test]
fn errors_name_the_input() {
    let Err(e) = Url::parse("https://en.wikipedia.org\\@evil.com/") else {
        unreachable!()
    };
    let message = e.to_string();
    assert!(
        message.starts_with("`https://en.wikipedia.org\\@evil.com/` holds a backslash"),
        "{message}"
    );
    assert!(
        message.ends_with("parsers disagree on its host"),
        "{message}"
    );
    let Err(e) = Url::parse("javascript:alert(1)") else {
        unreachable!()
    };
    assert!(e.to_string().contains("has no host"), "{e}");
}

#[test]
fn userinfo_hosts_agree_with_whatwg() {
    for input in [
        "https://good.example@evil.example/",
        "https://user:pass@evil.example:8080/",
        "https://en.wikipedia.org%2F@evil.com",
        "https://en.wikipedia.org:443@evil.com/",
        "https://[::1]@evil.com/",
    ] {
        let ours = host(input).to_string();
        let theirs = ::url::Url::parse(input)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        assert_eq!(Some(ours), theirs, "{input}");
    }
}
