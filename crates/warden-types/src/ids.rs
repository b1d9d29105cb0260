//! Validated identifiers: trust domains, agent names, instances, SPIFFE IDs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("{what} is empty")]
    Empty {
        /// What kind of identifier was expected.
        what: &'static str,
    },
    /// The string is longer than allowed.
    #[error("{what} `{value}` is longer than {max} characters")]
    TooLong {
        /// What kind of identifier was expected.
        what: &'static str,
        /// The offending value.
        value: String,
        /// The maximum length.
        max: usize,
    },
    /// The string holds a character that is not allowed.
    #[error("{what} `{value}` may hold only {allowed}")]
    BadCharacter {
        /// What kind of identifier was expected.
        what: &'static str,
        /// The offending value.
        value: String,
        /// A description of the allowed characters.
        allowed: &'static str,
    },
    /// A SPIFFE ID that does not have the Warden agent shape.
    #[error(
        "`{value}` is not an agent SPIFFE ID: expected `spiffe://<trust-domain>/agent/<name>/<instance>`"
    )]
    NotAgentSpiffeId {
        /// The offending value.
        value: String,
    },
}

fn check(
    value: &str,
    what: &'static str,
    max: usize,
    allowed: &'static str,
    ok: impl Fn(u8) -> bool,
) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { what });
    }
    if value.len() > max {
        return Err(IdError::TooLong {
            what,
            value: value.to_owned(),
            max,
        });
    }
    if !value.bytes().all(ok) {
        return Err(IdError::BadCharacter {
            what,
            value: value.to_owned(),
            allowed,
        });
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $allowed:literal, $ok:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check(&value, $what, $max, $allowed, $ok)?;
                Ok(Self(value))
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
}

string_id!(
    /// The name of an agent, as its manifest declares it: lowercase ASCII letters,
    /// digits, `-` and `_`, at most 63 characters.
    AgentName,
    "agent name",
    63,
    "lowercase letters, digits, `-` and `_`",
    name_byte
);

string_id!(
    /// One running instance of an agent (a pod, a process, a conversation worker):
    /// ASCII letters, digits, `-`, `_` and `.`, at most 128 characters.
    InstanceId,
    "instance id",
    128,
    "letters, digits, `-`, `_` and `.`",
    |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'
);

string_id!(
    /// A SPIFFE trust domain such as `example.org`: lowercase letters, digits,
    /// `.`, `-` and `_`, at most 255 characters.
    TrustDomain,
    "trust domain",
    255,
    "lowercase letters, digits, `.`, `-` and `_`",
    |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'_'
);

/// The SPIFFE ID of one agent instance:
/// `spiffe://<trust-domain>/agent/<name>/<instance>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpiffeId {
    trust_domain: TrustDomain,
    agent: AgentName,
    instance: InstanceId,
}

impl SpiffeId {
    /// Builds the SPIFFE ID of `agent`'s `instance` in `trust_domain`.
    pub fn new(trust_domain: TrustDomain, agent: AgentName, instance: InstanceId) -> Self {
        Self {
            trust_domain,
            agent,
            instance,
        }
    }

    /// The trust domain.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The agent's name.
    pub fn agent(&self) -> &AgentName {
        &self.agent
    }

    /// The instance.
    pub fn instance(&self) -> &InstanceId {
        &self.instance
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spiffe://{}/agent/{}/{}",
            self.trust_domain, self.agent, self.instance
        )
    }
}

impl FromStr for SpiffeId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let bad = || IdError::NotAgentSpiffeId {
            value: s.to_owned(),
        };
        let rest = s.strip_prefix("spiffe://").ok_or_else(bad)?;
        let mut parts = rest.split('/');
        let (Some(td), Some("agent"), Some(agent), Some(instance), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        Ok(Self {
            trust_domain: TrustDomain::new(td)?,
            agent: AgentName::new(agent)?,
            instance: InstanceId::new(instance)?,
        })
    }
}

impl Serialize for SpiffeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SpiffeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_id_round_trips() {
        let s = "spiffe://example.org/agent/invoice-bot/i-1";
        let id: SpiffeId = s.parse().unwrap();
        assert_eq!(id.to_string(), s);
        assert_eq!(id.trust_domain().as_str(), "example.org");
    }

    #[test]
    fn spiffe_id_rejects_other_shapes() {
        for bad in [
            "spiffe://example.org/workload/x/y",
            "spiffe://example.org/agent/x",
            "spiffe://example.org/agent/x/y/z",
            "https://example.org/agent/x/y",
            "spiffe://Example.org/agent/x/y",
            "spiffe://example.org/agent/Bad/y",
        ] {
            assert!(bad.parse::<SpiffeId>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn agent_name_errors_name_the_value() {
        let err = AgentName::new("Invoice Bot").unwrap_err();
        assert_eq!(
            err.to_string(),
            "agent name `Invoice Bot` may hold only lowercase letters, digits, `-` and `_`"
        );
    }
}
