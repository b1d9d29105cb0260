//! Offline commands: lint, test, register, token.

use std::os::unix::fs::PermissionsExt;

use crate::{examples, text, warden};

#[test]
fn policy_lint_and_test_pass_on_the_examples() {
    let data = tempfile::tempdir().unwrap();
    let lint = warden(data.path(), &["policy", "lint"]);
    assert!(lint.status.success(), "{}", text(&lint.stderr));
    assert!(
        text(&lint.stdout).starts_with("ok: 3 agents, "),
        "{}",
        text(&lint.stdout)
    );

    let cases = examples().join("policy-tests.yaml");
    let test = warden(data.path(), &["policy", "test", cases.to_str().unwrap()]);
    let out = text(&test.stdout);
    assert!(test.status.success(), "{out}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

#[test]
fn policy_test_reports_failures_with_reasons() {
    let data = tempfile::tempdir().unwrap();
    let cases = data.path().join("cases.yaml");
    std::fs::write(
        &cases,
        "cases:\n  - name: wrong expectation\n    agent: invoice-bot\n    server: accounting\n    tool: schedule_payment\n    args: { amount: 25000, iban: DE89370400440532013000 }\n    expect: allow\n",
    )
    .unwrap();
    let out = warden(data.path(), &["policy", "test", cases.to_str().unwrap()]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAIL wrong expectation: expected allow, got deny"),
        "{stdout}"
    );
    assert!(
        stdout.contains("condition `context.args.amount <= 10000` is false with amount = 25000"),
        "{stdout}"
    );
}

#[test]
fn a_manifest_with_a_mistake_is_refused_with_its_file_and_line() {
    let data = tempfile::tempdir().unwrap();
    let bad = data.path().join("payroll.yaml");
    std::fs::write(
        &bad,
        "name: payroll-bot\nowner: hr@example.com\npurpose: pay salaries\ntools:\n  accounting:\n    schedule_payment:\n      operation: write\n      when: \"context.args.amout <= 100\"\n",
    )
    .unwrap();
    let out = warden(
        data.path(),
        &["agent", "register", "-f", bad.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("payroll.yaml:8:"), "{err}");
    assert!(
        err.contains("field `tools.accounting.schedule_payment.when`"),
        "{err}"
    );
    assert!(err.contains("does not type-check"), "{err}");

    let missing_owner = data.path().join("anon.yaml");
    std::fs::write(
        &missing_owner,
        "name: anon-bot\npurpose: x\ntools:\n  accounting:\n    read_invoice: reed\n",
    )
    .unwrap();
    let out = warden(
        data.path(),
        &["agent", "register", "-f", missing_owner.to_str().unwrap()],
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("anon.yaml:1:1: field `owner`: missing `owner`"),
        "{err}"
    );
    assert!(
        err.contains(
            "anon.yaml:5:19: field `tools.accounting.read_invoice`: unknown operation `reed`"
        ),
        "{err}"
    );

    let dup = data.path().join("dup.yaml");
    std::fs::write(&dup, "name: invoice-bot\nowner: a@example.com\npurpose: x\ntools:\n  accounting:\n    read_invoice: read\n").unwrap();
    let out = warden(
        data.path(),
        &["agent", "register", "-f", dup.to_str().unwrap()],
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("duplicate agent `invoice-bot`: already declared in agents/invoice-bot.yaml"),
        "{err}"
    );

    let list = warden(data.path(), &["agent", "list"]);
    assert_eq!(
        text(&list.stdout).lines().count(),
        4,
        "nothing was registered: {}",
        text(&list.stdout)
    );
}

#[test]
fn register_then_token_prints_the_token_alone() {
    let data = tempfile::tempdir().unwrap();
    let good = data.path().join("payroll.yaml");
    std::fs::write(&good, "name: payroll-bot\nowner: hr@example.com\npurpose: pay salaries\ntools:\n  accounting:\n    read_invoice: read\n").unwrap();
    let out = warden(
        data.path(),
        &["agent", "register", "-f", good.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let token = warden(
        data.path(),
        &[
            "agent",
            "token",
            "payroll-bot",
            "--instance",
            "pod-7",
            "--ttl",
            "5m",
        ],
    );
    assert!(token.status.success(), "{}", text(&token.stderr));
    let stdout = text(&token.stdout);
    assert_eq!(stdout.lines().count(), 1);
    assert_eq!(
        stdout.trim().split('.').count(),
        3,
        "a compact JWS: {stdout}"
    );

    // The signing key is in the store, sealed under the key-encryption key.
    let key = data.path().join("keys/kek.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key-encryption key is private");
    assert!(!data.path().join("keys/jwt-svid.pem").exists());

    let unknown = warden(data.path(), &["agent", "token", "ghost-bot"]);
    assert!(!unknown.status.success());
    assert!(text(&unknown.stderr).contains("no agent `ghost-bot`"));
    let bad_ttl = warden(
        data.path(),
        &["agent", "token", "payroll-bot", "--ttl", "5x"],
    );
    assert!(
        text(&bad_ttl.stderr).contains("unknown unit `x`"),
        "{}",
        text(&bad_ttl.stderr)
    );
}

/// `warden … | head`: a reader that closes the pipe early ends the command
/// quietly (status 0 or 141, as for SIGPIPE), never with a panic, whether
/// it prints line by line (`policy lint`) or through a buffer (`classify`).
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let data = tempfile::tempdir().unwrap();
    let many = "mail ann@example.com card 4111 1111 1111 1111\n".repeat(20_000);
    for (args, input) in [
        (vec!["policy", "lint"], String::new()),
        (vec!["classify"], many),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("--config")
            .arg(examples().join("warden.toml"))
            .arg("--data-dir")
            .arg(data.path())
            .args(&args)
            .env("WARDEN_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before anything is read.
        drop(child.stdout.take());
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        let out = child.wait_with_output().unwrap();
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            out.status.success() || out.status.code() == Some(141),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
}

/// A data directory from before the keys moved into the store: its
/// `keys/jwt-svid.pem` becomes the store's current key, so that tokens it
/// signed stay valid; `warden keys rotate` then retires it.
#[test]
fn an_earlier_signing_key_file_is_taken_into_the_store() {
    use base64::Engine as _;
    let data = tempfile::tempdir().unwrap();
    let (legacy, created) =
        warden_identity::SigningKey::load_or_create(&data.path().join("keys/jwt-svid.pem"))
            .unwrap();
    assert!(created);
    let kid_of = |token: &str| {
        let header = token.split('.').next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        header["kid"].as_str().unwrap().to_owned()
    };
    let token = warden(data.path(), &["agent", "token", "invoice-bot"]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    assert_eq!(kid_of(text(&token.stdout).trim()), legacy.key_id());

    let rotated = warden(data.path(), &["keys", "rotate"]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    let token = warden(data.path(), &["agent", "token", "invoice-bot"]);
    assert_ne!(kid_of(text(&token.stdout).trim()), legacy.key_id());
    let listed = text(&warden(data.path(), &["keys", "list"]).stdout);
    assert!(
        listed.contains(&format!("{}  retired", legacy.key_id())),
        "{listed}"
    );
    assert!(listed.contains("verifies until"), "{listed}");
    let long = warden(
        data.path(),
        &["agent", "token", "invoice-bot", "--ttl", "48h"],
    );
    assert!(!long.status.success());
    assert!(
        text(&long.stderr).contains("at most 24 h"),
        "{}",
        text(&long.stderr)
    );
}

/// A data directory from before the CA moved into the store: its
/// `keys/x509-ca.{key,pem}` becomes the store's current CA; `warden keys
/// rotate --all` retires it and the JWT key, and the retired CA stays in
/// `bundle.pem` and in `warden keys list` with its expiry.
#[test]
fn an_earlier_ca_is_taken_into_the_store_and_rotates() {
    let data = tempfile::tempdir().unwrap();
    let keys = data.path().join("keys");
    let trust_domain = warden_types::TrustDomain::new("example.org").unwrap();
    let (legacy, created) = warden_identity::X509Authority::load_or_create(
        &keys.join("x509-ca.key"),
        &keys.join("x509-ca.pem"),
        &trust_domain,
        std::time::SystemTime::now(),
    )
    .unwrap();
    assert!(created);
    let legacy_id = legacy.certificate().fingerprint();
    let out = data.path().join("svid");
    let cert = |instance: &str, ttl: &str| {
        warden(
            data.path(),
            &[
                "agent",
                "cert",
                "invoice-bot",
                "--instance",
                instance,
                "--ttl",
                ttl,
                "--out",
                out.to_str().unwrap(),
            ],
        )
    };
    let first = cert("i-1", "1h");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let bundle = std::fs::read_to_string(out.join("bundle.pem")).unwrap();
    assert_eq!(bundle, legacy.certificate().pem(), "the legacy CA issues");

    let long = cert("i-2", "48h");
    assert!(!long.status.success());
    assert!(
        text(&long.stderr).contains("at most 24 h"),
        "{}",
        text(&long.stderr)
    );

    let rotated = warden(data.path(), &["keys", "rotate", "--all"]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    let said = text(&rotated.stdout);
    assert!(said.contains("signing key rotated"), "{said}");
    assert!(
        said.contains("X.509 CA rotated") && said.contains(&legacy_id),
        "{said}"
    );
    let after = cert("i-3", "1h");
    assert!(after.status.success(), "{}", text(&after.stderr));
    let bundle = std::fs::read_to_string(out.join("bundle.pem")).unwrap();
    let cas = warden_identity::CaCertificate::all_from_pem(&bundle).unwrap();
    assert_eq!(cas.len(), 2, "{bundle}");
    assert_ne!(&cas[0], legacy.certificate(), "the new CA issues");
    assert_eq!(
        &cas[1],
        legacy.certificate(),
        "the retired CA is still trusted"
    );

    let listed = text(&warden(data.path(), &["keys", "list"]).stdout);
    assert!(listed.contains("X.509 CAs (x509-ca):"), "{listed}");
    assert!(
        listed.contains(&format!("{legacy_id}  retired")) && listed.contains("trusted until"),
        "{listed}"
    );
    let both = warden(data.path(), &["keys", "rotate", "--ca", "--all"]);
    assert!(!both.status.success(), "--ca and --all conflict");
}
