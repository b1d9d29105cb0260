//! The five kinds of operation a tool can perform.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a tool does to the world. Policies grant and forbid by operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Reads data without changing anything.
    Read,
    /// Creates or changes data.
    Write,
    /// Sends data to someone or somewhere (mail, chat, an HTTP post).
    Send,
    /// Deletes data.
    Delete,
    /// Runs code or a command.
    Execute,
}

impl Operation {
    /// Every operation kind, in a stable order.
    pub const ALL: [Operation; 5] = [
        Operation::Read,
        Operation::Write,
        Operation::Send,
        Operation::Delete,
        Operation::Execute,
    ];

    /// The lowercase name used in manifests and Cedar.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Write => "write",
            Operation::Send => "send",
            Operation::Delete => "delete",
            Operation::Execute => "execute",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no operation kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown operation `{0}`: expected one of read, write, send, delete, execute")]
pub struct UnknownOperation(pub String);

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(s: &str) -> Result<Self, UnknownOperation> {
        Operation::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| UnknownOperation(s.to_owned()))
    }
}
