//! What can go wrong building or writing an evidence pack.

use std::path::PathBuf;

/// An evidence pack that cannot be built or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComplianceError {
    /// `--agent` names an agent that has no manifest.
    #[error("unknown agent `{agent}`: the agents are {known}")]
    UnknownAgent {
        /// The name asked for.
        agent: String,
        /// The agents there are, comma-separated.
        known: String,
    },
    /// An unknown report kind.
    #[error("unknown report `{kind}`: expected eu-ai-act, dora, nis2 or all")]
    UnknownKind {
        /// The kind asked for.
        kind: String,
    },
    /// A period whose end is not after its start.
    #[error("the period is empty: `from` ({from_ms}) is not before `to` ({to_ms})")]
    EmptyPeriod {
        /// Start, unix ms.
        from_ms: i64,
        /// End, unix ms.
        to_ms: i64,
    },
    /// The output directory exists and is not empty.
    #[error("{} is not empty: an evidence pack is written to a new directory", path.display())]
    NotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// Writing a file of the pack failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The report could not be encoded.
    #[error("cannot encode the report: {0}")]
    Encode(#[from] serde_json::Error),
}
