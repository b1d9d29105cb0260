//! URLs with an authority, read twice (RFC 3986 and WHATWG) and refused
//! when the two readings could differ.

use std::fmt;
use std::str::FromStr;

use crate::AddressError;
use crate::host::Host;

/// Schemes the WHATWG standard treats as special: it reads them without
/// `//` (`http:example.com`), so they must be written with it here.
const SPECIAL: [&str; 6] = ["http", "https", "ws", "wss", "ftp", "file"];

/// An absolute URL with a host, read strictly.
///
/// Accepted: `scheme://[userinfo@]host[:port][/path][?query][#fragment]`
/// for any scheme, and a scheme-less `host[:port][/path…]`, which is read
/// as `https://` (its [`scheme`](Url::scheme) is `https` and
/// [`had_scheme`](Url::had_scheme) is false). The host is canonical
/// ([`Host`]); a URL with userinfo has the host after the `@`.
///
/// Refused, because common parsers disagree on the host: backslashes before
/// the query, whitespace or control characters anywhere, `%` in the host,
/// more than one `@` in the authority, a special scheme without `//`,
/// IPv4 addresses in shorthand, octal, hex or integer form, and any URL
/// where this crate's RFC 3986 reading of the authority and the WHATWG
/// reading (the `url` crate) yield different hosts or ports.
///
/// Equality compares the WHATWG serialisation (`as_str`) and whether a
/// scheme was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    host: Host,
    port: Option<u16>,
    had_scheme: bool,
    parsed: ::url::Url,
}

impl Url {
    /// Reads a URL, trimming surrounding ASCII whitespace.
    ///
    /// # Errors
    /// [`AddressError::Ambiguous`] when parsers could read different hosts
    /// (see the type's doc); [`AddressError::Url`] when there is no host
    /// (`javascript:`, `data:`, `mailto:`, `file:///`), an empty or invalid
    /// host or port, or the WHATWG parser refuses the value;
    /// [`AddressError::Empty`] for an empty value.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let trimmed = input.trim_ascii();
        if trimmed.is_empty() {
            return Err(AddressError::empty(input));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AddressError::ambiguous(
                input,
                "holds whitespace or a control character (WHATWG strips tabs and newlines, curl keeps them)",
            ));
        }
        let before_query = trimmed.split(['?', '#']).next().unwrap_or_default();
        if before_query.contains('\\') {
            return Err(AddressError::ambiguous(
                input,
                "holds a backslash (WHATWG reads it as `/`, curl and Python as part of the authority)",
            ));
        }
        let (scheme, after_scheme) = match split_scheme(trimmed) {
            Some((scheme, rest)) => {
                if let Some(authority) = rest.strip_prefix("//") {
                    (Some(scheme), authority)
                } else if !is_port_then_path(rest)
                    || SPECIAL.contains(&scheme.to_ascii_lowercase().as_str())
                {
                    return Err(AddressError::url(
                        input,
                        format!(
                            "`{scheme}:` without `//` has no host (only `scheme://host…` is accepted)"
                        ),
                    ));
                } else {
                    (None, trimmed)
                }
            }
            None => (None, trimmed),
        };
        let end = after_scheme
            .find(['/', '?', '#'])
            .unwrap_or(after_scheme.len());
        let authority = after_scheme.get(..end).unwrap_or_default();
        let (host, port) = read_authority(input, authority, scheme.is_some())?;

        let whatwg_input = match scheme {
            Some(_) => trimmed.to_owned(),
            None => format!("https://{trimmed}"),
        };
        let parsed = ::url::Url::parse(&whatwg_input)
            .map_err(|e| AddressError::url(input, format!("the WHATWG parser refuses it ({e})")))?;
        let theirs = whatwg_host(input, &parsed)?;
        if theirs != host {
            return Err(AddressError::ambiguous(
                input,
                format!("reads as host `{host}` by RFC 3986 but `{theirs}` by WHATWG"),
            ));
        }
        let ports_agree = match port {
            Some(p) => parsed.port_or_known_default() == Some(p),
            None => parsed.port().is_none(),
        };
        if !ports_agree {
            return Err(AddressError::ambiguous(
                input,
                "reads with different ports by RFC 3986 and WHATWG",
            ));
        }
        Ok(Self {
            host,
            port,
            had_scheme: scheme.is_some(),
            parsed,
        })
    }

    /// The scheme, lowercase; `https` for a scheme-less value.
    pub fn scheme(&self) -> &str {
        self.parsed.scheme()
    }

    /// Whether the value was written with a scheme.
    pub fn had_scheme(&self) -> bool {
        self.had_scheme
    }

    /// The host, canonical.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port as written, `None` when none was.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port as written, else the scheme's default (443 for `https`),
    /// `None` for a scheme without a known default.
    pub fn port_or_default(&self) -> Option<u16> {
        self.parsed.port_or_known_default()
    }

    /// Whether the URL carries userinfo (`user[:password]@`).
    pub fn has_userinfo(&self) -> bool {
        !self.parsed.username().is_empty() || self.parsed.password().is_some()
    }

    /// The path, WHATWG-normalised (`/a/../b` is `/b`; `/` when empty for
    /// special schemes).
    pub fn path(&self) -> &str {
        self.parsed.path()
    }

    /// The query, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.parsed.query()
    }

    /// The WHATWG serialisation, `https://` prefixed to a scheme-less value.
    /// It includes any password; [`Display`](fmt::Display) hides it.
    pub fn as_str(&self) -> &str {
        self.parsed.as_str()
    }
}

