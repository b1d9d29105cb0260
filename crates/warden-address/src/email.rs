//! E-mail addresses: `local@domain`, display forms and `mailto:`.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use crate::host::Host;
use crate::{AddressError, Domain};

/// Longest local part, in bytes (RFC 5321).
const MAX_LOCAL: usize = 64;
/// Longest address, in bytes (RFC 5321's path limit less the brackets).
const MAX_ADDRESS: usize = 254;

/// An e-mail address: a local part, kept as written (case included), and a
/// domain in canonical [`Host`] form (a [`Domain`], or an address literal
/// such as `[192.0.2.1]` or `[IPv6:2001:db8::1]`).
///
/// Equality compares the local part exactly and the domain canonically, so
/// `Jane@EXAMPLE.com.` equals `Jane@example.com` but not `jane@example.com`.
/// Displays as `local@domain`, with address literals in brackets (IPv6 with
/// the `IPv6:` tag), which parses back to the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email {
    local: String,
    domain: Host,
}

impl Email {
    /// Reads one e-mail address: `jane@example.com`, `Jane Doe
    /// <jane@example.com>`, `"Doe, Jane" <jane@example.com>`,
    /// `<jane@example.com>` or `mailto:jane@example.com`, trimming
    /// surrounding ASCII whitespace.
    ///
    /// # Errors
    /// [`AddressError::Email`] when the value is not exactly one address: no
    /// `@` or more than one outside a display name, whitespace or control
    /// characters inside the address, several addresses, an empty or
    /// malformed local part (a quoted local part is refused), a display name
    /// holding `@`, `<` or `>`, text after the closing `>`, a `mailto:` with
    /// headers (`?`), several recipients or percent-encoding, or a domain
    /// [`Domain::parse`] refuses. [`AddressError::Empty`] for an empty value.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let trimmed = input.trim_ascii();
        if trimmed.is_empty() {
            return Err(AddressError::empty(input));
        }
        if let Some(rest) = strip_prefix_ignore_case(trimmed, "mailto:") {
            if let Some(c) = rest.chars().find(|c| matches!(c, '?' | ',' | ';' | '%')) {
                return Err(AddressError::email(
                    input,
                    format!(
                        "a `mailto:` holding `{c}` (headers, several recipients or percent-encoding) is refused"
                    ),
                ));
            }
            return addr_spec(input, rest);
        }
        if trimmed.ends_with('>') {
            return display_form(input, trimmed);
        }
        addr_spec(input, trimmed)
    }

    /// The local part, as written.
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain, in canonical form.
    pub fn domain(&self) -> &Host {
        &self.domain
    }

    /// Whether the domain is `parent` or under it (see [`Domain::is_within`]);
    /// an address literal is within no domain.
    pub fn is_within(&self, parent: &Domain) -> bool {
        self.domain.is_within(parent)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.domain {
            Host::Domain(d) => write!(f, "{}@{d}", self.local),
            Host::Ipv4(a) => write!(f, "{}@[{a}]", self.local),
            Host::Ipv6(a) => write!(f, "{}@[IPv6:{a}]", self.local),
        }
    }
}

