//! Integration tests of `warden-identity` against independent implementations.

// clippy.toml allows these in `#[test]` functions; the helpers beside them
// are test code too: a failed step should panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed check panics"
)]

mod pyjwt;
