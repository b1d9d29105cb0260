//! Helpers the crates' tests share (not published): how many cases each
//! fuzz property runs, and a thread with the default 2 MiB stack so that a
//! stack overflow aborts the test binary instead of passing unnoticed on a
//! larger test-thread stack.
//!
//! ```
//! let cases = warden_test::fuzz_cases();
//! assert!(cases > 0);
//! assert_eq!(warden_test::on_small_stack(|| 2 + 2), 4);
//! ```

pub mod spire;

/// The environment variable that sets the cases per fuzz property.
pub const FUZZ_CASES_ENV: &str = "WARDEN_FUZZ_CASES";

/// Cases per fuzz property: `WARDEN_FUZZ_CASES`, else 256 (what CI runs).
pub fn fuzz_cases() -> u32 {
    std::env::var(FUZZ_CASES_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// The stack a request thread has in production (tokio's default).
pub const SMALL_STACK: usize = 2 * 1024 * 1024;

/// Runs `f` on a new thread with a [`SMALL_STACK`]; a panic in it is
/// resumed here, and an overflow aborts the process.
///
/// # Panics
///
/// When the thread cannot be spawned, or `f` panics.
#[expect(
    clippy::expect_used,
    reason = "test helper: failing to spawn fails the test"
)]
pub fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    // INVARIANT: only tests call this; a failed spawn is a failed test.
    let handle = std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("spawn a thread with a small stack");
    match handle.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// Runs `command` with `input` on its standard input, capturing standard
/// output and error.
///
/// # Panics
///
/// When the command cannot be started or its input written.
#[expect(
    clippy::expect_used,
    reason = "test helper: a command that cannot run fails the test"
)]
pub fn output_with_stdin(
    command: &mut std::process::Command,
    input: &[u8],
) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    // INVARIANT: only tests call this; a failure here is a failed test.
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).expect("write the command's input");
    }
    child.wait_with_output().expect("wait for the command")
}

/// Copies the directory `from` into `to`, recursively (a test's own copy
/// of the examples, say).
///
/// # Panics
///
/// When a file cannot be read or written: a test's setup has failed.
#[allow(clippy::unwrap_used, reason = "a test's setup")]
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Waits for `child` at most `limit`, polling; kills it when it takes
/// longer. `None`: it did not finish in time.
///
/// # Panics
///
/// When the child's state cannot be read.
#[allow(clippy::unwrap_used, reason = "a test's harness")]
pub fn wait_at_most(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The last `n` characters of a file (empty when it cannot be read), for a
/// failure message.
pub fn file_tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let skip = text.chars().count().saturating_sub(n);
    text.chars().skip(skip).collect()
}

/// For a test that needs software a setup script installs (`missing` names
/// what is absent): under `WARDEN_TEST_STRICT` (what `scripts/test.sh` sets)
/// it fails, since nothing may be skipped there; otherwise it says loudly
/// that `test` is skipped. The caller returns after this.
///
/// # Panics
///
/// Under `WARDEN_TEST_STRICT`, always.
#[allow(clippy::panic, clippy::print_stderr, reason = "a test's verdict")]
pub fn skip_unless_strict(test: &str, missing: &str, setup: &str) {
    if std::env::var_os("WARDEN_TEST_STRICT").is_some() {
        panic!(
            "WARDEN_TEST_STRICT is set: {test} may not be skipped ({missing} is missing: run {setup})"
        );
    }
    eprintln!("SKIPPED: {test} ({missing} is missing: run {setup}, as scripts/test.sh does)");
}

/// The Python of `tests/mcp/.venv` (the official MCP SDK, PyJWT, the OTLP
/// decoder), panicking with the set-up command when it is missing.
pub fn mcp_python() -> std::path::PathBuf {
    let python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp/.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run tests/mcp/setup.sh (scripts/test.sh does) to install the MCP SDKs, PyJWT and the OTLP decoder",
        python.display()
    );
    python
}

/// A TLS server certificate for tests, issued by its own CA.
#[derive(Debug, Clone)]
pub struct ServerPki {
    /// The CA that issued the server certificate (PEM): what clients trust.
    pub ca: std::path::PathBuf,
    /// The server certificate (PEM), for `localhost` and `127.0.0.1`.
    pub cert: std::path::PathBuf,
    /// Its private key (PKCS#8 PEM).
    pub key: std::path::PathBuf,
}

/// Writes a server CA and a server certificate for `localhost` and
/// `127.0.0.1` (with its key) to `dir`: `server-ca.pem`, `server.pem` and
/// `server.key`.
///
/// # Panics
///
/// When a certificate cannot be made or a file cannot be written.
#[expect(
    clippy::expect_used,
    reason = "a test helper: a failure is a failed test"
)]
pub fn server_pki(dir: &std::path::Path) -> ServerPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Warden test server CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_cert = ca_params.self_signed(&ca_key).expect("a CA certificate");
    let issuer = Issuer::new(ca_params, &ca_key);
    let key = KeyPair::generate().expect("a server key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server parameters");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .signed_by(&key, &issuer)
        .expect("a server certificate");
    std::fs::create_dir_all(dir).expect("the certificate directory");
    let pki = ServerPki {
        ca: dir.join("server-ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    std::fs::write(&pki.ca, ca_cert.pem()).expect("server-ca.pem");
    std::fs::write(&pki.cert, cert.pem()).expect("server.pem");
    std::fs::write(&pki.key, key.serialize_pem()).expect("server.key");
    pki
}
