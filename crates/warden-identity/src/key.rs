//! The trust domain's JWT signing key, its public JWK and the trust bundle.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::error::IdentityError;

/// How often (in seconds) a relying party should refetch the trust bundle.
pub const BUNDLE_REFRESH_HINT_SECONDS: u64 = 300;

/// The `use` of a JWK that verifies JWT-SVIDs, per the SPIFFE trust bundle format.
const JWT_SVID_USE: &str = "jwt-svid";

/// The trust domain's JWT signing key: ECDSA on P-256, used as ES256.
///
/// `Debug` shows the key id only, never the private key.
pub struct SigningKey {
    key: ecdsa::SigningKey,
    public: VerifyingKeyEntry,
}

impl SigningKey {
    /// A new random key from the operating system's random source.
    pub fn generate() -> SigningKey {
        Self::from_key(ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) P-256 key, for keys
    /// that come from the environment rather than a file.
    pub fn from_pkcs8_pem(pem: &str) -> Result<SigningKey, IdentityError> {
        ecdsa::SigningKey::from_pkcs8_pem(pem)
            .map(Self::from_key)
            .map_err(|error| IdentityError::InvalidKeyPem {
                reason: error.to_string(),
            })
    }

    /// Loads the PKCS#8 PEM key at `path`, or, when there is no file there,
    /// creates one (mode 0600, missing parent directories created with mode
    /// 0700). Returns the key and whether it was created.
    ///
    /// On unix, refuses a key file that its group or others may read or write.
    pub fn load_or_create(path: &Path) -> Result<(SigningKey, bool), IdentityError> {
        match fs::metadata(path) {
            Ok(_) => return Self::load(path).map(|key| (key, false)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(IdentityError::ReadKey {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        let key = Self::generate();
        match key.create_file(path) {
            Ok(()) => Ok((key, true)),
            // Someone else created it between our check and our write: use theirs.
            Err(IdentityError::WriteKey { source, .. })
                if source.kind() == io::ErrorKind::AlreadyExists =>
            {
                Self::load(path).map(|key| (key, false))
            }
            Err(error) => Err(error),
        }
    }

    /// The private key as PKCS#8 PEM, for sealing it into the store.
    pub fn to_pkcs8_pem(&self) -> Result<crate::Secret, IdentityError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| crate::Secret::new(pem.to_string()))
            .map_err(|error| IdentityError::InvalidKeyPem {
                reason: error.to_string(),
            })
    }

    /// The key id (`kid`): base64url of the first 16 bytes of the SHA-256 of the
    /// uncompressed SEC1 public key.
    pub fn key_id(&self) -> &str {
        self.public.kid()
    }

    /// The public key as a JWK for a SPIFFE trust bundle:
    /// `{"kty":"EC","crv":"P-256","x":..,"y":..,"kid":..,"use":"jwt-svid","alg":"ES256"}`.
    pub fn public_jwk(&self) -> Value {
        self.public.to_jwk()
    }

    /// The public half, for a [`crate::JwtSvidVerifier`].
    pub fn verifying_key(&self) -> VerifyingKeyEntry {
        self.public.clone()
    }

    pub(crate) fn ecdsa(&self) -> &ecdsa::SigningKey {
        &self.key
    }

    fn from_key(key: ecdsa::SigningKey) -> SigningKey {
        let public = VerifyingKeyEntry::from_ecdsa(*key.verifying_key());
        SigningKey { key, public }
    }

    fn load(path: &Path) -> Result<SigningKey, IdentityError> {
        check_permissions(path)?;
        let pem = fs::read_to_string(path).map_err(|source| IdentityError::ReadKey {
            path: path.to_owned(),
            source,
        })?;
        ecdsa::SigningKey::from_pkcs8_pem(&pem)
            .map(Self::from_key)
            .map_err(|error| IdentityError::InvalidKeyFile {
                path: path.to_owned(),
                reason: error.to_string(),
            })
    }

    fn create_file(&self, path: &Path) -> Result<(), IdentityError> {
        let write_error = |source| IdentityError::WriteKey {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent).map_err(|source| IdentityError::CreateKeyDirectory {
                path: parent.to_owned(),
                source,
            })?;
        }
        let pem = self.key.to_pkcs8_pem(LineEnding::LF).map_err(|error| {
            write_error(io::Error::other(format!("cannot encode key: {error}")))
        })?;
        let mut file = create_private_file(path).map_err(write_error)?;
        let written = file
            .write_all(pem.as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(source) = written {
            // Leave no half-written key behind to be refused on the next start.
            let _ = fs::remove_file(path);
            return Err(write_error(source));
        }
        Ok(())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.key_id())
            .field("private_key", &"[redacted]")
            .finish()
    }
}

/// A public key that verifies JWT-SVIDs, with its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKeyEntry {
    kid: String,
    key: ecdsa::VerifyingKey,
}

impl VerifyingKeyEntry {
    /// The key id (`kid`) tokens name in their header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Reads a P-256 public JWK (`kty` `EC`, `crv` `P-256`, `x`, `y`, `kid`),
    /// as found in a SPIFFE trust bundle.
    pub fn from_jwk(jwk: &Value) -> Result<VerifyingKeyEntry, IdentityError> {
        let field = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| IdentityError::InvalidJwk {
                    reason: format!("missing string field `{name}`"),
                })
        };
        let (kty, crv) = (field("kty")?, field("crv")?);
        if kty != "EC" || crv != "P-256" {
            return Err(IdentityError::InvalidJwk {
                reason: format!("key type `{kty}` on curve `{crv}`: expected `EC` on `P-256`"),
            });
        }
        let kid = field("kid")?;
        let coordinate = |name: &str| -> Result<Vec<u8>, IdentityError> {
            let bytes = URL_SAFE_NO_PAD.decode(field(name)?).map_err(|error| {
                IdentityError::InvalidJwk {
                    reason: format!("`{name}` of key `{kid}` is not base64url: {error}"),
                }
            })?;
            if bytes.len() != 32 {
                return Err(IdentityError::InvalidJwk {
                    reason: format!("`{name}` of key `{kid}` is not 32 bytes long"),
                });
            }
            Ok(bytes)
        };
        let mut sec1 = Vec::with_capacity(65);
        sec1.push(0x04);
        sec1.extend(coordinate("x")?);
        sec1.extend(coordinate("y")?);
        let key =
            ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| IdentityError::InvalidJwk {
                reason: format!("key `{kid}` is not a point on P-256"),
            })?;
        Ok(VerifyingKeyEntry {
            kid: kid.to_owned(),
            key,
        })
    }

    /// The JWT-SVID keys of a SPIFFE trust bundle (`{"keys":[..]}`); keys with
    /// another `use` (such as `x509-svid`) are skipped.
    pub fn from_bundle(bundle: &Value) -> Result<Vec<VerifyingKeyEntry>, IdentityError> {
        let keys = bundle
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| IdentityError::InvalidJwk {
                reason: "trust bundle has no `keys` array".to_owned(),
            })?;
        keys.iter()
            .filter(|jwk| jwk.get("use").and_then(Value::as_str) == Some(JWT_SVID_USE))
            .map(VerifyingKeyEntry::from_jwk)
            .collect()
    }

    /// The public JWK, as in [`SigningKey::public_jwk`].
    pub fn to_jwk(&self) -> Value {
        let point = self.key.to_encoded_point(false);
        // INVARIANT: an uncompressed point that is not the identity (a verifying
        // key never is) has both coordinates, so the defaults are never used.
        let x = point
            .x()
            .map(|x| URL_SAFE_NO_PAD.encode(x))
            .unwrap_or_default();
        let y = point
            .y()
            .map(|y| URL_SAFE_NO_PAD.encode(y))
            .unwrap_or_default();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": x,
            "y": y,
            "kid": self.kid,
            "use": JWT_SVID_USE,
            "alg": "ES256",
        })
    }

    pub(crate) fn ecdsa(&self) -> &ecdsa::VerifyingKey {
        &self.key
    }

    fn from_ecdsa(key: ecdsa::VerifyingKey) -> VerifyingKeyEntry {
        let sec1 = key.to_encoded_point(false);
        let digest = Sha256::digest(sec1.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(&digest[..16]);
        VerifyingKeyEntry { kid, key }
    }
}

