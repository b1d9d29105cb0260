//! Integration tests of the decision engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly on unexpected results")]

fn main() {}
