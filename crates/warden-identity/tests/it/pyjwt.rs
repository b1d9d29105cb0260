//! JWT-SVIDs against PyJWT (with `cryptography`), a second, independent
//! JOSE implementation: it verifies what Warden issues with the key from
//! Warden's SPIFFE bundle, and Warden verifies what it signs.

use std::process::Command;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use warden_identity::{IssueRequest, JwtSvidVerifier, SigningKey, TokenError, bundle_document};
use warden_types::TrustDomain;

const SCRIPT: &str = r#"
import json, sys, time
import jwt
from cryptography.hazmat.primitives import serialization

key_file, bundle, token, kid = sys.argv[1:5]
jwk = json.loads(bundle)["keys"][0]
public = jwt.PyJWK(jwk, algorithm="ES256").key
claims = jwt.decode(token, public, algorithms=["ES256"], audience="warden",
                    options={"require": ["sub", "aud", "exp", "iat", "jti"]})
print(json.dumps({"verified": claims}))
private = serialization.load_pem_private_key(open(key_file, "rb").read(), None)
now = int(time.time())
for i in range(24):
    print(json.dumps({"signed": jwt.encode(
        {"sub": f"spiffe://example.org/agent/invoice-bot/py-{i}", "aud": ["warden"],
         "iat": now, "exp": now + 300, "jti": f"py-{i}"},
        private, algorithm="ES256", headers={"kid": kid, "typ": "JWT"})}))
"#;

/// The token with its signature's S replaced by n - S.
fn twin(token: &str) -> String {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    let low = signature.normalize_s().unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(low.to_bytes()))
}

fn high_s(token: &str) -> bool {
    let signature = token.rsplit_once('.').unwrap().1;
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    signature.normalize_s().is_some()
}

#[test]
fn pyjwt_verifies_warden_tokens_and_warden_verifies_pyjwt_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("jwt-svid.pem");
    let (key, created) = SigningKey::load_or_create(&key_file).unwrap();
    assert!(created);
    let now = SystemTime::now();
    let issued = key
        .issue(&IssueRequest {
            spiffe_id: "spiffe://example.org/agent/invoice-bot/i-1"
                .parse()
                .unwrap(),
            audience: vec!["warden".into()],
            ttl: Duration::from_secs(300),
            now,
        })
        .unwrap();
    let bundle = bundle_document(&[&key], &[]).to_string();
    let out = Command::new(warden_test::mcp_python())
        .args(["-c", SCRIPT])
        .arg(&key_file)
        .arg(&bundle)
        .arg(issued.token.expose())
        .arg(key.key_id())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    // PyJWT accepted Warden's token with the bundle's key and read its claims.
    let claims = &lines[0]["verified"];
    assert_eq!(claims["sub"], "spiffe://example.org/agent/invoice-bot/i-1");
    assert_eq!(claims["aud"], "warden");

    // Warden accepts PyJWT's tokens in the low-S form. PyJWT (like Go's
    // crypto/ecdsa) does not normalise S, so about half come high-S: those
    // are refused as malleable, and their low-S twins accepted.
    let verifier = JwtSvidVerifier::from_signing_key(
        TrustDomain::new("example.org").unwrap(),
        "warden".into(),
        &key,
    );
    let (mut low, mut high) = (0, 0);
    for (i, line) in lines[1..].iter().enumerate() {
        let token = line["signed"].as_str().unwrap();
        let expected = format!("spiffe://example.org/agent/invoice-bot/py-{i}");
        if high_s(token) {
            high += 1;
            assert!(matches!(
                verifier.verify(token, SystemTime::now()),
                Err(TokenError::BadSignature)
            ));
            let svid = verifier.verify(&twin(token), SystemTime::now()).unwrap();
            assert_eq!(svid.spiffe_id.to_string(), expected);
        } else {
            low += 1;
            let svid = verifier.verify(token, SystemTime::now()).unwrap();
            assert_eq!(svid.spiffe_id.to_string(), expected);
            assert_eq!(svid.jti, format!("py-{i}"));
        }
    }
    assert_eq!(low + high, 24);
    // Both forms occur in 24 signatures but for a chance of 2^-23.
    assert!(low > 0 && high > 0, "low {low}, high {high}");
}
