//! A key file (the checkpoint signing seed, a payload wrapping key): 32 bytes
//! in standard base64, one line, readable by its owner only.

use std::fs;
use std::io::{ErrorKind, Write as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore as _;

use crate::AuditError;

pub(crate) fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

fn key_error(path: &Path, reason: impl Into<String>) -> AuditError {
    AuditError::KeyFile {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Reads the seed from `path`, refusing a file others may read.
pub(crate) fn read(path: &Path) -> Result<[u8; 32], AuditError> {
    let file = fs::File::open(path).map_err(AuditError::io(path))?;
    check_private(path, &file)?;
    let text = std::io::read_to_string(file).map_err(AuditError::io(path))?;
    let encoded = text.strip_suffix('\n').unwrap_or(&text);
    BASE64
        .decode(encoded)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            key_error(
                path,
                "expected 32 bytes (a key or an Ed25519 seed) in standard base64",
            )
        })
}

/// Creates `path` with a fresh seed, unless it exists: `Ok(None)` then.
pub(crate) fn create(path: &Path) -> Result<Option<[u8; 32]>, AuditError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(AuditError::io(parent))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(AuditError::io(path)(e)),
    };
    let seed = random_seed();
    let line = format!("{}\n", BASE64.encode(seed));
    file.write_all(line.as_bytes())
        .map_err(AuditError::io(path))?;
    file.sync_all().map_err(AuditError::io(path))?;
    Ok(Some(seed))
}

#[cfg(unix)]
fn check_private(path: &Path, file: &fs::File) -> Result<(), AuditError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = file
        .metadata()
        .map_err(AuditError::io(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(key_error(
            path,
            format!(
                "mode {:03o} lets others read the key; run `chmod 600` on it",
                mode & 0o777
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _file: &fs::File) -> Result<(), AuditError> {
    Ok(())
}
