//! The crate's error type.

use std::path::PathBuf;

use crate::NodeId;

/// Everything that can go wrong in `warden-audit`, outside of export
/// verification (which reports a [`VerifyError`](crate::VerifyError)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A leaf index at or beyond the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// Consistency between sizes that cannot be compared.
    #[error("no consistency proof from tree size {old_size} to tree size {new_size}: {reason}")]
    SizeOrder {
        /// The older tree size.
        old_size: u64,
        /// The newer tree size.
        new_size: u64,
        /// Why the pair is not valid.
        reason: &'static str,
    },
    /// A node the caller had to supply was not supplied.
    #[error("missing {node}")]
    MissingNode {
        /// The node that is missing.
        node: NodeId,
    },
    /// The same node was supplied twice with different hashes.
    #[error("{node} supplied twice with different hashes")]
    ConflictingNode {
        /// The node supplied twice.
        node: NodeId,
    },
    /// An inclusion proof that does not verify.
    #[error("inclusion proof does not verify: {reason}")]
    InclusionProof {
        /// What went wrong.
        reason: &'static str,
    },
    /// A consistency proof that does not verify.
    #[error("consistency proof does not verify: {reason}")]
    ConsistencyProof {
        /// What went wrong.
        reason: &'static str,
    },
    /// A record that is not valid JSON for an [`AuditRecord`](crate::AuditRecord).
    #[error("malformed audit record: {reason}")]
    RecordMalformed {
        /// What the parser said.
        reason: String,
    },
    /// A record that parses but is not in canonical form.
    #[error("audit record is not in canonical form (expected `{expected}`)")]
    RecordNotCanonical {
        /// The canonical encoding of what was parsed.
        expected: String,
    },
    /// A record format version this crate does not know.
    #[error("unsupported audit record version {version} (expected 1)")]
    RecordVersion {
        /// The version found.
        version: u32,
    },
    /// A verifier key (`name+hash+key`) that does not parse.
    #[error("malformed verifier key: {reason}")]
    VerifierKey {
        /// What is wrong with it.
        reason: String,
    },
    /// A key name that C2SP signed notes do not allow.
    #[error("invalid key name `{name}`: it must be non-empty, without spaces or `+`")]
    KeyName {
        /// The rejected name.
        name: String,
    },
    /// A signed note that does not parse.
    #[error("malformed signed note: {reason}")]
    NoteMalformed {
        /// What is wrong with it.
        reason: String,
    },
    /// A signed note that carries no signature by the expected key.
    #[error("note is not signed by key `{key}`")]
    UnknownKey {
        /// The expected key, as `name+hash`.
        key: String,
    },
    /// A signature by the expected key that does not verify.
    #[error("invalid signature for key `{key}`")]
    BadSignature {
        /// The key, as `name+hash`.
        key: String,
    },
    /// A note text that is not a valid checkpoint body.
    #[error("malformed checkpoint: {reason}")]
    CheckpointMalformed {
        /// What is wrong with it.
        reason: String,
    },
    /// A signing key file that cannot be used.
    #[error("signing key file {}: {reason}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A sealed payload that does not open with the key given.
    #[error("sealed payload does not open: {reason}")]
    PayloadOpen {
        /// What went wrong.
        reason: &'static str,
    },
    /// Input to [`write_export`](crate::write_export) that would make an invalid export.
    #[error("cannot write export: {reason}")]
    Export {
        /// What is wrong.
        reason: String,
    },
    /// A file system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl AuditError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