impl fmt::Display for Url {
    /// The WHATWG serialisation with any password shown as `****`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parsed.password().is_none() {
            return f.write_str(self.parsed.as_str());
        }
        let mut hidden = self.parsed.clone();
        if hidden.set_password(Some("****")).is_err() {
            return f.write_str("<a URL with a password>");
        }
        f.write_str(hidden.as_str())
    }
}

impl FromStr for Url {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `scheme` and what follows its `:`, when the value starts with an
/// RFC 3986 scheme.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some((scheme, rest))
}

/// Whether `rest` (after a `:`) is a port then the end or a path: then the
/// `scheme` before it was a host (`example.com:8080/x`).
fn is_port_then_path(rest: &str) -> bool {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let port = rest.get(..end).unwrap_or_default();
    !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
}

/// The RFC 3986 reading: `[userinfo@]host[:port]`.
fn read_authority(
    input: &str,
    authority: &str,
    had_scheme: bool,
) -> Result<(Host, Option<u16>), AddressError> {
    let host_port = match authority.split_once('@') {
        Some((_, rest)) if rest.contains('@') => {
            return Err(AddressError::ambiguous(
                input,
                "has more than one `@` in its authority",
            ));
        }
        Some(_) if !had_scheme => {
            return Err(AddressError::url(
                input,
                "a value without a scheme holding `@` before its path reads as an e-mail address",
            ));
        }
        Some((_, rest)) => rest,
        None => authority,
    };
    let (host_text, port_text) = if host_port.starts_with('[') {
        let close = host_port
            .find(']')
            .ok_or_else(|| AddressError::url(input, "`[` without a closing `]`"))?;
        let after = host_port.get(close + 1..).unwrap_or_default();
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(AddressError::url(input, "text after the `]` of its host")),
        };
        (host_port.get(..=close).unwrap_or_default(), port)
    } else {
        match host_port.split_once(':') {
            Some((_, p)) if p.contains(':') => {
                return Err(AddressError::url(
                    input,
                    "more than one `:` after its host (an IPv6 address needs brackets)",
                ));
            }
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host_text.is_empty() {
        return Err(AddressError::url(input, "its host is empty"));
    }
    if host_text.contains('%') {
        return Err(AddressError::ambiguous(
            input,
            "holds `%` in its host (WHATWG decodes it, others do not)",
        ));
    }
    let host = Host::parse(host_text).map_err(|e| match e {
        AddressError::Ip { .. } if !host_text.starts_with('[') => AddressError::ambiguous(
            input,
            "writes its host as an IPv4 address in a non-standard form",
        ),
        e => AddressError::url(input, format!("its host: {e}")),
    })?;
    let port = match port_text {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(
            p.parse::<u16>()
                .map_err(|_| AddressError::url(input, format!("the port `{p}` is over 65535")))?,
        ),
        Some(p) => {
            return Err(AddressError::url(
                input,
                format!("the port `{p}` is not a number"),
            ));
        }
    };
    Ok((host, port))
}

/// The WHATWG reading of the host, canonical.
fn whatwg_host(input: &str, parsed: &::url::Url) -> Result<Host, AddressError> {
    match parsed.host() {
        Some(::url::Host::Ipv4(a)) => Ok(Host::Ipv4(a)),
        Some(::url::Host::Ipv6(a)) => Ok(Host::Ipv6(a)),
        // A non-special scheme's host is opaque to WHATWG: percent-encoded,
        // not IDNA, so a non-ASCII one reads one way here and another in its
        // own serialisation. Refused, as other disagreements are.
        Some(::url::Host::Domain(d)) if d.contains('%') => Err(AddressError::ambiguous(
            input,
            "has a non-ASCII host under a scheme whose hosts are opaque (not IDNA): write it in punycode",
        )),
        Some(::url::Host::Domain(d)) => percent_decode(d)
            .and_then(|d| Host::parse(&d).ok())
            .ok_or_else(|| {
                AddressError::ambiguous(input, "has a host the WHATWG parser reads differently")
            }),
        None => Err(AddressError::url(input, "it has no host")),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
