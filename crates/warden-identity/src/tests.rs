//! Tests across modules: issuing and verifying tokens, key files.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use warden_types::{SpiffeId, TrustDomain};

use crate::*;

const AUDIENCE: &str = "warden";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn spiffe_id(s: &str) -> SpiffeId {
    s.parse().unwrap()
}

fn example_org() -> TrustDomain {
    TrustDomain::new("example.org").unwrap()
}

fn request(id: &str) -> IssueRequest {
    IssueRequest {
        spiffe_id: spiffe_id(id),
        audience: vec![AUDIENCE.to_owned()],
        ttl: Duration::from_secs(300),
        now: now(),
    }
}

fn issue(key: &SigningKey) -> String {
    let issued = key
        .issue(&request("spiffe://example.org/agent/invoice-bot/i-1"))
        .unwrap();
    issued.token.expose().to_owned()
}

fn verifier(key: &SigningKey) -> JwtSvidVerifier {
    JwtSvidVerifier::from_signing_key(example_org(), AUDIENCE.to_owned(), key)
}

/// Signs arbitrary header and claims JSON with `key`, for tokens `issue` would
/// never make.
fn sign_raw(key: &SigningKey, header: &serde_json::Value, claims: &serde_json::Value) -> String {
    use p256::ecdsa::signature::Signer as _;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature: p256::ecdsa::Signature = key.ecdsa().sign(input.as_bytes());
    let signature = signature.normalize_s().unwrap_or(signature);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn good_claims() -> serde_json::Value {
    serde_json::json!({
        "sub": "spiffe://example.org/agent/invoice-bot/i-1",
        "aud": [AUDIENCE],
        "exp": 1_750_000_300,
        "iat": 1_750_000_000,
        "jti": "j-1",
    })
}

fn header(key: &SigningKey) -> serde_json::Value {
    serde_json::json!({"alg": "ES256", "kid": key.key_id(), "typ": "JWT"})
}

#[test]
fn issued_token_verifies() {
    let key = SigningKey::generate();
    let issued = key
        .issue(&request("spiffe://example.org/agent/invoice-bot/i-1"))
        .unwrap();
    let svid = verifier(&key).verify(issued.token.expose(), now()).unwrap();
    assert_eq!(
        svid.spiffe_id.to_string(),
        "spiffe://example.org/agent/invoice-bot/i-1"
    );
    assert_eq!(svid.jti, issued.jti);
    assert_eq!(svid.issued_at, now());
    assert_eq!(svid.expires_at, now() + Duration::from_secs(300));
    assert_eq!(issued.expires_at, svid.expires_at);
}

#[test]
fn issued_token_has_the_jwt_svid_shape() {
    let key = SigningKey::generate();
    let token = issue(&key);
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(
        header,
        serde_json::json!({"alg": "ES256", "kid": key.key_id(), "typ": "JWT"})
    );
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], "spiffe://example.org/agent/invoice-bot/i-1");
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["iat"], 1_750_000_000);
    assert_eq!(claims["exp"], 1_750_000_300);
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 64);
}

#[test]
fn each_token_gets_its_own_jti() {
    let key = SigningKey::generate();
    let a = key
        .issue(&request("spiffe://example.org/agent/a/i-1"))
        .unwrap();
    let b = key
        .issue(&request("spiffe://example.org/agent/a/i-1"))
        .unwrap();
    assert_ne!(a.jti, b.jti);
}

#[test]
fn several_audiences_are_accepted() {
    let key = SigningKey::generate();
    let mut req = request("spiffe://example.org/agent/invoice-bot/i-1");
    req.audience = vec!["other".to_owned(), AUDIENCE.to_owned()];
    let issued = key.issue(&req).unwrap();
    assert!(verifier(&key).verify(issued.token.expose(), now()).is_ok());
}

#[test]
fn issue_refuses_empty_audience_and_short_ttl() {
    let key = SigningKey::generate();
    let mut req = request("spiffe://example.org/agent/invoice-bot/i-1");
    req.audience.clear();
    assert!(matches!(key.issue(&req), Err(IdentityError::EmptyAudience)));
    let mut req = request("spiffe://example.org/agent/invoice-bot/i-1");
    req.ttl = Duration::from_millis(10);
    assert!(matches!(
        key.issue(&req),
        Err(IdentityError::InvalidLifetime { .. })
    ));
}

