//! Recall: national phone formats, short Maestro and 15-digit JCB cards,
//! national identifiers with their check digits, dates of birth in more
//! languages, values hidden by zero-width characters, and password-reset
//! links that are not passwords.

use crate::{classifier, finds, found, misses};

#[test]
fn national_phones_that_need_no_context() {
    for (text, phone) in [
        ("Appelez le 06 12 34 56 78 demain", "06 12 34 56 78"),
        ("Standard : 01.23.45.67.89.", "01.23.45.67.89"),
        ("Büro 030 1234567 ab 9 Uhr", "030 1234567"),
        ("Handy 0151 23456789", "0151 23456789"),
        ("Zentrale (030) 123 4567", "(030) 123 4567"),
        ("Ufficio 06 1234 5678", "06 1234 5678"),
        ("Mijn nummer is 06-12345678", "06-12345678"),
        ("Kantoor 020 123 4567", "020 123 4567"),
        ("Office 020 7946 0958", "020 7946 0958"),
        ("Text 07700 900123 please", "07700 900123"),
        ("Manchester 0161 496 0000", "0161 496 0000"),
        ("ring (415) 555-2671", "(415) 555-2671"),
        ("ring 415-555-2671", "415-555-2671"),
        ("ring 415.555.2671", "415.555.2671"),
    ] {
        finds(text, "phone", phone);
    }
}

#[test]
fn national_phones_that_need_a_context_word() {
    for (text, phone) in [
        ("Llámame al móvil 612 345 678", "612 345 678"),
        ("Teléfono: 912 34 56 78", "912 34 56 78"),
        ("cellulare 333 123 4567", "333 123 4567"),
        ("call me on 415 555 2671", "415 555 2671"),
        ("Tel. 0612345678", "0612345678"),
        ("bel 0201234567 na vijf uur", "0201234567"),
        ("Telefon: 0301234567", "0301234567"),
    ] {
        finds(text, "phone", phone);
    }
    // The same digits without a context word are amounts or ids.
    misses("Importe 612 345 678 euros", "phone");
    misses("Ref 912 34 56 78", "phone");
    misses("total 333 123 4567", "phone");
    misses("label 0201234567", "phone");
}

#[test]
fn digit_groups_that_are_not_phones() {
    misses("order 0123456789 shipped", "phone");
    misses("invoice 2024-000123 and 2024-01-15", "phone");
    misses("on 01.02.2024 at 10.30", "phone");
    misses("amount 1 250 000 EUR", "phone");
    misses("id 00 12 34 56 78", "phone");
    misses("version 0.12.34.56", "phone");
    misses("order 06 12 34 56 78 90 12", "phone");
    misses("Rechnung 030 1234567 8901 2345", "phone");
}

#[test]
fn short_maestro_and_fifteen_digit_jcb() {
    finds("Maestro 6759 6498 2648", "card", "6759 6498 2648");
    finds("card no 500000000009", "card", "500000000009");
    finds("paid by card 560000000003", "card", "560000000003");
    finds("JCB 180000000000002", "card", "180000000000002");
    finds("JCB 213112345678904 ok", "card", "213112345678904");
    finds("3530 1113 3330 0000", "card", "3530 1113 3330 0000");
    // Wrong check digit, wrong issuer, or a bare 12-digit number with no card word.
    misses("Maestro 6759 6498 2649", "card");
    misses("JCB 180000000000003", "card");
    misses("order 213112345678905", "card");
    misses("card 400000000002", "card");
    misses("order 675964982648 shipped", "card");
}

