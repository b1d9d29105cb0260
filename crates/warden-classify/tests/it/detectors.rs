use crate::{finds, found, misses};

#[test]
fn email_ascii_unicode_and_idn() {
    finds(
        "write to jane.doe+tag@example.co.uk.",
        "email",
        "jane.doe+tag@example.co.uk",
    );
    finds(
        "mail jürgen.müller@bücher.de today",
        "email",
        "jürgen.müller@bücher.de",
    );
    finds("用户@例子.广告", "email", "用户@例子.广告");
    finds(
        "<mailto:ops@xn--bcher-kva.example>",
        "email",
        "ops@xn--bcher-kva.example",
    );
    finds("“anna@example.org”", "email", "anna@example.org");
}

#[test]
fn email_near_misses() {
    misses("ping @handle on chat", "email");
    misses("root@localhost", "email");
    misses("a@b.c", "email");
    misses("john..doe@example.com", "email");
    misses("x@1.2.3.4", "email");
}

#[test]
fn cards_with_luhn_and_issuer() {
    finds(
        "card 4111 1111 1111 1111 exp 12/29",
        "card",
        "4111 1111 1111 1111",
    );
    finds("mc 5555-5555-5555-4444", "card", "5555-5555-5555-4444");
    finds("amex 3782 822463 10005", "card", "3782 822463 10005");
    finds(
        "in 2024 4012888888881881 was used",
        "card",
        "4012888888881881",
    );
    finds("2223003122003222", "card", "2223003122003222");
}

#[test]
fn card_near_misses() {
    misses("card 4111 1111 1111 1112", "card");
    misses("order 12345678901234567890", "card");
    misses("id 1234567812345670", "card");
    misses("4111111111111111111111", "card");
    misses("pi is 3.4111111111111111", "card");
}

#[test]
fn iban_mod97_and_length() {
    finds(
        "pay to GB82 WEST 1234 5698 7654 32 now",
        "iban",
        "GB82 WEST 1234 5698 7654 32",
    );
    finds(
        "IBAN DE89370400440532013000.",
        "iban",
        "DE89370400440532013000",
    );
    finds("NL91ABNA0417164300", "iban", "NL91ABNA0417164300");
    misses("GB83 WEST 1234 5698 7654 32", "iban");
    misses("DE89370400440532013001", "iban");
    misses("DE8937040044053201300", "iban");
    misses("US89370400440532013000", "iban");
}

#[test]
fn cloud_and_service_tokens() {
    finds(
        "key=AKIAIOSFODNN7EXAMPLE",
        "aws_access_key",
        "AKIAIOSFODNN7EXAMPLE",
    );
    finds(
        "ASIAY34FZKBOKMUTVV7A",
        "aws_access_key",
        "ASIAY34FZKBOKMUTVV7A",
    );
    misses("AKIAIOSFODNN7EXAMPL", "aws_access_key");
    misses("in ASIA today", "aws_access_key");
    let gh = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
    finds(&format!("token {gh}"), "github_token", gh);
    misses("ghp_short123", "github_token");
    finds(
        "xoxb-1234567890-abcdefghijkl",
        "slack_token",
        "xoxb-1234567890-abcdefghijkl",
    );
    misses("xoxz-1234567890-abcdefghijkl", "slack_token");
    finds(
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "stripe_key",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    );
    misses("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key");
}

#[test]
fn jwt_needs_a_json_header_with_alg() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    finds(&format!("Authorization: {jwt}"), "jwt", jwt);
    misses("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.abc", "jwt");
    misses("eyJhbGciOiJIUzI1NiJ9", "jwt");
}

#[test]
fn pem_private_keys() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----";
    finds(&format!("key:\n{pem}\n"), "private_key", pem);
    misses(
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "private_key",
    );
}

#[test]
fn passwords_in_urls_and_assignments() {
    finds(
        "postgres://admin:s3cr3t-Pa55@db.internal:5432/app",
        "url_password",
        "s3cr3t-Pa55",
    );
    misses("postgres://admin:s3cr3t-Pa55@db.internal:5432/app", "email");
    misses("https://user:${DB_PASSWORD}@db", "url_password");
    finds(
        "Server=db;User Id=app;Password=Hunter2!x;",
        "password",
        "Hunter2!x",
    );
    finds("DB_PASSWORD=\"c0rrect-h0rse\"", "password", "c0rrect-h0rse");
    misses("password: ********", "password");
    misses("the password is stored in the vault", "password");
    finds(
        "api_key = \"q8Zr2LmX0vT7bYw4Kp1NaZ\"",
        "secret",
        "q8Zr2LmX0vT7bYw4Kp1NaZ",
    );
    misses("api_key = \"aaaaaaaaaaaaaaaaaaaa\"", "secret");
    misses("token: abc", "secret");
}

#[test]
fn ssn_rules() {
    finds("SSN 536-22-8714", "ssn", "536-22-8714");
    finds("ssn: 536228714", "ssn", "536228714");
    misses("536228714", "ssn");
    misses("666-22-8714", "ssn");
    misses("936-22-8714", "ssn");
    misses("536-00-8714", "ssn");
    misses("536-22-0000", "ssn");
}

