//! One value of any form, and every address a JSON argument names.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::error::shown;
use crate::{AddressError, Email, Host, Url};

/// Most addresses [`addresses_in`] reads from one value.
pub const MAX_ADDRESSES: usize = 1_000;
/// Deepest nesting of arrays and objects [`addresses_in`] reads.
pub const MAX_DEPTH: usize = 16;

/// An address of any form: where a value sends to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// An e-mail address.
    Email(Email),
    /// A URL.
    Url(Url),
    /// A bare host: a domain name or an IP address.
    Host(Host),
}

impl Address {
    /// Reads one value as an e-mail address when it holds `@` outside a
    /// `scheme://` URL or starts with `mailto:` or ends with `>`; as a URL
    /// when it holds `://`; as a bare host when it is one; else as a
    /// scheme-less URL (`example.com/path`, `example.com:8080`).
    ///
    /// # Errors
    /// The error of the form the value was read as, or
    /// [`AddressError::NotAnAddress`] for words with whitespace.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let trimmed = input.trim_ascii();
        if trimmed.is_empty() {
            return Err(AddressError::empty(input));
        }
        if trimmed.contains("://") {
            return Url::parse(input).map(Address::Url);
        }
        let lower_start = trimmed.get(..7).map(str::to_ascii_lowercase);
        if trimmed.contains('@')
            || trimmed.ends_with('>')
            || lower_start.as_deref() == Some("mailto:")
        {
            return Email::parse(input).map(Address::Email);
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(AddressError::NotAnAddress {
                input: shown(input),
            });
        }
        let host = Host::parse(input);
        match host {
            Ok(host) => Ok(Address::Host(host)),
            Err(_) if trimmed.contains([':', '/', '?', '#']) => Url::parse(input).map(Address::Url),
            Err(e) => Err(e),
        }
    }

    /// Where the address sends to.
    pub fn host(&self) -> &Host {
        match self {
            Address::Email(e) => e.domain(),
            Address::Url(u) => u.host(),
            Address::Host(h) => h,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Email(e) => e.fmt(f),
            Address::Url(u) => u.fmt(f),
            Address::Host(h) => h.fmt(f),
        }
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Object keys whose values name the addresses (compared lowercase, without
/// `_` and `-`); an object without any of them is read leaf by leaf.
const ADDRESS_KEYS: [&str; 19] = [
    "address",
    "addresses",
    "email",
    "emails",
    "emailaddress",
    "mail",
    "url",
    "uri",
    "href",
    "link",
    "host",
    "hostname",
    "domain",
    "value",
    "to",
    "cc",
    "bcc",
    "recipient",
    "recipients",
];

/// Every address a JSON value names, in order, each an `Ok` or an `Err`
/// naming the unreadable piece, so a caller can fail closed (treat an
/// unreadable piece as external).
///
/// - A string holds one or several addresses separated by `,`, `;` or any
///   Unicode whitespace: `"x@evil.org colleague@example.com"` is two.
///   A group with `<` or `"` (`Jane Doe <jane@example.com>`) is one display
///   form, up to the next `,` or `;` outside quotes and brackets; a URL
///   (`scheme://…`) runs to the next whitespace. Words with whitespace
///   between them that are not all address-like (holding `@`, `.`, `:` or
///   `/`) are one unreadable piece: `"Jane Roe"`. A blank string is
///   unreadable.
/// - An array: each element, recursively.
/// - An object: the values under the keys `address`, `email`, `mail`,
///   `url`, `uri`, `href`, `link`, `host`, `hostname`, `domain`, `value`,
///   `to`, `cc`, `bcc`, `recipient`, `id` and their plurals and
///   `email_address` when any is present (`{"address":"x@evil.org","name":"X"}`
///   is one address), else every value; an empty object is unreadable.
/// - A number, boolean or null is unreadable.
///
/// At most [`MAX_ADDRESSES`] entries are read, then one
/// [`AddressError::TooMany`] ends the list; a part nested deeper than
/// [`MAX_DEPTH`] is one [`AddressError::TooDeep`].
pub fn addresses_in(value: &Value) -> Vec<Result<Address, AddressError>> {
    let mut found = Found::default();
    found.value(value, 0);
    found.out
}

#[derive(Default)]
struct Found {
    out: Vec<Result<Address, AddressError>>,
    full: bool,
}

impl Found {
    fn push(&mut self, entry: Result<Address, AddressError>) {
        if self.full {
            return;
        }
        if self.out.len() == MAX_ADDRESSES {
            self.out.push(Err(AddressError::TooMany {
                limit: MAX_ADDRESSES,
            }));
            self.full = true;
            return;
        }
        self.out.push(entry);
    }

    fn value(&mut self, value: &Value, depth: usize) {
        if self.full {
            return;
        }
        let unreadable = |kind, v: &Value| {
            Err(AddressError::NotText {
                kind,
                input: shown(&v.to_string()),
            })
        };
        match value {
            Value::String(s) => self.string(s),
            Value::Number(_) => self.push(unreadable("number", value)),
            Value::Bool(_) => self.push(unreadable("boolean", value)),
            Value::Null => self.push(unreadable("null", value)),
            Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => {
                self.push(Err(AddressError::TooDeep { limit: MAX_DEPTH }));
            }
            Value::Array(items) => {
                for item in items {
                    self.value(item, depth + 1);
                }
            }
            Value::Object(map) => {
                if map.is_empty() {
                    self.push(unreadable("object", value));
                    return;
                }
                let named: Vec<&Value> = map
                    .iter()
                    .filter(|(k, _)| is_address_key(k))
                    .map(|(_, v)| v)
                    .collect();
                let values: Vec<&Value> = if named.is_empty() {
                    map.values().collect()
                } else {
                    named
                };
                for v in values {
                    self.value(v, depth + 1);
                }
            }
        }
    }

    fn string(&mut self, s: &str) {
        if s.trim().is_empty() {
            self.push(Err(AddressError::empty(s)));
            return;
        }
        let mut rest = s;
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';'));
            if rest.is_empty() || self.full {
                return;
            }
            if starts_with_url(rest) {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let (url, after) = rest.split_at(end);
                self.push(Address::parse(url.trim_end_matches([',', ';'])));
                rest = after;
                continue;
            }
            let end = group_end(rest);
            let (group, after) = rest.split_at(end);
            rest = after;
            let group = group.trim();
            if group.contains(['<', '"']) {
                self.push(Address::parse(group));
                continue;
            }
            let words: Vec<&str> = group.split_whitespace().collect();
            if words.len() > 1 && words.iter().any(|w| !w.contains(['@', '.', ':', '/'])) {
                self.push(Err(AddressError::NotAnAddress {
                    input: shown(group),
                }));
                continue;
            }
            for word in words {
                self.push(Address::parse(word));
            }
        }
    }
}

fn is_address_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    key == "id" || ADDRESS_KEYS.contains(&key.as_str())
}

/// Whether `s` starts with `scheme://`.
fn starts_with_url(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once("://") else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Where a group ends: the first `,` or `;` outside `"…"` and `<…>`.
fn group_end(s: &str) -> usize {
    let mut quoted = false;
    let mut escaped = false;
    let mut angle = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' | ';' if !quoted && !angle => return i,
            _ => {}
        }
    }
    s.len()
}