#[test]
fn expired_token_is_refused_after_the_leeway() {
    let key = SigningKey::generate();
    let token = issue(&key);
    let v = verifier(&key);
    // Within the 30 s leeway past `exp`: still accepted.
    assert!(v.verify(&token, now() + Duration::from_secs(310)).is_ok());
    let err = v
        .verify(&token, now() + Duration::from_secs(330))
        .unwrap_err();
    assert_eq!(
        err,
        TokenError::Expired {
            expired_at: 1_750_000_300
        }
    );
    assert_eq!(
        err.to_string(),
        "token expired at 1750000300 (unix seconds)"
    );
    // With no leeway, expiry is exact.
    let strict = verifier(&key).with_leeway(Duration::ZERO);
    assert!(
        strict
            .verify(&token, now() + Duration::from_secs(299))
            .is_ok()
    );
    assert!(matches!(
        strict.verify(&token, now() + Duration::from_secs(300)),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn token_from_the_future_is_refused() {
    let key = SigningKey::generate();
    let token = issue(&key);
    let earlier = now() - Duration::from_secs(60);
    assert_eq!(
        verifier(&key).verify(&token, earlier),
        Err(TokenError::NotYetValid)
    );
    // Clock skew within the leeway is tolerated.
    assert!(
        verifier(&key)
            .verify(&token, now() - Duration::from_secs(20))
            .is_ok()
    );
}

#[test]
fn token_signed_by_another_key_is_refused() {
    let key = SigningKey::generate();
    let other = SigningKey::generate();
    let token = issue(&other);
    assert!(matches!(
        verifier(&key).verify(&token, now()),
        Err(TokenError::UnknownKey { .. })
    ));
    // Even when the other key claims our kid.
    let forged = sign_raw(&other, &header(&key), &good_claims());
    assert_eq!(
        verifier(&key).verify(&forged, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn tampered_claims_are_refused() {
    let key = SigningKey::generate();
    let token = issue(&key);
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "spiffe://example.org/agent/admin-bot/i-1".into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert_eq!(
        verifier(&key).verify(&tampered, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn tampered_signature_is_refused() {
    let key = SigningKey::generate();
    let token = issue(&key);
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[10] ^= 1;
    let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes));
    assert_eq!(
        verifier(&key).verify(&tampered, now()),
        Err(TokenError::BadSignature)
    );
}

/// Issue 11: ES256 signatures were accepted in both S forms.
#[test]
fn the_high_s_twin_of_a_signature_is_refused() {
    let key = SigningKey::generate();
    let token = issue(&key);
    assert!(verifier(&key).verify(&token, now()).is_ok());
    let (input, signature) = token.rsplit_once('.').unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&bytes).unwrap();
    let (r, s) = sig.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
    assert_ne!(twin, sig);
    let malleated = format!("{input}.{}", URL_SAFE_NO_PAD.encode(twin.to_bytes()));
    assert_eq!(
        verifier(&key).verify(&malleated, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn alg_none_and_hmac_are_refused() {
    let key = SigningKey::generate();
    for alg in ["none", "HS256", "RS256", "es256"] {
        let header = serde_json::json!({"alg": alg, "kid": key.key_id(), "typ": "JWT"});
        let token = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(good_claims().to_string())
        );
        assert_eq!(
            verifier(&key).verify(&token, now()),
            Err(TokenError::UnsupportedAlgorithm {
                alg: alg.to_owned()
            }),
            "{alg}"
        );
    }
}

#[test]
fn wrong_audience_is_refused() {
    let key = SigningKey::generate();
    let token = issue(&key);
    let v = JwtSvidVerifier::from_signing_key(example_org(), "billing".to_owned(), &key);
    let err = v.verify(&token, now()).unwrap_err();
    assert_eq!(
        err,
        TokenError::WrongAudience {
            expected: "billing".to_owned()
        }
    );
    assert_eq!(err.to_string(), "token audience does not include `billing`");
}

#[test]
fn wrong_trust_domain_is_refused() {
    let key = SigningKey::generate();
    let token = key
        .issue(&request("spiffe://evil.example/agent/invoice-bot/i-1"))
        .unwrap();
    let err = verifier(&key)
        .verify(token.token.expose(), now())
        .unwrap_err();
    assert_eq!(
        err,
        TokenError::WrongTrustDomain {
            expected: example_org(),
            found: TrustDomain::new("evil.example").unwrap(),
        }
    );
}

#[test]
fn subject_must_be_an_agent_spiffe_id() {
    let key = SigningKey::generate();
    let mut claims = good_claims();
    claims["sub"] = "spiffe://example.org/workload/web".into();
    let token = sign_raw(&key, &header(&key), &claims);
    assert!(matches!(
        verifier(&key).verify(&token, now()),
        Err(TokenError::BadSubject { .. })
    ));
}

#[test]
fn required_claims_must_be_present() {
    let key = SigningKey::generate();
    for claim in ["sub", "aud", "exp", "iat", "jti"] {
        let mut claims = good_claims();
        claims.as_object_mut().unwrap().remove(claim);
        let token = sign_raw(&key, &header(&key), &claims);
        assert_eq!(
            verifier(&key).verify(&token, now()),
            Err(TokenError::MissingClaim { claim }),
            "{claim}"
        );
    }
}

#[test]
fn header_checks() {
    let key = SigningKey::generate();
    let v = verifier(&key);
    let mut jose = header(&key);
    jose["typ"] = "JOSE".into();
    assert!(
        v.verify(&sign_raw(&key, &jose, &good_claims()), now())
            .is_ok()
    );
    let mut untyped = header(&key);
    untyped.as_object_mut().unwrap().remove("typ");
    assert!(
        v.verify(&sign_raw(&key, &untyped, &good_claims()), now())
            .is_ok()
    );

    let mut bad_typ = header(&key);
    bad_typ["typ"] = "at+jwt".into();
    assert!(matches!(
        v.verify(&sign_raw(&key, &bad_typ, &good_claims()), now()),
        Err(TokenError::Malformed { .. })
    ));
    let mut crit = header(&key);
    crit["crit"] = serde_json::json!(["exp"]);
    assert!(matches!(
        v.verify(&sign_raw(&key, &crit, &good_claims()), now()),
        Err(TokenError::Malformed { .. })
    ));
    let mut no_kid = header(&key);
    no_kid.as_object_mut().unwrap().remove("kid");
    assert_eq!(
        v.verify(&sign_raw(&key, &no_kid, &good_claims()), now()),
        Err(TokenError::MissingClaim { claim: "kid" })
    );
}

#[test]
fn malformed_and_oversize_tokens_are_refused_without_echoing_them() {
    let key = SigningKey::generate();
    let v = verifier(&key);
    for token in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.AA", "e30.e30.AA"] {
        let err = v.verify(token, now()).unwrap_err();
        assert!(
            matches!(
                err,
                TokenError::Malformed { .. } | TokenError::MissingClaim { .. }
            ),
            "{token}: {err:?}"
        );
    }
    let big = "a".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(v.verify(&big, now()), Err(TokenError::TooLarge));

    // Broken claims JSON: the error names the part, not the content.
    let secretish = "sup3r-s3cret-claim";
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header(&key).to_string()),
        URL_SAFE_NO_PAD.encode(format!("{{\"sub\": 1, \"x\": \"{secretish}\"}}"))
    );
    let signature: p256::ecdsa::Signature = {
        use p256::ecdsa::signature::Signer as _;
        let signature: p256::ecdsa::Signature = key.ecdsa().sign(input.as_bytes());
        signature.normalize_s().unwrap_or(signature)
    };
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    let message = v.verify(&token, now()).unwrap_err().to_string();
    assert!(message.starts_with("malformed token: claims"), "{message}");
    assert!(!message.contains(secretish), "{message}");
    assert!(!message.contains(&token), "{message}");
}

#[test]
fn error_messages_never_contain_the_token() {
    let key = SigningKey::generate();
    let token = issue(&key);
    let other = JwtSvidVerifier::from_signing_key(
        example_org(),
        AUDIENCE.to_owned(),
        &SigningKey::generate(),
    );
    let later = now() + Duration::from_secs(3600);
    for err in [
        other.verify(&token, now()).unwrap_err(),
        verifier(&key).verify(&token, later).unwrap_err(),
    ] {
        let (_, signature) = token.rsplit_once('.').unwrap();
        assert!(!err.to_string().contains(signature));
        assert!(!format!("{err:?}").contains(signature));
    }
}

#[test]
fn revoked_agent_and_instance() {
    let key = SigningKey::generate();
    let svid = verifier(&key).verify(&issue(&key), now()).unwrap();
    let mut revocations = RevocationSet::new();
    assert!(!revocations.is_revoked(&svid.spiffe_id));
    revocations.revoke_instance(
        svid.spiffe_id.agent().clone(),
        svid.spiffe_id.instance().clone(),
    );
    assert!(revocations.is_revoked(&svid.spiffe_id));
    assert!(!revocations.is_revoked(&spiffe_id("spiffe://example.org/agent/invoice-bot/i-2")));

    let mut revocations = RevocationSet::new();
    revocations.revoke_agent(svid.spiffe_id.agent().clone());
    assert!(revocations.is_revoked(&svid.spiffe_id));
    assert!(revocations.is_revoked(&spiffe_id("spiffe://example.org/agent/invoice-bot/i-2")));
}

#[test]
fn public_jwk_and_bundle() {
    let key = SigningKey::generate();
    let jwk = key.public_jwk();
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["kid"], key.key_id());
    assert_eq!(jwk["use"], "jwt-svid");
    assert_eq!(jwk["alg"], "ES256");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(jwk["x"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    // 16 bytes of SHA-256, base64url without padding.
    assert_eq!(key.key_id().len(), 22);

    let other = SigningKey::generate();
    let bundle = bundle_document(&[&key, &other], &[]);
    assert_eq!(bundle["spiffe_refresh_hint"], 300);
    assert_eq!(bundle["spiffe_sequence"], 1);
    assert_eq!(bundle["keys"].as_array().unwrap().len(), 2);

    // A verifier built from the served bundle accepts tokens of either key.
    let keys = VerifyingKeyEntry::from_bundle(&bundle).unwrap();
    assert_eq!(keys[0].kid(), key.key_id());
    assert_eq!(keys[0], key.verifying_key());
    let v = JwtSvidVerifier::new(example_org(), AUDIENCE.to_owned(), keys);
    assert!(v.verify(&issue(&key), now()).is_ok());
    assert!(v.verify(&issue(&other), now()).is_ok());
}

#[test]
fn from_jwk_refuses_bad_keys() {
    let key = SigningKey::generate();
    let mut jwk = key.public_jwk();
    jwk["crv"] = "P-384".into();
    assert!(VerifyingKeyEntry::from_jwk(&jwk).is_err());
    let mut jwk = key.public_jwk();
    jwk["x"] = URL_SAFE_NO_PAD.encode([7u8; 32]).into();
    assert!(VerifyingKeyEntry::from_jwk(&jwk).is_err());
}

#[test]
fn debug_output_holds_no_key_material() {
    let key = SigningKey::generate();
    let debug = format!("{key:?}");
    assert!(debug.contains(key.key_id()));
    assert!(debug.contains("[redacted]"));
    let scalar = key.ecdsa().to_bytes();
    let pem = {
        use p256::pkcs8::EncodePrivateKey as _;
        key.ecdsa()
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
    };
    for encoded in [
        URL_SAFE_NO_PAD.encode(scalar),
        format!("{:?}", scalar.as_slice()),
        format!("{:02x?}", scalar.as_slice()),
    ] {
        assert!(!debug.contains(&encoded));
    }
    assert!(!debug.contains(pem.lines().nth(1).unwrap()));

    let issued = key
        .issue(&request("spiffe://example.org/agent/a/i-1"))
        .unwrap();
    let debug = format!("{issued:?}");
    assert!(!debug.contains(issued.token.expose()));
}

#[cfg(unix)]
mod key_files {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn key_file_is_created_private_and_reloads_with_the_same_kid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/jwt/signing.pem");
        let (created, was_created) = SigningKey::load_or_create(&path).unwrap();
        assert!(was_created);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("keys")), 0o700);
        assert_eq!(mode(&dir.path().join("keys/jwt")), 0o700);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));

        let (loaded, was_created) = SigningKey::load_or_create(&path).unwrap();
        assert!(!was_created);
        assert_eq!(loaded.key_id(), created.key_id());
        // The reloaded key signs tokens the first one's verifier accepts.
        assert!(verifier(&created).verify(&issue(&loaded), now()).is_ok());
    }

    #[test]
    fn loose_key_file_is_refused_with_path_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.pem");
        SigningKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = SigningKey::load_or_create(&path).unwrap_err();
        assert!(matches!(
            err,
            IdentityError::KeyPermissions { mode: 0o644, .. }
        ));
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("(mode 0644)"), "{message}");
        assert!(message.contains("expected 0600"), "{message}");
    }

    #[test]
    fn garbage_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.pem");
        std::fs::write(&path, "not a key").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = SigningKey::load_or_create(&path).unwrap_err();
        assert!(matches!(err, IdentityError::InvalidKeyFile { .. }), "{err}");
        assert!(err.to_string().contains("signing.pem"));
    }

    #[test]
    fn pem_round_trips() {
        use p256::pkcs8::EncodePrivateKey as _;
        let key = SigningKey::generate();
        let pem = key
            .ecdsa()
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let loaded = SigningKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(loaded.key_id(), key.key_id());
        assert!(SigningKey::from_pkcs8_pem("nope").is_err());
    }
}

