//! The data plane over TLS (`[serve.tls]`): agents authenticate with
//! X.509-SVIDs as with JWT-SVIDs; bad certificates are refused in the
//! handshake. The client is rustls (ring) with a hyper HTTP/1.1 connection.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use warden_identity::{IssuedX509Svid, X509Authority, X509IssueRequest};
use warden_types::TrustDomain;

use crate::harness::{Backend, TestGateway};

fn read() -> Value {
    json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}, "session": "s"})
}

fn send_outside() -> Value {
    json!({"server": "mail", "tool": "send", "args": {"to": "someone@elsewhere.test", "subject": "hi", "body": "invoice"}, "session": "s"})
}

#[expect(deprecated, reason = "the ring provider, as the gateway uses it")]
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn issue(ca: &X509Authority, id: &str, now: SystemTime, ttl: Duration) -> IssuedX509Svid {
    ca.issue(&X509IssueRequest {
        spiffe_id: id.parse().unwrap(),
        ttl,
        now,
    })
    .unwrap()
}

fn svid(gw: &TestGateway, instance: &str) -> IssuedX509Svid {
    issue(
        &gw.x509,
        &format!("spiffe://example.org/agent/invoice-bot/{instance}"),
        SystemTime::now(),
        Duration::from_secs(3600),
    )
}

/// A client that trusts the gateway's server CA and presents `svid`, if any.
fn client(gw: &TestGateway, svid: Option<&IssuedX509Svid>) -> Arc<rustls::ClientConfig> {
    let pki = gw.server_pki.as_ref().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&pki.ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match svid {
        None => builder.with_no_client_auth(),
        Some(svid) => builder
            .with_client_auth_cert(
                vec![svid.certificate_der.clone()],
                PrivateKeyDer::from_pem_slice(svid.private_key_pem.expose().as_bytes()).unwrap(),
            )
            .unwrap(),
    })
}

