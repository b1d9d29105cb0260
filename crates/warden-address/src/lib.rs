//! Warden's one reading of URLs, hosts, e-mail addresses and domain names.
//!
//! Policy conditions on URL hosts, data-flow destinations ("is this
//! recipient inside the organisation's domains?"), redaction and
//! configuration validation all read addresses here, so they agree on what
//! a value names. The reading is strict: where common parsers could
//! disagree on a host (a WHATWG parser such as a browser or the `url`
//! crate on one side; curl, Python's urllib and httpx, which follow
//! RFC 3986, on the other), the value is refused with an error saying why,
//! and a caller fails closed.
//!
//! ```
//! use warden_address::{Address, Domain, Url, addresses_in};
//!
//! let org = Domain::parse("Example.COM.")?;
//! let url = Url::parse("https://good.example@wiki.example.com:8443/page")?;
//! assert!(url.host().is_within(&org));
//! assert_eq!(url.port(), Some(8443));
//!
//! // The parsers disagree on this host, so it is refused.
//! assert!(Url::parse(r"https://en.wikipedia.org\@evil.com/").is_err());
//!
//! // Every address a JSON argument names; unreadable pieces are errors.
//! let to = serde_json::json!("x@evil.org colleague@example.com");
//! let found = addresses_in(&to);
//! assert_eq!(found.len(), 2);
//! let inside: Vec<bool> = found
//!     .iter()
//!     .map(|a| a.as_ref().is_ok_and(|a| a.host().is_within(&org)))
//!     .collect();
//! assert_eq!(inside, [false, true]);
//! # Ok::<(), warden_address::AddressError>(())
//! ```
//!
//! # Normalisations
//!
//! Every parser trims surrounding ASCII whitespace first; whitespace or a
//! control character anywhere else is refused (inside a display name only a
//! space is allowed).
//!
//! | input | canonical form | where |
//! | --- | --- | --- |
//! | `Example.COM` | `example.com` | [`Domain`], every host |
//! | `example.com.` (one trailing dot) | `example.com` | every host; `example.com..` is refused |
//! | `bücher.example`, `BÜCHER.example` | `xn--bcher-kva.example` (IDNA, UTS #46 non-transitional) | every host |
//! | `ｅｘａｍｐｌｅ．com` (fullwidth), soft hyphens | `example.com` (UTS #46 mapping) | every host |
//! | `еxample.com` (Cyrillic `е`) | `xn--xample-2of.com`: its own name, never equal to the Latin one | every host |
//! | `my_host.example` | kept: `_` is allowed in labels (SRV/DKIM names, WHATWG accepts it) | every host |
//! | `-bad-.com`, empty label, label over 63, name over 253 | refused | every host |
//! | `192.0.2.1` | [`Host::Ipv4`] | [`Host`], URLs |
//! | `127.1`, `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`, `1.2.3.4.5` | refused (WHATWG rewrites them, resolvers differ): no `Domain` ends in a numeric label | every host |
//! | `[::1]`, `::1` | [`Host::Ipv6`], displayed `[::1]` | [`Host`], URLs |
//! | `fe80::1%eth0` | refused (zone) | every host |
//! | `Jane Doe <jane@Example.com>`, `"Doe, Jane" <…>`, `<…>`, `mailto:…` | the address; the display name is dropped | [`Email`] |
//! | `Jane@Example.COM.` | local part kept as written, domain canonical: `Jane@example.com` | [`Email`] |
//! | `jane@[192.0.2.1]`, `jane@[IPv6:2001:db8::1]` | an address-literal domain | [`Email`] |
//! | `"quoted local"@example.com`, `a@b@c`, `a@b.com c@d.com` | refused | [`Email`] |
//! | `HTTPS://Example.com:443/a/../b` | scheme `https`, host `example.com`, `port()` `Some(443)`, path `/b` | [`Url`] |
//! | `example.com/path`, `example.com:8080` | read as `https://…`, `had_scheme()` false | [`Url`] |
//! | `https://good.example@evil.example/` | host `evil.example` (the host follows the one `@`) | [`Url`] |
//! | `https://en.wikipedia.org%2F@evil.com` | host `evil.com`: `%2F` is userinfo to every parser | [`Url`] |
//! | `https://a\@b/`, tabs or newlines inside, `%` in the host, two `@`, `http:example.com` | refused as ambiguous or hostless | [`Url`] |
//! | `javascript:…`, `data:…`, `mailto:…`, `file:///…` | refused: no host | [`Url`] |
//!
//! # The e-mail grammar and the classifier
//!
//! [`Email::parse`] accepts every address the classifier's e-mail detector
//! (`warden-classify`) finds: a dot-atom local part of ASCII letters,
//! digits and `._%+-` or non-ASCII letters and digits, at most 64 bytes,
//! and a domain of letter/digit/hyphen labels. It accepts more: the other
//! RFC 5322 `atext` characters (``!#$&'*/=?^`{|}~``) in the local part,
//! `_` in domain labels, single-label domains (`jane@localhost`), domains
//! without an alphabetic top-level label, and address literals; the
//! detector, tuned against false positives in free text, finds none of
//! these. Quoted local parts are refused by both.
//!
//! # Comparing
//!
//! All hosts are canonical, so `==` on [`Host`] and [`Domain`] is name
//! equality and [`Domain::is_within`] is "equal or a subdomain at a label
//! boundary". [`Email`] equality compares the local part exactly (case
//! included: RFC 5321 leaves it to the receiving server) and the domain
//! canonically.

mod address;
mod email;
mod error;
mod host;
mod url;

pub use address::{Address, MAX_ADDRESSES, MAX_DEPTH, addresses_in};
pub use email::Email;
pub use error::AddressError;
pub use host::{Domain, Host};
pub use url::Url;

#[cfg(test)]
mod tests;
