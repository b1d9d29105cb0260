//! Federation: bundles in SPIRE's format, foreign JWT-SVIDs and
//! X.509-SVIDs from a fake SPIRE, and the mapping rules.

use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;
use warden_test::spire::FakeSpire;
use warden_types::{AgentName, InstanceId, TrustDomain};

use crate::{
    CertificateError, FederatedBundle, FederatedDomain, FederatedTrust, FederationRule,
    ForeignSpiffeId, SigningKey, SpiffeIdPattern, TokenError, instance_from_segment,
};

const BOT: &str = "spiffe://prod.acme/ns/payments/sa/invoice-bot";

fn td(name: &str) -> TrustDomain {
    TrustDomain::new(name).unwrap()
}

fn rules() -> Vec<FederationRule> {
    vec![
        FederationRule {
            pattern: SpiffeIdPattern::Exact(BOT.to_owned()),
            agent: AgentName::new("invoice-bot").unwrap(),
            instance: Some(InstanceId::new("prod-payments").unwrap()),
        },
        FederationRule {
            pattern: SpiffeIdPattern::Prefix("spiffe://prod.acme/ns/payments/".to_owned()),
            agent: AgentName::new("payments").unwrap(),
            instance: None,
        },
    ]
}

fn trust(spire: &FakeSpire) -> FederatedTrust {
    let bundle = FederatedBundle::parse(td("prod.acme"), spire.bundle(300, 1).as_bytes()).unwrap();
    FederatedTrust::new(td("example.org"), "warden".to_owned()).with_domain(
        td("prod.acme"),
        FederatedDomain {
            bundle: Some(bundle),
            rules: rules(),
        },
    )
}

#[test]
fn a_spire_bundle_document_is_parsed() {
    let mut spire = FakeSpire::new("prod.acme");
    spire.add_rsa_key();
    let mut document: serde_json::Value = serde_json::from_str(&spire.bundle(60, 7)).unwrap();
    document["keys"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"use": "something-else", "kty": "EC"}));
    let bundle = FederatedBundle::parse(td("prod.acme"), document.to_string().as_bytes()).unwrap();
    assert_eq!(bundle.jwt_authorities().len(), 2);
    assert_eq!(bundle.x509_authorities().len(), 1);
    assert_eq!(bundle.refresh_hint(), Some(Duration::from_secs(60)));
    assert_eq!(bundle.sequence(), Some(7));
    assert_eq!(bundle.skipped().len(), 1, "{:?}", bundle.skipped());
    assert!(bundle.skipped()[0].contains("unknown use `something-else`"));

    let error = FederatedBundle::parse(td("prod.acme"), b"{\"nokeys\": 1}").unwrap_err();
    assert_eq!(
        error.to_string(),
        "bundle of trust domain `prod.acme`: no `keys` array"
    );
}

#[test]
fn a_foreign_es256_token_maps_onto_the_rule_s_agent() {
    let spire = FakeSpire::new("prod.acme");
    let trust = trust(&spire);
    let token = spire.jwt_svid(spire.ec_kid(), BOT, &["warden", "other"], 300);
    assert!(trust.claims_federated(&token));
    let svid = trust.verify_jwt(&token, SystemTime::now()).unwrap();
    assert_eq!(
        svid.spiffe_id.to_string(),
        "spiffe://example.org/agent/invoice-bot/prod-payments"
    );
    assert_eq!(svid.federated_from.as_deref(), Some(BOT));
    assert!(svid.jti.starts_with("jwt:"), "{}", svid.jti);
}

#[test]
fn a_foreign_rs256_token_maps_by_prefix_with_the_last_segment_as_instance() {
    let mut spire = FakeSpire::new("prod.acme");
    let kid = spire.add_rsa_key();
    let trust = trust(&spire);
    let token = spire.jwt_svid(
        &kid,
        "spiffe://prod.acme/ns/payments/sa/refund-worker",
        &["warden"],
        300,
    );
    let svid = trust.verify_jwt(&token, SystemTime::now()).unwrap();
    assert_eq!(
        svid.spiffe_id.to_string(),
        "spiffe://example.org/agent/payments/refund-worker"
    );
}

#[test]
fn high_s_is_accepted_from_federated_domains_only() {
    let spire = FakeSpire::new("prod.acme");
    let trust = trust(&spire);
    let token = spire.jwt_svid_high_s(spire.ec_kid(), BOT, &["warden"], 300);
    assert!(trust.verify_jwt(&token, SystemTime::now()).is_ok());
    // Warden's own verifier stays strict (its tests cover high-S refusal).
    let own = crate::JwtSvidVerifier::from_signing_key(
        td("example.org"),
        "warden".to_owned(),
        &SigningKey::generate(),
    );
    assert!(own.verify(&token, SystemTime::now()).is_err());
}

