//! `warden-discover` over the fixture tree: every expected finding, nothing
//! from ignored, binary or skipped files, no secret value in any output, and
//! SARIF that validates against the SARIF 2.1.0 schema.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

mod fixture;
mod sarif;

use std::path::{Path, PathBuf};

/// Copies the fixture tree into a fresh directory outside any git
/// repository, so only its own `.gitignore` applies.
pub(crate) fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    warden_test::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tree"),
        &root,
    );
    (dir, root)
}

/// The scan of the fixture copy, with `research-bot` registered.
pub(crate) fn scan_fixture(root: &Path) -> warden_discover::Report {
    let mut options = warden_discover::ScanOptions::new(vec![root.to_owned()]);
    options.registered_agents.insert("research-bot".to_owned());
    options.global_gitignore = false;
    options.host = "fixture-host".to_owned();
    warden_discover::scan(&options).unwrap()
}

/// Every fake secret in the fixtures holds this marker, and nothing else does.
pub(crate) const SECRET_MARKER: &str = "WardenFixture";
