//! Integration tests of `warden-identity` against independent implementations.

mod pyjwt;
