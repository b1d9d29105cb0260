//! The audit log's storage: records, tree nodes and checkpoints.
//!
//! This layer stores bytes; the Merkle math is `warden-audit`'s. Appends are
//! optimistic: a batch names the log size it extends, and the store refuses it
//! (a [`StoreError::Conflict`]) if another writer got there first, inside the
//! same transaction that writes it, so two sequencers can never interleave.
//! Level-0 nodes (leaf hashes) live in the record rows; higher levels in their
//! own table. Nothing is ever updated except a record's payload key, which
//! [`AuditStore::audit_erase`] deletes (crypto-shredding), and the payload keys
//! an erasure wraps again under a fresh wrapping key
//! ([`AuditStore::audit_erase_wrapped`]; the wrapping itself is
//! `warden-audit`'s).

use std::future::Future;

use crate::error::StoreError;

/// A 32-byte hash.
pub type NodeHash = [u8; 32];

/// A stored tree node: ((level, index), hash).
pub type StoredNode = ((u8, u64), NodeHash);

/// One record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Its position in the log.
    pub index: u64,
    /// The canonical record bytes (what the leaf hash commits to).
    pub record: Vec<u8>,
    /// The leaf hash.
    pub leaf: NodeHash,
    /// The sealed payload (nonce ‖ ciphertext), if any.
    pub payload: Option<Vec<u8>>,
    /// The payload's key, wrapped under a wrapping key kept outside the
    /// store (a bare 32-byte key in logs written before wrapping existed);
    /// `None` once erased.
    pub payload_key: Option<Vec<u8>>,
    /// When it was appended (unix ms).
    pub created_at: i64,
}

/// A batch to append: records at `[expected_size, expected_size + n)` and the
/// tree nodes (level ≥ 1) they complete.
#[derive(Debug, Clone, Default)]
pub struct AuditBatch {
    /// The records, in index order.
    pub records: Vec<AuditRow>,
    /// Completed inner nodes: (level, index, hash), level ≥ 1.
    pub nodes: Vec<(u8, u64, NodeHash)>,
    /// The agents' activity these records add, counted in the same
    /// transaction (so that the inventory always agrees with the log).
    pub activity: Vec<crate::ActivityDelta>,
    /// The data classes these records add, per agent.
    pub classes: Vec<crate::ClassDelta>,
    /// The wrapping key the batch's payload keys are wrapped under: the
    /// append is refused with [`StoreError::WrapKeyDestroyed`] if an erasure
    /// destroyed it, in the same transaction.
    pub wrap_key: Option<WrapKeyRef>,
}

/// A payload wrapping key's 16-byte id.
pub type WrapKeyRef = [u8; 16];

/// What an erasure under wrapping did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    /// Other records' payload keys wrapped again under the new key.
    pub rewrapped: u64,
}

/// Wraps the payload key of a record (its index, its wrapped key) again under
/// the erasure's new key; `Err` names why it cannot.
pub type Rewrap<'a> = dyn Fn(u64, &[u8]) -> Result<Vec<u8>, String> + Send + Sync + 'a;

/// Numbers a batch again when other writers appended since it was built
/// (another node, the CLI): called by [`AuditStore::audit_append_caught_up`]
/// inside the append's transaction, under the log's lock, so the second
/// numbering cannot be overtaken.
pub trait AuditCatchUp: Send {
    /// The nodes of the tree's right border at `size` that the batch is
    /// numbered on (level 0 are leaves).
    fn border(&self, size: u64) -> Vec<(u8, u64)>;

    /// The batch numbered from `size`, on the border's stored `nodes`.
    fn rebuild(&mut self, size: u64, nodes: &[StoredNode]) -> Result<AuditBatch, StoreError>;
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    /// The tree size it commits to.
    pub size: u64,
    /// The signed note.
    pub note: String,
    /// When it was made (unix ms).
    pub created_at: i64,
}

/// The most rows a range read returns.
pub const AUDIT_PAGE: u64 = 10_000;

/// Storage for the audit log. Implemented by both backends.
pub trait AuditStore: Clone + Send + Sync + 'static {
    /// The size of the log: one past the highest record index (records are
    /// appended densely, so this is their number; a record deleted from the
    /// middle shows as missing when the log is verified). Read from the
    /// primary key's end, not by counting.
    fn audit_size(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Appends `batch` if the log holds exactly `expected_size` records, in one
    /// transaction (one fsync); else [`StoreError::Conflict`] and nothing is written.
    fn audit_append(
        &self,
        expected_size: u64,
        batch: &AuditBatch,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Appends `batch` if the log holds exactly `expected_size` records;
    /// otherwise, in the same transaction and under the same lock, asks
    /// `catch_up` for the batch numbered from the log's size and appends
    /// that. Returns the size the batch was appended at.
    fn audit_append_caught_up(
        &self,
        expected_size: u64,
        batch: &AuditBatch,
        catch_up: &mut dyn AuditCatchUp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The hashes of the given nodes that exist; level 0 are leaf hashes.
    fn audit_nodes(
        &self,
        ids: &[(u8, u64)],
    ) -> impl Future<Output = Result<Vec<StoredNode>, StoreError>> + Send;

    /// Stored inner nodes of `level` with index in `[from, to)`, at most
    /// [`AUDIT_PAGE`], in index order.
    fn audit_node_range(
        &self,
        level: u8,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<(u64, NodeHash)>, StoreError>> + Send;

    /// Records with index in `[from, to)`, at most [`AUDIT_PAGE`], in order.
    fn audit_records(
        &self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;

    /// Destroys the payload key of record `index`; `false` if it had none.
    /// For keys stored bare (logs from before wrapping); a wrapped key is
    /// erased with [`AuditStore::audit_erase_wrapped`].
    fn audit_erase(&self, index: u64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Registers a new payload wrapping key (its file already written).
    fn audit_add_wrap_key(
        &self,
        id: WrapKeyRef,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every registered wrapping key and whether an erasure destroyed it.
    fn audit_wrap_keys(
        &self,
    ) -> impl Future<Output = Result<Vec<(WrapKeyRef, bool)>, StoreError>> + Send;

    /// Erases the payload key of record `index`, wrapped under `old`, in one
    /// transaction serialised with appends: the key is deleted, every other
    /// key wrapped under `old` is wrapped again under `new` by `rewrap`, `new`
    /// is registered and `old` marked destroyed (its file is the caller's to
    /// destroy once this returns). [`StoreError::NotFound`] if the record has
    /// no key wrapped under `old`; [`StoreError::Conflict`] if `old` was
    /// already destroyed. Nothing changes if `rewrap` fails.
    fn audit_erase_wrapped(
        &self,
        index: u64,
        old: WrapKeyRef,
        new: WrapKeyRef,
        rewrap: &Rewrap<'_>,
    ) -> impl Future<Output = Result<Erased, StoreError>> + Send;

    /// Stores a checkpoint (one per size; storing the same size again with a
    /// different note is a [`StoreError::Conflict`]).
    fn audit_put_checkpoint(
        &self,
        checkpoint: &CheckpointRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every checkpoint, by size.
    fn audit_checkpoints(
        &self,
    ) -> impl Future<Output = Result<Vec<CheckpointRow>, StoreError>> + Send;
}

pub(crate) fn to_u64(v: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("negative value {v}"),
    })
}

pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Conflict {
        message: format!("index {v} is beyond the range the store can hold"),
    })
}

pub(crate) fn to_hash(bytes: &[u8], what: &'static str) -> Result<NodeHash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("hash of {} bytes, expected 32", bytes.len()),
    })
}
