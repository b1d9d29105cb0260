//! The key-encryption key: signing keys are kept in the store sealed under
//! it, so that every node of a cluster shares them (and a rotation) through
//! the database, while a copy of the database alone opens none of them.

use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::RngCore as _;

use crate::error::IdentityError;

/// The format tag at the start of a sealed key.
const SEALED_V1: &[u8; 2] = b"K1";
const NONCE: usize = 12;

/// 32 secret bytes that seal signing keys (ChaCha20-Poly1305, the key's
/// kind and id as associated data: a sealed key moved to another row does
/// not open). `Debug` never shows them.
#[derive(Clone)]
pub struct KeyEncryptionKey([u8; 32]);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey([redacted])")
    }
}

impl Drop for KeyEncryptionKey {
    fn drop(&mut self) {
        // Best effort: the bytes do not outlive the key in this struct.
        self.0 = [0; 32];
    }
}

impl KeyEncryptionKey {
    /// A new random key from the operating system's random source.
    pub fn generate() -> KeyEncryptionKey {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        KeyEncryptionKey(bytes)
    }

    /// Reads the key from text: 64 hexadecimal digits (surrounding white
    /// space ignored), as `WARDEN_KEK` or a key file holds it.
    pub fn parse(text: &str) -> Result<KeyEncryptionKey, IdentityError> {
        let text = text.trim();
        let bytes = hex::decode(text).map_err(|_| IdentityError::InvalidKeyEncryptionKey {
            reason: "expected 64 hexadecimal digits (32 bytes)".to_owned(),
        })?;
        let bytes: [u8; 32] =
            bytes
                .try_into()
                .map_err(|b: Vec<u8>| IdentityError::InvalidKeyEncryptionKey {
                    reason: format!("expected 32 bytes, found {}", b.len()),
                })?;
        Ok(KeyEncryptionKey(bytes))
    }

    /// Loads the key file at `path`, or creates one (mode 0600) when there
    /// is none. Returns the key and whether it was created. Refuses a file
    /// its group or others may read.
    pub fn load_or_create(path: &Path) -> Result<(KeyEncryptionKey, bool), IdentityError> {
        match fs::read_to_string(path) {
            Ok(text) => {
                crate::key::check_permissions(path)?;
                return Self::parse(&text).map(|k| (k, false)).map_err(|e| match e {
                    IdentityError::InvalidKeyEncryptionKey { reason } => {
                        IdentityError::InvalidKeyFile {
                            path: path.to_owned(),
                            reason,
                        }
                    }
                    other => other,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(IdentityError::ReadKey {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        let key = Self::generate();
        let write_error = |source| IdentityError::WriteKey {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::key::create_private_dir(parent).map_err(|source| {
                IdentityError::CreateKeyDirectory {
                    path: parent.to_owned(),
                    source,
                }
            })?;
        }
        // Written whole under a temporary name, then linked into place: a
        // process starting at the same moment sees no file or the whole key,
        // never an empty one.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut temp = path.as_os_str().to_owned();
        temp.push(format!(".{}.{nanos}.tmp", std::process::id()));
        let temp = std::path::PathBuf::from(temp);
        let written = crate::key::create_private_file(&temp).and_then(|mut file| {
            file.write_all(format!("{}\n", hex::encode(key.0)).as_bytes())
                .and_then(|()| file.sync_all())
        });
        let linked = written.and_then(|()| fs::hard_link(&temp, path));
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => Ok((key, true)),
            // Another process made it meanwhile: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Self::load_or_create(path).map(|(k, _)| (k, false))
            }
            Err(e) => Err(write_error(e)),
        }
    }

    /// Seals `plaintext`, the private key of `kind` with id `kid`.
    pub fn seal(&self, kind: &str, kid: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(kind, kid);
        let cipher = ChaCha20Poly1305::new((&self.0).into());
        // INVARIANT: encryption fails only for inputs beyond 2^38 bytes.
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(2 + NONCE + sealed.len());
        out.extend_from_slice(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a key sealed by [`KeyEncryptionKey::seal`] for the same kind and id.
    pub fn open(&self, kind: &str, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, IdentityError> {
        let refused = |reason: &str| IdentityError::SealedKey {
            kind: kind.to_owned(),
            kid: kid.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = sealed
            .strip_prefix(SEALED_V1)
            .ok_or_else(|| refused("not a sealed key of this version"))?;
        if rest.len() < NONCE + 16 {
            return Err(refused("too short"));
        }
        let (nonce, body) = rest.split_at(NONCE);
        let aad = associated_data(kind, kid);
        ChaCha20Poly1305::new((&self.0).into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| {
                refused("it does not open under this key-encryption key (another KEK, or altered)")
            })
    }
}

fn associated_data(kind: &str, kid: &str) -> Vec<u8> {
    let mut aad = b"warden-key/v1\0".to_vec();
    aad.extend_from_slice(kind.as_bytes());
    aad.push(0);
    aad.extend_from_slice(kid.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_as_sealed() {
        let kek = KeyEncryptionKey::generate();
        let sealed = kek.seal("jwt-svid", "kid-1", b"secret key");
        assert_eq!(
            kek.open("jwt-svid", "kid-1", &sealed).unwrap(),
            b"secret key"
        );
        assert!(
            kek.open("jwt-svid", "kid-2", &sealed).is_err(),
            "another row"
        );
        assert!(
            kek.open("x509-ca", "kid-1", &sealed).is_err(),
            "another kind"
        );
        assert!(
            KeyEncryptionKey::generate()
                .open("jwt-svid", "kid-1", &sealed)
                .is_err(),
            "another KEK"
        );
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(kek.open("jwt-svid", "kid-1", &altered).is_err());
        assert!(kek.open("jwt-svid", "kid-1", b"K1short").is_err());
    }

    #[test]
    fn processes_starting_at_once_read_one_whole_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.key");
        let keys: Vec<[u8; 32]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| KeyEncryptionKey::load_or_create(&path).unwrap().0.0))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]), "one key for all");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn key_files_are_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("kek.key");
        let (made, created) = KeyEncryptionKey::load_or_create(&path).unwrap();
        assert!(created);
        let (read, created) = KeyEncryptionKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(made.0, read.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                KeyEncryptionKey::load_or_create(&path),
                Err(IdentityError::KeyPermissions { .. })
            ));
        }
        assert!(KeyEncryptionKey::parse("abcd").is_err());
        assert!(KeyEncryptionKey::parse(&"zz".repeat(32)).is_err());
        assert!(KeyEncryptionKey::parse(&format!(" {} \n", "ab".repeat(32))).is_ok());
        assert!(!format!("{made:?}").contains(&hex::encode(made.0)));
    }
}
