//! `warden serve` as a process: first start, tokens, decisions, revocation.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{examples, text, warden};

pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("warden serve did not start listening on {port}");
}

#[test]
fn serve_answers_decisions_and_refuses_revoked_tokens() {
    let data = tempfile::tempdir().unwrap();
    let (data_port, admin_port) = (free_port(), free_port());
    let server = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(examples().join("warden.toml"))
        .arg("--data-dir")
        .arg(data.path())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{data_port}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin_port}"),
        ])
        .env("WARDEN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(server);
    wait_healthy(data_port);
    wait_healthy(admin_port);

    let token_file = data.path().join("admin.token");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the first admin token is private");

    let token = warden(data.path(), &["agent", "token", "invoice-bot"]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    let jwt = data.path().join("bot.jwt");
    std::fs::write(&jwt, &token.stdout).unwrap();
    let gateway = format!("http://127.0.0.1:{data_port}");
    let decide = |args: &str| {
        warden(
            data.path(),
            &[
                "decide",
                "--gateway",
                &gateway,
                "--token-file",
                jwt.to_str().unwrap(),
                "--server",
                "accounting",
                "--tool",
                "schedule_payment",
                "--args",
                args,
            ],
        )
    };
    let allowed = decide(r#"{"amount": 98.7, "iban": "DE89370400440532013000"}"#);
    assert!(
        allowed.status.success(),
        "{}{}",
        text(&allowed.stdout),
        text(&allowed.stderr)
    );
    assert!(text(&allowed.stdout).contains("\"decision\": \"allow\""));
    let denied = decide(r#"{"amount": 25000, "iban": "DE89370400440532013000"}"#);
    assert!(!denied.status.success());
    assert!(
        text(&denied.stdout).contains("is false with amount = 25000"),
        "{}",
        text(&denied.stdout)
    );

    let revoke = warden(
        data.path(),
        &[
            "agent",
            "revoke",
            "invoice-bot",
            "--reason",
            "test",
            "--gateway",
            &gateway,
        ],
    );
    assert!(revoke.status.success(), "{}", text(&revoke.stderr));
    assert!(
        text(&revoke.stdout).contains("refuses its tokens from now on"),
        "{}",
        text(&revoke.stdout)
    );
    // Issue 11: a request right after `agent revoke` was allowed. The
    // command returns once the gateway refuses the tokens.
    let after = decide(r#"{"amount": 98.7, "iban": "DE89370400440532013000"}"#);
    assert!(
        text(&after.stdout).contains("\"revoked\""),
        "{}",
        text(&after.stdout)
    );
}
