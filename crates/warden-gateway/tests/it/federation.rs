//! Federation (`[[federation]]`): SVIDs of a SPIRE trust domain
//! (`prod.acme`, a fake SPIRE server made in the test) verified against
//! its bundle, from a file or from a bundle endpoint over HTTPS
//! (`https_web`), mapped onto Warden agents and decided by their policies.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use warden_test::spire::FakeSpire;

use crate::harness::{Backend, TestGateway};

const BOT: &str = "spiffe://prod.acme/ns/payments/sa/invoice-bot";
const MAPPED: &str = "spiffe://example.org/agent/invoice-bot/invoice-bot";

fn read() -> Value {
    json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}, "session": "s"})
}

fn send_outside() -> Value {
    json!({"server": "mail", "tool": "send", "args": {"to": "someone@elsewhere.test", "subject": "hi", "body": "invoice"}, "session": "s"})
}

/// warden.toml with `prod.acme` federated from `source` (TOML lines) and
/// one rule: the invoice bot's SPIFFE ID is agent `invoice-bot`.
fn federated(source: &str) -> impl FnOnce(String) -> String {
    let section = format!(
        "\n[[federation]]\ntrust_domain = \"prod.acme\"\n{source}\n[[federation.map]]\nid = \"{BOT}\"\nagent = \"invoice-bot\"\n"
    );
    move |text| format!("{text}{section}")
}

/// A gateway federating `spire` through a bundle file.
async fn with_bundle_file(spire: &FakeSpire, dir: &std::path::Path) -> TestGateway {
    let path = dir.join("prod.acme.json");
    std::fs::write(&path, spire.bundle(300, 1)).unwrap();
    TestGateway::start(
        Backend::Sqlite,
        federated(&format!("bundle_file = \"{}\"", path.display())),
    )
    .await
}

#[tokio::test]
async fn a_mapped_foreign_jwt_svid_is_decided_by_the_mapped_agent_s_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut spire = FakeSpire::new("prod.acme");
    let rsa = spire.add_rsa_key();
    let gw = with_bundle_file(&spire, dir.path()).await;

    let es256 = spire.jwt_svid(spire.ec_kid(), BOT, &["warden"], 300);
    let (status, body) = gw.decide(&es256, read()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["agent"], MAPPED);
    let (status, body) = gw.decide(&es256, send_outside()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], "deny", "{body}");

    let rs256 = spire.jwt_svid(&rsa, BOT, &["warden"], 300);
    let (status, body) = gw.decide(&rs256, read()).await;
    assert_eq!(
        (status, body["decision"].as_str()),
        (200, Some("allow")),
        "{body}"
    );

    // Go's crypto/ecdsa leaves S as it comes: the high form verifies too.
    let high_s = spire.jwt_svid_high_s(spire.ec_kid(), BOT, &["warden"], 300);
    let (status, body) = gw.decide(&high_s, read()).await;
    assert_eq!(
        (status, body["decision"].as_str()),
        (200, Some("allow")),
        "{body}"
    );

    // The audit record keeps the foreign identity.
    let (status, entries) = gw
        .admin_get(&gw.admin_token, "/v1/audit/entries?from=0&to=100")
        .await;
    assert_eq!(status, 200, "{entries}");
    assert!(
        entries
            .to_string()
            .contains(&format!("federated identity `{BOT}`")),
        "{entries}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn foreign_svids_without_a_rule_or_a_known_key_or_warden_s_audience_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spire = FakeSpire::new("prod.acme");
    let gw = with_bundle_file(&spire, dir.path()).await;

    let unmapped = spire.jwt_svid(
        spire.ec_kid(),
        "spiffe://prod.acme/ns/billing/sa/x",
        &["warden"],
        300,
    );
    let (status, body) = gw.decide(&unmapped, read()).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unmapped_identity", "{body}");
    assert!(
        body.to_string()
            .contains("no federation rule maps `spiffe://prod.acme/ns/billing/sa/x`"),
        "{body}"
    );

    // Signed by a key that is not in prod.acme's bundle.
    let impostor = FakeSpire::new("prod.acme");
    let forged = impostor.jwt_svid(impostor.ec_kid(), BOT, &["warden"], 300);
    let (status, body) = gw.decide(&forged, read()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("unknown key"), "{body}");

    let elsewhere = spire.jwt_svid(spire.ec_kid(), BOT, &["spire-server"], 300);
    let (status, body) = gw.decide(&elsewhere, read()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("audience"), "{body}");

    // Warden's own tokens are verified as before.
    let (status, _) = gw.decide(&gw.token("invoice-bot"), read()).await;
    assert_eq!(status, 200);
    gw.stop().await;
}

