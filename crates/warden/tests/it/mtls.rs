//! mTLS end to end: `warden serve` with `[serve.tls]`, an X.509-SVID from
//! `warden agent cert`, and the official MCP Python SDK client presenting it
//! (an httpx client with the certificate, key and CA) over Streamable HTTP.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::mcp::{Killed, client_lines, free_port, mcp_dir, wait_port};
use crate::text;

const AGENT: &str = r#"name: tls-bot
owner: ops@example.com
purpose: calls the flaky server over mTLS
tools:
  flaky: { ok: read }
"#;

struct World {
    dir: tempfile::TempDir,
    data_port: u16,
    admin_port: u16,
    _warden: Killed,
}

impl World {
    fn new() -> World {
        Self::with_data(|_| {})
    }

    /// As [`World::new`], with `prepare` run on the data directory before
    /// `warden serve` starts.
    fn with_data(prepare: impl FnOnce(&Path)) -> World {
        let mcp = mcp_dir();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("agents")).unwrap();
        std::fs::write(root.join("agents/tls-bot.yaml"), AGENT).unwrap();
        warden_test::server_pki(&root.join("tls"));
        let (data_port, admin_port) = (free_port(), free_port());
        // `client_auth` left at its default, `optional`.
        let config = format!(
            r#"trust_domain = "example.org"

[serve]
listen = "127.0.0.1:{data_port}"
admin_listen = "127.0.0.1:{admin_port}"

[serve.tls]
cert = "tls/server.pem"
key = "tls/server.key"

[servers.flaky]
transport = "stdio"
command = ["node", "{flaky}"]
destination = "internal"
cleared = []
"#,
            flaky = mcp.join("fixtures/flaky-server.mjs").display(),
        );
        std::fs::write(root.join("warden.toml"), config).unwrap();
        prepare(&root.join("data"));
        let warden = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("--config")
            .arg(root.join("warden.toml"))
            .arg("--data-dir")
            .arg(root.join("data"))
            .arg("serve")
            .env("WARDEN_LOG", "warn")
            .env("NO_COLOR", "1")
            .env_remove("WARDEN_STORE")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        let warden = Killed(warden);
        wait_port(data_port, "warden serve");
        wait_port(admin_port, "warden serve (admin)");
        World {
            dir,
            data_port,
            admin_port,
            _warden: warden,
        }
    }

    fn warden(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("--config")
            .arg(self.dir.path().join("warden.toml"))
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(args)
            .env("WARDEN_LOG", "warn")
            .env_remove("WARDEN_STORE")
            .output()
            .unwrap()
    }

    /// `warden agent cert tls-bot --instance <instance> --out <dir>`.
    fn cert(&self, instance: &str, extra: &[&str]) -> std::path::PathBuf {
        let out = self.dir.path().join(format!("svid-{instance}"));
        let mut args = vec![
            "agent",
            "cert",
            "tls-bot",
            "--instance",
            instance,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let done = self.warden(&args);
        assert!(done.status.success(), "{}", text(&done.stderr));
        assert!(
            text(&done.stdout).contains("spiffe://example.org/agent/tls-bot/"),
            "{}",
            text(&done.stdout)
        );
        out
    }

    /// The Python SDK client over https to `/mcp/flaky`, presenting the
    /// X.509-SVID in `svid` (if any) and verifying the server with the test
    /// server CA; its output lines, or the failed `initialize` line.
    fn client(&self, svid: Option<&Path>, steps: &Value) -> Vec<Value> {
        let mcp = mcp_dir();
        let mut cmd = Command::new(mcp.join(".venv/bin/python"));
        cmd.arg(mcp.join("client.py"))
            .arg("--timeout")
            .arg("20")
            .arg("http")
            .arg(format!("https://127.0.0.1:{}/mcp/flaky", self.data_port))
            .arg("--cacert")
            .arg(self.dir.path().join("tls/server-ca.pem"));
        if let Some(svid) = svid {
            cmd.arg("--cert")
                .arg(svid.join("svid.pem"))
                .arg("--key")
                .arg(svid.join("svid.key"));
        }
        let out = warden_test::output_with_stdin(
            cmd.env("WARDEN_LOG", "warn"),
            steps.to_string().as_bytes(),
        );
        text(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

fn steps() -> Value {
    json!([
        {"op": "list_tools"},
        {"op": "call_tool", "name": "ok", "args": {}},
        {"op": "call_tool", "name": "crash", "args": {}},
    ])
}

#[test]
fn the_python_sdk_client_authenticates_with_an_x509_svid() {
    let world = World::new();
    let svid = world.cert("i1", &["--ttl", "30m"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(svid.join("svid.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "svid.key must be private");
    }
    // bundle.pem is the CA the trust bundle serves.
    let bundle_pem = std::fs::read_to_string(svid.join("bundle.pem")).unwrap();
    assert!(bundle_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let leaf = std::fs::read_to_string(svid.join("svid.pem")).unwrap();
    assert!(leaf.starts_with("-----BEGIN CERTIFICATE-----"));

    // The SDK's Streamable HTTP transport on an httpx client with the
    // certificate, its key and the server's CA; no token anywhere.
    let mcp = mcp_dir();
    let cmd = {
        let mut cmd = Command::new(mcp.join(".venv/bin/python"));
        cmd.arg(mcp.join("client.py"))
            .arg("http")
            .arg(format!("https://127.0.0.1:{}/mcp/flaky", world.data_port))
            .arg("--cacert")
            .arg(world.dir.path().join("tls/server-ca.pem"))
            .arg("--cert")
            .arg(svid.join("svid.pem"))
            .arg("--key")
            .arg(svid.join("svid.key"));
        cmd
    };
    let out = client_lines(cmd, &steps(), "https with an X.509-SVID");
    assert_eq!(out[0]["server"]["name"], "flaky", "{}", out[0]);
    let mut tools: Vec<&str> = out[1]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tools.sort_unstable();
    assert_eq!(tools, ["ok"], "only the granted tool is listed");
    assert_eq!(out[2]["is_error"], false, "{}", out[2]);
    assert_eq!(out[2]["text"], "fine");
    assert_eq!(out[3]["is_error"], true, "{}", out[3]);
    let reason = out[3]["text"].as_str().unwrap();
    assert!(reason.starts_with("Denied by Warden"), "{reason}");
    assert!(
        reason.contains("no grant for tool `flaky/crash`"),
        "{reason}"
    );

    // Without a certificate (and without a token) the client is refused.
    let out = world.client(None, &steps());
    assert!(
        out.len() == 1 && out[0]["op"] == "initialize" && out[0].get("exception").is_some(),
        "{out:?}"
    );

    // Revoked: the same certificate is refused from then on, and no new one
    // is issued.
    let revoke = world.warden(&["agent", "revoke", "tls-bot", "--instance", "i1"]);
    assert!(revoke.status.success(), "{}", text(&revoke.stderr));
    assert!(
        text(&revoke.stdout).contains("refuses its tokens from now on"),
        "the CLI waits on the admin plane when the data plane speaks TLS: {}",
        text(&revoke.stdout)
    );
    let out = world.client(Some(&svid), &steps());
    assert!(
        out.len() == 1 && out[0].get("exception").is_some(),
        "a revoked agent's certificate must be refused: {out:?}"
    );
    let refused = world.warden(&[
        "agent",
        "cert",
        "tls-bot",
        "--instance",
        "i1",
        "--out",
        world.dir.path().join("again").to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("is revoked; refusing to issue a certificate"),
        "{}",
        text(&refused.stderr)
    );
    // Another instance still works.
    let other = world.cert("i2", &[]);
    let out = world.client(Some(&other), &steps());
    assert_eq!(out[2]["text"], "fine", "{out:?}");

    // A certificate of another trust domain (another Warden's CA) is
    // refused in the handshake, and the gateway says why and from where.
    let elsewhere = world.dir.path().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("agents")).unwrap();
    std::fs::write(
        elsewhere.join("agents/tls-bot.yaml"),
        AGENT.replace("flaky: { ok: read }", "{}"),
    )
    .unwrap();
    std::fs::write(
        elsewhere.join("warden.toml"),
        "trust_domain = \"other.org\"\n",
    )
    .unwrap();
    let issued = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(elsewhere.join("warden.toml"))
        .arg("--data-dir")
        .arg(elsewhere.join("data"))
        .args(["agent", "cert", "tls-bot", "--out"])
        .arg(elsewhere.join("svid"))
        .env("WARDEN_LOG", "warn")
        .env_remove("WARDEN_STORE")
        .output()
        .unwrap();
    assert!(issued.status.success(), "{}", text(&issued.stderr));
    let out = world.client(Some(&elsewhere.join("svid")), &steps());
    assert!(
        out.len() == 1 && out[0].get("exception").is_some(),
        "a foreign trust domain's certificate must be refused: {out:?}"
    );
    let log = std::fs::read_to_string(world.dir.path().join("serve.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("TLS handshake refused on the data plane")
                && l.contains("peer=127.0.0.1:")
                && l.contains("UnknownIssuer")),
        "{log}"
    );

    // An unregistered agent gets no certificate.
    let ghost = world.warden(&[
        "agent",
        "cert",
        "ghost",
        "--out",
        world.dir.path().join("ghost").to_str().unwrap(),
    ]);
    assert!(!ghost.status.success());
    assert!(
        text(&ghost.stderr).contains("no agent `ghost`: register it first"),
        "{}",
        text(&ghost.stderr)
    );
}

/// The issue's end to end: a workload attested by its uid gets an
/// X.509-SVID from Warden's Workload API (fetched by py-spiffe, an
/// independent SPIFFE client), and the official MCP SDK client presents it
/// over mTLS: the granted tool runs, the other is refused.
#[test]
fn an_x509_svid_from_the_workload_api_makes_an_allowed_call_over_mtls() {
    let workload = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/workload");
    let spiffe_python = workload.join(".venv/bin/python");
    if !spiffe_python.exists() {
        warden_test::skip_unless_strict(
            "the Workload API to mTLS test",
            "tests/workload/.venv (py-spiffe)",
            "tests/workload/setup.sh",
        );
        return;
    }
    let world = World::new();
    let root = world.dir.path();
    let socket = root.join("workload.sock");
    std::fs::write(
        root.join("workload.toml"),
        format!(
            "[workload]\nsocket = \"{}\"\n\n[[workload.entries]]\nspiffe_id = \"spiffe://example.org/agent/tls-bot/worker-1\"\nuid = {}\n",
            socket.display(),
            crate::own_uid()
        ),
    )
    .unwrap();
    let api = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(root.join("warden.toml"))
        .arg("--data-dir")
        .arg(root.join("data"))
        .args(["workload", "serve", "--entries"])
        .arg(root.join("workload.toml"))
        .env("WARDEN_LOG", "warn")
        .env_remove("WARDEN_STORE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(root.join("workload.log")).unwrap())
        .spawn()
        .unwrap();
    let _api = Killed(api);
    for _ in 0..200 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(socket.exists(), "no Workload API socket");

    let svid = root.join("from-workload-api");
    let saved = Command::new(&spiffe_python)
        .arg(workload.join("client.py"))
        .arg("save")
        .arg(&svid)
        .env(
            "SPIFFE_ENDPOINT_SOCKET",
            format!("unix://{}", socket.display()),
        )
        .output()
        .unwrap();
    assert!(saved.status.success(), "{}", text(&saved.stderr));
    let facts: Value = serde_json::from_str(text(&saved.stdout).trim()).unwrap();
    assert_eq!(
        facts["spiffe_id"],
        "spiffe://example.org/agent/tls-bot/worker-1"
    );
    // The bundle the Workload API hands out is the CA the trust domain
    // issues from (the one `warden agent cert` names too).
    let bundle = std::fs::read_to_string(svid.join("bundle.pem")).unwrap();
    let issued = world.cert("cli-issued", &[]);
    let ca = std::fs::read_to_string(issued.join("bundle.pem")).unwrap();
    assert_eq!(bundle.trim(), ca.trim());

    let out = world.client(Some(&svid), &steps());
    assert_eq!(out[0]["server"]["name"], "flaky", "{out:?}");
    assert_eq!(
        out[2]["is_error"], false,
        "the granted tool runs: {}",
        out[2]
    );
    assert_eq!(out[2]["text"], "fine");
    assert_eq!(out[3]["is_error"], true, "{}", out[3]);
    assert!(
        out[3]["text"]
            .as_str()
            .unwrap()
            .contains("no grant for tool `flaky/crash`"),
        "{}",
        out[3]
    );
}

/// The `x509-svid` authorities of the admin plane's trust bundle, DER.
fn bundle_authorities(world: &World) -> Vec<Vec<u8>> {
    let bundle: Value = reqwest::blocking::get(format!(
        "http://127.0.0.1:{}/.well-known/spiffe/bundle",
        world.admin_port
    ))
    .unwrap()
    .json()
    .unwrap();
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

/// A data directory from before the CA moved into the store
/// (`keys/x509-ca.{key,pem}`, and a certificate it issued): the CA is taken
/// in, its certificate keeps working; `warden keys rotate --ca` while
/// `warden serve` runs makes a new CA current, and certificates of both are
/// accepted, the bundle holds both, `keys list` shows the retired one.
#[test]
fn the_ca_rotates_while_serving_and_the_legacy_ca_is_taken_in() {
    let td = warden_types::TrustDomain::new("example.org").unwrap();
    let legacy_svid = std::cell::RefCell::new(None);
    let world = World::with_data(|data| {
        let keys = data.join("keys");
        let (ca, created) = warden_identity::X509Authority::load_or_create(
            &keys.join("x509-ca.key"),
            &keys.join("x509-ca.pem"),
            &td,
            std::time::SystemTime::now(),
        )
        .unwrap();
        assert!(created);
        let issued = ca
            .issue(&warden_identity::X509IssueRequest {
                spiffe_id: "spiffe://example.org/agent/tls-bot/old".parse().unwrap(),
                ttl: std::time::Duration::from_secs(3600),
                now: std::time::SystemTime::now(),
            })
            .unwrap();
        let out = data.parent().unwrap().join("svid-old");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("svid.pem"), &issued.certificate_pem).unwrap();
        std::fs::write(out.join("svid.key"), issued.private_key_pem.expose()).unwrap();
        *legacy_svid.borrow_mut() = Some((out, ca.certificate().der().to_vec()));
    });
    let (legacy, legacy_ca) = legacy_svid.into_inner().unwrap();
    let ok = |svid: &Path| {
        let out = world.client(Some(svid), &steps());
        assert_eq!(
            out.get(2).map(|o| &o["text"]),
            Some(&json!("fine")),
            "{out:?}"
        );
    };
    // The legacy CA is the store's current CA: its certificate works, and
    // so does one `agent cert` issues now.
    ok(&legacy);
    let before = world.cert("before", &[]);
    ok(&before);
    assert_eq!(bundle_authorities(&world), vec![legacy_ca.clone()]);

    // An X.509-SVID may not outlive a retired CA's trust.
    let long = world.warden(&[
        "agent",
        "cert",
        "tls-bot",
        "--instance",
        "long",
        "--ttl",
        "48h",
        "--out",
        world.dir.path().join("long").to_str().unwrap(),
    ]);
    assert!(!long.status.success());
    assert!(
        text(&long.stderr).contains("at most 24 h"),
        "{}",
        text(&long.stderr)
    );

    let rotated = world.warden(&["keys", "rotate", "--ca"]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    assert!(
        text(&rotated.stdout).contains("X.509 CA rotated"),
        "{}",
        text(&rotated.stdout)
    );
    assert!(!text(&rotated.stdout).contains("signing key rotated"));
    let after = world.cert("after", &[]);
    let bundle = std::fs::read_to_string(after.join("bundle.pem")).unwrap();
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2, "{bundle}");
    // The gateway takes the new CA at its next watch (250 ms).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while bundle_authorities(&world).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the rotation never reached the gateway"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let authorities = bundle_authorities(&world);
    assert_eq!(
        authorities[1], legacy_ca,
        "the retired CA stays in the bundle"
    );
    ok(&after);
    ok(&before);
    ok(&legacy);

    let listed = text(&world.warden(&["keys", "list"]).stdout);
    let lines: Vec<&str> = listed.lines().collect();
    let ca_at = lines
        .iter()
        .position(|l| l.starts_with("X.509 CAs"))
        .unwrap();
    let cas = &lines[ca_at + 1..];
    assert_eq!(cas.len(), 2, "{listed}");
    assert!(cas[0].contains("current since"), "{listed}");
    assert!(
        cas[1].contains("retired") && cas[1].contains("trusted until"),
        "{listed}"
    );
}
