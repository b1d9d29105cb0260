//! A faithful fake of a SPIRE server, for federation tests: a trust domain
//! with a self-signed X.509 CA (as SPIRE's self-signed/upstream CA), JWT
//! signing keys (EC P-256 as SPIRE's default `ec-p256`, RSA as `rsa-2048`),
//! JWT-SVIDs and X.509-SVIDs in SPIRE's shape, and the bundle document as
//! SPIRE's bundle endpoint serves it.
//!
//! ```
//! let spire = warden_test::spire::FakeSpire::new("prod.acme");
//! let token = spire.jwt_svid(spire.ec_kid(), "spiffe://prod.acme/ns/payments/sa/invoice-bot", &["warden"], 300);
//! assert_eq!(token.split('.').count(), 3);
//! assert!(spire.bundle(300, 1).contains("\"use\":\"jwt-svid\""));
//! ```

#![expect(
    clippy::expect_used,
    reason = "a test helper: a failure is a failed test"
)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Signer as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use serde_json::json;

/// A 2048-bit RSA key for tests only (ring, behind rcgen, cannot generate
/// RSA keys). Never use it for anything else.
pub const TEST_RSA_KEY_PEM: &str = include_str!("spire_rsa_test_key.pem");

/// One JWT signing key of the fake SPIRE server.
enum JwtKey {
    Ec(p256::ecdsa::SigningKey),
    Rsa(KeyPair),
}

/// A fake SPIRE server of one trust domain.
pub struct FakeSpire {
    trust_domain: String,
    ca_key: KeyPair,
    ca_params: CertificateParams,
    ca_der: Vec<u8>,
    jwt_keys: Vec<(String, JwtKey)>,
}

impl std::fmt::Debug for FakeSpire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSpire")
            .field("trust_domain", &self.trust_domain)
            .finish_non_exhaustive()
    }
}

/// An X.509-SVID: the certificate (DER) and its key (PKCS#8 PEM).
#[derive(Debug, Clone)]
pub struct X509Svid {
    /// The leaf certificate, DER.
    pub certificate_der: Vec<u8>,
    /// Its private key, PKCS#8 PEM.
    pub private_key_pem: String,
}

