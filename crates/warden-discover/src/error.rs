//! The errors a scan can end with. A file that cannot be read or parsed is
//! not an error: it is counted (and, when recognised, listed in the report).

use std::path::PathBuf;

/// Why a scan could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// No root was given.
    #[error("nothing to scan: give at least one path")]
    NoRoots,
    /// A root does not exist or cannot be read.
    #[error("cannot scan `{}`: {source}", path.display())]
    Root {
        /// The root as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A `--gateway` URL is not a URL with a host.
    #[error("`{url}` is not a gateway URL: {reason}")]
    Gateway {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// An exclude glob does not parse.
    #[error("`{glob}` is not a valid exclude glob: {reason}")]
    Exclude {
        /// The glob as given.
        glob: String,
        /// Why.
        reason: String,
    },
}