/// One request on a new TLS connection; `Err` when the connection fails
/// (a refused handshake shows as an alert on the client's first read).
pub(crate) async fn request(
    gw: &TestGateway,
    config: Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    let address = gw.data.trim_start_matches("https://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&address)
        .await
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json");
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let response = match sender
        .send_request(builder.body(Full::new(Bytes::from(body))).unwrap())
        .await
    {
        Ok(response) => response,
        Err(e) => {
            // The connection's own error (the alert) when it ended first.
            let ended = match driver.await {
                Ok(Err(c)) => format!("{c}: {:?}", std::error::Error::source(&c)),
                _ => String::new(),
            };
            return Err(format!("{e}: {:?}; {ended}", std::error::Error::source(&e)));
        }
    };
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    driver.abort();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

async fn decide(
    gw: &TestGateway,
    config: Arc<rustls::ClientConfig>,
    bearer: Option<&str>,
    body: Value,
) -> Result<(u16, Value), String> {
    request(gw, config, "POST", "/v1/decisions", bearer, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x509_svid_is_an_identity_as_a_jwt_svid_is() {
    let gw = TestGateway::start_tls(Backend::Sqlite, "optional").await;
    let one = client(&gw, Some(&svid(&gw, "i-1")));

    let (status, body) = decide(&gw, Arc::clone(&one), None, read()).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], "allow", "{body}");
    let (status, body) = decide(&gw, Arc::clone(&one), None, send_outside())
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], "deny", "{body}");

    // The same answers with a JWT-SVID over TLS without a certificate
    // (`optional`), and with a token for the certificate's own identity.
    let anonymous = client(&gw, None);
    let token = gw.token("invoice-bot");
    for config in [&anonymous, &one] {
        let (_, body) = decide(&gw, Arc::clone(config), Some(&token), read())
            .await
            .unwrap();
        assert_eq!(body["decision"], "allow", "{body}");
        let (_, body) = decide(&gw, Arc::clone(config), Some(&token), send_outside())
            .await
            .unwrap();
        assert_eq!(body["decision"], "deny", "{body}");
    }

    // A token for another identity than the certificate's: refused.
    let two = client(&gw, Some(&svid(&gw, "i-2")));
    let (status, body) = decide(&gw, Arc::clone(&two), Some(&token), read())
        .await
        .unwrap();
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "identity_mismatch", "{body}");

    // Neither certificate nor token: 401 as before.
    let (status, body) = decide(&gw, anonymous, None, read()).await.unwrap();
    assert_eq!(status, 401, "{body}");

    // An unregistered agent's certificate passes the handshake (the CA
    // issued it) but is no agent.
    let ghost = issue(
        &gw.x509,
        "spiffe://example.org/agent/ghost-bot/i-1",
        SystemTime::now(),
        Duration::from_secs(600),
    );
    let (status, body) = decide(&gw, client(&gw, Some(&ghost)), None, read())
        .await
        .unwrap();
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unknown_agent", "{body}");

    // The bundle over TLS serves the X.509 CA as well as the JWT key.
    let (status, bundle) = request(&gw, one, "GET", "/.well-known/spiffe/bundle", None, None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let uses: Vec<&str> = bundle["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["use"].as_str().unwrap())
        .collect();
    assert_eq!(uses, ["jwt-svid", "x509-svid"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_agents_certificate_is_refused() {
    let gw = TestGateway::start_tls(Backend::Sqlite, "optional").await;
    let one = client(&gw, Some(&svid(&gw, "i-1")));
    let two = client(&gw, Some(&svid(&gw, "i-2")));
    let (_, body) = decide(&gw, Arc::clone(&one), None, read()).await.unwrap();
    assert_eq!(body["decision"], "allow", "{body}");
    let (s, _) = gw
        .admin_post(
            &gw.admin_token,
            "/v1/revocations",
            json!({"agent": "invoice-bot", "instance": "i-1", "reason": "key leaked"}),
        )
        .await;
    assert_eq!(s, 200);
    let (status, body) = decide(&gw, one, None, read()).await.unwrap();
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "revoked", "{body}");
    let (_, body) = decide(&gw, two, None, read()).await.unwrap();
    assert_eq!(
        body["decision"], "allow",
        "other instances keep working: {body}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_certificates_are_refused_in_the_handshake() {
    let gw = TestGateway::start_tls(Backend::Sqlite, "optional").await;
    let now = SystemTime::now();
    let expired = issue(
        &gw.x509,
        "spiffe://example.org/agent/invoice-bot/i-1",
        now - Duration::from_secs(7200),
        Duration::from_secs(3600),
    );
    let other_domain =
        X509Authority::generate(&TrustDomain::new("other.org").unwrap(), now).unwrap();
    let foreign = issue(
        &other_domain,
        "spiffe://other.org/agent/invoice-bot/i-1",
        now,
        Duration::from_secs(3600),
    );
    // Another CA for the same trust domain (another Warden's).
    let impostor_ca =
        X509Authority::generate(&TrustDomain::new("example.org").unwrap(), now).unwrap();
    let impostor = issue(
        &impostor_ca,
        "spiffe://example.org/agent/invoice-bot/i-1",
        now,
        Duration::from_secs(3600),
    );
    let token = gw.token("invoice-bot");
    for (svid, what, alert) in [
        (&expired, "expired", "CertificateExpired"),
        (&foreign, "another trust domain's CA", "UnknownCA"),
        (&impostor, "another CA of this trust domain", "UnknownCA"),
    ] {
        // Even with a valid token alongside: the connection never gets a request in.
        let result = decide(&gw, client(&gw, Some(svid)), Some(&token), read()).await;
        let error = result.expect_err(what);
        assert!(
            error.contains(&format!("AlertReceived({alert})")),
            "{what}: {error}"
        );
    }
    // The server keeps serving good clients.
    let (_, body) = decide(&gw, client(&gw, Some(&svid(&gw, "i-1"))), None, read())
        .await
        .unwrap();
    assert_eq!(body["decision"], "allow", "{body}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_client_auth_refuses_a_client_without_a_certificate() {
    let gw = TestGateway::start_tls(Backend::Sqlite, "required").await;
    let token = gw.token("invoice-bot");
    let error = decide(&gw, client(&gw, None), Some(&token), read())
        .await
        .expect_err("no certificate");
    assert!(
        error.contains("AlertReceived(CertificateRequired)"),
        "{error}"
    );
    let (_, body) = decide(&gw, client(&gw, Some(&svid(&gw, "i-1"))), None, read())
        .await
        .unwrap();
    assert_eq!(body["decision"], "allow", "{body}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_data_plane_serves_the_x509_ca_in_its_bundle() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let bundle: Value = gw
        .client
        .get(format!("{}/.well-known/spiffe/bundle", gw.data))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let x509 = &bundle["keys"][1];
    assert_eq!(x509["use"], "x509-svid");
    assert!(
        x509.get("kid").is_none(),
        "the profile forbids a kid: {x509}"
    );
    let x5c = x509["x5c"].as_array().unwrap();
    assert_eq!(x5c.len(), 1);
    let der = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        x5c[0].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(der, gw.x509.certificate().der().to_vec());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_ca_bundle_file_replaces_wardens_own_ca() {
    // Another issuer for the trust domain (as a SPIRE server would be), its
    // certificate in a bundle file next to a CA of another trust domain.
    let now = SystemTime::now();
    let spire = X509Authority::generate(&TrustDomain::new("example.org").unwrap(), now).unwrap();
    let other = X509Authority::generate(&TrustDomain::new("other.org").unwrap(), now).unwrap();
    let bundle = format!("{}{}", spire.certificate().pem(), other.certificate().pem());
    let gw = TestGateway::start_tls_with_client_ca(Backend::Sqlite, &bundle).await;

    let from_spire = issue(
        &spire,
        "spiffe://example.org/agent/invoice-bot/i-1",
        now,
        Duration::from_secs(600),
    );
    let (_, body) = decide(&gw, client(&gw, Some(&from_spire)), None, read())
        .await
        .unwrap();
    assert_eq!(body["decision"], "allow", "{body}");

    // The other trust domain's CA is in the file, but its agents are not ours.
    let from_other = issue(
        &other,
        "spiffe://other.org/agent/invoice-bot/i-1",
        now,
        Duration::from_secs(600),
    );
    let error = decide(&gw, client(&gw, Some(&from_other)), None, read())
        .await
        .expect_err("another trust domain");
    assert!(error.contains("AlertReceived("), "{error}");

    // Warden's own CA is no longer trusted for client certificates.
    let error = decide(&gw, client(&gw, Some(&svid(&gw, "i-1"))), None, read())
        .await
        .expect_err("Warden's own CA is not in the bundle file");
    assert!(error.contains("AlertReceived(UnknownCA)"), "{error}");
    gw.stop().await;
}

#[test]
fn unusable_tls_files_are_named_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let pki = warden_test::server_pki(&dir.path().join("tls"));
    let td = TrustDomain::new("example.org").unwrap();
    let ca = X509Authority::generate(&td, SystemTime::now()).unwrap();
    let config = |cert: &Path, key: &Path, client_ca: Option<&Path>| warden_policy::TlsConfig {
        cert: cert.to_owned(),
        key: key.to_owned(),
        client_auth: warden_policy::ClientAuth::Optional,
        client_ca: client_ca.map(Path::to_owned),
    };
    let missing = dir.path().join("nope.pem");
    let setup = |c: warden_policy::TlsConfig| {
        warden_gateway::X509Setup::new(ca.certificate().clone(), &td, Some(&c))
            .unwrap_err()
            .to_string()
    };
    let error = setup(config(&missing, &pki.key, None));
    assert!(
        error.contains("[serve.tls] cert") && error.contains("nope.pem"),
        "{error}"
    );
    let error = setup(config(&pki.cert, &missing, None));
    assert!(
        error.contains("[serve.tls] key") && error.contains("nope.pem"),
        "{error}"
    );
    let error = setup(config(&pki.cert, &pki.key, Some(&missing)));
    assert!(
        error.contains("[serve.tls] client_ca") && error.contains("nope.pem"),
        "{error}"
    );
    // A key file that holds no key.
    let error = setup(config(&pki.cert, &dir.path().join("tls/server.pem"), None));
    assert!(error.contains("[serve.tls] key"), "{error}");
    // Another certificate's key.
    let other = warden_test::server_pki(&dir.path().join("other"));
    let error = setup(config(&pki.cert, &other.key, None));
    assert!(error.contains("[serve.tls] cert and key"), "{error}");
    // A good set works, and says TLS is on.
    let ok = warden_gateway::X509Setup::new(
        ca.certificate().clone(),
        &td,
        Some(&config(&pki.cert, &pki.key, Some(&pki.ca))),
    )
    .unwrap();
    assert!(ok.tls_enabled());
}

/// The `x509-svid` authorities of the data plane's bundle, DER.
async fn bundle_authorities(gw: &TestGateway) -> Vec<Vec<u8>> {
    let (status, bundle) = request(
        gw,
        client(gw, None),
        "GET",
        "/.well-known/spiffe/bundle",
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{bundle}");
    bundle["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["use"] == "x509-svid")
        .map(|k| {
            base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                k["x5c"][0].as_str().unwrap(),
            )
            .unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_rotation_in_the_store_reaches_the_mtls_verifier_and_the_bundle() {
    let kek = warden_identity::KeyEncryptionKey::generate();
    let gw = TestGateway::start_tls_store_ca(Backend::Sqlite, kek.clone()).await;
    let trust_domain = TrustDomain::new("example.org").unwrap();
    let old_ca = Arc::clone(&gw.x509);
    let before = client(&gw, Some(&svid(&gw, "i-1")));
    let (status, body) = decide(&gw, Arc::clone(&before), None, read())
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(
        bundle_authorities(&gw).await,
        vec![old_ca.certificate().der().to_vec()]
    );

    // Another node (or the CLI) rotates the CA in the store.
    let after = warden_gateway::ca_keys::rotate_authority(
        &gw.store,
        &kek,
        &trust_domain,
        warden_identity::DEFAULT_LEEWAY,
    )
    .await
    .unwrap();
    assert_ne!(after.current.certificate(), old_ca.certificate());
    assert_eq!(after.all.len(), 2);
    let new_svid = issue(
        &after.current,
        "spiffe://example.org/agent/invoice-bot/i-2",
        SystemTime::now(),
        Duration::from_secs(3600),
    );
    let fresh = client(&gw, Some(&new_svid));
    // The gateway's watcher reads the change counter and takes the new CA.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while decide(&gw, Arc::clone(&fresh), None, read()).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the rotated CA never reached the mTLS verifier"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Both CAs are trusted now, without a restart, and both are in the bundle.
    for config in [&before, &fresh] {
        let (status, body) = decide(&gw, Arc::clone(config), None, read()).await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["decision"], "allow", "{body}");
    }
    assert_eq!(
        bundle_authorities(&gw).await,
        vec![
            after.current.certificate().der().to_vec(),
            old_ca.certificate().der().to_vec()
        ]
    );
    // A CA that is not Warden's still is not trusted.
    let stranger = X509Authority::generate(&trust_domain, SystemTime::now()).unwrap();
    let stranger = client(
        &gw,
        Some(&issue(
            &stranger,
            "spiffe://example.org/agent/invoice-bot/i-3",
            SystemTime::now(),
            Duration::from_secs(3600),
        )),
    );
    assert!(decide(&gw, stranger, None, read()).await.is_err());
    gw.stop().await;
}
