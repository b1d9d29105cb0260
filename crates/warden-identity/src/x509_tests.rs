//! Tests of the X.509 CA, X.509-SVIDs and their verification.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::{CertificateParams, IsCa, KeyPair, SanType};
use warden_types::{SpiffeId, TrustDomain};

use crate::*;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn domain(name: &str) -> TrustDomain {
    TrustDomain::new(name).unwrap()
}

fn ca(name: &str) -> X509Authority {
    X509Authority::generate(&domain(name), now() - Duration::from_secs(60)).unwrap()
}

fn issue(ca: &X509Authority, id: &str) -> IssuedX509Svid {
    ca.issue(&X509IssueRequest {
        spiffe_id: id.parse().unwrap(),
        ttl: DEFAULT_X509_SVID_TTL,
        now: now(),
    })
    .unwrap()
}

fn verify(
    verifier: &X509SvidVerifier,
    issued: &IssuedX509Svid,
    at: SystemTime,
) -> Result<VerifiedSvid, CertificateError> {
    verifier.verify(&issued.certificate_der, &[], at)
}

/// A certificate signed by `ca` with the URIs given and `is_ca`, for cases
/// outside the profile.
fn raw(ca: &X509Authority, uris: &[&str], is_ca: IsCa) -> CertificateDer<'static> {
    let mut params = CertificateParams::default();
    params.subject_alt_names = uris
        .iter()
        .map(|u| SanType::URI((*u).try_into().unwrap()))
        .collect();
    params.is_ca = is_ca;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = time::OffsetDateTime::from(now() - Duration::from_secs(60));
    params.not_after = time::OffsetDateTime::from(now() + Duration::from_secs(3600));
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    ca.sign_raw(&params, &key).unwrap()
}

