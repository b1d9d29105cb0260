//! Wrapping of payload keys, so that erasure survives copies of the database.
//!
//! A record's payload key is never stored as it is: it is sealed
//! ("wrapped") with ChaCha20-Poly1305 under a *wrapping key* that lives in a
//! file outside the database, with the record's index as associated data (a
//! wrapped key moved to another row does not open). The stored form is
//!
//! ```text
//! "W1" ‖ wrapping key id (16 bytes) ‖ nonce (12 bytes) ‖ ciphertext and tag (48 bytes)
//! ```
//!
//! To erase record *i*, its wrapped key is deleted, every other key wrapped
//! under the same wrapping key is wrapped again under a fresh one, and the old
//! wrapping key's file is destroyed. A copy of the database taken before (a
//! backup, SQLite's WAL, PostgreSQL's dead row versions) then holds record
//! *i*'s key only under a wrapping key that no longer exists.

use std::fmt;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;

use crate::checkpoint::keyfile;
use crate::{AuditError, PayloadKey};

const MAGIC: &[u8; 2] = b"W1";
const ID_LEN: usize = 16;
const NONCE_LEN: usize = 12;
/// The length of a wrapped key.
pub const WRAPPED_LEN: usize = MAGIC.len() + ID_LEN + NONCE_LEN + 32 + 16;

/// A wrapping key's identifier: 16 random bytes, named in each key it wraps.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WrapKeyId(pub [u8; ID_LEN]);

impl fmt::Debug for WrapKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrapKeyId({self})")
    }
}

impl fmt::Display for WrapKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl WrapKeyId {
    /// The id a wrapped key names, if `wrapped` is in the wrapped form.
    pub fn of(wrapped: &[u8]) -> Option<Self> {
        if wrapped.len() != WRAPPED_LEN || !wrapped.starts_with(MAGIC) {
            return None;
        }
        wrapped
            .get(MAGIC.len()..MAGIC.len() + ID_LEN)
            .and_then(|b| b.try_into().ok())
            .map(Self)
    }

    /// The byte range of the id inside a wrapped key, 1-based as SQL's
    /// `substr` counts: (start, length).
    pub const SQL_RANGE: (i64, i64) = (MAGIC.len() as i64 + 1, ID_LEN as i64);
}

/// A wrapping key. Its `Debug` never shows the key.
pub struct WrapKey {
    id: WrapKeyId,
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for WrapKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrapKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl WrapKey {
    fn from_bytes(id: WrapKeyId, key: &[u8; 32]) -> Self {
        Self {
            id,
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// Its identifier.
    pub fn id(&self) -> WrapKeyId {
        self.id
    }

    /// Wraps the payload key of record `index`.
    pub fn wrap(&self, index: u64, key: &PayloadKey) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = index.to_be_bytes();
        #[expect(clippy::expect_used, reason = "a 32-byte plaintext is always accepted")]
        // INVARIANT: ChaCha20-Poly1305 refuses only plaintexts beyond 2^38 bytes.
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: key.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("a 32-byte key within the ChaCha20-Poly1305 limit");
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Unwraps the payload key of record `index`.
    pub fn unwrap(&self, index: u64, wrapped: &[u8]) -> Result<PayloadKey, AuditError> {
        let refused = |reason| AuditError::PayloadOpen { reason };
        if WrapKeyId::of(wrapped) != Some(self.id) {
            return Err(refused("the key is not wrapped under this wrapping key"));
        }
        let start = MAGIC.len() + ID_LEN;
        let nonce = wrapped
            .get(start..start + NONCE_LEN)
            .ok_or(refused("a wrapped key shorter than its nonce"))?;
        let sealed = wrapped
            .get(start + NONCE_LEN..)
            .ok_or(refused("a wrapped key shorter than its nonce"))?;
        let aad = index.to_be_bytes();
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| refused("the wrapped key is altered or belongs to another record"))?;
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| refused("the wrapped key is not 32 bytes"))?;
        Ok(PayloadKey::from_bytes(bytes))
    }
}

/// The directory of wrapping key files (`<id>.key`, mode 0600).
#[derive(Debug, Clone)]
pub struct WrapKeyDir {
    dir: PathBuf,
}

impl WrapKeyDir {
    /// The key files under `dir` (created on first use).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn file(&self, id: WrapKeyId) -> PathBuf {
        self.dir.join(format!("{id}.key"))
    }

