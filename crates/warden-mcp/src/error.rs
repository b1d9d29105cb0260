//! The crate's errors.

/// What can go wrong running an MCP transport.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The tool server could not be started.
    #[error("cannot start the tool server: {0}")]
    Spawn(String),
    /// Reading or writing a stream failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
