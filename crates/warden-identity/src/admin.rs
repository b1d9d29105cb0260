//! Opaque admin tokens: generated once, stored only as a digest.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::secret::{Secret, constant_time_eq};

/// The prefix of every admin token, so that a leaked one is easy to recognise
/// (and for secret scanners to find).
pub const ADMIN_TOKEN_PREFIX: &str = "wdn_adm_";

/// A new admin token: [`ADMIN_TOKEN_PREFIX`] followed by 32 random bytes from
/// the operating system, base64url without padding.
///
/// Show it to the operator once; store only its [`token_digest`].
pub fn generate_admin_token() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(format!(
        "{ADMIN_TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The lowercase hex SHA-256 of `token`: what the store keeps instead of the
/// token.
pub fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Whether `token` is the one whose [`token_digest`] is `digest`, compared in
/// constant time.
pub fn admin_token_matches(token: &str, digest: &str) -> bool {
    constant_time_eq(token_digest(token).as_bytes(), digest.as_bytes())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_prefix_and_differ() {
        let a = generate_admin_token();
        let b = generate_admin_token();
        assert!(a.expose().starts_with(ADMIN_TOKEN_PREFIX));
        // 32 bytes are 43 base64url characters without padding.
        assert_eq!(a.expose().len(), ADMIN_TOKEN_PREFIX.len() + 43);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn digest_is_lowercase_hex_sha256() {
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn matches_only_its_own_digest() {
        let token = generate_admin_token();
        let digest = token_digest(token.expose());
        assert!(admin_token_matches(token.expose(), &digest));
        assert!(!admin_token_matches("wdn_adm_other", &digest));
    }
}
