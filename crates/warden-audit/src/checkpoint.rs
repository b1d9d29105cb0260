//! Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes,
//! signed with Ed25519.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{AuditError, Hash};

pub(crate) mod keyfile;

/// The C2SP signed-note signature type byte for Ed25519.
const ALGORITHM_ED25519: u8 = 0x01;
/// A signed note carries at most this many signatures (as in Go's `note`).
const MAX_SIGNATURES: usize = 100;

/// A tree head: the log `origin` had `size` leaves with Merkle root `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, the first line of the checkpoint (for example
    /// `warden.example.com/audit`).
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash of the tree of that size.
    pub root: Hash,
}

impl Checkpoint {
    /// The checkpoint's text: `<origin>\n<size>\n<base64 root>\n`, the signed
    /// part of the note.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses a checkpoint body: exactly three lines, no extension lines.
    pub fn parse_body(text: &str) -> Result<Self, AuditError> {
        let bad = |reason: &str| AuditError::CheckpointMalformed {
            reason: reason.to_owned(),
        };
        let Some(text) = text.strip_suffix('\n') else {
            return Err(bad("the body does not end with a newline"));
        };
        let lines: Vec<&str> = text.split('\n').collect();
        let [origin, size, root] = lines[..] else {
            return Err(bad(
                "the body must be exactly three lines: origin, size, root",
            ));
        };
        if origin.is_empty() {
            return Err(bad("the origin line is empty"));
        }
        let canonical_size = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size: u64 = match size.parse() {
            Ok(n) if canonical_size => n,
            _ => return Err(bad(&format!("the size `{size}` is not a decimal number"))),
        };
        let root: Hash = BASE64
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                bad(&format!(
                    "the root `{root}` is not 32 bytes in standard base64"
                ))
            })?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

/// Signs checkpoints with an Ed25519 key under a C2SP key name.
///
/// ```
/// use warden_audit::{Checkpoint, CheckpointSigner, empty_root, open_checkpoint};
///
/// let signer = CheckpointSigner::generate("warden.example.com")?;
/// let checkpoint = Checkpoint { origin: "warden.example.com/audit".into(), size: 0, root: empty_root() };
/// let note = signer.sign(&checkpoint);
/// assert_eq!(open_checkpoint(&note, &signer.verifier_key())?, checkpoint);
/// # Ok::<(), warden_audit::AuditError>(())
/// ```
pub struct CheckpointSigner {
    name: String,
    key: SigningKey,
    key_hash: [u8; 4],
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("verifier_key", &self.verifier_key())
            .field("signing_key", &"<redacted>")
            .finish()
    }
}

impl CheckpointSigner {
    /// A signer with a fresh random key.
    pub fn generate(name: &str) -> Result<Self, AuditError> {
        Self::from_seed(name, keyfile::random_seed())
    }

    /// A signer from a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, AuditError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let key_hash = key_hash(name, &key.verifying_key());
        Ok(Self {
            name: name.to_owned(),
            key,
            key_hash,
        })
    }

    /// Reads a key file: the seed in standard base64 on one line, readable by
    /// its owner only (on unix, a file any group or other user can read is
    /// refused).
    pub fn from_seed_file(path: &Path, name: &str) -> Result<Self, AuditError> {
        Self::from_seed(name, keyfile::read(path)?)
    }

    /// Reads the key file at `path`, or creates it (mode 0600, and its parent
    /// directories) with a fresh key if there is none. The `bool` is `true`
    /// when the file was created.
    pub fn load_or_create(path: &Path, name: &str) -> Result<(Self, bool), AuditError> {
        check_name(name)?;
        match keyfile::create(path)? {
            Some(seed) => Ok((Self::from_seed(name, seed)?, true)),
            None => Ok((Self::from_seed_file(path, name)?, false)),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The C2SP verifier key: `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`.
    pub fn verifier_key(&self) -> String {
        let mut key = vec![ALGORITHM_ED25519];
        key.extend_from_slice(self.key.verifying_key().as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_hash),
            BASE64.encode(key)
        )
    }

    /// The signed note of a checkpoint: its body, a blank line and the
    /// signature line `— <name> <base64(key hash ‖ signature)>`.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        self.sign_text(&checkpoint.body())
    }

    /// Signs any note text (which must end with a newline to make a valid note).
    pub fn sign_text(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.key_hash.to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{text}\n— {} {}\n", self.name, BASE64.encode(blob))
    }
}