fn random_kid() -> String {
    let key = p256::ecdsa::SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    URL_SAFE_NO_PAD.encode(&key.to_bytes()[..24])
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl FakeSpire {
    /// A trust domain with a fresh CA and one EC P-256 JWT key.
    pub fn new(trust_domain: &str) -> FakeSpire {
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params.distinguished_name.push(DnType::CountryName, "US");
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "SPIFFE");
        ca_params.subject_alt_names = vec![SanType::URI(
            format!("spiffe://{trust_domain}")
                .try_into()
                .expect("a URI SAN"),
        )];
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let ca_der = ca_params
            .self_signed(&ca_key)
            .expect("a CA certificate")
            .der()
            .to_vec();
        let mut spire = FakeSpire {
            trust_domain: trust_domain.to_owned(),
            ca_key,
            ca_params,
            ca_der,
            jwt_keys: Vec::new(),
        };
        spire.add_ec_key();
        spire
    }

    /// Adds a new EC P-256 JWT key (a rotation) and returns its `kid`.
    pub fn add_ec_key(&mut self) -> String {
        let kid = random_kid();
        let key = p256::ecdsa::SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        self.jwt_keys.push((kid.clone(), JwtKey::Ec(key)));
        kid
    }

    /// Adds the test RSA key as a JWT key and returns its `kid`.
    pub fn add_rsa_key(&mut self) -> String {
        let kid = random_kid();
        let key = KeyPair::from_pkcs8_pem_and_sign_algo(TEST_RSA_KEY_PEM, &rcgen::PKCS_RSA_SHA256)
            .expect("the test RSA key");
        self.jwt_keys.push((kid.clone(), JwtKey::Rsa(key)));
        kid
    }

    /// Drops the JWT key `kid` from the bundle (the end of a rotation).
    pub fn remove_key(&mut self, kid: &str) {
        self.jwt_keys.retain(|(k, _)| k != kid);
    }

    /// The `kid` of the first EC key.
    pub fn ec_kid(&self) -> &str {
        self.jwt_keys
            .iter()
            .find(|(_, k)| matches!(k, JwtKey::Ec(_)))
            .map(|(kid, _)| kid.as_str())
            .expect("an EC key")
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// The bundle document as SPIRE's bundle endpoint serves it.
    pub fn bundle(&self, refresh_hint: u64, sequence: u64) -> String {
        let ca = rcgen::KeyPair::public_key_raw(&self.ca_key).to_vec();
        let mut keys = vec![json!({
            "use": "x509-svid",
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(ca.get(1..33).expect("x")),
            "y": URL_SAFE_NO_PAD.encode(ca.get(33..65).expect("y")),
            "x5c": [STANDARD.encode(&self.ca_der)],
        })];
        for (kid, key) in &self.jwt_keys {
            keys.push(match key {
                JwtKey::Ec(key) => {
                    let point = key.verifying_key().to_encoded_point(false);
                    json!({
                        "use": "jwt-svid",
                        "kty": "EC",
                        "kid": kid,
                        "crv": "P-256",
                        "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
                        "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
                    })
                }
                JwtKey::Rsa(key) => {
                    let (n, e) = rsa_public(key.public_key_raw());
                    json!({
                        "use": "jwt-svid",
                        "kty": "RSA",
                        "kid": kid,
                        "n": URL_SAFE_NO_PAD.encode(n),
                        "e": URL_SAFE_NO_PAD.encode(e),
                    })
                }
            });
        }
        json!({
            "keys": keys,
            "spiffe_sequence": sequence,
            "spiffe_refresh_hint": refresh_hint,
        })
        .to_string()
    }

    /// A JWT-SVID for `sub` signed with key `kid` (ES256 or RS256 by the
    /// key's type), in SPIRE's shape: header `alg`, `kid`, `typ` `JWT`;
    /// claims `aud` (an array), `exp`, `iat`, `sub`, no `jti`.
    pub fn jwt_svid(&self, kid: &str, sub: &str, aud: &[&str], ttl_secs: u64) -> String {
        self.sign(kid, sub, aud, ttl_secs, false)
    }

    /// As [`FakeSpire::jwt_svid`] with an EC key, with the signature's S
    /// in its high form (as Go's `crypto/ecdsa` may leave it).
    pub fn jwt_svid_high_s(&self, kid: &str, sub: &str, aud: &[&str], ttl_secs: u64) -> String {
        self.sign(kid, sub, aud, ttl_secs, true)
    }

    fn sign(&self, kid: &str, sub: &str, aud: &[&str], ttl_secs: u64, high_s: bool) -> String {
        let (_, key) = self
            .jwt_keys
            .iter()
            .find(|(k, _)| k == kid)
            .expect("a known kid");
        let alg = match key {
            JwtKey::Ec(_) => "ES256",
            JwtKey::Rsa(_) => "RS256",
        };
        let now = unix_now();
        let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
        let claims = json!({"aud": aud, "exp": now + ttl_secs, "iat": now, "sub": sub});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match key {
            JwtKey::Ec(key) => {
                let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
                let signature = signature.normalize_s().unwrap_or(signature);
                let signature = if high_s {
                    let (r, s) = signature.split_scalars();
                    p256::ecdsa::Signature::from_scalars(r, -*s).expect("a high-S signature")
                } else {
                    signature
                };
                signature.to_bytes().to_vec()
            }
            JwtKey::Rsa(key) => {
                rcgen::SigningKey::sign(key, input.as_bytes()).expect("an RSA signature")
            }
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// An X.509-SVID for `spiffe_id` from the CA, in SPIRE's shape: subject
    /// `C=US, O=SPIRE`, one URI SAN, `CA:FALSE`, digitalSignature,
    /// keyEncipherment and keyAgreement, serverAuth and clientAuth, valid an hour.
    pub fn x509_svid(&self, spiffe_id: &str) -> X509Svid {
        let key = KeyPair::generate().expect("an SVID key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("SVID parameters");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CountryName, "US");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "SPIRE");
        params.subject_alt_names = vec![SanType::URI(spiffe_id.try_into().expect("a URI SAN"))];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(1);
        params.not_after = now + time::Duration::hours(1);
        let issuer = Issuer::new(self.ca_params.clone(), &self.ca_key);
        let certificate = params.signed_by(&key, &issuer).expect("an X.509-SVID");
        X509Svid {
            certificate_der: certificate.der().to_vec(),
            private_key_pem: key.serialize_pem(),
        }
    }
}

/// `n` and `e` of a DER `RSAPublicKey` (SEQUENCE of two INTEGERs).
fn rsa_public(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn read(der: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = der[0];
        let (len, start) = if der[1] < 0x80 {
            (usize::from(der[1]), 2)
        } else {
            let n = usize::from(der[1] & 0x7f);
            (
                der[2..2 + n]
                    .iter()
                    .fold(0, |a, b| (a << 8) | usize::from(*b)),
                2 + n,
            )
        };
        (tag, &der[start..start + len], &der[start + len..])
    }
    let (_, body, _) = read(der);
    let (_, n, rest) = read(body);
    let (_, e, _) = read(rest);
    let strip = |v: &[u8]| {
        v.iter()
            .skip_while(|b| **b == 0)
            .copied()
            .collect::<Vec<_>>()
    };
    (strip(n), strip(e))
}
