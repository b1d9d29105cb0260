//! The trust domain's JWT signing keys, kept in the store sealed under the
//! key-encryption key: one current key signs; retired keys stay in the
//! bundle and keep verifying until every token they signed has expired.
//! Every node reads the same keys from the store, and a rotation at one node
//! or the CLI reaches the others with the change counter.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use warden_identity::{KeyEncryptionKey, SigningKey};
use warden_store::{AnyStore, KeyRow, KeyStore, Replace, StoreError};

use crate::error::GatewayError;

/// The kind of the JWT-SVID signing keys in the store.
pub const JWT_SVID_KEYS: &str = "jwt-svid";

/// The longest a JWT-SVID may live: a retired key stays in the bundle for
/// this long (plus the verifier's leeway) after it stopped signing.
pub const MAX_SVID_TTL: Duration = Duration::from_secs(24 * 3600);

/// The keys in force: the one that signs, and every key that verifies.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    /// The key new tokens are signed with.
    pub current: Arc<SigningKey>,
    /// When the current key was made (unix ms).
    pub current_since: i64,
    /// The current key first, then the retired keys not yet expired.
    pub all: Vec<Arc<SigningKey>>,
}

impl SigningKeys {
    /// One key, current and alone (keys not kept in the store).
    pub fn single(key: Arc<SigningKey>) -> SigningKeys {
        SigningKeys {
            all: vec![Arc::clone(&key)],
            current: key,
            current_since: 0,
        }
    }
}

fn corrupt(detail: String) -> GatewayError {
    GatewayError::Store(StoreError::Corrupt {
        what: "signing keys",
        detail,
    })
}

fn sealed_row(kek: &KeyEncryptionKey, key: &SigningKey, now: i64) -> Result<KeyRow, GatewayError> {
    let pem = key.to_pkcs8_pem().map_err(|e| corrupt(e.to_string()))?;
    Ok(KeyRow {
        kind: JWT_SVID_KEYS.to_owned(),
        kid: key.key_id().to_owned(),
        sealed: kek.seal(JWT_SVID_KEYS, key.key_id(), pem.expose().as_bytes()),
        created_at: now,
        retired_at: None,
        expires_at: None,
    })
}

fn opened(kek: &KeyEncryptionKey, row: &KeyRow) -> Result<SigningKey, GatewayError> {
    let pem = kek
        .open(&row.kind, &row.kid, &row.sealed)
        .map_err(|e| corrupt(e.to_string()))?;
    let pem =
        String::from_utf8(pem).map_err(|_| corrupt(format!("key `{}` is not PEM", row.kid)))?;
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| corrupt(e.to_string()))?;
    if key.key_id() != row.kid {
        return Err(corrupt(format!(
            "key `{}` opens to a key with id `{}`",
            row.kid,
            key.key_id()
        )));
    }
    Ok(key)
}

/// The keys in the store. On the first start there are none: the key in
/// `legacy` (the file an earlier version kept) is taken in if there is one,
/// else a new key is made; when several nodes start at once, one key wins.
pub async fn load_signing_keys(
    store: &AnyStore,
    kek: &KeyEncryptionKey,
    legacy: Option<&Path>,
) -> Result<SigningKeys, GatewayError> {
    let now = crate::now_millis();
    let mut rows = store.keys(JWT_SVID_KEYS, now).await?;
    if rows.iter().all(|r| r.retired_at.is_some()) {
        let key = match legacy.filter(|p| p.exists()) {
            Some(path) => SigningKey::load_or_create(path)
                .map(|(k, _)| k)
                .map_err(|e| GatewayError::Setup(e.to_string()))?,
            None => SigningKey::generate(),
        };
        store.put_key(&sealed_row(kek, &key, now)?, None).await?;
        rows = store.keys(JWT_SVID_KEYS, now).await?;
    }
    let current = rows
        .first()
        .filter(|r| r.retired_at.is_none())
        .ok_or_else(|| corrupt("no current signing key".to_owned()))?;
    let current_since = current.created_at;
    let all = rows
        .iter()
        .map(|r| opened(kek, r).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SigningKeys {
        current: Arc::clone(&all[0]),
        current_since,
        all,
    })
}

/// Retires the current key (it keeps verifying for [`MAX_SVID_TTL`] plus
/// `leeway`) and makes a new one current. If another node rotated first,
/// its rotation stands. Returns the keys after.
pub async fn rotate_signing_key(
    store: &AnyStore,
    kek: &KeyEncryptionKey,
    leeway: Duration,
) -> Result<SigningKeys, GatewayError> {
    let before = load_signing_keys(store, kek, None).await?;
    let now = crate::now_millis();

    let fresh = SigningKey::generate();
    store
        .put_key(
            &sealed_row(kek, &fresh, now)?,
            Some(Replace {
                kid: before.current.key_id(),
                expires_at: retired_until(now, MAX_SVID_TTL, leeway),
            }),
        )
        .await?;
    load_signing_keys(store, kek, None).await
}

/// When a key retired at `now` leaves the bundle: once everything it signed,
/// living at most `ttl`, has expired, with the verifier's `leeway`.
pub(crate) fn retired_until(now: i64, ttl: Duration, leeway: Duration) -> i64 {
    now.saturating_add(i64::try_from((ttl + leeway).as_millis()).unwrap_or(i64::MAX))
}
