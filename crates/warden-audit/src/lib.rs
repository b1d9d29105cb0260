//! Warden's audit trail: the math, records and checks of an append-only
//! Merkle log, with no storage and no runtime.
//!
//! - [`leaf_hash`], [`node_hash`]: RFC 9162 hashing.
//! - [`CompactRange`]: appends leaves, says which perfect-subtree nodes
//!   ([`NodeId`]) became complete so storage can write each once.
//! - [`inclusion_plan`], [`consistency_plan`], [`root_plan`]: which stored
//!   nodes make a proof or a past root; [`verify_inclusion`] and
//!   [`verify_consistency`] check proofs.
//! - [`AuditRecord`]: one entry, with a canonical JSON encoding that is the leaf data.
//! - [`Checkpoint`], [`CheckpointSigner`], [`open_checkpoint`]: C2SP signed
//!   checkpoints (Ed25519).
//! - [`seal`], [`open`]: per-record keys, so destroying a key erases a payload
//!   while the log still verifies.
//! - [`write_export`], [`verify_export`]: the export directory an auditor
//!   checks offline (also with the `warden-audit-verify` binary).
//! - [`pack`]: evidence packs, reports whose every figure is a claim on
//!   proven records or digested files, and [`pack::verify_pack`].
//!
//! The formats are specified in `docs/audit-format.md`.
//!
//! ```
//! use std::collections::HashMap;
//! use warden_audit::*;
//!
//! let signer = CheckpointSigner::generate("audit.example")?;
//! let mut tree = CompactRange::new();
//! let mut stored = HashMap::new();
//! for i in 0..10 {
//!     let mut record = AuditRecord::new(i, 1_700_000_000_000, RecordKind::Decision, "decision_api");
//!     record.decision = Some("allow".into());
//!     stored.extend(tree.append(record.leaf_hash()));
//! }
//! let checkpoint = Checkpoint { origin: "audit.example/log".into(), size: tree.size(), root: tree.root() };
//! let note = signer.sign(&checkpoint);
//!
//! // Later, a client holding the note asks for proof that record 3 is in the log.
//! let opened = open_checkpoint(&note, &signer.verifier_key())?;
//! let proof = inclusion_plan(3, opened.size)?.assemble(&stored)?;
//! let mut record = AuditRecord::new(3, 1_700_000_000_000, RecordKind::Decision, "decision_api");
//! record.decision = Some("allow".into());
//! verify_inclusion(&record.leaf_hash(), 3, opened.size, &proof, &opened.root)?;
//! # Ok::<(), warden_audit::AuditError>(())
//! ```

mod canonical;
mod checkpoint;
mod error;
pub mod export;
mod hash;
pub mod pack;
mod proof;
mod record;
mod seal;
mod tree;
mod wrap;

pub use canonical::{canonical_json, json_digest};
pub use checkpoint::{
    Checkpoint, CheckpointSigner, check_verifier_key, open_checkpoint, open_note,
};
pub use error::AuditError;
pub use export::{ExportReport, VerifyError, verify_export, write_export};
pub use hash::{Hash, empty_root, leaf_hash, node_hash, root_of};
pub use proof::{
    ProofPlan, consistency_plan, inclusion_plan, root_plan, verify_consistency, verify_inclusion,
};
pub use record::{ApprovalInfo, AuditRecord, RECORD_VERSION, RecordKind};
pub use seal::{PayloadKey, SealedPayload, open, seal};
pub use tree::{CompactRange, NodeId, border};
pub use wrap::{WRAPPED_LEN, WrapKey, WrapKeyDir, WrapKeyId};
