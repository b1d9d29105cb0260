//! `warden workload serve`: the SPIFFE Workload API, driven by py-spiffe
//! (tests/workload/setup.sh installs it): X.509- and JWT-SVIDs from the
//! trust domain's CA and signing key.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::examples;

#[test]
fn workload_serve_hands_py_spiffe_its_svids_and_stops_on_sigterm() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/workload");
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        warden_test::skip_unless_strict(
            "the workload API CLI test",
            "tests/workload/.venv (py-spiffe)",
            "tests/workload/setup.sh",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("workload.sock");
    let entries = dir.path().join("workload.toml");
    std::fs::write(
        &entries,
        format!(
            "[workload]\nsocket = \"{}\"\n\n[[workload.entries]]\nspiffe_id = \"spiffe://example.org/agent/invoice-bot/worker-1\"\nuid = {}\n",
            socket.display(),
            crate::own_uid()
        ),
    )
    .unwrap();
    let log = dir.path().join("warden.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(examples().join("warden.toml"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["workload", "serve", "--entries"])
        .arg(&entries)
        .env_remove("WARDEN_STORE")
        .env("WARDEN_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        socket.exists(),
        "no socket: {}",
        warden_test::file_tail(&log, 2000)
    );

    let output = Command::new(&python)
        .arg(root.join("client.py"))
        .args(["fetch", "db"])
        .env(
            "SPIFFE_ENDPOINT_SOCKET",
            format!("unix://{}", socket.display()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "client.py failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let facts: Value = serde_json::from_str(stdout.trim()).unwrap();
    let worker = "spiffe://example.org/agent/invoice-bot/worker-1";
    assert_eq!(facts["jwt_spiffe_id"], worker, "{facts}");
    assert_eq!(facts["jwt_audience"], serde_json::json!(["db"]));
    assert_eq!(facts["validated_spiffe_id"], worker);
    assert_eq!(facts["locally_validated_spiffe_id"], worker);
    // The X.509-SVID from the trust domain's CA, in SPIFFE's shape, signed
    // by the bundle it came with.
    assert_eq!(facts["x509"]["spiffe_id"], worker, "{facts}");
    assert_eq!(facts["x509"]["uris"], serde_json::json!([worker]));
    assert_eq!(facts["x509"]["ca"], false);
    assert_eq!(facts["x509"]["lifetime"], 3600.0);
    assert_eq!(facts["signed_by_bundle"], true, "{facts}");
    assert_eq!(
        facts["x509_bundle_domains"],
        serde_json::json!(["example.org"])
    );

    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = warden_test::wait_at_most(&mut server, Duration::from_secs(10))
        .expect("warden workload serve did not stop on SIGTERM");
    assert!(status.success(), "{}", warden_test::file_tail(&log, 2000));
    assert!(!socket.exists(), "the socket was left behind");
}