    /// Creates a fresh wrapping key and writes its file (synced, with the
    /// directory) before returning it.
    pub fn create(&self) -> Result<WrapKey, AuditError> {
        let mut id = [0u8; ID_LEN];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let id = WrapKeyId(id);
        let path = self.file(id);
        let key = keyfile::create(&path)?.ok_or_else(|| AuditError::KeyFile {
            path: path.clone(),
            reason: "a wrapping key with this random id already exists".into(),
        })?;
        sync_dir(&self.dir)?;
        Ok(WrapKey::from_bytes(id, &key))
    }

    /// Loads the wrapping key `id`, refusing a file others may read.
    pub fn load(&self, id: WrapKeyId) -> Result<WrapKey, AuditError> {
        let path = self.file(id);
        let key = keyfile::read(&path)?;
        Ok(WrapKey::from_bytes(id, &key))
    }

    /// Whether the key file of `id` exists.
    pub fn has(&self, id: WrapKeyId) -> bool {
        self.file(id).exists()
    }

    /// Destroys the key file of `id`: overwritten with zeros, synced, removed,
    /// and the removal synced. Destroying a key that is gone is not an error.
    pub fn destroy(&self, id: WrapKeyId) -> Result<(), AuditError> {
        use std::io::Write as _;
        let path = self.file(id);
        match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(mut file) => {
                let len = file.metadata().map_err(AuditError::io(&path))?.len();
                let zeros = vec![0u8; usize::try_from(len).unwrap_or(64)];
                file.write_all(&zeros).map_err(AuditError::io(&path))?;
                file.sync_all().map_err(AuditError::io(&path))?;
                std::fs::remove_file(&path).map_err(AuditError::io(&path))?;
                sync_dir(&self.dir)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AuditError::io(&path)(e)),
        }
    }

    /// The ids of the key files present.
    pub fn list(&self) -> Result<Vec<WrapKeyId>, AuditError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(AuditError::io(&self.dir)(e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(AuditError::io(&self.dir))?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".key")) else {
                continue;
            };
            if let Some(id) = hex::decode(stem)
                .ok()
                .and_then(|b| <[u8; ID_LEN]>::try_from(b).ok())
            {
                ids.push(WrapKeyId(id));
            }
        }
        ids.sort();
        Ok(ids)
    }
}

fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(AuditError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_keys_open_only_for_their_record_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys = WrapKeyDir::new(dir.path().join("wrap"));
        let a = keys.create().unwrap();
        let b = keys.create().unwrap();
        let (_, payload_key) = crate::seal(b"secret");
        let wrapped = a.wrap(7, &payload_key);
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        assert_eq!(WrapKeyId::of(&wrapped), Some(a.id()));
        assert_eq!(
            a.unwrap(7, &wrapped).unwrap().as_bytes(),
            payload_key.as_bytes()
        );
        assert!(a.unwrap(8, &wrapped).is_err(), "another record's index");
        assert!(b.unwrap(7, &wrapped).is_err(), "another wrapping key");
        let mut altered = wrapped.clone();
        altered[WRAPPED_LEN - 1] ^= 1;
        assert!(a.unwrap(7, &altered).is_err());
        assert!(WrapKeyId::of(payload_key.as_bytes()).is_none());
    }

    #[test]
    fn a_destroyed_key_is_gone_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let keys = WrapKeyDir::new(dir.path().join("wrap"));
        let a = keys.create().unwrap();
        let path = keys.path().join(format!("{}.key", a.id()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(keys.list().unwrap(), vec![a.id()]);
        assert!(keys.load(a.id()).is_ok());
        keys.destroy(a.id()).unwrap();
        assert!(!keys.has(a.id()));
        assert!(keys.load(a.id()).is_err());
        keys.destroy(a.id()).unwrap();
        assert!(keys.list().unwrap().is_empty());
    }
}
