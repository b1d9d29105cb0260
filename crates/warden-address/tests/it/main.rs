//! Integration tests: the URL, e-mail, domain and JSON matrices, and
//! properties over arbitrary strings.

mod domain;
mod email;
mod json;
mod properties;
mod url;