#[test]
fn phones_but_not_dates() {
    finds("call +44 20 7946 0958 today", "phone", "+44 20 7946 0958");
    finds("+1 (415) 555-2671", "phone", "+1 (415) 555-2671");
    finds("+4915123456789", "phone", "+4915123456789");
    finds("tel (415) 555-2671", "phone", "(415) 555-2671");
    finds("415-555-2671", "phone", "415-555-2671");
    misses("on 2024-01-15 we met", "phone");
    misses("on 15.01.2024 we met", "phone");
    misses("score +12", "phone");
    assert!(found("released 2024-01-15 at 10:30").is_empty());
}

#[test]
fn ip_addresses() {
    finds("from 192.168.10.4 port", "ip", "192.168.10.4");
    finds(
        "host 2001:db8::8a2e:370:7334.",
        "ip",
        "2001:db8::8a2e:370:7334",
    );
    finds("addr fe80::1", "ip", "fe80::1");
    misses("version 1.2.3.4", "ip");
    misses("1.2.3.4.5", "ip");
    misses("999.1.1.1", "ip");
    misses("at 12:30:45", "ip");
    misses("mac 00:1A:2B:3C:4D:5E", "ip");
}

#[test]
fn swift_routing_nino_dob_icd() {
    finds("SWIFT: DEUTDEFF500", "swift", "DEUTDEFF500");
    finds("BIC code NWBKGB2L", "swift", "NWBKGB2L");
    misses("Taylor Swift sang", "swift");
    misses("DEUTDEFF500", "swift");
    finds("routing number 021000021", "routing", "021000021");
    misses("routing number 021000022", "routing");
    misses("ref 021000021", "routing");
    finds("NI number AB 12 34 56 C", "nino", "AB 12 34 56 C");
    misses("NI number QQ 12 34 56 C", "nino");
    finds("AB123456C", "nino", "AB123456C");
    misses("GB123456C", "nino");
    misses("AB123456E", "nino");
    finds("born 12 March 1985 in Leeds", "dob", "12 March 1985");
    finds("DOB: 1985-03-12", "dob", "1985-03-12");
    finds("date of birth March 12, 1985", "dob", "March 12, 1985");
    misses("meeting 12 March 2025", "dob");
    finds("diagnosis: E11.9 (type 2 diabetes)", "icd10", "E11.9");
    misses("the M25 motorway", "icd10");
    // Issue 11: the `dx` context word matched inside other words.
    finds("dx: E11.9", "icd10", "E11.9");
    misses("see index E11.9 of the catalogue", "icd10");
    misses("register rdx holds E11.9", "icd10");
}

#[test]
fn markings() {
    finds(
        "ATTORNEY-CLIENT PRIVILEGED",
        "privileged",
        "ATTORNEY-CLIENT PRIVILEGED",
    );
    finds(
        "Privileged & Confidential",
        "privileged",
        "Privileged & Confidential",
    );
    finds(
        "CONFIDENTIAL - do not forward",
        "confidential",
        "CONFIDENTIAL",
    );
    misses("nonconfidentiality", "confidential");
}

#[test]
fn char_spans_count_unicode_characters() {
    let text = "Grüße an jürgen@bücher.de";
    let f = crate::classifier().classify_text(text);
    let (s, e) = warden_classify::char_span(text, f[0].start, f[0].end);
    assert_eq!((s, e), (9, 25));
    assert_eq!(
        text.chars().skip(s).take(e - s).collect::<String>(),
        "jürgen@bücher.de"
    );
}

#[test]
fn custom_detectors_and_disabling() {
    use warden_classify::{Classifier, ClassifierConfig, CustomDetector, Validator};
    let mut config = ClassifierConfig::default();
    config.disabled.insert("ip".into());
    config.custom.push(CustomDetector {
        name: "employee_id".into(),
        class: "pii.identity".into(),
        pattern: r"\bEMP-\d{6}\b".into(),
        validator: Validator::None,
        context: vec!["employee".into()],
        confidence: 0.9,
    });
    config.custom.push(CustomDetector {
        name: "loyalty_card".into(),
        class: "acme.loyalty".into(),
        pattern: r"\bLC\d{10}\b".into(),
        validator: Validator::Luhn,
        context: vec![],
        confidence: 0.8,
    });
    let c = Classifier::new(&config).unwrap();
    let kinds = |t: &str| {
        c.classify_text(t)
            .into_iter()
            .map(|f| f.detector)
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds("employee EMP-123456 at 10.0.0.1"), ["employee_id"]);
    assert!(kinds("EMP-123456").is_empty());
    assert_eq!(kinds("LC0000000018"), ["loyalty_card"]);
    assert!(kinds("LC0000000017").is_empty());
    config.custom[0].pattern = "(".into();
    assert!(Classifier::new(&config).is_err());
}