#[test]
fn duplicate_claims_are_refused() {
    let key = SigningKey::generate();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header(&key).to_string()),
        URL_SAFE_NO_PAD.encode(
            r#"{"sub":"spiffe://example.org/agent/a/i-1","sub":"spiffe://example.org/agent/b/i-1","aud":"warden","exp":1750000300,"iat":1750000000,"jti":"j"}"#
        )
    );
    let signature: p256::ecdsa::Signature = {
        use p256::ecdsa::signature::Signer as _;
        let signature: p256::ecdsa::Signature = key.ecdsa().sign(input.as_bytes());
        signature.normalize_s().unwrap_or(signature)
    };
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    assert!(matches!(
        verifier(&key).verify(&token, now()),
        Err(TokenError::Malformed { .. })
    ));
}

/// RFC 7515 Appendix A.3: the ES256 example (key from its Figure 19, the JWS
/// from A.3.1). Its signature happens to be the high-S form: the ECDSA math
/// must accept it and its low-S twin, and Warden's malleability rule must
/// take only the low-S one.
#[test]
fn rfc_7515_a3_es256_vector() {
    use p256::elliptic_curve::ops::Reduce as _;
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "kid": "rfc7515-a3",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    });
    let key = VerifyingKeyEntry::from_jwk(&jwk).unwrap();
    let jws = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    let (input, signature) = jws.rsplit_once('.').unwrap();
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();

    // The RFC's signature verifies under plain ECDSA…
    use p256::ecdsa::signature::Verifier as _;
    key.ecdsa().verify(input.as_bytes(), &signature).unwrap();
    // …is the high-S form, which Warden refuses…
    let low = signature.normalize_s().expect("the RFC's S is above n/2");
    assert!(matches!(
        crate::verify::verify_signature(key.ecdsa(), input.as_bytes(), &signature),
        Err(TokenError::BadSignature)
    ));
    // …and its low-S twin (r, n - s) passes.
    crate::verify::verify_signature(key.ecdsa(), input.as_bytes(), &low).unwrap();
    // A changed payload or signature does not.
    let changed = input.replace("eyJpc3MiOiJqb2Ui", "eyJpc3MiOiJqb2Ei");
    assert!(crate::verify::verify_signature(key.ecdsa(), changed.as_bytes(), &low).is_err());
    let (r, s) = low.split_scalars();
    let bumped = p256::Scalar::reduce_bytes(&s.to_bytes()) + p256::Scalar::ONE;
    let other = p256::ecdsa::Signature::from_scalars(r.to_bytes(), bumped.to_bytes()).unwrap();
    assert!(crate::verify::verify_signature(key.ecdsa(), input.as_bytes(), &other).is_err());
}