#[test]
fn an_issued_svid_verifies_into_the_agent_and_instance() {
    let ca = ca("example.org");
    let issued = issue(&ca, "spiffe://example.org/agent/invoice-bot/i-1");
    assert!(
        issued
            .certificate_pem
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        issued
            .private_key_pem
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert_eq!(issued.expires_at, now() + DEFAULT_X509_SVID_TTL);
    let verifier = X509SvidVerifier::from_authority(&ca).unwrap();
    let svid = verify(&verifier, &issued, now()).unwrap();
    let expected: SpiffeId = "spiffe://example.org/agent/invoice-bot/i-1"
        .parse()
        .unwrap();
    assert_eq!(svid.spiffe_id, expected);
    assert_eq!(svid.spiffe_id.agent().as_str(), "invoice-bot");
    assert_eq!(svid.spiffe_id.instance().as_str(), "i-1");
    assert_eq!(svid.jti, format!("{X509_SERIAL_PREFIX}{}", issued.serial));
    assert_eq!(svid.issued_at, now());
    assert_eq!(svid.expires_at, issued.expires_at);
    // The PEM holds the same certificate as the DER.
    let from_pem = certificates_from_pem(&issued.certificate_pem).unwrap();
    assert_eq!(from_pem, vec![issued.certificate_der.clone()]);
    // Two issues, two serials.
    assert_ne!(
        issue(&ca, "spiffe://example.org/agent/invoice-bot/i-1").serial,
        issued.serial
    );
}

#[test]
fn the_leaf_follows_the_x509_svid_profile() {
    let ca = ca("example.org");
    let issued = issue(&ca, "spiffe://example.org/agent/a/b");
    let (ca_flag, uris) = crate::x509_verify::profile(&issued.certificate_der);
    assert!(!ca_flag);
    assert_eq!(uris, vec!["spiffe://example.org/agent/a/b".to_owned()]);
    let (ca_flag, uris) = crate::x509_verify::profile(ca.certificate().der());
    assert!(ca_flag);
    assert_eq!(uris, vec!["spiffe://example.org".to_owned()]);
}

#[test]
fn an_expired_or_not_yet_valid_certificate_is_refused() {
    let ca = ca("example.org");
    let issued = issue(&ca, "spiffe://example.org/agent/a/b");
    let verifier = X509SvidVerifier::from_authority(&ca).unwrap();
    let later = now() + DEFAULT_X509_SVID_TTL + Duration::from_secs(1);
    assert!(matches!(
        verify(&verifier, &issued, later),
        Err(CertificateError::Expired { .. })
    ));
    let earlier = now() - Duration::from_secs(10);
    assert_eq!(
        verify(&verifier, &issued, earlier),
        Err(CertificateError::NotYetValid)
    );
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let ours = ca("example.org");
    let theirs = ca("example.org");
    let issued = issue(&theirs, "spiffe://example.org/agent/a/b");
    let verifier = X509SvidVerifier::from_authority(&ours).unwrap();
    assert_eq!(
        verify(&verifier, &issued, now()),
        Err(CertificateError::UnknownIssuer)
    );
}

#[test]
fn a_certificate_of_another_trust_domain_is_refused_even_from_a_trusted_ca() {
    let ours = ca("example.org");
    let theirs = ca("other.org");
    let issued = issue(&theirs, "spiffe://other.org/agent/a/b");
    // Both CAs trusted (as with a federated bundle file): still refused.
    let verifier = X509SvidVerifier::new(
        domain("example.org"),
        vec![ours.certificate().clone(), theirs.certificate().clone()],
    )
    .unwrap();
    assert_eq!(
        verify(&verifier, &issued, now()),
        Err(CertificateError::WrongTrustDomain {
            expected: domain("example.org"),
            found: domain("other.org"),
        })
    );
    // And a CA refuses to issue outside its trust domain.
    assert!(matches!(
        ours.issue(&X509IssueRequest {
            spiffe_id: "spiffe://other.org/agent/a/b".parse().unwrap(),
            ttl: DEFAULT_X509_SVID_TTL,
            now: now(),
        }),
        Err(IdentityError::ForeignTrustDomain { .. })
    ));
}

#[test]
fn a_ca_certificate_is_refused_as_a_leaf() {
    let ca = ca("example.org");
    let verifier = X509SvidVerifier::from_authority(&ca).unwrap();
    // The CA's own certificate.
    assert_eq!(
        verifier.verify(ca.certificate().der(), &[], now()),
        Err(CertificateError::CaAsLeaf)
    );
    // A CA certificate it signed, with an agent SPIFFE ID.
    let sub_ca = raw(
        &ca,
        &["spiffe://example.org/agent/a/b"],
        IsCa::Ca(rcgen::BasicConstraints::Unconstrained),
    );
    assert_eq!(
        verifier.verify(&sub_ca, &[], now()),
        Err(CertificateError::CaAsLeaf)
    );
}

#[test]
fn a_leaf_needs_exactly_one_uri_san_that_is_an_agent_spiffe_id() {
    let ca = ca("example.org");
    let verifier = X509SvidVerifier::from_authority(&ca).unwrap();
    let two = raw(
        &ca,
        &[
            "spiffe://example.org/agent/a/b",
            "spiffe://example.org/agent/c/d",
        ],
        IsCa::ExplicitNoCa,
    );
    assert_eq!(
        verifier.verify(&two, &[], now()),
        Err(CertificateError::UriSanCount { found: 2 })
    );
    let none = raw(&ca, &[], IsCa::ExplicitNoCa);
    assert_eq!(
        verifier.verify(&none, &[], now()),
        Err(CertificateError::UriSanCount { found: 0 })
    );
    let workload = raw(&ca, &["spiffe://example.org/workload"], IsCa::ExplicitNoCa);
    assert!(matches!(
        verifier.verify(&workload, &[], now()),
        Err(CertificateError::BadSpiffeId { .. })
    ));
    // The same shape with one agent URI verifies: the refusals are the SANs'.
    let one = raw(&ca, &["spiffe://example.org/agent/a/b"], IsCa::ExplicitNoCa);
    assert!(verifier.verify(&one, &[], now()).is_ok());
}

#[test]
fn garbage_is_malformed() {
    let ca = ca("example.org");
    let verifier = X509SvidVerifier::from_authority(&ca).unwrap();
    let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    assert!(matches!(
        verifier.verify(&garbage, &[], now()),
        Err(CertificateError::Malformed { .. })
    ));
}

#[test]
fn the_ca_is_created_once_then_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("keys/x509-ca.key");
    let cert = dir.path().join("keys/x509-ca.pem");
    let td = domain("example.org");
    let (first, created) = X509Authority::load_or_create(&key, &cert, &td, now()).unwrap();
    assert!(created);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let (second, created) = X509Authority::load_or_create(&key, &cert, &td, now()).unwrap();
    assert!(!created);
    assert_eq!(first.certificate(), second.certificate());
    // A certificate issued by the first verifies with the second.
    let issued = issue(&first, "spiffe://example.org/agent/a/b");
    let verifier = X509SvidVerifier::from_authority(&second).unwrap();
    assert!(verify(&verifier, &issued, now()).is_ok());
    // The trust domain changed: refused, naming the file.
    let error = X509Authority::load_or_create(&key, &cert, &domain("other.org"), now())
        .unwrap_err()
        .to_string();
    assert!(error.contains("x509-ca.pem"), "{error}");
    assert!(error.contains("spiffe://other.org"), "{error}");
    // The certificate went missing: made anew from the same key, so that
    // SVIDs issued before still verify.
    std::fs::remove_file(&cert).unwrap();
    let (third, created) = X509Authority::load_or_create(&key, &cert, &td, now()).unwrap();
    assert!(!created);
    let verifier = X509SvidVerifier::from_authority(&third).unwrap();
    assert!(verify(&verifier, &issued, now()).is_ok());
}

