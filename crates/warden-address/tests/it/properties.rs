use proptest::prelude::*;
use warden_address::{Address, Email, Host, Url, addresses_in};

/// Strings built from the characters that matter to these parsers.
fn addressy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a".to_owned()),
            Just("Z".to_owned()),
            Just("0".to_owned()),
            Just("9".to_owned()),
            Just(".".to_owned()),
            Just("-".to_owned()),
            Just("_".to_owned()),
            Just("@".to_owned()),
            Just(":".to_owned()),
            Just("/".to_owned()),
            Just("//".to_owned()),
            Just("\\".to_owned()),
            Just("%".to_owned()),
            Just("%2e".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just("<".to_owned()),
            Just(">".to_owned()),
            Just("\"".to_owned()),
            Just("?".to_owned()),
            Just("#".to_owned()),
            Just(" ".to_owned()),
            Just(",".to_owned()),
            Just("\t".to_owned()),
            Just("https://".to_owned()),
            Just("mailto:".to_owned()),
            Just("ü".to_owned()),
            Just("ｅ".to_owned()),
            Just("\u{3002}".to_owned()),
            Just("xn--".to_owned()),
            Just("::".to_owned()),
            any::<char>().prop_map(String::from),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

fn reparses(host: &Host) -> bool {
    Host::parse(&host.to_string()).ok().as_ref() == Some(host)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn url_never_panics_and_its_host_reparses(s in addressy()) {
        if let Ok(u) = Url::parse(&s) {
            prop_assert!(reparses(u.host()), "{s:?} → {}", u.host());
            let again = Url::parse(u.as_str());
            prop_assert_eq!(again.as_ref().map(Url::host).ok(), Some(u.host()), "{:?}", s);
        }
    }

    #[test]
    fn email_never_panics_and_reparses(s in addressy()) {
        if let Ok(e) = Email::parse(&s) {
            prop_assert!(reparses(e.domain()), "{s:?} → {}", e.domain());
            prop_assert_eq!(Email::parse(&e.to_string()).ok(), Some(e.clone()), "{:?}", s);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = Url::parse(&s);
        let _ = Email::parse(&s);
        let _ = Address::parse(&s);
        if let Ok(h) = Host::parse(&s) {
            prop_assert!(reparses(&h), "{s:?} → {h}");
        }
        let _ = addresses_in(&serde_json::Value::String(s));
    }

    #[test]
    fn address_host_reparses(s in addressy()) {
        if let Ok(a) = Address::parse(&s) {
            prop_assert!(reparses(a.host()), "{s:?} → {}", a.host());
        }
    }
}
