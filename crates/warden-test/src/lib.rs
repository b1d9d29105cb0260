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