#[test]
fn the_bundle_serves_the_jwt_key_and_the_x509_ca() {
    let key = SigningKey::generate();
    let ca = ca("example.org");
    let bundle = bundle_document(&[&key], &[ca.certificate()]);
    let keys = bundle["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["use"], "jwt-svid");
    assert_eq!(keys[1]["use"], "x509-svid");
    assert_eq!(keys[1]["kty"], "EC");
    assert_eq!(keys[1]["crv"], "P-256");
    let x5c = keys[1]["x5c"].as_array().unwrap();
    assert_eq!(x5c.len(), 1);
    let der = STANDARD.decode(x5c[0].as_str().unwrap()).unwrap();
    assert_eq!(der, ca.certificate().der().to_vec());
    // JWT verifiers read the bundle as before, skipping the X.509 entry.
    let entries = VerifyingKeyEntry::from_bundle(&bundle).unwrap();
    assert_eq!(entries.len(), 1);
}

#[test]
fn a_chain_through_an_intermediate_ca_verifies_when_presented_whole() {
    let root = ca("example.org");
    // An intermediate CA signed by the root (as a SPIRE server under an
    // upstream CA would be).
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "intermediate");
    params.subject_alt_names = vec![SanType::URI("spiffe://example.org".try_into().unwrap())];
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    params.not_before = time::OffsetDateTime::from(now() - Duration::from_secs(60));
    params.not_after = time::OffsetDateTime::from(now() + Duration::from_secs(86400));
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let intermediate = root.sign_raw(&params, &key).unwrap();
    let issuer = rcgen::Issuer::new(params, &key);
    let mut leaf = CertificateParams::default();
    leaf.subject_alt_names = vec![SanType::URI(
        "spiffe://example.org/agent/a/b".try_into().unwrap(),
    )];
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    leaf.not_before = time::OffsetDateTime::from(now() - Duration::from_secs(60));
    leaf.not_after = time::OffsetDateTime::from(now() + Duration::from_secs(3600));
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let leaf = leaf.signed_by(&leaf_key, &issuer).unwrap().der().clone();

    let verifier = X509SvidVerifier::from_authority(&root).unwrap();
    let svid = verifier
        .verify(&leaf, std::slice::from_ref(&intermediate), now())
        .unwrap();
    assert_eq!(svid.spiffe_id.to_string(), "spiffe://example.org/agent/a/b");
    assert_eq!(
        verifier.verify(&leaf, &[], now()),
        Err(CertificateError::UnknownIssuer)
    );
}

#[test]
fn a_ca_reads_back_from_its_pem_and_two_cas_are_trusted_side_by_side() {
    let old = ca("example.org");
    let text = old.to_pem();
    let back = X509Authority::from_pem(&domain("example.org"), text.expose()).unwrap();
    assert_eq!(back.certificate(), old.certificate());
    assert_eq!(
        back.certificate().fingerprint(),
        old.certificate().fingerprint()
    );
    assert_eq!(back.certificate().fingerprint().len(), 64);
    // Another trust domain, a key without its certificate, garbage: refused.
    assert!(X509Authority::from_pem(&domain("other.org"), text.expose()).is_err());
    let key_only = text
        .expose()
        .split("-----BEGIN CERTIFICATE-----")
        .next()
        .unwrap();
    assert!(X509Authority::from_pem(&domain("example.org"), key_only).is_err());
    assert!(X509Authority::from_pem(&domain("example.org"), "nonsense").is_err());
    // A certificate of a CA with the same name but another key: refused.
    let new = ca("example.org");
    let mixed = format!("{}{}", key_only, new.certificate().pem());
    assert!(X509Authority::from_pem(&domain("example.org"), &mixed).is_err());
    // Both CAs as roots: an SVID of either verifies (same subject, other keys).
    let verifier = X509SvidVerifier::new(
        domain("example.org"),
        vec![new.certificate().clone(), old.certificate().clone()],
    )
    .unwrap();
    let at = now() + Duration::from_secs(10);
    verify(
        &verifier,
        &issue(&old, "spiffe://example.org/agent/a/1"),
        at,
    )
    .unwrap();
    verify(
        &verifier,
        &issue(&new, "spiffe://example.org/agent/a/2"),
        at,
    )
    .unwrap();
    let only_new =
        X509SvidVerifier::new(domain("example.org"), vec![new.certificate().clone()]).unwrap();
    assert!(
        verify(
            &only_new,
            &issue(&old, "spiffe://example.org/agent/a/1"),
            at
        )
        .is_err()
    );
}
