//! Signing keys kept in the store, sealed under a key-encryption key the
//! store never sees, so that every node of a cluster uses the same keys
//! without copying files, and a rotation at one node reaches the others with
//! the change counter. The store keeps bytes: sealing is the caller's
//! (`warden-identity`).
//!
//! Of each kind one key is current (no `retired_at`); retired keys stay
//! until `expires_at`, when nothing they signed is valid any more.

use std::future::Future;

use sqlx::Row;

use crate::error::StoreError;
use crate::{AnyStore, PostgresStore, SqliteStore};

/// One key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// What it signs (`jwt-svid`, `x509-ca`).
    pub kind: String,
    /// Its id (the JWK thumbprint, the CA certificate's key id).
    pub kid: String,
    /// The private key, sealed under the key-encryption key.
    pub sealed: Vec<u8>,
    /// When it was made (unix ms).
    pub created_at: i64,
    /// When it stopped signing (unix ms); `None` while current.
    pub retired_at: Option<i64>,
    /// When what it signed has expired (unix ms): it is dropped then.
    pub expires_at: Option<i64>,
}

/// A rotation: which key it retires, and when what that key signed expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replace<'a> {
    /// The current key's id, as the rotating node read it.
    pub kid: &'a str,
    /// When the retired key is dropped (unix ms).
    pub expires_at: i64,
}

/// Where signing keys are kept.
pub trait KeyStore: Clone + Send + Sync + 'static {
    /// The keys of `kind` not yet expired at `now`, the current one first,
    /// then the retired ones, newest first.
    fn keys(
        &self,
        kind: &str,
        now: i64,
    ) -> impl Future<Output = Result<Vec<KeyRow>, StoreError>> + Send;

    /// Makes `key` the current key of its kind, unless another is current
    /// and `replace` is `None` (the first start of several nodes at once:
    /// one key wins, and every node uses it). With `replace`, the current
    /// key is retired at `key.created_at`, to expire at the given time, if
    /// it is still the one named (two nodes rotating at once: one rotation
    /// wins). Returns the current key after the call.
    fn put_key(
        &self,
        key: &KeyRow,
        replace: Option<Replace<'_>>,
    ) -> impl Future<Output = Result<KeyRow, StoreError>> + Send;
}

fn key_row<R>(row: &R) -> Result<KeyRow, StoreError>
where
    R: Row,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    const OP: &str = "read signing keys";
    Ok(KeyRow {
        kind: row.try_get("kind").map_err(StoreError::query(OP))?,
        kid: row.try_get("kid").map_err(StoreError::query(OP))?,
        sealed: row.try_get("sealed").map_err(StoreError::query(OP))?,
        created_at: row.try_get("created_at").map_err(StoreError::query(OP))?,
        retired_at: row.try_get("retired_at").map_err(StoreError::query(OP))?,
        expires_at: row.try_get("expires_at").map_err(StoreError::query(OP))?,
    })
}

/// The statements, with `?` (SQLite) or `$n` (PostgreSQL) placeholders.
struct Sql {
    /// Serialises writers of keys (empty: the transaction already is).
    lock: &'static str,
    keys: &'static str,
    current: &'static str,
    retire: &'static str,
    insert: &'static str,
}

const SQLITE: Sql = Sql {
    lock: "",
    keys: "SELECT * FROM warden_keys WHERE kind = ? AND (expires_at IS NULL OR expires_at > ?) \
           ORDER BY retired_at IS NOT NULL, created_at DESC",
    current: "SELECT * FROM warden_keys WHERE kind = ? AND retired_at IS NULL",
    retire: "UPDATE warden_keys SET retired_at = ?, expires_at = ? WHERE kind = ? AND retired_at IS NULL",
    insert: "INSERT INTO warden_keys (kind, kid, sealed, created_at) VALUES (?, ?, ?, ?)",
};

const POSTGRES: Sql = Sql {
    // `'wkeys'`, clear of the migration and audit locks.
    lock: "SELECT pg_advisory_xact_lock(x'776b657973'::bigint)",
    keys: "SELECT * FROM warden_keys WHERE kind = $1 AND (expires_at IS NULL OR expires_at > $2) \
           ORDER BY retired_at IS NOT NULL, created_at DESC",
    current: "SELECT * FROM warden_keys WHERE kind = $1 AND retired_at IS NULL",
    retire: "UPDATE warden_keys SET retired_at = $1, expires_at = $2 WHERE kind = $3 AND retired_at IS NULL",
    insert: "INSERT INTO warden_keys (kind, kid, sealed, created_at) VALUES ($1, $2, $3, $4)",
};

macro_rules! key_store_impl {
    ($store:ty, $module:ident, $sql:expr) => {
        impl KeyStore for $store {
            async fn keys(&self, kind: &str, now: i64) -> Result<Vec<KeyRow>, StoreError> {
                let rows = sqlx::query($sql.keys)
                    .bind(kind.to_owned())
                    .bind(now)
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query("read signing keys"))?;
                rows.iter().map(key_row).collect()
            }

            async fn put_key(
                &self,
                key: &KeyRow,
                replace: Option<Replace<'_>>,
            ) -> Result<KeyRow, StoreError> {
                const OP: &str = "store a signing key";
                // Two nodes making the first key at once: one wins (SQLite's
                // write transaction, PostgreSQL's advisory lock).
                let mut tx = self.begin_write(OP).await?;
                if !$sql.lock.is_empty() {
                    sqlx::query($sql.lock)
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query(OP))?;
                }
                let current = sqlx::query($sql.current)
                    .bind(key.kind.clone())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
                if let Some(current) = current.as_ref().map(key_row).transpose()? {
                    let Some(replace) = replace.filter(|r| r.kid == current.kid) else {
                        return Ok(current);
                    };
                    sqlx::query($sql.retire)
                        .bind(key.created_at)
                        .bind(replace.expires_at)
                        .bind(key.kind.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query(OP))?;
                }
                sqlx::query($sql.insert)
                    .bind(key.kind.clone())
                    .bind(key.kid.clone())
                    .bind(key.sealed.clone())
                    .bind(key.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
                crate::$module::bump_change(&mut tx, OP).await?;
                tx.commit().await.map_err(StoreError::query(OP))?;
                Ok(KeyRow {
                    retired_at: None,
                    expires_at: None,
                    ..key.clone()
                })
            }
        }
    };
}

key_store_impl!(SqliteStore, sqlite, SQLITE);
key_store_impl!(PostgresStore, postgres, POSTGRES);

impl KeyStore for AnyStore {
    async fn keys(&self, kind: &str, now: i64) -> Result<Vec<KeyRow>, StoreError> {
        any_dispatch!(self.keys(kind, now))
    }

    async fn put_key(
        &self,
        key: &KeyRow,
        replace: Option<Replace<'_>>,
    ) -> Result<KeyRow, StoreError> {
        any_dispatch!(self.put_key(key, replace))
    }
}
