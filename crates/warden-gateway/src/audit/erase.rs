//! Erasing a record's sealed payload (crypto-shredding) so that it stays
//! erased in every copy of the database: see `warden_audit`'s wrapping.

use warden_audit::{AuditError, WrapKeyDir, WrapKeyId};
use warden_store::{AnyStore, AuditStore as _, StoreError};

/// Why a payload could not be erased.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The record does not exist, has no payload, or was erased before.
    #[error(
        "record {index} has no payload key: it does not exist, has no payload, or was already erased"
    )]
    NoKey {
        /// The record.
        index: u64,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A wrapping key file could not be read, written or destroyed.
    #[error("payload wrapping key: {0}")]
    Keys(#[from] AuditError),
    /// A blocking file task stopped.
    #[error("a key file task stopped: {0}")]
    Task(String),
}

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erasure {
    /// Payload keys of other records wrapped again under a fresh key.
    pub rewrapped: u64,
    /// Whether the key was stored bare (a log from before wrapping): then only
    /// the live row lost it, not older copies of the database.
    pub bare: bool,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AuditError> + Send + 'static,
) -> Result<T, EraseError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EraseError::Task(e.to_string()))?
        .map_err(EraseError::Keys)
}

/// Erases the payload of record `index`: its wrapped key is deleted, the
/// other keys wrapped under the same wrapping key are wrapped again under a
/// fresh one (in one transaction, serialised with appends), and the old
/// wrapping key's file is destroyed. A running writer whose key this was
/// takes a fresh one at its next append.
pub async fn erase_payload(
    store: &AnyStore,
    keys: &WrapKeyDir,
    index: u64,
) -> Result<Erasure, EraseError> {
    let rows = store.audit_records(index, index.saturating_add(1)).await?;
    let wrapped = rows
        .into_iter()
        .find(|r| r.index == index)
        .and_then(|r| r.payload_key)
        .ok_or(EraseError::NoKey { index })?;
    let Some(old) = WrapKeyId::of(&wrapped) else {
        return if store.audit_erase(index).await? {
            Ok(Erasure {
                rewrapped: 0,
                bare: true,
            })
        } else {
            Err(EraseError::NoKey { index })
        };
    };
    let dir = keys.clone();
    let old_key = blocking(move || dir.load(old)).await?;
    let dir = keys.clone();
    let new_key = blocking(move || dir.create()).await?;
    let new_id = new_key.id();
    let rewrap = |idx: u64, bytes: &[u8]| {
        let key = old_key.unwrap(idx, bytes).map_err(|e| e.to_string())?;
        Ok(new_key.wrap(idx, &key))
    };
    let erased = store
        .audit_erase_wrapped(index, old.0, new_id.0, &rewrap)
        .await;
    let dir = keys.clone();
    match erased {
        Ok(done) => {
            blocking(move || dir.destroy(old)).await?;
            Ok(Erasure {
                rewrapped: done.rewrapped,
                bare: false,
            })
        }
        Err(e) => {
            // The new key was never registered: nothing refers to it.
            blocking(move || dir.destroy(new_id)).await?;
            Err(match e {
                StoreError::NotFound { .. } => EraseError::NoKey { index },
                other => EraseError::Store(other),
            })
        }
    }
}

/// Destroys the files of wrapping keys an erasure marked destroyed but did
/// not get to remove (it stopped in between); returns how many.
pub async fn sweep_destroyed_keys(
    store: &AnyStore,
    keys: &WrapKeyDir,
) -> Result<usize, EraseError> {
    let destroyed: Vec<WrapKeyId> = store
        .audit_wrap_keys()
        .await?
        .into_iter()
        .filter(|(_, destroyed)| *destroyed)
        .map(|(id, _)| WrapKeyId(id))
        .filter(|id| keys.has(*id))
        .collect();
    let count = destroyed.len();
    let dir = keys.clone();
    blocking(move || destroyed.into_iter().try_for_each(|id| dir.destroy(id))).await?;
    Ok(count)
}
