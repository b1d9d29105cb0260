//! The crate's errors: [`WorkloadError`] for configuration and serving,
//! [`IssueError`] for what an [`crate::SvidIssuer`] reports.

use std::path::PathBuf;

/// Why the Workload API could not be configured or served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// A registration entry is refused.
    #[error("workload entry {index} (`{spiffe_id}`) is refused: {reason}")]
    InvalidEntry {
        /// Its position in the list, from 0.
        index: usize,
        /// The SPIFFE ID it grants.
        spiffe_id: String,
        /// Why.
        reason: String,
    },
    /// Another server answers on the socket path.
    #[error("the workload API socket `{path}` is in use by another server")]
    SocketInUse {
        /// The socket path.
        path: PathBuf,
    },
    /// Something other than a socket is at the socket path; it is left alone.
    #[error("`{path}` exists and is not a socket: not replacing it with the workload API socket")]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// The socket could not be prepared, bound or given its permissions.
    #[error("cannot {action} the workload API socket `{path}`: {source}")]
    Socket {
        /// What was being done (`bind`, `remove the stale`, ...).
        action: &'static str,
        /// The socket path.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("the workload API server failed: {reason}")]
    Serve {
        /// What went wrong.
        reason: String,
    },
}

/// Why an [`crate::SvidIssuer`] could not give what was asked.
///
/// Only the kind reaches the workload; the details go to the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// This issuer does not issue that kind of SVID or bundle.
    #[error("this issuer does not issue {what}")]
    Unsupported {
        /// What was asked for (`X.509-SVIDs`, ...).
        what: &'static str,
    },
    /// Issuing failed.
    #[error("cannot issue {what}: {reason}")]
    Failed {
        /// What was asked for.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A token given for validation is refused.
    #[error("invalid JWT-SVID: {reason}")]
    InvalidToken {
        /// Why (never the token).
        reason: String,
    },
}