#[test]
fn national_identifiers_with_check_digits() {
    finds(
        "NIR 1 85 03 75 123 456 41",
        "fr_nir",
        "1 85 03 75 123 456 41",
    );
    finds("sécu 185037512345641", "fr_nir", "185037512345641");
    finds(
        "Corse 2 90 05 2A 123 456 29",
        "fr_nir",
        "2 90 05 2A 123 456 29",
    );
    finds("Steuer-IdNr. 86 095 742 719", "de_tax_id", "86 095 742 719");
    finds(
        "Steuerliche Identifikationsnummer: 65929970489",
        "de_tax_id",
        "65929970489",
    );
    finds("DNI 12345678Z", "es_dni", "12345678Z");
    finds("DNI: 12345678-Z", "es_dni", "12345678-Z");
    finds("NIE X1234567L", "es_nie", "X1234567L");
    finds("NIE Y1234567X", "es_nie", "Y1234567X");
    finds(
        "CF RSSMRA85T10A562S",
        "it_codice_fiscale",
        "RSSMRA85T10A562S",
    );
    finds(
        "codice fiscale RSSMRA85T10A56NH",
        "it_codice_fiscale",
        "RSSMRA85T10A56NH",
    );
    finds("BSN 111222333", "nl_bsn", "111222333");
    finds("burgerservicenummer: 1234.56.782", "nl_bsn", "1234.56.782");
}

#[test]
fn national_identifiers_with_wrong_check_digits() {
    misses("NIR 1 85 03 75 123 456 42", "fr_nir");
    misses("sécu 185037512345642", "fr_nir");
    misses("Corse 2 90 05 2A 123 456 30", "fr_nir");
    misses("Steuer-IdNr. 86 095 742 718", "de_tax_id");
    // Valid check digit but ten different digits: not a tax id.
    misses("Steuer-IdNr. 12345678903", "de_tax_id");
    // Valid, but no context word: eleven digits are too common.
    misses("order 86095742719", "de_tax_id");
    misses("DNI 12345678A", "es_dni");
    misses("NIE X1234567M", "es_nie");
    misses("CF RSSMRA85T10A562T", "it_codice_fiscale");
    misses("ID RSSMRA85T10A562SX", "it_codice_fiscale");
    misses("BSN 123456783", "nl_bsn");
    // Valid, but no context word: nine digits are too common.
    misses("order 111222333", "nl_bsn");
}

#[test]
fn existing_ssn_and_nino_still_validate() {
    finds("SSN 536-22-8714", "ssn", "536-22-8714");
    misses("SSN 666-22-8714", "ssn");
    misses("SSN 536-00-8714", "ssn");
    misses("SSN 536-22-0000", "ssn");
    finds("NINO AB 12 34 56 C", "nino", "AB 12 34 56 C");
    finds("NINO AB123456D", "nino", "AB123456D");
    misses("NINO AB 12 34 56 E", "nino");
    misses("NINO QQ 12 34 56 C", "nino");
    misses("NINO BG 12 34 56 C", "nino");
    misses("NINO AO 12 34 56 C", "nino");
}

#[test]
fn password_reset_links_and_sentences_are_not_passwords() {
    for text in [
        "reset your password: https://example.com/reset?token=abc",
        "Reset your password here: https://example.com/reset?token=abc",
        "click the link to reset your password",
        "Forgot password? Reset password: click the link below.",
        "Your password: Reset it from the account page",
        "password: www.example.com/reset",
        "PWD=/home/jane",
        "Password: see the vault entry",
    ] {
        misses(text, "password");
        assert!(
            !classifier().classes_of_text(text).contains("credentials"),
            "{text}: {:?}",
            found(text)
        );
    }
    let doc = serde_json::json!({"password_reset_url": "https://example.com/reset?token=abc"});
    assert!(classifier().classify_json(&doc).is_empty());
    finds("password: hunter2-Xy9", "password", "hunter2-Xy9");
    finds("pwd=Zr9-kq2Lm", "password", "Zr9-kq2Lm");
    finds("Password: hunter2.", "password", "hunter2");
    finds("password=letmein", "password", "letmein");
}
#[test]
fn dates_of_birth_in_more_formats_and_languages() {
    for (text, dob) in [
        ("born 1985-03-14", "1985-03-14"),
        ("DOB: 14/03/1985", "14/03/1985"),
        ("date of birth 14.03.1985", "14.03.1985"),
        ("birthday 03/14/1985", "03/14/1985"),
        ("She was born on 14 March 1985.", "14 March 1985"),
        ("born March 14, 1985", "March 14, 1985"),
        ("née le 14 mars 1985 à Lyon", "14 mars 1985"),
        ("geboren am 14. März 1985", "14. März 1985"),
        ("Fecha de nacimiento: 14/03/1985", "14/03/1985"),
        ("data di nascita 14 marzo 1985", "14 marzo 1985"),
        ("geboortedatum 14 maart 1985", "14 maart 1985"),
        ("Geburtsdatum: 14.03.1985", "14.03.1985"),
    ] {
        finds(text, "dob", dob);
    }
    misses("Meeting on 14 March 1985 in Paris", "dob");
    misses("le 14 mars 1985 à Lyon", "dob");
    misses("am 14. März 1985", "dob");
    misses("invoice 14.03.1985", "dob");
}