#[test]
fn foreign_tokens_are_refused_for_what_is_wrong_with_them() {
    let spire = FakeSpire::new("prod.acme");
    let trust = trust(&spire);
    let now = SystemTime::now();

    let unmapped = spire.jwt_svid(
        spire.ec_kid(),
        "spiffe://prod.acme/ns/billing/sa/x",
        &["warden"],
        300,
    );
    let error = trust.verify_jwt(&unmapped, now).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no federation rule maps `spiffe://prod.acme/ns/billing/sa/x`"
    );

    let wrong_audience = spire.jwt_svid(spire.ec_kid(), BOT, &["someone-else"], 300);
    assert!(matches!(
        trust.verify_jwt(&wrong_audience, now),
        Err(TokenError::WrongAudience { .. })
    ));

    // Same kid, another key: the signature does not verify.
    let impostor = FakeSpire::new("prod.acme");
    let forged = impostor.jwt_svid(impostor.ec_kid(), BOT, &["warden"], 300);
    assert!(matches!(
        trust.verify_jwt(&forged, now),
        Err(TokenError::UnknownKey { .. })
    ));
    let bundle =
        FederatedBundle::parse(td("prod.acme"), impostor.bundle(300, 1).as_bytes()).unwrap();
    let mut swapped = trust.clone();
    swapped.set_bundle(bundle);
    assert_eq!(
        swapped.verify_jwt(&token_of(&spire), now).unwrap_err(),
        TokenError::UnknownKey {
            kid: spire.ec_kid().to_owned()
        }
    );

    let expired = spire.jwt_svid(spire.ec_kid(), BOT, &["warden"], 1);
    assert!(matches!(
        trust.verify_jwt(&expired, now + Duration::from_secs(120)),
        Err(TokenError::Expired { .. })
    ));

    let other_domain = FakeSpire::new("other.acme");
    let token = other_domain.jwt_svid(
        other_domain.ec_kid(),
        "spiffe://other.acme/x",
        &["warden"],
        300,
    );
    assert!(!trust.claims_federated(&token));

    let no_bundle = FederatedTrust::new(td("example.org"), "warden".to_owned()).with_domain(
        td("prod.acme"),
        FederatedDomain {
            bundle: None,
            rules: rules(),
        },
    );
    assert_eq!(
        no_bundle
            .verify_jwt(&token_of(&spire), now)
            .unwrap_err()
            .to_string(),
        "no bundle for federated trust domain `prod.acme` yet"
    );
}

fn token_of(spire: &FakeSpire) -> String {
    spire.jwt_svid(spire.ec_kid(), BOT, &["warden"], 300)
}

#[test]
fn a_foreign_x509_svid_chains_to_its_domain_and_maps() {
    let spire = FakeSpire::new("prod.acme");
    let trust = trust(&spire);
    let svid = spire.x509_svid(BOT);
    let leaf = CertificateDer::from(svid.certificate_der);
    assert!(trust.claims_federated_certificate(&leaf));
    let verified = trust.verify_x509(&leaf, &[], SystemTime::now()).unwrap();
    assert_eq!(
        verified.spiffe_id.to_string(),
        "spiffe://example.org/agent/invoice-bot/prod-payments"
    );
    assert_eq!(verified.federated_from.as_deref(), Some(BOT));
    assert!(verified.jti.starts_with("x509:"));

    let impostor = FakeSpire::new("prod.acme");
    let forged = CertificateDer::from(impostor.x509_svid(BOT).certificate_der);
    assert_eq!(
        trust.verify_x509(&forged, &[], SystemTime::now()),
        Err(CertificateError::UnknownIssuer)
    );
    let unmapped = CertificateDer::from(
        spire
            .x509_svid("spiffe://prod.acme/ns/billing/sa/x")
            .certificate_der,
    );
    assert_eq!(
        trust
            .verify_x509(&unmapped, &[], SystemTime::now())
            .unwrap_err()
            .to_string(),
        "no federation rule maps `spiffe://prod.acme/ns/billing/sa/x`"
    );
}

#[test]
fn foreign_spiffe_ids_and_default_instances() {
    let id: ForeignSpiffeId = BOT.parse().unwrap();
    assert_eq!(id.trust_domain().as_str(), "prod.acme");
    assert_eq!(id.last_segment(), Some("invoice-bot"));
    assert_eq!(id.to_string(), BOT);
    for bad in [
        "http://prod.acme/x",
        "spiffe://Prod/x",
        "spiffe://prod.acme//x",
        "spiffe://prod.acme/x/../y",
        "spiffe://prod.acme/x?y",
    ] {
        assert!(bad.parse::<ForeignSpiffeId>().is_err(), "{bad}");
    }
    assert_eq!(
        instance_from_segment(Some("a b+c")).unwrap().as_str(),
        "a-b-c"
    );
    assert_eq!(instance_from_segment(None).unwrap().as_str(), "federated");
}