impl fmt::Debug for VerifyingKeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKeyEntry")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The trust bundle served at `/.well-known/spiffe/bundle`, in the SPIFFE
/// trust bundle format:
/// `{"keys":[jwk..], "spiffe_refresh_hint":300, "spiffe_sequence":1}`, with
/// one `jwt-svid` JWK per signing key and one `x509-svid` JWK (its `x5c`
/// holding the certificate) per X.509 CA.
pub fn bundle_document(keys: &[&SigningKey], authorities: &[&crate::CaCertificate]) -> Value {
    let jwt = keys.iter().map(|key| key.public_jwk());
    let x509 = authorities.iter().map(|ca| ca.to_jwk());
    json!({
        "keys": jwt.chain(x509).collect::<Vec<_>>(),
        "spiffe_refresh_hint": BUNDLE_REFRESH_HINT_SECONDS,
        "spiffe_sequence": 1,
    })
}

#[cfg(unix)]
pub(crate) fn check_permissions(path: &Path) -> Result<(), IdentityError> {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = fs::metadata(path).map_err(|source| IdentityError::ReadKey {
        path: path.to_owned(),
        source,
    })?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::KeyPermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_permissions(_path: &Path) -> Result<(), IdentityError> {
    Ok(())
}

#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
pub(crate) fn create_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
pub(crate) fn create_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}