/// A loopback HTTPS server answering every GET with the current bundle
/// document, counting the requests.
struct BundleEndpoint {
    url: String,
    ca: std::path::PathBuf,
    document: Arc<parking_lot::Mutex<String>>,
    fetches: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

async fn bundle_endpoint(dir: &std::path::Path, document: String) -> BundleEndpoint {
    let pki = warden_test::server_pki(&dir.join("endpoint-tls"));
    let chain = CertificateDer::pem_file_iter(&pki.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&pki.key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(crate::mtls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/bundle", listener.local_addr().unwrap());
    let document = Arc::new(parking_lot::Mutex::new(document));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (served, counted) = (Arc::clone(&document), Arc::clone(&fetches));
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, served, counted) =
                (acceptor.clone(), Arc::clone(&served), Arc::clone(&counted));
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |_request| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let body = served.lock().clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    BundleEndpoint {
        url,
        ca: pki.ca,
        document,
        fetches,
        task,
    }
}

#[tokio::test]
async fn a_bundle_endpoint_is_fetched_over_https_and_refreshed_on_its_hint_after_a_key_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let mut spire = FakeSpire::new("prod.acme");
    let old = spire.ec_kid().to_owned();
    // A hint of 1 s is raised to the 10 s floor.
    let endpoint = bundle_endpoint(dir.path(), spire.bundle(1, 1)).await;
    let gw = TestGateway::start(
        Backend::Sqlite,
        federated(&format!(
            "bundle_endpoint = \"{}\"\nendpoint_ca = \"{}\"",
            endpoint.url,
            endpoint.ca.display()
        )),
    )
    .await;
    let started = Instant::now();
    assert_eq!(endpoint.fetches.load(Ordering::SeqCst), 1);
    let before = spire.jwt_svid(&old, BOT, &["warden"], 300);
    let (status, body) = gw.decide(&before, read()).await;
    assert_eq!(
        (status, body["decision"].as_str()),
        (200, Some("allow")),
        "{body}"
    );

    // SPIRE rotates: a new key, the old one dropped from the bundle.
    let new = spire.add_ec_key();
    spire.remove_key(&old);
    *endpoint.document.lock() = spire.bundle(1, 2);
    let after = spire.jwt_svid(&new, BOT, &["warden"], 300);
    let (status, body) = gw.decide(&after, read()).await;
    assert_eq!(
        status, 401,
        "the new key is not known before the refresh: {body}"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = gw.decide(&after, read()).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the new key was never accepted");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9),
        "refreshed after {waited:?}, before the 10 s floor"
    );
    assert!(endpoint.fetches.load(Ordering::SeqCst) >= 2);
    // The old key is gone with the new bundle, even for a token seen before.
    let (status, body) = gw.decide(&before, read()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("unknown key"), "{body}");

    // A failed fetch keeps the last good bundle.
    *endpoint.document.lock() = "not json".to_owned();
    gw.gateway.refresh_federation().await;
    let (status, _) = gw.decide(&after, read()).await;
    assert_eq!(status, 200);
    endpoint.task.abort();
    gw.stop().await;
}

#[tokio::test]
async fn a_federated_x509_svid_over_mtls_is_mapped_and_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let spire = FakeSpire::new("prod.acme");
    let path = dir.path().join("prod.acme.json");
    std::fs::write(&path, spire.bundle(300, 1)).unwrap();
    let gw = TestGateway::start_tls_with(
        Backend::Sqlite,
        "optional",
        federated(&format!("bundle_file = \"{}\"", path.display())),
    )
    .await;

    let client = |svid: &warden_test::spire::X509Svid| {
        let pki = gw.server_pki.as_ref().unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&pki.ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        Arc::new(
            rustls::ClientConfig::builder_with_provider(crate::mtls::provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_client_auth_cert(
                    vec![CertificateDer::from(svid.certificate_der.clone())],
                    PrivateKeyDer::from_pem_slice(svid.private_key_pem.as_bytes()).unwrap(),
                )
                .unwrap(),
        )
    };
    let svid = spire.x509_svid(BOT);
    let (status, body) = crate::mtls::request(
        &gw,
        client(&svid),
        "POST",
        "/v1/decisions",
        None,
        Some(read()),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["agent"], MAPPED);

    // Unmapped, or from another CA claiming prod.acme: refused in the handshake.
    let unmapped = spire.x509_svid("spiffe://prod.acme/ns/billing/sa/x");
    let refused = crate::mtls::request(
        &gw,
        client(&unmapped),
        "POST",
        "/v1/decisions",
        None,
        Some(read()),
    )
    .await;
    assert!(refused.is_err(), "{refused:?}");
    let impostor = FakeSpire::new("prod.acme").x509_svid(BOT);
    let refused = crate::mtls::request(
        &gw,
        client(&impostor),
        "POST",
        "/v1/decisions",
        None,
        Some(read()),
    )
    .await;
    assert!(refused.is_err(), "{refused:?}");

    // Warden's own X.509-SVIDs still verify.
    let own = gw
        .x509
        .issue(&warden_identity::X509IssueRequest {
            spiffe_id: "spiffe://example.org/agent/invoice-bot/i-1"
                .parse()
                .unwrap(),
            ttl: Duration::from_secs(3600),
            now: std::time::SystemTime::now(),
        })
        .unwrap();
    let own = warden_test::spire::X509Svid {
        certificate_der: own.certificate_der.to_vec(),
        private_key_pem: own.private_key_pem.expose().to_owned(),
    };
    let (status, body) = crate::mtls::request(
        &gw,
        client(&own),
        "POST",
        "/v1/decisions",
        None,
        Some(read()),
    )
    .await
    .unwrap();
    assert_eq!(
        (status, body["decision"].as_str()),
        (200, Some("allow")),
        "{body}"
    );
    gw.stop().await;
}
