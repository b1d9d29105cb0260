//! The crate's one error type.

/// Why a value is not an address Warden accepts.
///
/// Every variant carries the offending input, shortened to about 64
/// characters with control characters escaped, so a message can be shown to
/// an operator without flooding a log or breaking a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// The value is empty or only whitespace.
    #[error("`{input}` is empty: it names no address")]
    Empty {
        /// The value, shortened.
        input: String,
    },
    /// Not a domain name (DNS name) under this crate's rules.
    #[error("`{input}` is not a domain name: {reason}")]
    Domain {
        /// The value, shortened.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An IP address written in a form this crate refuses.
    #[error("`{input}` is not an IP address in standard form: {reason}")]
    Ip {
        /// The value, shortened.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not an e-mail address under this crate's rules.
    #[error("`{input}` is not an e-mail address: {reason}")]
    Email {
        /// The value, shortened.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not a URL this crate accepts, for a reason other than ambiguity.
    #[error("`{input}` is not a URL with a host: {reason}")]
    Url {
        /// The value, shortened.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A URL that common parsers (WHATWG browsers and the `url` crate on one
    /// side, RFC 3986 readers such as curl, Python's urllib and httpx on the
    /// other) could read with different hosts.
    #[error("`{input}` {reason}: parsers disagree on its host")]
    Ambiguous {
        /// The value, shortened.
        input: String,
        /// What makes it ambiguous, e.g. `holds a backslash`.
        reason: String,
    },
    /// Neither an e-mail address, a URL nor a host name.
    #[error("`{input}` is not an e-mail address, a URL or a host name")]
    NotAnAddress {
        /// The value, shortened.
        input: String,
    },
    /// A JSON value that cannot hold an address (a number, a boolean, null,
    /// an empty object).
    #[error("a JSON {kind} (`{input}`) names no address")]
    NotText {
        /// `number`, `boolean`, `null` or `object`.
        kind: &'static str,
        /// The value, shortened.
        input: String,
    },
    /// More addresses in one value than [`MAX_ADDRESSES`](crate::MAX_ADDRESSES).
    #[error("more than {limit} addresses in one value: the rest were not read")]
    TooMany {
        /// The limit that was passed.
        limit: usize,
    },
    /// A value nested deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    #[error("a value nested deeper than {limit} levels: the part below was not read")]
    TooDeep {
        /// The limit that was passed.
        limit: usize,
    },
}

/// Most characters of an input shown in an error message.
const SHOWN: usize = 64;

/// The input as shown in a message: at most [`SHOWN`] characters, then `…`;
/// control characters and whitespace other than a space escaped.
pub(crate) fn shown(input: &str) -> String {
    let mut out = String::new();
    for (i, c) in input.chars().enumerate() {
        if i == SHOWN {
            out.push('…');
            break;
        }
        if c == ' ' || !(c.is_control() || c.is_whitespace()) {
            out.push(c);
        } else {
            out.extend(c.escape_debug());
        }
    }
    out
}

impl AddressError {
    pub(crate) fn domain(input: &str, reason: impl Into<String>) -> Self {
        Self::Domain {
            input: shown(input),
            reason: reason.into(),
        }
    }

    pub(crate) fn ip(input: &str, reason: impl Into<String>) -> Self {
        Self::Ip {
            input: shown(input),
            reason: reason.into(),
        }
    }

    pub(crate) fn email(input: &str, reason: impl Into<String>) -> Self {
        Self::Email {
            input: shown(input),
            reason: reason.into(),
        }
    }

    pub(crate) fn url(input: &str, reason: impl Into<String>) -> Self {
        Self::Url {
            input: shown(input),
            reason: reason.into(),
        }
    }

    pub(crate) fn ambiguous(input: &str, reason: impl Into<String>) -> Self {
        Self::Ambiguous {
            input: shown(input),
            reason: reason.into(),
        }
    }

    pub(crate) fn empty(input: &str) -> Self {
        Self::Empty {
            input: shown(input),
        }
    }
}