#[test]
fn date_of_birth_keys_in_json() {
    let c = classifier();
    for key in ["dob", "birth_date", "date_of_birth", "dateOfBirth"] {
        let doc = serde_json::json!({ key: "14.03.1985" });
        let found = c.classify_json(&doc);
        assert_eq!(found.len(), 1, "{key}: {found:?}");
        assert_eq!(found[0].finding.detector, "dob");
    }
    let doc = serde_json::json!({"created": "14.03.1985"});
    assert!(c.classify_json(&doc).is_empty());
}

/// The span of the only finding of `kind` in `text`, in characters.
fn char_span_of(text: &str, kind: &str) -> Option<(usize, usize)> {
    classifier()
        .classify_text(text)
        .into_iter()
        .find(|f| f.detector == kind)
        .map(|f| warden_classify::char_span(text, f.start, f.end))
}

#[test]
fn zero_width_and_nul_characters_do_not_hide_values() {
    let text = "card 4111\u{200b}1111 1111 1111 ok";
    assert_eq!(char_span_of(text, "card"), Some((5, 24)));
    let text = "mail jane\u{0}@example.com now";
    assert_eq!(char_span_of(text, "email"), Some((5, 22)));
    let text = "IBAN DE89 3704\u{200d}0044 0532 0130 00.";
    assert_eq!(char_span_of(text, "iban"), Some((5, 32)));
    let text = "é \u{feff}SSN 536-\u{ad}22-8714 x";
    assert_eq!(char_span_of(text, "ssn"), Some((7, 19)));
    let text = "key AKIA\u{2060}IOSFODNN7EXAMPLE";
    assert_eq!(char_span_of(text, "aws_access_key"), Some((4, 25)));
    let text = "Call +44 20\u{200c}7946 0958 now";
    assert_eq!(char_span_of(text, "phone"), Some((5, 21)));
    // Spans stay on character boundaries of the original text.
    for text in [
        "\u{200b}4111 1111 1111 1111\u{200b}",
        "日本\u{200b}jane@example.com",
    ] {
        for f in classifier().classify_text(text) {
            assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
            assert!(!text[f.start..f.end].starts_with('\u{200b}'), "{f:?}");
        }
    }
    // Other invisible characters are not removed.
    misses("card 4111\u{2062}1111 1111 1111", "card");
}

#[test]
fn hidden_characters_do_not_change_tokens() {
    use warden_classify::{RedactionAction, RedactionKey, RedactionPolicy, redact};
    let Ok(key) = RedactionKey::new(vec![7u8; 32]) else {
        unreachable!("a 32-byte key is long enough")
    };
    let Ok(policy) = RedactionPolicy::default()
        .with_key(key)
        .rule("financial.card", RedactionAction::Tokenize)
    else {
        unreachable!("a valid rule")
    };
    let token = |text: &str| redact(text, &classifier().classify_text(text), &policy);
    assert_eq!(
        token("4111\u{200b}1111 1111 1111"),
        token("4111 1111 1111 1111")
    );
}
