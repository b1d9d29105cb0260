//! The Workload API against py-spiffe, the SPIFFE project's Python client
//! (installed by `tests/workload/setup.sh`), over a real Unix socket.

// clippy.toml allows these in `#[test]` functions; the helpers beside them
// are test code too: a failed step should panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed check panics"
)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::{Server, TestIssuer, WORKER, client, own_uid, python, worker_entry};
use warden_workload::RegistrationEntry;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn py_spiffe_fetches_an_x509_svid_bundles_and_a_jwt_svid() {
    let Some(python) = python("the py-spiffe fetch test") else {
        return;
    };
    let issuer = TestIssuer::new(Duration::from_secs(600));
    let server = Server::start(vec![worker_entry(own_uid())], issuer.clone()).await;

    let facts = client(&python, &server.socket, &["fetch", "db"]).await;
    let x509 = &facts["x509"];
    assert_eq!(x509["spiffe_id"], WORKER, "{facts}");
    assert_eq!(x509["uris"], serde_json::json!([WORKER]));
    assert_eq!(x509["ca"], false);
    assert_eq!(x509["lifetime"], 600.0);
    assert_eq!(x509["chain"], 1);
    assert_eq!(x509["key_pem"], true);
    assert_eq!(facts["svids"], 1);
    assert_eq!(facts["trust_domain"], "example.org");
    assert_eq!(facts["bundle_authorities"], 1);
    assert_eq!(facts["signed_by_bundle"], true, "{facts}");
    assert_eq!(
        facts["x509_bundle_domains"],
        serde_json::json!(["example.org"])
    );
    assert_eq!(facts["jwt_spiffe_id"], WORKER);
    assert_eq!(facts["jwt_audience"], serde_json::json!(["db"]));
    assert_eq!(facts["validated_spiffe_id"], WORKER);
    assert_eq!(facts["locally_validated_spiffe_id"], WORKER);
    let wrong = facts["wrong_audience_error"].as_str().unwrap_or_default();
    assert!(wrong.contains("INVALID_ARGUMENT"), "{facts}");

    server.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn py_spiffe_receives_a_rotated_svid_before_the_first_expires() {
    let Some(python) = python("the py-spiffe rotation test") else {
        return;
    };
    let issuer = TestIssuer::new(Duration::from_secs(4));
    let server = Server::start(vec![worker_entry(own_uid())], issuer.clone()).await;

    let watched = client(&python, &server.socket, &["rotate", "10"]).await;
    let updates = watched["updates"].as_array().unwrap();
    assert!(updates.len() >= 2, "{watched}");
    let (first, second) = (&updates[0], &updates[1]);
    assert_ne!(first["serial"], second["serial"], "{watched}");
    assert_eq!(second["spiffe_id"], WORKER);
    let first_expiry = first["not_after"].as_f64().unwrap();
    let received = second["received"].as_f64().unwrap();
    assert!(
        received < first_expiry,
        "the second SVID came {:.1} s after the first expired",
        received - first_expiry
    );
    // At half-life, not at the last moment.
    assert!(first_expiry - received > 1.0, "{watched}");
    assert_eq!(watched["errors"], serde_json::json!([]));

    // The client has gone: its stream ends.
    wait_for_no_streams(&issuer).await;
    server.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_change_sends_new_svids_at_once() {
    let Some(python) = python("the py-spiffe bundle change test") else {
        return;
    };
    let issuer = TestIssuer::new(Duration::from_secs(3600));
    let server = Server::start(vec![worker_entry(own_uid())], issuer.clone()).await;

    let socket = server.socket.clone();
    let watch = tokio::spawn(async move { client(&python, &socket, &["rotate", "20"]).await });
    let started = std::time::Instant::now();
    while issuer.issued.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no SVID was fetched"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rotated_at = now();
    issuer.rotate_ca();
    let watched = watch.await.unwrap();
    let updates = watched["updates"].as_array().unwrap();
    assert!(updates.len() >= 2, "{watched}");
    let delay = updates[1]["received"].as_f64().unwrap() - rotated_at;
    assert!(
        delay < 3.0,
        "the new SVID came {delay:.1} s after the CA rotated"
    );

    wait_for_no_streams(&issuer).await;
    server.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_matching_no_entry_gets_no_identity() {
    let Some(python) = python("the py-spiffe permission test") else {
        return;
    };
    let other_uid = own_uid().wrapping_add(1);
    let issuer = TestIssuer::new(Duration::from_secs(600));
    let server = Server::start(vec![worker_entry(other_uid)], issuer.clone()).await;

    for method in ["FetchJWTSVID", "FetchX509SVID", "FetchJWTBundles"] {
        let result = client(&python, &server.socket, &["raw", method, "yes"]).await;
        assert_eq!(result["code"], "PERMISSION_DENIED", "{method}: {result}");
        assert_eq!(
            result["details"], "no identity issued",
            "{method}: {result}"
        );
    }
    assert_eq!(issuer.issued.load(std::sync::atomic::Ordering::SeqCst), 0);
    server.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_executable_path_selector_is_checked() {
    let Some(python) = python("the py-spiffe path selector test") else {
        return;
    };
    // /proc/<pid>/exe names the interpreter the venv's python links to.
    let interpreter = std::fs::canonicalize(&python).unwrap();
    let uid = own_uid();
    let id = |instance: &str| {
        format!("spiffe://example.org/agent/invoice-bot/{instance}")
            .parse()
            .unwrap()
    };
    let entry = |instance: &str, path: &str| RegistrationEntry {
        spiffe_id: id(instance),
        uid: Some(uid),
        gid: None,
        path: Some(path.into()),
        hint: None,
    };
    let issuer = TestIssuer::new(Duration::from_secs(600));
    let server = Server::start(
        vec![
            entry("python", interpreter.to_str().unwrap()),
            entry("other", "/usr/bin/not-this-one"),
        ],
        issuer.clone(),
    )
    .await;
    let facts = client(&python, &server.socket, &["fetch", "db"]).await;
    assert_eq!(
        facts["x509"]["spiffe_id"], "spiffe://example.org/agent/invoice-bot/python",
        "{facts}"
    );
    assert_eq!(
        facts["svids"], 1,
        "only the entry whose path matches: {facts}"
    );
    server.stop(Duration::from_secs(5)).await;

    let server = Server::start(vec![entry("other", "/usr/bin/not-this-one")], issuer).await;
    let result = client(&python, &server.socket, &["raw", "FetchJWTSVID", "yes"]).await;
    assert_eq!(result["code"], "PERMISSION_DENIED", "{result}");
    server.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_the_security_header_is_refused() {
    let Some(python) = python("the security header test") else {
        return;
    };
    let issuer = TestIssuer::new(Duration::from_secs(600));
    let server = Server::start(vec![worker_entry(own_uid())], issuer.clone()).await;
    for method in ["FetchJWTSVID", "FetchX509SVID", "FetchJWTBundles"] {
        let refused = client(&python, &server.socket, &["raw", method, "no"]).await;
        assert_eq!(refused["code"], "INVALID_ARGUMENT", "{method}: {refused}");
        assert_eq!(
            refused["details"], "security header missing from request",
            "{method}: {refused}"
        );
        let allowed = client(&python, &server.socket, &["raw", method, "yes"]).await;
        assert_eq!(allowed["code"], "OK", "{method}: {allowed}");
    }
    assert_eq!(issuer.issued.load(std::sync::atomic::Ordering::SeqCst), 1);
    server.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams() {
    let Some(python) = python("the shutdown test") else {
        return;
    };
    let issuer = TestIssuer::new(Duration::from_secs(3600));
    let server = Server::start(vec![worker_entry(own_uid())], issuer.clone()).await;
    let socket = server.socket.clone();
    let watch = tokio::spawn(async move { client(&python, &socket, &["rotate", "30"]).await });
    let started = std::time::Instant::now();
    while issuer.open_streams() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no stream opened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop(Duration::from_secs(5)).await;
    let watched: Value = tokio::time::timeout(Duration::from_secs(10), watch)
        .await
        .expect("the client saw no end of its stream")
        .unwrap();
    assert_eq!(watched["updates"].as_array().unwrap().len(), 1, "{watched}");
    assert_eq!(issuer.open_streams(), 0);
}

async fn wait_for_no_streams(issuer: &TestIssuer) {
    let started = std::time::Instant::now();
    while issuer.open_streams() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} stream(s) still open after the client left",
            issuer.open_streams()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