impl FromStr for Email {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// `Name <addr>`, `"Name" <addr>` or `<addr>`; `trimmed` ends with `>`.
fn display_form(input: &str, trimmed: &str) -> Result<Email, AddressError> {
    let name_end = if let Some(quoted) = trimmed.strip_prefix('"') {
        let mut escaped = false;
        let mut close = None;
        for (i, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let close = close
            .ok_or_else(|| AddressError::email(input, "the display name's `\"` is not closed"))?;
        check_display_name(input, quoted.get(..close).unwrap_or_default())?;
        let after = quoted.get(close + 1..).unwrap_or_default();
        let gap = after.len() - after.trim_start_matches(' ').len();
        if !after[gap..].starts_with('<') {
            return Err(AddressError::email(
                input,
                "text between the quoted display name and `<`",
            ));
        }
        1 + close + 1 + gap
    } else {
        let open = trimmed
            .find('<')
            .ok_or_else(|| AddressError::email(input, "a `>` without `<`"))?;
        check_display_name(input, trimmed.get(..open).unwrap_or_default())?;
        open
    };
    let inner = trimmed
        .get(name_end + 1..trimmed.len() - 1)
        .ok_or_else(|| AddressError::email(input, "a malformed `<…>`"))?;
    addr_spec(input, inner)
}

fn check_display_name(input: &str, name: &str) -> Result<(), AddressError> {
    match name.chars().find(|c| {
        matches!(c, '@' | '<' | '>') || c.is_control() || (c.is_whitespace() && *c != ' ')
    }) {
        Some('@') => Err(AddressError::email(
            input,
            "a display name holding `@` hides which address is meant",
        )),
        Some(c) => Err(AddressError::email(
            input,
            format!("the display name holds `{}`", c.escape_debug()),
        )),
        None => Ok(()),
    }
}

/// RFC 5322 `atext`, plus any non-ASCII letter or digit (RFC 6531).
fn local_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
    } else {
        c.is_alphanumeric()
    }
}

/// `local@domain`, nothing around it.
fn addr_spec(input: &str, addr: &str) -> Result<Email, AddressError> {
    if addr.is_empty() {
        return Err(AddressError::email(input, "no address"));
    }
    if addr.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AddressError::email(
            input,
            "whitespace or a control character inside the address (several addresses?)",
        ));
    }
    if let Some(c) = addr.chars().find(|c| matches!(c, ',' | ';' | '<' | '>')) {
        return Err(AddressError::email(
            input,
            format!("`{c}` inside the address (several addresses?)"),
        ));
    }
    if addr.contains('"') {
        return Err(AddressError::email(input, "a quoted local part is refused"));
    }
    if addr.len() > MAX_ADDRESS {
        return Err(AddressError::email(
            input,
            format!("longer than {MAX_ADDRESS} bytes"),
        ));
    }
    let (local, domain) = match addr.split_once('@') {
        None => return Err(AddressError::email(input, "no `@`")),
        Some((_, domain)) if domain.contains('@') => {
            return Err(AddressError::email(input, "more than one `@`"));
        }
        Some(parts) => parts,
    };
    check_local(input, local)?;
    let domain = literal_or_domain(input, domain)?;
    Ok(Email {
        local: local.to_owned(),
        domain,
    })
}

fn check_local(input: &str, local: &str) -> Result<(), AddressError> {
    if local.is_empty() {
        return Err(AddressError::email(input, "the local part is empty"));
    }
    if local.len() > MAX_LOCAL {
        return Err(AddressError::email(
            input,
            format!("the local part is longer than {MAX_LOCAL} bytes"),
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(AddressError::email(
            input,
            "the local part starts or ends with `.` or holds `..`",
        ));
    }
    if let Some(c) = local.chars().find(|c| *c != '.' && !local_char(*c)) {
        return Err(AddressError::email(
            input,
            format!("the local part holds `{}`", c.escape_debug()),
        ));
    }
    Ok(())
}

fn literal_or_domain(input: &str, domain: &str) -> Result<Host, AddressError> {
    let Some(literal) = domain.strip_prefix('[') else {
        return Domain::parse(domain)
            .map(Host::Domain)
            .map_err(|e| AddressError::email(input, format!("its domain: {e}")));
    };
    let literal = literal
        .strip_suffix(']')
        .ok_or_else(|| AddressError::email(input, "`[` without a closing `]`"))?;
    if let Some(v6) = strip_prefix_ignore_case(literal, "IPv6:") {
        return v6
            .parse::<Ipv6Addr>()
            .map(Host::Ipv6)
            .map_err(|_| AddressError::email(input, "not an IPv6 address literal"));
    }
    match Host::parse(literal) {
        Ok(Host::Ipv4(a)) if !literal.ends_with('.') => Ok(Host::Ipv4(a)),
        _ => Err(AddressError::email(
            input,
            "an address literal must be `[a.b.c.d]` or `[IPv6:…]`",
        )),
    }
}
