//! Domain names and hosts: the canonical form every other reader builds on.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use idna::AsciiDenyList;

use crate::AddressError;

/// Longest domain name, in ASCII characters, without the trailing dot.
const MAX_NAME: usize = 253;
/// Longest label, in ASCII characters.
const MAX_LABEL: usize = 63;

/// A DNS name in canonical form: ASCII (IDNA / punycode), lowercase, without
/// a trailing dot, labels of 1–63 letters, digits, hyphens or underscores
/// (not starting or ending with a hyphen), at most 253 characters, and not
/// ending in a numeric label (such a name reads as an IPv4 address).
///
/// Two `Domain`s are equal exactly when they name the same DNS name, so
/// `BÜCHER.example.`, `bücher.example` and `xn--bcher-kva.example` are one
/// value. A homoglyph (Cyrillic `е` for Latin `e`) becomes its own punycode
/// name and never equals the Latin one.
///
/// ```
/// use warden_address::Domain;
/// let d = Domain::parse("BÜCHER.example.")?;
/// assert_eq!(d.as_str(), "xn--bcher-kva.example");
/// assert!(Domain::parse("mail.example.com")?.is_within(&Domain::parse("example.com")?));
/// # Ok::<(), warden_address::AddressError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    /// Reads a domain name, trimming surrounding ASCII whitespace.
    ///
    /// # Errors
    /// [`AddressError::Empty`] for an empty value, [`AddressError::Domain`]
    /// for anything that is not a DNS name under the rules above (including
    /// `.`, empty labels, IP addresses and names IDNA refuses).
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let name = ascii_name(input)?;
        if ends_in_number(&name) {
            return Err(AddressError::domain(
                input,
                "it ends in a number, so it reads as an IPv4 address",
            ));
        }
        check_labels(input, &name)?;
        Ok(Self(name))
    }

    /// The canonical name, e.g. `xn--bcher-kva.example`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this name is `parent` or a name under it, at a label
    /// boundary: `mail.example.com` is within `example.com`;
    /// `notexample.com` and `example.com.evil.test` are not.
    pub fn is_within(&self, parent: &Domain) -> bool {
        self.0 == parent.0
            || self
                .0
                .strip_suffix(parent.0.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Domain {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Domain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Where a request or a message goes: a domain name or an IP address.
///
/// Displays in canonical form: the [`Domain`]'s name, an IPv4 address in
/// dotted decimal, an IPv6 address in brackets and RFC 5952 form (`[::1]`),
/// as in a URL. Every displayed host parses back to the same `Host`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// A DNS name.
    Domain(Domain),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Reads a bare host: a domain name, an IPv4 address in dotted decimal,
    /// or an IPv6 address with or without brackets. Surrounding ASCII
    /// whitespace is trimmed.
    ///
    /// # Errors
    /// [`AddressError::Ip`] for an IPv4 address in any form but four
    /// decimal numbers without leading zeros (`127.1`, `0x7f.0.0.1`,
    /// `2130706433`, `0177.0.0.1` are refused: resolvers read them
    /// differently) or an IPv6 address with a zone; otherwise as
    /// [`Domain::parse`].
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let trimmed = input.trim_ascii();
        if let Some(inner) = trimmed.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| AddressError::ip(input, "`[` without a closing `]`"))?;
            return ipv6(input, inner);
        }
        if trimmed.contains(':') {
            return ipv6(input, trimmed);
        }
        let name = ascii_name(input)?;
        if ends_in_number(&name) {
            return ipv4(input, &name).map(Host::Ipv4);
        }
        check_labels(input, &name)?;
        Ok(Host::Domain(Domain(name)))
    }

    /// The domain name, when this host is one.
    pub fn domain(&self) -> Option<&Domain> {
        match self {
            Host::Domain(d) => Some(d),
            Host::Ipv4(_) | Host::Ipv6(_) => None,
        }
    }

    /// Whether this host is `parent` or under it (see
    /// [`Domain::is_within`]); an IP address is within no domain.
    pub fn is_within(&self, parent: &Domain) -> bool {
        self.domain().is_some_and(|d| d.is_within(parent))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d.as_str()),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

impl FromStr for Host {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<Domain> for Host {
    fn from(d: Domain) -> Self {
        Host::Domain(d)
    }
}

fn ipv6(input: &str, text: &str) -> Result<Host, AddressError> {
    if text.contains('%') {
        return Err(AddressError::ip(input, "an IPv6 zone (`%…`) is refused"));
    }
    Ipv6Addr::from_str(text)
        .map(Host::Ipv6)
        .map_err(|_| AddressError::ip(input, "not an IPv6 address"))
}

/// Four decimal numbers 0–255 without leading zeros, nothing else.
fn ipv4(input: &str, name: &str) -> Result<Ipv4Addr, AddressError> {
    let refuse = || {
        AddressError::ip(
            input,
            "only four decimal numbers without leading zeros are accepted \
             (`127.1`, `0x7f.0.0.1`, `2130706433` and `0177.0.0.1` are refused)",
        )
    };
    let mut octets = [0u8; 4];
    let mut parts = name.split('.');
    for octet in &mut octets {
        let part = parts.next().ok_or_else(refuse)?;
        let plain = !part.is_empty()
            && part.len() <= 3
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part == "0" || !part.starts_with('0'));
        if !plain {
            return Err(refuse());
        }
        *octet = part.parse().map_err(|_| refuse())?;
    }
    if parts.next().is_some() {
        return Err(refuse());
    }
    Ok(Ipv4Addr::from(octets))
}

/// The WHATWG "ends in a number" test: a name whose last label is all
/// digits or `0x` and hex digits is read as an IPv4 address by URL parsers.
pub(crate) fn ends_in_number(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// IDNA (UTS #46) to ASCII, lowercase, one trailing dot removed.
fn ascii_name(input: &str) -> Result<String, AddressError> {
    let trimmed = input.trim_ascii();
    if trimmed.is_empty() {
        return Err(AddressError::empty(input));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AddressError::domain(
            input,
            "it holds whitespace or a control character",
        ));
    }
    if trimmed.contains('%') {
        return Err(AddressError::domain(
            input,
            "it holds `%`: percent-encoding is refused in a host",
        ));
    }
    let ascii = idna::domain_to_ascii_cow(trimmed.as_bytes(), AsciiDenyList::URL)
        .map_err(|_| AddressError::domain(input, "IDNA (UTS #46) refuses it"))?;
    let name = ascii.strip_suffix('.').unwrap_or(&ascii);
    if name.is_empty() {
        return Err(AddressError::domain(input, "it has no labels"));
    }
    Ok(name.to_ascii_lowercase())
}

fn check_labels(input: &str, name: &str) -> Result<(), AddressError> {
    if name.len() > MAX_NAME {
        return Err(AddressError::domain(
            input,
            format!("it is longer than {MAX_NAME} characters"),
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(AddressError::domain(input, "it holds an empty label"));
        }
        if label.len() > MAX_LABEL {
            return Err(AddressError::domain(
                input,
                format!("a label is longer than {MAX_LABEL} characters"),
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
        {
            return Err(AddressError::domain(
                input,
                format!("`{}` is not a letter, digit, `-` or `_`", c.escape_debug()),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(AddressError::domain(
                input,
                format!("the label `{label}` starts or ends with `-`"),
            ));
        }
    }
    Ok(())
}
