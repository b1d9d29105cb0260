//! Crypto-shredding: each record's sensitive payload is sealed under its own
//! key; the log commits to the ciphertext, so destroying the key erases the
//! content while every proof still verifies.

use std::fmt;

use chacha20poly1305::aead::{Aead as _, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;

use crate::AuditError;
use crate::hash::sha256_hex;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A sealed payload: `nonce (12 bytes) ‖ ChaCha20-Poly1305 ciphertext and tag`.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPayload {
    /// Nonce followed by ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedPayload({} bytes, sha256 {})",
            self.ciphertext.len(),
            self.digest()
        )
    }
}

impl SealedPayload {
    /// Lowercase hex SHA-256 of [`ciphertext`](Self::ciphertext): what the
    /// record's `payload_digest` holds.
    pub fn digest(&self) -> String {
        sha256_hex(&self.ciphertext)
    }
}

/// A payload's 256-bit key. Its `Debug` never shows the key, and it is wiped
/// from memory when dropped.
#[derive(Clone)]
pub struct PayloadKey([u8; 32]);

impl fmt::Debug for PayloadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PayloadKey(<redacted>)")
    }
}

impl Drop for PayloadKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl PayloadKey {
    /// The key's bytes, to store (apart from the log).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key from stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// Seals `plaintext` under a fresh random key with ChaCha20-Poly1305 and a
/// random nonce.
pub fn seal(plaintext: &[u8]) -> (SealedPayload, PayloadKey) {
    let mut rng = rand::thread_rng();
    let mut key = PayloadKey([0; 32]);
    rng.fill_bytes(&mut key.0);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.0));
    #[expect(clippy::expect_used, reason = "encryption fails only past 256 GiB")]
    // INVARIANT: ChaCha20-Poly1305 refuses only plaintexts longer than about
    // 2^38 bytes, which an audit payload in memory never is.
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .expect("plaintext within the ChaCha20-Poly1305 limit");
    let mut ciphertext = Vec::with_capacity(NONCE_LEN + sealed.len());
    ciphertext.extend_from_slice(&nonce);
    ciphertext.extend_from_slice(&sealed);
    (SealedPayload { ciphertext }, key)
}

/// Opens a sealed payload with its key.
pub fn open(payload: &SealedPayload, key: &PayloadKey) -> Result<Vec<u8>, AuditError> {
    if payload.ciphertext.len() < NONCE_LEN + TAG_LEN {
        return Err(AuditError::PayloadOpen {
            reason: "shorter than a nonce and a tag",
        });
    }
    let (nonce, sealed) = payload.ciphertext.split_at(NONCE_LEN);
    ChaCha20Poly1305::new(Key::from_slice(&key.0))
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| AuditError::PayloadOpen {
            reason: "wrong key or altered ciphertext",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_keys_differ() {
        let (a, key_a) = seal(b"iban DE89 3704 0044 0532 0130 00");
        let (b, key_b) = seal(b"iban DE89 3704 0044 0532 0130 00");
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_ne!(key_a.as_bytes(), key_b.as_bytes());
        assert_eq!(
            open(&a, &key_a).ok().as_deref(),
            Some(&b"iban DE89 3704 0044 0532 0130 00"[..])
        );
        assert!(open(&a, &key_b).is_err());
        assert_eq!(a.digest().len(), 64);
    }

    #[test]
    fn altered_or_short_ciphertext_does_not_open() {
        let (payload, key) = seal(b"secret");
        for i in 0..payload.ciphertext.len() {
            let mut altered = payload.clone();
            altered.ciphertext[i] ^= 1;
            assert!(open(&altered, &key).is_err(), "byte {i}");
        }
        let short = SealedPayload {
            ciphertext: vec![0; 27],
        };
        assert!(open(&short, &key).is_err());
    }

    #[test]
    fn key_debug_is_redacted() {
        let key = PayloadKey::from_bytes([0xab; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("ab") && shown.contains("redacted"));
        assert_eq!(
            PayloadKey::from_bytes(*key.as_bytes()).as_bytes(),
            &[0xab; 32]
        );
    }
}
