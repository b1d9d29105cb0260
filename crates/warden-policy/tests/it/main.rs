//! Integration tests of the decision engine: the example set, manifest
//! errors, the policy contract (numbers, errors deny, URL hosts, approvals,
//! budgets), atomic reloads, digests, and sliced against full evaluation.

// Tests fail loudly: an unexpected `Err` or outcome is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bounds;
mod common;
mod contract;
mod examples;
mod flow;
mod fuzz;
mod manifest_errors;
mod provenance;
mod reload;
mod slicing;