/// Parses a signed checkpoint note and verifies its signature by the key
/// `vkey` (a C2SP verifier key). Signatures by other keys (for example
/// witnesses' cosignatures) are allowed and ignored, as C2SP says; the note
/// must carry a valid signature by `vkey`, and its text must be exactly a
/// checkpoint body.
pub fn open_checkpoint(note: &str, vkey: &str) -> Result<Checkpoint, AuditError> {
    let text = open_note(note, vkey)?;
    Checkpoint::parse_body(text)
}

/// Parses a C2SP signed note, verifies its signature by `vkey` and returns the
/// signed text.
pub fn open_note<'a>(note: &'a str, vkey: &str) -> Result<&'a str, AuditError> {
    let verifier = VerifierKey::parse(vkey)?;
    let bad = |reason: &str| AuditError::NoteMalformed {
        reason: reason.to_owned(),
    };
    if note.chars().any(|c| c < ' ' && c != '\n') {
        return Err(bad("control characters other than newline"));
    }
    let Some(split) = note.rfind("\n\n") else {
        return Err(bad("no blank line between text and signatures"));
    };
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Err(bad("the signatures do not end with a newline"));
    };
    let mut verified = false;
    for (count, line) in signatures.split('\n').enumerate() {
        if count >= MAX_SIGNATURES {
            return Err(bad("more than 100 signatures"));
        }
        let Some((name, blob)) = line
            .strip_prefix("— ")
            .and_then(|rest| rest.split_once(' '))
        else {
            return Err(bad(&format!("malformed signature line `{line}`")));
        };
        let blob = match BASE64.decode(blob) {
            Ok(blob) if blob.len() >= 5 && check_name(name).is_ok() => blob,
            _ => return Err(bad(&format!("malformed signature line `{line}`"))),
        };
        if name != verifier.name || blob[..4] != verifier.key_hash {
            continue;
        }
        let signature = Signature::from_slice(&blob[4..]).map_err(|_| verifier.bad_signature())?;
        // Strict verification: no small-order keys or non-canonical
        // signatures, so a checkpoint has exactly one valid signature.
        verifier
            .key
            .verify_strict(text.as_bytes(), &signature)
            .map_err(|_| verifier.bad_signature())?;
        verified = true;
    }
    if !verified {
        return Err(AuditError::UnknownKey { key: verifier.id() });
    }
    Ok(text)
}

/// Checks that `vkey` is a well-formed C2SP Ed25519 verifier key whose key
/// hash matches its name and key.
pub fn check_verifier_key(vkey: &str) -> Result<(), AuditError> {
    VerifierKey::parse(vkey).map(|_| ())
}

/// A parsed C2SP verifier key for Ed25519.
struct VerifierKey<'a> {
    name: &'a str,
    key_hash: [u8; 4],
    key: VerifyingKey,
}

impl<'a> VerifierKey<'a> {
    fn parse(vkey: &'a str) -> Result<Self, AuditError> {
        let bad = |reason: &str| AuditError::VerifierKey {
            reason: reason.to_owned(),
        };
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected `<name>+<hex key hash>+<base64 key>`"));
        };
        check_name(name).map_err(|_| bad(&format!("invalid key name `{name}`")))?;
        let key_hash: [u8; 4] = match hex::decode(hash).ok().map(<[u8; 4]>::try_from) {
            Some(Ok(h)) => h,
            _ => return Err(bad(&format!("key hash `{hash}` is not 8 hex digits"))),
        };
        let key = BASE64
            .decode(key)
            .map_err(|_| bad("the key is not standard base64"))?;
        let [ALGORITHM_ED25519, public @ ..] = key.as_slice() else {
            return Err(bad("not an Ed25519 key (algorithm byte 0x01)"));
        };
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&public).map_err(|_| bad("not a valid Ed25519 point"))?;
        if self::key_hash(name, &key) != key_hash {
            return Err(bad("the key hash does not match the name and key"));
        }
        Ok(Self {
            name,
            key_hash,
            key,
        })
    }

    fn id(&self) -> String {
        format!("{}+{}", self.name, hex::encode(self.key_hash))
    }

    fn bad_signature(&self) -> AuditError {
        AuditError::BadSignature { key: self.id() }
    }
}

/// The first 4 bytes of `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)`.
fn key_hash(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ALGORITHM_ED25519]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// C2SP key names: non-empty, no Unicode spaces, no `+`.
fn check_name(name: &str) -> Result<(), AuditError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(AuditError::KeyName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
