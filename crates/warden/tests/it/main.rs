//! The `warden` command as a user runs it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

mod audit;
mod classify;
mod cli;
mod cluster;
mod console;
mod discover;
mod llm;
mod mcp;
mod mtls;
mod pins;
mod report;
mod serve;
mod workload;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `tests/<name>` at the repository's root (the browser and SDK suites).
pub(crate) fn tests_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join(name)
        .canonicalize()
        .unwrap()
}

pub(crate) fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Runs `warden` with `args` against the examples and a data dir.
pub(crate) fn warden(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--config")
        .arg(examples().join("warden.toml"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("WARDEN_STORE")
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// This process's effective user id, from `/proc/self/status` (a Workload
/// API registration entry that matches the tests).
pub(crate) fn own_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}
